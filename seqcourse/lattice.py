r"""The lattice of interpretations of a digit string (lecture 08), written from scratch.

Nodes ``0 .. n_nodes-1`` sit at the candidate cuts; an arc ``(i, j)`` with ``i < j`` is the
segment between cuts ``i`` and ``j`` and carries a score ``s[a, c]`` for every class ``c``
(a log-score from the recogniser).  A *path* goes from node 0 to the last node and picks one
class on each arc; its score is the sum of its arc scores and it spells the classes it picked.

- forward score  :math:`\log Z = \log\sum_{\text{paths}} e^{\text{score}}`, by
  :math:`\alpha_j = \log\sum_{(i,j),c} \exp(\alpha_i + s_{a,c})`, :math:`\alpha_0 = 0`
  (``-inf`` where no path reaches a node);
- constrained forward score :math:`\log Z_y`: states (node, k digits of the label read);
- loss :math:`L = -\log Z_y + \log Z`; its gradient is
  :math:`\partial L/\partial s_{a,c} = P(a,c) - P(a,c\mid y)`, the arc posteriors.

Shapes: ``arcs`` (A, 2) ints; ``scores`` (A, C) float tensor (or array).  Everything is torch
so that autograd carries the loss back into the CNN that produced ``scores``.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Sequence

import numpy as np
import torch

__all__ = ["all_arcs", "forward_scores", "log_partition", "viterbi", "constrained_log_partition",
           "constrained_viterbi", "sequence_loss", "arc_posteriors", "enumerate_paths", "top_paths",
           "margin_loss"]

NEG_INF = float("-inf")


def all_arcs(n_pieces: int, max_span: int = 3) -> np.ndarray:
    """Arcs (i, j) spanning 1..max_span consecutive pieces, sorted by end node: (A, 2)."""
    if n_pieces < 1 or max_span < 1:
        raise ValueError(f"need n_pieces >= 1 and max_span >= 1, got {n_pieces}, {max_span}")
    return np.array([(i, j) for j in range(1, n_pieces + 1)
                     for i in range(max(0, j - max_span), j)], dtype=np.int64)


def _check(scores, arcs, n_nodes):
    scores = torch.as_tensor(scores)
    arcs = np.asarray(arcs, dtype=np.int64)
    if scores.ndim != 2 or arcs.ndim != 2 or arcs.shape[1] != 2 or len(arcs) != scores.shape[0]:
        raise ValueError(f"expected scores (A, C) and arcs (A, 2) with the same A, got "
                         f"{tuple(scores.shape)} and {arcs.shape}")
    if np.any(arcs[:, 0] >= arcs[:, 1]) or arcs.min(initial=0) < 0 or arcs.max(initial=0) >= n_nodes:
        raise ValueError(f"every arc (i, j) needs 0 <= i < j < n_nodes={n_nodes}")
    return scores, arcs


def _lse(values: list[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    if not values:
        return like.new_tensor(NEG_INF)
    v = torch.stack(values)
    m = v.max()
    if torch.isinf(m):
        return m
    return m + torch.log(torch.exp(v - m).sum())


def forward_scores(scores, arcs, n_nodes: int) -> torch.Tensor:
    """Log forward score of every node, (n_nodes,): alpha[0] = 0, -inf where unreachable."""
    scores, arcs = _check(scores, arcs, n_nodes)
    arc_lse = torch.logsumexp(scores, dim=1)
    alpha = [scores.new_tensor(0.0)] + [None] * (n_nodes - 1)
    for j in range(1, n_nodes):
        alpha[j] = _lse([alpha[i] + arc_lse[a] for a, (i, jj) in enumerate(arcs) if jj == j], scores)
    return torch.stack(alpha)


def log_partition(scores, arcs, n_nodes: int) -> torch.Tensor:
    """log Z: the log-sum-exp of the scores of all paths (a 0-d tensor)."""
    return forward_scores(scores, arcs, n_nodes)[-1]


def viterbi(scores, arcs, n_nodes: int) -> tuple[float, list[tuple[int, int]]]:
    """Best path: (its score, [(arc index, class), ...] from left to right)."""
    scores, arcs = _check(scores, arcs, n_nodes)
    s = scores.detach().cpu().double().numpy()
    best = np.full(n_nodes, -np.inf)
    best[0] = 0.0
    back: list[tuple[int, int] | None] = [None] * n_nodes
    for a in np.argsort(arcs[:, 1], kind="stable"):
        i, j = arcs[a]
        c = int(np.argmax(s[a]))
        if best[i] + s[a, c] > best[j]:
            best[j], back[j] = best[i] + s[a, c], (int(a), c)
    if not np.isfinite(best[-1]):
        return float("-inf"), []
    path, node = [], n_nodes - 1
    while node:
        a, c = back[node]
        path.append((a, c))
        node = int(arcs[a, 0])
    return float(best[-1]), path[::-1]


def constrained_log_partition(scores, arcs, n_nodes: int, label: Sequence[int]) -> torch.Tensor:
    """log Z_y: log-sum-exp over the paths that spell ``label`` exactly (-inf if none)."""
    scores, arcs = _check(scores, arcs, n_nodes)
    label = [int(c) for c in label]
    K = len(label)
    alpha = {(0, 0): scores.new_tensor(0.0)}
    order = np.argsort(arcs[:, 1], kind="stable")
    for j in range(1, n_nodes):
        for k in range(1, K + 1):
            terms = [alpha[(int(arcs[a, 0]), k - 1)] + scores[a, label[k - 1]]
                     for a in order if arcs[a, 1] == j and (int(arcs[a, 0]), k - 1) in alpha]
            if terms:
                alpha[(j, k)] = _lse(terms, scores)
    return alpha.get((n_nodes - 1, K), scores.new_tensor(NEG_INF))


def constrained_viterbi(scores, arcs, n_nodes: int, label: Sequence[int]) -> tuple[float, list[tuple[int, int]]]:
    """Best path of the constrained lattice (the best path spelling ``label``):
    (its score, [(arc index, class), ...] from left to right); (-inf, []) if none spells it."""
    scores, arcs = _check(scores, arcs, n_nodes)
    label = [int(c) for c in label]
    if not label:
        raise ValueError("label must hold at least one class")
    s = scores.detach().cpu().double().numpy()
    best: dict[tuple[int, int], tuple[float, list[tuple[int, int]]]] = {(0, 0): (0.0, [])}
    for a in np.argsort(arcs[:, 1], kind="stable"):
        i, j = map(int, arcs[a])
        for k in range(len(label)):
            if (i, k) in best:
                sc = best[(i, k)][0] + s[a, label[k]]
                if sc > best.get((j, k + 1), (-np.inf,))[0]:
                    best[(j, k + 1)] = (sc, best[(i, k)][1] + [(int(a), label[k])])
    return best.get((n_nodes - 1, len(label)), (float("-inf"), []))


def sequence_loss(scores, arcs, n_nodes: int, label: Sequence[int]) -> torch.Tensor:
    """L = -log Z_y + log Z (differentiable; +inf when no path spells the label)."""
    return log_partition(scores, arcs, n_nodes) - constrained_log_partition(scores, arcs, n_nodes, label)


def _posteriors(scores: torch.Tensor, fn) -> np.ndarray:
    s = scores.detach().double().clone().requires_grad_(True)
    fn(s).backward()
    return s.grad.numpy()


def arc_posteriors(scores, arcs, n_nodes: int, label: Sequence[int] | None = None) -> np.ndarray:
    """P(arc a read as class c) over all paths, or over the paths spelling ``label``: (A, C).

    Computed by forward-backward over the lattice by hand (no autograd): for an arc
    ``(i, j)``, P = exp(alpha_i + s[a, c] + beta_j - log Z).  So the gradient of
    ``sequence_loss`` is ``arc_posteriors(all) - arc_posteriors(label)``.
    """
    scores_t, arcs = _check(scores, arcs, n_nodes)
    s = scores_t.detach().cpu().double().numpy()
    if label is None:
        states = {(i,) for i in range(n_nodes)}
        trans = [((i,), (j,), a, c) for a, (i, j) in enumerate(arcs) for c in range(s.shape[1])]
        start, end = (0,), (n_nodes - 1,)
    else:
        label = [int(c) for c in label]
        trans = [((i, k), (j, k + 1), a, label[k]) for a, (i, j) in enumerate(arcs) for k in range(len(label))]
        start, end = (0, 0), (n_nodes - 1, len(label))
    trans.sort(key=lambda t: t[1][0])
    alpha, beta = {start: 0.0}, {end: 0.0}
    for u, v, a, c in trans:
        if u in alpha:
            alpha[v] = np.logaddexp(alpha.get(v, -np.inf), alpha[u] + s[a, c])
    for u, v, a, c in reversed(trans):
        if v in beta:
            beta[u] = np.logaddexp(beta.get(u, -np.inf), beta[v] + s[a, c])
    logz = alpha.get(end, -np.inf)
    post = np.zeros_like(s)
    if not np.isfinite(logz):
        return post
    for u, v, a, c in trans:
        if u in alpha and v in beta:
            post[a, c] += np.exp(alpha[u] + s[a, c] + beta[v] - logz)
    return post


def enumerate_paths(scores, arcs, n_nodes: int) -> list[tuple[float, tuple[int, ...], list[tuple[int, int]]]]:
    """Every path by brute force: (score, label, [(arc, class), ...]).  Small lattices only."""
    scores, arcs = _check(scores, arcs, n_nodes)
    s = scores.detach().cpu().double().numpy()
    out = []

    def walk(node, picked):
        if node == n_nodes - 1:
            for classes in itertools.product(range(s.shape[1]), repeat=len(picked)):
                path = list(zip(picked, classes))
                out.append((float(sum(s[a, c] for a, c in path)), tuple(classes), path))
            return
        for a in np.nonzero(arcs[:, 0] == node)[0]:
            walk(int(arcs[a, 1]), picked + [int(a)])

    walk(0, [])
    return out


def top_paths(scores, arcs, n_nodes: int, k: int = 5) -> list[tuple[float, tuple[int, ...], list[tuple[int, int]]]]:
    """The k best paths (k-best Viterbi): list of (score, label, [(arc, class), ...]), best first
    (among equal scores, the lower class on an arc comes first)."""
    scores, arcs = _check(scores, arcs, n_nodes)
    s = scores.detach().cpu().double().numpy()
    top_classes = np.argsort(-s, axis=1, kind="stable")[:, :k].tolist()
    s_list = s.tolist()
    best: list[list[tuple[float, list]]] = [[] for _ in range(n_nodes)]
    best[0] = [(0.0, [])]
    for j in range(1, n_nodes):
        # candidates (score, arc, class, node i, rank of the prefix at i); paths built for the k kept
        cands = []
        for a in np.nonzero(arcs[:, 1] == j)[0].tolist():
            i = int(arcs[a, 0])
            for c in top_classes[a]:
                sac = s_list[a][c]
                cands += [(sc + sac, a, c, i, r) for r, (sc, _) in enumerate(best[i])]
        kept = heapq.nlargest(k, cands, key=lambda t: t[0])        # = stable sort by -score, first k
        best[j] = [(sc, best[i][r][1] + [(a, c)]) for sc, a, c, i, r in kept]
    return [(sc, tuple(c for _, c in p), p) for sc, p in best[-1]]


def margin_loss(scores, arcs, n_nodes: int, label: Sequence[int], margin: float = 1.0,
                k: int = 30) -> torch.Tensor:
    """max(0, margin + best wrong path - best correct path), differentiable through the two
    paths' arc scores (+inf if no path spells the label; 0 if no wrong path is found in the top k)."""
    scores, arcs = _check(scores, arcs, n_nodes)
    label = tuple(int(c) for c in label)
    paths = top_paths(scores, arcs, n_nodes, k)
    wrong = next((p for _, lab, p in paths if lab != label), None)
    right = next((p for _, lab, p in paths if lab == label), None)
    if right is None:
        cons = constrained_log_partition(scores, arcs, n_nodes, label)
        if not torch.isfinite(cons):
            return scores.new_tensor(float("inf"))
        right = constrained_viterbi(scores, arcs, n_nodes, label)[1]
    if wrong is None:
        return scores.sum() * 0.0
    total = lambda p: torch.stack([scores[a, c] for a, c in p]).sum()
    return torch.clamp(margin + total(wrong) - total(right), min=0.0)

