"""Lecture 02: the outcomes the lecture states, read from what the lecture printed.

The notebook is executed once per test run and flavour (``tests/notebook_runs.py``: "native" and
"portable", torch's generic kernels and MKL limited to SSE4.2, as on another processor). The claims
tests read the numbers it printed under both, check them against the digits its text quotes (and
that the text quotes them) and check the claim behind each number. Cheap checks that need no
training (brute force on short sequences, the explorer's limiting cases) run in-process.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from notebook_runs import FLAVOURS, cell_text, executed, number, markdown, probe_text, stated
from seqcourse.hmm import HMM
from seqcourse.markov import estimate_transitions, stationary_distribution

PATH = "lectures/02_markov_hmm.ipynb"


@pytest.fixture(scope="module", params=FLAVOURS)
def lecture(request):
    return executed(PATH, request.param)


@pytest.fixture(scope="module")
def text() -> str:
    return markdown(PATH)



# -- claims, read from the executed lecture ----------------------------------------------------------
def test_weather_chain_stationary_distribution(lecture, text):
    out = cell_text(lecture, "pi_weather = stationary_distribution(weather)")
    assert "eigenvector:         [0.457 0.283 0.261]" in out
    assert "rows of A^50:        [0.457 0.283 0.261] [0.457 0.283 0.261]" in out
    freq = [float(v) for v in re.search(r"long-run frequency:\s+\[([^\]]+)\]", out).group(1).split()]
    assert np.abs(np.array(freq) - [0.457, 0.283, 0.261]).max() < 0.01
    stated(text, "$\\pi = (0.457, 0.283, 0.261)$", "(weather chain: 0.457, 0.283, 0.261)")


def test_order_two_memory_is_needed(lecture, text):
    out = cell_text(lecture, "def bits_per_symbol(")
    bits = [float(v) for v in re.findall(r"order \d: ([\d.]+) bits", out)]
    true_bits = number(out, r"true order-2 table: ([\d.]+) bits")
    assert bits == [1.962, 1.930, 1.178] and true_bits == 1.172
    assert bits[2] < bits[1] < bits[0] and bits[2] - true_bits < 0.01
    stated(text, "order-0 model needs 1.962 bits", "(1.930)", "Order 2 needs 1.178 bits", "1.172 bits",
           "1.962, 1.930 and 1.178 bits")


def test_naive_forward_underflows_and_scaling_does_not(lecture, text):
    out = cell_text(lecture, "naive_alpha = forward_naive(long_x")
    assert number(out, r"exactly 0\.0 from t = (\d+) on") == 676
    assert "t = 100: 1.107e-47, t = 500: 2.196e-239" in out and "log P(x) = -inf" in out
    out = cell_text(lecture, "def forward_scaled(")
    scaled, logspace, package = re.search(r"T = 5000: scaled (\S+)\s+log-space (\S+)\s+package (\S+)", out).groups()
    assert scaled == logspace == package and f"{float(scaled):.2f}" == "-5648.07"
    assert "10^-2452.9" in out
    stated(text, "exactly 0.0 from step 676 on", "$\\log P(x) = -5648.07$", "10^{-2453}",
           "hit exactly 0 at step 676")


def test_decoding_with_the_chain_beats_reading_by_reading(lecture, text):
    out = cell_text(lecture, "one_at_a_time = (prior[:, None]")
    acc = dict(re.findall(r"^\s*(.+?): ([\d.]+)% of the 2,000", out, re.M))
    assert acc == {"one reading at a time": "71.3", "posterior decoding": "82.7", "Viterbi": "82.2"}
    assert min(float(acc["posterior decoding"]), float(acc["Viterbi"])) > float(acc["one reading at a time"]) + 10
    stated(text, "71.3% of the activities are guessed right", "posterior decoding gets 82.7% and Viterbi 82.2%")


def test_baum_welch_recovers_the_watch_with_monotone_likelihood(lecture, text):
    out = cell_text(lecture, "def table_error(")
    start, end, true = re.search(r"start (\S+), after 50 iterations (\S+) \(the true tables: (\S+)\)", out).groups()
    assert (start, end, true) == ("-13450.8", "-11364.1", "-11369.1") and float(end) >= float(true)
    first, final = re.search(r"after 1 iteration ([\d.]+), after 50 ([\d.]+)", out).groups()
    assert (first, final) == ("0.314", "0.027")
    stated(text, "rises from −13,450.8 to −11,364.1", "(−11,369.1)", "falls from 0.314 to 0.027",
           "within 0.027 in every entry")


def test_learned_zeros_are_near_zero(lecture, text):
    out = cell_text(lecture, "def table_error(")
    rows = re.search(r"learned B:\n((?:.*\n){3})", out).group(1)
    B = np.array([[float(v) for v in re.findall(r"[\d.]+", row)] for row in rows.splitlines()])
    assert B.shape == (3, 4) and (f"{B[0, 3]:.3f}", f"{B[2, 0]:.3f}") == ("0.001", "0.005")
    stated(text, "learned as near zeros (0.001 and 0.005)")


def test_window_classifier_approaches_but_does_not_beat_the_hmm(lecture, text):
    out = cell_text(lecture, "def window_classifier(")
    acc = {int(w): float(v) for w, v in re.findall(r"window \+-\s*(\d+): ([\d.]+)%", out)}
    hmm = number(out, r"posterior decoding: ([\d.]+)%")
    assert acc == {0: 71.3, 2: 80.5, 8: 81.4} and hmm == 82.7
    assert acc[0] < acc[2] < acc[8] < hmm
    stated(text, "($w = 0$) the classifier gets 71.3%", "gets 80.5% and $\\pm 8$ gets 81.4%", "the 82.7% of the HMM")


# -- in-process checks (no training) -------------------------------------------------------------------
def _watch() -> HMM:
    return HMM(startprob=[0.6, 0.3, 0.1],
               transmat=[[0.90, 0.08, 0.02], [0.10, 0.85, 0.05], [0.05, 0.15, 0.80]],
               emissionprob=[[0.70, 0.25, 0.05, 0.00], [0.15, 0.55, 0.25, 0.05],
                             [0.00, 0.10, 0.40, 0.50]])


def _fmt(values, spec):
    return tuple(format(v, spec) for v in values)


# -- section 2: the HMM --------------------------------------------------------------------------
def test_watch_joint_sums_to_one_and_states_follow_the_stationary_distribution():
    watch = _watch()
    total = sum(np.exp(watch.joint_log_prob(h, x)) for h in itertools.product(range(3), repeat=3)
                for x in itertools.product(range(4), repeat=3))
    assert total == pytest.approx(1.0, abs=1e-12)
    states, _ = watch.sample(50_000, np.random.default_rng(202))
    assert np.abs(np.bincount(states, minlength=3) / 50_000
                  - stationary_distribution(watch.transmat)).max() < 0.02


def test_short_sequence_algorithms_equal_brute_force():
    """The lecture's window (readings 20..27: two changes of activity, Viterbi and posterior decoding
    disagree at one step) and every other such window of the sample: a check that can fail."""
    watch = _watch()
    states, obs = watch.sample(120, np.random.default_rng(201))
    paths = np.array(list(itertools.product(range(3), repeat=8)))
    checked = 0
    for t0 in range(0, 112, 4):
        short = obs[t0:t0 + 8]
        if np.count_nonzero(np.diff(states[t0:t0 + 8])) < 1:
            continue
        joint = np.array([np.exp(watch.joint_log_prob(h, short)) for h in paths])
        assert watch.log_likelihood(short) == pytest.approx(np.log(joint.sum()), rel=1e-12)
        path, best = watch.viterbi(short)
        np.testing.assert_array_equal(path, paths[joint.argmax()])
        assert best == pytest.approx(np.log(joint.max()), rel=1e-12)
        gamma = np.zeros((8, 3))
        for h, p in zip(paths, joint):
            gamma[np.arange(8), h] += p
        np.testing.assert_allclose(watch.posteriors(short), gamma / joint.sum(), rtol=1e-10, atol=1e-15)
        checked += 1
    assert checked >= 5, f"only {checked} windows with a change of state were checked"


def test_the_lectures_brute_force_window_has_state_changes_and_tells_decoders_apart(lecture):
    out = cell_text(lecture, "def informative(")
    acts = re.search(r"true activities (\[.*\])", out).group(1)
    labels = [a.strip(" '") for a in acts.strip("[]").split(",")]
    assert sum(a != b for a, b in zip(labels, labels[1:])) >= 2, labels
    out = cell_text(lecture, "path_short, best_short = viterbi")
    assert "differs from the best path at step" in out


# -- section 6: Gaussian emissions ------------------------------------------------------------------
def test_gaussian_hmm_recovers_the_regimes_and_the_chain_helps_decoding(lecture, text):
    out = cell_text(lecture, "REGIMES = ")
    assert "vanish at the M-step's answer (below 1e-8): True" in out
    assert "never decreasing: True" in out
    for name, mean, sd in re.findall(r"(\w+): mean\s+(-?[\d.]+) \(true [\d.]+\), sd ([\d.]+)", out):
        true_mean = {"calm": 0.0, "busy": 2.5, "alarm": 6.0}[name]
        true_sd = {"calm": 0.6, "busy": 1.0, "alarm": 1.5}[name]
        assert abs(float(mean) - true_mean) < 0.15 and abs(float(sd) - true_sd) < 0.15, (name, mean, sd)
    one = number(out, r"one reading at a time: ([\d.]+)%") / 100
    vit = number(out, r"Viterbi: ([\d.]+)%") / 100
    post = number(out, r"posterior decoding: ([\d.]+)%") / 100
    assert vit > 0.97 and post > 0.97 and one < vit - 0.03
    stated(text, "within 0.15 of the truth", "more than 97%", "at least three points worse")


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


@pytest.mark.slow
def test_hmm_explorer_keeps_the_data_fixed_and_works_after_run_all():
    out = probe_text(executed(PATH, "again"))  # tests/probes/02_markov_hmm.py
    expected = 150 * np.log(0.25)                  # a useless sensor: P(x) = (1/4)^T, whatever the chain
    assert f"useless sensor log P(x) {expected:.4f} {expected:.4f}" in out
    assert "swapped: likelihood within 5 True, accuracy lower True" in out
