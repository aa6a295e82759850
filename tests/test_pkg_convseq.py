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
