"""Lecture 03: the outcomes the lecture states, read from what the lecture printed.

The notebook is executed once per test run and flavour (``tests/notebook_runs.py``: "native" and
"portable", torch's generic kernels and MKL limited to SSE4.2, as on another processor). Its
training runs are float32 torch, whose digits differ between processors, so the text states
their outcomes as bounds and orderings, and these tests check exactly those under both flavours.
A few cheap checks take the lecture's own function definitions out of the notebook (via `ast`,
so nothing else runs) and test them in-process: BPTT against autograd on fresh shapes, the
window bound, the Jacobian curves.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from notebook_runs import FLAVOURS, markdown, probe_text, stated, cell_text, executed, number
from seqcourse import charlm, rnn

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "lectures" / "03_rnn_bptt.ipynb"


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


@pytest.fixture(scope="module", params=FLAVOURS)
def lecture(request):
    return executed(NOTEBOOK, request.param)


@pytest.fixture(scope="module")
def text() -> str:
    return markdown(NOTEBOOK)


def definitions(*names: str) -> dict:
    """A namespace holding the lecture's definitions (functions, classes, assignments) of ``names``."""
    ns: dict = {"np": np, "torch": torch, "F": F, "math": math, "rnn": rnn, "charlm": charlm,
                "tqdm": lambda it, **kw: it, "DEVICE": torch.device("cpu")}
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

# -- claims, read from the executed lecture -------------------------------------------------------
def test_window_accuracies_are_stated(lecture, text):
    out = cell_text(lecture, "def best_window_accuracy(")
    assert "{1: 0.594, 3: 0.642, 5: 0.687}" in out and "RNN accuracy: 1.000" in out
    assert "59% to 69%" in text and "best 5-bit window got 69%" in text


def test_hello_is_learned_by_gradient_descent(lecture, text):
    out = cell_text(lecture, "hello_losses = []")
    start, end = re.search(r"start ([\d.]+) .*after 300 steps ([\d.]+)", out).groups()
    assert (start, end) == ("6.821", "0.0201") and "greedy generation from 'h': hello" in out
    assert "falls from 6.8" in text and "to 0.02 in 300 steps" in text


def test_char_model_beats_the_stated_bound_and_temperature_orders_the_samples(lecture, text):
    out = cell_text(lecture, "lm = charlm.CharRNN(")
    valid = number(out, r"trained ([\d.]+) nats/char")
    log_v = number(out, r"log\|V\| = ([\d.]+)")
    assert 2.0 < valid < 2.3 < log_v - 2, "the text says: below 2.3, about 2.1"
    assert round(valid, 1) == 2.1
    assert "below 2.3 nats per character" in text and "about 2.1" in text
    shares = [float(v) for v in re.findall(r"temperature [\d.]+: (\d+)% of the words",
                                           cell_text(lecture, "def known_word_share("))]
    assert len(shares) == 3 and shares[0] > shares[1] > shares[2]


def test_a_single_output_at_the_end_classifies_the_majority(lecture, text):
    acc = number(cell_text(lecture, "majority_acc = train_last_output()"), r"test accuracy ([\d.]+)")
    assert acc > 0.95 and "> 95%" in text


def test_teacher_forcing_and_free_running_agree_on_hello(lecture):
    out = cell_text(lecture, "def run_fed(")
    assert "teacher forced predicts 'ello', free running 'ello'" in out


def test_output_recurrence_learns_parity_but_not_what_its_outputs_do_not_carry(lecture, text):
    out = cell_text(lecture, "class OutputRecurrentNet(")
    rows = {(task, kind): (float(a), float(b)) for task, kind, a, b in re.findall(
        r"(\w+_task), +(\w+) recurrence \( *\d+ parameters\): accuracy at steps 2-10 ([\d.]+), at steps 11-50 ([\d.]+)",
        out)}
    assert len(rows) == 4
    assert min(rows["parity_task", "output"]) > 0.999, "the text says: accuracy 1.000 at every length"
    assert max(rows["first_bit_task", "output"]) < 0.6, "the text says: near chance (below 0.6)"
    assert min(rows["first_bit_task", "hidden"]) > 0.99, "the text says: above 99% at every length"
    assert rows["parity_task", "hidden"][0] > 0.9, "the text says: above 0.9 on the trained length"
    stated(text, "accuracy 1.000 on the trained length and on sequences five times longer",
           "above 0.9 on the trained length", "(below 0.6) after step 1", "above 99% of the time at every length",
           "no hidden-to-hidden weights at all")


