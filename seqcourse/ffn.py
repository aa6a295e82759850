"""A review of feed-forward networks, the tool for fixed-size data (lecture 01).

Small, readable pieces that the lecture builds on and its tests re-run:

* the three classic activations and their derivatives, in NumPy;
* a two-layer network written out by hand, and a torch ``mlp`` builder;
* universal approximation by construction (a ReLU network that interpolates
  any set of points) and the width-versus-depth argument (the tent map, whose
  ``k``-fold composition a deep ReLU network computes with ``2k`` units while a
  shallow one needs ``2^k - 1``);
* seeded training helpers and the experiments of the lecture: a width sweep,
  a comparison of optimisers, and the effect of dropout, normalisation and
  early stopping.

Shapes: inputs ``x`` are (N, d) (or (N,) for 1-D helpers), targets ``y`` (N, k).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from seqcourse.progress import tqdm

from ._checks import as_float_array
from .training import History, fit

__all__ = [
    "ACTIVATIONS",
    "activation",
    "activation_derivative",
    "two_layer_forward",
    "mlp",
    "seeded_mlp",
    "relu_interpolant",
    "tent",
    "sawtooth",
    "tent_network",
    "count_linear_pieces",
    "fit_sawtooth",
    "DTYPE",
    "regression_batches",
    "train_regressor",
    "regression_mse",
    "width_sweep",
    "OPTIMIZERS",
    "compare_optimizers",
    "regularisation_experiment",
    "normalisation_experiment",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def activation(name: str, z: np.ndarray) -> np.ndarray:
    """Apply ``sigmoid``, ``tanh`` or ``relu`` elementwise; same shape as ``z``."""
    _check_activation(name)
    z = np.asarray(z, dtype=np.float64)
    if name == "sigmoid":
        # two branches so that exp never overflows
        out = np.empty_like(z)
        pos = z >= 0
        out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
        ez = np.exp(z[~pos])
        out[~pos] = ez / (1.0 + ez)
        return out
    if name == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0)


def activation_derivative(name: str, z: np.ndarray) -> np.ndarray:
    """The derivative of the activation at ``z``, from the closed forms
    ``s(1 - s)``, ``1 - tanh^2`` and ``1[z > 0]`` (0 at the kink of ReLU,
    as torch uses)."""
    _check_activation(name)
    z = np.asarray(z, dtype=np.float64)
    if name == "sigmoid":
        s = activation("sigmoid", z)
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    return (z > 0).astype(np.float64)


def two_layer_forward(
    x: np.ndarray,
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
    act: str = "tanh",
) -> np.ndarray:
    """``y = W2 a(W1 x + b1) + b2`` for a batch: x (N, d), W1 (h, d), b1 (h,),
    W2 (k, h), b2 (k,); returns (N, k).  The weight layout is torch's ``nn.Linear``."""
    x = as_float_array(x, "x", ndim=2)
    W1 = as_float_array(W1, "W1", ndim=2)
    W2 = as_float_array(W2, "W2", ndim=2)
    b1 = as_float_array(b1, "b1", ndim=1)
    b2 = as_float_array(b2, "b2", ndim=1)
    h, d = W1.shape
    if x.shape[1] != d:
        raise ValueError(f"x must have shape (N, {d}) to match W1 {W1.shape}, got {x.shape}")
    if b1.shape != (h,) or W2.shape[1] != h or b2.shape != (W2.shape[0],):
        raise ValueError(
            f"expected b1 ({h},), W2 (k, {h}) and b2 (k,), got b1 {b1.shape}, "
            f"W2 {W2.shape}, b2 {b2.shape}"
        )
    return activation(act, x @ W1.T + b1) @ W2.T + b2


_TORCH_ACT: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


