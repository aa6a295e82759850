"""Lecture 04: the outcomes the lecture states, re-run with the same package code and seeds.

The notebook itself is executed by nbval; these tests re-run each experiment the way the lecture
does (same generators, same seeds, same arguments) and check the numbers its text quotes, to the
digits it prints, plus the qualitative claim behind each number.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from seqcourse import multitarget as mt
from seqcourse.multitarget import ABC, MultiTargetNet, RecurrentDetector, a_followed_by_b, ab_targets, one_hot


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


# -- section 1: a network without feedback -------------------------------------------------------
def test_feedforward_network_cannot_detect_a_followed_by_b():
    _, xs, ys = a_followed_by_b(300, 10, np.random.default_rng(40))
    X, Y = xs.reshape(-1, 3), ys.reshape(-1, 1)
    net = MultiTargetNet([3, 4, 1], rng=np.random.default_rng(41))
    mt.train(net, X, [None, None, Y], lr=0.1, epochs=20, batch_size=30, rng=np.random.default_rng(42),
             progress=False)
    out = net.predict(np.eye(3)).ravel()
    share = Y.sum() / X[:, 1].sum()
    assert [f"{v:.3f}" for v in out] == ["0.011", "0.295", "0.010"]
    assert f"{share:.3f}" == "0.315" and int(Y.sum()) == 299
    assert not (net.predict(X) > 0.5).any()             # detects 0 of the 299 events
    # the reason: the output is a function of the current symbol only
    after_a = net.predict(one_hot(["AB"], ABC)[0])[1]
    after_c = net.predict(one_hot(["CB"], ABC)[0])[1]
    np.testing.assert_array_equal(after_a, after_c)


# -- sections 2 and 3: the derivations -----------------------------------------------------------
def test_explicit_and_implicit_dependence_add_up():
    x0 = 0.7
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    (total,) = torch.autograd.grad(x + torch.exp(x), x)
    assert f"{float(total):.6f}" == "3.013753" and f"{np.exp(x0):.4f}" == "2.0138"
    assert float(total) == pytest.approx(1 + np.exp(x0), abs=1e-12)


def test_all_fifteen_target_placements_match_autograd():
    gen = np.random.default_rng(3)
    net = MultiTargetNet([3, 6, 5, 4, 2], rng=gen)
    x = gen.normal(size=(6, 3))
    acts = net.forward(x)
    count = 0
    for k in range(1, 5):
        for layers in itertools.combinations(range(1, 5), k):
            targets = [gen.uniform(size=(6, n)) if l in layers else None for l, n in enumerate(net.sizes)]
            Wt = [torch.tensor(W, requires_grad=True) for W in net.weights]
            a, J = torch.tensor(x), torch.zeros((), dtype=torch.float64)
            for l, W in enumerate(Wt):
                a = torch.sigmoid(torch.cat([a, torch.ones(6, 1, dtype=torch.float64)], 1) @ W.T)
                if targets[l + 1] is not None:
                    J = J + 0.5 * ((a - torch.tensor(targets[l + 1])) ** 2).sum()
            ref = torch.autograd.grad(J, Wt, allow_unused=True, materialize_grads=True)
            for g, r in zip(net.backward(acts, targets), ref):
                np.testing.assert_allclose(g, r.numpy(), rtol=1e-10, atol=1e-12)
            count += 1
    assert count == 15


def test_targets_on_lower_layers_inject_error_where_it_is_needed():
    gen = np.random.default_rng(80)
    deep = MultiTargetNet([4, 8, 8, 8, 8, 8, 2], rng=gen)
    x = gen.normal(size=(16, 4))
    acts = deep.forward(x)
    y = [None] + [gen.uniform(size=(16, n)) for n in deep.sizes[1:]]

    def norms(layers):
        return np.array([np.linalg.norm(g) for g in
                         deep.backward(acts, [y[l] if l in layers else None for l in range(7)])])

    top, every = norms({6}), norms({1, 2, 3, 4, 5, 6})
    assert f"{top[0] / top[-1]:.1e}" == "1.8e-05"
    assert f"{every[0] / every[-1]:.2f}" == "1.41"
    assert f"{every[0] / top[0]:.1e}" == "7.9e+04"
    assert np.all(np.diff(top) > 0)                     # shrinks at every layer on the way down


# -- section 5: the unrolled network is BPTT -------------------------------------------------------
def test_unrolled_network_gradient_is_bptt_and_sum_of_copies():
    N, T, D, H = 4, 6, 3, 4
    torch.manual_seed(5)
    rnn = torch.nn.RNN(D, H, batch_first=True, nonlinearity="tanh").double()
    W = np.hstack([rnn.weight_ih_l0.detach().numpy(), rnn.weight_hh_l0.detach().numpy(),
                   (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()[:, None]])
    gen = np.random.default_rng(5)
    xs, ys = gen.normal(size=(N, T, D)), gen.uniform(-0.5, 0.5, size=(N, T, 2))
    ys[:, :2] = np.nan
    out, _ = rnn(torch.tensor(xs))
    mask = torch.tensor(~np.isnan(ys), dtype=torch.float64)
    J = 0.5 * (((out[:, :, :2] - torch.tensor(np.nan_to_num(ys))) * mask) ** 2).sum()
    J.backward()
    bptt = np.hstack([rnn.weight_ih_l0.grad.numpy(), rnn.weight_hh_l0.grad.numpy(),
                      rnn.bias_hh_l0.grad.numpy()[:, None]])
    states = mt.rnn_forward(W, xs, activation="tanh")
    np.testing.assert_allclose(mt.rnn_backward(W, xs, states, ys, "tanh"), bptt, rtol=1e-10, atol=1e-12)
    assert f"{float(J.detach()):.6f}" == f"{mt.rnn_loss(states, ys):.6f}" == "9.407572"
    copies = [torch.tensor(W, requires_grad=True) for _ in range(T)]
    h, Jc = torch.zeros(N, H, dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    for t in range(T):
        h = torch.tanh(torch.cat([torch.tensor(xs[:, t]), h, torch.ones(N, 1, dtype=torch.float64)], 1) @ copies[t].T)
        Jc = Jc + 0.5 * (((h[:, :2] - torch.tensor(np.nan_to_num(ys[:, t]))) * mask[:, t]) ** 2).sum()
    per_layer = [g.numpy() for g in torch.autograd.grad(Jc, copies)]
    np.testing.assert_allclose(sum(per_layer), bptt, rtol=1e-10, atol=1e-12)
    assert all(np.linalg.norm(g) > 0.1 for g in per_layer[:2])   # steps without a target still learn


# -- section 6: the recurrent detector ---------------------------------------------------------------
@pytest.fixture(scope="module")
def detector():
    _, xs, ys = a_followed_by_b(400, 10, np.random.default_rng(60))
    det = RecurrentDetector(3, 5, rng=np.random.default_rng(61))
    hist = det.fit(xs, ys, lr=2.0, epochs=40, batch_size=20, rng=np.random.default_rng(62), progress=False)
    return det, hist


def test_detector_training_cost(detector):
    _, hist = detector
    assert (f"{hist[0]:.4f}", f"{hist[-1]:.4f}") == ("0.4752", "0.0021")


def test_detector_is_right_at_every_step_of_new_and_longer_strings(detector):
    det, _ = detector
    _, xs, ys = a_followed_by_b(1000, 10, np.random.default_rng(70))
    _, xl, yl = a_followed_by_b(1000, 50, np.random.default_rng(71))
    out, outl = det.outputs(xs), det.outputs(xl)
    assert int(ys.sum()) == 980
    assert ((out > 0.5) == (ys == 1)).mean() == 1.0
    assert ((outl > 0.5) == (yl == 1)).mean() == 1.0
    assert f"{outl[yl == 1].min():.3f}" == "0.957" and f"{outl[yl == 0].max():.3f}" == "0.067"


def test_output_table_fires_exactly_at_each_b_after_an_a(detector):
    det, _ = detector
    for s in ["CABAB", "ABBCA", "BAACB", "CCABA", "AABBAB", "BBCCAC", "ACABCABAB"]:
        out = det.outputs(one_hot([s], ABC))[0]
        np.testing.assert_array_equal(out > 0.5, ab_targets(s) == 1, err_msg=s)
    out = det.outputs(one_hot(["CABAB"], ABC))[0]
    assert [f"{v:.4f}" for v in out] == ["0.0001", "0.0000", "0.9572", "0.0000", "0.9568"]


def test_a_free_unit_remembers_the_previous_a(detector):
    det, _ = detector
    ctx = {p: det.states(one_hot(["CCCC" + p], ABC))[0, -1] for p in ABC}
    memory = int(np.argmax(np.abs(ctx["A"] - (ctx["B"] + ctx["C"]) / 2)[1:]) + 1)
    assert memory == 3                                    # "unit 4" in the lecture's 1-based count
    assert ctx["A"][memory] > 0.9 > 0.3 > max(ctx["B"][memory], ctx["C"][memory])
