"""seqcourse.ngram: add-k n-gram language models, checked against hand counts."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from seqcourse.ngram import BOS, EOS, UNK, NGramLM, check_sentences

CORPUS = [
    "the cat sat on the mat".split(),
    "the dog sat".split(),
    "a cat ran".split(),
    "the cat ran on the mat".split(),
]
VOCAB = sorted({w for s in CORPUS for w in s} | {EOS, UNK})  # 8 words + 2 = 10


def _contexts(n):
    """Seen, partially seen and unseen contexts (with unknown words)."""
    return [(), ("the",), ("cat", "sat"), ("the", "cat", "sat"), ("zebra",),
            ("mat", "the"), ("on", "the", "dog"), (BOS, "a"), ("sat", "ran", "a", "dog")]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [0.0, 0.01, 0.5, 1.0, 3.0])
def test_distributions_sum_to_one(n, k):
    lm = NGramLM(n=n, k=k).fit(CORPUS)
    assert lm.vocab == VOCAB and BOS not in lm.vocab
    for ctx in _contexts(n):
        probs = np.array([lm.prob(w, ctx) for w in lm.vocab])
        assert np.all(probs >= 0)
        assert probs.sum() == pytest.approx(1.0, abs=1e-12), (n, k, ctx)
        np.testing.assert_allclose(lm.distribution(ctx), probs, rtol=1e-12, atol=1e-15)


def test_k0_unseen_context_is_uniform_and_normalised():
    lm = NGramLM(n=3, k=0).fit(CORPUS)
    probs = np.array([lm.prob(w, ["dog", "mat"]) for w in lm.vocab])
    np.testing.assert_allclose(probs, 1.0 / len(VOCAB), rtol=1e-12)


def test_prob_matches_hand_counts_bigram():
    # bigram counts after "the" in CORPUS: cat 2, mat 2, dog 1 -> count(the) = 5
    V = len(VOCAB)
    assert V == 10
    lm0 = NGramLM(n=2, k=0).fit(CORPUS)
    assert lm0.prob("cat", ["the"]) == pytest.approx(2 / 5, rel=1e-12)
    assert lm0.prob("dog", ["the"]) == pytest.approx(1 / 5, rel=1e-12)
    assert lm0.prob("sat", ["the"]) == pytest.approx(0.0, abs=1e-15)
    # after <s>: the 3, a 1 (4 sentences)
    assert lm0.prob("the") == pytest.approx(3 / 4, rel=1e-12)
    assert lm0.prob("the", [BOS]) == pytest.approx(3 / 4, rel=1e-12)
    # "sat" is followed by "on" once and by </s> once
    assert lm0.prob(EOS, ["sat"]) == pytest.approx(1 / 2, rel=1e-12)
    # only the last word of a longer context matters
    assert lm0.prob("mat", ["a", "cat", "ran", "on", "the"]) == pytest.approx(2 / 5, rel=1e-12)

    lm1 = NGramLM(n=2, k=1).fit(CORPUS)
    assert lm1.prob("cat", ["the"]) == pytest.approx((2 + 1) / (5 + V), rel=1e-12)
    assert lm1.prob("sat", ["the"]) == pytest.approx(1 / (5 + V), rel=1e-12)
    assert lm1.prob("zebra", ["the"]) == pytest.approx(1 / (5 + V), rel=1e-12)
    assert lm1.prob("cat", ["zebra"]) == pytest.approx(1 / V, rel=1e-12)


def test_prob_matches_hand_counts_unigram_and_trigram():
    V = len(VOCAB)
    # unigram: 18 words + 4 end symbols = 22 events; "the" occurs 5 times
    lm = NGramLM(n=1, k=0).fit(CORPUS)
    assert lm.prob("the", ["any", "context"]) == pytest.approx(5 / 22, rel=1e-12)
    assert lm.prob(EOS) == pytest.approx(4 / 22, rel=1e-12)
    lm = NGramLM(n=1, k=1).fit(CORPUS)
    assert lm.prob("cat") == pytest.approx((3 + 1) / (22 + V), rel=1e-12)
    # trigram: context (<s>, the) seen 3 times: cat 2, dog 1
    lm = NGramLM(n=3, k=0).fit(CORPUS)
    assert lm.prob("cat", ["the"]) == pytest.approx(2 / 3, rel=1e-12)
    assert lm.prob("cat", [BOS, "the"]) == pytest.approx(2 / 3, rel=1e-12)
    # context (on, the) seen twice, followed by mat both times
    assert lm.prob("mat", ["on", "the"]) == pytest.approx(1.0, rel=1e-12)
    lm = NGramLM(n=3, k=0.5).fit(CORPUS)
    assert lm.prob("mat", ["on", "the"]) == pytest.approx(2.5 / (2 + 0.5 * V), rel=1e-12)


def _brute_logprob(lm, sentence, n):
    padded = [BOS] * (n - 1) + list(sentence) + [EOS]
    return sum(math.log(lm.prob(padded[t], padded[max(0, t - n + 1):t]))
               for t in range(n - 1, len(padded)))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_logprob_is_sum_of_word_logprobs(n):
    lm = NGramLM(n=n, k=0.3).fit(CORPUS)
    for sent in (["the", "cat", "sat"], ["a", "dog", "ran", "on", "the", "mat"], ["zebra"], []):
        assert lm.logprob(sent) == pytest.approx(_brute_logprob(lm, sent, n), rel=1e-12)


def test_logprob_by_hand_bigram():
    lm = NGramLM(n=2, k=0).fit(CORPUS)
    # P(the|<s>) P(dog|the) P(sat|dog) P(</s>|sat) = 3/4 * 1/5 * 1 * 1/2
    assert lm.logprob(["the", "dog", "sat"]) == pytest.approx(math.log(3 / 40), rel=1e-12)


def test_perplexity_of_uniform_model_is_vocab_size():
    # unigram whose training data holds each vocabulary word once: exactly uniform
    lm = NGramLM(n=1, k=0).fit([["x", "y", UNK, "z"]])
    assert len(lm.vocab) == 5
    test = [["x", "z"], ["y", "never", "seen", "x"], []]
    assert lm.perplexity(test) == pytest.approx(5.0, rel=1e-12)
    # a huge k flattens any model towards uniform
    lm = NGramLM(n=3, k=1e9).fit(CORPUS)
    assert lm.perplexity(CORPUS) == pytest.approx(len(VOCAB), rel=1e-6)


@pytest.mark.parametrize("n, k", [(1, 1.0), (2, 0.1), (3, 0.5)])
def test_perplexity_formula(n, k):
    lm = NGramLM(n=n, k=k).fit(CORPUS)
    test = [["the", "cat", "ran"], ["a", "zebra", "sat", "on", "the", "mat"], []]
    total = sum(_brute_logprob(lm, s, n) for s in test)
    tokens = sum(len(s) for s in test) + len(test)
    assert tokens == 12
    assert lm.perplexity(test) == pytest.approx(math.exp(-total / tokens), rel=1e-12)


def test_unknown_words_map_to_unk():
    lm = NGramLM(n=2, k=0.5).fit(CORPUS)
    assert lm.prob("zebra", ["the"]) == pytest.approx(lm.prob(UNK, ["the"]), rel=1e-12)
    assert lm.prob("cat", ["zebra"]) == pytest.approx(lm.prob("cat", [UNK]), rel=1e-12)
    assert lm.logprob(["the", "zebra"]) == pytest.approx(lm.logprob(["the", UNK]), rel=1e-12)
    # training data containing <unk> shows that it really is the same event
    lm = NGramLM(n=2, k=0).fit(CORPUS + [["the", UNK, "sat"]])
    assert lm.prob("giraffe", ["the"]) == pytest.approx(1 / 6, rel=1e-12)
    assert lm.prob("sat", ["giraffe"]) == pytest.approx(1.0, rel=1e-12)


def test_k0_unseen_word_gives_minus_inf_and_infinite_perplexity():
    lm = NGramLM(n=2, k=0).fit(CORPUS)
    assert np.isneginf(lm.logprob(["the", "zebra"]))
    assert np.isneginf(lm.logprob(["the", "cat", "dog"]))  # seen words, unseen bigram
    assert np.isposinf(lm.perplexity([["the", "cat", "sat"], ["the", "zebra"]]))
    assert math.isfinite(lm.perplexity([["the", "cat", "sat"]]))


def test_generate_reproducible_and_in_vocab():
    lm = NGramLM(n=2, k=0.2).fit(CORPUS)
    rng1, rng2 = np.random.default_rng(7), np.random.default_rng(7)
    run1 = [lm.generate(rng1, max_len=12) for _ in range(40)]
    run2 = [lm.generate(rng2, max_len=12) for _ in range(40)]
    assert run1 == run2
    rng3 = np.random.default_rng(8)
    assert [lm.generate(rng3, max_len=12) for _ in range(40)] != run1
    allowed = set(VOCAB) - {EOS, UNK, BOS}
    for sent in run1:
        assert len(sent) <= 12
        assert set(sent) <= allowed


def test_generate_unsmoothed_only_emits_seen_continuations():
    lm = NGramLM(n=2, k=0).fit(CORPUS)
    seen_bigrams = {(a, b) for s in CORPUS for a, b in zip([BOS] + s, s + [EOS])}
    rng = np.random.default_rng(0)
    for _ in range(200):
        sent = lm.generate(rng, max_len=50)
        padded = [BOS] + sent + [EOS]
        assert set(zip(padded, padded[1:])) <= seen_bigrams


def test_generate_first_word_frequencies_match_prob():
    lm = NGramLM(n=2, k=0.5).fit(CORPUS)
    rng = np.random.default_rng(123)
    N = 20000
    counts = Counter()
    for _ in range(N):
        out = lm.generate(rng, max_len=1)
        counts[out[0] if out else EOS] += 1
    assert UNK not in counts
    p_unk = lm.prob(UNK)
    for w in lm.vocab:
        if w == UNK:
            continue
        p = lm.prob(w) / (1.0 - p_unk)  # <unk> renormalised away
        sigma = math.sqrt(p * (1 - p) / N)
        assert abs(counts[w] / N - p) < 5 * sigma + 1e-4, (w, counts[w] / N, p)


def test_generate_continues_a_context():
    lm = NGramLM(n=3, k=0).fit(CORPUS)
    # after "on the" the only continuation ever seen is "mat", then </s>
    out = lm.generate(np.random.default_rng(0), context=["ran", "on", "the"])
    assert out == ["mat"]


# -- errors -----------------------------------------------------------------------
def test_error_bad_order():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=r"n must be an integer >= 1, got"):
            NGramLM(n=bad)


def test_error_negative_or_nonfinite_k():
    with pytest.raises(ValueError, match=r"k must be a finite number >= 0, got -0\.5"):
        NGramLM(k=-0.5)
    with pytest.raises(ValueError, match=r"got inf"):
        NGramLM(k=float("inf"))


def test_error_empty_corpus():
    for corpus in ([], [[]], [[], []]):
        with pytest.raises(ValueError, match="empty corpus"):
            NGramLM().fit(corpus)


def test_error_str_instead_of_tokens():
    with pytest.raises(ValueError, match="got a single str"):
        NGramLM().fit("the cat sat")
    with pytest.raises(ValueError, match=r"sentences\[1\] must be a list of tokens, got the str"):
        NGramLM().fit([["ok"], "the cat sat"])
    with pytest.raises(ValueError, match=r"sentences\[0\] must contain only str tokens, got 3"):
        NGramLM().fit([["a", 3]])
    lm = NGramLM(n=2).fit(CORPUS)
    with pytest.raises(ValueError, match="context must be a sequence of tokens"):
        lm.prob("cat", "the")
    with pytest.raises(ValueError, match="sentence"):
        lm.logprob("the cat")


def test_error_bos_inside_sentence():
    with pytest.raises(ValueError, match="start symbol"):
        NGramLM().fit([["a", BOS, "b"]])


def test_error_use_before_fit():
    lm = NGramLM(n=2)
    for call in (lambda: lm.prob("a"), lambda: lm.distribution(),
                 lambda: lm.logprob(["a"]), lambda: lm.perplexity([["a"]]),
                 lambda: lm.generate(np.random.default_rng(0))):
        with pytest.raises(ValueError, match="not been fitted"):
            call()


def test_error_perplexity_of_nothing():
    lm = NGramLM(n=2).fit(CORPUS)
    with pytest.raises(ValueError, match="at least one sentence"):
        lm.perplexity([])


def test_check_sentences_accepts_iterables():
    assert check_sentences((("a", "b"), iter(["c"]))) == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match="must be a list of sentences, got int"):
        check_sentences(5)
