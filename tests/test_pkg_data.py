"""seqcourse.data: every generator is seeded, well-shaped and has the promised structure."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from seqcourse import data
from seqcourse.data import (
    NEGATIVE_WORDS,
    NER_LABELS,
    POSITIVE_WORDS,
    agreement_probes,
    moving_object,
    sentiment_reviews,
    sine_mixture,
    surf_corpus,
    who_plays_first,
)
from seqcourse.kalman import constant_velocity_model

POS, NEG = set(POSITIVE_WORDS), set(NEGATIVE_WORDS)


def _rng(seed):
    return np.random.default_rng(seed)


# -- reproducibility -----------------------------------------------------------------
GENERATORS = {
    "moving_object": lambda rng: moving_object(37, rng, dims=3),
    "sine_mixture": lambda rng: sine_mixture(53, rng),
    "sentiment_hinge": lambda rng: sentiment_reviews(41, rng, kind="hinge"),
    "sentiment_plain": lambda rng: sentiment_reviews(41, rng, kind="plain"),
    "surf_corpus": lambda rng: surf_corpus(43, rng),
}


def _flatten(value):
    """Anything the generators return, as one comparable list."""
    if isinstance(value, np.ndarray):
        return [value.shape, value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_flatten(v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_data_other_seed_other_data(name):
    gen = GENERATORS[name]
    a, b, c = gen(_rng(5)), gen(_rng(5)), gen(_rng(6))
    assert _flatten(a) == _flatten(b)
    assert _flatten(a) != _flatten(c)


def test_shapes():
    states, zs = moving_object(37, _rng(0), dims=3)
    assert states.shape == (37, 6) and zs.shape == (37, 3)
    states, zs = moving_object(29, _rng(0))
    assert states.shape == (29, 4) and zs.shape == (29, 2)
    assert sine_mixture(53, _rng(0)).shape == (53,)
    docs, labels = sentiment_reviews(41, _rng(0))
    assert len(docs) == 41 and labels.shape == (41,) and labels.dtype.kind == "i"
    assert all(isinstance(d, list) and all(isinstance(t, str) for t in d) for d in docs)
    sents = surf_corpus(43, _rng(0))
    assert len(sents) == 43 and all(isinstance(t, str) for s in sents for t in s)


# -- moving object -------------------------------------------------------------------
def test_moving_object_noise_statistics():
    dt, q, r = 0.5, 0.2, 3.0
    states, zs = moving_object(20000, _rng(1), dt=dt, process_noise=q, measurement_noise=r)
    resid = zs - states[:, :2]
    np.testing.assert_allclose(resid.std(axis=0), r, rtol=0.03)
    np.testing.assert_allclose(resid.mean(axis=0), 0.0, atol=0.1)
    # the state moves exactly as the constant-velocity model says: w_t ~ N(0, Q)
    m = constant_velocity_model(dt, q, r)
    w = states[1:] - states[:-1] @ m["F"].T
    emp_Q = np.cov(w.T)
    np.testing.assert_allclose(emp_Q, m["Q"], atol=0.05 * np.abs(m["Q"]).max())


def test_sine_mixture_noise_and_components():
    clean = sine_mixture(3000, _rng(2), periods=(20.0,), amplitudes=(2.0,), noise=0.0)
    # one sinusoid of amplitude 2: x_t = 2 cos(w) x_{t-1} - x_{t-2}, max |x| -> 2
    w = 2 * np.pi / 20
    np.testing.assert_allclose(clean[2:], 2 * np.cos(w) * clean[1:-1] - clean[:-2], atol=1e-9)
    assert np.abs(clean).max() == pytest.approx(2.0, rel=0.01)
    noisy = sine_mixture(20000, _rng(3), periods=(20.0,), amplitudes=(0.0,), noise=0.7)
    assert noisy.std() == pytest.approx(0.7, rel=0.03)


# -- sentiment -----------------------------------------------------------------------
REJECT_CUES = {"not", "never", "expected"}


def _hinge_label(doc):
    """Independent labeller: the polar word right after a rejecting cue is the one the
    review rejects; the other polar word is the verdict."""
    polar = [i for i, t in enumerate(doc) if t in POS | NEG]
    assert len(polar) == 2, doc
    rejected = [i for i in polar if i > 0 and doc[i - 1] in REJECT_CUES]
    assert len(rejected) == 1, doc
    (kept,) = [i for i in polar if i != rejected[0]]
    return 1 if doc[kept] in POS else 0


def test_sentiment_hinge_swap_flips_label_keeps_bag():
    docs, labels = sentiment_reviews(600, _rng(4), kind="hinge")
    for doc, label in zip(docs, labels):
        pos = [t for t in doc if t in POS]
        neg = [t for t in doc if t in NEG]
        assert len(pos) == 1 and len(neg) == 1, doc
        assert _hinge_label(doc) == label
        swap = {pos[0]: neg[0], neg[0]: pos[0]}
        swapped = [swap.get(t, t) for t in doc]
        assert Counter(swapped) == Counter(doc)
        assert _hinge_label(swapped) == 1 - label


def test_sentiment_hinge_unigrams_carry_no_signal():
    """Every bag of words occurs with both labels (up to sampling)."""
    docs, labels = sentiment_reviews(6000, _rng(5), kind="hinge")
    by_bag = {}
    for doc, y in zip(docs, labels):
        by_bag.setdefault(frozenset(Counter(doc).items()), []).append(int(y))
    frac = np.array([np.mean(v) for v in by_bag.values() if len(v) >= 8])
    assert len(frac) > 50
    # with no signal, label means within a bag scatter around 1/2
    assert abs(frac.mean() - 0.5) < 0.05
    assert np.mean((frac == 0) | (frac == 1)) < 0.1


def test_sentiment_plain_label_is_polarity_of_words():
    docs, labels = sentiment_reviews(500, _rng(6), kind="plain")
    for doc, label in zip(docs, labels):
        polar = [t for t in doc if t in POS | NEG]
        assert polar, doc
        assert all((t in POS) == bool(label) for t in polar), (doc, label)


@pytest.mark.parametrize("kind", ["hinge", "plain"])
def test_sentiment_labels_balanced(kind):
    _, labels = sentiment_reviews(4000, _rng(7), kind=kind)
    assert set(np.unique(labels)) == {0, 1}
    assert labels.mean() == pytest.approx(0.5, abs=0.04)


def test_sentiment_bad_kind():
    with pytest.raises(ValueError, match=r"kind must be 'hinge' or 'plain', got 'bigram'"):
        sentiment_reviews(3, _rng(0), kind="bigram")


# -- surf corpus ---------------------------------------------------------------------
SINGULAR = {"surfer": ("wave", "board"), "jockey": ("horse", "pony"),
            "sailor": ("ferry", "boat"), "child": ("bike", "swing"),
            "pilot": ("plane", "glider")}
PLURAL = {"surfers": "surfer", "jockeys": "jockey", "sailors": "sailor",
          "children": "child", "pilots": "pilot"}


def test_surf_corpus_agreement_and_rides():
    sents = surf_corpus(3000, _rng(8))
    kinds = Counter()
    for s in sents:
        assert s[0] == "the"
        noun = s[1]
        assert noun in SINGULAR or noun in PLURAL, s
        if "rode" in s:
            kinds["rode"] += 1
            assert s[2:4] == ["rode", "the"]
            assert s[4] in SINGULAR[PLURAL.get(noun, noun)], s
            assert s[5:] in ([], ["today"], ["at", "dawn"], ["again"]), s
        else:
            kinds["agree"] += 1
            verb = [t for t in s if t in ("was", "were")]
            assert len(verb) == 1, s
            assert verb[0] == ("was" if noun in SINGULAR else "were"), s
            assert s.index(verb[0]) == len(s) - 2
    assert kinds["rode"] / len(sents) == pytest.approx(0.5, abs=0.05)
    # both numbers and all five nouns occur
    nouns = Counter(s[1] for s in sents)
    assert set(nouns) == set(SINGULAR) | set(PLURAL)


def test_agreement_probes():
    probes = agreement_probes()
    assert len(probes) == 5 * 2 * 4
    gaps = set()
    for prefix, verb, gap in probes:
        noun = prefix[1]
        assert prefix[0] == "the"
        assert verb == ("was" if noun in SINGULAR else "were")
        assert noun in PLURAL or noun in SINGULAR
        assert gap == len(prefix) - 2
        gaps.add(gap)
    assert gaps == {0, 3, 4, 6}


# -- named entities ------------------------------------------------------------------
def test_who_plays_first():
    tokens, labels = who_plays_first()
    assert len(tokens) == len(labels) == 8
    for toks, labs in zip(tokens, labels):
        assert len(toks) == len(labs) > 0
        assert set(np.unique(labs)) <= {0, 1, 2}
    assert set(NER_LABELS) == {0, 1, 2}
    # the point of the data set: "who" is sometimes a person, sometimes not
    who = {int(l) for toks, labs in zip(tokens, labels) for t, l in zip(toks, labs) if t == "who"}
    assert who == {0, 1}
    # places are the bases
    places = {t for toks, labs in zip(tokens, labels) for t, l in zip(toks, labs) if l == 2}
    assert places == {"first", "second", "third"}


def test_all_exports_exist():
    for name in data.__all__:
        assert hasattr(data, name), name
