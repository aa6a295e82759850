"""seqcourse.bleu against sacrebleu (tokenize='none', so both see the same tokens)."""

from __future__ import annotations

import numpy as np
import pytest
import sacrebleu
from sacrebleu.metrics import BLEU

from seqcourse import bleu

WORDS = "the a cat dog sat on mat red big small saw ran".split()


def _sacre_corpus(hyps, refs, smooth="none"):
    """sacrebleu wants reference *streams*; pad each sentence's references by
    repeating its first one (a duplicate changes neither clipping nor lengths)."""
    k = max(len(r) for r in refs)
    streams = [[" ".join((r + [r[0]] * k)[j]) for r in refs] for j in range(k)]
    metric = BLEU(tokenize="none", force=True, smooth_method=smooth)
    return metric.corpus_score([" ".join(h) for h in hyps], streams)


def _random_corpus(seed, n_sent=30, vocab=6):
    rng = np.random.default_rng(seed)
    words = WORDS[:vocab]
    hyps, refs = [], []
    for _ in range(n_sent):
        ref_len = int(rng.integers(4, 12))
        base = list(rng.choice(words, ref_len))
        n_refs = int(rng.integers(1, 4))
        rs = [base]
        for _ in range(n_refs - 1):
            r = list(base)
            for _ in range(int(rng.integers(1, 3))):
                r[int(rng.integers(len(r)))] = str(rng.choice(words))
            if rng.random() < 0.5:
                r = r[: max(1, len(r) - int(rng.integers(1, 3)))]
            rs.append(r)
        hyp = list(base)
        for _ in range(int(rng.integers(0, 3))):
            hyp[int(rng.integers(len(hyp)))] = str(rng.choice(words))
        cut = int(rng.integers(0, 4))                   # short hypotheses: brevity penalty
        hyp = hyp[: max(1, len(hyp) - cut)]
        hyps.append(hyp)
        refs.append(rs)
    return hyps, refs


@pytest.mark.parametrize("seed", range(8))
def test_corpus_bleu_matches_sacrebleu_with_several_references(seed):
    hyps, refs = _random_corpus(seed)
    ours = bleu.bleu_stats(hyps, refs)
    ref = _sacre_corpus(hyps, refs)
    assert all(m > 0 for m in ours.matches), "test corpus must match every order"
    assert list(ours.matches) == list(ref.counts)
    assert list(ours.totals) == list(ref.totals)
    assert (ours.hyp_len, ours.ref_len) == (ref.sys_len, ref.ref_len)
    np.testing.assert_allclose(ours.precisions, ref.precisions, rtol=1e-12)
    np.testing.assert_allclose(ours.brevity_penalty, ref.bp, rtol=1e-12)
    np.testing.assert_allclose(bleu.corpus_bleu(hyps, refs), ref.score, rtol=1e-10)


def test_brevity_penalty_bites_on_short_hypotheses():
    hyps, refs = _random_corpus(3)
    short = [h[: max(4, len(h) // 2)] for h in hyps]
    ours = bleu.bleu_stats(short, refs)
    ref = _sacre_corpus(short, refs)
    assert ours.brevity_penalty < 0.9
    np.testing.assert_allclose(ours.brevity_penalty, ref.bp, rtol=1e-12)
    np.testing.assert_allclose(ours.score, ref.score, rtol=1e-10)


def test_clipping_of_repeated_ngrams():
    hyps = [["the"] * 7, "the cat sat on the mat the cat".split()]
    refs = [[["the", "cat", "sat"], "the the cat".split()],
            [ "the cat sat on the mat".split(), "a cat the cat sat on the mat".split()]]
    ours = bleu.bleu_stats(hyps, refs)
    ref = _sacre_corpus(hyps, refs)
    assert ours.matches[0] == 2 + 8 - 1          # 'the' x7 clipped to 2; 2nd: 'the' x3 clipped to 2
    assert list(ours.matches) == list(ref.counts)
    np.testing.assert_allclose(ours.score, ref.score, rtol=1e-10)


def test_closest_reference_length_prefers_shorter_on_ties():
    assert bleu.closest_ref_len(5, [list("abcdefg"), list("abc")]) == 3
    assert bleu.closest_ref_len(5, [list("abcdef"), list("abcd")]) == 4


@pytest.mark.parametrize("seed", range(5))
def test_sentence_bleu_matches_sacrebleu(seed):
    hyps, refs = _random_corpus(seed + 100, n_sent=10)
    metric = BLEU(tokenize="none", effective_order=True)
    for h, rs in zip(hyps, refs):
        expected = metric.sentence_score(" ".join(h), [" ".join(r) for r in rs]).score
        np.testing.assert_allclose(bleu.sentence_bleu(h, rs), expected, rtol=1e-10, atol=1e-10)


def test_exp_smoothing_matches_sacrebleu_when_an_order_has_no_match():
    hyps = [["a", "b", "c", "d"], ["c", "a", "b"]]
    refs = [[["a", "b", "x", "c", "d"]], [["c", "a", "y"]]]
    ref = _sacre_corpus(hyps, refs, smooth="exp")
    np.testing.assert_allclose(bleu.corpus_bleu(hyps, refs, smooth="exp"), ref.score, rtol=1e-10)
    assert bleu.corpus_bleu(hyps, refs) == 0.0


def test_perfect_and_empty():
    h = "the cat sat on the mat".split()
    assert bleu.corpus_bleu([h], [[h]]) == pytest.approx(100.0)
    assert bleu.corpus_bleu([[]], [[h]]) == 0.0
    assert sacrebleu.corpus_bleu([" ".join(h)], [[" ".join(h)]], tokenize="none").score == pytest.approx(100)


@pytest.mark.parametrize("hyps, refs", [
    (["the cat"], [[["the", "cat"]]]),              # string hypothesis
    ([["the"]], [["the"]]),                          # references not nested
    ([["the"]], [[["the"]], [["a"]]]),               # lengths differ
    ([["the"]], [[]]),                               # no reference
])
def test_friendly_errors(hyps, refs):
    with pytest.raises(ValueError):
        bleu.corpus_bleu(hyps, refs)
