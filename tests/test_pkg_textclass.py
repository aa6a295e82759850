"""seqcourse.textclass: bag-of-n-grams features and the fastText classifier."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from seqcourse.textclass import FastTextClassifier, NGramFeaturizer, bag_of_ngrams, ngrams

DOCS = [
    "the film was not good , it was great".split(),
    "the plot was good good good".split(),
    "not bad".split(),
    "great".split(),
    [],
    "the the the the".split(),
]


def test_ngrams_count_and_content():
    toks = "a b c d e".split()
    for n in range(1, 8):
        grams = ngrams(toks, n)
        assert len(grams) == max(0, len(toks) - n + 1)
        for i, g in enumerate(grams):
            assert g == tuple(toks[i:i + n])
    assert ngrams(toks, 2) == [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]
    assert ngrams(["x"], 2) == []
    assert ngrams([], 1) == []
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 0"):
        ngrams(toks, 0)


def test_bag_of_ngrams_counts_repeats():
    bag = bag_of_ngrams("a b a b a".split(), orders=(1, 2, 3))
    assert bag[("a",)] == 3 and bag[("b",)] == 2
    assert bag[("a", "b")] == 2 and bag[("b", "a")] == 2
    assert bag[("a", "b", "a")] == 2 and bag[("b", "a", "b")] == 1
    assert sum(bag.values()) == 5 + 4 + 3
    assert set(bag_of_ngrams("a b".split(), orders=(2,))) == {("a", "b")}


def _brute_counts(docs, orders, min_count):
    totals = Counter()
    per_doc = []
    for doc in docs:
        c = Counter()
        for n in orders:
            for i in range(len(doc) - n + 1):
                c[tuple(doc[i:i + n])] += 1
        per_doc.append(c)
        totals.update(c)
    return per_doc, sorted(f for f, v in totals.items() if v >= min_count)


@pytest.mark.parametrize("orders, min_count", [((1,), 1), ((1, 2), 1), ((1, 2, 3), 1), ((2,), 2),
                                               ((1, 2), 3)])
def test_featurizer_counts_vs_brute_force(orders, min_count):
    feat = NGramFeaturizer(orders=orders, min_count=min_count).fit(DOCS)
    per_doc, kept = _brute_counts(DOCS, orders, min_count)
    assert sorted(feat.index) == kept and feat.n_features == len(kept)
    test_docs = DOCS + ["good good , it was not great".split(), ["unseen", "words"]]
    per_doc, _ = _brute_counts(test_docs, orders, 1)
    M = feat.counts(test_docs)
    assert M.shape == (len(test_docs), len(kept))
    for i, c in enumerate(per_doc):
        for f, col in feat.index.items():
            assert M[i, col] == pytest.approx(c.get(f, 0), abs=1e-12), (i, f)
    # unseen features are dropped
    assert M[-1].sum() == pytest.approx(0.0, abs=1e-12)


def test_bags_consistent_with_counts_and_embedding_bag():
    feat = NGramFeaturizer(orders=(1, 2)).fit(DOCS)
    test_docs = ["the plot was good good".split(), ["zzz"], "not bad great".split(),
                 "the the".split()]
    ids, offsets = feat.bags(test_docs)
    assert ids.dtype == torch.long and offsets.dtype == torch.long
    M = feat.counts(test_docs)
    assert offsets.tolist()[0] == 0 and len(offsets) == len(test_docs)
    ends = offsets.tolist()[1:] + [len(ids)]
    for i, (s, e) in enumerate(zip(offsets.tolist(), ends)):
        np.testing.assert_allclose(np.bincount(ids[s:e].numpy(), minlength=feat.n_features), M[i])
    # EmbeddingBag(mean) with one-hot embeddings gives the normalised counts
    F = feat.n_features
    bag = torch.nn.EmbeddingBag(F, F, mode="mean")
    with torch.no_grad():
        bag.weight.copy_(torch.eye(F))
    out = bag(ids, offsets).detach().double().numpy()
    totals = M.sum(axis=1, keepdims=True)
    expected = np.divide(M, totals, out=np.zeros_like(M), where=totals > 0)
    assert totals[1, 0] == pytest.approx(0.0, abs=1e-12)  # the empty bag averages to zero
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


def test_fasttext_classifier_output_shape_and_grad():
    torch.manual_seed(0)
    feat = NGramFeaturizer(orders=(1, 2)).fit(DOCS)
    model = FastTextClassifier(feat.n_features, n_classes=3, dim=5)
    docs = DOCS[:4] + [["unseen"]]
    ids, offsets = feat.bags(docs)
    logits = model(ids, offsets)
    assert logits.shape == (5, 3)
    logits.sum().backward()
    assert model.embed.weight.grad.shape == (feat.n_features, 5)
    # the empty bag yields just the bias of the linear layer
    torch.testing.assert_close(logits[4], model.linear.bias, rtol=1e-6, atol=1e-6)


def test_fasttext_learns_a_bigram_rule():
    """With bigrams the classifier separates 'not good' from 'was good'."""
    torch.manual_seed(0)
    docs = [["was", "good"], ["not", "good"], ["was", "bad"], ["not", "bad"]] * 4
    labels = torch.tensor([1, 0, 0, 1] * 4)
    feat = NGramFeaturizer(orders=(1, 2)).fit(docs)
    model = FastTextClassifier(feat.n_features, 2, dim=8)
    ids, offsets = feat.bags(docs)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(ids, offsets), labels)
        loss.backward()
        opt.step()
    assert (model(ids, offsets).argmax(1) == labels).all()


def test_featurizer_errors():
    with pytest.raises(ValueError, match=r"orders must be a non-empty sequence.*got \(\)"):
        NGramFeaturizer(orders=())
    with pytest.raises(ValueError, match=r"got \(1, 0\)"):
        NGramFeaturizer(orders=(1, 0))
    with pytest.raises(ValueError, match="no feature survived"):
        NGramFeaturizer(min_count=100).fit(DOCS)
    with pytest.raises(ValueError, match=r"docs\[0\] must be a list of tokens"):
        NGramFeaturizer().fit(["a plain string"])
