"""Back-propagation for networks with a target at any layer (lecture 04).

A layered network maps ``a(1) = x`` through ``L - 1`` weight matrices::

    z(l+1) = W(l) [a(l); 1],      a(l+1) = f(z(l+1))          (the forward function fc)

Every layer ``l >= 2`` may carry a target ``y(l)``, and the cost is the sum of
the squared errors of all layers that have one::

    J = sum_l J(l),    J(l) = 1/2 sum_i (a(l)_i - y(l)_i)^2

With ``delta(l) = dJ/dz(l)`` the backward function bc is::

    delta(L) = f'(z(L)) * (a(L) - y(L))
    delta(l) = f'(z(l)) * [(a(l) - y(l)) + W(l)^T delta(l+1)]     (l = L-1, ..., 2)
    dJ/dW(l) = delta(l+1) [a(l); 1]^T

where the term ``a(l) - y(l)`` is dropped for a layer without a target.

Conventions (shapes):

* Batches are rows: ``x`` is (N, n_1), ``activations[l]`` is (N, n_l), as in
  ``torch.nn.Linear``, so ``z(l+1) = [a(l), 1] @ W(l).T``.
* A bias is a weight from an extra unit that always outputs 1: with
  ``bias=True`` (the default) ``W(l)`` is (n_{l+1}, n_l + 1) and its last
  column holds the biases; that unit has no target and no delta.
* ``targets`` has one entry per layer (the input first, which must be
  ``None``); an entry is ``None`` for a layer without a target, or an array
  (N, n_l).  A NaN inside an array means "no target for this unit", so a layer
  can supervise some of its units and leave the others free.
* Gradients are *summed* over the batch, like ``J``.

The unrolled recurrent network is the same algorithm with one weight matrix
shared by every layer (:func:`rnn_forward`, :func:`rnn_backward`); the data of
the lecture and its assignment are at the end of the module.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from seqcourse.progress import tqdm

from .ffn import activation as _ffn_activation

__all__ = [
    "ACTIVATIONS",
    "activate",
    "derivative_from_output",
    "fc",
    "bc",
    "weight_gradient",
    "MultiTargetNet",
    "train",
    "rnn_forward",
    "rnn_backward",
    "rnn_loss",
    "RecurrentDetector",
    "ABC",
    "one_hot",
    "a_followed_by_b",
    "ab_targets",
    "COMPLETION_TRAIN",
    "COMPLETION_TEST",
    "COMPLETION_SYMBOLS",
    "completion_rule",
    "completion_data",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")


def _check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """``f(z)`` elementwise for ``name`` in :data:`ACTIVATIONS`; same shape as ``z``."""
    _check_activation(name)
    if name == "identity":
        return np.asarray(z, dtype=np.float64).copy()
    return _ffn_activation(name, z)


def derivative_from_output(name: str, a: np.ndarray) -> np.ndarray:
    """``f'(z)`` written in terms of the output ``a = f(z)``.

    ``a (1 - a)`` for the sigmoid, ``1 - a^2`` for tanh, ``1[a > 0]`` for ReLU
    (0 at the kink, as torch), 1 for the identity.  This is why the backward
    pass needs only the activations that the forward pass returns.
    """
    _check_activation(name)
    a = np.asarray(a, dtype=np.float64)
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (a > 0).astype(np.float64)
    return np.ones_like(a)


# -- validation --------------------------------------------------------------------------------
def _matrix(value: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}") from err
    if arr.ndim != 2:
        raise ValueError(f"{name} must have 2 dimensions (N, units), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite numbers, got NaN or inf")
    return arr


def _target(value: object, shape: tuple[int, int], name: str) -> np.ndarray | None:
    """A target array (NaN allowed: no target for that unit), or None."""
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be None or numeric, got {type(value).__name__}") from err
    if arr.shape != shape:
        raise ValueError(f"{name} must be None or have shape {shape}, got {arr.shape}")
    if np.any(np.isinf(arr)):
        raise ValueError(f"{name} must not contain inf (use NaN for 'no target')")
    return arr


def _error(a: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    """``a - y`` with 0 where there is no target (y None or NaN)."""
    if y is None:
        return np.zeros_like(a)
    return np.where(np.isnan(y), 0.0, a - np.nan_to_num(y))


def _with_one(a: np.ndarray) -> np.ndarray:
    return np.hstack([a, np.ones((a.shape[0], 1))])


# -- the two functions of the algorithm --------------------------------------------------------
def fc(W: np.ndarray, a: np.ndarray, activation: str = "sigmoid", bias: bool = True) -> np.ndarray:
    """Forward function: the next layer's activations ``f(W [a; 1])``.

    W: (n_next, n + 1) with bias (last column), else (n_next, n); a: (N, n).
    Returns (N, n_next).
    """
    a = _matrix(a, "a (activations, N x n)")
    W = _matrix(W, "W (weights)")
    expected = a.shape[1] + int(bias)
    if W.shape[1] != expected:
        raise ValueError(
            f"W must have shape (n_next, {expected}) for activations with {a.shape[1]} units"
            f"{' plus the bias unit' if bias else ''}, got {W.shape}"
        )
    z = (_with_one(a) if bias else a) @ W.T
    return activate(activation, z)


def bc(
    W: np.ndarray,
    delta_next: np.ndarray,
    a: np.ndarray,
    y: np.ndarray | None = None,
    activation: str = "sigmoid",
    bias: bool = True,
) -> np.ndarray:
    """Backward function: ``delta(l) = f'(z(l)) * [(a(l) - y(l)) + W(l)^T delta(l+1)]``.

    W: weights from layer l to l+1, (n_next, n + 1) with bias, else (n_next, n);
    delta_next: (N, n_next); a: activations of layer l, (N, n); y: None, or its
    targets (N, n) with NaN for units without one.  Returns delta(l), (N, n).
    The bias column is not back-propagated: the constant unit has no input.
    """
    a = _matrix(a, "a (activations of layer l, N x n)")
    delta_next = _matrix(delta_next, "delta_next (N x n_next)")
    W = _matrix(W, "W (weights)")
    n, n_next = a.shape[1], delta_next.shape[1]
    if W.shape != (n_next, n + int(bias)):
        raise ValueError(
            f"W must have shape ({n_next}, {n + int(bias)}) to map {n} units"
            f"{' plus the bias unit' if bias else ''} to {n_next}, got {W.shape}"
        )
    if delta_next.shape[0] != a.shape[0]:
        raise ValueError(f"delta_next and a must have the same batch size, got {delta_next.shape[0]} "
                         f"and {a.shape[0]}")
    y = _target(y, a.shape, "y (targets of layer l)")
    back = delta_next @ (W[:, :n] if bias else W)
    return derivative_from_output(activation, a) * (_error(a, y) + back)


def weight_gradient(delta_next: np.ndarray, a: np.ndarray, bias: bool = True) -> np.ndarray:
    """``dJ/dW(l) = delta(l+1) [a(l); 1]^T`` summed over the batch.

    delta_next: (N, n_next); a: (N, n).  Returns (n_next, n + 1) with bias, else (n_next, n).
    """
    return delta_next.T @ (_with_one(a) if bias else a)


# -- the layered network -----------------------------------------------------------------------
class MultiTargetNet:
    """A fully connected layered network trained with targets on any layers.

    Args:
        sizes: units per layer, the input first, e.g. ``[3, 8, 5, 2]`` (L = 4 layers).
        activation: one of :data:`ACTIVATIONS`, used by every layer but the input.
        bias: give every layer a bias (an extra column of each weight matrix).
        rng: generator for the initial weights, uniform in +-1/sqrt(fan-in).

    Attribute ``weights`` is a list of L - 1 arrays; ``weights[l]`` maps layer l to
    layer l + 1 (0-based) and has shape (sizes[l+1], sizes[l] + bias).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in sizes):
            raise ValueError(f"sizes must list at least 2 positive integers (input first), got {sizes}")
        _check_activation(activation)
        self.sizes = [int(s) for s in sizes]
        self.activation = activation
        self.bias = bool(bias)
        rng = np.random.default_rng(0) if rng is None else rng
        self.weights = [
            rng.uniform(-1, 1, size=(n_out, n_in + self.bias)) / np.sqrt(n_in + self.bias)
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])
        ]

    @property
    def n_layers(self) -> int:
        return len(self.sizes)

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """Activations of every layer for a batch ``x`` (N, sizes[0]): a list of L
        arrays (N, sizes[l]), the input first."""
        x = _matrix(x, "x (inputs, N x n_1)")
        if x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have shape (N, {self.sizes[0]}), got {x.shape}")
        acts = [x]
        for W in self.weights:
            acts.append(fc(W, acts[-1], self.activation, self.bias))
        return acts

    def _targets(self, activations: Sequence[np.ndarray], targets: Sequence) -> list[np.ndarray | None]:
        if len(activations) != self.n_layers:
            raise ValueError(f"activations must hold {self.n_layers} arrays (one per layer), "
                             f"got {len(activations)}")
        if len(targets) != self.n_layers:
            raise ValueError(f"targets must hold {self.n_layers} entries (one per layer, None where "
                             f"a layer has no target), got {len(targets)}")
        if targets[0] is not None:
            raise ValueError("targets[0] must be None: the input layer has no target")
        return [_target(y, np.shape(a), f"targets[{l}]") for l, (a, y) in enumerate(zip(activations, targets))]

    def loss(self, activations: Sequence[np.ndarray], targets: Sequence) -> float:
        """``J = 1/2 sum over layers, units and batch of (a - y)^2`` (NaN targets skipped)."""
        ys = self._targets(activations, targets)
        return float(sum(0.5 * np.sum(_error(np.asarray(a, float), y) ** 2)
                         for a, y in zip(activations, ys)))

    def backward(self, activations: Sequence[np.ndarray], targets: Sequence) -> list[np.ndarray]:
        """``dJ/dW(l)`` for every weight matrix (same shapes as ``weights``), from the
        ``activations`` that :meth:`forward` returned and one target entry per layer."""
        ys = self._targets(activations, targets)
        acts = [np.asarray(a, dtype=np.float64) for a in activations]
        L = self.n_layers
        delta = derivative_from_output(self.activation, acts[-1]) * _error(acts[-1], ys[-1])
        grads: list[np.ndarray] = [np.empty(0)] * (L - 1)
        for l in range(L - 2, -1, -1):         # weights[l] maps layer l to layer l + 1
            grads[l] = weight_gradient(delta, acts[l], self.bias)
            if l > 0:
                delta = bc(self.weights[l], delta, acts[l], ys[l], self.activation, self.bias)
        return grads

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The last layer's activations (N, sizes[-1])."""
        return self.forward(x)[-1]


