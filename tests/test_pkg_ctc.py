"""seqcourse.ctc against torch.nn.CTCLoss (loss and gradient w.r.t. the logits)."""

import itertools

import numpy as np
import pytest
import torch

from seqcourse import ctc


def batch(seed, T=(7, 5, 6), C=4, labels=((1, 2, 2), (3,), (1, 3, 1))):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(max(T), len(T), C, dtype=torch.float64, generator=g)
    targets = torch.zeros(len(labels), max(len(l) for l in labels), dtype=torch.long)
    for n, l in enumerate(labels):
        targets[n, :len(l)] = torch.tensor(l)
    return logits, targets, torch.tensor(T), torch.tensor([len(l) for l in labels])


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_loss_and_gradient_vs_torch(reduction):
    logits, targets, T, U = batch(0)
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    ours = ctc.ctc_loss(a.log_softmax(-1), targets, T, U, reduction=reduction)
    ref = torch.nn.CTCLoss(reduction=reduction)(b.log_softmax(-1), targets, T, U)
    assert torch.allclose(ours, ref, atol=1e-10)
    ours.sum().backward()
    ref.sum().backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-10)


def test_concatenated_targets():
    logits, targets, T, U = batch(1)
    flat = torch.cat([targets[n, :U[n]] for n in range(len(U))])
    lp = logits.log_softmax(-1)
    assert torch.allclose(ctc.ctc_loss(lp, flat, T, U, reduction="none"),
                          torch.nn.functional.ctc_loss(lp, flat, T, U, reduction="none"), atol=1e-10)


def test_infeasible_targets_and_zero_infinity():
    # "1 1 1" needs 5 frames (blanks between repeats); give it 4, and "2 3" 1 frame.
    logits, targets, T, U = batch(2, T=(4, 1, 6), labels=((1, 1, 1), (2, 3), (2,)))
    lp = logits.log_softmax(-1)
    ours = ctc.ctc_loss(lp, targets, T, U, reduction="none")
    assert torch.isinf(ours[0]) and torch.isinf(ours[1]) and torch.isfinite(ours[2])
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    o = ctc.ctc_loss(a.log_softmax(-1), targets, T, U, reduction="sum", zero_infinity=True)
    r = torch.nn.functional.ctc_loss(b.log_softmax(-1), targets, T, U, reduction="sum", zero_infinity=True)
    assert torch.allclose(o, r, atol=1e-10)
    o.backward(), r.backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-10)


def test_repeats_exactly_feasible():
    logits, targets, T, U = batch(3, T=(5,), labels=((2, 2, 2),))
    lp = logits.log_softmax(-1)
    ours = ctc.ctc_loss(lp, targets, T, U, reduction="none")
    assert torch.isfinite(ours[0])
    assert torch.allclose(ours, torch.nn.functional.ctc_loss(lp, targets, T, U, reduction="none"), atol=1e-10)


def collapse(path, blank=0):
    out = [c for i, c in enumerate(path) if c != blank and (i == 0 or path[i - 1] != c)]
    return tuple(out)


def brute_probs(lp):
    T, C = lp.shape
    probs = {}
    for path in itertools.product(range(C), repeat=T):
        key = collapse(path)
        probs[key] = np.logaddexp(probs.get(key, -np.inf), sum(lp[t, c] for t, c in enumerate(path)))
    return probs


def test_nll_and_beam_vs_brute_force():
    g = torch.Generator().manual_seed(4)
    lp = torch.randn(5, 3, dtype=torch.float64, generator=g).log_softmax(-1)
    probs = brute_probs(lp.numpy())
    for label, logp in probs.items():
        assert abs(float(ctc.ctc_nll(lp, label)) + logp) < 1e-10
    best = max(probs, key=probs.get)
    top = ctc.prefix_beam_search(lp, beam=50)
    assert top[0][0] == best and abs(top[0][1] - probs[best]) < 1e-10


def test_greedy_decode():
    lp = torch.log(torch.tensor([[.1, .9, 0], [.1, .9, 0], [.9, .1, 0], [.1, .9, 0], [0, .1, .9]]) + 1e-9)
    assert ctc.greedy_decode(lp) == [1, 1, 2]


def test_errors():
    with pytest.raises(ValueError, match="blank"):
        ctc.extend_label([0, 1])
    with pytest.raises(ValueError, match=r"\(T, N, C\)"):
        ctc.ctc_loss(torch.zeros(3, 4), torch.zeros(1, 1), [3], [1])
