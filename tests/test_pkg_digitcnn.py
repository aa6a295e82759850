"""seqcourse.digitcnn: pre-training on single digits and lattice scores that carry gradients."""

import numpy as np
import pytest
import torch

from seqcourse import lattice as L
from seqcourse.digitcnn import DigitCNN, pretrain, split_indices, string_lattice
from seqcourse.digitstrings import load_digits_01, make_string, normalise_glyph


def test_pretrained_cnn_reads_single_digits(one_torch_thread):
    train, test = split_indices(0)
    assert not set(train) & set(test)
    model = pretrain(train, epochs=8)
    images, labels = load_digits_01()
    x = torch.tensor(np.stack([normalise_glyph(im) for im in images[test]])[:, None])
    with torch.no_grad():
        acc = (model(x).argmax(1).numpy() == labels[test]).mean()
    assert acc > 0.85


def test_sequence_loss_gradient_reaches_the_cnn(one_torch_thread):
    torch.manual_seed(0)
    model = DigitCNN().double()
    s = make_string([2, 0, 0], np.random.default_rng(0))
    cuts, arcs, scores, n = string_lattice(model, s.image)
    assert scores.shape == (len(arcs), 10) and n == len(cuts)
    L.sequence_loss(scores, arcs, n, s.label).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert sum(float(p.grad.abs().sum()) for p in model.parameters()) > 0


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r"\(B, 1, 8, 8\)"):
        DigitCNN()(torch.zeros(2, 8, 8))
