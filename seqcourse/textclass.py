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

__all__ = [
    "ngrams",
    "bag_of_ngrams",
    "NGramFeaturizer",
    "FastTextClassifier",
    "train_fasttext",
    "predict_labels",
    "accuracy",
    "train_and_evaluate",
]


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


# -- training and evaluation, shared by lecture 01 and its tests -------------
def _check_docs_labels(docs: Sequence[Sequence[str]], labels: object, name: str) -> torch.Tensor:
    """Validate a (docs, labels) pair and return the labels as a long tensor (N,)."""
    docs = check_sentences(docs, name)
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(docs):
        raise ValueError(
            f"{name}: expected one label per document, i.e. labels of shape ({len(docs)},), "
            f"got shape {y.shape}"
        )
    if len(y) == 0:
        raise ValueError(f"{name}: expected at least one document, got none")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(f"{name}: labels must be non-negative integers, got dtype {y.dtype}")
    return torch.as_tensor(y, dtype=torch.long)


def train_fasttext(
    docs: Sequence[Sequence[str]],
    labels: object,
    orders: Sequence[int] = (1, 2),
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
    epochs: int = 60,
    dim: int = 16,
    lr: float = 0.05,
    progress: bool = True,
) -> tuple[NGramFeaturizer, FastTextClassifier]:
    """Fit a featurizer and train a :class:`FastTextClassifier` on ``docs``.

    Full-batch Adam on the cross entropy, ``epochs`` steps, through
    :func:`seqcourse.training.fit` (which shows a progress bar).

    Args:
        docs: N tokenised documents.
        labels: N integer class labels (N,); the number of classes is ``max + 1``.
        orders: the n-gram lengths to bag, e.g. ``(1,)`` or ``(1, 2)``.
        seed: seeds torch before the weights are drawn, so a call repeats exactly.
        device: where to train (default: CPU).

    Returns:
        The fitted featurizer and the trained model (float64, left on ``device``, in eval mode).
    """
    from .training import fit

    y = _check_docs_labels(docs, labels, "train docs")
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    featurizer = NGramFeaturizer(orders=tuple(orders)).fit(docs)
    ids, offsets = featurizer.bags(docs)
    torch.manual_seed(int(seed))
    # float64, with initial weights from NumPy's generator (bit-identical on every processor;
    # torch's normal_ and uniform_ round differently with different vector instructions): a
    # small model, and its accuracies then come out the same on any machine
    model = FastTextClassifier(featurizer.n_features, int(y.max()) + 1, dim=dim).to(torch.float64)
    gen = np.random.default_rng(int(seed))
    bound = 1.0 / np.sqrt(dim)
    with torch.no_grad():
        model.embed.weight.copy_(torch.as_tensor(gen.standard_normal(tuple(model.embed.weight.shape))))
        model.linear.weight.copy_(torch.as_tensor(gen.uniform(-bound, bound, tuple(model.linear.weight.shape))))
        model.linear.bias.copy_(torch.as_tensor(gen.uniform(-bound, bound, tuple(model.linear.bias.shape))))
    model.to(device)

    def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        b_ids, b_offsets, b_y = batch
        return nn.functional.cross_entropy(m(b_ids, b_offsets), b_y)

    fit(model, loss_fn, [(ids, offsets, y)], epochs=int(epochs), lr=lr, device=device,
        progress=progress, desc=f"fastText orders={tuple(orders)}")
    model.eval()
    return featurizer, model


@torch.no_grad()
def predict_labels(
    featurizer: NGramFeaturizer, model: FastTextClassifier, docs: Sequence[Sequence[str]]
) -> np.ndarray:
    """Predicted class of every document: integer array (N,), on the CPU."""
    ids, offsets = featurizer.bags(docs)
    dev = next(model.parameters()).device
    model.eval()
    logits = model(ids.to(dev), offsets.to(dev))
    return logits.argmax(dim=1).cpu().numpy()


def accuracy(
    featurizer: NGramFeaturizer,
    model: FastTextClassifier,
    docs: Sequence[Sequence[str]],
    labels: object,
) -> float:
    """Fraction of ``docs`` whose predicted class equals ``labels`` (N,)."""
    y = _check_docs_labels(docs, labels, "docs").numpy()
    return float((predict_labels(featurizer, model, docs) == y).mean())


def train_and_evaluate(
    train_docs: Sequence[Sequence[str]],
    train_labels: object,
    test_docs: Sequence[Sequence[str]],
    test_labels: object,
    orders: Sequence[int],
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
    epochs: int = 60,
    dim: int = 16,
    lr: float = 0.05,
    progress: bool = True,
) -> float:
    """Train on the training documents (see :func:`train_fasttext`) and return
    the accuracy on the test documents, a float in [0, 1]."""
    featurizer, model = train_fasttext(train_docs, train_labels, orders, seed=seed,
                                       device=device, epochs=epochs, dim=dim, lr=lr,
                                       progress=progress)
    return accuracy(featurizer, model, test_docs, test_labels)
