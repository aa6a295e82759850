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


def test_logits_and_unnormalised_lattice():
    torch.manual_seed(1)
    model = DigitCNN().double()
    s = make_string([4, 1, 7], np.random.default_rng(1))
    cuts, arcs, logp, n = string_lattice(model, s.image)
    cuts2, arcs2, raw, n2 = string_lattice(model, s.image, normalised=False)
    assert np.array_equal(cuts, cuts2) and np.array_equal(arcs, arcs2) and n == n2
    assert torch.allclose(raw.log_softmax(-1), logp, atol=1e-12)
    assert not torch.allclose(raw, logp)


def test_normalised_scores_make_log_z_the_number_of_segmentations():
    """With per-arc log-probabilities log Z = log(number of segmentations), whatever the CNN:
    its gradient with respect to the logits is zero, while with raw logits it is not."""
    torch.manual_seed(2)
    model = DigitCNN().double()
    s = make_string([3, 8], np.random.default_rng(2))
    cuts, arcs, raw, n = string_lattice(model, s.image, normalised=False)
    raw = raw.detach().requires_grad_(True)
    log_paths = float(L.log_partition(torch.zeros(len(arcs), 1, dtype=torch.float64), arcs, n))
    log_z = L.log_partition(raw.log_softmax(-1), arcs, n)
    assert abs(float(log_z) - log_paths) < 1e-10
    (grad,) = torch.autograd.grad(log_z, raw)
    assert grad.abs().max() < 1e-12
    (grad_raw,) = torch.autograd.grad(L.log_partition(raw, arcs, n), raw)
    assert grad_raw.abs().max() > 1e-3
