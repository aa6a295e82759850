"""seqcourse.gated against independent references: torch.nn.LSTM / GRU / LSTMCell / GRUCell
with autograd in float64, finite differences, and a hand-written textbook GRU in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcourse import gated
from seqcourse.rnn import grad_check

T, N, D, H = 5, 3, 4, 6          # every dimension different
TOL = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _problem(kind: str, seed: int):
    torch.manual_seed(seed)
    net = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(D, H).double()
    rng = np.random.default_rng(seed)
    x, h0, c0 = rng.normal(size=(T, N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dh, dc = rng.normal(size=(T, N, H)), rng.normal(size=(N, H))
    return net, x, h0, c0, dh, dc


def test_lstm_forward_and_every_gradient_match_torch():
    net, x, h0, c0, dh, dc = _problem("lstm", 0)
    params = gated.params_from_torch(net.state_dict())
    h, c, cache = gated.lstm_forward(x, h0, c0, params)
    xt = torch.tensor(x, requires_grad=True)
    h0t, c0t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    out, (hT, cT) = net(xt, (h0t[None], c0t[None]))
    np.testing.assert_allclose(h, out.detach().numpy(), **TOL)
    np.testing.assert_allclose(h[-1], hT[0].detach().numpy(), **TOL)
    np.testing.assert_allclose(c[-1], cT[0].detach().numpy(), **TOL)
    ((out * torch.tensor(dh)).sum() + (cT[0] * torch.tensor(dc)).sum()).backward()
    grads = gated.lstm_backward(dh, cache, dc_last=dc)
    assert set(grads) == set(gated.KEYS) | {"x", "h0", "c0"}
    for key in gated.KEYS:
        np.testing.assert_allclose(grads[key], getattr(net, key + "_l0").grad.numpy(), **TOL, err_msg=key)
    np.testing.assert_allclose(grads["x"], xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads["h0"], h0t.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads["c0"], c0t.grad.numpy(), **TOL)


def test_gru_forward_and_every_gradient_match_torch():
    net, x, h0, _, dh, _ = _problem("gru", 1)
    params = gated.params_from_torch(net)
    h, cache = gated.gru_forward(x, h0, params)
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out, hT = net(xt, h0t[None])
    np.testing.assert_allclose(h, out.detach().numpy(), **TOL)
    np.testing.assert_allclose(h[-1], hT[0].detach().numpy(), **TOL)
    (out * torch.tensor(dh)).sum().backward()
    grads = gated.gru_backward(dh, cache)
    assert set(grads) == set(gated.KEYS) | {"x", "h0"}
    for key in gated.KEYS:
        np.testing.assert_allclose(grads[key], getattr(net, key + "_l0").grad.numpy(), **TOL, err_msg=key)
    np.testing.assert_allclose(grads["x"], xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(grads["h0"], h0t.grad.numpy(), **TOL)


def test_lstm_step_matches_lstm_cell():
    torch.manual_seed(2)
    cell = torch.nn.LSTMCell(D, H).double()
    rng = np.random.default_rng(2)
    x, hp, cp, dh, dc = (rng.normal(size=s) for s in [(N, D), (N, H), (N, H), (N, H), (N, H)])
    h, c, cache = gated.lstm_step_forward(x, hp, cp, gated.params_from_torch(cell))
    t = [torch.tensor(a, requires_grad=True) for a in (x, hp, cp)]
    ht, ct = cell(t[0], (t[1], t[2]))
    np.testing.assert_allclose(h, ht.detach().numpy(), **TOL)
    np.testing.assert_allclose(c, ct.detach().numpy(), **TOL)
    ((ht * torch.tensor(dh)).sum() + (ct * torch.tensor(dc)).sum()).backward()
    g = gated.lstm_step_backward(dh, dc, cache)
    for key in gated.KEYS:
        np.testing.assert_allclose(g[key], getattr(cell, key).grad.numpy(), **TOL, err_msg=key)
    for key, tensor in zip(("x", "h_prev", "c_prev"), t):
        np.testing.assert_allclose(g[key], tensor.grad.numpy(), **TOL, err_msg=key)


def test_gru_step_matches_gru_cell():
    torch.manual_seed(3)
    cell = torch.nn.GRUCell(D, H).double()
    rng = np.random.default_rng(3)
    x, hp, dh = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    h, cache = gated.gru_step_forward(x, hp, gated.params_from_torch(cell))
    xt, hpt = torch.tensor(x, requires_grad=True), torch.tensor(hp, requires_grad=True)
    ht = cell(xt, hpt)
    np.testing.assert_allclose(h, ht.detach().numpy(), **TOL)
    (ht * torch.tensor(dh)).sum().backward()
    g = gated.gru_step_backward(dh, cache)
    for key in gated.KEYS:
        np.testing.assert_allclose(g[key], getattr(cell, key).grad.numpy(), **TOL, err_msg=key)
    np.testing.assert_allclose(g["x"], xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(g["h_prev"], hpt.grad.numpy(), **TOL)


def _textbook_gru_torch(x, h0, p):
    """The reset-before-product GRU written directly in torch (the independent reference)."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    x, h = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    inputs, outs = (x, h), []
    for s in range(x.shape[0]):
        ax = x[s] @ t["weight_ih"].T + t["bias_ih"]
        Wr, Wz, Wn = t["weight_hh"].split(H)
        br, bz, bn = t["bias_hh"].split(H)
        r = torch.sigmoid(ax[:, :H] + h @ Wr.T + br)
        z = torch.sigmoid(ax[:, H:2 * H] + h @ Wz.T + bz)
        n = torch.tanh(ax[:, 2 * H:] + (r * h) @ Wn.T + bn)
        h = (1 - z) * n + z * h
        outs.append(h)
    return torch.stack(outs), t, inputs


