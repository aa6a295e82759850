"""seqcourse.kalman against filterpy (an independent implementation) and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.kalman import KalmanFilter as FilterpyKF

from seqcourse.kalman import (
    KalmanFilter,
    constant_velocity_model,
    kalman_predict,
    kalman_update,
)


def _filterpy_run(F, H, Q, R, x0, P0, zs):
    """Reference: filterpy, predict then update per measurement."""
    n, m = F.shape[0], H.shape[0]
    kf = FilterpyKF(dim_x=n, dim_z=m)
    kf.F, kf.H, kf.Q, kf.R = F.copy(), H.copy(), Q.copy(), R.copy()
    kf.x, kf.P = x0.reshape(n, 1).astype(float), P0.astype(float).copy()
    means, covs = [], []
    for z in zs:
        kf.predict()
        kf.update(np.asarray(z, dtype=float).reshape(m, 1))
        means.append(kf.x.ravel().copy())
        covs.append(kf.P.copy())
    return np.array(means), np.array(covs)


def _simulate(F, H, Q, R, x0, T, rng):
    n, m = F.shape[0], H.shape[0]
    Lq = np.linalg.cholesky(Q + 1e-12 * np.eye(n))
    Lr = np.linalg.cholesky(R)
    s, zs = x0.copy(), np.empty((T, m))
    for t in range(T):
        s = F @ s + Lq @ rng.standard_normal(n)
        zs[t] = H @ s + Lr @ rng.standard_normal(m)
    return zs


@pytest.fixture
def cv_model():
    m = constant_velocity_model(dt=0.5, process_noise=0.3, measurement_noise=1.5, dims=2)
    x0 = np.array([1.0, -2.0, 0.5, 0.25])
    P0 = np.diag([4.0, 3.0, 2.0, 1.0])
    return m, x0, P0


@pytest.fixture
def model_3x1():
    """n = 3 states (position, velocity, acceleration), m = 1 measurement."""
    dt = 0.2
    F = np.array([[1.0, dt, dt**2 / 2], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])
    H = np.array([[1.0, 0.3, 0.0]])
    A = np.array([[0.2, 0.0, 0.0], [0.1, 0.3, 0.0], [0.05, 0.1, 0.4]])
    Q = A @ A.T
    R = np.array([[0.7]])
    x0 = np.array([0.5, -1.0, 0.2])
    P0 = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    return F, H, Q, R, x0, P0


def test_filter_matches_filterpy_constant_velocity(cv_model):
    m, x0, P0 = cv_model
    rng = np.random.default_rng(0)
    zs = _simulate(m["F"], m["H"], m["Q"], m["R"], x0, 60, rng)
    kf = KalmanFilter(m["F"], m["H"], m["Q"], m["R"], x0, P0)
    means, covs = kf.filter(zs)
    ref_means, ref_covs = _filterpy_run(m["F"], m["H"], m["Q"], m["R"], x0, P0, zs)
    assert means.shape == (60, 4) and covs.shape == (60, 4, 4)
    np.testing.assert_allclose(means, ref_means, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(covs, ref_covs, rtol=1e-9, atol=1e-10)
    # the filter's own belief is left at the prior
    np.testing.assert_allclose(kf.x, x0, atol=1e-15)
    np.testing.assert_allclose(kf.P, P0, atol=1e-15)


def test_filter_matches_filterpy_n3_m1(model_3x1):
    F, H, Q, R, x0, P0 = model_3x1
    zs = _simulate(F, H, Q, R, x0, 45, np.random.default_rng(1))
    kf = KalmanFilter(F, H, Q, R, x0, P0)
    ref_means, ref_covs = _filterpy_run(F, H, Q, R, x0, P0, zs)
    # (T, 1) input and the flat (T,) form accepted when m = 1 give the same answer
    for inp in (zs, zs[:, 0]):
        means, covs = kf.filter(inp)
        assert means.shape == (45, 3) and covs.shape == (45, 3, 3)
        np.testing.assert_allclose(means, ref_means, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(covs, ref_covs, rtol=1e-9, atol=1e-10)


def test_predict_update_in_place_equal_filter(model_3x1):
    F, H, Q, R, x0, P0 = model_3x1
    zs = _simulate(F, H, Q, R, x0, 20, np.random.default_rng(2))
    kf = KalmanFilter(F, H, Q, R, x0, P0)
    means, covs = kf.filter(zs)
    for t, z in enumerate(zs):
        kf.predict()
        x, P = kf.update(z)
        assert x is kf.x and P is kf.P
        np.testing.assert_allclose(kf.x, means[t], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(kf.P, covs[t], rtol=1e-12, atol=1e-12)
    kf.reset()
    np.testing.assert_allclose(kf.x, x0, atol=1e-15)
    np.testing.assert_allclose(kf.P, P0, atol=1e-15)


def test_predict_step_formula(model_3x1):
    F, H, Q, R, x0, P0 = model_3x1
    kf = KalmanFilter(F, H, Q, R, x0, P0)
    x, P = kf.predict()
    np.testing.assert_allclose(x, F @ x0, rtol=1e-12)
    np.testing.assert_allclose(P, F @ P0 @ F.T + Q, rtol=1e-12)


def test_update_step_short_form_equals_joseph(cv_model):
    # textbook (non-Joseph) form, independent of the module's algebra
    m, x0, P0 = cv_model
    H, R = m["H"], m["R"]
    z = np.array([2.0, -1.0])
    S = H @ P0 @ H.T + R
    K = P0 @ H.T @ np.linalg.inv(S)
    x_ref = x0 + K @ (z - H @ x0)
    P_ref = (np.eye(4) - K @ H) @ P0
    x, P = kalman_update(x0, P0, z, H, R)
    np.testing.assert_allclose(x, x_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(P, P_ref, rtol=1e-10, atol=1e-12)


def test_covariance_stays_symmetric_psd_long_sequence():
    m = constant_velocity_model(dt=1.0, process_noise=1e-4, measurement_noise=50.0, dims=2)
    x0 = np.zeros(4)
    P0 = np.diag([1e6, 1e6, 1e4, 1e4])  # very vague prior, large dynamic range
    zs = _simulate(m["F"], m["H"], m["Q"], m["R"], x0, 5000, np.random.default_rng(3))
    _, covs = KalmanFilter(m["F"], m["H"], m["Q"], m["R"], x0, P0).filter(zs)
    assert np.all(np.isfinite(covs))
    np.testing.assert_allclose(covs, np.transpose(covs, (0, 2, 1)), rtol=0, atol=1e-12)
    eig = np.linalg.eigvalsh(covs)
    scale = np.abs(covs).max(axis=(1, 2))
    assert np.all(eig.min(axis=1) > -1e-10 * scale)
    # and it converges: the last covariances no longer change
    np.testing.assert_allclose(covs[-1], covs[-2], rtol=1e-6)


def test_scalar_case_matches_hand_formula():
    F, H, Q, R = 1.0, 1.0, 0.3, 2.0
    x0, P0 = 0.7, 5.0
    zs = np.array([1.2, 0.4, -0.3, 2.5, 1.1, 0.9])
    kf = KalmanFilter([[F]], [[H]], [[Q]], [[R]], [x0], [[P0]])
    means, covs = kf.filter(zs)
    x, P = x0, P0
    for t, z in enumerate(zs):
        P = P + Q            # predict
        K = P / (P + R)      # gain
        x = x + K * (z - x)
        P = (1 - K) * P
        assert means[t, 0] == pytest.approx(x, rel=1e-12)
        assert covs[t, 0, 0] == pytest.approx(P, rel=1e-12)


def test_filter_is_consistent_on_its_own_model():
    """Mean NEES (e' P^-1 e) of a matched filter is the state dimension."""
    m = constant_velocity_model(dt=1.0, process_noise=0.1, measurement_noise=2.0, dims=2)
    rng = np.random.default_rng(4)
    x0, P0 = np.zeros(4), np.eye(4)
    Lq = np.linalg.cholesky(m["Q"])
    s = x0 + rng.standard_normal(4)
    states, zs = [], []
    for _ in range(3000):
        s = m["F"] @ s + Lq @ rng.standard_normal(4)
        states.append(s)
        zs.append(m["H"] @ s + 2.0 * rng.standard_normal(2))
    means, covs = KalmanFilter(m["F"], m["H"], m["Q"], m["R"], x0, P0).filter(np.array(zs))
    err = np.array(states) - means
    nees = np.einsum("ti,tij,tj->t", err, np.linalg.inv(covs), err)
    assert nees[100:].mean() == pytest.approx(4.0, abs=0.4)
    pos_rmse = np.sqrt(((err[:, :2]) ** 2).mean())
    assert pos_rmse < 2.0  # better than the raw measurements


def test_constant_velocity_model_shapes_and_values():
    for dims in (1, 2, 3):
        m = constant_velocity_model(dt=0.5, process_noise=2.0, measurement_noise=3.0, dims=dims)
        n = 2 * dims
        assert m["F"].shape == (n, n)
        assert m["H"].shape == (dims, n)
        assert m["Q"].shape == (n, n)
        assert m["R"].shape == (dims, dims)
    m = constant_velocity_model(dt=0.5, process_noise=2.0, measurement_noise=3.0, dims=3)
    # position advances by dt * velocity
    s = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    np.testing.assert_allclose(m["F"] @ s, [6.0, 12.0, 18.0, 10.0, 20.0, 30.0])
    np.testing.assert_allclose(m["H"] @ s, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(m["R"], 9.0 * np.eye(3))
    # continuous white-noise acceleration, one axis: q [[dt^3/3, dt^2/2], [dt^2/2, dt]]
    np.testing.assert_allclose(m["Q"][[0, 3]][:, [0, 3]],
                               2.0 * np.array([[0.125 / 3, 0.125], [0.125, 0.5]]))
    assert np.linalg.eigvalsh(m["Q"]).min() > 0


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(dt=0.0, process_noise=1.0, measurement_noise=1.0), "dt must be positive"),
    (dict(dt=1.0, process_noise=-1.0, measurement_noise=1.0), "-1.0"),
    (dict(dt=1.0, process_noise=1.0, measurement_noise=0.0), "measurement_noise > 0"),
])
def test_constant_velocity_model_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace(".", r"\.").replace("+", r"\+")):
        constant_velocity_model(**kwargs)


