"""A causal, gated convolutional sequence model (GLU gates, Dauphin et al.'s idea) in torch.

Each layer is a 1-D convolution over time, padded on the left only so that the output at
step t sees inputs t - (k - 1) .. t, followed by a gated linear unit::

    [a; b] = conv_k(h)        (2C channels)      h' = h + a * sigmoid(b)   (a residual)

Stacking L layers of width k gives a receptive field of ``1 + L (k - 1)`` steps: beyond it the
output does not depend on the input at all, which is the price of computing every step in
parallel instead of carrying a state. Inputs are time-major (T, N, V) like the recurrent models.
"""

from __future__ import annotations

import torch

__all__ = ["GatedConvClassifier", "receptive_field"]


def receptive_field(n_layers: int, kernel_size: int) -> int:
    """How many input steps the last output can see: ``1 + n_layers (kernel_size - 1)``."""
    if n_layers < 1 or kernel_size < 1:
        raise ValueError(f"n_layers and kernel_size must be positive, got {n_layers}, {kernel_size}")
    return 1 + n_layers * (kernel_size - 1)


class GatedConvClassifier(torch.nn.Module):
    """Causal GLU convolutions over (T, N, V), a linear head on the last step -> (N, K);
    ``features(x)`` gives every step's (T, N, C) output."""

    def __init__(self, input_size: int, channels: int, n_classes: int, n_layers: int, kernel_size: int):
        super().__init__()
        receptive_field(n_layers, kernel_size)
        self.kernel_size = kernel_size
        self.inp = torch.nn.Linear(input_size, channels)
        self.convs = torch.nn.ModuleList(torch.nn.Conv1d(channels, 2 * channels, kernel_size)
                                         for _ in range(n_layers))
        self.head = torch.nn.Linear(channels, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3:
            raise ValueError(f"x must have shape (T, N, V), got {tuple(x.shape)}")
        h = self.inp(x).permute(1, 2, 0)                               # (N, C, T)
        for conv in self.convs:
            a, b = conv(torch.nn.functional.pad(h, (self.kernel_size - 1, 0))).chunk(2, dim=1)
            h = h + a * torch.sigmoid(b)                              # GLU with a residual
        return h.permute(2, 0, 1)                                      # (T, N, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[-1])