def mlp(
    in_dim: int,
    hidden: int,
    out_dim: int,
    *,
    depth: int = 1,
    act: str = "relu",
    dropout: float = 0.0,
    norm: str | None = None,
) -> nn.Sequential:
    """A multilayer perceptron with ``depth`` hidden layers of ``hidden`` units.

    Each hidden layer is ``Linear -> [norm] -> activation -> [Dropout]``;
    ``norm`` is ``None``, ``"batch"`` (BatchNorm1d) or ``"layer"`` (LayerNorm).
    Input (N, in_dim) -> output (N, out_dim).
    """
    _check_activation(act)
    for name, value in (("in_dim", in_dim), ("hidden", hidden), ("out_dim", out_dim), ("depth", depth)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if norm not in (None, "batch", "layer"):
        raise ValueError(f"norm must be None, 'batch' or 'layer', got {norm!r}")
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden))
        if norm == "batch":
            layers.append(nn.BatchNorm1d(hidden))
        elif norm == "layer":
            layers.append(nn.LayerNorm(hidden))
        layers.append(_TORCH_ACT[act]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def seeded_mlp(in_dim: int, hidden: int, out_dim: int, *, seed: int, dtype: torch.dtype = None,
               **kwargs) -> nn.Sequential:
    """:func:`mlp` in float64 (see :data:`DTYPE`) with its initial weights drawn from
    ``np.random.default_rng(seed)``: each ``Linear(fan_in, .)`` gets weights and biases
    uniform on ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the range torch's default uses.

    NumPy's generator gives bit-identical numbers on every processor, while torch's
    ``uniform_`` rounds differently with different vector instructions; a training run
    started from weights one float32 ulp apart can end elsewhere."""
    net = mlp(in_dim, hidden, out_dim, **kwargs).to(dtype or DTYPE)
    gen = np.random.default_rng(int(seed))
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / np.sqrt(layer.in_features)
                for param in (layer.weight, layer.bias):
                    values = gen.uniform(-bound, bound, size=tuple(param.shape))
                    param.copy_(torch.as_tensor(values, dtype=param.dtype))
    return net


# -- universal approximation, by construction --------------------------------
def relu_interpolant(knots: np.ndarray, values: np.ndarray) -> nn.Sequential:
    """A one-hidden-layer ReLU network (1 -> m-1 -> 1) that passes through the
    points ``(knots[i], values[i])`` and is linear in between.

    With ``m`` sorted knots the network is
    ``f(x) = values[0] + sum_i c_i relu(x - knots[i])`` for ``i < m - 1``, where
    ``c_0`` is the first slope and ``c_i`` the change of slope at ``knots[i]``.
    It is exact on ``[knots[0], knots[-1]]``.  Shapes: knots (m,), values (m,).
    """
    knots = as_float_array(knots, "knots", ndim=1)
    values = as_float_array(values, "values", ndim=1)
    if len(knots) < 2 or values.shape != knots.shape:
        raise ValueError(
            f"need m >= 2 knots and one value per knot, got knots {knots.shape} "
            f"and values {values.shape}"
        )
    if np.any(np.diff(knots) <= 0):
        raise ValueError("knots must be strictly increasing")
    slopes = np.diff(values) / np.diff(knots)              # (m-1,)
    c = np.concatenate([slopes[:1], np.diff(slopes)])      # (m-1,)
    net = nn.Sequential(nn.Linear(1, len(c)), nn.ReLU(), nn.Linear(len(c), 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.ones(len(c), 1, dtype=torch.float64))
        net[0].bias.copy_(torch.as_tensor(-knots[:-1]))
        net[2].weight.copy_(torch.as_tensor(c)[None, :])
        net[2].bias.fill_(float(values[0]))
    return net


def tent(x: np.ndarray) -> np.ndarray:
    """The tent map on [0, 1]: ``2x`` up to 1/2, then ``2 - 2x``.  Equals
    ``2 relu(x) - 4 relu(x - 1/2)`` there: two ReLU units."""
    x = np.asarray(x, dtype=np.float64)
    return 2 * np.maximum(x, 0) - 4 * np.maximum(x - 0.5, 0)


def sawtooth(x: np.ndarray, k: int) -> np.ndarray:
    """The tent map composed ``k`` times: a sawtooth with ``2^(k-1)`` teeth and
    ``2^k`` linear pieces on [0, 1]."""
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    y = np.asarray(x, dtype=np.float64)
    for _ in range(k):
        y = tent(y)
    return y


def tent_network(k: int) -> nn.Sequential:
    """A deep ReLU network with ``k`` hidden layers of 2 units that computes
    :func:`sawtooth` ``(x, k)`` exactly on [0, 1] (float64, input (N, 1))."""
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    first = nn.Linear(1, 2)
    layers: list[nn.Module] = [first, nn.ReLU()]
    middle = []
    for _ in range(k - 1):
        lin = nn.Linear(2, 2)
        middle.append(lin)
        layers += [lin, nn.ReLU()]
    last = nn.Linear(2, 1)
    layers.append(last)
    net = nn.Sequential(*layers).double()
    with torch.no_grad():
        # hidden units compute relu(u) and relu(u - 1/2) of the current value u
        first.weight.copy_(torch.tensor([[1.0], [1.0]]))
        first.bias.copy_(torch.tensor([0.0, -0.5]))
        for lin in middle:  # u_next = 2 h1 - 4 h2, fed to the next pair of units
            lin.weight.copy_(torch.tensor([[2.0, -4.0], [2.0, -4.0]]))
            lin.bias.copy_(torch.tensor([0.0, -0.5]))
        last.weight.copy_(torch.tensor([[2.0, -4.0]]))
        last.bias.zero_()
    return net


def count_linear_pieces(x: np.ndarray, y: np.ndarray, tol: float = 1e-6) -> int:
    """Number of linear pieces of a piecewise-linear function sampled at sorted
    points ``x`` (N,) with values ``y`` (N,): one more than the number of slope
    changes.  Put every breakpoint on a grid point to count exactly."""
    x = as_float_array(x, "x", ndim=1)
    y = as_float_array(y, "y", ndim=1)
    if x.shape != y.shape or len(x) < 2:
        raise ValueError(f"x and y must have the same shape (N,) with N >= 2, got {x.shape} and {y.shape}")
    slopes = np.diff(y) / np.diff(x)
    scale = max(1.0, float(np.abs(slopes).max()))
    return int(1 + np.sum(np.abs(np.diff(slopes)) > tol * scale))


# -- training helpers ----------------------------------------------------------
#: The experiments train in float64: their networks are small, so it costs little, and a
#: training run then amplifies no float32 rounding difference between processors (AVX-512,
#: AVX2, SSE or ARM kernels round float32 sums differently, and a chaotic run turns the last
#: bit into the second digit of the final loss).  Every number lecture 01 quotes is float64.
DTYPE = torch.float64


def _as_2d_tensor(a: np.ndarray | torch.Tensor, name: str,
                  dtype: torch.dtype = DTYPE) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a, dtype=np.float64) if not isinstance(a, torch.Tensor) else a)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise ValueError(f"{name} must have shape (N,) or (N, d), got {tuple(t.shape)}")
    return t.to(dtype)


