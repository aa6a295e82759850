"""seqcourse.linpred: AR models fitted by least squares."""

from __future__ import annotations

import numpy as np
import pytest

from seqcourse.linpred import ARModel, fit_ar, lag_matrix


def test_lag_matrix_layout_by_hand():
    x = np.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0])
    X, y = lag_matrix(x, 3)
    assert X.shape == (4, 3) and y.shape == (4,)
    np.testing.assert_allclose(X, [[12, 11, 10], [13, 12, 11], [14, 13, 12], [15, 14, 13]])
    np.testing.assert_allclose(y, [13, 14, 15, 16])
    X1, y1 = lag_matrix([1.0, 2.0], 1)
    np.testing.assert_allclose(X1, [[1.0]])
    np.testing.assert_allclose(y1, [2.0])


def _simulate_ar(coef, c, T, rng, burn=500, noise=1.0):
    p = len(coef)
    x = np.zeros(T + burn)
    e = noise * rng.standard_normal(T + burn)
    for t in range(p, T + burn):
        x[t] = c + coef @ x[t - p:t][::-1] + e[t]
    return x[burn:]


def test_fit_ar_recovers_ar2():
    rng = np.random.default_rng(0)
    a = np.array([1.5, -0.75])  # stationary (complex roots of modulus ~0.87)
    x = _simulate_ar(a, 0.4, 20000, rng)
    model = fit_ar(x, 2)
    assert model.order == 2
    np.testing.assert_allclose(model.coef, a, atol=0.02)
    assert model.intercept == pytest.approx(0.4, abs=0.05)
    # the residuals are the innovations: unit variance
    resid = x[2:] - model.one_step(x)
    assert resid.std() == pytest.approx(1.0, abs=0.03)


def test_fit_ar_matches_independent_least_squares():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(300).cumsum()
    p = 4
    # regression built independently with a loop
    rows = [[x[t - j] for j in range(1, p + 1)] + [1.0] for t in range(p, len(x))]
    sol, *_ = np.linalg.lstsq(np.array(rows), x[p:], rcond=None)
    model = fit_ar(x, p)
    np.testing.assert_allclose(model.coef, sol[:p], rtol=1e-8, atol=1e-10)
    assert model.intercept == pytest.approx(sol[p], rel=1e-8, abs=1e-10)
    sol0, *_ = np.linalg.lstsq(np.array(rows)[:, :p], x[p:], rcond=None)
    model0 = fit_ar(x, p, intercept=False)
    np.testing.assert_allclose(model0.coef, sol0, rtol=1e-8, atol=1e-10)
    assert model0.intercept == pytest.approx(0.0, abs=1e-300)


def test_noiseless_sinusoid_exact():
    w = 2 * np.pi / 17.0
    t = np.arange(400)
    x = 3.0 * np.sin(w * t + 0.4)
    model = fit_ar(x, 2)
    np.testing.assert_allclose(model.coef, [2 * np.cos(w), -1.0], atol=1e-8)
    assert model.intercept == pytest.approx(0.0, abs=1e-8)
    np.testing.assert_allclose(model.one_step(x), x[2:], atol=1e-7)
    # and it extrapolates the sinusoid for many periods
    fc = model.forecast(x[:100], 200)
    np.testing.assert_allclose(fc, x[100:300], atol=1e-5)


def test_sum_of_two_sinusoids_needs_order_four():
    t = np.arange(600)
    x = np.sin(2 * np.pi * t / 25 + 1.0) + 0.5 * np.sin(2 * np.pi * t / 9 + 2.0)
    model = fit_ar(x, 4)
    np.testing.assert_allclose(model.one_step(x), x[4:], atol=1e-7)
    model2 = fit_ar(x, 2)
    assert np.abs(model2.one_step(x) - x[2:]).max() > 0.05


def test_forecast_feeds_predictions_back():
    model = ARModel(coef=np.array([0.6, -0.2, 0.1]), intercept=0.3)
    history = np.array([5.0, -1.0, 2.0, 0.5, 1.5])
    buf = list(history)
    expected = []
    for _ in range(6):
        nxt = 0.6 * buf[-1] - 0.2 * buf[-2] + 0.1 * buf[-3] + 0.3
        expected.append(nxt)
        buf.append(nxt)
    out = model.forecast(history, 6)
    assert out.shape == (6,)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert model.predict_next(history) == pytest.approx(0.6 * 1.5 - 0.2 * 0.5 + 0.1 * 2.0 + 0.3)
    assert model.forecast(history, 0).shape == (0,)


def test_one_step_uses_true_past():
    model = ARModel(coef=np.array([2.0, -1.0]), intercept=1.0)
    x = np.array([1.0, 4.0, 2.0, 8.0, 3.0])
    np.testing.assert_allclose(model.one_step(x), [2 * 4 - 1 + 1, 2 * 2 - 4 + 1, 2 * 8 - 2 + 1])


def test_errors():
    with pytest.raises(ValueError, match=r"need more than p = 3 samples.*got 3"):
        fit_ar(np.arange(3.0), 3)
    with pytest.raises(ValueError, match=r"need more than p = 5 samples to fit an AR\(5\) model, got 2"):
        lag_matrix([1.0, 2.0], 5)
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match=r"order p must be an integer >= 1"):
            fit_ar(np.arange(10.0), bad)
    with pytest.raises(ValueError, match=r"x \(signal\) must have 1 dimension.*\(4, 2\)"):
        fit_ar(np.zeros((4, 2)), 1)
    model = ARModel(coef=np.array([0.5, 0.2, 0.1]), intercept=0.0)
    with pytest.raises(ValueError, match=r"at least p = 3 values, got 2"):
        model.predict_next([1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        fit_ar(np.array([1.0, np.nan, 2.0, 3.0]), 1)
