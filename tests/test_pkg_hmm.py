"""seqcourse.hmm against two independent references: hmmlearn (test dependency) and brute-force
enumeration of every state path of a short sequence."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hmmlearn.hmm import CategoricalHMM

from seqcourse.hmm import HMM

K, M = 3, 4          # every dimension different from T on purpose


def _model(seed, K=K, M=M):
    return HMM.random(K, M, np.random.default_rng(seed))


def _hmmlearn(model, **kw):
    ref = CategoricalHMM(model.n_states, n_features=model.n_symbols, init_params="", **kw)
    ref.startprob_ = model.startprob.copy()
    ref.transmat_ = model.transmat.copy()
    ref.emissionprob_ = model.emissionprob.copy()
    return ref


def _brute(model, obs):
    """All K^T paths: joint probabilities (paths, p) computed with plain Python products."""
    paths = list(itertools.product(range(model.n_states), repeat=len(obs)))
    joint = []
    for h in paths:
        p = model.startprob[h[0]] * model.emissionprob[h[0], obs[0]]
        for t in range(1, len(obs)):
            p *= model.transmat[h[t - 1], h[t]] * model.emissionprob[h[t], obs[t]]
        joint.append(p)
    return np.array(paths), np.array(joint)


def _zero_model():
    """A left-to-right model with impossible transitions and emissions."""
    return HMM([1.0, 0.0, 0.0],
               [[0.6, 0.4, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 1.0]],
               [[0.5, 0.5, 0.0, 0.0], [0.0, 0.2, 0.8, 0.0], [0.1, 0.0, 0.3, 0.6]])


# -- brute force --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_likelihood_equals_sum_over_all_paths(seed):
    model = _model(seed)
    _, obs = model.sample(6, np.random.default_rng(seed + 10))
    _, joint = _brute(model, obs)
    assert model.log_likelihood(obs) == pytest.approx(np.log(joint.sum()), rel=1e-12)
    assert model.forward(obs)[1].sum() == pytest.approx(np.log(joint.sum()), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_posteriors_and_viterbi_by_enumeration(seed):
    model = _model(seed)
    _, obs = model.sample(6, np.random.default_rng(seed + 20))
    paths, joint = _brute(model, obs)
    gamma = np.zeros((len(obs), K))
    for h, p in zip(paths, joint):
        gamma[np.arange(len(obs)), h] += p
    np.testing.assert_allclose(model.posteriors(obs), gamma / joint.sum(), rtol=1e-10, atol=1e-14)
    path, log_prob = model.viterbi(obs)
    np.testing.assert_array_equal(path, paths[joint.argmax()])
    assert log_prob == pytest.approx(np.log(joint.max()), rel=1e-12)
    assert model.joint_log_prob(path, obs) == pytest.approx(log_prob, rel=1e-12)


def test_one_baum_welch_step_equals_expected_counts_by_enumeration():
    model = _model(5)
    rng = np.random.default_rng(6)
    seqs = [model.sample(T, rng)[1] for T in (5, 4, 6, 4)]
    start, trans, emit = np.zeros(K), np.zeros((K, K)), np.zeros((K, M))
    for obs in seqs:
        paths, joint = _brute(model, obs)
        w = joint / joint.sum()
        for h, p in zip(paths, w):
            start[h[0]] += p
            for t in range(1, len(obs)):
                trans[h[t - 1], h[t]] += p
            for t in range(len(obs)):
                emit[h[t], obs[t]] += p
    model.fit(seqs, n_iter=1)
    np.testing.assert_allclose(model.startprob, start / start.sum(), rtol=1e-10)
    np.testing.assert_allclose(model.transmat, trans / trans.sum(1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(model.emissionprob, emit / emit.sum(1, keepdims=True), rtol=1e-10)


# -- hmmlearn -------------------------------------------------------------------------------------
def test_against_hmmlearn_log_likelihood_posteriors_viterbi():
    model = _model(7, K=5, M=6)
    _, obs = model.sample(3000, np.random.default_rng(8))
    ref = _hmmlearn(model)
    assert model.log_likelihood(obs) == pytest.approx(ref.score(obs[:, None]), rel=1e-10)
    np.testing.assert_allclose(model.posteriors(obs), ref.predict_proba(obs[:, None]), atol=1e-9)
    path, log_prob = model.viterbi(obs)
    ref_log_prob, ref_path = ref.decode(obs[:, None], algorithm="viterbi")
    assert log_prob == pytest.approx(ref_log_prob, rel=1e-10)
    # near-ties may be broken differently: compare the probability of the paths, not the paths
    assert model.joint_log_prob(path, obs) == pytest.approx(model.joint_log_prob(ref_path, obs), rel=1e-10)
    assert np.mean(path == ref_path) > 0.99


def test_one_baum_welch_step_against_hmmlearn():
    model = _model(9, K=4, M=5)
    rng = np.random.default_rng(10)
    seqs = [model.sample(T, rng)[1] for T in (200, 50, 120, 50, 200)]   # equal lengths are batched
    init = HMM.random(4, 5, np.random.default_rng(11))
    ref = _hmmlearn(init, n_iter=1, params="ste", tol=-np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(np.concatenate(seqs)[:, None], lengths=[len(s) for s in seqs])
    ours = init.copy().fit(seqs, n_iter=1)
    np.testing.assert_allclose(ours.startprob, ref.startprob_, atol=1e-10)
    np.testing.assert_allclose(ours.transmat, ref.transmat_, atol=1e-10)
    np.testing.assert_allclose(ours.emissionprob, ref.emissionprob_, atol=1e-10)
    assert ours.log_likelihoods_[0] == pytest.approx(
        sum(init.log_likelihood(s) for s in seqs), rel=1e-12)


# -- numerics ---------------------------------------------------------------------------------------
def test_long_sequence_is_finite_and_correct():
    model = _model(12, K=8, M=10)
    _, obs = model.sample(100_000, np.random.default_rng(13))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll = model.log_likelihood(obs)
        gamma = model.posteriors(obs)
    assert np.isfinite(ll) and ll < -1e4
    assert ll == pytest.approx(_hmmlearn(model).score(obs[:, None]), rel=1e-9)
    np.testing.assert_allclose(gamma.sum(axis=1), 1.0, atol=1e-9)
    # the product of 100,000 probabilities is far below the smallest double
    assert np.prod(model.emissionprob.max(axis=1).max() ** 2000) == 0.0


def test_zero_entries_give_no_nan_and_no_warning():
    model = _zero_model()
    obs = np.array([0, 1, 1, 2, 2, 3, 2, 3])
    paths, joint = _brute(model, obs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll = model.log_likelihood(obs)
        gamma = model.posteriors(obs)
        path, log_prob = model.viterbi(obs)
        fitted = model.copy().fit([obs, obs[:5]], n_iter=5)
        impossible = model.log_likelihood([0, 3])
        _, impossible_vit = model.viterbi([0, 3])
    assert ll == pytest.approx(np.log(joint.sum()), rel=1e-12)
    assert not np.isnan(gamma).any() and not np.isnan(fitted.transmat).any()
    np.testing.assert_array_equal(path, paths[joint.argmax()])
    assert log_prob == pytest.approx(np.log(joint.max()))
    assert impossible == -np.inf and impossible_vit == -np.inf
    # EM never turns an impossible transition into a possible one
    assert fitted.transmat[1, 0] == 0 and fitted.transmat[2, 1] == 0
    with pytest.raises(ValueError, match="probability zero"):
        model.posteriors([0, 3])


# -- learning ------------------------------------------------------------------------------------------
def test_fit_never_decreases_likelihood_and_recovers_the_model():
    truth = HMM([0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]], [[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    rng = np.random.default_rng(14)
    seqs = [truth.sample(500, rng)[1] for _ in range(10)]
    start = HMM([0.5, 0.5], [[0.6, 0.4], [0.4, 0.6]], [[0.4, 0.3, 0.3], [0.3, 0.3, 0.4]])
    model = start.fit(seqs, n_iter=200, tol=1e-8)
    assert model is start
    lls = np.array(model.log_likelihoods_)
    assert len(lls) > 5 and np.all(np.diff(lls) >= -1e-8)
    np.testing.assert_allclose(model.transmat, truth.transmat, atol=0.05)
    np.testing.assert_allclose(model.emissionprob, truth.emissionprob, atol=0.05)


def test_sample_frequencies_match_the_model():
    model = _model(15)
    states, obs = model.sample(200_000, np.random.default_rng(16))
    assert states.shape == obs.shape == (200_000,)
    pairs = np.zeros((K, K))
    np.add.at(pairs, (states[:-1], states[1:]), 1)
    np.testing.assert_allclose(pairs / pairs.sum(1, keepdims=True), model.transmat, atol=0.01)
    emit = np.zeros((K, M))
    np.add.at(emit, (states, obs), 1)
    np.testing.assert_allclose(emit / emit.sum(1, keepdims=True), model.emissionprob, atol=0.01)
    firsts = [model.sample(1, np.random.default_rng(s))[0][0] for s in range(3000)]
    np.testing.assert_allclose(np.bincount(firsts, minlength=K) / 3000, model.startprob, atol=0.03)


# -- errors ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,pattern", [
    (([0.5, 0.5], [[1.2, -0.2], [0.5, 0.5]], [[1.0], [1.0]]), r"transmat.*non-negative"),
    (([0.5, 0.6], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [1.0]]), r"startprob must sum to 1"),
    (([0.5, 0.5], [[0.5, 0.4], [0.5, 0.5]], [[1.0], [1.0]]), r"transmat.*sum to 1"),
    (([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.4], [1.0, 0.0]]), r"emissionprob.*sum to 1"),
    (([0.5, 0.5], np.full((3, 3), 1 / 3), [[1.0], [1.0]]), r"transmat must have shape \(K, K\) = \(2, 2\).*got \(3, 3\)"),
    (([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[1.0]] * 3), r"emissionprob must have shape \(K, M\) = \(2, M\).*got \(3, 1\)"),
    (([[0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [1.0]]), r"startprob must have 1 dimension"),
])
def test_invalid_tables_raise_value_error(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        HMM(*args)


def test_invalid_observations_raise_value_error():
    model = _model(17)
    with pytest.raises(ValueError, match=r"symbols in \[0, M\) = \[0, 4\), got values from 0 to 4"):
        model.log_likelihood([0, 1, 4])
    with pytest.raises(ValueError, match=r"got values from -1"):
        model.viterbi([-1, 0])
    with pytest.raises(ValueError, match=r"integer symbols"):
        model.posteriors([0.5, 1.0])
    with pytest.raises(ValueError, match=r"non-empty 1-D"):
        model.log_likelihood([])
    with pytest.raises(ValueError, match=r"wrap it in a list"):
        model.fit(np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"T must be a positive integer"):
        model.sample(0, np.random.default_rng(0))
