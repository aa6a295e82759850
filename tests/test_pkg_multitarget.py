"""seqcourse.multitarget against torch autograd (float64), torch.nn.RNN and finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from seqcourse import multitarget as mt

TORCH_ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}


def _torch_cost_and_grads(weights, x, targets, activation, bias=True):
    """Reference: J of a layered network built from scratch in torch, and dJ/dW by autograd."""
    Ws = [torch.tensor(W, requires_grad=True) for W in weights]
    a = torch.tensor(x)
    J = torch.zeros((), dtype=torch.float64)
    for l, W in enumerate(Ws):
        inp = torch.cat([a, torch.ones(len(a), 1, dtype=torch.float64)], 1) if bias else a
        a = TORCH_ACT[activation](inp @ W.T)
        y = targets[l + 1]
        if y is not None:
            mask = torch.tensor(~np.isnan(y), dtype=torch.float64)
            J = J + 0.5 * (((a - torch.tensor(np.nan_to_num(y))) * mask) ** 2).sum()
    grads = torch.autograd.grad(J, Ws, allow_unused=True, materialize_grads=True)
    return float(J.detach()), [g.numpy() for g in grads]


def _random_targets(sizes, N, rng, layers):
    return [None if l not in layers else rng.normal(0.3, 0.5, size=(N, n)) for l, n in enumerate(sizes)]


# -- forward ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", mt.ACTIVATIONS)
def test_forward_matches_torch_linear_layers(activation):
    rng = np.random.default_rng(1)
    net = mt.MultiTargetNet([4, 6, 3, 5], activation=activation, rng=rng)
    x = rng.normal(size=(7, 4))
    acts = net.forward(x)
    assert [a.shape for a in acts] == [(7, 4), (7, 6), (7, 3), (7, 5)]
    a = torch.tensor(x)
    for l, W in enumerate(net.weights):
        lin = torch.nn.Linear(W.shape[1] - 1, W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W[:, :-1]))
            lin.bias.copy_(torch.tensor(W[:, -1]))
        a = TORCH_ACT[activation](lin(a))
        np.testing.assert_allclose(acts[l + 1], a.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(acts[0], x)


def test_weight_shapes_and_initialisation_are_seeded():
    a = mt.MultiTargetNet([3, 5, 2], rng=np.random.default_rng(4))
    b = mt.MultiTargetNet([3, 5, 2], rng=np.random.default_rng(4))
    c = mt.MultiTargetNet([3, 5, 2], bias=False, rng=np.random.default_rng(4))
    assert [W.shape for W in a.weights] == [(5, 4), (2, 6)]
    assert [W.shape for W in c.weights] == [(5, 3), (2, 5)]
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights))
    assert all(np.abs(W).max() <= 1 / np.sqrt(W.shape[1]) for W in a.weights)


# -- backward against autograd ----------------------------------------------------------------------
@pytest.mark.parametrize("activation", mt.ACTIVATIONS)
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_autograd_for_every_target_placement(activation, bias):
    sizes = [3, 5, 4, 6, 2]
    rng = np.random.default_rng(7)
    net = mt.MultiTargetNet(sizes, activation=activation, bias=bias, rng=rng)
    x = rng.normal(size=(8, 3))
    acts = net.forward(x)
    checked = 0
    for k in range(1, len(sizes)):
        for layers in itertools.combinations(range(1, len(sizes)), k):
            targets = _random_targets(sizes, 8, rng, set(layers))
            J, expected = _torch_cost_and_grads(net.weights, x, targets, activation, bias)
            grads = net.backward(acts, targets)
            assert net.loss(acts, targets) == pytest.approx(J, rel=1e-12)
            for l, (g, e) in enumerate(zip(grads, expected)):
                np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12, err_msg=f"layer {l}, targets {layers}")
            checked += 1
    assert checked == 15                      # every non-empty subset of the 4 layers above the input


def test_gradients_with_per_unit_targets_match_autograd():
    sizes = [4, 7, 5, 3]
    rng = np.random.default_rng(8)
    net = mt.MultiTargetNet(sizes, activation="tanh", rng=rng)
    x = rng.normal(size=(6, 4))
    targets = _random_targets(sizes, 6, rng, {1, 2, 3})
    targets[1][:, 3:] = np.nan                # only the first 3 units of layer 1 are supervised
    targets[2][::2] = np.nan                  # half the examples have no target at layer 2
    J, expected = _torch_cost_and_grads(net.weights, x, targets, "tanh")
    acts = net.forward(x)
    assert net.loss(acts, targets) == pytest.approx(J, rel=1e-12)
    for g, e in zip(net.backward(acts, targets), expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_gradients_match_central_finite_differences():
    sizes = [2, 3, 4, 3]
    rng = np.random.default_rng(9)
    net = mt.MultiTargetNet(sizes, activation="sigmoid", rng=rng)
    x = rng.normal(size=(5, 2))
    targets = _random_targets(sizes, 5, rng, {1, 3})
    grads = net.backward(net.forward(x), targets)
    eps = 1e-6
    for l, W in enumerate(net.weights):
        numeric = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            old = W[idx]
            W[idx] = old + eps
            up = net.loss(net.forward(x), targets)
            W[idx] = old - eps
            down = net.loss(net.forward(x), targets)
            W[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[l], numeric, rtol=1e-6, atol=1e-9)


def test_only_a_last_layer_target_is_ordinary_backprop():
    """With a single target at the last layer the recursion is the usual one: compare with
    torch's MSE (sum) on an nn.Sequential."""
    rng = np.random.default_rng(10)
    net = mt.MultiTargetNet([3, 4, 2], activation="sigmoid", rng=rng)
    x, y = rng.normal(size=(9, 3)), rng.uniform(size=(9, 2))
    seq = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 2),
                              torch.nn.Sigmoid()).double()
    with torch.no_grad():
        for lin, W in zip([seq[0], seq[2]], net.weights):
            lin.weight.copy_(torch.tensor(W[:, :-1]))
            lin.bias.copy_(torch.tensor(W[:, -1]))
    (0.5 * torch.nn.functional.mse_loss(seq(torch.tensor(x)), torch.tensor(y), reduction="sum")).backward()
    grads = net.backward(net.forward(x), [None, None, y])
    for g, lin in zip(grads, [seq[0], seq[2]]):
        np.testing.assert_allclose(g[:, :-1], lin.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(g[:, -1], lin.bias.grad.numpy(), rtol=1e-10)


def test_bc_is_one_step_of_the_recursion():
    rng = np.random.default_rng(11)
    a = rng.uniform(0.1, 0.9, size=(4, 3))          # sigmoid outputs of layer l
    W = rng.normal(size=(5, 4))                     # maps 3 units + bias to 5
    delta_next, y = rng.normal(size=(4, 5)), rng.uniform(size=(4, 3))
    by_hand = np.array([[a[n, i] * (1 - a[n, i]) * ((a[n, i] - y[n, i]) + sum(delta_next[n, j] * W[j, i]
                         for j in range(5))) for i in range(3)] for n in range(4)])
    np.testing.assert_allclose(mt.bc(W, delta_next, a, y), by_hand, rtol=1e-12)
    no_target = mt.bc(W, delta_next, a, None)
    np.testing.assert_allclose(no_target, a * (1 - a) * (delta_next @ W[:, :3]), rtol=1e-12)
    np.testing.assert_allclose(mt.weight_gradient(delta_next, a), delta_next.T @ np.c_[a, np.ones(4)])


# -- training --------------------------------------------------------------------------------------
def test_train_decreases_the_cost_and_is_seeded():
    x, y, _ = mt.completion_data("train")
    runs = []
    for _ in range(2):
        net = mt.MultiTargetNet([10, 8, 12], rng=np.random.default_rng(3))
        runs.append(mt.train(net, x, [None, None, y.reshape(20, 12)], lr=0.5, epochs=300, batch_size=5,
                             rng=np.random.default_rng(4), progress=False))
    assert runs[0] == runs[1]
    assert runs[0][-1] < 0.2 * runs[0][0]


def test_one_full_batch_step_is_steepest_descent():
    rng = np.random.default_rng(12)
    net = mt.MultiTargetNet([3, 4, 2], rng=rng)
    x = rng.normal(size=(5, 3))
    targets = [None, rng.uniform(size=(5, 4)), rng.uniform(size=(5, 2))]
    before = [W.copy() for W in net.weights]
    grads = net.backward(net.forward(x), targets)
    mt.train(net, x, targets, lr=0.1, epochs=1, progress=False)
    for W, W0, g in zip(net.weights, before, grads):
        np.testing.assert_allclose(W, W0 - 0.1 * g, rtol=1e-12)


# -- the unrolled recurrent network -------------------------------------------------------------------
def _torch_rnn(D, H, seed):
    torch.manual_seed(seed)
    rnn = torch.nn.RNN(D, H, batch_first=True, nonlinearity="tanh").double()
    W = np.hstack([rnn.weight_ih_l0.detach().numpy(), rnn.weight_hh_l0.detach().numpy(),
                   (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()[:, None]])
    return rnn, W


def test_rnn_forward_matches_torch_rnn():
    N, T, D, H = 3, 6, 2, 5
    rnn, W = _torch_rnn(D, H, 0)
    xs = np.random.default_rng(13).normal(size=(N, T, D))
    h0 = np.random.default_rng(14).normal(size=(N, H)) * 0.5
    out, _ = rnn(torch.tensor(xs), torch.tensor(h0)[None])
    states = mt.rnn_forward(W, xs, h0, activation="tanh")
    assert states.shape == (N, T + 1, H)
    np.testing.assert_allclose(states[:, 1:], out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(states[:, 0], h0)


@pytest.mark.parametrize("K", [1, 2, 4])
def test_unrolled_rnn_gradient_is_bptt(K):
    """The shared-weight multi-target recursion equals autograd through torch.nn.RNN (BPTT)."""
    N, T, D, H = 4, 7, 3, 4
    rnn, W = _torch_rnn(D, H, K)
    rng = np.random.default_rng(15 + K)
    xs, ys = rng.normal(size=(N, T, D)), rng.uniform(-0.8, 0.8, size=(N, T, K))
    ys[rng.uniform(size=ys.shape) < 0.3] = np.nan        # some steps have no target
    out, _ = rnn(torch.tensor(xs))
    mask = torch.tensor(~np.isnan(ys), dtype=torch.float64)
    J = 0.5 * (((out[:, :, :K] - torch.tensor(np.nan_to_num(ys))) * mask) ** 2).sum()
    J.backward()
    states = mt.rnn_forward(W, xs, activation="tanh")
    assert mt.rnn_loss(states, ys) == pytest.approx(float(J.detach()), rel=1e-12)
    grad = mt.rnn_backward(W, xs, states, ys, activation="tanh")
    np.testing.assert_allclose(grad[:, :D], rnn.weight_ih_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad[:, D:D + H], rnn.weight_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad[:, -1], rnn.bias_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rnn.bias_ih_l0.grad.numpy(), rnn.bias_hh_l0.grad.numpy(), rtol=1e-12)


def test_rnn_gradient_matches_finite_differences_with_sigmoid():
    N, T, D, H = 2, 4, 3, 3
    rng = np.random.default_rng(16)
    W = rng.normal(size=(H, D + H + 1))
    xs, ys = rng.normal(size=(N, T, D)), rng.uniform(size=(N, T, 1))
    grad = mt.rnn_backward(W, xs, mt.rnn_forward(W, xs), ys)
    eps, numeric = 1e-6, np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        numeric[idx] = (mt.rnn_loss(mt.rnn_forward(Wp, xs), ys) - mt.rnn_loss(mt.rnn_forward(Wm, xs), ys)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_detector_learns_a_followed_by_b():
    _, xs, ys = mt.a_followed_by_b(300, 10, np.random.default_rng(0))
    det = mt.RecurrentDetector(3, 4, rng=np.random.default_rng(10))
    hist = det.fit(xs, ys, lr=2.0, epochs=40, batch_size=20, rng=np.random.default_rng(1), progress=False)
    assert hist[-1] < 0.05 * hist[0]
    _, xt, yt = mt.a_followed_by_b(500, 12, np.random.default_rng(99))
    assert np.all((det.outputs(xt) > 0.5) == (yt > 0.5))


# -- data ------------------------------------------------------------------------------------------
def test_a_followed_by_b_targets():
    assert mt.ab_targets("ABCAB").tolist() == [0, 1, 0, 0, 1]
    assert mt.ab_targets("BAABB").tolist() == [0, 0, 0, 1, 0]
    assert mt.ab_targets("B").tolist() == [0]
    strings, xs, ys = mt.a_followed_by_b(200, 8, np.random.default_rng(2))
    assert xs.shape == (200, 8, 3) and ys.shape == (200, 8)
    assert all("".join("ABC"[k] for k in row.argmax(1)) == s for row, s in zip(xs, strings))
    assert ys.sum() == sum(s.count("AB") for s in strings)
    again, _, _ = mt.a_followed_by_b(200, 8, np.random.default_rng(2))
    assert again == strings
    assert set("".join(strings)) == set("ABC")


def test_completion_data_is_the_decks_and_follows_the_rule():
    assert len(mt.COMPLETION_TRAIN) == 20 and len(mt.COMPLETION_TEST) == 5
    assert not set(s[:2] for s in mt.COMPLETION_TRAIN) & set(s[:2] for s in mt.COMPLETION_TEST)
    rule = mt.completion_rule()
    assert rule == {"A": "12", "B": "23", "C": "31", "D": "21", "E": "13"}
    for item in mt.COMPLETION_TRAIN + mt.COMPLETION_TEST:
        assert item[2:] == rule[item[0]] + rule[item[1]], item
    x, y, items = mt.completion_data("test")
    assert x.shape == (5, 10) and y.shape == (5, 4, 3) and items == list(mt.COMPLETION_TEST)
    assert x[0].tolist() == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0]                  # "AB"
    assert ("".join("123"[k] for k in y[0].argmax(1))) == "1223"


# -- friendly errors ------------------------------------------------------------------------------------
def test_errors_name_what_was_expected():
    net = mt.MultiTargetNet([3, 4, 2])
    x = np.zeros((5, 3))
    acts = net.forward(x)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\), got \(5, 2\)"):
        net.forward(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"targets must hold 3 entries .* got 2"):
        net.backward(acts, [None, np.zeros((5, 2))])
    with pytest.raises(ValueError, match=r"targets\[0\] must be None"):
        net.backward(acts, [x, None, None])
    with pytest.raises(ValueError, match=r"targets\[2\] must be None or have shape \(5, 2\), got \(5, 3\)"):
        net.backward(acts, [None, None, np.zeros((5, 3))])
    with pytest.raises(ValueError, match=r"activation must be one of .* got 'softsign'"):
        mt.MultiTargetNet([3, 2], activation="softsign")
    with pytest.raises(ValueError, match=r"sizes must list at least 2 positive integers"):
        mt.MultiTargetNet([3])
    with pytest.raises(ValueError, match=r"W must have shape \(2, 5\) to map 4 units plus the bias unit"):
        mt.bc(np.zeros((2, 4)), np.zeros((5, 2)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"W must have shape \(4, 8\) = \(H, D \+ H \+ 1\)"):
        mt.rnn_forward(np.zeros((4, 7)), np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"symbol 'D' of 'ABD' is not in the alphabet"):
        mt.one_hot(["ABD"], "ABC")
    with pytest.raises(ValueError, match=r"split must be 'train' or 'test', got 'dev'"):
        mt.completion_data("dev")
