"""Unit tests of seqcourse.captioning against independent references: torch's cross-entropy for the
masked log-likelihood, step-by-step decoding for the batched teacher-forcing pass, and
seqcourse.decoding's greedy search for the batched greedy captions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcourse import captioning as C
from seqcourse import scenes as S
from seqcourse.decoding import beam_search, greedy_decode

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def small_model(condition: str, seed: int = 0, layers: int = 1) -> C.Captioner:
    torch.manual_seed(seed)
    enc = C.ConvEncoder(20, 16, channels=(3, 5)).double()
    dec = C.CaptionDecoder(len(C.Vocabulary()), 20, 7, 11, condition, layers).double()
    return C.Captioner(enc, dec)


def test_vocabulary_shifts_targets_by_one_and_masks_padding():
    v = C.Vocabulary()
    assert v.itos[:3] == [C.PAD, C.BOS, C.EOS] and len(v) == len(set(v.itos))
    inputs, targets, mask = v.batch([["a", "red", "square"], ["a", "big", "blue", "circle", "above", "a",
                                                               "red", "square"]])
    assert inputs.shape == targets.shape == mask.shape == (2, 9)
    assert inputs[0, 0] == v.bos and targets[0, 3] == v.eos and v.decode(targets[0].tolist()) == ["a", "red", "square"]
    torch.testing.assert_close(inputs[:, 1:4], targets[:, :3])           # shifted by one
    assert mask[0].tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0] and mask[1].sum() == 9
    assert v.decode([v.bos, v.stoi["a"], v.eos, v.stoi["red"]]) == ["a"]
    with pytest.raises(ValueError, match="not in the vocabulary"):
        v.encode(["a", "purple", "square"])


def test_masked_log_likelihood_matches_torch_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    N, L, V = 3, 5, 7
    logits = torch.randn(N, L, V, generator=gen, dtype=torch.float64)
    targets = torch.randint(1, V, (N, L), generator=gen)
    lengths = [5, 2, 3]
    for n, k in enumerate(lengths):
        targets[n, k:] = 0
    mask = (targets != 0).double()
    got = C.caption_log_likelihood(logits, targets, mask)
    ref = -torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, ignore_index=0,
                                             reduction="none").sum(1)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(C.caption_loss(logits, targets, mask), -ref.mean())
    with pytest.raises(ValueError, match="expected logits"):
        C.caption_log_likelihood(logits[0], targets, mask)


@pytest.mark.parametrize("condition", C.CONDITIONS)
def test_teacher_forcing_equals_stepwise_decoding(condition):
    model = small_model(condition, layers=2 if condition == "both" else 1)
    v = C.Vocabulary()
    images = S.render(S.make_scenes(2, np.random.default_rng(1), 2, image_size=16), image_size=16)
    inputs, targets, mask = v.batch([["a", "red", "square"], ["a", "blue", "circle", "left", "of", "a",
                                                               "red", "square"]])
    feats = C.encode_images(model.encoder, images)
    logits, _ = model.decoder(feats, inputs)
    for n in range(2):
        step, state = C.make_step(model.decoder, feats[n])
        states, prefix = [state], [v.bos]
        for t in range(int(mask[n].sum())):
            logp, states = step([prefix], states)
            ref = torch.log_softmax(logits[n, t], -1).detach().numpy()
            np.testing.assert_allclose(logp[0], ref, rtol=1e-10, atol=1e-12)
            prefix = prefix + [int(targets[n, t])]


def test_conditioning_reaches_the_decoder_the_documented_way():
    v = C.Vocabulary()
    inputs, _, _ = v.batch([["a", "red", "square"]] * 2)
    f = torch.randn(2, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for condition in C.CONDITIONS:
        dec = small_model(condition).decoder
        h0, c0 = dec.initial_state(f)
        assert h0.shape == c0.shape == (1, 2, 11) and torch.all(c0 == 0)
        assert bool(torch.all(h0 == 0)) == (condition == "input")
        assert (dec.lstm.input_size == 7 + 20) == (condition != "init")
        out, _ = dec(f, inputs)
        assert out.shape == (2, 4, len(v)) and not torch.allclose(out[0], out[1])


def test_batched_greedy_and_beam_agree_with_seqcourse_decoding():
    model = small_model("both", seed=4)
    v = C.Vocabulary()
    images = S.render(S.make_scenes(4, np.random.default_rng(5), (1, 2), image_size=16), image_size=16)
    got = C.greedy_captions(model, images, v, max_len=6)
    feats = C.encode_images(model.encoder, images)
    for n in range(4):
        step, init = C.make_step(model.decoder, feats[n])
        ref = greedy_decode(step, init, v.bos, v.eos, 6)
        assert got[n] == v.decode(ref)
        for tokens, score in beam_search(step, init, v.bos, v.eos, 3, 6, 0.0):
            # with length_penalty 0 the score is the log-probability of the teacher-forced tokens
            inputs = torch.tensor([[v.bos] + tokens[:-1]])
            logits, _ = model.decoder(feats[n:n + 1], inputs)
            lp = torch.log_softmax(logits[0], -1)[torch.arange(len(tokens)), torch.tensor(tokens)].sum()
            assert score == pytest.approx(lp.item(), abs=1e-9)
    found = C.beam_captions(model, images[0], v, beam_width=3, max_len=6)
    assert len(found) == 3 and found[0][1] >= found[1][1] >= found[2][1]


def test_training_lowers_the_caption_loss_and_freezing_keeps_the_encoder():
    rng = np.random.default_rng(6)
    scenes = S.make_scenes(64, rng, 1, image_size=16)
    images = S.render(scenes, image_size=16, rng=rng)
    model = small_model("init", seed=7)
    before = [p.detach().clone() for p in model.encoder.parameters()]
    losses = C.train_captioner(model, images, [S.captions(s, 16) for s in scenes], C.Vocabulary(),
                               epochs=6, batch_size=16, progress=False)
    assert losses[-1] < losses[0] - 1.0
    assert all(torch.equal(a, b) for a, b in zip(before, model.encoder.parameters()))
    C.train_captioner(model, images, [S.captions(s, 16) for s in scenes], C.Vocabulary(), epochs=1,
                      fine_tune=True, progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(before, model.encoder.parameters()))


def test_temporal_pooling_is_order_blind_and_the_recurrent_model_is_not():
    x = torch.randn(3, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(C.temporal_pool(x), x.mean(1))
    torch.testing.assert_close(C.temporal_pool(x.flip(1)), C.temporal_pool(x))
    torch.manual_seed(0)
    pooled, rec = C.PooledFrameClassifier(4, 7).double(), C.RecurrentFrameClassifier(4, 7).double()
    torch.testing.assert_close(pooled(x.flip(1)), pooled(x))
    assert not torch.allclose(rec(x.flip(1)), rec(x))
    with pytest.raises(ValueError, match=r"\(N, T, F\)"):
        C.temporal_pool(x[0])


def test_video_describer_has_a_stacked_two_layer_decoder():
    torch.manual_seed(0)
    v = C.Vocabulary()
    m = C.VideoDescriber(len(v), 6, hidden_size=9).double()
    assert m.decoder.lstm.num_layers == 2 and m.encoder.num_layers == 2
    clips = S.make_clips(3, np.random.default_rng(9), n_frames=4, image_size=16)
    feats = torch.randn(3, 4, 6, dtype=torch.float64)
    inputs, targets, mask = v.batch([S.clip_sentences(c)[0] for c in clips])
    assert m(feats, inputs).shape == (*inputs.shape, len(v))
    losses = C.train_describer(m, feats, [S.clip_sentences(c) for c in clips], v, epochs=3, progress=False)
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert len(C.describe(m, feats, v)) == 3


def test_encoder_shapes_and_errors():
    enc = C.ConvEncoder(30, 16, channels=(4, 6))
    assert enc(torch.zeros(2, 3, 16, 16)).shape == (2, 30)
    with pytest.raises(ValueError, match=r"\(N, 3, 16, 16\)"):
        enc(torch.zeros(2, 16, 16, 3))
    with pytest.raises(ValueError, match="condition"):
        C.CaptionDecoder(10, 5, condition="every")
    with pytest.raises(ValueError, match="one caption per scene"):
        C.semantic_accuracy([["a"]], [])