def test_exposure_bias_free_running_errors_compound_on_held_out_sequences(lecture, text):
    out = cell_text(lecture, "class SumGenerator(")
    train_acc, held_out = (float(v) for v in re.search(
        r"training sequences ([\d.]+), held-out ([\d.]+)", out).groups())
    rows = {int(t): (float(f), float(r), float(p)) for t, f, r, p in re.findall(
        r"position +(\d+): teacher-forced ([\d.]+), free-running ([\d.]+), a\^\d+ = ([\d.]+)", out)}
    assert sorted(rows) == [1, 2, 5, 10, 15, 20]
    assert min(f for f, _, _ in rows.values()) > 0.9 and abs(train_acc - held_out) < 0.03
    assert rows[20][1] < 0.6 and rows[20][1] < rows[5][1] - 0.2
    assert all(abs(r - p) < 0.1 for _, r, p in rows.values())
    stated(text, "right above 90% of the time at every position", "(within 3 points)",
           "below 60% at step 20", "within 0.1 at every position")


def test_the_end_symbol_stops_every_sample(lecture, text):
    out = cell_text(lecture, "free_model = train_names(")
    assert "end symbol: 100% of 200 samples stopped by themselves" in out
    lengths = {int(k) for k in re.findall(r"(\d+): \d+", re.search(r"lengths \{([^}]*)\}", out).group(1))}
    assert lengths <= {3, 4, 5}
    assert re.search(r"length model: .* -> \[('\w+', ){4}'\w+'\]", out)
    assert "every one of the 200 samples stopped by itself" in text and "(3 to 5)" in text


def test_conditioning_picks_the_name(lecture, text):
    out = cell_text(lecture, "cond_acc = {}")
    assert "{'input': 1.0, 'init': 1.0, 'both': 1.0}" in out
    assert "for all 10 ids" in text


def test_a_vector_given_only_as_the_initial_state_fades(lecture, text):
    out = cell_text(lecture, "class ConditionedRNN(")
    err = {c: (float(a), float(b)) for c, a, b in re.findall(
        r"(\w+): relative error at steps 1-5 ([\d.]+), steps 26-30 ([\d.]+)", out)}
    assert set(err) == {"input", "init", "both"}
    assert min(err["init"]) > 3 * max(err["input"] + err["both"]), "the text says: more than three times"
    assert max(err["input"][1], err["both"][1]) < 0.1, "the text says: below 0.1 after the first steps"
    stated(text, "more than three times the error everywhere", "(below 0.1 after the first few steps)")


def test_clipping_rescues_an_exploding_run(lecture, text):
    out = cell_text(lecture, "def clip_run(")
    rows = {c: (float(loss), float(norm)) for c, loss, norm in re.findall(
        r"clip (\S+): mean loss of the last 20 updates ([\d.]+), largest gradient norm ([\d.e+]+)", out)}
    assert rows["None"][0] > 1.0 and rows["1.0"][0] < 0.01
    assert rows["None"][1] > 100, "the text says: over 100 times the clipping threshold"
    assert "over 100 times the clipping threshold" in text and "ends above 1 nat" in text
    assert "(final loss below 0.01)" in text


def test_truncation_shorter_than_the_delay_fails_to_learn_the_echo(lecture, text):
    out = cell_text(lecture, "def train_echo(")
    short, long = (float(v) for v in re.search(r"\{2: ([\d.]+), 8: ([\d.]+)\}", out).groups())
    assert short < 0.85 and long > 0.98
    assert "(accuracy above 0.98)" in text and "(below 0.85)" in text


def test_delays_and_leaky_units_keep_gradients_alive(lecture, text):
    out = cell_text(lecture, "def path_norms(")
    at60 = {k: float(v) for k, v in re.findall(r"(\w+): at T - t = 20: \S+, at 60: (\S+)", out)}
    assert at60["vanilla"] < 1e-8
    assert at60["delay"] > 100 * at60["vanilla"] and at60["leaky"] > 100 * at60["vanilla"]
    assert "keep at least 100 times more" in text


