"""seqcourse.markov against independent references: hand counts, brute-force sums over all
sequences, long-run frequencies of samples, and matrix powers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqcourse.markov import (count_transitions, estimate_transitions, pair_chain, sample_chain,
                              sequence_log_prob, stationary_distribution)


def _random_chain(rng, K, order):
    return rng.dirichlet(np.ones(K), size=(K,) * order)


def test_counts_by_hand_order_1_and_2():
    seqs = [[0, 1, 1, 2, 0], [2, 2], [1]]
    c1 = count_transitions(seqs, 3, order=1)
    expected = np.zeros((3, 3))
    for a, b in [(0, 1), (1, 1), (1, 2), (2, 0), (2, 2)]:
        expected[a, b] += 1
    np.testing.assert_array_equal(c1, expected)
    c2 = count_transitions(seqs, 3, order=2)
    assert c2.shape == (3, 3, 3) and c2.sum() == 3
    assert c2[0, 1, 1] == c2[1, 1, 2] == c2[1, 2, 0] == 1


def test_estimates_normalise_and_fill_unseen_contexts_uniformly():
    A = estimate_transitions([[0, 1, 0, 1, 1]], 4, order=1)
    np.testing.assert_allclose(A[0], [0, 1, 0, 0])
    np.testing.assert_allclose(A[1], [0.5, 0.5, 0, 0])
    np.testing.assert_allclose(A[3], np.full(4, 0.25))          # never seen
    smoothed = estimate_transitions([[0, 1, 0, 1, 1]], 4, order=1, pseudocount=1.0)
    np.testing.assert_allclose(smoothed[0], [1 / 6, 3 / 6, 1 / 6, 1 / 6])


@pytest.mark.parametrize("order", [1, 2])
def test_counting_recovers_the_chain_that_generated_the_data(order):
    rng = np.random.default_rng(order)
    K = 3
    A = _random_chain(rng, K, order) * 0.7 + 0.3 / K
    init = np.full((K,) * order, 1.0 / K**order)
    seqs = [sample_chain(init, A, 5000, rng) for _ in range(4)]
    np.testing.assert_allclose(estimate_transitions(seqs, K, order), A, atol=0.05)


@pytest.mark.parametrize("order", [1, 2])
def test_sequence_probabilities_sum_to_one_over_all_sequences(order):
    rng = np.random.default_rng(10 + order)
    K, T = 3, 5
    A = _random_chain(rng, K, order)
    init = rng.dirichlet(np.ones(K**order)).reshape((K,) * order)
    total = sum(np.exp(sequence_log_prob(s, init, A)) for s in itertools.product(range(K), repeat=T))
    assert total == pytest.approx(1.0, abs=1e-12)


def test_sequence_log_prob_by_hand_and_impossible():
    init = np.array([0.5, 0.5])
    A = np.array([[0.9, 0.1], [0.0, 1.0]])
    assert sequence_log_prob([0, 0, 1, 1], init, A) == pytest.approx(np.log(0.5 * 0.9 * 0.1 * 1.0))
    assert sequence_log_prob([1, 0], init, A) == -np.inf


def test_sampling_matches_the_sequence_distribution():
    rng = np.random.default_rng(3)
    init, A = np.array([0.2, 0.8]), np.array([[0.3, 0.7], [0.6, 0.4]])
    samples = np.array([sample_chain(init, A, 3, rng) for _ in range(20000)])
    codes = samples @ [4, 2, 1]
    freq = np.bincount(codes, minlength=8) / len(codes)
    exact = [np.exp(sequence_log_prob(s, init, A)) for s in itertools.product(range(2), repeat=3)]
    np.testing.assert_allclose(freq, exact, atol=0.015)


def test_stationary_distribution_order_1_is_the_limit_of_matrix_powers():
    rng = np.random.default_rng(4)
    A = _random_chain(rng, 5, 1)
    pi = stationary_distribution(A)
    np.testing.assert_allclose(pi @ A, pi, atol=1e-12)
    np.testing.assert_allclose(pi, np.linalg.matrix_power(A, 500)[0], atol=1e-10)
    x = sample_chain(np.full(5, 0.2), A, 100_000, rng)
    np.testing.assert_allclose(np.bincount(x, minlength=5) / len(x), pi, atol=0.01)


def test_stationary_distribution_order_2_gives_pair_frequencies():
    rng = np.random.default_rng(5)
    A = _random_chain(rng, 3, 2)
    joint = stationary_distribution(A)
    assert joint.shape == (3, 3)
    np.testing.assert_allclose(joint.sum(), 1.0)
    # stationary: P(b, c) = sum_a P(a, b) A[a, b, c]
    np.testing.assert_allclose(np.einsum("ab,abc->bc", joint, A), joint, atol=1e-12)
    x = sample_chain(np.full((3, 3), 1 / 9), A, 100_000, rng)
    pairs = np.bincount(x[:-1] * 3 + x[1:], minlength=9).reshape(3, 3) / (len(x) - 1)
    np.testing.assert_allclose(pairs, joint, atol=0.01)


def test_pair_chain_is_a_valid_order_1_chain():
    A = _random_chain(np.random.default_rng(6), 3, 2)
    P = pair_chain(A)
    assert P.shape == (9, 9)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert P[0 * 3 + 1, 1 * 3 + 2] == A[0, 1, 2] and P[0 * 3 + 1, 2 * 3 + 2] == 0


def test_errors_name_what_was_expected():
    with pytest.raises(ValueError, match=r"order must be 1 or 2, got 3"):
        count_transitions([[0, 1]], 2, order=3)
    with pytest.raises(ValueError, match=r"sequence 1 must hold symbols in \[0, 2\), got values from 0 to 2"):
        count_transitions([[0, 1], [0, 2]], 2)
    with pytest.raises(ValueError, match=r"must sum to 1"):
        stationary_distribution([[0.5, 0.4], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"non-negative"):
        stationary_distribution([[1.5, -0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"shape \(K, K\).*got \(2, 3\)"):
        stationary_distribution(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"initial must have shape \(2, 2\)"):
        sample_chain([0.5, 0.5], np.full((2, 2, 2), 0.5), 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"pseudocount must be >= 0"):
        estimate_transitions([[0]], 2, pseudocount=-1)
