"""Plotting helpers shared by the lectures (matplotlib only)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .training import History

__all__ = ["plot_losses", "plot_band"]


def plot_losses(
    curves: History | Mapping[str, Sequence[float]],
    ax: plt.Axes | None = None,
    log: bool = False,
    title: str | None = None,
) -> plt.Axes:
    """Plot loss curves against the epoch.

    ``curves`` is a :class:`~seqcourse.training.History` (train and validation
    curves, the best epoch marked) or a mapping from a label to a list of losses.
    """
    ax = ax or plt.subplots(figsize=(5, 3))[1]
    if isinstance(curves, History):
        named = {"train": curves.train}
        if curves.valid:
            named["validation"] = curves.valid
    else:
        named = dict(curves)
    for label, values in named.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    if isinstance(curves, History) and curves.best_epoch is not None:
        ax.axvline(curves.best_epoch + 1, color="grey", ls=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_band(ax: plt.Axes, t: np.ndarray, mean: np.ndarray, std: np.ndarray,
              label: str, color: str | None = None, k: float = 2.0) -> None:
    """A line with a shaded ``mean ± k·std`` band."""
    (line,) = ax.plot(t, mean, label=label, color=color)
    ax.fill_between(t, mean - k * std, mean + k * std, color=line.get_color(), alpha=0.2,
                    label=f"±{k:g}σ")
