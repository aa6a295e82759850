"""Linear prediction: an auto-regressive (AR) model fitted by least squares.

An AR model of order ``p`` predicts the next value as a weighted sum of the
last ``p`` values::

    x_t  ~=  a_1 x_{t-1} + a_2 x_{t-2} + ... + a_p x_{t-p} + b

Stacking every window of the training signal gives a linear system ``X a = y``
that least squares solves in one step.  A forecast further ahead applies the
one-step predictor recursively, feeding its own outputs back in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array

__all__ = [
    "ARModel",
    "fit_ar",
    "lag_matrix",
    "normal_equations",
    "multistep_rmse",
    "interpolation_matrix",
]


def lag_matrix(x: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of a 1-D signal ``x`` (T,): returns X (T - p, p) and y (T - p,),
    where row ``i`` of X is ``[x_{i+p-1}, ..., x_i]`` (most recent first) and
    ``y_i = x_{i+p}``."""
    x = as_float_array(x, "x (signal)", ndim=1)
    if not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"the order p must be an integer >= 1, got {p!r}")
    if len(x) <= p:
        raise ValueError(f"need more than p = {p} samples to fit an AR({p}) model, got {len(x)}")
    X = np.stack([x[p - j - 1 : len(x) - j - 1] for j in range(p)], axis=1)
    return X, x[p:]


@dataclass
class ARModel:
    """A fitted AR(p) model: ``coef`` (p,) (most recent lag first) and ``intercept``."""

    coef: np.ndarray
    intercept: float

    @property
    def order(self) -> int:
        return len(self.coef)

    def predict_next(self, history: np.ndarray) -> float:
        """One-step prediction from the last ``p`` values of ``history``."""
        history = as_float_array(history, "history", ndim=1)
        if len(history) < self.order:
            raise ValueError(f"history must hold at least p = {self.order} values, got {len(history)}")
        recent = history[::-1][: self.order]
        return float(recent @ self.coef + self.intercept)

    def one_step(self, x: np.ndarray) -> np.ndarray:
        """Predict every ``x_t`` (t >= p) from the true past: shape (T - p,)."""
        X, _ = lag_matrix(x, self.order)
        return X @ self.coef + self.intercept

    def forecast(self, history: np.ndarray, steps: int) -> np.ndarray:
        """Predict ``steps`` values ahead, feeding predictions back in: shape (steps,)."""
        buf = list(as_float_array(history, "history", ndim=1))
        out = []
        for _ in range(steps):
            out.append(self.predict_next(np.asarray(buf)))
            buf.append(out[-1])
        return np.asarray(out)


def fit_ar(x: np.ndarray, p: int, intercept: bool = True) -> ARModel:
    """Least-squares fit of an AR(p) model to the 1-D signal ``x`` (T,)."""
    X, y = lag_matrix(x, p)
    if intercept:
        X = np.hstack([X, np.ones((len(X), 1))])
    sol, *_ = np.linalg.lstsq(X, y, rcond=None)
    return ARModel(coef=sol[:p], intercept=float(sol[p]) if intercept else 0.0)


def normal_equations(x: np.ndarray, p: int, intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares normal equations ``(X^T X) a = X^T y`` of an AR(p) fit.

    Returns the Gram matrix ``X^T X`` (q, q) and the right-hand side ``X^T y``
    (q,), with ``q = p + 1`` when ``intercept`` (a column of ones last) else ``p``.
    Solving them gives the same coefficients as :func:`fit_ar`.
    """
    X, y = lag_matrix(x, p)
    if intercept:
        X = np.hstack([X, np.ones((len(X), 1))])
    return X.T @ X, X.T @ y


def multistep_rmse(model: ARModel, x: np.ndarray, start: int, horizon: int) -> np.ndarray:
    """Root-mean-square error of recursive forecasts, per lead time.

    From every forecast origin ``t0`` with ``start <= t0 <= T - horizon`` the
    model forecasts ``x[t0], ..., x[t0 + horizon - 1]`` from the true past
    ``x[:t0]``, feeding its own predictions back in (as :meth:`ARModel.forecast`).

    Args:
        model: a fitted AR(p) model.
        x: the signal (T,).
        start: first origin; must be ``>= p`` so that a full history exists.
        horizon: how many steps each forecast runs.

    Returns:
        RMSE (horizon,): entry ``h - 1`` is the error ``h`` steps ahead, so entry
        0 is the one-step error on the same origins.
    """
    x = as_float_array(x, "x (signal)", ndim=1)
    p = model.order
    if not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
    if not isinstance(start, (int, np.integer)) or start < p:
        raise ValueError(f"start must be an integer >= p = {p} (a full history), got {start!r}")
    if start + horizon > len(x):
        raise ValueError(
            f"start + horizon must be <= len(x) = {len(x)} (at least one full forecast), "
            f"got {start} + {horizon} = {start + horizon}"
        )
    origins = np.arange(start, len(x) - horizon + 1)
    # buffer (n_origins, p), most recent value first, exactly like predict_next
    buf = np.stack([x[origins - j - 1] for j in range(p)], axis=1)
    sq_err = np.empty((len(origins), horizon))
    for h in range(horizon):
        pred = buf @ model.coef + model.intercept
        sq_err[:, h] = (pred - x[origins + h]) ** 2
        buf = np.concatenate([pred[:, None], buf[:, :-1]], axis=1)
    return np.sqrt(sq_err.mean(axis=0))


def interpolation_matrix(x: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided windows of a 1-D signal ``x`` (T,) for interpolation.

    Returns X (T - 2p, 2p) and y (T - 2p,) with ``y_i = x_{i+p}`` and row ``i``
    of X holding the ``p`` values before it (most recent first) and then the
    ``p`` values after it (nearest first).  Least squares on (X, y) gives the
    best linear interpolator of a sample from its neighbours on both sides.
    """
    x = as_float_array(x, "x (signal)", ndim=1)
    if not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"the order p must be an integer >= 1, got {p!r}")
    if len(x) <= 2 * p:
        raise ValueError(f"need more than 2p = {2 * p} samples for a two-sided window, got {len(x)}")
    T = len(x)
    before = [x[p - j - 1 : T - p - j - 1] for j in range(p)]
    after = [x[p + j + 1 : T - p + j + 1] for j in range(p)]
    return np.stack(before + after, axis=1), x[p : T - p]
