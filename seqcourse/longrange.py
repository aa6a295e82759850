"""Tasks with a controllable lag, and the small torch models lecture 05 trains on them.

Delayed recall (``recall_task``): step 0 shows one of ``K`` symbols with a marker, the next
``lag`` steps show more symbols of the same alphabet, and the label, read after the last step,
is the marked symbol. Chance is 1/K; nothing but memory across ``lag`` steps helps.

The adding problem (``adding_problem``): two channels, random values in [0, 1] and a marker
on two positions (one in each half); the target is the sum of the two marked values. Always
predicting the mean 1 costs an MSE of 1/6 ~ 0.167.

Future-context tagging (``coarticulation_task``): a symbol's label depends on the symbol
that comes *after* it (as a phoneme is pronounced differently before another one), so a
left-to-right model is at 50% on that half of the decision while a bidirectional one sees it.

Models (``Classifier``, ``Tagger``) wrap ``torch.nn.RNN``/``LSTM``/``GRU`` with a linear head;
``train`` is a seeded Adam loop; ``state_gradient_norms`` measures ||dL/dh_t|| over t.
Inputs are one-hot, time-major (T, N, V), like torch's recurrent modules.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

__all__ = [
    "recall_task",
    "adding_problem",
    "coarticulation_task",
    "Classifier",
    "Tagger",
    "train",
    "accuracy",
    "state_gradient_norms",
]


def _one_hot(ids: np.ndarray, V: int) -> np.ndarray:
    return np.eye(V)[ids]


def _check_positive(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def recall_task(n: int, lag: int, rng: np.random.Generator,
                n_symbols: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of length ``lag + 1``: x (lag + 1, n, K + 1), labels y (n,) in [0, K).

    Every step shows one of the K symbols (one-hot in channels 0..K-1); channel K marks step
    0, whose symbol is the label. The later symbols come from the same alphabet, so a model
    must *not* write them into its memory: storing is input-dependent (a gate's job).
    """
    _check_positive(n=n, lag=lag, n_symbols=n_symbols)
    ids = rng.integers(0, n_symbols, (lag + 1, n))
    x = np.concatenate([_one_hot(ids, n_symbols), np.zeros((lag + 1, n, 1))], axis=-1)
    x[0, :, n_symbols] = 1.0
    return x, ids[0].copy()


def adding_problem(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """x (length, n, 2): values and markers; y (n,): the sum of the two marked values."""
    _check_positive(n=n, length=length)
    if length < 2:
        raise ValueError(f"length must be at least 2 (one marker in each half), got {length}")
    values = rng.uniform(0, 1, (length, n))
    half = length // 2
    first, second = rng.integers(0, half, n), rng.integers(half, length, n)
    marks = np.zeros((length, n))
    marks[first, np.arange(n)] = 1.0
    marks[second, np.arange(n)] = 1.0
    return np.stack([values, marks], axis=-1), (values * marks).sum(axis=0)


def coarticulation_task(n: int, length: int, rng: np.random.Generator,
                        n_symbols: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """x (length, n, K) one-hot symbols; tags y (length, n) in [0, 2K).

    ``y_t = 2 x_t + [x_{t+1} >= K/2]`` (the next symbol's group; group 0 after the last step):
    the tag's low bit needs the future, which a left-to-right model cannot see.
    """
    _check_positive(n=n, length=length, n_symbols=n_symbols)
    ids = rng.integers(0, n_symbols, (length, n))
    nxt = np.concatenate([ids[1:], np.zeros((1, n), dtype=ids.dtype)])
    return _one_hot(ids, n_symbols), 2 * ids + (nxt >= (n_symbols + 1) // 2) * (np.arange(length) < length - 1)[:, None]


_CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def _recurrent(kind: str, V: int, H: int, **kw) -> torch.nn.Module:
    if kind not in _CELLS:
        raise ValueError(f"kind must be one of {sorted(_CELLS)}, got {kind!r}")
    return _CELLS[kind](V, H, **kw)


class Classifier(torch.nn.Module):
    """A recurrent layer reading (T, N, V) and a linear head on the last state -> (N, K)."""

    def __init__(self, kind: str, input_size: int, hidden_size: int, n_classes: int,
                 forget_bias: float = 3.0):
        super().__init__()
        self.kind = kind
        self.rnn = _recurrent(kind, input_size, hidden_size)
        self.head = torch.nn.Linear(hidden_size, n_classes)
        if kind in ("lstm", "gru"):
            # remember by default: a positive bias on the LSTM's forget gate f (block 2 of
            # i, f, g, o) or the GRU's update gate z (block 2 of r, z, n; z = 1 keeps h),
            # a time constant of about 1 / (1 - sigma(forget_bias)) steps at the start
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden_size:2 * hidden_size].fill_(forget_bias)
                self.rnn.bias_hh_l0[hidden_size:2 * hidden_size].fill_(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[-1])


class Tagger(torch.nn.Module):
    """A recurrent layer, one or both directions, with a tag for every step -> (T, N, K)."""

    def __init__(self, kind: str, input_size: int, hidden_size: int, n_tags: int,
                 bidirectional: bool = False):
        super().__init__()
        self.rnn = _recurrent(kind, input_size, hidden_size, bidirectional=bidirectional)
        self.head = torch.nn.Linear(hidden_size * (2 if bidirectional else 1), n_tags)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out)


def _tensor(a: np.ndarray, like: torch.nn.Module) -> torch.Tensor:
    p = next(like.parameters())
    return torch.as_tensor(a, dtype=p.dtype if np.issubdtype(np.asarray(a).dtype, np.floating) else torch.long,
                           device=p.device)


def _loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = model(x)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def train(model: torch.nn.Module, make_batch: Callable[[np.random.Generator], tuple],
          steps: int, seed: int, lr: float = 0.01, clip: float = 1.0,
          progress: bool = False) -> list[float]:
    """Adam on fresh batches ``make_batch(rng)`` (numpy x, y) with gradient clipping.

    Returns the training loss at every step. ``seed`` fixes the data stream.
    """
    _check_positive(steps=steps)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    loop = range(steps)
    if progress:
        from seqcourse.progress import tqdm
        loop = tqdm(loop, leave=False)
    for _ in loop:
        x, y = make_batch(rng)
        loss = _loss(model, _tensor(x, model), _tensor(y, model))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of labels (any shape) that the arg-max of ``model(x)`` gets right."""
    pred = model(_tensor(x, model)).argmax(-1).cpu().numpy()
    if pred.shape != np.shape(y):
        raise ValueError(f"labels must have shape {pred.shape} (the model's predictions), got {np.shape(y)}")
    return float((pred == y).mean())


def state_gradient_norms(model: Classifier, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """||dL/dh_t|| for t = 0..T-1 (mean over the batch) of a ``Classifier``'s mean loss.

    The layer is run one step at a time so that autograd can report the gradient reaching
    every hidden state through all later steps (for the LSTM, with the cell state c_t held
    fixed: the part that flows through h).
    """
    xt, yt = _tensor(x, model), _tensor(y, model)
    state, states = None, []
    for t in range(xt.shape[0]):
        out, state = model.rnn(xt[t:t + 1], state)
        h = state[0] if isinstance(state, tuple) else state
        h.retain_grad()
        states.append(h)
    loss = torch.nn.functional.cross_entropy(model.head(states[-1][0]), yt)
    model.zero_grad()
    loss.backward()
    model.zero_grad()
    return np.array([h.grad[0].norm(dim=-1).mean().item() for h in states])