def regression_batches(
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    batch_size: int | None = None,
    rng: np.random.Generator | None = None,
    dtype: torch.dtype = DTYPE,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Split (x, y) into a fixed list of mini-batches of ``dtype`` tensors (CPU;
    float64 by default, see :data:`DTYPE`).

    ``x`` (N, d) or (N,), ``y`` (N, k) or (N,).  ``batch_size=None`` gives one
    full batch; otherwise the rows are shuffled once with ``rng`` (a fixed
    order, so that every model sees the very same batches).
    """
    xt, yt = _as_2d_tensor(x, "x", dtype), _as_2d_tensor(y, "y", dtype)
    if len(xt) != len(yt):
        raise ValueError(f"x and y must have the same number of rows, got {len(xt)} and {len(yt)}")
    if batch_size is None:
        return [(xt, yt)]
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
    order = (rng or np.random.default_rng(0)).permutation(len(xt))
    idx = torch.as_tensor(order)
    return [(xt[idx[i:i + batch_size]], yt[idx[i:i + batch_size]]) for i in range(0, len(xt), batch_size)]


def _mse_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    xb, yb = batch
    return nn.functional.mse_loss(model(xb), yb)


def train_regressor(
    model: nn.Module,
    batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-2,
    valid: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
    patience: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Minimise the mean squared error with :func:`seqcourse.training.fit`.

    ``model`` is moved to ``device`` (default CPU) before the optimiser is made
    (pass ``optimizer`` only for a model already there).  Returns the History
    of mean MSE per epoch (train, and validation when ``valid`` is given).
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    model.to(device, batches[0][0].dtype if len(batches) else DTYPE)
    return fit(model, _mse_loss, batches, epochs=epochs, optimizer=optimizer, lr=lr,
               valid_batches=valid, patience=patience, device=device, progress=progress, desc=desc)


@torch.no_grad()
def regression_mse(model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Mean squared error of ``model`` (in eval mode) on ``x`` (N, d) or (N,)
    against ``y`` (N, k) or (N,)."""
    dev = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    xt = _as_2d_tensor(x, "x", dtype).to(dev)
    yt = _as_2d_tensor(y, "y", dtype).to(dev)
    model.eval()
    return float(nn.functional.mse_loss(model(xt), yt).cpu())


# -- the experiments of the lecture -------------------------------------------
def width_sweep(
    x: np.ndarray,
    y: np.ndarray,
    widths: Sequence[int],
    *,
    act: str = "relu",
    epochs: int = 600,
    lr: float = 0.01,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[int, nn.Module]:
    """Train one-hidden-layer networks of each width on (x, y), full batch, Adam.

    Every width starts from :func:`seeded_mlp` weights of ``seed``.  Returns the trained
    models (on ``device``, eval mode), keyed by width.  ``progress`` shows one
    progress bar over the widths (the experiment helpers below do the same).
    """
    batches = regression_batches(x, y)
    in_dim, out_dim = batches[0][0].shape[1], batches[0][1].shape[1]
    models = {}
    for width in tqdm(widths, desc="width sweep", disable=not progress, leave=False):
        torch.manual_seed(int(seed))
        model = seeded_mlp(in_dim, int(width), out_dim, act=act, seed=seed)
        train_regressor(model, batches, epochs=epochs, lr=lr, device=device, progress=False)
        models[int(width)] = model.eval()
    return models


OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict]] = {
    "SGD": (torch.optim.SGD, {"lr": 0.05}),
    "Adagrad": (torch.optim.Adagrad, {"lr": 0.05}),
    "RMSprop": (torch.optim.RMSprop, {"lr": 0.002}),
    "Adam": (torch.optim.Adam, {"lr": 0.005}),
}


