"""Counting language models: n-grams with add-k smoothing.

Under the Markov assumption of order ``n - 1`` a word depends only on the
``n - 1`` words before it::

    P(w_t | w_1 .. w_{t-1})  ~=  P(w_t | w_{t-n+1} .. w_{t-1})

and the maximum-likelihood estimate of that table is a ratio of counts.  Add-k
smoothing pretends every word was seen ``k`` extra times after every context::

    P(w | c) = (count(c, w) + k) / (count(c) + k |V|)

Each sentence is padded with ``n - 1`` start symbols ``<s>`` and one end symbol
``</s>``, so that the model also predicts where a sentence stops.  The
vocabulary ``V`` is every word of the training data, plus ``</s>`` and the
unknown word ``<unk>`` (test words never seen in training map to it).  ``<s>``
is only ever a context, never a prediction.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterable, Sequence

import numpy as np

BOS, EOS, UNK = "<s>", "</s>", "<unk>"

__all__ = ["NGramLM", "BOS", "EOS", "UNK", "check_sentences"]


def check_sentences(sentences: object, name: str = "sentences") -> list[list[str]]:
    """Validate a corpus: a non-empty list of sentences, each a list of str tokens."""
    if isinstance(sentences, str):
        raise ValueError(
            f"{name} must be a list of tokenised sentences (lists of str), got a single str; "
            "try [s.split() for s in text.splitlines()]"
        )
    try:
        sentences = list(sentences)  # type: ignore[arg-type]
    except TypeError as err:
        raise ValueError(f"{name} must be a list of sentences, got {type(sentences).__name__}") from err
    out = []
    for i, sent in enumerate(sentences):
        if isinstance(sent, str):
            raise ValueError(
                f"{name}[{i}] must be a list of tokens, got the str {sent[:30]!r}; "
                "split it first, e.g. sentence.split()"
            )
        sent = list(sent)
        bad = [tok for tok in sent if not isinstance(tok, str)]
        if bad:
            raise ValueError(f"{name}[{i}] must contain only str tokens, got {bad[0]!r}")
        out.append(sent)
    return out


class NGramLM:
    """An n-gram language model with add-k smoothing.

    Args:
        n: order of the model (1 = unigram, 2 = bigram, ...).
        k: pseudo-count added to every (context, word) pair; ``k = 0`` is the
            unsmoothed maximum-likelihood model.

    After :meth:`fit`, ``vocab`` is the sorted list of words the model can
    predict, and for every context ``sum(prob(w, context) for w in vocab)`` is 1.
    """

    def __init__(self, n: int = 2, k: float = 1.0) -> None:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        if not isinstance(k, (int, float, np.number)) or not math.isfinite(k) or k < 0:
            raise ValueError(f"k must be a finite number >= 0, got {k!r}")
        self.n = int(n)
        self.k = float(k)
        self.vocab: list[str] = []
        self._index: dict[str, int] = {}
        self.counts: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        self.context_counts: Counter[tuple[str, ...]] = Counter()

    # -- training ---------------------------------------------------------
    def fit(self, sentences: Iterable[Sequence[str]]) -> "NGramLM":
        """Count n-grams in a list of tokenised sentences; returns ``self``."""
        sentences = check_sentences(sentences)
        words = {tok for sent in sentences for tok in sent}
        if not sentences or not any(sentences):
            raise ValueError(
                f"cannot fit an n-gram model on an empty corpus: got {len(sentences)} "
                "sentence(s) with no tokens"
            )
        if BOS in words:
            raise ValueError(f"the start symbol {BOS!r} must not appear inside a sentence")
        self.vocab = sorted(words | {EOS, UNK})
        self._index = {w: i for i, w in enumerate(self.vocab)}
        self.counts = defaultdict(Counter)
        self.context_counts = Counter()
        for sent in sentences:
            for context, word in self._events(sent):
                self.counts[context][word] += 1
                self.context_counts[context] += 1
        return self

    def _events(self, sentence: Sequence[str]) -> Iterable[tuple[tuple[str, ...], str]]:
        """Yield every (context, word) pair of a padded sentence, end symbol included."""
        padded = [BOS] * (self.n - 1) + list(sentence) + [EOS]
        for t in range(self.n - 1, len(padded)):
            yield tuple(padded[t - self.n + 1 : t]), padded[t]

    def _require_fit(self) -> None:
        if not self.vocab:
            raise ValueError("this model has not been fitted yet: call fit(sentences) first")

    def _map_unknown(self, word: str) -> str:
        return word if word in self._index else UNK

    # -- probabilities ----------------------------------------------------
    def prob(self, word: str, context: Sequence[str] = ()) -> float:
        """P(word | context). Only the last ``n - 1`` words of ``context`` matter;
        a shorter context is padded with ``<s>`` (a sentence start)."""
        self._require_fit()
        if isinstance(context, str):
            raise ValueError(f"context must be a sequence of tokens, got the str {context!r}")
        ctx = self._context(context)
        word = self._map_unknown(word)
        numer = self.counts[ctx][word] + self.k if ctx in self.counts else self.k
        denom = self.context_counts[ctx] + self.k * len(self.vocab)
        if denom == 0:  # k = 0 and a context never seen: no evidence at all
            return 1.0 / len(self.vocab)
        return numer / denom

    def distribution(self, context: Sequence[str] = ()) -> np.ndarray:
        """The whole next-word distribution after ``context``, aligned with ``vocab``."""
        self._require_fit()
        ctx = self._context(context)
        denom = self.context_counts[ctx] + self.k * len(self.vocab)
        if denom == 0:
            return np.full(len(self.vocab), 1.0 / len(self.vocab))
        counts = np.full(len(self.vocab), self.k)
        for word, c in self.counts.get(ctx, {}).items():
            counts[self._index[word]] += c
        return counts / denom

    def _context(self, context: Sequence[str]) -> tuple[str, ...]:
        if self.n == 1:
            return ()
        ctx = [c if c == BOS else self._map_unknown(c) for c in context][-(self.n - 1) :]
        return tuple([BOS] * (self.n - 1 - len(ctx)) + ctx)

    def logprob(self, sentence: Sequence[str]) -> float:
        """Natural log of P(sentence), the end symbol included (``-inf`` if impossible)."""
        self._require_fit()
        (sentence,) = check_sentences([sentence], "sentence")
        total = 0.0
        for context, word in self._events(sentence):
            p = self.prob(word, context)
            if p == 0.0:
                return -math.inf
            total += math.log(p)
        return total

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """exp(-(total log-probability) / (number of predicted tokens)).

        Every sentence predicts ``len(sentence) + 1`` tokens (its words and the
        end symbol).  A uniform model over ``V`` words has perplexity ``|V|``.
        """
        sentences = check_sentences(sentences)
        n_tokens = sum(len(s) + 1 for s in sentences)
        if n_tokens == 0:
            raise ValueError("perplexity needs at least one sentence, got an empty list")
        total = sum(self.logprob(s) for s in sentences)
        return math.exp(-total / n_tokens)

    # -- generation -------------------------------------------------------
    def generate(
        self,
        rng: np.random.Generator,
        max_len: int = 30,
        context: Sequence[str] = (),
    ) -> list[str]:
        """Sample words after ``context`` until ``</s>`` or ``max_len`` words.

        ``<unk>`` is never emitted (its probability is renormalised away).
        Returns the generated words, without the end symbol.
        """
        self._require_fit()
        history = list(context)
        out: list[str] = []
        unk = self._index[UNK]
        for _ in range(max_len):
            p = self.distribution(history)
            p[unk] = 0.0
            if p.sum() == 0:
                break
            word = self.vocab[rng.choice(len(p), p=p / p.sum())]
            if word == EOS:
                break
            out.append(word)
            history.append(word)
        return out

    def __repr__(self) -> str:
        return f"NGramLM(n={self.n}, k={self.k}, |V|={len(self.vocab)})"
