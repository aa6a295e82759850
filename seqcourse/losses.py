"""Softmax, cross entropy and KL divergence, written to be numerically safe.

For a one-hot target ``y`` and a predicted distribution ``q``::

    H(y, q) = -sum_i y_i log q_i = -log q_target        (cross entropy)
            = negative log-likelihood of the target
    H(p, q) = H(p) + KL(p || q)                          (any target p)

so minimising cross entropy, maximising likelihood and minimising the KL
divergence to the targets are the same optimisation problem.
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax", "log_softmax", "cross_entropy", "entropy", "kl_divergence"]


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(logits) along ``axis``, stable for very large logits.

    Subtracting the maximum first changes nothing mathematically
    (softmax is shift invariant) and keeps ``exp`` from overflowing.
    """
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(logits) along ``axis``: positive entries that sum to 1."""
    return np.exp(log_softmax(logits, axis=axis))


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean cross entropy (natural log) of integer ``targets`` (N,) under
    ``softmax(logits)`` with logits of shape (N, C)."""
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {logits.shape}")
    if targets.shape != (logits.shape[0],):
        raise ValueError(
            f"targets must have shape (N,) = ({logits.shape[0]},) to match logits "
            f"{logits.shape}, got {targets.shape}"
        )
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be integer class indices, got dtype {targets.dtype}")
    if targets.size and (targets.min() < 0 or targets.max() >= logits.shape[1]):
        raise ValueError(
            f"targets must lie in [0, {logits.shape[1] - 1}], got values in "
            f"[{targets.min()}, {targets.max()}]"
        )
    logp = log_softmax(logits, axis=1)
    return float(-logp[np.arange(len(targets)), targets].mean())


def entropy(p: np.ndarray) -> float:
    """Shannon entropy -sum p log p (natural log), with 0 log 0 = 0."""
    p = np.asarray(p, dtype=np.float64)
    nz = p > 0
    return float(-(p[nz] * np.log(p[nz])).sum())


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) = sum p log(p / q); ``inf`` where q = 0 < p."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    nz = p > 0
    if np.any(q[nz] == 0):
        return float("inf")
    return float((p[nz] * (np.log(p[nz]) - np.log(q[nz]))).sum())
