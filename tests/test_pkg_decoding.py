"""seqcourse.decoding: beam search against exhaustive enumeration, greedy and sampling
against hand-made models whose answers are known."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqcourse import decoding

BOS, EOS = 0, 1


def _table_step(table):
    """A model whose next-token log-probs are looked up by the prefix (tuple)."""
    def step(prefixes, states):
        return np.stack([table(tuple(p)) for p in prefixes]), [s for s in states]
    return step


def _brute_force(step, h0, V, max_len, alpha):
    """Enumerate every token string independently of decoding.exhaustive_search."""
    out = []
    for L in range(1, max_len + 1):
        for ys in itertools.product(range(V), repeat=L):
            if EOS in ys[:-1] or (L < max_len and ys[-1] != EOS):
                continue
            if BOS in ys:
                pass
            lp = decoding.sequence_log_prob(step, h0, BOS, ys)
            if np.isfinite(lp):
                out.append((list(ys), lp / L ** alpha))
    return sorted(out, key=lambda c: (-c[1], c[0]))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("alpha", [0.0, 1.0, 0.7])
def test_exhaustive_search_equals_brute_force(seed, alpha):
    step, h0 = decoding.random_rnn_step(V=4, seed=seed)
    ours = decoding.exhaustive_search(step, h0, BOS, EOS, max_len=4, V=4, length_penalty=alpha)
    ref = _brute_force(step, h0, 4, 4, alpha)
    assert [t for t, _ in ours] == [t for t, _ in ref]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in ref], rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_equals_exhaustive_search(seed, alpha):
    V, max_len = 4, 5
    step, h0 = decoding.random_rnn_step(V=V, seed=seed, sharpness=1.0)
    exact = decoding.exhaustive_search(step, h0, BOS, EOS, max_len, V, length_penalty=alpha)
    width = V ** max_len
    beam = decoding.beam_search(step, h0, BOS, EOS, width, max_len, length_penalty=alpha)
    assert beam[0][0] == exact[0][0]
    np.testing.assert_allclose(beam[0][1], exact[0][1], rtol=1e-12)
    k = 10
    beam_k = decoding.beam_search(step, h0, BOS, EOS, V ** (max_len - 1), max_len, alpha)
    assert [t for t, _ in beam_k[:k]] == [t for t, _ in exact[:k]]


def test_beam_scores_are_length_normalised_log_probs():
    step, h0 = decoding.random_rnn_step(V=5, seed=3)
    for tokens, score in decoding.beam_search(step, h0, BOS, EOS, 3, 6, length_penalty=0.6):
        lp = decoding.sequence_log_prob(step, h0, BOS, tokens)
        np.testing.assert_allclose(score, lp / len(tokens) ** 0.6, rtol=1e-12)
        assert EOS not in tokens[:-1]
        assert tokens[-1] == EOS or len(tokens) == 6


def test_finished_hypotheses_are_kept_aside():
    """EOS is the single best first token (p=0.4) but every continuation beyond
    it is spread thin; a beam that dropped finished hypotheses would lose it."""
    def table(prefix):
        if len(prefix) == 1:
            return np.log([1e-9, 0.4, 0.3, 0.3 - 1e-9])
        return np.log([1e-9, 0.1, 0.45, 0.45 - 1e-9])
    step = _table_step(table)
    best = decoding.beam_search(step, None, BOS, EOS, 2, 6, length_penalty=0.0)
    assert best[0][0] == [EOS]
    np.testing.assert_allclose(best[0][1], np.log(0.4))


def test_beam_width_one_never_scores_below_greedy():
    """Width 1 keeps the greedy path live; finished hypotheses set aside on the way
    can only make the result better than greedy's, never worse."""
    for seed in range(5):
        step, h0 = decoding.random_rnn_step(V=6, seed=seed)
        greedy = decoding.greedy_decode(step, h0, BOS, EOS, 8)
        beam = decoding.beam_search(step, h0, BOS, EOS, 1, 8, length_penalty=0.0)
        assert beam[0][1] >= decoding.sequence_log_prob(step, h0, BOS, greedy) - 1e-12


def test_a_wider_beam_can_prune_the_greedy_path_and_end_below_greedy():
    """Tokens bos, eos, a, b, c. Greedy writes a a <eos> (p = 0.4 * 0.4 = 0.16). Width 2 keeps a
    and b after one step; then b's two extensions (0.195 each) push a a out of the beam, and the
    best output left is a <eos> (0.1): pruning, not a bug. Widths 1 and 3 keep a a."""
    A, B, C = 2, 3, 4
    rows = {(BOS,): [0, 0, .4, .39, .21], (BOS, A): [0, .25, .4, 0, .35], (BOS, B): [0, 0, 0, .5, .5],
            (BOS, A, A): [0, 1, 0, 0, 0]}
    with np.errstate(divide="ignore"):
        step = _table_step(lambda prefix: np.log(rows.get(prefix, [0, .5, .5, 0, 0])))
    greedy = decoding.greedy_decode(step, None, BOS, EOS, 6)
    assert greedy == [A, A, EOS]
    log_greedy = decoding.sequence_log_prob(step, None, BOS, greedy)
    history = []
    with np.errstate(divide="ignore"):
        best = {w: decoding.beam_search(step, None, BOS, EOS, w, 6, length_penalty=0.0,
                                        history=history if w == 2 else None)[0] for w in (1, 2, 3)}
    assert best[1] == (greedy, pytest.approx(log_greedy)) and best[3] == (greedy, pytest.approx(log_greedy))
    assert best[2][0] == [A, EOS] and best[2][1] == pytest.approx(np.log(.4 * .25)) and best[2][1] < log_greedy
    assert history[0] == [[A], [B]]                       # kept, best first
    assert history[1] == [[B, B], [B, C]]                 # greedy's prefix a a pruned here
    assert all(len(kept) <= 2 and all(len(p) == t + 1 for p in kept) for t, kept in enumerate(history))