def test_textbook_gru_differs_from_torch_and_its_gradients_are_right():
    net, x, h0, _, dh, _ = _problem("gru", 4)
    p = gated.params_from_torch(net)
    h_torch, _ = gated.gru_forward(x, h0, p)
    h_book, cache = gated.gru_forward(x, h0, p, reset_after=False)
    assert np.abs(h_torch - h_book).max() > 1e-3            # a real numeric difference
    ref, t, (xt, h0t) = _textbook_gru_torch(x, h0, p)
    np.testing.assert_allclose(h_book, ref.detach().numpy(), **TOL)
    (ref * torch.tensor(dh)).sum().backward()
    g = gated.gru_backward(dh, cache)
    for key in gated.KEYS:
        np.testing.assert_allclose(g[key], t[key].grad.numpy(), **TOL, err_msg=key)
    np.testing.assert_allclose(g["x"], xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(g["h0"], h0t.grad.numpy(), **TOL)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradients_match_finite_differences(kind):
    rng = np.random.default_rng(5)
    p = gated.init_params(kind, D, H, rng)
    x, h0, c0, dh = rng.normal(size=(T, N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)), \
        rng.normal(size=(T, N, H))
    if kind == "lstm":
        def loss(q):
            return float(np.sum(dh * gated.lstm_forward(x, h0, c0, q)[0]))
        grads = gated.lstm_backward(dh, gated.lstm_forward(x, h0, c0, p)[2])
    else:
        def loss(q):
            return float(np.sum(dh * gated.gru_forward(x, h0, q)[0]))
        grads = gated.gru_backward(dh, gated.gru_forward(x, h0, p)[1])
    report = grad_check(loss, p, {k: grads[k] for k in gated.KEYS}, n_checks=12)
    assert max(report.values()) < 1e-6, report


def test_cell_path_carries_gradient_when_forget_gate_is_open():
    """With a forget gate near 1 and the other gates shut, dL/dc_0 ~ dL/dc_T: the additive path."""
    rng = np.random.default_rng(6)
    p = gated.init_params("lstm", D, H, rng)
    p["weight_ih"][:] = 0.0
    p["weight_hh"][:] = 0.0
    p["bias_ih"][:] = 0.0
    p["bias_hh"][:] = -10.0
    p["bias_hh"][H:2 * H] = 10.0                           # f = sigma(10) ~ 1
    x = rng.normal(size=(40, N, D))
    _, c, cache = gated.lstm_forward(x, np.zeros((N, H)), np.ones((N, H)), p)
    g = gated.lstm_backward(np.zeros((40, N, H)), cache, dc_last=np.ones((N, H)))
    assert np.all(g["c0"] > 0.99)
    np.testing.assert_allclose(c[-1], 1.0, atol=0.01)


def test_bad_shapes_and_dicts_raise_value_error_naming_the_expectation():
    rng = np.random.default_rng(7)
    p = gated.init_params("lstm", D, H, rng)
    with pytest.raises(ValueError, match=r"missing \['bias_hh'\]"):
        gated.lstm_forward(np.zeros((T, N, D)), np.zeros((N, H)), np.zeros((N, H)),
                           {k: v for k, v in p.items() if k != "bias_hh"})
    with pytest.raises(ValueError, match=r"x \(T, N, D\) with D=4.*got \(5, 3, 7\)"):
        gated.lstm_forward(np.zeros((T, N, 7)), np.zeros((N, H)), np.zeros((N, H)), p)
    with pytest.raises(ValueError, match=r"c0 \(N, H\) with N=3.*H=6.*got \(3, 2\)"):
        gated.lstm_forward(np.zeros((T, N, D)), np.zeros((N, H)), np.zeros((N, 2)), p)
    with pytest.raises(ValueError, match=r"\(3H, D\), gates r, z, n, got \(24, 4\)|weight_hh \(3H, H\)"):
        gated.gru_forward(np.zeros((T, N, D)), np.zeros((N, H)), p)   # an LSTM dict given to the GRU
    with pytest.raises(ValueError, match="at least one time step"):
        gated.gru_forward(np.zeros((0, N, D)), np.zeros((N, H)), gated.init_params("gru", D, H, rng))
    with pytest.raises(ValueError, match=r"one-layer.*weight_ih_l1"):
        gated.params_from_torch(torch.nn.LSTM(D, H, num_layers=2))
    with pytest.raises(ValueError, match="bias=False"):
        gated.params_from_torch(torch.nn.GRU(D, H, bias=False))
    with pytest.raises(ValueError, match="kind must be"):
        gated.init_params("rnn", D, H, rng)


def test_inputs_are_not_changed():
    rng = np.random.default_rng(8)
    p = gated.init_params("gru", D, H, rng)
    x, h0, dh = rng.normal(size=(T, N, D)), rng.normal(size=(N, H)), rng.normal(size=(T, N, H))
    before = [a.copy() for a in (x, h0, dh)] + [v.copy() for v in p.values()]
    gated.gru_backward(dh, gated.gru_forward(x, h0, p)[1])
    for a, b in zip([x, h0, dh, *p.values()], before):
        np.testing.assert_array_equal(a, b)
