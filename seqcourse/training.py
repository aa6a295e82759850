"""A small, readable training loop used by every lecture that trains a model.

It does what every loop in the course needs and nothing more: move batches to
the device, step the optimiser, optionally clip gradients, record the mean loss
per epoch, evaluate on validation data, stop early, and show a tqdm progress bar.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch
from seqcourse.progress import tqdm

__all__ = ["History", "fit", "to_device"]

LossFn = Callable[[torch.nn.Module, Any], torch.Tensor]


@dataclass
class History:
    """Mean loss per epoch; ``best_epoch`` is set when validation data is given."""

    train: list[float] = field(default_factory=list)
    valid: list[float] = field(default_factory=list)
    best_epoch: int | None = None

    def __len__(self) -> int:
        return len(self.train)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor inside a (possibly nested) tuple/list/dict to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(to_device(b, device) for b in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def _mean_loss(model: torch.nn.Module, loss_fn: LossFn, batches: Iterable, device) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            total += float(loss_fn(model, to_device(batch, device)))
            count += 1
    if count == 0:
        raise ValueError("the validation data yielded no batch")
    return total / count


def fit(
    model: torch.nn.Module,
    loss_fn: LossFn,
    train_batches: Iterable,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-2,
    valid_batches: Iterable | None = None,
    patience: int | None = None,
    clip_grad_norm: float | None = None,
    device: torch.device | None = None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train ``model`` and return its :class:`History`.

    Args:
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; the batch has
            already been moved to ``device``.
        train_batches: anything that can be iterated once per epoch (a list of
            batches, a ``DataLoader``).
        optimizer: defaults to Adam with learning rate ``lr``.
        valid_batches: if given, the mean validation loss is recorded every epoch.
        patience: early stopping: stop after this many epochs without a new best
            validation loss, and restore the best weights.
        clip_grad_norm: clip the global gradient norm to this value.
        device: defaults to the device the model's parameters are on.
        progress: show a tqdm progress bar (one tick per epoch).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if patience is not None and valid_batches is None:
        raise ValueError("early stopping (patience) needs valid_batches")
    if device is None:
        device = next(model.parameters()).device
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    best, best_state, waited = float("inf"), None, 0
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for batch in train_batches:
            optimizer.zero_grad()
            loss = loss_fn(model, to_device(batch, device))
            loss.backward()
            if clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            total, count = total + float(loss.detach()), count + 1
        if count == 0:
            raise ValueError("train_batches yielded no batch")
        history.train.append(total / count)
        postfix = {"loss": f"{history.train[-1]:.4f}"}
        if valid_batches is not None:
            history.valid.append(_mean_loss(model, loss_fn, valid_batches, device))
            postfix["valid"] = f"{history.valid[-1]:.4f}"
            if history.valid[-1] < best:
                best, waited, history.best_epoch = history.valid[-1], 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
        bar.set_postfix(postfix)
        if patience is not None and waited >= patience:
            break
    if patience is not None and best_state is not None:
        model.load_state_dict(best_state)
    return history
