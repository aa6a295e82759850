"""Digit-string images made from scikit-learn's bundled 8x8 digits (lecture 08).

A string such as "200" becomes one image of height 8 and width W: the 8x8 digits are
cropped to their inked columns, stretched or squeezed to a random width, and pasted left to
right with random gaps, sometimes negative (touching or overlapping digits).  The
segmentation is not part of what a reader sees: only the label is.

``oversegment`` proposes candidate cuts (column indices) so that every true boundary lies
near a cut but many cuts are spurious; the lattice of ``seqcourse.lattice`` then considers
every segment made of one to a few consecutive pieces.

Shapes: ``image`` (8, W) floats in [0, 1]; ``cuts`` increasing ints, first 0, last W.
Nothing is downloaded: ``sklearn.datasets.load_digits`` ships with scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

__all__ = ["DigitString", "load_digits_01", "make_string", "make_dataset", "oversegment",
           "segment_images", "normalise_glyph"]

HEIGHT = 8


@dataclass
class DigitString:
    """One string image: ``image`` (8, W), ``label`` tuple of ints, ``bounds`` the true
    (start, end) columns of every digit (for plots only; training never sees them)."""

    image: np.ndarray
    label: tuple[int, ...]
    bounds: list[tuple[int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(str(d) for d in self.label)


@lru_cache(maxsize=1)
def load_digits_01() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 bundled digits as ``(images (N, 8, 8) in [0, 1], labels (N,))``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float64), d.target.astype(np.int64)


def _resize_width(img: np.ndarray, width: int) -> np.ndarray:
    """Linear interpolation of an (8, w) image to (8, width)."""
    w = img.shape[1]
    if w == width:
        return img.copy()
    src = np.linspace(0, w - 1, width)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, w - 1)
    frac = src - lo
    return img[:, lo] * (1 - frac) + img[:, hi] * frac


def _crop(img: np.ndarray) -> np.ndarray:
    ink = np.nonzero(img.sum(axis=0) > 0.05)[0]
    return img[:, ink[0]:ink[-1] + 1] if ink.size else img


def make_string(digits, rng: np.random.Generator, *, pool: np.ndarray | None = None,
                width_range: tuple[int, int] = (5, 8), gap_range: tuple[int, int] = (-1, 2),
                margin: int = 1) -> DigitString:
    """Render the digit sequence ``digits`` (ints 0-9) into one image.

    Each digit is a random bundled image of that class (from the indices ``pool``, all
    by default), cropped, resized to a width drawn from ``width_range`` (inclusive), and
    placed after a gap drawn from ``gap_range`` (a gap of -1 makes neighbours overlap by a
    column, taking the maximum ink).
    """
    digits = [int(d) for d in digits]
    if not digits or any(d < 0 or d > 9 for d in digits):
        raise ValueError(f"digits must be a non-empty sequence of ints 0-9, got {digits!r}")
    images, labels = load_digits_01()
    pool = np.arange(len(labels)) if pool is None else np.asarray(pool)
    parts = []
    for d in digits:
        choices = pool[labels[pool] == d]
        img = _crop(images[rng.choice(choices)])
        parts.append(_resize_width(img, int(rng.integers(width_range[0], width_range[1] + 1))))
    gaps = [int(rng.integers(gap_range[0], gap_range[1] + 1)) for _ in parts[1:]]
    width = margin * 2 + sum(p.shape[1] for p in parts) + sum(gaps)
    canvas = np.zeros((HEIGHT, width))
    x, bounds = margin, []
    for i, p in enumerate(parts):
        if i:
            x += gaps[i - 1]
        canvas[:, x:x + p.shape[1]] = np.maximum(canvas[:, x:x + p.shape[1]], p)
        bounds.append((x, x + p.shape[1]))
        x += p.shape[1]
    return DigitString(np.clip(canvas, 0.0, 1.0), tuple(digits), bounds)


def make_dataset(n: int, rng: np.random.Generator, *, min_len: int = 1, max_len: int = 4,
                 pool: np.ndarray | None = None, **kwargs) -> list[DigitString]:
    """``n`` random strings with lengths uniform in ``[min_len, max_len]``."""
    if n < 0 or not 1 <= min_len <= max_len:
        raise ValueError(f"need n >= 0 and 1 <= min_len <= max_len, got {n}, {min_len}, {max_len}")
    out = []
    for _ in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        out.append(make_string(rng.integers(0, 10, size=length), rng, pool=pool, **kwargs))
    return out


def oversegment(image: np.ndarray, *, max_piece: int = 4, ink_threshold: float = 0.3) -> np.ndarray:
    """Candidate cuts of an (8, W) image: increasing column indices, first 0, last W.

    Blank margins at the two ends make no piece of their own (they join the first and
    last piece).  A cut goes at every blank column run inside (its middle), then pieces wider than
    ``max_piece`` are split at their columns of least ink, so that a digit is covered by
    one to a few pieces and every true boundary is near some cut.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or image.shape[0] != HEIGHT:
        raise ValueError(f"image must have shape (8, W), got {image.shape}")
    W = image.shape[1]
    ink = image.sum(axis=0)
    blank = ink < ink_threshold
    inked = np.flatnonzero(~blank)
    if len(inked) == 0:
        return np.array([0, W], dtype=np.int64)
    # blank margins are not pieces: they are absorbed into the first and last segment
    lo, hi = int(inked[0]), int(inked[-1]) + 1
    cuts = {lo, hi}
    c = lo
    while c < hi:
        if blank[c]:
            e = c
            while e < hi and blank[e]:
                e += 1
            cuts.add((c + e) // 2)
            c = e
        else:
            c += 1
    cuts = sorted(cuts)
    out = [lo]
    for a, b in zip(cuts[:-1], cuts[1:]):
        while b - out[-1] > max_piece:
            start = out[-1]
            window = range(start + 2, min(start + max_piece, b - 1) + 1)
            best = min(window, key=lambda k: (ink[k - 1] + ink[k], -k)) if len(window) else start + max_piece
            out.append(best)
        if b > out[-1]:
            out.append(b)
    out = [0] + [k for k in out if lo < k < hi] + [W]
    return np.asarray(sorted(set(out)), dtype=np.int64)


def segment_images(image: np.ndarray, cuts: np.ndarray, arcs: np.ndarray) -> np.ndarray:
    """The 8x8 image of every arc ``(i, j)``: columns ``cuts[i]:cuts[j]`` cropped to their ink,
    resized to width 8 and scaled to [0, 1].  Returns (A, 8, 8)."""
    out = np.zeros((len(arcs), HEIGHT, HEIGHT))
    for a, (i, j) in enumerate(np.asarray(arcs)):
        seg = _crop(image[:, cuts[i]:cuts[j]])
        if seg.shape[1] < 1:
            continue
        out[a] = normalise_glyph(seg)
    return out


def normalise_glyph(img: np.ndarray) -> np.ndarray:
    """Crop an (8, w) glyph to its ink and resize it to width 6, centred in 8x8 (the form the
    CNN sees both in pre-training and on lattice arcs)."""
    seg = _crop(np.asarray(img, dtype=np.float64))
    out = np.zeros((HEIGHT, HEIGHT))
    out[:, 1:7] = _resize_width(seg, 6)
    return out