def test_kalman_predict_function():
    F = np.array([[1.0, 2.0], [0.0, 1.0]])
    x, P = kalman_predict(np.array([1.0, 3.0]), np.eye(2), F, 0.5 * np.eye(2))
    np.testing.assert_allclose(x, [7.0, 3.0])
    np.testing.assert_allclose(P, [[5.5, 2.0], [2.0, 1.5]])


# -- friendly errors ------------------------------------------------------------
def _good():
    m = constant_velocity_model(1.0, 0.1, 1.0, dims=2)
    return dict(F=m["F"], H=m["H"], Q=m["Q"], R=m["R"], x0=np.zeros(4), P0=np.eye(4))


def _message(**overrides):
    args = _good()
    args.update(overrides)
    with pytest.raises(ValueError) as info:
        KalmanFilter(**args)
    return str(info.value)


def test_error_non_square_F():
    msg = _message(F=np.ones((4, 3)))
    assert "F" in msg and "square" in msg and "(4, 3)" in msg


def test_error_H_wrong_columns():
    msg = _message(H=np.ones((2, 3)))
    assert "H" in msg and "(*, 4)" in msg and "(2, 3)" in msg


def test_error_R_wrong_shape():
    msg = _message(R=np.eye(3))
    assert "R" in msg and "(2, 2)" in msg and "(3, 3)" in msg


