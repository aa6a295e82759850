"""Input validation shared by the package: every message says what was
expected and what came in, so that a student can fix the call at once."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def as_float_array(value: object, name: str, ndim: int | None = None) -> np.ndarray:
    """Convert ``value`` to a float64 array, checking its number of dimensions."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}") from err
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimension(s), got shape {arr.shape} "
            f"({arr.ndim} dimension(s))"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite numbers, got NaN or inf")
    return arr


def check_shape(arr: np.ndarray, expected: Sequence[int | None], name: str) -> None:
    """Raise if ``arr.shape`` differs from ``expected`` (``None`` matches any size)."""
    ok = arr.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, arr.shape)
    )
    if not ok:
        parts = ["*" if e is None else str(e) for e in expected]
        shown = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {shown}, got {arr.shape}")


def check_square(arr: np.ndarray, name: str) -> int:
    """Raise unless ``arr`` is a square matrix; return its size."""
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square matrix (n, n), got shape {arr.shape}")
    return arr.shape[0]


def check_covariance(arr: np.ndarray, name: str, atol: float = 1e-9) -> None:
    """Raise unless ``arr`` is symmetric positive semi-definite."""
    check_square(arr, name)
    if not np.allclose(arr, arr.T, atol=atol, rtol=0):
        raise ValueError(f"{name} must be symmetric (a covariance matrix), got {arr!r}")
    smallest = float(np.linalg.eigvalsh(arr).min()) if arr.size else 0.0
    if smallest < -atol * max(1.0, float(np.abs(arr).max())):
        raise ValueError(
            f"{name} must be positive semi-definite, got smallest eigenvalue {smallest:.3g}"
        )


def check_probabilities(p: np.ndarray, name: str, axis: int = -1, atol: float = 1e-8) -> None:
    """Raise unless ``p`` is non-negative and sums to one along ``axis``."""
    if np.any(p < 0):
        raise ValueError(f"{name} must be non-negative, got minimum {p.min():.3g}")
    sums = p.sum(axis=axis)
    if not np.allclose(sums, 1.0, atol=atol, rtol=0):
        worst = float(np.abs(sums - 1.0).max())
        raise ValueError(
            f"{name} must sum to 1 along axis {axis}, got sums off by up to {worst:.3g}"
        )