def compare_optimizers(
    x: np.ndarray,
    y: np.ndarray,
    *,
    optimizers: Mapping[str, tuple[type[torch.optim.Optimizer], dict]] = OPTIMIZERS,
    hidden: int = 32,
    depth: int = 2,
    act: str = "tanh",
    epochs: int = 60,
    batch_size: int = 64,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, History]:
    """Train the same network from the same initial weights on the same
    mini-batches with each optimiser; return each one's History (train MSE per epoch)."""
    batches = regression_batches(x, y, batch_size, np.random.default_rng(seed))
    in_dim, out_dim = batches[0][0].shape[1], batches[0][1].shape[1]
    device = torch.device(device) if device is not None else torch.device("cpu")
    histories = {}
    for name, (cls, kwargs) in tqdm(optimizers.items(), desc="optimisers", disable=not progress,
                                    leave=False):
        torch.manual_seed(int(seed))
        model = seeded_mlp(in_dim, hidden, out_dim, depth=depth, act=act, seed=seed).to(device)
        opt = cls(model.parameters(), **kwargs)     # made after the move, as torch requires
        histories[name] = train_regressor(model, batches, epochs=epochs, optimizer=opt,
                                          device=device, progress=False)
    return histories


def regularisation_experiment(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    hidden: int = 128,
    depth: int = 2,
    epochs: int = 400,
    lr: float = 0.01,
    dropout: float = 0.2,
    patience: int = 30,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, tuple[History, float]]:
    """An over-parameterised regressor trained on little data, three ways.

    ``"plain"`` trains for all ``epochs``; ``"dropout"`` adds dropout after each
    hidden layer; ``"early stopping"`` watches the validation loss and keeps the
    best weights (``patience`` epochs).  Returns, for each, its History (train
    and validation MSE per epoch) and the final test MSE.
    """
    train = regression_batches(x_train, y_train)
    valid = regression_batches(x_valid, y_valid)
    in_dim, out_dim = train[0][0].shape[1], train[0][1].shape[1]
    settings = {
        "plain": dict(dropout=0.0, patience=None),
        "dropout": dict(dropout=dropout, patience=None),
        "early stopping": dict(dropout=0.0, patience=patience),
    }
    out = {}
    for name, s in tqdm(settings.items(), desc="regularisers", disable=not progress, leave=False):
        torch.manual_seed(int(seed))
        model = seeded_mlp(in_dim, hidden, out_dim, depth=depth, dropout=s["dropout"], seed=seed)
        hist = train_regressor(model, train, epochs=epochs, lr=lr, valid=valid,
                               patience=s["patience"], device=device, progress=False)
        out[name] = (hist, regression_mse(model, x_test, y_test))
    return out


