"""Four ways to make a recurrent network deep (small torch taggers, time-major (T, N, V) -> (T, N, K)).

With x_t the input, h_t the state and o_t the logits, the shallow RNN is
``h_t = tanh(W x_t + U h_{t-1} + b)``, ``o_t = V h_t``. The variants::

    "transition"  z_t = tanh(W x_t + U h_{t-1} + b),  h_t = tanh(A z_t + a)          (an MLP between states)
    "skip"        as "transition", plus h_t = tanh(A z_t + S h_{t-1} + a)        (a shortcut past z_t)
    "output"      the shallow recurrence, o_t = V2 tanh(V1 h_t + c)               (an MLP on the way out)
    "stacked"     two shallow RNN layers, the second reading the first's states (torch.nn.RNN, 2 layers)

``path_nonlinearities(variant, T)`` counts the tanh's on the shortest path from h_0 to the last
state, the quantity that decides how gradients fade: the deep transition doubles it, the skip
brings it back to one per step.
"""

from __future__ import annotations

import torch

__all__ = ["VARIANTS", "DeepTagger", "path_nonlinearities"]

VARIANTS = ("shallow", "transition", "skip", "output", "stacked")


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


def path_nonlinearities(variant: str, T: int) -> int:
    """tanh's crossed from h_0 to the top state at step T along the shortest path."""
    _check_variant(variant)
    if T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    return {"transition": 2 * T, "stacked": T + 1}.get(variant, T)


class DeepTagger(torch.nn.Module):
    """One of ``VARIANTS``: (T, N, input_size) -> logits (T, N, n_tags)."""

    def __init__(self, variant: str, input_size: int, hidden_size: int, n_tags: int):
        super().__init__()
        _check_variant(variant)
        self.variant, self.hidden_size = variant, hidden_size
        H = hidden_size
        if variant in ("shallow", "output", "stacked"):
            self.rnn = torch.nn.RNN(input_size, H, num_layers=2 if variant == "stacked" else 1)
        else:
            self.inp = torch.nn.Linear(input_size + H, H)           # z_t from [x_t, h_{t-1}]
            self.mid = torch.nn.Linear(H, H)                        # h_t from z_t
            if variant == "skip":
                self.skip = torch.nn.Linear(H, H, bias=False)       # h_{t-1} -> h_t directly
        if variant == "output":
            self.head = torch.nn.Sequential(torch.nn.Linear(H, H), torch.nn.Tanh(), torch.nn.Linear(H, n_tags))
        else:
            self.head = torch.nn.Linear(H, n_tags)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """The top layer's states (T, N, H)."""
        if x.ndim != 3:
            raise ValueError(f"x must have shape (T, N, V), got {tuple(x.shape)}")
        if hasattr(self, "rnn"):
            return self.rnn(x)[0]
        h = x.new_zeros(x.shape[1], self.hidden_size)
        out = []
        for x_t in x:
            z = torch.tanh(self.inp(torch.cat([x_t, h], dim=-1)))
            pre = self.mid(z)
            if self.variant == "skip":
                pre = pre + self.skip(h)
            h = torch.tanh(pre)
            out.append(h)
        return torch.stack(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.states(x))
