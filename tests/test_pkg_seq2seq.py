"""seqcourse.seq2seq: masking, reversal, teacher forcing vs step-by-step decoding,
the decoding adapter, padding invariance, and a small model that learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcourse import decoding, seq2seq as s2s, translation as tr


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model(**kw):
    torch.manual_seed(0)
    return s2s.Seq2Seq(11, 13, emb=5, hidden=7, **kw).double().eval()


def test_masked_attention_ignores_padding_and_sums_to_one():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 4, generator=g, dtype=torch.float64)
    values = torch.randn(3, 4, 6, generator=g, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    ctx, w = s2s.masked_attention(scores, values, mask)
    assert torch.all(w[~mask] == 0)
    torch.testing.assert_close(w.sum(1), torch.ones(3, dtype=torch.float64))
    for b in range(3):
        n = int(mask[b].sum())
        ref = torch.softmax(scores[b, :n], 0)
        torch.testing.assert_close(w[b, :n], ref)
        torch.testing.assert_close(ctx[b], ref @ values[b, :n])
    with pytest.raises(ValueError):
        s2s.masked_attention(scores, values, mask[:, :3])


def test_reverse_padded_keeps_padding_at_the_end():
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    out = s2s.reverse_padded(src, torch.tensor([4, 2]))
    assert out.tolist() == [[6, 5, 4, 3], [8, 7, 0, 0]]


@pytest.mark.parametrize("attention", [None, "additive", "dot"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("reverse", [False, True])
def test_padding_does_not_change_a_sentence(attention, cell, reverse):
    """A sentence decoded alone and inside a padded batch gives the same logits."""
    m = _model(attention=attention, cell=cell, reverse_source=reverse)
    srcs = [[3, 4, 5, 6, 7], [8, 9]]
    tgts = [[3, 4, 2], [5, 6, 7, 8, 2]]
    batch = s2s.make_batch(srcs, tgts)
    with torch.no_grad():
        both = m(batch.src, batch.lengths, batch.tgt_in)
        for i in range(2):
            one = s2s.make_batch([srcs[i]], [tgts[i]])
            alone = m(one.src, one.lengths, one.tgt_in)
            torch.testing.assert_close(both[i, : len(tgts[i])], alone[0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("attention", [None, "additive"])
def test_step_adapter_scores_equal_teacher_forcing(attention):
    m = _model(attention=attention, reverse_source=True)
    src, tgt = [3, 4, 5, 6], [7, 8, 9, 2]
    step, init = s2s.step_function(m, src)
    lp = decoding.sequence_log_prob(step, init, tr.BOS, tgt)
    b = s2s.make_batch([src], [tgt])
    with torch.no_grad():
        logits = m(b.src, b.lengths, b.tgt_in)
    ref = torch.log_softmax(logits[0], 1)[torch.arange(4), torch.tensor(tgt)].sum()
    np.testing.assert_allclose(lp, float(ref), rtol=1e-10)


def test_greedy_batch_equals_greedy_decode_and_returns_attention():
    m = _model(attention="additive", reverse_source=True)
    srcs = [[3, 4, 5, 6], [7, 8], [9, 10, 3]]
    outs, atts = s2s.greedy_batch(m, srcs, max_len=6)
    for src, out, att in zip(srcs, outs, atts):
        step, init = s2s.step_function(m, src)
        assert out == decoding.greedy_decode(step, init, tr.BOS, tr.EOS, 6)
        assert att.shape == (len(out), len(src))
        np.testing.assert_allclose(att.sum(1), 1.0, rtol=1e-10)
        # the adapter's weights (source order) match greedy_batch's last row
        prefix, state = [tr.BOS], init
        for t, tok in enumerate(out):
            _, (state,) = step([prefix], [state])
            np.testing.assert_allclose(state[1], att[t], rtol=1e-10)
            prefix.append(tok)


def test_beam_search_on_the_adapter_matches_exhaustive_search():
    torch.manual_seed(1)
    m = s2s.Seq2Seq(11, 4, emb=3, hidden=4, attention="additive").double().eval()
    step, init = s2s.step_function(m, [3, 5, 7])
    exact = decoding.exhaustive_search(step, init, tr.BOS, tr.EOS, 4, 4)
    beam = decoding.beam_search(step, init, tr.BOS, tr.EOS, 64, 4)
    assert beam[0][0] == exact[0][0]
    np.testing.assert_allclose(beam[0][1], exact[0][1], rtol=1e-10)


def test_attention_model_learns_short_translations():
    rng = np.random.default_rng(0)
    sv, tv = tr.source_vocab(), tr.target_vocab()
    pairs = tr.make_pairs(600, rng, 3, 6)
    X = [sv.encode(s, eos=False) for s, _ in pairs]
    Y = [tv.encode(r[0]) for _, r in pairs]
    torch.manual_seed(0)
    m = s2s.Seq2Seq(len(sv), len(tv), 16, 32, attention="additive")
    losses = s2s.train_seq2seq(m, X, Y, steps=60, batch_size=64, lr=1e-2, progress=False)
    assert losses[-1] < 0.5 * losses[0]


def test_exact_match_accepts_any_reference():
    assert s2s.exact_match([["a"], ["b"]], [[["a"]], [["c"], ["b"]]]) == 1.0
    assert s2s.exact_match([["a"]], [[["b"]]]) == 0.0


def test_friendly_errors():
    with pytest.raises(ValueError):
        s2s.Seq2Seq(5, 5, attention="luong")
    with pytest.raises(ValueError):
        s2s.Seq2Seq(5, 5, cell="rnn")