def normalisation_experiment(
    x: np.ndarray,
    y: np.ndarray,
    *,
    hidden: int = 32,
    depth: int = 8,
    epochs: int = 60,
    lr: float = 0.05,
    batch_size: int = 64,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, History]:
    """A deep, narrow ReLU network trained with plain SGD, without and with
    normalisation layers (``"none"``, ``"batch"``, ``"layer"``), from the same
    seed on the same mini-batches.  Returns each one's History (train MSE)."""
    batches = regression_batches(x, y, batch_size, np.random.default_rng(seed))
    in_dim, out_dim = batches[0][0].shape[1], batches[0][1].shape[1]
    device = torch.device(device) if device is not None else torch.device("cpu")
    out = {}
    for norm in tqdm(("none", "batch", "layer"), desc="normalisation", disable=not progress,
                     leave=False):
        torch.manual_seed(int(seed))
        model = seeded_mlp(in_dim, hidden, out_dim, depth=depth, seed=seed,
                           norm=None if norm == "none" else norm).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        out[norm] = train_regressor(model, batches, epochs=epochs, optimizer=opt, device=device,
                                    progress=False)
    return out


def fit_sawtooth(
    k: int,
    hidden: int,
    depth: int,
    *,
    n_points: int = 257,
    epochs: int = 500,
    lr: float = 0.01,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> tuple[nn.Module, float]:
    """Train a ReLU network (``depth`` hidden layers of ``hidden`` units) from a
    random start to fit :func:`sawtooth` ``(x, k)`` on ``n_points`` evenly spaced
    points of [0, 1] (full batch, Adam).  Returns the model and its final MSE."""
    x = np.linspace(0.0, 1.0, n_points)
    y = sawtooth(x, k)
    torch.manual_seed(int(seed))
    model = seeded_mlp(1, hidden, 1, depth=depth, seed=seed)
    train_regressor(model, regression_batches(x, y), epochs=epochs, lr=lr, device=device,
                    progress=progress, desc=f"sawtooth k={k}, {depth}x{hidden}")
    return model.eval(), regression_mse(model, x, y)
