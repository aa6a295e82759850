"""Markov chains of order 1 and 2 over a finite alphabet {0, ..., K-1}.

A chain of order ``n`` says that the next symbol depends on the ``n`` symbols
before it and on nothing earlier::

    P(x_1..x_T) = P(x_1..x_n) * prod_{t > n} P(x_t | x_{t-n}..x_{t-1})

Its parameters are an *initial* table over the first ``n`` symbols, shape
``(K,)`` for order 1 or ``(K, K)`` for order 2, and a *transition* table whose
last axis is the next symbol: shape ``(K, K)`` for order 1 (row = previous
symbol) and ``(K, K, K)`` for order 2 (indices ``[x_{t-2}, x_{t-1}, x_t]``).
Every slice along the last axis is a probability distribution.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ._checks import as_float_array, check_probabilities

__all__ = [
    "count_transitions",
    "estimate_transitions",
    "sample_chain",
    "sequence_log_prob",
    "stationary_distribution",
    "pair_chain",
]


def _as_symbols(seq: object, n_states: int, name: str) -> np.ndarray:
    arr = np.asarray(seq)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of symbols, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer symbols, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n_states):
        raise ValueError(
            f"{name} must hold symbols in [0, {n_states}), got values from {arr.min()} to {arr.max()}"
        )
    return arr.astype(np.intp)


def _check_order(order: int) -> None:
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")


def _check_transmat(transmat: object, name: str = "transmat") -> np.ndarray:
    A = as_float_array(transmat, name)
    if A.ndim not in (2, 3) or len(set(A.shape)) != 1:
        raise ValueError(
            f"{name} must have shape (K, K) (order 1) or (K, K, K) (order 2), got {A.shape}"
        )
    check_probabilities(A, f"{name} (each slice over the next symbol)", axis=-1)
    return A


def count_transitions(sequences: Iterable[Sequence[int]], n_states: int, order: int = 1) -> np.ndarray:
    """Count the transitions in ``sequences`` (each a 1-D sequence of ints in [0, K)).

    Returns counts of shape ``(K,) * (order + 1)``: entry ``[a, b]`` (order 1)
    is how often ``b`` follows ``a``; entry ``[a, b, c]`` (order 2) how often
    ``c`` follows the pair ``a, b``. Sequences shorter than ``order + 1`` add nothing.
    """
    _check_order(order)
    if n_states < 1:
        raise ValueError(f"n_states must be >= 1, got {n_states}")
    counts = np.zeros((n_states,) * (order + 1))
    for i, seq in enumerate(sequences):
        x = _as_symbols(seq, n_states, f"sequence {i}")
        if len(x) <= order:
            continue
        windows = [x[k:len(x) - order + k] for k in range(order + 1)]
        np.add.at(counts, tuple(windows), 1.0)
    return counts


def estimate_transitions(
    sequences: Iterable[Sequence[int]], n_states: int, order: int = 1, pseudocount: float = 0.0
) -> np.ndarray:
    """Maximum-likelihood transition table (add ``pseudocount`` to every count first).

    Shape ``(K,) * (order + 1)``, normalised over the last axis. A context
    that never occurs (and gets no pseudocount) is given the uniform
    distribution, so that the table is always valid.
    """
    if pseudocount < 0:
        raise ValueError(f"pseudocount must be >= 0, got {pseudocount}")
    counts = count_transitions(sequences, n_states, order) + pseudocount
    totals = counts.sum(axis=-1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / n_states)
    return np.divide(counts, totals, out=uniform, where=totals > 0)


def sample_chain(
    initial: object, transmat: object, T: int, rng: np.random.Generator
) -> np.ndarray:
    """Sample a sequence of length ``T`` from a chain of order 1 or 2.

    ``initial`` is a distribution over the first ``order`` symbols: shape
    ``(K,)`` for order 1 or ``(K, K)`` (joint of ``x_1, x_2``) for order 2.
    The order is read from ``transmat`` (``(K, K)`` or ``(K, K, K)``).
    Returns an int array of shape ``(T,)``.
    """
    A = _check_transmat(transmat)
    K, order = A.shape[0], A.ndim - 1
    p0 = as_float_array(initial, "initial")
    if p0.shape != (K,) * order:
        raise ValueError(
            f"initial must have shape {(K,) * order} for a chain of order {order} over {K} "
            f"symbols, got {p0.shape}"
        )
    check_probabilities(p0.ravel(), "initial")
    if T < order:
        raise ValueError(f"T must be >= the order {order}, got {T}")
    x = np.empty(T, dtype=np.intp)
    first = rng.choice(p0.size, p=p0.ravel())
    x[:order] = np.unravel_index(first, p0.shape)
    cumulative = np.cumsum(A, axis=-1)
    u = rng.random(T)
    for t in range(order, T):
        row = cumulative[tuple(x[t - order:t])]
        x[t] = min(int(np.searchsorted(row, u[t] * row[-1], side="right")), K - 1)
    return x


def sequence_log_prob(seq: Sequence[int], initial: object, transmat: object) -> float:
    """Natural log of P(x_1..x_T) under the chain (``-inf`` for an impossible sequence)."""
    A = _check_transmat(transmat)
    K, order = A.shape[0], A.ndim - 1
    p0 = as_float_array(initial, "initial")
    if p0.shape != (K,) * order:
        raise ValueError(f"initial must have shape {(K,) * order}, got {p0.shape}")
    x = _as_symbols(seq, K, "seq")
    if len(x) < order:
        raise ValueError(f"seq must have at least {order} symbols, got {len(x)}")
    probs = np.concatenate(
        [[p0[tuple(x[:order])]], A[tuple(x[k:len(x) - order + k] for k in range(order + 1))]]
    )
    if np.any(probs == 0):
        return -np.inf
    return float(np.log(probs).sum())


def pair_chain(transmat2: object) -> np.ndarray:
    """Rewrite an order-2 chain as an order-1 chain over pairs.

    The state of the new chain is the pair ``(x_{t-1}, x_t)``, numbered
    ``a * K + b``. Returns a ``(K*K, K*K)`` transition matrix: pair ``(a, b)``
    moves to ``(b, c)`` with probability ``transmat2[a, b, c]``.
    """
    A = _check_transmat(transmat2, "transmat2")
    if A.ndim != 3:
        raise ValueError(f"transmat2 must have shape (K, K, K), got {A.shape}")
    K = A.shape[0]
    P = np.zeros((K, K, K, K))
    b = np.arange(K)
    P[:, b, b, :] = A                     # (a, b) -> (b, c)
    return P.reshape(K * K, K * K)


def stationary_distribution(transmat: object) -> np.ndarray:
    """A distribution ``pi`` with ``pi A = pi`` (left eigenvector for eigenvalue 1).

    For an order-1 table ``(K, K)`` returns ``(K,)``. For an order-2 table
    ``(K, K, K)`` returns the stationary joint distribution of consecutive
    pairs, shape ``(K, K)``; its row sums are the symbol frequencies.
    Unique when the chain is irreducible; otherwise one of the solutions.
    """
    A = _check_transmat(transmat)
    K = A.shape[0]
    P = pair_chain(A) if A.ndim == 3 else A
    n = P.shape[0]
    # Solve pi (P - I) = 0 together with sum(pi) = 1 as one least-squares system.
    system = np.vstack([(P - np.eye(n)).T, np.ones((1, n))])
    rhs = np.zeros(n + 1)
    rhs[-1] = 1.0
    pi, *_ = np.linalg.lstsq(system, rhs, rcond=None)
    pi = np.clip(pi, 0.0, None)
    pi /= pi.sum()
    return pi.reshape((K, K)) if A.ndim == 3 else pi