def test_delays_and_leaky_units_learn_lags_the_vanilla_rnn_cannot(lecture, text):
    out = cell_text(lecture, "class LagRNN(")
    acc = {kind: {int(l): float(a) for l, a in re.findall(r"(\d+): ([\d.]+)", rest)}
           for kind, rest in re.findall(r"(\w+): test accuracy at lag (.*)", out)}
    assert set(acc) == {"vanilla", "delay", "leaky"} and all(set(a) == {5, 10, 20, 30} for a in acc.values())
    assert acc["vanilla"][5] > 0.95 and max(acc["vanilla"][20], acc["vanilla"][30]) < 0.6
    assert min(acc["delay"].values()) > 0.95 and min(acc["leaky"].values()) > 0.95
    stated(text, "above 95% at lag 5", "at lags 20 and 30 the vanilla RNN is at chance (below 60%",
           "above 95% at every lag tested")


def test_a_large_vocabulary_costs_and_bpe_encodes_every_held_out_word(lecture, text):
    out = cell_text(lecture, "bpe = subwords.BPE.learn(")
    chars, words, unseen = re.search(
        r"held-out text: ([\d,]+) characters, ([\d,]+) words; ([\d.]+)% of the held-out words", out).groups()
    chars, words, unseen = int(chars.replace(",", "")), int(words.replace(",", "")), float(unseen)
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^ *(.+?) +([\d,]+) +([\d,]+) +(\S+) +([\d,]+) +([\d,]+) +(\S+)$", line)
        if m and m.group(1) != "scheme":
            V, tokens, unknown, params, flops = (int(g.replace(",", "")) if g != "-" else None
                                                 for g in m.groups()[1:6])
            rows[m.group(1)] = dict(V=V, tokens=tokens, unknown=unknown, params=params, flops=flops,
                                    total=float(m.group(7)))
    assert list(rows) == ["characters", "BPE, 300 merges", "BPE, 2000 merges", "words seen in training",
                          "a 100,000-word vocabulary"]
    for r in rows.values():                         # the counts are the output layer's, for H = 128
        assert r["params"] == r["V"] * 129 and r["flops"] == 2 * 128 * r["V"] + 4 * r["V"]
        assert r["total"] == pytest.approx(r["flops"] * r["tokens"], rel=1e-2)
    assert unseen > 10 and rows["words seen in training"]["unknown"] > 0.1 * words
    assert rows["BPE, 300 merges"]["unknown"] == rows["BPE, 2000 merges"]["unknown"] == 0
    assert rows["a 100,000-word vocabulary"]["flops"] > 1000 * rows["characters"]["flops"]
    assert 1.7 < rows["BPE, 2000 merges"]["tokens"] / words < 2.3, "the text says: about 2 tokens per word"
    assert 6 < chars / words < 7.5, "the text says: nearly 7 characters"
    assert rows["characters"]["total"] < rows["BPE, 2000 merges"]["total"] < rows["words seen in training"]["total"]
    stated(text, "more than a tenth of the held-out words never occur", "(0 unknown tokens)",
           "over a thousand times the character layer per token", "about 2 tokens per word",
           "12.9 million output parameters", "about 26 million FLOPs")


# -- in-process checks of the lecture's own definitions (cheap, no training) ------------------------
# -- section 1 ---------------------------------------------------------------------------------
def test_windows_fall_short_where_a_one_unit_rnn_is_exact():
    ns = definitions("best_window_accuracy", "or_rnn")
    gen = np.random.default_rng(301)
    ns["bits"] = bits = (gen.random((2000, 30)) < 0.04).astype(int)
    ns["target"] = target = np.maximum.accumulate(bits, axis=1)
    acc = {k: round(float(ns["best_window_accuracy"](k)), 3) for k in (1, 3, 5)}
    assert acc == {1: 0.594, 3: 0.642, 5: 0.687}
    assert all(np.array_equal(ns["or_rnn"](s), t.astype(bool)) for s, t in zip(bits, target))


# -- section 3 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("T,N,D,H,V", [(1, 2, 3, 4, 5), (7, 1, 2, 3, 6)])
def test_bptt_typed_from_the_equations_matches_autograd(T, N, D, H, V):
    ns = definitions("bptt_by_the_equations")
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


