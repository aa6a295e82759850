"""Lecture 03: the outcomes the lecture states, re-run with the same code and seeds.

The notebook itself is executed by nbval. These tests take the lecture's own experiment
functions out of the notebook (their definitions only, via `ast`, so nothing else runs),
re-run each experiment with the seeds the lecture uses, and check the numbers its text
quotes, to the digits it prints, plus the claim behind each number. Where a check can be made
independently (BPTT against autograd on fresh shapes), it is.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqcourse import charlm, rnn

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "lectures" / "03_rnn_bptt.ipynb"


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def lecture(*names: str) -> dict:
    """A namespace holding the lecture's definitions (functions, classes, assignments) of ``names``."""
    ns: dict = {"np": np, "torch": torch, "F": F, "math": math, "rnn": rnn, "charlm": charlm,
                "tqdm": lambda it, **kw: it}
    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                name = node.name
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
            else:
                continue
            if name in names:
                exec(compile(ast.Module(body=[node], type_ignores=[]), str(NOTEBOOK), "exec"), ns)
                found.add(name)
    missing = set(names) - found
    assert not missing, f"the lecture no longer defines {missing}"
    return ns


# -- section 1 ---------------------------------------------------------------------------------
def test_windows_fall_short_where_a_one_unit_rnn_is_exact():
    ns = lecture("best_window_accuracy", "or_rnn")
    gen = np.random.default_rng(301)
    ns["bits"] = bits = (gen.random((2000, 30)) < 0.04).astype(int)
    ns["target"] = target = np.maximum.accumulate(bits, axis=1)
    acc = {k: round(float(ns["best_window_accuracy"](k)), 3) for k in (1, 3, 5)}
    assert acc == {1: 0.594, 3: 0.642, 5: 0.687}
    assert all(np.array_equal(ns["or_rnn"](s), t.astype(bool)) for s, t in zip(bits, target))


# -- section 3 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("T,N,D,H,V", [(1, 2, 3, 4, 5), (7, 1, 2, 3, 6)])
def test_bptt_typed_from_the_equations_matches_autograd(T, N, D, H, V):
    ns = lecture("bptt_by_the_equations")
    torch.manual_seed(T)
    net, head = torch.nn.RNN(D, H).double(), torch.nn.Linear(H, V).double()
    gen = np.random.default_rng(T)
    x, h0, y = gen.normal(size=(T, N, D)), gen.normal(size=(N, H)), gen.integers(0, V, size=(T, N))
    loss, g = ns["bptt_by_the_equations"](rnn.params_from_torch(net, head), x, y, h0)
    out, _ = net(torch.tensor(x), torch.tensor(h0)[None])
    ref = F.cross_entropy(head(out).reshape(-1, V), torch.tensor(y).reshape(-1), reduction="sum")
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(g["weight_hh"], net.weight_hh_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g["weight_ih"], net.weight_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g["bias_ih"], net.bias_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g["weight_hz"], head.weight.grad.numpy(), rtol=1e-9, atol=1e-12)


# -- section 4 ---------------------------------------------------------------------------------
def test_hello_is_learned_by_gradient_descent():
    chars = ["h", "e", "l", "o"]
    idx = {c: i for i, c in enumerate(chars)}
    eye = np.eye(4)
    p = rnn.init_params(4, 3, np.random.default_rng(303), output_size=4)
    p["bias_hh"][:] = 0
    x = eye[[idx[c] for c in "hell"]][:, None]
    y = np.array([idx[c] for c in "ello"])[:, None]
    losses = []
    for _ in range(300):
        loss, g, _ = rnn.sequence_loss(p, x, y)
        losses.append(loss)
        for k in p:
            p[k] -= 0.2 * g[k]
    assert (round(losses[0], 3), round(losses[-1], 4)) == (6.821, 0.0201)
    ns = lecture("greedy")
    ns.update(eye=eye, idx=idx, chars=chars)
    assert ns["greedy"](p, "h", 4) == "hello"


