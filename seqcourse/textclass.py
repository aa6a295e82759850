"""Sequence -> label without order: bag-of-n-grams text classification.

The fastText recipe: give every feature (a word, or an n-gram of words) an
embedding in R^d, average the embeddings of a document's features, and apply a
linear classifier.  Word order is thrown away, except the little that the
n-grams keep; for many classification tasks that is enough, and it is fast.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from .ngram import check_sentences

__all__ = ["ngrams", "bag_of_ngrams", "NGramFeaturizer", "FastTextClassifier"]


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """All contiguous n-grams of ``tokens``, in order: ``len(tokens) - n + 1`` tuples
    (none when the sequence is shorter than ``n``)."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def bag_of_ngrams(tokens: Sequence[str], orders: Iterable[int] = (1, 2)) -> Counter:
    """Counts of every n-gram of ``tokens`` for each ``n`` in ``orders``."""
    bag: Counter = Counter()
    for n in orders:
        bag.update(ngrams(tokens, n))
    return bag


class NGramFeaturizer:
    """Maps documents to feature indices (for embeddings) or count vectors.

    Args:
        orders: which n-gram lengths to use, e.g. ``(1,)`` or ``(1, 2)``.
        min_count: features seen fewer times in training are dropped.
    """

    def __init__(self, orders: Sequence[int] = (1, 2), min_count: int = 1) -> None:
        if not orders or any(not isinstance(n, int) or n < 1 for n in orders):
            raise ValueError(f"orders must be a non-empty sequence of integers >= 1, got {orders!r}")
        self.orders = tuple(orders)
        self.min_count = min_count
        self.index: dict[tuple[str, ...], int] = {}

    def fit(self, docs: Sequence[Sequence[str]]) -> "NGramFeaturizer":
        docs = check_sentences(docs, "docs")
        totals: Counter = Counter()
        for doc in docs:
            totals.update(bag_of_ngrams(doc, self.orders))
        kept = sorted(f for f, c in totals.items() if c >= self.min_count)
        if not kept:
            raise ValueError("no feature survived: the documents are empty or min_count is too high")
        self.index = {f: i for i, f in enumerate(kept)}
        return self

    @property
    def n_features(self) -> int:
        return len(self.index)

    def feature_ids(self, doc: Sequence[str]) -> list[int]:
        """Indices of the known features of one document (with repetitions)."""
        return [self.index[f] for f, c in bag_of_ngrams(doc, self.orders).items()
                if f in self.index for _ in range(c)]

    def counts(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """Count matrix (N, F): entry (i, j) is how often feature j occurs in doc i."""
        docs = check_sentences(docs, "docs")
        out = np.zeros((len(docs), self.n_features))
        for i, doc in enumerate(docs):
            for j in self.feature_ids(doc):
                out[i, j] += 1
        return out

    def bags(self, docs: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The (ids, offsets) pair that :class:`torch.nn.EmbeddingBag` takes.

        A document with no known feature gets an empty bag (a zero average).
        """
        docs = check_sentences(docs, "docs")
        ids, offsets = [], []
        for doc in docs:
            offsets.append(len(ids))
            ids.extend(self.feature_ids(doc))
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


class FastTextClassifier(nn.Module):
    """Average of feature embeddings followed by a linear layer.

    ``forward(ids, offsets)`` returns logits (N, n_classes).
    """

    def __init__(self, n_features: int, n_classes: int, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.EmbeddingBag(n_features, dim, mode="mean")
        self.linear = nn.Linear(dim, n_classes)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.linear(self.embed(ids, offsets))
