"""seqcourse.gaussian_hmm against hmmlearn's GaussianHMM and against enumeration of all state paths."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from seqcourse.gaussian_hmm import GaussianHMM, logsumexp, regime_signal

hmmlearn = pytest.importorskip("hmmlearn.hmm")


def random_model(K: int, seed: int) -> GaussianHMM:
    g = np.random.default_rng(seed)
    return GaussianHMM(g.dirichlet(np.ones(K)), g.dirichlet(np.ones(K), size=K),
                       g.normal(0, 3, K), g.uniform(0.3, 2.0, K))


def reference(model: GaussianHMM, **kwargs) -> "hmmlearn.GaussianHMM":
    ref = hmmlearn.GaussianHMM(n_components=model.n_states, covariance_type="diag", init_params="", **kwargs)
    ref.startprob_, ref.transmat_ = model.startprob.copy(), model.transmat.copy()
    ref.means_, ref.covars_ = model.means[:, None].copy(), model.variances[:, None].copy()
    return ref


def brute_force(model: GaussianHMM, x: np.ndarray):
    paths = np.array(list(itertools.product(range(model.n_states), repeat=len(x))))
    logp = np.array([model.joint_log_prob(h, x) for h in paths])
    return paths, logp


def test_logsumexp_is_stable_and_exact():
    a = np.array([[1000.0, 1000.0], [-np.inf, -np.inf]])
    np.testing.assert_allclose(logsumexp(a, axis=1), [1000 + np.log(2), -np.inf])
    assert float(logsumexp(np.log([0.2, 0.3]))) == pytest.approx(np.log(0.5), rel=1e-14)


@pytest.mark.parametrize("K,T,seed", [(2, 6, 1), (3, 5, 2)])
def test_every_inference_equals_enumeration(K, T, seed):
    model = random_model(K, seed)
    _, x = model.sample(T, np.random.default_rng(seed + 10))
    paths, logp = brute_force(model, x)
    log_px = float(logsumexp(logp))
    assert model.log_likelihood(x) == pytest.approx(log_px, rel=1e-12)
    gamma = np.zeros((T, K))
    for h, lp in zip(paths, logp):
        gamma[np.arange(T), h] += np.exp(lp - log_px)
    np.testing.assert_allclose(model.posteriors(x), gamma, rtol=1e-10, atol=1e-14)
    path, best = model.viterbi(x)
    np.testing.assert_array_equal(path, paths[logp.argmax()])
    assert best == pytest.approx(logp.max(), rel=1e-12)


@pytest.mark.parametrize("K,T,seed", [(2, 40, 3), (3, 2000, 4)])
def test_matches_hmmlearn_on_likelihood_posteriors_and_viterbi(K, T, seed):
    model = random_model(K, seed)
    _, x = model.sample(T, np.random.default_rng(seed))
    ref = reference(model)
    assert model.log_likelihood(x) == pytest.approx(ref.score(x[:, None]), rel=1e-10)
    np.testing.assert_allclose(model.posteriors(x), ref.predict_proba(x[:, None]), atol=1e-9)
    ref_logp, ref_path = ref.decode(x[:, None], algorithm="viterbi")
    path, best = model.viterbi(x)
    assert best == pytest.approx(ref_logp, rel=1e-10)
    np.testing.assert_array_equal(path, ref_path)


def test_one_baum_welch_step_matches_hmmlearn():
    model = random_model(3, 5)
    xs = [model.sample(T, np.random.default_rng(50 + T))[1] for T in (300, 170)]
    ours = model.copy().fit(xs, n_iter=1)
    # hmmlearn without priors on the variances, so that its M-step is the plain weighted variance
    ref = reference(model, n_iter=1, params="stmc", covars_prior=0.0, covars_weight=1.0, min_covar=0.0,
                    means_prior=0.0, means_weight=0.0, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(np.concatenate(xs)[:, None], lengths=[len(x) for x in xs])
    np.testing.assert_allclose(ours.startprob, ref.startprob_, atol=1e-10)
    np.testing.assert_allclose(ours.transmat, ref.transmat_, atol=1e-10)
    np.testing.assert_allclose(ours.means, ref.means_[:, 0], rtol=1e-9)
    np.testing.assert_allclose(ours.variances, ref.covars_[:, 0, 0] if ref.covars_.ndim == 3 else ref.covars_[:, 0],
                               rtol=1e-9)


def test_baum_welch_never_lowers_the_likelihood_and_recovers_the_regimes():
    states, x, truth = regime_signal(3000, np.random.default_rng(7))
    start = GaussianHMM(np.full(3, 1 / 3), np.full((3, 3), 1 / 3), [-1.0, 1.0, 3.0], [4.0, 4.0, 4.0])
    fitted = start.fit([x], n_iter=60)
    assert np.all(np.diff(fitted.log_likelihoods_) > -1e-8)
    order = np.argsort(fitted.means)
    np.testing.assert_allclose(fitted.means[order], truth.means, atol=0.3)
    np.testing.assert_allclose(np.sqrt(fitted.variances[order]), np.sqrt(truth.variances), atol=0.2)


def test_long_sequences_do_not_underflow():
    _, x, truth = regime_signal(20_000, np.random.default_rng(8))
    assert np.isfinite(truth.log_likelihood(x))


def test_friendly_errors():
    with pytest.raises(ValueError, match="variances must all be positive"):
        GaussianHMM([1.0], [[1.0]], [0.0], [0.0])
    with pytest.raises(ValueError, match=r"means must have shape \(K,\) = \(2,\)"):
        GaussianHMM([0.5, 0.5], np.eye(2), [0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="transmat must sum to 1"):
        GaussianHMM([0.5, 0.5], [[0.5, 0.6], [0.5, 0.5]], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"1-D array \(T,\)"):
        random_model(2, 0).log_likelihood(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="fit\\(\\[obs\\]\\)"):
        random_model(2, 0).fit(np.zeros(5))