@pytest.mark.slow
def test_char_model_beats_the_stated_bound_and_temperature_orders_the_samples():
    text = charlm.stdlib_corpus(200_000)
    vocab = charlm.Vocab.from_text(text)
    ids = vocab.encode(text)
    split = int(0.9 * len(ids))
    torch.manual_seed(304)
    lm = charlm.CharRNN(len(vocab), 128)
    charlm.train_charlm(lm, ids[:split], steps=400, seq_len=32, batch_size=32, lr=1e-2, clip=1.0, progress=False)
    valid = charlm.evaluate(lm, ids[split:])
    assert valid < 2.3 < math.log(len(vocab)) - 2, f"validation loss {valid:.3f} nats/char"
    words = set(text.split())
    shares = []
    for tau in (0.5, 1.0, 1.5):
        s = charlm.sample(lm, vocab, "Return the ", 400, temperature=tau, generator=torch.Generator().manual_seed(305))
        shares.append(sum(w in words for w in s.split()) / max(len(s.split()), 1))
    assert shares[0] > shares[1] > shares[2]


# -- section 5 ---------------------------------------------------------------------------------
def test_a_single_output_at_the_end_classifies_the_majority():
    ns = lecture("train_last_output")
    assert ns["train_last_output"]() > 0.95


def test_the_end_symbol_stops_every_sample_and_conditioning_picks_the_name():
    ns = lecture("names", "name_chars", "nidx", "name_batch", "NameRNN", "train_names", "generate")
    model = ns["train_names"]("none")
    g = torch.Generator().manual_seed(308)
    drawn = [ns["generate"](model, gen=g) for _ in range(200)]
    assert all(stopped for _, stopped in drawn)
    assert {len(w) for w, _ in drawn} <= {3, 4, 5}
    names = ns["names"]
    for cond in ("input", "init", "both"):
        model = ns["train_names"](cond)
        got = [ns["generate"](model, torch.eye(len(names))[j][None, None])[0] for j in range(len(names))]
        assert got == names, cond
    # the length model generates exactly the requested number of characters
    out, _ = ns["generate"](ns["train_names"]("none"), gen=torch.Generator().manual_seed(1), length=4)
    assert len(out) == 4


# -- sections 6 and 7 --------------------------------------------------------------------------
def test_jacobian_norms_vanish_below_and_explode_above_spectral_radius_one():
    ns = lecture("scaled_whh", "jacobian_curve")
    curve = ns["jacobian_curve"]
    assert curve(0.5)[30] < 1e-6 and curve(0.9)[30] < 1e-2
    assert curve(1.5, linear=True)[30] > 1e3
    assert curve(1.5)[59] < curve(1.5, linear=True)[59]
    # the linear network follows rho^k up to a constant: its growth rate per step is rho
    lin = curve(1.5, linear=True)
    assert (lin[59] / lin[29]) ** (1 / 30) == pytest.approx(1.5, rel=0.05)


@pytest.mark.slow
def test_clipping_rescues_an_exploding_run():
    ns = lecture("echo_batch", "clip_run")
    wild, _ = ns["clip_run"](None)
    tame, norms = ns["clip_run"](1.0)
    assert wild[-20:].mean() > 1.0 and tame[-20:].mean() < 0.01
    assert norms.max() < 10


@pytest.mark.slow
def test_truncation_shorter_than_the_delay_fails_to_learn_the_echo():
    ns = lecture("echo_batch", "train_echo")
    short, long = ns["train_echo"](2), ns["train_echo"](8)
    assert round(short, 3) == 0.738 and long > 0.98


def test_delays_and_leaky_units_keep_gradients_alive():
    ns = lecture("path_norms")
    norms = {kind: ns["path_norms"](kind) for kind in ("vanilla", "delay", "leaky")}
    assert norms["vanilla"][60] < 1e-8
    assert norms["delay"][60] > 100 * norms["vanilla"][60]
    assert norms["leaky"][60] > 100 * norms["vanilla"][60]
    # with tau = 10 the leaky network loses less than two orders of magnitude over 60 steps
    assert norms["leaky"][0] == pytest.approx(1.0) and norms["leaky"][60] > 1e-2
