"""Decoding a sequence model: greedy, sampling, beam search, exhaustive search.

Every decoder here is model-agnostic.  A model is a *step function*

    step(prefixes, states) -> (log_probs, new_states)

batched over hypotheses: ``prefixes`` is a list of ``B`` token lists (each
starting with ``bos``), ``states[b]`` is whatever the model needs to continue
prefix ``b`` (opaque here: a hidden vector, a tuple, ``None``...),
``log_probs`` has shape ``(B, V)`` and holds ``log p(next token | prefix_b)``,
and ``new_states[b]`` is the state after consuming ``prefix_b[-1]``.
The first call gets ``[[bos]]`` and ``[init_state]``.

An output is the list of generated tokens (``bos`` left out).  It is
*complete* when it ends with ``eos``, or when it reaches ``max_len`` tokens
without one.  Its log-probability is ``L = sum_t log p(y_t | y_<t)``, and
beam search ranks complete outputs by the length-normalised score

    score(y) = L(y) / |y| ** alpha         (alpha = length_penalty, |y| counts eos)

``alpha = 0`` ranks by probability (which favours short outputs, because every
token multiplies by a number <= 1); ``alpha = 1`` ranks by log-probability per token.
"""

from __future__ import annotations

import heapq
import math
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "StepFn",
    "greedy_decode",
    "sample_decode",
    "beam_search",
    "exhaustive_search",
    "sequence_log_prob",
    "random_rnn_step",
]

StepFn = Callable[[list[list[int]], list[Any]], tuple[np.ndarray, list[Any]]]


def _check_args(bos: int, eos: int, max_len: int) -> None:
    for name, value in (("bos", bos), ("eos", eos), ("max_len", max_len)):
        if not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")


def _call(step: StepFn, prefixes: list[list[int]], states: list[Any]) -> tuple[np.ndarray, list]:
    """Call ``step`` and check what it returns."""
    out = step([list(p) for p in prefixes], list(states))
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ValueError("step must return a pair (log_probs of shape (B, V), new_states)")
    log_probs, new_states = out
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2 or log_probs.shape[0] != len(prefixes):
        raise ValueError(f"step returned log_probs of shape {log_probs.shape}, expected "
                         f"({len(prefixes)}, V): one row per prefix")
    if len(new_states) != len(prefixes):
        raise ValueError(f"step returned {len(new_states)} states for {len(prefixes)} prefixes")
    if np.any(np.isnan(log_probs)) or np.any(log_probs > 1e-6):
        raise ValueError("step must return log-probabilities (<= 0, no NaN); "
                         "did you return logits or probabilities?")
    return log_probs, list(new_states)


def greedy_decode(step: StepFn, init_state: Any, bos: int, eos: int, max_len: int) -> list[int]:
    """Take the most probable token at every step (the first one on ties)."""
    _check_args(bos, eos, max_len)
    prefix, state = [bos], init_state
    for _ in range(max_len):
        log_probs, (state,) = _call(step, [prefix], [state])
        token = int(np.argmax(log_probs[0]))
        prefix.append(token)
        if token == eos:
            break
    return prefix[1:]


