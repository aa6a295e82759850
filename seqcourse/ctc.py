r"""Connectionist temporal classification (lecture 08): a lattice fixed by the frames.

A label :math:`y_1..y_U` is extended with blanks, :math:`\ell = (b, y_1, b, y_2, \dots, y_U, b)`
of length :math:`S = 2U + 1`.  With frame log-probabilities :math:`\log p_t(c)` (T, C),

.. math::
   \alpha_0(0) = \log p_0(b),\ \alpha_0(1) = \log p_0(y_1),\qquad
   \alpha_t(s) = \log p_t(\ell_s) + \operatorname{lse}\big(\alpha_{t-1}(s), \alpha_{t-1}(s-1),
   [\alpha_{t-1}(s-2)\ \text{if}\ \ell_s \ne b \text{ and } \ell_s \ne \ell_{s-2}]\big)

and :math:`-\log p(y \mid x) = -\operatorname{lse}(\alpha_{T-1}(S-1), \alpha_{T-1}(S-2))`.
The skip is forbidden between two equal labels: "11" needs a blank between its ones, so a
label with R repeats needs at least U + R frames (else the loss is +inf).

Shapes follow ``torch.nn.CTCLoss``: ``log_probs`` (T, N, C), targets (N, S_max) padded or
concatenated (sum of target_lengths,), ``input_lengths`` and ``target_lengths`` (N,).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np
import torch

__all__ = ["extend_label", "ctc_alpha", "ctc_nll", "ctc_loss", "greedy_decode", "prefix_beam_search"]


def extend_label(label: Sequence[int], blank: int = 0) -> list[int]:
    """(b, y1, b, y2, ..., yU, b): length 2U + 1."""
    out = [blank]
    for c in label:
        if int(c) == blank:
            raise ValueError(f"the label must not contain the blank ({blank}), got {list(label)}")
        out += [int(c), blank]
    return out


def _safe_lse(v: torch.Tensor) -> torch.Tensor:
    """logsumexp over dim 0, -inf (with zero gradient, not NaN) where every entry is -inf."""
    dead = torch.isinf(v).all(dim=0) & (v.amax(dim=0) < 0)
    out = torch.logsumexp(torch.where(dead, torch.zeros_like(v), v), dim=0)
    return torch.where(dead, torch.full_like(out, float("-inf")), out)


def ctc_alpha(log_probs: torch.Tensor, label: Sequence[int], blank: int = 0) -> torch.Tensor:
    """Log forward variables (T, 2U + 1) for one sequence; ``log_probs`` (T, C)."""
    log_probs = torch.as_tensor(log_probs)
    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must have shape (T, C) here, got {tuple(log_probs.shape)}")
    T = log_probs.shape[0]
    ext = extend_label(label, blank)
    S = len(ext)
    idx = torch.tensor(ext, device=log_probs.device)
    emit = log_probs[:, idx]                                           # (T, S)
    ninf = torch.full((S,), float("-inf"), dtype=log_probs.dtype, device=log_probs.device)
    skip = torch.tensor([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2] for s in range(S)],
                        device=log_probs.device)
    first = ninf.clone()
    first[0] = 0.0
    if S > 1:
        first[1] = 0.0
    rows = [first + emit[0]]
    for t in range(1, T):
        prev = rows[-1]
        shift1 = torch.cat([ninf[:1], prev[:-1]])
        shift2 = torch.where(skip, torch.cat([ninf[:2], prev[:-2]]), ninf) if S > 2 else ninf
        rows.append(_safe_lse(torch.stack([prev, shift1, shift2])) + emit[t])
    return torch.stack(rows)


def ctc_nll(log_probs: torch.Tensor, label: Sequence[int], blank: int = 0) -> torch.Tensor:
    """-log p(label | frames) for one sequence, ``log_probs`` (T, C); +inf if infeasible."""
    alpha = ctc_alpha(log_probs, label, blank)
    last = alpha[-1, -2:] if alpha.shape[1] > 1 else alpha[-1, -1:]
    return -_safe_lse(last)


def _targets_of(targets, target_lengths):
    targets = torch.as_tensor(targets)
    lengths = [int(v) for v in torch.as_tensor(target_lengths).reshape(-1)]
    if targets.ndim == 2:
        return [targets[n, :lengths[n]].tolist() for n in range(len(lengths))]
    if targets.ndim == 1:
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return [targets[offsets[n]:offsets[n + 1]].tolist() for n in range(len(lengths))]
    raise ValueError(f"targets must be (N, S) or 1-D concatenated, got {tuple(targets.shape)}")


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> torch.Tensor:
    """Same semantics as ``torch.nn.functional.ctc_loss``; differentiable by autograd.

    ``reduction``: "none" (N,), "sum", or "mean" (each loss divided by its target length,
    then averaged over the batch).  ``zero_infinity`` replaces +inf losses (and their
    gradients) by zero.
    """
    log_probs = torch.as_tensor(log_probs)
    if log_probs.ndim != 3:
        raise ValueError(f"log_probs must have shape (T, N, C), got {tuple(log_probs.shape)}")
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(f"reduction must be 'none', 'sum' or 'mean', got {reduction!r}")
    labels = _targets_of(targets, target_lengths)
    T_n = [int(v) for v in torch.as_tensor(input_lengths).reshape(-1)]
    if len(labels) != log_probs.shape[1] or len(T_n) != log_probs.shape[1]:
        raise ValueError(f"batch size {log_probs.shape[1]} but {len(T_n)} input lengths and "
                         f"{len(labels)} targets")
    losses = []
    for n, label in enumerate(labels):
        loss = ctc_nll(log_probs[:T_n[n], n], label, blank)
        if zero_infinity and torch.isinf(loss):
            loss = (log_probs[:T_n[n], n] * 0.0).sum()
        losses.append(loss)
    losses = torch.stack(losses)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    lengths = torch.tensor([max(len(l), 1) for l in labels], dtype=losses.dtype, device=losses.device)
    return (losses / lengths).mean()


def greedy_decode(log_probs, blank: int = 0) -> list[int]:
    """Best class per frame, repeats merged, blanks removed; ``log_probs`` (T, C)."""
    best = torch.as_tensor(log_probs).argmax(dim=-1).tolist()
    out, prev = [], None
    for c in best:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def prefix_beam_search(log_probs, beam: int = 8, blank: int = 0) -> list[tuple[tuple[int, ...], float]]:
    """Prefix beam search: [(label, log p(label | frames)), ...] best first, ``log_probs`` (T, C).

    Each prefix keeps two log scores, ending in a blank or not, so that "a a" (two frames)
    and "a b a" merge correctly; with a wide enough beam the scores are exact.
    """
    lp = torch.as_tensor(log_probs).detach().cpu().double().numpy()
    if lp.ndim != 2:
        raise ValueError(f"log_probs must have shape (T, C), got {lp.shape}")
    lae = np.logaddexp
    beams = {(): (0.0, -np.inf)}                                      # prefix -> (blank, non-blank)
    for t in range(lp.shape[0]):
        nxt = defaultdict(lambda: (-np.inf, -np.inf))
        for prefix, (pb, pnb) in beams.items():
            total = lae(pb, pnb)
            b, nb = nxt[prefix]
            nxt[prefix] = (lae(b, total + lp[t, blank]), nb)
            for c in range(lp.shape[1]):
                if c == blank:
                    continue
                ext = prefix + (c,)
                b2, nb2 = nxt[ext]
                if prefix and prefix[-1] == c:
                    nxt[ext] = (b2, lae(nb2, pb + lp[t, c]))
                    b, nb = nxt[prefix]
                    nxt[prefix] = (b, lae(nb, pnb + lp[t, c]))
                else:
                    nxt[ext] = (b2, lae(nb2, total + lp[t, c]))
        beams = dict(sorted(nxt.items(), key=lambda kv: -lae(*kv[1]))[:beam])
    return [(p, float(lae(*s))) for p, s in sorted(beams.items(), key=lambda kv: -lae(*kv[1]))]
