"""BLEU from its definition (Papineni et al., 2002), as ``sacrebleu`` computes it.

Input is already tokenised: a hypothesis is a list of tokens, and
``references[i]`` is the list of (one or more) reference token lists of
hypothesis ``i``.

For every order ``n = 1..N`` (``N = max_n``, usually 4):

* ``matches_n`` = sum over sentences of the *clipped* n-gram counts: an n-gram
  of the hypothesis counts at most as often as it occurs in the one reference
  where it occurs most often,  ``sum_g min(c_hyp(g), max_r c_r(g))``;
* ``totals_n``  = number of n-grams in the hypotheses, ``sum_i max(0, |h_i| - n + 1)``;
* ``p_n = matches_n / totals_n``  (corpus level: sums first, divide once).

With ``c = sum_i |h_i|`` and ``r = sum_i`` (length of the reference closest in
length to ``h_i``, the shorter one on ties), the brevity penalty is

    BP = 1                    if c > r
    BP = exp(1 - r / c)       if 0 < c <= r          (0 when c = 0)

and ``BLEU = 100 * BP * exp((1/N) sum_n log p_n)``, a geometric mean, so a
single order without any match gives 0 unless a smoothing is asked for.
Precision alone rewards short, safe outputs; the brevity penalty is what stops
that, and clipping is what stops "the the the the" from scoring.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

__all__ = ["BleuStats", "ngrams", "clipped_counts", "bleu_stats", "corpus_bleu", "sentence_bleu"]


@dataclass(frozen=True)
class BleuStats:
    """Everything BLEU is made of, for a corpus (or one sentence).

    ``matches[n-1]`` / ``totals[n-1]`` are the clipped matches and the number of
    hypothesis n-grams of order ``n``; ``precisions`` are on a 0..100 scale
    (after smoothing, if any); ``score`` is BLEU on a 0..100 scale.
    """

    matches: tuple[int, ...]
    totals: tuple[int, ...]
    precisions: tuple[float, ...]
    brevity_penalty: float
    hyp_len: int
    ref_len: int
    score: float


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """Counts of the n-grams (as tuples) of ``tokens``."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def clipped_counts(hypothesis: Sequence[str], references: Sequence[Sequence[str]],
                   n: int) -> tuple[int, int]:
    """Return ``(clipped matches, hypothesis n-grams)`` of order ``n`` for one sentence."""
    hyp = ngrams(hypothesis, n)
    best: Counter = Counter()
    for ref in references:
        best |= ngrams(ref, n)          # element-wise maximum over references
    matches = sum(min(count, best[g]) for g, count in hyp.items())
    return matches, max(0, len(hypothesis) - n + 1)


def closest_ref_len(hyp_len: int, references: Sequence[Sequence[str]]) -> int:
    """Length of the reference closest in length to the hypothesis (shorter on ties)."""
    return min((abs(len(r) - hyp_len), len(r)) for r in references)[1]


def brevity_penalty(hyp_len: int, ref_len: int) -> float:
    """``1`` if the hypotheses are longer than the references, else ``exp(1 - r/c)``."""
    if hyp_len > ref_len:
        return 1.0
    return math.exp(1.0 - ref_len / hyp_len) if hyp_len > 0 else 0.0


def _check(hypotheses: object, references: object, max_n: int) -> None:
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence):
        raise ValueError("hypotheses must be a list of token lists, e.g. [['a', 'cat']], "
                         f"got {type(hypotheses).__name__}")
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise ValueError("references must be a list (one entry per hypothesis) of lists of "
                         f"reference token lists, got {type(references).__name__}")
    if len(hypotheses) != len(references):
        raise ValueError(f"need one list of references per hypothesis: got {len(hypotheses)} "
                         f"hypotheses and {len(references)} reference lists")
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
        if isinstance(hyp, str):
            raise ValueError(f"hypothesis {i} must be a list of tokens, got the string {hyp!r} "
                             "(split it first)")
        if isinstance(refs, str) or len(refs) == 0 or any(isinstance(r, str) for r in refs):
            raise ValueError(f"references[{i}] must be a non-empty list of token lists, "
                             f"e.g. [['a', 'cat']], got {refs!r}")
    if not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"max_n must be a positive integer, got {max_n!r}")


def bleu_stats(hypotheses: Sequence[Sequence[str]],
               references: Sequence[Sequence[Sequence[str]]],
               max_n: int = 4, smooth: str = "none",
               effective_order: bool = False) -> BleuStats:
    """Clipped n-gram precisions, brevity penalty and BLEU of a corpus.

    Args:
        hypotheses: ``H`` token lists.
        references: ``H`` lists, each holding one or more reference token lists.
        max_n: highest n-gram order ``N``.
        smooth: ``"none"`` (the definition) or ``"exp"`` (sacrebleu's default:
            the k-th order without any match gets precision ``1 / (2^k totals_n)``).
        effective_order: average only over the orders the hypotheses have
            n-grams of (sacrebleu's ``sentence_bleu`` does this for short sentences).
    """
    _check(hypotheses, references, max_n)
    if smooth not in ("none", "exp"):
        raise ValueError(f"smooth must be 'none' or 'exp', got {smooth!r}")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references):
        hyp_len += len(hyp)
        ref_len += closest_ref_len(len(hyp), refs)
        for n in range(1, max_n + 1):
            m, t = clipped_counts(hyp, refs, n)
            matches[n - 1] += m
            totals[n - 1] += t
    bp = brevity_penalty(hyp_len, ref_len)
    precisions = [0.0] * max_n
    order, halvings = max_n, 1.0
    for n in range(1, max_n + 1):
        if totals[n - 1] == 0:
            break
        if effective_order:
            order = n
        if matches[n - 1] > 0:
            precisions[n - 1] = 100.0 * matches[n - 1] / totals[n - 1]
        elif smooth == "exp":
            halvings *= 2.0
            precisions[n - 1] = 100.0 / (halvings * totals[n - 1])
    if hyp_len == 0 or any(p == 0.0 for p in precisions[:order]):
        score = 0.0
    else:
        score = bp * math.exp(sum(math.log(p) for p in precisions[:order]) / order)
    return BleuStats(tuple(matches), tuple(totals), tuple(precisions), bp, hyp_len, ref_len,
                     score)


def corpus_bleu(hypotheses: Sequence[Sequence[str]],
                references: Sequence[Sequence[Sequence[str]]],
                max_n: int = 4, smooth: str = "none") -> float:
    """Corpus BLEU on a 0..100 scale (sacrebleu's ``corpus_bleu`` with ``tokenize='none'``;
    identical to it whenever every order has a match, whatever the smoothing)."""
    return bleu_stats(hypotheses, references, max_n, smooth).score


def sentence_bleu(hypothesis: Sequence[str], references: Sequence[Sequence[str]],
                  max_n: int = 4, smooth: str = "exp") -> float:
    """BLEU of one sentence, smoothed and with effective order like sacrebleu's
    ``sentence_bleu`` (unsmoothed sentence BLEU is 0 for most short sentences)."""
    return bleu_stats([hypothesis], [references], max_n, smooth, effective_order=True).score
