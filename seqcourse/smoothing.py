"""Smoothing n-gram models with their lower orders, tuned on a development set.

Add-k (:class:`seqcourse.ngram.NGramLM`) spreads pseudo-counts evenly over the
vocabulary.  The two methods here instead borrow from shorter contexts, which
have more data.  Write ``c`` for the ``n - 1`` words before ``w``, ``c'`` for
``c`` without its first word, ``C(.)`` for training counts and ``|V|`` for the
vocabulary size.

Linear interpolation (Jelinek-Mercer) mixes maximum-likelihood estimates of
every order, from the uniform distribution (order 0) up to order ``n``::

    P(w | c) = l_0 / |V| + sum_{m=1..n} l_m P_ML(w | last m-1 words of c),
    l_m >= 0,  sum_m l_m = 1

with ``P_ML = C(c w) / C(c)`` (uniform for a context never seen).  A convex
mixture of distributions is a distribution.  The weights are chosen on
held-out data by EM (:func:`em_lambdas`), which never lowers the held-out
likelihood.

Interpolated Kneser-Ney subtracts a discount ``0 <= d <= 1`` from every seen
count and gives the mass it frees to the next lower order::

    P_KN(w | c) = max(C(c w) - d, 0) / C(c)  +  d N1+(c .) / C(c) * P_KN(w | c')

where ``N1+(c .)`` is the number of different words seen after ``c`` (the
weight makes the distribution sum to 1; a context never seen gives all its
mass to ``P_KN(w | c')``).  Every order below ``n`` counts *continuations*
instead of occurrences: ``C(c' w)`` is replaced by ``N1+(. c' w)``, the number
of different words seen just before ``c' w``.  A word that is frequent but
always follows the same word gets a small lower-order probability.  Order 0 is
uniform, ``1 / |V|``.

Unknown words: :func:`build_vocab` keeps the training words seen at least
``min_count`` times; :func:`map_unknown` replaces the others by ``<unk>``.
Perplexities are comparable only between models that share one vocabulary.

Sentences are padded as in :mod:`seqcourse.ngram` (``n - 1`` times ``<s>``,
one ``</s>``); every model predicts ``</s>`` and ``<unk>``, never ``<s>``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Callable, Iterable, Sequence, TypeVar

import numpy as np

from seqcourse.ngram import BOS, EOS, UNK, check_sentences

__all__ = [
    "split_corpus", "build_vocab", "map_unknown", "oov_rate", "CountingLM", "InterpolatedLM",
    "KneserNeyLM", "em_lambdas", "tune_on_dev",
]

Context = tuple[str, ...]
P = TypeVar("P")


# -- data: splits and vocabulary ----------------------------------------------------------------------
def split_corpus(
    sentences: Sequence[Sequence[str]],
    rng: np.random.Generator,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Shuffle ``sentences`` with ``rng`` and cut them into train, development and test.

    ``fractions`` are the three shares (non-negative, summing to 1); each part
    gets ``round(share * len)`` sentences, the test part what is left.
    """
    sentences = check_sentences(sentences)
    shares = [float(f) for f in fractions]
    if len(shares) != 3 or min(shares) < 0 or abs(sum(shares) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative shares summing to 1, got {tuple(fractions)!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    order = rng.permutation(len(sentences))
    n_train = round(shares[0] * len(sentences))
    n_dev = round(shares[1] * len(sentences))
    parts = order[:n_train], order[n_train:n_train + n_dev], order[n_train + n_dev:]
    train, dev, test = ([list(sentences[i]) for i in part] for part in parts)
    return train, dev, test


def build_vocab(sentences: Iterable[Sequence[str]], min_count: int = 1) -> list[str]:
    """The sorted vocabulary of a training corpus: every word seen at least
    ``min_count`` times, plus ``</s>`` and ``<unk>``."""
    sentences = check_sentences(sentences)
    if not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool) or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    counts = Counter(tok for sent in sentences for tok in sent)
    if BOS in counts:
        raise ValueError(f"the start symbol {BOS!r} must not appear inside a sentence")
    return sorted({w for w, c in counts.items() if c >= min_count} | {EOS, UNK})


def map_unknown(sentences: Iterable[Sequence[str]], vocab: Iterable[str]) -> list[list[str]]:
    """A copy of ``sentences`` with every word outside ``vocab`` replaced by ``<unk>``."""
    sentences = check_sentences(sentences)
    known = set(vocab)
    return [[tok if tok in known else UNK for tok in sent] for sent in sentences]


def oov_rate(sentences: Iterable[Sequence[str]], vocab: Iterable[str]) -> float:
    """Fraction of the word tokens of ``sentences`` (``</s>`` not counted) outside ``vocab``."""
    sentences = check_sentences(sentences)
    known = set(vocab) - {UNK}
    n_words = sum(len(s) for s in sentences)
    if n_words == 0:
        raise ValueError("oov_rate needs at least one word, got sentences with no tokens")
    return sum(tok not in known for sent in sentences for tok in sent) / n_words


# -- the common machinery: counts of every order ----------------------------------------------------
class CountingLM:
    """Counts of every order ``1..n`` and everything a smoothed model needs besides ``prob``.

    After :meth:`fit`, ``counts[m][ctx][w]`` is the number of times ``w``
    followed the ``m - 1`` words ``ctx`` in the padded training sentences
    (``m = 1..n``), and ``vocab`` the sorted list of predictable words.
    Subclasses implement :meth:`prob`; for every context,
    ``sum(prob(w, context) for w in vocab) == 1``.
    """

    def __init__(self, n: int = 2) -> None:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        self.n = int(n)
        self.vocab: list[str] = []
        self._index: dict[str, int] = {}
        self.counts: list[dict[Context, Counter[str]]] = []
        self.totals: list[dict[Context, int]] = []

    def fit(self, sentences: Iterable[Sequence[str]], vocab: Iterable[str] | None = None) -> "CountingLM":
        """Count the n-grams of ``sentences``; returns ``self``.

        ``vocab`` (default: :func:`build_vocab` of the sentences) fixes what the
        model predicts; training words outside it are counted as ``<unk>``.
        """
        sentences = check_sentences(sentences)
        if not any(sentences):
            raise ValueError(f"cannot fit on an empty corpus: got {len(sentences)} sentence(s) with no tokens")
        vocab = build_vocab(sentences) if vocab is None else sorted(set(vocab) | {EOS, UNK})
        if BOS in vocab:
            raise ValueError(f"the vocabulary must not contain the start symbol {BOS!r}")
        self.vocab = vocab
        self._index = {w: i for i, w in enumerate(vocab)}
        self.counts = [{} for _ in range(self.n + 1)]          # index 0 unused
        for sent in map_unknown(sentences, vocab):
            for context, word in self._events(sent):
                for m in range(1, self.n + 1):
                    row = self.counts[m].setdefault(context[self.n - m:], Counter())
                    row[word] += 1
        self.totals = [{c: sum(row.values()) for c, row in table.items()} for table in self.counts]
        self._after_fit()
        return self

    def _after_fit(self) -> None:
        """Hook for subclasses: tables derived from the counts."""

    def _events(self, sentence: Sequence[str]) -> Iterable[tuple[Context, str]]:
        padded = [BOS] * (self.n - 1) + list(sentence) + [EOS]
        for t in range(self.n - 1, len(padded)):
            yield tuple(padded[t - self.n + 1:t]), padded[t]

    def _require_fit(self) -> None:
        if not self.vocab:
            raise ValueError("this model has not been fitted yet: call fit(sentences) first")

    def _context(self, context: Sequence[str]) -> Context:
        """The last ``n - 1`` words of ``context``, unknown words mapped, padded with ``<s>``."""
        if isinstance(context, str):
            raise ValueError(f"context must be a sequence of tokens, got the str {context!r}")
        if self.n == 1:
            return ()
        ctx = [c if c == BOS or c in self._index else UNK for c in context][-(self.n - 1):]
        return tuple([BOS] * (self.n - 1 - len(ctx)) + ctx)

    def _word(self, word: str) -> str:
        if not isinstance(word, str):
            raise ValueError(f"word must be a str, got {word!r}")
        if word == BOS:
            raise ValueError(f"{BOS!r} is never predicted: it is only a context")
        return word if word in self._index else UNK

    # -- what subclasses provide ------------------------------------------------------------------
    def _prob(self, word: str, ctx: Context) -> float:
        raise NotImplementedError

    # -- probabilities and evaluation -------------------------------------------------------------
    def prob(self, word: str, context: Sequence[str] = ()) -> float:
        """P(word | context); only the last ``n - 1`` words of ``context`` matter."""
        self._require_fit()
        return self._prob(self._word(word), self._context(context))

    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """Shape ``(|V|,)``: P(w | context) for every ``w`` of ``vocab``, in order."""
        self._require_fit()
        ctx = self._context(context)
        return np.array([self._prob(w, ctx) for w in self.vocab])

    def token_logprobs(self, sentences: Iterable[Sequence[str]]) -> np.ndarray:
        """Natural log-probability of every predicted token (words and each ``</s>``),
        sentence after sentence: shape ``(sum(len(s) + 1),)``."""
        self._require_fit()
        sentences = check_sentences(sentences)
        out = [self._prob(word, ctx) for sent in map_unknown(sentences, self.vocab)
               for ctx, word in self._events(sent)]
        with np.errstate(divide="ignore"):
            return np.log(np.array(out, dtype=float))

    def logprob(self, sentence: Sequence[str]) -> float:
        """Natural log of P(sentence), ``</s>`` included."""
        (sentence,) = check_sentences([sentence], "sentence")
        return float(self.token_logprobs([sentence]).sum())

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """exp(-mean log-probability per predicted token); ``inf`` if a token has probability 0."""
        sentences = check_sentences(sentences)
        if not sentences:
            raise ValueError("perplexity needs at least one sentence, got an empty list")
        return math.exp(-float(self.token_logprobs(sentences).mean()))

    def contexts(self) -> list[Context]:
        """Every context of length ``n - 1`` seen in training."""
        self._require_fit()
        return list(self.counts[self.n])


# -- linear interpolation --------------------------------------------------------------------------
class InterpolatedLM(CountingLM):
    """Linear interpolation of maximum-likelihood estimates of orders 0 (uniform) to ``n``.

    Args:
        n: the highest order.
        lambdas: ``n + 1`` non-negative weights summing to 1, ``lambdas[m]`` for
            order ``m`` (``lambdas[0]``: the uniform distribution).  Default: equal
            weights; :meth:`fit_lambdas` chooses them on development data.
    """

    def __init__(self, n: int = 2, lambdas: Sequence[float] | None = None) -> None:
        super().__init__(n)
        self.lambdas = np.full(self.n + 1, 1.0 / (self.n + 1)) if lambdas is None else self._check(lambdas)

    def _check(self, lambdas: Sequence[float]) -> np.ndarray:
        lam = np.asarray(lambdas, dtype=float)
        if lam.shape != (self.n + 1,):
            raise ValueError(f"lambdas must have n + 1 = {self.n + 1} entries (orders 0..{self.n}), "
                             f"got shape {lam.shape}")
        if not np.all(np.isfinite(lam)) or lam.min() < 0 or abs(lam.sum() - 1) > 1e-9:
            raise ValueError(f"lambdas must be non-negative and sum to 1, got {lam.tolist()}")
        return lam

    def set_lambdas(self, lambdas: Sequence[float]) -> "InterpolatedLM":
        """Replace the weights (validated); returns ``self``."""
        self.lambdas = self._check(lambdas)
        return self

    def _components(self, word: str, ctx: Context) -> list[float]:
        uniform = 1.0 / len(self.vocab)
        out = [uniform]
        for m in range(1, self.n + 1):
            c = ctx[self.n - m:]
            total = self.totals[m].get(c, 0)
            out.append(self.counts[m][c][word] / total if total else uniform)
        return out

    def _prob(self, word: str, ctx: Context) -> float:
        return float(np.dot(self.lambdas, self._components(word, ctx)))

    def components(self, sentences: Iterable[Sequence[str]]) -> np.ndarray:
        """Shape ``(N tokens, n + 1)``: each order's estimate of every predicted token."""
        self._require_fit()
        sentences = check_sentences(sentences)
        rows = [self._components(word, ctx) for sent in map_unknown(sentences, self.vocab)
                for ctx, word in self._events(sent)]
        return np.array(rows, dtype=float).reshape(-1, self.n + 1)

    def fit_lambdas(self, dev: Iterable[Sequence[str]], iterations: int = 200, tol: float = 1e-10) -> "InterpolatedLM":
        """Choose the weights that maximise the likelihood of ``dev`` (EM); returns ``self``."""
        self.lambdas = em_lambdas(self.components(dev), iterations=iterations, tol=tol)
        return self

    def __repr__(self) -> str:
        return f"InterpolatedLM(n={self.n}, lambdas={np.round(self.lambdas, 4).tolist()}, |V|={len(self.vocab)})"


def em_lambdas(components: np.ndarray, iterations: int = 200, tol: float = 1e-10,
               start: Sequence[float] | None = None) -> np.ndarray:
    """Mixture weights maximising ``sum_t log sum_m lambda_m components[t, m]`` by EM.

    Args:
        components: shape ``(N, M)``, non-negative; row ``t`` holds each
            component's probability of token ``t``.
        start: initial weights (default uniform), shape ``(M,)``.

    E-step: responsibilities ``r[t, m] = lambda_m p[t, m] / sum_m' lambda_m' p[t, m']``;
    M-step: ``lambda_m = mean_t r[t, m]``.  Stops after ``iterations`` steps or
    when no weight moves by more than ``tol``.  Returns shape ``(M,)``.
    """
    p = np.asarray(components, dtype=float)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"components must have shape (N tokens, M components), got shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0:
        raise ValueError("components must be finite probabilities >= 0")
    lam = np.full(p.shape[1], 1.0 / p.shape[1]) if start is None else np.asarray(start, dtype=float).copy()
    if lam.shape != (p.shape[1],) or lam.min() < 0 or abs(lam.sum() - 1) > 1e-9:
        raise ValueError(f"start must be {p.shape[1]} non-negative weights summing to 1, got {start!r}")
    mix = p @ lam
    if np.any(mix <= 0):
        raise ValueError(f"token {int(np.argmin(mix))} has probability 0 under every weighted component")
    for _ in range(iterations):
        new = (p * lam / mix[:, None]).mean(axis=0)
        new /= new.sum()
        done = np.abs(new - lam).max() < tol
        lam, mix = new, p @ new
        if done:
            break
    return lam


# -- interpolated Kneser-Ney ---------------------------------------------------------------------------
class KneserNeyLM(CountingLM):
    """Interpolated Kneser-Ney: absolute discounting with continuation counts below order ``n``.

    Args:
        n: the order.
        discount: ``d`` in ``[0, 1]``, one for all orders or a sequence of ``n``
            (``discount[m - 1]`` for order ``m``).

    After :meth:`fit`, ``kn_counts[m][ctx][w]`` is ``C(ctx w)`` for ``m = n`` and
    the continuation count ``N1+(. ctx w)`` for ``m < n``.
    """

    def __init__(self, n: int = 2, discount: float | Sequence[float] = 0.75) -> None:
        super().__init__(n)
        self.discounts = self._check(discount)
        self.kn_counts: list[dict[Context, Counter[str]]] = []
        self.kn_totals: list[dict[Context, int]] = []

    def _check(self, discount: float | Sequence[float]) -> np.ndarray:
        d = np.atleast_1d(np.asarray(discount, dtype=float))
        if d.shape == (1,):
            d = np.full(self.n, d[0])
        if d.shape != (self.n,):
            raise ValueError(f"discount must be one number or n = {self.n} numbers (orders 1..{self.n}), "
                             f"got shape {d.shape}")
        if not np.all(np.isfinite(d)) or d.min() < 0 or d.max() > 1:
            raise ValueError(f"discount must lie in [0, 1], got {d.tolist()}")
        return d

    def set_discount(self, discount: float | Sequence[float]) -> "KneserNeyLM":
        """Replace the discount(s) (validated); the counts stay; returns ``self``."""
        self.discounts = self._check(discount)
        return self

    def _after_fit(self) -> None:
        # continuation counts of order m: one for every distinct (m+1)-gram ending in (ctx, w)
        self.kn_counts = [{} for _ in range(self.n + 1)]
        self.kn_counts[self.n] = self.counts[self.n]
        for m in range(1, self.n):
            table: dict[Context, Counter[str]] = {}
            for longer, row in self.counts[m + 1].items():
                for word in row:
                    table.setdefault(longer[1:], Counter())[word] += 1
            self.kn_counts[m] = table
        self.kn_totals = [{c: sum(row.values()) for c, row in table.items()} for table in self.kn_counts]

    def _prob(self, word: str, ctx: Context) -> float:
        p = 1.0 / len(self.vocab)
        for m in range(1, self.n + 1):
            c = ctx[self.n - m:]
            total = self.kn_totals[m].get(c, 0)
            if total == 0:  # context never seen: its mass all goes to the lower order
                continue
            row, d = self.kn_counts[m][c], self.discounts[m - 1]
            p = max(row.get(word, 0) - d, 0.0) / total + d * len(row) / total * p
        return p

    def __repr__(self) -> str:
        return f"KneserNeyLM(n={self.n}, discount={self.discounts.tolist()}, |V|={len(self.vocab)})"


# -- choosing a hyper-parameter -------------------------------------------------------------------------
def tune_on_dev(make_model: Callable[[P], CountingLM], values: Iterable[P],
                dev: Sequence[Sequence[str]]) -> tuple[P, dict[P, float]]:
    """Evaluate ``make_model(v).perplexity(dev)`` for every ``v`` of ``values``.

    Returns the value with the lowest development perplexity (the first one on
    a tie) and the dictionary of all perplexities.  The test set plays no part.
    """
    values = list(values)
    if not values:
        raise ValueError("values must contain at least one candidate, got none")
    scores = {v: make_model(v).perplexity(dev) for v in values}
    best = min(values, key=lambda v: scores[v])
    return best, scores
