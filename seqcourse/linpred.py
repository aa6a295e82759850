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

__all__ = ["ARModel", "fit_ar", "lag_matrix"]


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
