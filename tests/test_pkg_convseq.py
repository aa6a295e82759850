"""seqcourse.convseq: causality and the receptive field checked by autograd."""

from __future__ import annotations

import pytest
import torch

from seqcourse import convseq


def test_output_depends_exactly_on_the_receptive_field_and_never_on_the_future():
    torch.manual_seed(0)
    m = convseq.GatedConvClassifier(5, 6, 3, n_layers=3, kernel_size=4).double()
    T = 20
    x = torch.randn(T, 2, 5, dtype=torch.float64, requires_grad=True)
    m.features(x)[12].sum().backward()
    seen = (x.grad.abs().sum(dim=(1, 2)) > 0).nonzero().flatten().tolist()
    rf = convseq.receptive_field(3, 4)
    assert rf == 10
    assert seen == list(range(12 - rf + 1, 13))            # steps 3..12: the past rf steps only


def test_shapes_and_errors():
    m = convseq.GatedConvClassifier(5, 6, 3, n_layers=2, kernel_size=3)
    assert m(torch.zeros(7, 4, 5)).shape == (4, 3)
    with pytest.raises(ValueError, match=r"\(T, N, V\)"):
        m(torch.zeros(7, 5))
    with pytest.raises(ValueError, match="positive"):
        convseq.receptive_field(0, 3)


def test_marked_lines_close_with_the_opener_digit():
    import numpy as np
    text = convseq.marked_lines(50, np.random.default_rng(0), max_words=4)
    lines = text.splitlines()
    assert len(lines) == 50
    for line in lines:
        words = line.split(" ")
        assert "ABCD".index(words[0]) + 1 == int(words[-1]) and 1 <= len(words) - 2 <= 4


def test_language_models_are_causal_and_shaped():
    torch.manual_seed(0)
    for m in (convseq.GatedConvLM(7, 6, 2, 3).double(), convseq.LSTMLM(7, 5).double()):
        ids = torch.randint(0, 7, (9, 4))
        out = m(ids)
        assert out.shape == (9, 4, 7)
        changed = ids.clone()
        changed[6:] = (changed[6:] + 1) % 7                   # change the future only
        torch.testing.assert_close(m(changed)[:6], out[:6])
        with pytest.raises(ValueError, match=r"\(T, N\)"):
            m(torch.zeros(9, dtype=torch.long))
    conv = convseq.GatedConvLM(7, 6, 2, 3)
    ids = torch.randint(0, 7, (12, 1))
    changed = ids.clone()
    changed[0] = (changed[0] + 1) % 7
    # the last output sees steps 12 - 5 .. 11 only (field 1 + 2 * 2 = 5)
    torch.testing.assert_close(conv(changed)[-1], conv(ids)[-1])
    assert not torch.allclose(conv(changed)[0], conv(ids)[0])


def test_token_losses_encode_and_closer_accuracy():
    import numpy as np
    alphabet = "ABCD1234 \n" + "".join(sorted(set("".join(convseq._WORDS))))
    text = convseq.marked_lines(5, np.random.default_rng(1))
    ids = convseq.encode(text, alphabet)
    torch.manual_seed(0)
    m = convseq.LSTMLM(len(alphabet), 4).double()
    losses = convseq.token_losses(m, ids)
    with torch.no_grad():
        logits = m(torch.as_tensor(ids[:-1])[:, None])[:, 0]
    ref = torch.nn.functional.cross_entropy(logits, torch.as_tensor(ids[1:]), reduction="none").numpy()
    np.testing.assert_allclose(losses, ref, rtol=1e-12)
    dist, right = convseq.closer_accuracy(m, text, alphabet)
    assert dist.shape == right.shape == (5,)
    assert list(dist) == [len(line) - 1 for line in text.splitlines()]
    with pytest.raises(ValueError, match="not in the alphabet"):
        convseq.encode("xyz", "abc")
    with pytest.raises(ValueError, match="more than T"):
        convseq.lm_batches(ids[:5], 8, 2, np.random.default_rng(0))