# -- sections 6 and 7 --------------------------------------------------------------------------
def test_jacobian_norms_vanish_below_and_explode_above_spectral_radius_one():
    ns = definitions("scaled_whh", "jacobian_curve")
    curve = ns["jacobian_curve"]
    assert curve(0.5)[30] < 1e-6 and curve(0.9)[30] < 1e-2
    assert curve(1.5, linear=True)[30] > 1e3
    assert curve(1.5)[59] < curve(1.5, linear=True)[59]
    # the linear network follows rho^k up to a constant: its growth rate per step is rho
    lin = curve(1.5, linear=True)
    assert (lin[59] / lin[29]) ** (1 / 30) == pytest.approx(1.5, rel=0.05)


@pytest.mark.slow
def test_gradient_explorer_works_after_run_all():
    out = probe_text(executed("lectures/03_rnn_bptt.ipynb", "again"))  # tests/probes/03_rnn_bptt.py
    assert "linear growth beyond 1e3 at 30 steps: True, tanh below linear: True" in out
    assert "rho 0.5, input scale 2.0: tanh below 1e-6 at 30 steps: True, linear below 1e-6 at 30 steps: True" in out
    assert "same values, same curve: True" in out


# -- section 5 and 7.3: the new networks against independent references ---------------------------
def test_free_running_is_teacher_forcing_on_the_models_own_predictions():
    ns = definitions("OutputRecurrentNet", "SumGenerator")
    torch.manual_seed(0)
    x = torch.randint(0, 2, (7, 3))
    net = ns["OutputRecurrentNet"](H=5).double()
    assert all(p.shape != (5, 5) for p in net.parameters()), "no hidden-to-hidden weights"
    with torch.no_grad():
        free = net.free_running(x)
        assert torch.equal(net.teacher_forced(x, free.argmax(-1)), free)
    gen = ns["SumGenerator"](H=6, M=4).double()
    x = torch.randint(0, 4, (9, 2))
    with torch.no_grad():
        free = gen(x)
        assert torch.equal(gen(x, free.argmax(-1)), free)


def test_the_lag_networks_against_torch_rnn():
    ns = definitions("LagRNN")
    torch.manual_seed(1)
    x = torch.randn(11, 3, 2, dtype=torch.float64)
    vanilla = ns["LagRNN"]("vanilla", H=4).double()
    ref = torch.nn.RNN(2, 4, bias=True).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(vanilla.W.weight); ref.bias_ih_l0.copy_(vanilla.W.bias)
        ref.weight_hh_l0.copy_(vanilla.U.weight); ref.bias_hh_l0.zero_()
        h_last = ref(x)[1][0]
        np.testing.assert_allclose(vanilla(x).numpy(), vanilla.out(h_last).numpy(), rtol=1e-12, atol=1e-14)
        leaky = ns["LagRNN"]("leaky", H=4, tau=1.0).double()       # tau = 1: no leak, the vanilla RNN
        leaky.load_state_dict(vanilla.state_dict())
        np.testing.assert_allclose(leaky(x).numpy(), vanilla(x).numpy(), rtol=1e-12, atol=1e-14)
        delay = ns["LagRNN"]("delay", H=4, D=3).double()
        delay.load_state_dict(vanilla.state_dict(), strict=False)
        delay.U_D.weight.zero_()                                    # no delayed weights: the vanilla RNN
        np.testing.assert_allclose(delay(x).numpy(), vanilla(x).numpy(), rtol=1e-12, atol=1e-14)
        # a delayed path: h_(t-3) reaches a_t; by hand for the first steps
        delay.U_D.weight.normal_()
        W, U, UD = delay.W, delay.U.weight, delay.U_D.weight
        hs = [torch.zeros(3, 4, dtype=torch.float64)]
        for t in range(11):
            a = W(x[t]) + hs[-1] @ U.T + (hs[-4] @ UD.T if len(hs) > 3 else 0)
            hs.append(torch.tanh(a))
        np.testing.assert_allclose(delay(x).numpy(), delay.out(hs[-1]).numpy(), rtol=1e-12, atol=1e-14)