def train(
    net: MultiTargetNet,
    x: np.ndarray,
    targets: Sequence,
    lr: float,
    epochs: int,
    batch_size: int | None = None,
    rng: np.random.Generator | None = None,
    progress: bool = True,
) -> list[float]:
    """Mini-batch steepest descent, ``W <- W - lr * dJ/dW`` (the deck's steps 3 to 5).

    x: (N, n_1); targets: one entry per layer, None or (N, n_l).  Each epoch
    visits the examples in a fresh random order in batches of ``batch_size``
    (default: all).  Returns J on the whole training set after every epoch.
    """
    x = _matrix(x, "x (inputs, N x n_1)")
    N = len(x)
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    batch_size = N if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rng = np.random.default_rng(0) if rng is None else rng
    full = [None if y is None else np.asarray(y, dtype=np.float64) for y in targets]
    net._targets(net.forward(x), full)          # validate once, with clear messages
    history = []
    for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            acts = net.forward(x[idx])
            grads = net.backward(acts, [None if y is None else y[idx] for y in full])
            for W, g in zip(net.weights, grads):
                W -= lr * g
        history.append(net.loss(net.forward(x), full))
    return history


# -- the unrolled recurrent network: one weight matrix shared by every layer -----------------------
def _rnn_inputs(W: np.ndarray, xs: np.ndarray, h0: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 3:
        raise ValueError(f"xs must have shape (N, T, D), got {xs.shape}")
    if not np.all(np.isfinite(xs)):
        raise ValueError("xs must contain only finite numbers, got NaN or inf")
    W = _matrix(W, "W (recurrent weights, H x (D + H + 1))")
    N, T, D = xs.shape
    H = W.shape[0]
    if W.shape[1] != D + H + 1:
        raise ValueError(f"W must have shape ({H}, {D + H + 1}) = (H, D + H + 1) for inputs with "
                         f"D = {D}, got {W.shape}")
    h0 = np.zeros((N, H)) if h0 is None else _matrix(h0, "h0 (initial state, N x H)")
    if h0.shape != (N, H):
        raise ValueError(f"h0 must have shape ({N}, {H}), got {h0.shape}")
    return W, xs, h0


def rnn_forward(W: np.ndarray, xs: np.ndarray, h0: np.ndarray | None = None,
                activation: str = "sigmoid") -> np.ndarray:
    """Run ``h(t) = f(W [x(t); h(t-1); 1])`` over a batch of sequences.

    W: (H, D + H + 1), the columns acting on the input, the fed-back state and
    the bias; xs: (N, T, D); h0: (N, H), zeros by default.
    Returns the states (N, T + 1, H), ``h0`` first: the activations of the
    unrolled network, one layer per time step.
    """
    W, xs, h0 = _rnn_inputs(W, xs, h0)
    N, T, D = xs.shape
    states = np.empty((N, T + 1, W.shape[0]))
    states[:, 0] = h0
    for t in range(T):
        states[:, t + 1] = fc(W, np.hstack([xs[:, t], states[:, t]]), activation)
    return states


def _rnn_targets(targets: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    N, T, H = shape
    y = np.asarray(targets, dtype=np.float64)
    if y.ndim != 3 or y.shape[:2] != (N, T) or y.shape[2] > H:
        raise ValueError(f"targets must have shape ({N}, {T}, K) with K <= H = {H} (targets for the "
                         f"first K state units, NaN for none), got {y.shape}")
    full = np.full((N, T, H), np.nan)
    full[:, :, : y.shape[2]] = y
    return full


def rnn_loss(states: np.ndarray, targets: np.ndarray) -> float:
    """``J = 1/2 sum (h(t) - y(t))^2`` over the supervised units of every step.

    states: (N, T + 1, H) from :func:`rnn_forward`; targets: (N, T, K), targets of
    the first K units at steps 1..T, NaN where there is none."""
    states = np.asarray(states, dtype=np.float64)
    N, T1, H = states.shape
    y = _rnn_targets(targets, (N, T1 - 1, H))
    return float(0.5 * np.sum(_error(states[:, 1:], y) ** 2))


def rnn_backward(W: np.ndarray, xs: np.ndarray, states: np.ndarray, targets: np.ndarray,
                 activation: str = "sigmoid") -> np.ndarray:
    """``dJ/dW`` of the unrolled network, J as in :func:`rnn_loss`.

    Each time step is a layer of a multi-target network whose weights all equal
    W, so the multi-target recursion gives delta(t) for every step::

        delta(T) = f' * (h(T) - y(T)),
        delta(t) = f' * [(h(t) - y(t)) + W_h^T delta(t+1)]

    (W_h: the columns of W that act on the fed-back state) and the gradient of
    the shared matrix is the sum of the per-layer gradients,
    ``sum_t delta(t) [x(t); h(t-1); 1]^T``.  This is back-propagation through time.
    Returns (H, D + H + 1).
    """
    W, xs, _ = _rnn_inputs(W, xs, None)
    states = np.asarray(states, dtype=np.float64)
    N, T, D = xs.shape
    H = W.shape[0]
    if states.shape != (N, T + 1, H):
        raise ValueError(f"states must have shape ({N}, {T + 1}, {H}) as rnn_forward returns, got {states.shape}")
    y = _rnn_targets(targets, (N, T, H))
    W_h = W[:, D:D + H]
    grad = np.zeros_like(W)
    delta = np.zeros((N, H))
    for t in range(T, 0, -1):                   # layer t holds h(t)
        a = states[:, t]
        back = delta @ W_h if t < T else 0.0
        delta = derivative_from_output(activation, a) * (_error(a, y[:, t - 1]) + back)
        grad += weight_gradient(delta, np.hstack([xs[:, t - 1], states[:, t - 1]]))
    return grad


class RecurrentDetector:
    """A recurrent network whose first state unit is trained to fire at events.

    ``h(t) = f(W [x(t); h(t-1); 1])`` with H state units; unit 0 is the output
    (it has a target at every step), the other units are free memory.

    Args:
        n_inputs: D, the size of one input vector.
        n_state: H >= 1.
        activation: one of :data:`ACTIVATIONS`.
        rng: generator for the initial weights.
    """

    def __init__(self, n_inputs: int, n_state: int, activation: str = "sigmoid",
                 rng: np.random.Generator | None = None) -> None:
        if n_inputs < 1 or n_state < 1:
            raise ValueError(f"n_inputs and n_state must be >= 1, got {n_inputs} and {n_state}")
        _check_activation(activation)
        rng = np.random.default_rng(0) if rng is None else rng
        fan_in = n_inputs + n_state + 1
        self.W = rng.uniform(-1, 1, size=(n_state, fan_in)) / np.sqrt(fan_in)
        self.activation = activation

    def states(self, xs: np.ndarray) -> np.ndarray:
        """All states (N, T + 1, H) for inputs xs (N, T, D)."""
        return rnn_forward(self.W, xs, activation=self.activation)

    def outputs(self, xs: np.ndarray) -> np.ndarray:
        """The output unit at every step, (N, T)."""
        return self.states(xs)[:, 1:, 0]

    def fit(self, xs: np.ndarray, ys: np.ndarray, lr: float, epochs: int, batch_size: int = 32,
            momentum: float = 0.0, rng: np.random.Generator | None = None,
            progress: bool = True) -> list[float]:
        """Mini-batch steepest descent (optionally with momentum) on J = 1/2 sum (out - y)^2.

        xs: (N, T, D); ys: (N, T) targets of the output unit.  The step is
        divided by the batch size.  Returns the mean J per sequence after each epoch.
        """
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        if ys.shape != xs.shape[:2]:
            raise ValueError(f"ys must have shape {xs.shape[:2]} (N, T), got {ys.shape}")
        rng = np.random.default_rng(0) if rng is None else rng
        velocity = np.zeros_like(self.W)
        history = []
        N = len(xs)
        for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
            order = rng.permutation(N)
            for start in range(0, N, batch_size):
                idx = order[start:start + batch_size]
                states = self.states(xs[idx])
                grad = rnn_backward(self.W, xs[idx], states, ys[idx, :, None], self.activation)
                velocity = momentum * velocity - lr * grad / len(idx)
                self.W += velocity
            history.append(rnn_loss(self.states(xs), ys[:, :, None]) / N)
        return history


# -- data: "A followed by B" ------------------------------------------------------------------------
ABC = "ABC"


def one_hot(strings: Sequence[str], alphabet: str) -> np.ndarray:
    """One-hot codes (N, T, |alphabet|) of N strings of equal length T."""
    strings = list(strings)
    if not strings:
        raise ValueError("strings must not be empty")
    T = len(strings[0])
    if any(len(s) != T for s in strings):
        raise ValueError(f"strings must all have the same length, got lengths {sorted({len(s) for s in strings})}")
    out = np.zeros((len(strings), T, len(alphabet)))
    for i, s in enumerate(strings):
        for t, ch in enumerate(s):
            k = alphabet.find(ch)
            if k < 0:
                raise ValueError(f"symbol {ch!r} of {s!r} is not in the alphabet {alphabet!r}")
            out[i, t, k] = 1.0
    return out


def ab_targets(s: str) -> np.ndarray:
    """1.0 at every position t where s[t] == 'B' and s[t-1] == 'A', else 0.0; shape (len(s),)."""
    return np.array([float(t > 0 and c == "B" and s[t - 1] == "A") for t, c in enumerate(s)])


def a_followed_by_b(n: int, length: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``n`` random strings of ``length`` symbols drawn uniformly from A, B, C.

    Returns the strings, their one-hot codes (n, length, 3) and the detector
    targets (n, length): 1 exactly where a B directly follows an A.
    """
    if n < 1 or length < 1:
        raise ValueError(f"n and length must be >= 1, got {n} and {length}")
    strings = ["".join(rng.choice(list(ABC), size=length)) for _ in range(n)]
    return strings, one_hot(strings, ABC), np.stack([ab_targets(s) for s in strings])


# -- data: sequence completion (the deck's assignment) --------------------------------------------
COMPLETION_TRAIN = tuple(
    "AA1212 AC1231 AD1221 AE1213 BA2312 BB2323 BC2331 BE2313 CB3123 CC3131 "
    "CD3121 CE3113 DA2112 DB2123 DC2131 DD2121 EA1312 EB1323 ED1321 EE1313".split()
)
COMPLETION_TEST = ("AB1223", "BD2321", "CA3112", "DE2113", "EC1331")
COMPLETION_SYMBOLS = ("ABCDE", "123")


def completion_rule() -> dict[str, str]:
    """The rule behind the data: each letter stands for two digits, and a
    sequence ``XY`` continues with the digits of X, then those of Y.  Derived
    from the training set (and checked against it), e.g. ``{"A": "12", ...}``."""
    rule: dict[str, str] = {}
    for item in COMPLETION_TRAIN:
        for letter, digits in ((item[0], item[2:4]), (item[1], item[4:6])):
            if rule.setdefault(letter, digits) != digits:
                raise AssertionError(f"the data contradict the rule at {item}")  # pragma: no cover
    return dict(sorted(rule.items()))


def completion_data(split: str = "train") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One split of the sequence-completion set, coded for a network.

    Returns ``x`` (n, 10): the one-hot code of the first letter followed by that
    of the second; ``y`` (n, 4, 3): the one-hot code of each of the four digits;
    and the items as strings.  ``split`` is ``"train"`` (20 items) or ``"test"`` (5).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    items = list(COMPLETION_TRAIN if split == "train" else COMPLETION_TEST)
    letters, digits = COMPLETION_SYMBOLS
    x = np.concatenate([one_hot([s[0] for s in items], letters)[:, 0],
                        one_hot([s[1] for s in items], letters)[:, 0]], axis=1)
    y = one_hot([s[2:] for s in items], digits)
    return x, y, items
