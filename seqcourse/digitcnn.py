"""A small CNN for 8x8 digits and the lattice scores it gives a string image (lecture 08).

``DigitCNN`` maps (B, 1, 8, 8) images to (B, 10) log-probabilities (``logits`` gives the
unnormalised scores).  ``pretrain`` fits it on single bundled digits; ``string_lattice``
over-segments a string image and returns the arcs and the CNN's (A, 10) arc scores,
differentiable so that a sequence-level loss on the lattice trains the CNN itself.

Arc scores: per-arc log-probabilities (``normalised=True``, the default) make every arc's
scores log-sum-exp to 0, so the lattice's log Z is the log of the number of segmentations
whatever the CNN says, and the normaliser of the sequence loss gives no gradient.  Raw logits
(``normalised=False``) leave the normalisation to the whole lattice (global normalisation,
as in graph transformer networks): then a segment can score low for every class.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqcourse import device as _device
from seqcourse.digitstrings import load_digits_01, normalise_glyph, oversegment, segment_images
from seqcourse.lattice import all_arcs

__all__ = ["DigitCNN", "pretrain", "string_lattice", "split_indices"]


class DigitCNN(nn.Module):
    """conv(1->8, 3x3) - ReLU - conv(8->16, 3x3, stride 2) - ReLU - linear(16*4*4 -> 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Flatten(), nn.Linear(16 * 4 * 4, 10))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Unnormalised class scores (B, 10) of images (B, 1, 8, 8)."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError(f"expected images of shape (B, 1, 8, 8), got {tuple(x.shape)}")
        return self.net(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (B, 10) of images (B, 1, 8, 8)."""
        return torch.log_softmax(self.logits(x), dim=-1)


def split_indices(seed: int = 0, test_fraction: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint train/test indices into the bundled digits (strings draw from one pool each)."""
    n = len(load_digits_01()[1])
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(n * test_fraction))
    return np.sort(perm[k:]), np.sort(perm[:k])


def pretrain(indices: np.ndarray, *, epochs: int = 15, seed: int = 0, dtype=torch.float64,
             lr: float = 3e-3) -> DigitCNN:
    """Train a DigitCNN on the single digits ``indices`` (Adam, mini-batches of 64)."""
    images, labels = load_digits_01()
    dev = _device()
    torch.manual_seed(seed)
    model = DigitCNN().to(dev, dtype)
    glyphs = np.stack([normalise_glyph(im) for im in images[indices]])
    x = torch.tensor(glyphs[:, None], dtype=dtype, device=dev)
    y = torch.tensor(labels[indices], device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for b in torch.randperm(len(y), generator=g).split(64):
            loss = nn.functional.nll_loss(model(x[b.to(dev)]), y[b.to(dev)])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def string_lattice(model: DigitCNN, image: np.ndarray, *, max_span: int = 3, max_piece: int = 4,
                   normalised: bool = True):
    """(cuts, arcs (A, 2), scores (A, 10) tensor, n_nodes) for one string image.

    ``normalised``: arc scores are the CNN's log-probabilities (True) or its raw logits (False).
    """
    cuts = oversegment(image, max_piece=max_piece)
    arcs = all_arcs(len(cuts) - 1, max_span)
    p = next(model.parameters())
    segs = torch.tensor(segment_images(image, cuts, arcs)[:, None], dtype=p.dtype, device=p.device)
    return cuts, arcs, model(segs) if normalised else model.logits(segs), len(cuts)
