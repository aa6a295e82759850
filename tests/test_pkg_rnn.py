"""seqcourse.rnn against independent references: torch.nn.RNN / RNNCell / Linear with
autograd in float64, torch.nn.utils.clip_grad_norm_, and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcourse import rnn

T, N, D, H, V = 5, 3, 4, 6, 7          # every dimension different


@pytest.fixture(autouse=True)
def float64_one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _torch_rnn(seed: int):
    torch.manual_seed(seed)
    net = torch.nn.RNN(D, H, nonlinearity="tanh").double()
    head = torch.nn.Linear(H, V).double()
    return net, head


def test_forward_matches_torch_rnn():
    net, _ = _torch_rnn(0)
    rng = np.random.default_rng(0)
    x, h0 = rng.normal(size=(T, N, D)), rng.normal(size=(N, H))
    h, _ = rnn.rnn_forward(x, h0, rnn.params_from_torch(net))
    ref, last = net(torch.tensor(x), torch.tensor(h0)[None])
    np.testing.assert_allclose(h, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h[-1], last[0].detach().numpy(), rtol=1e-12, atol=1e-12)


def test_backward_matches_autograd_for_every_gradient():
    net, _ = _torch_rnn(1)
    rng = np.random.default_rng(1)
    x, h0, dh = rng.normal(size=(T, N, D)), rng.normal(size=(N, H)), rng.normal(size=(T, N, H))
    h, cache = rnn.rnn_forward(x, h0, rnn.params_from_torch(net))
    grads = rnn.rnn_backward(dh, cache)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)[None]
    h0t.retain_grad()
    out, _ = net(xt, h0t)
    (out * torch.tensor(dh)).sum().backward()
    for key in rnn.RNN_KEYS:
        np.testing.assert_allclose(grads[key], getattr(net, key + "_l0").grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=key)
    np.testing.assert_allclose(grads["x"], xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["h0"], h0t.grad[0].numpy(), rtol=1e-10, atol=1e-12)
    assert set(grads) == set(rnn.RNN_KEYS) | {"x", "h0"}


def test_step_matches_rnn_cell_and_autograd():
    torch.manual_seed(2)
    cell = torch.nn.RNNCell(D, H).double()
    params = {k: getattr(cell, k).detach().numpy() for k in rnn.RNN_KEYS}
    rng = np.random.default_rng(2)
    x, hp, dh = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    h, cache = rnn.rnn_step_forward(x, hp, params)
    xt, hpt = torch.tensor(x, requires_grad=True), torch.tensor(hp, requires_grad=True)
    out = cell(xt, hpt)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    (out * torch.tensor(dh)).sum().backward()
    g = rnn.rnn_step_backward(dh, cache)
    for key in rnn.RNN_KEYS:
        np.testing.assert_allclose(g[key], getattr(cell, key).grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["x"], xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g["h_prev"], hpt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sequence_loss_matches_torch_cross_entropy_and_its_gradients():
    net, head = _torch_rnn(3)
    rng = np.random.default_rng(3)
    x, h0 = rng.normal(size=(T, N, D)), rng.normal(size=(N, H))
    y = rng.integers(0, V, size=(T, N))
    loss, grads, _ = rnn.sequence_loss(rnn.params_from_torch(net, head), x, y, h0)
    out, _ = net(torch.tensor(x), torch.tensor(h0)[None])
    ref = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), torch.tensor(y).reshape(-1), reduction="sum")
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grads["weight_hz"], head.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["bias_z"], head.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    for key in rnn.RNN_KEYS:
        np.testing.assert_allclose(grads[key], getattr(net, key + "_l0").grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gradients_match_finite_differences_via_grad_check():
    rng = np.random.default_rng(4)
    params = rnn.init_params(D, H, rng, output_size=V)
    x, y = rng.normal(size=(T, N, D)), rng.integers(0, V, size=(T, N))
    h0 = rng.normal(size=(N, H))
    loss, grads, _ = rnn.sequence_loss(params, x, y, h0)
    report = rnn.grad_check(lambda p: rnn.sequence_loss(p, x, y, h0)[0], params, grads)
    assert set(report) == set(params)
    assert max(report.values()) < 1e-6, report
    # a wrong gradient is caught: the check is not vacuous
    bad = dict(grads, weight_hh=grads["weight_hh"] * 1.01)
    report = rnn.grad_check(lambda p: rnn.sequence_loss(p, x, y, h0)[0], params, bad, n_checks=10,
                            rng=np.random.default_rng(0))
    assert report["weight_hh"] > 1e-3 and report["weight_ih"] < 1e-6


def test_softmax_cross_entropy_is_stable_and_its_gradient_is_p_minus_onehot():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    loss, d = rnn.softmax_cross_entropy(logits, np.array([0, 2]))
    assert loss == pytest.approx(np.log(3.0), rel=1e-12)
    np.testing.assert_allclose(d, [[0, 0, 0], [1 / 3, 1 / 3, -2 / 3]], atol=1e-12)
    np.testing.assert_allclose(d.sum(axis=-1), 0.0, atol=1e-12)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(5)
    grads = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    tensors = [torch.nn.Parameter(torch.zeros(3, 4, dtype=torch.float64)),
               torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))]
    for p, g in zip(tensors, grads.values()):
        p.grad = torch.tensor(g)
    ref_norm = torch.nn.utils.clip_grad_norm_(tensors, 1.5)
    clipped, norm = rnn.clip_grad_norm(grads, 1.5)
    assert norm == pytest.approx(float(ref_norm), rel=1e-12)
    for p, key in zip(tensors, grads):
        np.testing.assert_allclose(clipped[key], p.grad.numpy(), rtol=1e-9)
    same, _ = rnn.clip_grad_norm(grads, 100.0)
    np.testing.assert_allclose(same["a"], grads["a"], rtol=1e-6)
    assert clipped["a"] is not grads["a"]


def test_state_jacobian_norms_match_autograd_jacobians():
    net, _ = _torch_rnn(6)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(T, 1, D))
    params = rnn.params_from_torch(net)
    h, _ = rnn.rnn_forward(x, np.zeros((1, H)), params)
    norms = rnn.state_jacobian_norms(h[:, 0], params["weight_hh"])
    assert norms.shape == (T,) and norms[0] == 1.0
    # independent: differentiate h_{T-1} with respect to h_{T-1-k} by re-running from that state
    for k in range(1, T):
        start = T - 1 - k
        hs = torch.tensor(h[start, 0])

        def tail(state):
            out, _ = net(torch.tensor(x[start + 1:]), state[None, None])
            return out[-1, 0]

        jac = torch.autograd.functional.jacobian(tail, hs).numpy()
        assert norms[k] == pytest.approx(np.linalg.norm(jac, 2), rel=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda p: rnn.rnn_forward(np.zeros((T, N, D + 1)), np.zeros((N, H)), p), "x (T, N, D)"),
    (lambda p: rnn.rnn_forward(np.zeros((N, D)), np.zeros((N, H)), p), "3 dimension"),
    (lambda p: rnn.rnn_forward(np.zeros((T, N, D)), np.zeros((N + 1, H)), p), "h0 (N, H)"),
    (lambda p: rnn.rnn_step_forward(np.zeros((N, D)), np.zeros((N, H + 1)), p), "h_prev"),
    (lambda p: rnn.rnn_forward(np.zeros((T, N, D)), np.zeros((N, H)), dict(p, weight_hh=np.zeros((H, D)))),
     "weight_hh (H, H)"),
    (lambda p: rnn.softmax_cross_entropy(np.zeros((T, V)), np.zeros(T + 1, dtype=int)), "targets"),
    (lambda p: rnn.output_forward(np.zeros((T, H + 1)), np.zeros((V, H)), np.zeros(V)), "H="),
])
def test_shape_errors_name_the_expected_shapes(call, message):
    params = rnn.init_params(D, H, np.random.default_rng(0))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(params)
