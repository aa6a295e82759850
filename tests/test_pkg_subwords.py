"""seqcourse.subwords: BPE against the reference algorithm of Sennrich et al. (2016), written
independently here (re-count every pair after every merge, merge with a regular expression on
the space-separated spelling), plus round trips, encoding and the output-layer cost."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
import torch

from seqcourse import charlm, subwords
from seqcourse.subwords import END, BPE, learn_bpe, output_layer_cost


def reference_bpe(text: str, num_merges: int) -> list[tuple[str, str]]:
    """Algorithm 1 of Sennrich, Haddow and Birch (2016), with ties broken by the smallest pair."""
    vocab = {" ".join(tuple(w) + (END,)): c for w, c in Counter(text.split()).items()}
    merges = []
    for _ in range(num_merges):
        pairs: Counter = Counter()
        for word, freq in vocab.items():
            symbols = word.split()
            for i in range(len(symbols) - 1):
                pairs[symbols[i], symbols[i + 1]] += freq
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        pattern = re.compile(r"(?<!\S)" + re.escape(" ".join(best)) + r"(?!\S)")
        vocab = {pattern.sub("".join(best), word): freq for word, freq in vocab.items()}
        merges.append(best)
    return merges


def random_text(seed: int, n_words: int = 400) -> str:
    gen = np.random.default_rng(seed)
    letters = np.array(list("aabbbcd"))        # few letters: many repeated pairs and ties, "aaa" runs
    return " ".join("".join(gen.choice(letters, size=gen.integers(1, 7))) for _ in range(n_words))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merges_equal_the_reference_algorithm(seed):
    text = random_text(seed)
    assert learn_bpe(text, 60) == reference_bpe(text, 60)


def test_merges_equal_the_reference_on_real_text():
    text = charlm.stdlib_corpus(20_000)
    assert learn_bpe(text, 150) == reference_bpe(text, 150)


def test_learning_stops_when_every_word_is_one_token():
    text = "ab ab ba"
    merges = learn_bpe(text, 100)
    assert merges == reference_bpe(text, 100) and len(merges) < 100
    assert all(len(BPE(merges, frozenset("ab") | {END}).encode_word(w)) == 1 for w in ("ab", "ba"))


def test_overlapping_runs_merge_left_to_right():
    bpe = BPE([("a", "a")], frozenset({"a", END}))
    assert bpe.encode_word("aaa") == ("aa", "a", END)
    assert bpe.encode_word("aaaa") == ("aa", "aa", END)


def test_encoding_a_training_word_gives_the_merged_spelling_of_the_reference():
    text = random_text(5)
    bpe = BPE.learn(text, 40)
    # the reference's final spelling of every training word
    vocab = {w: " ".join(tuple(w) + (END,)) for w in set(text.split())}
    for a, b in reference_bpe(text, 40):
        pattern = re.compile(r"(?<!\S)" + re.escape(a + " " + b) + r"(?!\S)")
        vocab = {w: pattern.sub(a + b, s) for w, s in vocab.items()}
    for w, spelling in vocab.items():
        assert bpe.encode_word(w) == tuple(spelling.split())


def test_round_trip_vocab_and_unknown_characters():
    text = charlm.stdlib_corpus(30_000)
    train, held_out = text[:25_000], text[25_000:]
    bpe = BPE.learn(train, 200)
    assert len(bpe.vocab) == len(set("".join(train.split())) | {END}) + len(bpe.merges)
    tokens = bpe.encode(held_out)
    assert bpe.decode(tokens) == " ".join(held_out.split())
    assert len(tokens) < len("".join(held_out.split())), "merges must shorten the sequence"
    assert bpe.unknown(bpe.encode("zz\u00e9zz")) == 1          # one character never seen


def test_output_layer_cost_counts_torch_parameters():
    for V, H in ((7, 3), (1000, 128)):
        head = torch.nn.Linear(H, V)
        cost = output_layer_cost(V, H)
        assert cost["parameters"] == sum(p.numel() for p in head.parameters())
        assert cost["flops"] == 2 * H * V + 4 * V


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_friendly_errors(bad):
    with pytest.raises(ValueError, match="vocab_size"):
        output_layer_cost(bad, 4)
    if bad != 0:                                   # zero merges is a valid request
        with pytest.raises(ValueError, match="num_merges"):
            learn_bpe("a b", bad)
    with pytest.raises(ValueError, match="text must be a str"):
        learn_bpe(["a"], 3)
