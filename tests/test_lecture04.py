"""Lecture 04: the outcomes the lecture states, read from what the lecture printed.

The notebook is executed once per test run and flavour (``tests/notebook_runs.py``: "native" and
"portable", torch's generic kernels and MKL limited to SSE4.2, as on another processor); the
claims tests read what it printed under both and check it against the digits the text quotes
(its networks are NumPy float64, so the digits are the same everywhere). The derivations are also
checked in-process against autograd on fresh shapes: cheap, and independent of the notebook.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

from notebook_runs import FLAVOURS, cell_text, executed, number, markdown, probe_text, stated
from seqcourse import multitarget as mt
from seqcourse.multitarget import MultiTargetNet

PATH = "lectures/04_multitarget_backprop.ipynb"

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


@pytest.fixture(scope="module", params=FLAVOURS)
def lecture(request):
    return executed(PATH, request.param)


@pytest.fixture(scope="module")
def text() -> str:
    return markdown(PATH)



# -- claims, read from the executed lecture ---------------------------------------------------------
def test_feedforward_network_cannot_detect_a_followed_by_b(lecture, text):
    out = cell_text(lecture, "feedforward = MultiTargetNet(")
    assert "output for A, B, C: [0.011 0.295 0.01 ]" in out
    assert number(out, r"follow an A: ([\d.]+)") == 0.315
    assert "events detected (output > 0.5): 0 of 299" in out
    stated(text, "outputs 0.295 for every B", "is 0.315", "**0 of the 299** events", "0 of 299 events detected")


def test_lower_layer_targets_numbers_are_stated(lecture, text):
    out = cell_text(lecture, "first / last layer gradient size")
    assert "first / last layer gradient size: 1.8e-05 (top only), 1.41 (every layer)" in out
    assert "every layer / top only: 7.9e+04" in out
    stated(text, "(ratio 1.41)", "$7.9\\times10^{4}$ times larger")


def test_unrolled_cost_is_printed_equal(lecture):
    out = cell_text(lecture, "W_shared = np.hstack(")
    assert "cost: torch.nn.RNN 9.407572, ours 9.407572" in out
    assert len(re.findall(r":\s+True$", out, re.M)) == 2


def test_detector_training_cost(lecture, text):
    out = cell_text(lecture, "det_hist = detector.fit(")
    assert "mean cost per string: epoch 1 0.4752, epoch 40 0.0021" in out
    stated(text, "falls from 0.4752 to 0.0021 in 40 epochs")


def test_detector_is_right_at_every_step_of_new_and_longer_strings(lecture, text):
    out = cell_text(lecture, "def output_table(")
    assert "length 10: 100.00% (980 events); on 1000 strings of length 50: 100.00%" in out
    assert "smallest output at an event 0.957, largest output elsewhere 0.067" in out
    stated(text, "at **100.00%** of the steps", "also at 100.00%", "(output at least 0.957)", "at or below 0.067")
    for line in out.splitlines():
        cells = re.findall(r"([ABC])(\*?) ([\d.]+)", line)
        for _, star, value in cells:                  # fires exactly at each B after an A
            assert (float(value) > 0.5) == (star == "*"), line
    assert re.search(r"CABAB\s+C  0\.0001 \| A  0\.0000 \| B\* 0\.9572 \| A  0\.0000 \| B\* 0\.9568", out)


def test_a_free_unit_remembers_the_previous_a(lecture, text):
    out = cell_text(lecture, "contexts = {prev: detector.states(")
    states = {p: [float(v) for v in re.search(rf"after \.\.\.C{p}: (.*)", out).group(1).split()] for p in "ABC"}
    assert "unit 4 separates" in out
    assert states["A"][3] == 0.956 and states["A"][3] > 0.9 > 0.3 > max(states["B"][3], states["C"][3])
    stated(text, "unit 4 reads 0.956 right after an A and about 0.21 after a B or a C")
    assert abs(states["B"][3] - 0.21) < 0.01 and abs(states["C"][3] - 0.21) < 0.01


# -- in-process checks of the derivations (fresh shapes, float64, cheap) -----------------------------
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


@pytest.mark.slow
def test_explorers_work_after_run_all():
    out = probe_text(executed(PATH, "again"))  # tests/probes/04_multitarget_backprop.py
    assert "fires at [2, 4]" in out and "every/top first layer: 7.9e+04" in out


@pytest.mark.slow
def test_the_training_loop_written_in_the_lecture_is_the_packages(lecture):
    out = cell_text(lecture, "def train_by_hand(")
    assert "same weights as the package's train (to 1e-12): True" in out
    before = number(out, r"before training ([\d.]+)")
    after = number(out, r"after 30 epochs ([\d.]+)")
    assert after < 0.5 * before, f"30 epochs of the hand-written loop should halve J: {before} -> {after}"