def test_error_Q_not_symmetric():
    Q = np.eye(4)
    Q[0, 1] = 0.5
    msg = _message(Q=Q)
    assert "Q" in msg and "symmetric" in msg and "0.5" in msg


def test_error_Q_wrong_shape():
    msg = _message(Q=np.eye(3))
    assert "Q" in msg and "(4, 4)" in msg and "(3, 3)" in msg


def test_error_P0_not_psd():
    msg = _message(P0=np.diag([1.0, 1.0, -2.0, 1.0]))
    assert "P0" in msg and "positive semi-definite" in msg and "-2" in msg


def test_error_x0_wrong_length():
    msg = _message(x0=np.zeros(3))
    assert "x0" in msg and "(4,)" in msg and "(3,)" in msg


def test_error_x0_wrong_ndim():
    msg = _message(x0=np.zeros((4, 1)))
    assert "x0" in msg and "1 dimension" in msg and "(4, 1)" in msg


def test_error_non_finite():
    msg = _message(x0=np.array([0.0, np.nan, 0.0, 0.0]))
    assert "x0" in msg and "finite" in msg


def test_error_measurement_wrong_length():
    kf = KalmanFilter(**_good())
    with pytest.raises(ValueError) as info:
        kf.update(np.array([1.0, 2.0, 3.0]))
    msg = str(info.value)
    assert "z" in msg and "(2,)" in msg and "(3,)" in msg
    with pytest.raises(ValueError) as info:
        kf.filter(np.ones((5, 3)))
    msg = str(info.value)
    assert "zs" in msg and "(*, 2)" in msg and "(5, 3)" in msg
    # a flat sequence is only accepted when m = 1
    with pytest.raises(ValueError, match=r"\(7,\)"):
        kf.filter(np.ones(7))
