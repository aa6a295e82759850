"""The Kalman filter: recursive causal processing with a Gaussian state.

Model (all matrices constant in time)::

    s_t = F s_{t-1} + w_t,   w_t ~ N(0, Q)      (how the hidden state moves)
    z_t = H s_t     + v_t,   v_t ~ N(0, R)      (what we measure)

The filter's *state* is the mean ``x`` (n,) and covariance ``P`` (n, n) of the
belief about ``s_t``.  Every measurement is processed in two steps:

* predict:  ``x <- F x``,  ``P <- F P F^T + Q``
* update:   ``S = H P H^T + R``,  ``K = P H^T S^{-1}``,
  ``x <- x + K (z - H x)``,  ``P <- (I - K H) P (I - K H)^T + K R K^T``

The covariance update is written in Joseph form: algebraically equal to
``(I - K H) P`` but it stays symmetric and positive semi-definite in floating
point, which the short form does not guarantee.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_covariance, check_shape, check_square

__all__ = ["KalmanFilter", "kalman_predict", "kalman_update", "constant_velocity_model"]


def kalman_predict(
    x: np.ndarray, P: np.ndarray, F: np.ndarray, Q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One predict step. Shapes: x (n,), P (n, n), F (n, n), Q (n, n)."""
    return F @ x, F @ P @ F.T + Q


def kalman_update(
    x: np.ndarray, P: np.ndarray, z: np.ndarray, H: np.ndarray, R: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One update step with measurement ``z`` (m,). Shapes: H (m, n), R (m, m).

    Returns the posterior mean (n,) and covariance (n, n).
    """
    S = H @ P @ H.T + R                       # innovation covariance (m, m)
    K = np.linalg.solve(S, H @ P).T           # gain P H^T S^-1, using S = S^T
    x_new = x + K @ (z - H @ x)
    I_KH = np.eye(len(x)) - K @ H
    P_new = I_KH @ P @ I_KH.T + K @ R @ K.T   # Joseph form
    return x_new, 0.5 * (P_new + P_new.T)


class KalmanFilter:
    """A linear Kalman filter with constant matrices.

    Args:
        F: state transition (n, n).
        H: measurement matrix (m, n).
        Q: process noise covariance (n, n).
        R: measurement noise covariance (m, m).
        x0: prior mean of the state before the first measurement (n,).
        P0: prior covariance (n, n).

    Attributes ``x`` and ``P`` hold the current belief; ``predict`` and
    ``update`` change them in place and return them.
    """

    def __init__(self, F, H, Q, R, x0, P0) -> None:
        self.F = as_float_array(F, "F", ndim=2)
        n = check_square(self.F, "F (state transition)")
        self.H = as_float_array(H, "H", ndim=2)
        check_shape(self.H, (None, n), f"H (measurement matrix, m x n with n={n})")
        m = self.H.shape[0]
        self.Q = as_float_array(Q, "Q", ndim=2)
        check_shape(self.Q, (n, n), "Q (process noise covariance)")
        check_covariance(self.Q, "Q (process noise covariance)")
        self.R = as_float_array(R, "R", ndim=2)
        check_shape(self.R, (m, m), "R (measurement noise covariance)")
        check_covariance(self.R, "R (measurement noise covariance)")
        self.x0 = as_float_array(x0, "x0", ndim=1)
        check_shape(self.x0, (n,), "x0 (prior mean)")
        self.P0 = as_float_array(P0, "P0", ndim=2)
        check_shape(self.P0, (n, n), "P0 (prior covariance)")
        check_covariance(self.P0, "P0 (prior covariance)")
        self.reset()

    @property
    def dim_state(self) -> int:
        return self.F.shape[0]

    @property
    def dim_measurement(self) -> int:
        return self.H.shape[0]

    def reset(self) -> None:
        """Return to the prior (x0, P0)."""
        self.x = self.x0.copy()
        self.P = self.P0.copy()

    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """Advance the belief by one time step; returns (x, P)."""
        self.x, self.P = kalman_predict(self.x, self.P, self.F, self.Q)
        return self.x, self.P

    def update(self, z) -> tuple[np.ndarray, np.ndarray]:
        """Fold in measurement ``z`` of shape (m,); returns (x, P)."""
        z = self._measurement(z)
        self.x, self.P = kalman_update(self.x, self.P, z, self.H, self.R)
        return self.x, self.P

    def filter(self, zs) -> tuple[np.ndarray, np.ndarray]:
        """Filter a whole sequence of measurements, starting from the prior.

        ``zs`` has shape (T, m) (or (T,) when m = 1).  Each measurement is
        preceded by a predict step.  Returns the filtered means (T, n) and
        covariances (T, n, n).  The filter's own belief is left untouched.
        """
        zs = as_float_array(zs, "zs (measurements)")
        if zs.ndim == 1 and self.dim_measurement == 1:
            zs = zs[:, None]
        check_shape(zs, (None, self.dim_measurement), "zs (measurements, T x m)")
        x, P = self.x0.copy(), self.P0.copy()
        means = np.empty((len(zs), self.dim_state))
        covs = np.empty((len(zs), self.dim_state, self.dim_state))
        for t, z in enumerate(zs):
            x, P = kalman_predict(x, P, self.F, self.Q)
            x, P = kalman_update(x, P, z, self.H, self.R)
            means[t], covs[t] = x, P
        return means, covs

    def _measurement(self, z) -> np.ndarray:
        z = np.atleast_1d(as_float_array(z, "z (measurement)"))
        check_shape(z, (self.dim_measurement,), "z (measurement)")
        return z


def constant_velocity_model(
    dt: float, process_noise: float, measurement_noise: float, dims: int = 2
) -> dict[str, np.ndarray]:
    """Matrices of a point moving at near-constant velocity, position measured.

    The state is ``[positions (dims), velocities (dims)]``.  The process noise
    is a random acceleration of spectral density ``process_noise`` (the
    "continuous white noise" model); the measurement noise is isotropic with
    standard deviation ``measurement_noise``.  Returns ``F, H, Q, R`` in a dict.
    """
    if dt <= 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if process_noise < 0 or measurement_noise <= 0:
        raise ValueError(
            "process_noise must be >= 0 and measurement_noise > 0, got "
            f"{process_noise} and {measurement_noise}"
        )
    eye, zero = np.eye(dims), np.zeros((dims, dims))
    F = np.block([[eye, dt * eye], [zero, eye]])
    H = np.hstack([eye, zero])
    q = process_noise
    Q = q * np.block([[dt**3 / 3 * eye, dt**2 / 2 * eye], [dt**2 / 2 * eye, dt * eye]])
    R = measurement_noise**2 * eye
    return {"F": F, "H": H, "Q": Q, "R": R}
