"""seqcourse.smoothing: interpolation and Kneser-Ney against slow textbook formulas and brute force.

NLTK is not installed, so the reference here is a direct, deliberately naive transcription of the
formulas (Jurafsky & Martin, n-gram chapter): every count is found by scanning the list of all
n-grams of the padded corpus, with no shared tables.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from seqcourse.ngram import BOS, EOS, UNK, NGramLM
from seqcourse.smoothing import (CountingLM, InterpolatedLM, KneserNeyLM, build_vocab, em_lambdas,
                                 map_unknown, oov_rate, split_corpus, tune_on_dev)

CORPUS = [
    "new zealand".split(),
    "new zealand".split(),
    "a red boat".split(),
    "a new boat".split(),
    "the red boat".split(),
]

# a second corpus with repeats, several lengths and a word seen once (-> <unk> with min_count 2)
RICH = [s.split() for s in (
    "a b c a", "b c c", "a a b", "c b a d", "b", "a c b c a", "d d a", "c a b e", "b b c a")]


# -- the slow reference: formulas applied to a flat list of n-grams ------------------------------------
def padded_ngrams(sentences, n, m):
    """Every m-gram (as a tuple, last word predicted) of the corpus padded for an n-gram model."""
    grams = []
    for s in sentences:
        p = [BOS] * (n - 1) + list(s) + [EOS]
        for t in range(n - 1, len(p)):
            grams.append(tuple(p[t - m + 1:t + 1]))
    return grams


def slow_kn(word, ctx, sentences, vocab, n, d):
    """Interpolated Kneser-Ney from the textbook recursion, recounting everything each call."""
    top = padded_ngrams(sentences, n, n)

    def count(m, c, w):                      # C_KN(c w): raw at the top order, else continuation
        if m == n:
            return sum(g == c + (w,) for g in top)
        longer = set(padded_ngrams(sentences, n, m + 1))
        return len({g[0] for g in longer if g[1:] == c + (w,)})

    def p(m, c):
        if m == 0:
            return 1 / len(vocab)
        denom = sum(count(m, c, v) for v in vocab)
        if denom == 0:
            return p(m - 1, c[1:])
        types = sum(count(m, c, v) > 0 for v in vocab)
        dm = d[m - 1] if isinstance(d, (list, tuple)) else d
        return max(count(m, c, word) - dm, 0) / denom + dm * types / denom * p(m - 1, c[1:])

    return p(n, tuple(ctx))


def slow_interpolated(word, ctx, sentences, vocab, n, lambdas):
    total = lambdas[0] / len(vocab)
    for m in range(1, n + 1):
        c = tuple(ctx[n - m:]) if m > 1 else ()
        grams = padded_ngrams(sentences, n, m)
        denom = sum(g[:-1] == c for g in grams)
        total += lambdas[m] * (sum(g == c + (word,) for g in grams) / denom if denom else 1 / len(vocab))
    return total


def all_contexts(vocab, n):
    """Every context of length n - 1 over the vocabulary, <s> and one unseen word."""
    symbols = [w for w in vocab if w != EOS] + [BOS, "never-seen"]
    return list(itertools.product(symbols, repeat=n - 1))


# -- data helpers -------------------------------------------------------------------------------------
def test_split_corpus_is_a_seeded_partition():
    sents = [[f"w{i}", "x"] for i in range(103)]
    train, dev, test = split_corpus(sents, np.random.default_rng(3), (0.7, 0.2, 0.1))
    assert (len(train), len(dev), len(test)) == (72, 21, 10)
    assert sorted(map(tuple, train + dev + test)) == sorted(map(tuple, sents))
    again = split_corpus(sents, np.random.default_rng(3), (0.7, 0.2, 0.1))
    assert again == (train, dev, test)
    assert split_corpus(sents, np.random.default_rng(4), (0.7, 0.2, 0.1))[0] != train
    assert train != sents[:72]                                   # shuffled, not cut in order
    assert sents[0] == ["w0", "x"] and len(sents) == 103         # input untouched
    train[0].append("changed")
    assert all(s[-1] == "x" for s in sents)                      # copies, not views


def test_split_corpus_errors():
    with pytest.raises(ValueError, match=r"three non-negative shares summing to 1, got \(0\.8, 0\.3\)"):
        split_corpus(CORPUS, np.random.default_rng(0), (0.8, 0.3))
    with pytest.raises(ValueError, match=r"summing to 1, got \(0\.5, 0\.5, 0\.5\)"):
        split_corpus(CORPUS, np.random.default_rng(0), (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        split_corpus(CORPUS, 0)
    with pytest.raises(ValueError, match="got a single str"):
        split_corpus("new zealand", np.random.default_rng(0))


def test_vocabulary_unknown_words_and_oov_rate():
    vocab = build_vocab(RICH, min_count=2)
    assert vocab == sorted(["a", "b", "c", "d", EOS, UNK])       # "e" occurs once
    assert build_vocab(RICH) == sorted(["a", "b", "c", "d", "e", EOS, UNK])
    assert build_vocab(RICH, min_count=10 ** 6) == sorted([EOS, UNK])
    mapped = map_unknown([["a", "e", "zebra"]], vocab)
    assert mapped == [["a", UNK, UNK]]
    sents = [["a", "e", "zebra"], ["b"]]
    assert oov_rate(sents, vocab) == pytest.approx(2 / 4, abs=1e-15)
    assert oov_rate([[UNK, "a"]], vocab) == pytest.approx(1 / 2, abs=1e-15)   # <unk> itself is unknown
    assert sents == [["a", "e", "zebra"], ["b"]]
    with pytest.raises(ValueError, match=r"min_count must be an integer >= 1, got 0"):
        build_vocab(RICH, min_count=0)
    with pytest.raises(ValueError, match="no tokens"):
        oov_rate([[]], vocab)
    with pytest.raises(ValueError, match="must not appear inside a sentence"):
        build_vocab([["a", BOS]])


def test_counts_of_every_order_match_separate_add_k_models():
    for n in (1, 2, 3, 4):
        lm = CountingLM(n)
        with pytest.raises(NotImplementedError):
            lm.fit(RICH).prob("a")
        for m in range(1, n + 1):
            ref = NGramLM(m, k=0).fit(RICH)
            assert all(len(c) == m - 1 for c in lm.counts[m])
            assert {c: dict(r) for c, r in lm.counts[m].items()} == {c: dict(r) for c, r in ref.counts.items()}, (n, m)


# -- Kneser-Ney ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("d", [0.0, 0.3, 0.75, 1.0, (0.9, 0.2, 0.6, 0.4)])
def test_kneser_ney_sums_to_one_for_every_context(n, d):
    d = d[:n] if isinstance(d, tuple) else d
    lm = KneserNeyLM(n, d).fit(RICH, vocab=build_vocab(RICH, 2))
    for ctx in all_contexts(lm.vocab, n):
        probs = lm.distribution(ctx)
        assert probs.shape == (len(lm.vocab),) and probs.min() >= 0
        assert probs.sum() == pytest.approx(1.0, abs=1e-12), (n, d, ctx)
        if d != 0.0:
            assert probs.min() > 0                                   # nothing is impossible


@pytest.mark.parametrize("n", [1, 2, 3])
def test_kneser_ney_matches_the_slow_textbook_formula(n):
    vocab = build_vocab(RICH, 2)
    mapped = map_unknown(RICH, vocab)
    d = (0.8, 0.45, 0.6)[:n]
    lm = KneserNeyLM(n, d).fit(RICH, vocab=vocab)
    for ctx in all_contexts(vocab, n)[::3] + [("e",) * (n - 1)]:
        slow_ctx = tuple(c if c in vocab or c == BOS else UNK for c in ctx)
        for w in vocab:
            assert lm.prob(w, ctx) == pytest.approx(slow_kn(w, slow_ctx, mapped, vocab, n, list(d)), rel=1e-12,
                                                    abs=1e-15), (ctx, w)


def test_kneser_ney_hand_example():
    # bigram, d = 1/2, |V| = 8 (a boat new red the zealand </s> <unk>); 11 bigram types
    # continuation counts: zealand 1 (only after "new"), boat 2 ("red", "new"); 7 words have one
    # P_1(zealand) = (1 - 1/2)/11 + (1/2 * 7/11) / 8 = 7.5/88,   P_1(boat) = 1.5/11 + 3.5/88 = 15.5/88
    # after "red" (seen twice, always before "boat"): lambda = 1/2 * 1/2
    lm = KneserNeyLM(2, 0.5).fit(CORPUS)
    assert len(lm.vocab) == 8
    assert lm.kn_counts[1][()]["zealand"] == 1 and lm.counts[1][()]["zealand"] == 2
    assert lm.kn_counts[1][()]["boat"] == 2 and lm.kn_totals[1][()] == 11
    p1_zealand, p1_boat = Fraction(15, 2) / 88, Fraction(31, 2) / 88
    assert lm.prob("boat", ["red"]) == pytest.approx(float(Fraction(3, 4) + Fraction(1, 4) * p1_boat), rel=1e-14)
    assert lm.prob("zealand", ["red"]) == pytest.approx(float(Fraction(1, 4) * p1_zealand), rel=1e-14)
    assert lm.prob("zealand", ["the"]) == pytest.approx(float(Fraction(1, 2) * p1_zealand), rel=1e-14)
    # an unseen context hands everything to the continuation unigram
    assert lm.prob("boat", ["zebra"]) == pytest.approx(float(p1_boat), rel=1e-14)
    assert lm.prob("boat", [UNK]) == lm.prob("boat", ["zebra"])


def test_continuation_counts_demote_a_frequent_but_bound_word():
    corpus = [["new", "zealand"]] * 6 + [[adj, "boat"] for adj in ("red", "old", "big")] + [["the", "red"]]
    uni = NGramLM(1, k=0).fit(corpus)
    assert uni.prob("zealand") > uni.prob("boat")            # zealand is the more frequent word ...
    kn = KneserNeyLM(2, 0.75).fit(corpus)
    assert kn.prob("zealand", ["the"]) < kn.prob("boat", ["the"])   # ... but follows only "new"
    ip = InterpolatedLM(2, [0.1, 0.45, 0.45]).fit(corpus)
    assert ip.prob("zealand", ["the"]) > ip.prob("boat", ["the"])


def test_kneser_ney_with_zero_discount_is_maximum_likelihood():
    lm = KneserNeyLM(3, 0.0).fit(RICH)
    ml = NGramLM(3, k=0).fit(RICH)
    for ctx in lm.contexts():
        np.testing.assert_allclose(lm.distribution(ctx), ml.distribution(ctx), rtol=1e-12, atol=1e-15)


def test_set_discount_keeps_the_counts():
    lm = KneserNeyLM(3, 0.5).fit(RICH)
    before = lm.prob("a", ["b", "c"])
    assert lm.set_discount(0.9) is lm and lm.prob("a", ["b", "c"]) != before
    assert lm.set_discount(0.5).prob("a", ["b", "c"]) == before
    np.testing.assert_array_equal(lm.set_discount([0.1, 0.2, 0.3]).discounts, [0.1, 0.2, 0.3])


# -- interpolation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_interpolation_sums_to_one_and_matches_the_formula(n):
    lam = np.random.default_rng(n).dirichlet(np.ones(n + 1))
    vocab = build_vocab(RICH, 2)
    mapped = map_unknown(RICH, vocab)
    lm = InterpolatedLM(n, lam).fit(RICH, vocab=vocab)
    for i, ctx in enumerate(all_contexts(vocab, n)):
        probs = lm.distribution(ctx)
        assert probs.sum() == pytest.approx(1.0, abs=1e-12) and probs.min() > 0
        if i % 7 == 0:
            slow_ctx = tuple(c if c in vocab or c == BOS else UNK for c in ctx)
            expect = [slow_interpolated(w, slow_ctx, mapped, vocab, n, lam) for w in vocab]
            np.testing.assert_allclose(probs, expect, rtol=1e-12)


def test_one_hot_lambdas_give_the_maximum_likelihood_model():
    lm = InterpolatedLM(3, [0, 0, 0, 1]).fit(RICH)
    ml = NGramLM(3, k=0).fit(RICH)
    for ctx in lm.contexts() + [("zzz", "yyy")]:
        np.testing.assert_allclose(lm.distribution(ctx), ml.distribution(ctx), rtol=1e-12, atol=1e-15)


def _loglik(p, lam):
    return float(np.log(p @ lam).sum())


def test_em_increases_the_likelihood_and_reaches_the_optimum():
    gen = np.random.default_rng(7)
    p = gen.dirichlet(np.ones(9), size=(300, 4))[:, :, 0] * np.array([0.3, 1.0, 2.0, 0.05])
    path = [np.full(4, 0.25)]
    for _ in range(30):
        path.append(em_lambdas(p, iterations=1, start=path[-1]))
    liks = [_loglik(p, lam) for lam in path]
    assert all(b >= a - 1e-12 for a, b in zip(liks, liks[1:]))          # EM never goes down
    lam = em_lambdas(p, iterations=5000, tol=1e-13)
    assert lam.shape == (4,) and lam.sum() == pytest.approx(1, abs=1e-12) and lam.min() >= 0
    # optimality (KKT): mean_t p[t, m] / mix_t = 1 where lambda_m > 0, <= 1 where it is 0
    ratio = (p / (p @ lam)[:, None]).mean(0)
    np.testing.assert_allclose(ratio[lam > 1e-6], 1.0, atol=1e-6)
    assert np.all(ratio <= 1 + 1e-6)
    # and no point of the simplex does better (the log-likelihood is concave)
    others = gen.dirichlet(np.ones(4), size=3000)
    assert _loglik(p, lam) >= max(_loglik(p, q) for q in others)


def test_fit_lambdas_on_dev_beats_equal_weights_on_dev():
    train, dev, _ = split_corpus(RICH * 3 + [["a", "d", "c"], ["e", "b"]], np.random.default_rng(1), (0.6, 0.4, 0.0))
    lm = InterpolatedLM(2).fit(train)
    equal = lm.perplexity(dev)
    assert lm.fit_lambdas(dev) is lm and lm.perplexity(dev) <= equal
    comps = lm.components(dev)
    assert comps.shape == (sum(len(s) + 1 for s in dev), 3)
    np.testing.assert_allclose(np.log(comps @ lm.lambdas), lm.token_logprobs(dev), rtol=1e-12)


def test_em_errors():
    with pytest.raises(ValueError, match=r"shape \(N tokens, M components\), got shape \(5,\)"):
        em_lambdas(np.ones(5))
    with pytest.raises(ValueError, match="token 1 has probability 0"):
        em_lambdas(np.array([[0.5, 0.1], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="start must be 2 non-negative weights"):
        em_lambdas(np.ones((3, 2)), start=[0.5, 0.6])


# -- evaluation, tuning and friendly errors ---------------------------------------------------------------
@pytest.mark.parametrize("model", [KneserNeyLM(3, 0.6), InterpolatedLM(3, [0.1, 0.2, 0.3, 0.4])])
def test_perplexity_is_the_exponentiated_mean_token_loss(model):
    model.fit(RICH, vocab=build_vocab(RICH, 2))
    held = [["a", "e", "b"], ["zebra"], ["c", "c", "d", "a"]]
    by_hand, tokens = 0.0, 0
    for s in held:
        padded = [BOS, BOS] + s + [EOS]
        for t in range(2, len(padded)):
            by_hand -= math.log(model.prob(padded[t], padded[t - 2:t]))
            tokens += 1
    assert tokens == 11
    assert model.perplexity(held) == pytest.approx(math.exp(by_hand / tokens), rel=1e-12)
    assert model.logprob(held[0]) == pytest.approx(float(model.token_logprobs([held[0]]).sum()), rel=1e-12)
    assert model.prob("zebra", ["a"]) == model.prob(UNK, ["a"])
    assert held[0] == ["a", "e", "b"]                                    # input untouched


def test_tune_on_dev_picks_the_lowest_dev_perplexity():
    lm = KneserNeyLM(2).fit(RICH)
    dev = [["a", "b", "c"], ["d", "a"]]
    best, scores = tune_on_dev(lambda d: lm.set_discount(d), [0.1, 0.5, 0.9, 1.0], dev)
    assert set(scores) == {0.1, 0.5, 0.9, 1.0}
    assert scores[best] == min(scores.values())
    assert scores[0.5] == pytest.approx(KneserNeyLM(2, 0.5).fit(RICH).perplexity(dev), rel=1e-12)
    with pytest.raises(ValueError, match="at least one candidate"):
        tune_on_dev(lambda d: lm, [], dev)


def test_friendly_errors():
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 0"):
        KneserNeyLM(0)
    with pytest.raises(ValueError, match=r"discount must lie in \[0, 1\], got \[1.5, 1.5\]"):
        KneserNeyLM(2, 1.5)
    with pytest.raises(ValueError, match=r"discount must be one number or n = 3 numbers .*got shape \(2,\)"):
        KneserNeyLM(3, [0.5, 0.5])
    with pytest.raises(ValueError, match=r"lambdas must have n \+ 1 = 3 entries .*got shape \(2,\)"):
        InterpolatedLM(2, [0.5, 0.5])
    with pytest.raises(ValueError, match=r"non-negative and sum to 1, got \[0.5, 0.5, 0.5\]"):
        InterpolatedLM(2, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="not been fitted"):
        KneserNeyLM(2).prob("a")
    lm = KneserNeyLM(2).fit(RICH)
    with pytest.raises(ValueError, match="context must be a sequence of tokens, got the str 'a b'"):
        lm.prob("a", "a b")
    with pytest.raises(ValueError, match="is never predicted"):
        lm.prob(BOS, ["a"])
    with pytest.raises(ValueError, match="empty corpus"):
        KneserNeyLM(2).fit([[], []])
    with pytest.raises(ValueError, match="must not contain the start symbol"):
        KneserNeyLM(2).fit(RICH, vocab=["a", BOS])
    with pytest.raises(ValueError, match="at least one sentence"):
        lm.perplexity([])
