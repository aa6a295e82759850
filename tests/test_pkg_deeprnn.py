"""seqcourse.deeprnn: each variant's equations checked against a hand-written step, shapes, errors."""

from __future__ import annotations

import pytest
import torch

from seqcourse import deeprnn


@pytest.mark.parametrize("variant", deeprnn.VARIANTS)
def test_shapes_and_causality(variant):
    torch.manual_seed(0)
    m = deeprnn.DeepTagger(variant, 3, 5, 7).double()
    x = torch.randn(6, 4, 3, dtype=torch.float64, requires_grad=True)
    out = m(x)
    assert out.shape == (6, 4, 7)
    out[2].sum().backward()                                   # step 2 sees steps 0..2 only
    assert (x.grad[3:] == 0).all() and (x.grad[:3].abs().sum(dim=(1, 2)) > 0).all()


def test_transition_and_skip_follow_their_equations():
    torch.manual_seed(1)
    for variant in ("transition", "skip"):
        m = deeprnn.DeepTagger(variant, 3, 5, 2).double()
        x = torch.randn(4, 2, 3, dtype=torch.float64)
        h = torch.zeros(2, 5, dtype=torch.float64)
        for x_t in x:
            z = torch.tanh(x_t @ m.inp.weight[:, :3].T + h @ m.inp.weight[:, 3:].T + m.inp.bias)
            pre = z @ m.mid.weight.T + m.mid.bias + (h @ m.skip.weight.T if variant == "skip" else 0)
            h = torch.tanh(pre)
        torch.testing.assert_close(m.states(x)[-1], h, rtol=0, atol=1e-12)


def test_output_and_stacked_use_torch_rnn():
    torch.manual_seed(2)
    out = deeprnn.DeepTagger("output", 3, 5, 2).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(out(x), out.head(out.rnn(x)[0]))
    assert isinstance(out.head, torch.nn.Sequential)
    assert deeprnn.DeepTagger("stacked", 3, 5, 2).rnn.num_layers == 2


def test_path_nonlinearities_and_errors():
    assert [deeprnn.path_nonlinearities(v, 10) for v in deeprnn.VARIANTS] == [10, 20, 10, 10, 11]
    with pytest.raises(ValueError, match="variant must be one of"):
        deeprnn.DeepTagger("wide", 3, 5, 2)
    with pytest.raises(ValueError, match="positive"):
        deeprnn.path_nonlinearities("skip", 0)
    with pytest.raises(ValueError, match=r"\(T, N, V\)"):
        deeprnn.DeepTagger("skip", 3, 5, 2)(torch.zeros(4, 3))