def test_history_lists_the_live_prefixes_of_every_step():
    step, h0 = decoding.random_rnn_step(V=5, seed=3)
    history = []
    out = decoding.beam_search(step, h0, BOS, EOS, 3, 4, length_penalty=0.0, history=history)
    assert out == decoding.beam_search(step, h0, BOS, EOS, 3, 4, length_penalty=0.0)   # no side effect
    assert 1 <= len(history) <= 4 and all(len(kept) <= 3 for kept in history)
    for t, kept in enumerate(history):
        lps = [decoding.sequence_log_prob(step, h0, BOS, p) for p in kept]
        assert all(len(p) == t + 1 and EOS not in p for p in kept) and lps == sorted(lps, reverse=True)
        if t:
            assert all(p[:-1] in history[t - 1] for p in kept)


def test_beam_stops_early_when_nothing_can_beat_finished():
    calls = []
    def table(prefix):
        calls.append(len(prefix))
        return np.log([1e-12, 0.98, 0.01, 0.01 - 1e-12])
    step = _table_step(table)
    out = decoding.beam_search(step, None, BOS, EOS, 2, 50, length_penalty=0.0)
    assert out[0][0] == [EOS]
    assert max(calls) <= 3, "search should stop long before max_len"


def test_ties_are_broken_deterministically():
    step = _table_step(lambda p: np.log(np.full(3, 1 / 3)))
    beam = decoding.beam_search(step, None, BOS, EOS, 9, 3, length_penalty=0.0)
    exact = decoding.exhaustive_search(step, None, BOS, EOS, 3, 3, length_penalty=0.0)
    assert beam[0] == exact[0]
    np.testing.assert_allclose(beam[0][1], np.log(1 / 3))


def test_greedy_follows_argmax_and_stops_at_eos_or_max_len():
    def table(prefix):
        n = len(prefix)
        if n < 4:
            v = np.full(5, 0.1); v[2 + n % 3] = 0.6
        else:
            v = np.full(5, 0.1); v[EOS] = 0.6
        return np.log(v)
    step = _table_step(table)
    assert decoding.greedy_decode(step, None, BOS, EOS, 10) == [3, 4, 2, EOS]
    assert decoding.greedy_decode(step, None, BOS, EOS, 2) == [3, 4]


def test_sampling_frequencies_follow_temperature():
    p = np.array([0.05, 0.5, 0.3, 0.15])      # first token then always EOS
    step = _table_step(lambda prefix: np.log(p))
    rng = np.random.default_rng(0)
    for T in (1.0, 0.5):
        q = p ** (1 / T); q /= q.sum()
        firsts = [decoding.sample_decode(step, None, BOS, EOS, 1, T, rng)[0] for _ in range(4000)]
        freq = np.bincount(firsts, minlength=4) / 4000
        np.testing.assert_allclose(freq, q, atol=0.03)
    assert decoding.sample_decode(step, None, BOS, EOS, 3, 0.0, rng) == [EOS]


def test_state_is_threaded_through_the_steps():
    seen = []
    def step(prefixes, states):
        seen.extend(zip([len(p) for p in prefixes], states))
        return np.log(np.full((len(prefixes), 3), 1 / 3)), [s + 1 for s in states]
    decoding.beam_search(step, 0, BOS, EOS, 2, 4)
    assert all(length == s + 1 for length, s in seen)


@pytest.mark.parametrize("bad", [
    lambda p, s: (np.zeros((len(p) + 1, 3)), s),          # wrong batch size
    lambda p, s: (np.ones((len(p), 3)), s),               # probabilities, not log
    lambda p, s: (np.zeros((len(p), 3)), s[:0]),          # states missing
])
def test_friendly_errors_for_bad_step_functions(bad):
    with pytest.raises(ValueError):
        decoding.beam_search(bad, 0, BOS, EOS, 2, 3)
    with pytest.raises(ValueError):
        decoding.greedy_decode(bad, 0, BOS, EOS, 3)


def test_friendly_errors_for_bad_arguments():
    step, h0 = decoding.random_rnn_step(V=3)
    with pytest.raises(ValueError):
        decoding.beam_search(step, h0, BOS, EOS, 0, 3)
    with pytest.raises(ValueError):
        decoding.greedy_decode(step, h0, BOS, EOS, 0)
    with pytest.raises(ValueError):
        decoding.sample_decode(step, h0, BOS, EOS, 3, -1.0, np.random.default_rng(0))
