"""Lecture 02: the outcomes the lecture states, re-run with the same package code and seeds.

The notebook itself is executed by nbval; these tests re-run each experiment the way the lecture
does (same generators, same seeds, same arguments) and check the numbers its text quotes, to the
digits it prints, plus the qualitative claim behind each number.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from seqcourse.hmm import HMM
from seqcourse.markov import estimate_transitions, sample_chain, stationary_distribution


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def _watch() -> HMM:
    return HMM(startprob=[0.6, 0.3, 0.1],
               transmat=[[0.90, 0.08, 0.02], [0.10, 0.85, 0.05], [0.05, 0.15, 0.80]],
               emissionprob=[[0.70, 0.25, 0.05, 0.00], [0.15, 0.55, 0.25, 0.05],
                             [0.00, 0.10, 0.40, 0.50]])


def _fmt(values, spec):
    return tuple(format(v, spec) for v in values)


# -- section 1: Markov chains ------------------------------------------------------------------
def test_weather_chain_stationary_distribution_three_ways():
    weather = np.array([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.3, 0.5]])
    days = sample_chain([1.0, 0.0, 0.0], weather, 20_000, np.random.default_rng(101))
    pi = stationary_distribution(weather)
    assert _fmt(pi, ".3f") == ("0.457", "0.283", "0.261")
    np.testing.assert_allclose(np.linalg.matrix_power(weather, 50), np.tile(pi, (3, 1)), atol=1e-12)
    assert np.abs(np.bincount(days, minlength=3) / len(days) - pi).max() < 0.01
    assert np.abs(estimate_transitions([days], 3) - weather).max() < 0.02


def test_order_two_memory_is_needed():
    M = 4
    truth = np.random.default_rng(111).dirichlet(np.full(M, 0.3), size=(M, M))
    start = np.full((M, M), 1 / M**2)
    train = sample_chain(start, truth, 3000, np.random.default_rng(112))
    test = sample_chain(start, truth, 3000, np.random.default_rng(113))
    unigram = (np.bincount(train, minlength=M) + 0.5) / (len(train) + 0.5 * M)
    bits = [-np.mean(np.log2(unigram[test[2:]]))]
    for order in (1, 2):
        table = estimate_transitions([train], M, order, pseudocount=0.5)
        context = tuple(test[2 - order + k: len(test) - order + k] for k in range(order + 1))
        bits.append(-np.mean(np.log2(table[context])))
    true_bits = -np.mean(np.log2(truth[test[:-2], test[1:-1], test[2:]]))
    assert _fmt(bits + [true_bits], ".3f") == ("1.962", "1.930", "1.178", "1.172")
    assert bits[2] < bits[1] < bits[0] and bits[2] - true_bits < 0.01


# -- section 2: the HMM --------------------------------------------------------------------------
def test_watch_joint_sums_to_one_and_states_follow_the_stationary_distribution():
    watch = _watch()
    total = sum(np.exp(watch.joint_log_prob(h, x)) for h in itertools.product(range(3), repeat=3)
                for x in itertools.product(range(4), repeat=3))
    assert total == pytest.approx(1.0, abs=1e-12)
    states, _ = watch.sample(50_000, np.random.default_rng(202))
    assert np.abs(np.bincount(states, minlength=3) / 50_000
                  - stationary_distribution(watch.transmat)).max() < 0.02


# -- section 3: inference ------------------------------------------------------------------------
def test_naive_forward_underflows_and_scaling_does_not():
    watch = _watch()
    pi, A, B = watch.startprob, watch.transmat, watch.emissionprob
    _, x = watch.sample(5000, np.random.default_rng(203))
    alpha = pi * B[:, x[0]]
    probs = [alpha.sum()]
    with np.errstate(under="ignore"):
        for t in range(1, len(x)):
            alpha = (alpha @ A) * B[:, x[t]]
            probs.append(alpha.sum())
    probs = np.array(probs)
    assert int(np.argmax(probs == 0.0)) + 1 == 676 and probs[-1] == 0.0
    assert f"{probs[99]:.3e}" == "1.107e-47"
    ll = watch.log_likelihood(x)
    assert f"{ll:.2f}" == "-5648.07" and f"{ll / np.log(10):.1f}" == "-2452.9"
    # before it underflows, the naive value is right (t = 500: 2.196e-239, as printed)
    assert f"{probs[499]:.3e}" == "2.196e-239"
    assert np.log(probs[499]) == pytest.approx(watch.log_likelihood(x[:500]), rel=1e-10)


def test_short_sequence_algorithms_equal_brute_force():
    watch = _watch()
    _, obs = watch.sample(120, np.random.default_rng(201))
    short = obs[:8]
    paths = np.array(list(itertools.product(range(3), repeat=8)))
    joint = np.array([np.exp(watch.joint_log_prob(h, short)) for h in paths])
    assert int(np.sum(joint == 0)) == 6177
    assert f"{joint.sum():.6e}" == "1.357603e-03"
    assert watch.log_likelihood(short) == pytest.approx(np.log(joint.sum()), rel=1e-12)
    path, best = watch.viterbi(short)
    np.testing.assert_array_equal(path, paths[joint.argmax()])
    assert np.all(path == 0)                                 # "rest" throughout, as printed
    gamma = np.zeros((8, 3))
    for h, p in zip(paths, joint):
        gamma[np.arange(8), h] += p
    np.testing.assert_allclose(watch.posteriors(short), gamma / joint.sum(), rtol=1e-10, atol=1e-15)


def test_decoding_with_the_chain_beats_reading_by_reading():
    watch = _watch()
    states, obs = watch.sample(2000, np.random.default_rng(204))
    prior = stationary_distribution(watch.transmat)
    single = (prior[:, None] * watch.emissionprob).argmax(axis=0)[obs]
    post = watch.posteriors(obs).argmax(axis=1)
    path, _ = watch.viterbi(obs)
    acc = [np.mean(single == states), np.mean(post == states), np.mean(path == states)]
    assert _fmt(acc, ".1%") == ("71.3%", "82.7%", "82.2%")
    assert min(acc[1:]) > acc[0] + 0.1


# -- section 4: Baum-Welch ------------------------------------------------------------------------
def _table_error(learned: HMM, truth: HMM) -> tuple[float, list[int]]:
    def err(p):
        p = list(p)
        return max(np.abs(learned.transmat[np.ix_(p, p)] - truth.transmat).max(),
                   np.abs(learned.emissionprob[p] - truth.emissionprob).max())
    best = min(itertools.permutations(range(truth.n_states)), key=err)
    return err(best), list(best)


def _baum_welch(init_seed: int, iterations: int):
    watch = _watch()
    bw_rng = np.random.default_rng(401)
    training = [watch.sample(400, bw_rng)[1] for _ in range(25)]
    model = HMM(np.full(3, 1 / 3), 0.7 * np.eye(3) + 0.1,
                np.random.default_rng(init_seed).dirichlet(np.ones(4), size=3))
    log_liks, errors = [], []
    for _ in range(iterations):
        model.fit(training, n_iter=1)
        log_liks.append(model.log_likelihoods_[0])
        errors.append(_table_error(model, watch)[0])
    log_liks.append(sum(model.log_likelihood(x) for x in training))
    return model, log_liks, errors, sum(watch.log_likelihood(x) for x in training)


def test_supervised_counting_is_accurate():
    watch = _watch()
    states, obs = watch.sample(10_000, np.random.default_rng(301))
    B = np.zeros((3, 4))
    np.add.at(B, (states, obs), 1)
    B /= B.sum(axis=1, keepdims=True)
    assert np.abs(estimate_transitions([states], 3) - watch.transmat).max() < 0.03
    assert np.abs(B - watch.emissionprob).max() < 0.03


def test_baum_welch_recovers_the_watch_with_monotone_likelihood():
    model, log_liks, errors, true_ll = _baum_welch(402, 50)
    assert np.all(np.diff(log_liks) >= -1e-9)
    assert _fmt([log_liks[0], log_liks[-1], true_ll], ",.1f") == ("-13,450.8", "-11,364.1", "-11,369.1")
    assert log_liks[-1] >= true_ll
    final, relabel = _table_error(model, _watch())
    assert _fmt([errors[0], final], ".3f") == ("0.314", "0.027")
    learned_zeros = (model.emissionprob[relabel][0, 3], model.emissionprob[relabel][2, 0])
    assert _fmt(learned_zeros, ".3f") == ("0.001", "0.005")


@pytest.mark.slow
def test_baum_welch_from_other_starts_reaches_the_same_tables():
    tables = []
    for seed in (402, 405):
        model, log_liks, _, _ = _baum_welch(seed, 100)
        _, relabel = _table_error(model, _watch())
        tables.append((model.transmat[np.ix_(relabel, relabel)], model.emissionprob[relabel], log_liks[-1]))
    np.testing.assert_allclose(tables[0][0], tables[1][0], atol=0.005)
    np.testing.assert_allclose(tables[0][1], tables[1][1], atol=0.005)
    assert tables[0][2] == pytest.approx(tables[1][2], abs=0.01)


# -- section 5: the explorer's claims -------------------------------------------------------------
def test_useless_sensor_flattens_posteriors_to_the_prior():
    watch = _watch()
    stickiness = 0.85
    A = np.full((3, 3), (1 - stickiness) / 2) + (stickiness - (1 - stickiness) / 2) * np.eye(3)
    model = HMM(watch.startprob, A, np.full((3, 4), 0.25))
    _, x = model.sample(150, np.random.default_rng(501))
    gamma = model.posteriors(x)
    marginal = watch.startprob @ np.stack([np.linalg.matrix_power(A, t) for t in range(150)])
    np.testing.assert_allclose(gamma, marginal, atol=1e-12)


# -- section 6: generative versus discriminative ------------------------------------------------------
def _windows(x, w):
    padded = np.concatenate([np.full(w, -1), x, np.full(w, -1)])
    cols = [padded[k:k + len(x)] for k in range(2 * w + 1)]
    return np.concatenate([(c[:, None] == np.arange(4)[None, :]) for c in cols], axis=1).astype(np.float32)


def test_window_classifier_approaches_but_does_not_beat_the_hmm():
    watch = _watch()
    sup_states, sup_obs = watch.sample(10_000, np.random.default_rng(301))
    test_states, test_obs = watch.sample(2000, np.random.default_rng(204))
    acc = {}
    for w in (0, 2, 8):
        torch.manual_seed(601)
        X, y = torch.tensor(_windows(sup_obs, w)), torch.tensor(sup_states)
        layer = torch.nn.Linear(X.shape[1], 3)
        opt = torch.optim.Adam(layer.parameters(), lr=0.2)
        for _ in range(60):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(layer(X), y).backward()
            opt.step()
        with torch.no_grad():
            pred = layer(torch.tensor(_windows(test_obs, w))).argmax(1).numpy()
        acc[w] = float(np.mean(pred == test_states))
    assert _fmt(acc.values(), ".1%") == ("71.3%", "80.3%", "81.1%")
    hmm_acc = np.mean(watch.posteriors(test_obs).argmax(axis=1) == test_states)
    assert acc[8] < hmm_acc
