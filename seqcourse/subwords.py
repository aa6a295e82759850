"""Subword units by byte-pair encoding (BPE), and what a large output vocabulary costs.

A language model's output layer is a ``Linear(H, V)`` followed by a softmax over the ``V``
entries of the vocabulary, at every predicted token::

    parameters  V * H + V                 (weight (V, H), bias (V,))
    FLOPs       2 * H * V + 4 * V         (a multiply and an add per weight; the bias; exp, sum, divide)

so a word vocabulary of 100,000 entries costs about a thousand times what ~100 characters
cost, per step.  Characters keep ``V`` tiny but make sequences long; **BPE** (Sennrich et al.,
2016) sits in between.  It starts from characters (plus an end-of-word marker ``</w>``) and
repeatedly merges the most frequent adjacent pair of symbols, counted over the corpus's words
weighted by their frequency, into one new symbol: frequent words end up as one token, rare
ones are spelled from pieces, and no word is ever "unknown" as long as its characters were seen.

Ties between equally frequent pairs go to the pair that sorts first, so learning is
deterministic.  Within a word a merge is applied left to right without overlaps
(``a a a`` with the merge ``(a, a)`` becomes ``aa a``).  Words are what ``str.split()``
returns, so decoding gives the text with its whitespace normalised to single spaces.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass, field

__all__ = ["END", "learn_bpe", "BPE", "output_layer_cost"]

END = "</w>"
Pair = tuple[str, str]


def output_layer_cost(vocab_size: int, hidden_size: int) -> dict[str, int]:
    """Parameters and FLOPs of a softmax output layer ``Linear(H, V)`` for one predicted token.

    Returns ``{"parameters": V H + V, "flops": 2 H V + 4 V}``: the FLOPs are ``2 H V`` for the
    matrix-vector product (a multiply and an add per weight), ``V`` for the bias and ``3 V``
    for the softmax (exp, sum, divide).
    """
    for name, value in (("vocab_size", vocab_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    V, H = vocab_size, hidden_size
    return {"parameters": V * H + V, "flops": 2 * H * V + 4 * V}


def _merge_word(symbols: tuple[str, ...], pair: Pair) -> tuple[str, ...]:
    """``symbols`` with every occurrence of ``pair`` merged, left to right, no overlaps."""
    out, i, a, b = [], 0, pair[0], pair[1]
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")


def learn_bpe(text: str, num_merges: int) -> list[Pair]:
    """The first ``num_merges`` BPE merges learned from ``text`` (fewer if no pair is left).

    Pair counts are kept up to date incrementally: a merge only re-counts the words that
    contain the merged pair, and a heap finds the most frequent pair (ties: the smallest
    pair), so thousands of merges on a corpus of 10^5 words take about a second.
    """
    _check_text(text)
    if not isinstance(num_merges, int) or isinstance(num_merges, bool) or num_merges < 0:
        raise ValueError(f"num_merges must be a non-negative integer, got {num_merges!r}")
    freq = Counter(text.split())
    words = [tuple(w) + (END,) for w in freq]
    counts = list(freq.values())
    pair_count: Counter[Pair] = Counter()
    where: defaultdict[Pair, set[int]] = defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_count[p] += counts[i]
            where[p].add(i)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges: list[Pair] = []
    while len(merges) < num_merges and heap:
        neg, best = heapq.heappop(heap)
        if pair_count.get(best, 0) != -neg or -neg <= 0:
            continue                                   # a stale heap entry
        merges.append(best)
        touched: set[Pair] = set()
        for i in sorted(where.pop(best)):
            old = words[i]
            new = _merge_word(old, best)
            if new == old:
                continue
            for p in zip(old, old[1:]):
                pair_count[p] -= counts[i]
                touched.add(p)
            for p in zip(new, new[1:]):
                pair_count[p] += counts[i]
                where[p].add(i)
                touched.add(p)
            words[i] = new
        for p in touched:
            if pair_count[p] > 0:
                heapq.heappush(heap, (-pair_count[p], p))
            else:
                del pair_count[p]
    return merges


@dataclass
class BPE:
    """A learned BPE model: ``BPE.learn(text, num_merges)``, then ``encode`` / ``decode``.

    ``vocab`` is the sorted list of token strings: every character of the training text, the
    end marker ``</w>``, and one token per merge.  A character never seen in training stays a
    token of its own at encoding time (``unknown`` counts such tokens).
    """

    merges: list[Pair]
    alphabet: frozenset[str]
    _rank: dict[Pair, int] = field(init=False, repr=False)
    _cache: dict[str, tuple[str, ...]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._rank = {tuple(p): r for r, p in enumerate(self.merges)}

    @classmethod
    def learn(cls, text: str, num_merges: int) -> "BPE":
        _check_text(text)
        return cls(learn_bpe(text, num_merges), frozenset("".join(text.split())) | {END})

    @property
    def vocab(self) -> list[str]:
        return sorted(self.alphabet | {a + b for a, b in self.merges})

    def encode_word(self, word: str) -> tuple[str, ...]:
        """The tokens of one word (no whitespace in it), ending with the end marker."""
        if word not in self._cache:
            symbols = tuple(word) + (END,)
            while len(symbols) > 1:
                ranked = [(self._rank[p], p) for p in zip(symbols, symbols[1:]) if p in self._rank]
                if not ranked:
                    break
                symbols = _merge_word(symbols, min(ranked)[1])
            self._cache[word] = symbols
        return self._cache[word]

    def encode(self, text: str) -> list[str]:
        """The token strings of ``text``: its words, each split into subword units."""
        _check_text(text)
        return [tok for w in text.split() for tok in self.encode_word(w)]

    @staticmethod
    def decode(tokens: list[str]) -> str:
        """The text back from tokens, words separated by single spaces."""
        return "".join(tokens).replace(END, " ").rstrip(" ")

    def unknown(self, tokens: list[str]) -> int:
        """How many of ``tokens`` are not in the vocabulary (characters never seen in training)."""
        known = set(self.vocab)
        return sum(t not in known for t in tokens)
