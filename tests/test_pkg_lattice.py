"""seqcourse.lattice against brute-force path enumeration and torch autograd."""

import numpy as np
import pytest
import torch

from seqcourse import lattice as L


def problem(seed, n_pieces=4, C=3, max_span=2):
    rng = np.random.default_rng(seed)
    arcs = L.all_arcs(n_pieces, max_span)
    return torch.tensor(rng.normal(size=(len(arcs), C)), dtype=torch.float64), arcs, n_pieces + 1


def brute(scores, arcs, n):
    return L.enumerate_paths(scores, arcs, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_partition_vs_enumeration(seed):
    s, arcs, n = problem(seed)
    paths = brute(s, arcs, n)
    ref = np.logaddexp.reduce([p[0] for p in paths])
    assert abs(float(L.log_partition(s, arcs, n)) - ref) < 1e-10


def test_unreachable_nodes_are_minus_inf():
    s = torch.zeros(2, 3, dtype=torch.float64)
    alpha = L.forward_scores(s, np.array([[0, 1], [2, 3]]), 4)
    assert alpha[1] == 0 + np.log(3) and torch.isinf(alpha[2]) and alpha[3] == float("-inf")


@pytest.mark.parametrize("seed", [3, 4])
def test_viterbi_vs_enumeration(seed):
    s, arcs, n = problem(seed)
    score, path = L.viterbi(s, arcs, n)
    best = max(brute(s, arcs, n), key=lambda p: p[0])
    assert abs(score - best[0]) < 1e-10 and path == best[2]


@pytest.mark.parametrize("label", [(0, 2), (1, 2), (2, 2, 0), (0, 1, 2, 1)])
def test_constrained_vs_enumeration(label):
    s, arcs, n = problem(5)
    paths = [p[0] for p in brute(s, arcs, n) if p[1] == label]
    got = float(L.constrained_log_partition(s, arcs, n, label))
    assert abs(got - np.logaddexp.reduce(paths)) < 1e-10


def test_infeasible_label_gives_infinite_loss():
    s, arcs, n = problem(6, n_pieces=3)
    assert float(L.sequence_loss(s, arcs, n, (0, 1, 2, 0))) == float("inf")


@pytest.mark.parametrize("seed,label", [(7, (1, 0)), (8, (2,)), (9, (0, 0, 1))])
def test_hand_gradient_vs_autograd(seed, label):
    s, arcs, n = problem(seed)
    s = s.clone().requires_grad_(True)
    L.sequence_loss(s, arcs, n, label).backward()
    hand = L.arc_posteriors(s, arcs, n) - L.arc_posteriors(s, arcs, n, label)
    assert np.allclose(hand, s.grad.numpy(), atol=1e-10)


def test_posteriors_vs_enumeration():
    s, arcs, n = problem(10)
    paths = brute(s, arcs, n)
    w = np.exp(np.array([p[0] for p in paths]) - np.logaddexp.reduce([p[0] for p in paths]))
    ref = np.zeros(tuple(s.shape))
    for weight, (_, _, path) in zip(w, paths):
        for a, c in path:
            ref[a, c] += weight
    assert np.allclose(L.arc_posteriors(s, arcs, n), ref, atol=1e-12)


def test_top_paths_vs_enumeration():
    s, arcs, n = problem(11)
    ref = sorted((p[0] for p in brute(s, arcs, n)), reverse=True)[:6]
    got = [p[0] for p in L.top_paths(s, arcs, n, 6)]
    assert np.allclose(got, ref, atol=1e-10)


def test_margin_loss():
    s, arcs, n = problem(12)
    paths = brute(s, arcs, n)
    label = (1, 2)
    right = max(p[0] for p in paths if p[1] == label)
    wrong = max(p[0] for p in paths if p[1] != label)
    got = float(L.margin_loss(s, arcs, n, label, margin=1.0, k=200))
    assert abs(got - max(0.0, 1.0 + wrong - right)) < 1e-10


def test_bad_shapes():
    with pytest.raises(ValueError, match="arcs"):
        L.log_partition(torch.zeros(3, 2), np.array([[0, 1]]), 2)


@pytest.mark.parametrize("label", [(0, 2), (2, 2, 0), (3, 1)])
def test_constrained_viterbi_vs_enumeration(label):
    s, arcs, n = problem(13, n_pieces=5, C=4, max_span=3)
    spelling = [p for p in brute(s, arcs, n) if p[1] == label]
    score, path = L.constrained_viterbi(s, arcs, n, label)
    best = max(spelling, key=lambda p: p[0])
    assert abs(score - best[0]) < 1e-10 and path == best[2]
    assert tuple(c for _, c in path) == label


def test_constrained_viterbi_infeasible_and_empty():
    s, arcs, n = problem(14, n_pieces=2)
    assert L.constrained_viterbi(s, arcs, n, (0, 1, 2)) == (float("-inf"), [])
    with pytest.raises(ValueError, match="label"):
        L.constrained_viterbi(s, arcs, n, ())