def sample_decode(step: StepFn, init_state: Any, bos: int, eos: int, max_len: int,
                  temperature: float, rng: np.random.Generator) -> list[int]:
    """Draw every token from ``softmax(log_probs / temperature)``.

    ``temperature = 1`` samples from the model, ``-> 0`` approaches greedy
    decoding (``0`` is greedy), ``> 1`` flattens the distribution.
    """
    _check_args(bos, eos, max_len)
    if not (temperature >= 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if temperature == 0:
        return greedy_decode(step, init_state, bos, eos, max_len)
    prefix, state = [bos], init_state
    for _ in range(max_len):
        log_probs, (state,) = _call(step, [prefix], [state])
        z = log_probs[0] / temperature
        p = np.exp(z - z.max())
        token = int(rng.choice(len(p), p=p / p.sum()))
        prefix.append(token)
        if token == eos:
            break
    return prefix[1:]


def _score(log_prob: float, length: int, length_penalty: float) -> float:
    return log_prob / length ** length_penalty


def beam_search(step: StepFn, init_state: Any, bos: int, eos: int, beam_width: int,
                max_len: int, length_penalty: float = 1.0,
                history: list[list[list[int]]] | None = None) -> list[tuple[list[int], float]]:
    """Beam search with finished hypotheses set aside.

    At each step every live hypothesis is extended by every token.  Extensions
    by ``eos`` are complete and go to the *finished* pool (the best
    ``beam_width`` are kept); of the other extensions the ``beam_width`` with
    the highest log-probability stay live.  Live hypotheses reaching
    ``max_len`` tokens are complete too.  The search stops at ``max_len``, or
    as soon as no live hypothesis can still beat the best finished score
    (log-probabilities only fall as a hypothesis grows, so
    ``L / len**alpha`` is bounded by its value at the most favourable length).

    A beam is not guaranteed to contain the greedy output: a prefix that greedy decoding extends can
    be pushed out of the ``beam_width`` live hypotheses by extensions of other prefixes, so a wider
    beam can end with a less probable output than greedy (or a narrower beam).  Pass a list as
    ``history`` to see the pruning: after every step, the live prefixes that were kept (tokens
    without ``bos``, best first) are appended to it as one list.

    Returns:
        up to ``beam_width`` pairs ``(tokens, score)``, best first, ``tokens``
        without ``bos``, ``score = log-prob / len(tokens) ** length_penalty``.
        Ties are broken by the token sequence (smaller first), so results are
        deterministic.
    """
    _check_args(bos, eos, max_len)
    if not isinstance(beam_width, (int, np.integer)) or beam_width < 1:
        raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}")
    live: list[tuple[float, list[int], Any]] = [(0.0, [bos], init_state)]
    finished: list[tuple[float, list[int]]] = []       # (score, tokens)

    def keep_best(pool: list[tuple[float, list[int]]]) -> list[tuple[float, list[int]]]:
        return heapq.nsmallest(beam_width, pool, key=lambda c: (-c[0], c[1]))

    for t in range(1, max_len + 1):                    # t = length after this step
        log_probs, states = _call(step, [p for _, p, _ in live], [s for _, _, s in live])
        candidates = []
        for (lp, prefix, _), row, state in zip(live, log_probs, states):
            for token in np.flatnonzero(np.isfinite(row)):
                token = int(token)
                total = lp + float(row[token])
                if token == eos:
                    finished.append((_score(total, t, length_penalty), prefix[1:] + [eos]))
                else:
                    candidates.append((total, prefix + [token], state))
        live = heapq.nsmallest(beam_width, candidates, key=lambda c: (-c[0], c[1]))
        if history is not None:
            history.append([p[1:] for _, p, _ in live])
        if t == max_len:
            finished.extend((_score(lp, t, length_penalty), p[1:]) for lp, p, _ in live)
            live = []
        finished = keep_best(finished)
        if not live:
            break
        if len(finished) >= beam_width:
            worst_kept = finished[-1][0]
            # best score any continuation of a live hypothesis could still reach
            bound = max(max(_score(lp, t + 1, length_penalty), _score(lp, max_len, length_penalty))
                        for lp, _, _ in live)
            if bound < worst_kept:
                break
    return [(tokens, score) for score, tokens in keep_best(finished)]


def exhaustive_search(step: StepFn, init_state: Any, bos: int, eos: int, max_len: int,
                      V: int, length_penalty: float = 1.0) -> list[tuple[list[int], float]]:
    """Score *every* complete output (``V^max_len`` of them at most), best first.

    Only for tiny models: the reference that proves beam search right.
    Same scores and tie-breaking as :func:`beam_search`.
    """
    _check_args(bos, eos, max_len)
    if V ** max_len > 2_000_000:
        raise ValueError(f"V**max_len = {V}**{max_len} outputs is too many to enumerate")
    level: list[tuple[float, list[int], Any]] = [(0.0, [bos], init_state)]
    complete: list[tuple[float, list[int]]] = []
    for t in range(1, max_len + 1):
        log_probs, states = _call(step, [p for _, p, _ in level], [s for _, _, s in level])
        if log_probs.shape[1] != V:
            raise ValueError(f"step returned {log_probs.shape[1]} tokens, expected V={V}")
        nxt = []
        for (lp, prefix, _), row, state in zip(level, log_probs, states):
            for token in range(V):
                if not np.isfinite(row[token]):
                    continue
                total = lp + float(row[token])
                if token == eos or t == max_len:
                    complete.append((_score(total, t, length_penalty), prefix[1:] + [token]))
                else:
                    nxt.append((total, prefix + [token], state))
        level = nxt
    complete.sort(key=lambda c: (-c[0], c[1]))
    return [(tokens, score) for score, tokens in complete]


def sequence_log_prob(step: StepFn, init_state: Any, bos: int, tokens: Sequence[int]) -> float:
    """``log p(tokens)`` under the model (teacher forcing through ``step``)."""
    prefix, state, total = [bos], init_state, 0.0
    for token in tokens:
        log_probs, (state,) = _call(step, [prefix], [state])
        total += float(log_probs[0, int(token)])
        prefix.append(int(token))
    return total


def random_rnn_step(V: int, hidden: int = 5, seed: int = 0, sharpness: float = 2.0) -> tuple[StepFn, np.ndarray]:
    """A tiny random recurrent model over ``V`` tokens, as a step function.

    ``h' = tanh(W h + E[token])``, ``log p = log_softmax(sharpness * U h')``;
    the next-token distribution depends on the whole prefix.  Returns
    ``(step, h0)``: decode with ``init_state = h0``.  For testing decoders.
    """
    rng = np.random.default_rng(seed)
    W = rng.normal(scale=0.8, size=(hidden, hidden))
    E = rng.normal(size=(V, hidden))
    U = rng.normal(size=(V, hidden))

    def step(prefixes: list[list[int]], states: list[Any]) -> tuple[np.ndarray, list[Any]]:
        H = np.stack([np.tanh(W @ h + E[p[-1]]) for p, h in zip(prefixes, states)])
        z = sharpness * H @ U.T
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True)), list(H)

    return step, np.zeros(hidden)
