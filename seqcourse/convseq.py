"""A causal, gated convolutional sequence model (GLU gates, Dauphin et al.'s idea) in torch.

Each layer is a 1-D convolution over time, padded on the left only so that the output at
step t sees inputs t - (k - 1) .. t, followed by a gated linear unit::

    [a; b] = conv_k(h)        (2C channels)      h' = h + a * sigmoid(b)   (a residual)

Stacking L layers of width k gives a receptive field of ``1 + L (k - 1)`` steps: beyond it the
output does not depend on the input at all, which is the price of computing every step in
parallel instead of carrying a state. Inputs are time-major (T, N, V) like the recurrent models.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["GatedConvClassifier", "GatedConvLM", "LSTMLM", "encode", "lm_batches", "marked_lines",
           "receptive_field", "token_losses"]


def receptive_field(n_layers: int, kernel_size: int) -> int:
    """How many input steps the last output can see: ``1 + n_layers (kernel_size - 1)``."""
    if n_layers < 1 or kernel_size < 1:
        raise ValueError(f"n_layers and kernel_size must be positive, got {n_layers}, {kernel_size}")
    return 1 + n_layers * (kernel_size - 1)



def glu_stack(h: torch.Tensor, convs, kernel_size: int) -> torch.Tensor:
    """Causal GLU layers with residuals over h of shape (N, C, T): each conv (C -> 2C) sees
    only the past (left padding of kernel_size - 1), h <- h + a * sigmoid(b)."""
    for conv in convs:
        a, b = conv(torch.nn.functional.pad(h, (kernel_size - 1, 0))).chunk(2, dim=1)
        h = h + a * torch.sigmoid(b)
    return h

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
        h = glu_stack(self.inp(x).permute(1, 2, 0), self.convs, self.kernel_size)   # (N, C, T)
        return h.permute(2, 0, 1)                                      # (T, N, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[-1])


_OPENERS, _CLOSERS = "ABCD", "1234"
_WORDS = ("the", "cat", "sat", "on", "a", "mat", "and", "ran", "to", "dog")


def marked_lines(n_lines: int, rng, max_words: int = 6) -> str:
    """A generated corpus: each line opens with one of A-D, has 1..max_words words, and closes
    with the matching digit (A-1, B-2, ...), e.g. ``"B the cat sat 2\\n"``. The closing digit is
    predictable only from the opener, as many characters back as the line is long."""
    if n_lines < 1 or max_words < 1:
        raise ValueError(f"n_lines and max_words must be positive, got {n_lines}, {max_words}")
    lines = []
    for _ in range(n_lines):
        o = _OPENERS[rng.integers(len(_OPENERS))]
        words = [_WORDS[i] for i in rng.integers(len(_WORDS), size=rng.integers(1, max_words + 1))]
        lines.append(f"{o} {' '.join(words)} {_CLOSERS[_OPENERS.index(o)]}\n")
    return "".join(lines)


def closer_accuracy(model: torch.nn.Module, text: str, alphabet: str) -> tuple[np.ndarray, np.ndarray]:
    """For every line's closing digit: (distance back to its opener, whether the model's most
    likely digit, among the four, is the right one)."""
    ids = encode(text, alphabet)
    p = next(model.parameters())
    with torch.no_grad():
        logits = model(torch.as_tensor(ids[:-1], device=p.device)[:, None])[:, 0].cpu().numpy()
    digits = [alphabet.index(c) for c in _CLOSERS]
    dist, right, opened = [], [], 0
    for t, c in enumerate(text):
        if c in _OPENERS:
            opened = t
        elif c in _CLOSERS:
            dist.append(t - opened)
            right.append(_CLOSERS[int(np.argmax(logits[t - 1, digits]))] == c)
    return np.array(dist), np.array(right)


class GatedConvLM(torch.nn.Module):
    """A causal GLU-convolution language model: ids (T, N) -> next-symbol logits (T, N, V)."""

    def __init__(self, vocab_size: int, channels: int, n_layers: int, kernel_size: int):
        super().__init__()
        receptive_field(n_layers, kernel_size)
        self.kernel_size = kernel_size
        self.embed = torch.nn.Embedding(vocab_size, channels)
        self.convs = torch.nn.ModuleList(torch.nn.Conv1d(channels, 2 * channels, kernel_size)
                                         for _ in range(n_layers))
        self.head = torch.nn.Linear(channels, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.ndim != 2:
            raise ValueError(f"ids must have shape (T, N), got {tuple(ids.shape)}")
        h = glu_stack(self.embed(ids).permute(1, 2, 0), self.convs, self.kernel_size)  # (N, C, T)
        return self.head(h.permute(2, 0, 1))                           # (T, N, V)


class LSTMLM(torch.nn.Module):
    """The recurrent baseline: ids (T, N) -> next-symbol logits (T, N, V)."""

    def __init__(self, vocab_size: int, hidden_size: int):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, hidden_size)
        self.rnn = torch.nn.LSTM(hidden_size, hidden_size)
        self.head = torch.nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.ndim != 2:
            raise ValueError(f"ids must have shape (T, N), got {tuple(ids.shape)}")
        return self.head(self.rnn(self.embed(ids))[0])


def encode(text: str, alphabet: str) -> np.ndarray:
    """Characters -> ids in ``alphabet``; a character outside it raises ValueError."""
    index = {c: i for i, c in enumerate(alphabet)}
    missing = sorted(set(text) - set(index))
    if missing:
        raise ValueError(f"characters {missing} are not in the alphabet {alphabet!r}")
    return np.array([index[c] for c in text], dtype=np.int64)


def lm_batches(ids: np.ndarray, T: int, N: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """N random windows: inputs (T, N) and the next symbols (T, N)."""
    if len(ids) <= T:
        raise ValueError(f"the corpus needs more than T={T} symbols, got {len(ids)}")
    starts = rng.integers(0, len(ids) - T, N)
    win = np.stack([ids[s:s + T + 1] for s in starts], axis=1)
    return win[:-1], win[1:]


@torch.no_grad()
def token_losses(model: torch.nn.Module, ids: np.ndarray) -> np.ndarray:
    """Cross-entropy (nats) of predicting ids[t + 1] from ids[:t + 1], for every t, in one pass."""
    p = next(model.parameters())
    x = torch.as_tensor(ids[:-1], device=p.device)[:, None]
    y = torch.as_tensor(ids[1:], device=p.device)
    return torch.nn.functional.cross_entropy(model(x)[:, 0], y, reduction="none").cpu().numpy()
