"""A vanilla recurrent network in NumPy: forward, backpropagation through time,
a softmax output layer with the summed cross-entropy, and gradient checking.

The recurrence (one layer, ``tanh``) and the output layer are::

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)      x_t (N, D), h_t (N, H)
    z_t = W_hz h_t + b_z                                    logits (N, V)
    L   = sum_t sum_n -log softmax(z_t)[n, y_t[n]]          summed cross-entropy

Parameters are a dict that uses torch's names and layout, so the weights of a
``torch.nn.RNN(D, H)`` (one layer, ``tanh``) load directly::

    weight_ih (H, D)   weight_hh (H, H)   bias_ih (H,)   bias_hh (H,)

(``params_from_torch`` does the conversion). The output layer is a separate
pair ``weight_hz`` (V, H), ``bias_z`` (V,), the layout of ``torch.nn.Linear(H, V)``.

Sequences are time-major like ``torch.nn.RNN``'s default: ``x`` has shape
(T, N, D), the hidden states ``h`` (T, N, H).

Backpropagation through time (BPTT) in one line: the gradient reaching ``h_t``
is what the loss sends it directly plus what ``h_{t+1}`` sends back,
``dh_t <- dh_t + W_hh^T [(1 - h_{t+1}^2) * dh_{t+1}]``, and every weight
gradient is a sum over time steps because the same weights act at every step.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._checks import as_float_array, check_shape

__all__ = [
    "RNN_KEYS",
    "init_params",
    "params_from_torch",
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "output_forward",
    "output_backward",
    "softmax_cross_entropy",
    "sequence_loss",
    "clip_grad_norm",
    "relative_error",
    "numerical_gradient",
    "grad_check",
    "state_jacobian_norms",
]

Params = dict[str, np.ndarray]
RNN_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
OUT_KEYS = ("weight_hz", "bias_z")


# -- parameters --------------------------------------------------------------------------------
def _check_params(params: Params) -> tuple[Params, int, int]:
    """Validate an RNN parameter dict; return it as float64 arrays, with (D, H)."""
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict with keys {RNN_KEYS}, got {type(params).__name__}")
    missing = [k for k in RNN_KEYS if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected the keys {RNN_KEYS}")
    p = {k: as_float_array(params[k], k) for k in RNN_KEYS}
    if p["weight_ih"].ndim != 2:
        raise ValueError(f"weight_ih must have shape (H, D), got {p['weight_ih'].shape}")
    H, D = p["weight_ih"].shape
    check_shape(p["weight_hh"], (H, H), f"weight_hh (H, H) with H={H}")
    check_shape(p["bias_ih"], (H,), f"bias_ih (H,) with H={H}")
    check_shape(p["bias_hh"], (H,), f"bias_hh (H,) with H={H}")
    return p, D, H


def init_params(
    input_size: int, hidden_size: int, rng: np.random.Generator, output_size: int | None = None
) -> Params:
    """Random parameters drawn like torch's defaults: uniform on +-1/sqrt(H).

    With ``output_size`` V the dict also holds the output layer
    ``weight_hz`` (V, H) and ``bias_z`` (V,).
    """
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"sizes must be positive, got D={input_size}, H={hidden_size}")
    k = 1.0 / np.sqrt(hidden_size)
    p = {
        "weight_ih": rng.uniform(-k, k, (hidden_size, input_size)),
        "weight_hh": rng.uniform(-k, k, (hidden_size, hidden_size)),
        "bias_ih": rng.uniform(-k, k, hidden_size),
        "bias_hh": rng.uniform(-k, k, hidden_size),
    }
    if output_size is not None:
        p["weight_hz"] = rng.uniform(-k, k, (output_size, hidden_size))
        p["bias_z"] = rng.uniform(-k, k, output_size)
    return p


def params_from_torch(rnn: "torch.nn.RNN", head: "torch.nn.Linear | None" = None) -> Params:  # noqa: F821
    """Copy a one-layer ``torch.nn.RNN`` (and optionally its ``nn.Linear`` head) into a
    float64 parameter dict for this module."""
    p = {k: getattr(rnn, k + "_l0").detach().cpu().double().numpy().copy() for k in RNN_KEYS}
    if head is not None:
        p["weight_hz"] = head.weight.detach().cpu().double().numpy().copy()
        p["bias_z"] = head.bias.detach().cpu().double().numpy().copy()
    return p


# -- one step ----------------------------------------------------------------------------------
def rnn_step_forward(x: np.ndarray, h_prev: np.ndarray, params: Params) -> tuple[np.ndarray, tuple]:
    """One step ``h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)``.

    Shapes: x (N, D), h_prev (N, H) -> h (N, H). Returns ``(h, cache)``.
    """
    params, D, H = _check_params(params)
    x = as_float_array(x, "x", ndim=2)
    check_shape(x, (None, D), f"x (N, D) with D={D} (from weight_ih)")
    h_prev = as_float_array(h_prev, "h_prev", ndim=2)
    check_shape(h_prev, (x.shape[0], H), f"h_prev (N, H) with N={x.shape[0]}, H={H}")
    a = x @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]
    h = np.tanh(a)
    return h, (x, h_prev, h, params)


def rnn_step_backward(dh: np.ndarray, cache: tuple) -> Params:
    """Gradients of one step given ``dh`` = dL/dh (N, H).

    Returns a dict with ``weight_ih, weight_hh, bias_ih, bias_hh`` and the
    inputs' gradients ``x`` (N, D) and ``h_prev`` (N, H).
    """
    x, h_prev, h, params = cache
    dh = as_float_array(dh, "dh", ndim=2)
    check_shape(dh, h.shape, f"dh (N, H) = {h.shape}")
    da = dh * (1.0 - h * h)                       # tanh'(a) = 1 - tanh(a)^2
    return {
        "weight_ih": da.T @ x,
        "weight_hh": da.T @ h_prev,
        "bias_ih": da.sum(axis=0),
        "bias_hh": da.sum(axis=0),
        "x": da @ params["weight_ih"],
        "h_prev": da @ params["weight_hh"],
    }


# -- a whole sequence ----------------------------------------------------------------------------
def rnn_forward(x: np.ndarray, h0: np.ndarray, params: Params) -> tuple[np.ndarray, tuple]:
    """Run the RNN over a sequence.

    Shapes: x (T, N, D), h0 (N, H) -> h (T, N, H), the hidden state after
    every step (``h[-1]`` is the final state). Returns ``(h, cache)``.
    """
    params, D, H = _check_params(params)
    x = as_float_array(x, "x", ndim=3)
    check_shape(x, (None, None, D), f"x (T, N, D) with D={D} (from weight_ih)")
    T, N, _ = x.shape
    h0 = as_float_array(h0, "h0", ndim=2)
    check_shape(h0, (N, H), f"h0 (N, H) with N={N} (from x), H={H} (from weight_hh)")
    w_ih, w_hh = params["weight_ih"], params["weight_hh"]
    # the input part of every step at once, then the sequential recurrence
    a_in = x @ w_ih.T + params["bias_ih"] + params["bias_hh"]
    h = np.empty((T, N, H))
    prev = h0
    for t in range(T):
        prev = h[t] = np.tanh(a_in[t] + prev @ w_hh.T)
    return h, (x, h0, h, params)


def rnn_backward(dh: np.ndarray, cache: tuple) -> Params:
    """Backpropagation through time.

    ``dh`` (T, N, H) holds dL/dh_t coming *directly* from the loss at each
    step (not through later states). Returns a dict with the four parameter
    gradients and ``x`` (T, N, D), ``h0`` (N, H).
    """
    x, h0, h, params = cache
    dh = as_float_array(dh, "dh", ndim=3)
    check_shape(dh, h.shape, f"dh (T, N, H) = {h.shape}")
    w_ih, w_hh = params["weight_ih"], params["weight_hh"]
    T = h.shape[0]
    da = np.empty_like(h)
    carry = np.zeros_like(h0)                     # dL/dh_t arriving from step t + 1
    for t in range(T - 1, -1, -1):
        total = dh[t] + carry
        da[t] = total * (1.0 - h[t] * h[t])
        carry = da[t] @ w_hh
    h_prev = np.concatenate([h0[None], h[:-1]], axis=0)
    db = da.sum(axis=(0, 1))
    return {
        "weight_ih": np.einsum("tnh,tnd->hd", da, x),
        "weight_hh": np.einsum("tnh,tnk->hk", da, h_prev),
        "bias_ih": db,
        "bias_hh": db.copy(),
        "x": da @ w_ih,
        "h0": carry,
    }


# -- output layer and loss -----------------------------------------------------------------------
def output_forward(h: np.ndarray, weight_hz: np.ndarray, bias_z: np.ndarray) -> np.ndarray:
    """Logits ``z = h W_hz^T + b_z``: h (..., H), weight_hz (V, H), bias_z (V,) -> (..., V)."""
    h = as_float_array(h, "h")
    weight_hz = as_float_array(weight_hz, "weight_hz", ndim=2)
    V, H = weight_hz.shape
    if h.ndim < 1 or h.shape[-1] != H:
        raise ValueError(f"h must have shape (..., H) with H={H} (from weight_hz), got {h.shape}")
    bias_z = as_float_array(bias_z, "bias_z", ndim=1)
    check_shape(bias_z, (V,), f"bias_z (V,) with V={V}")
    return h @ weight_hz.T + bias_z


def output_backward(
    dlogits: np.ndarray, h: np.ndarray, weight_hz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``output_forward``: returns ``(dh, dweight_hz, dbias_z)``."""
    V, H = np.shape(weight_hz)
    g = np.asarray(dlogits, dtype=np.float64).reshape(-1, V)
    hh = np.asarray(h, dtype=np.float64).reshape(-1, H)
    return (np.asarray(dlogits) @ weight_hz, g.T @ hh, g.sum(axis=0))


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Summed cross-entropy ``sum -log softmax(logits)[target]`` and its gradient.

    logits (..., V), integer targets (...) -> ``(loss, dlogits)`` with
    ``dlogits = softmax(logits) - onehot(targets)`` (same shape as logits).
    Stable for logits of any size (log-sum-exp with the maximum subtracted).
    """
    logits = as_float_array(logits, "logits")
    targets = np.asarray(targets)
    if logits.ndim < 1 or targets.shape != logits.shape[:-1]:
        raise ValueError(
            f"targets must have shape {logits.shape[:-1]} to match logits {logits.shape} "
            f"(..., V), got {targets.shape}"
        )
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be integer class indices, got dtype {targets.dtype}")
    V = logits.shape[-1]
    if targets.size and (targets.min() < 0 or targets.max() >= V):
        raise ValueError(f"targets must lie in [0, {V - 1}], got values in [{targets.min()}, {targets.max()}]")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_p = shifted - log_z
    idx = targets[..., None]
    picked = np.take_along_axis(log_p, idx, axis=-1)
    dlogits = np.exp(log_p)
    np.put_along_axis(dlogits, idx, np.take_along_axis(dlogits, idx, axis=-1) - 1.0, axis=-1)
    return float(-picked.sum()), dlogits


def sequence_loss(
    params: Params, x: np.ndarray, targets: np.ndarray, h0: np.ndarray | None = None
) -> tuple[float, Params, np.ndarray]:
    """Loss and every gradient of an RNN with a softmax output at each step.

    ``params`` holds the RNN keys plus ``weight_hz`` (V, H), ``bias_z`` (V,);
    x (T, N, D); integer targets (T, N); h0 (N, H) (zeros when None).
    Returns ``(loss, grads, h)``: the summed cross-entropy, a dict with a
    gradient for every key of ``params`` plus ``x`` and ``h0``, and the states.
    """
    for k in OUT_KEYS:
        if k not in params:
            raise ValueError(f"params needs the output layer {OUT_KEYS}; {k!r} is missing")
    _, D, H = _check_params(params)
    x = as_float_array(x, "x", ndim=3)
    if h0 is None:
        h0 = np.zeros((x.shape[1], H))
    h, cache = rnn_forward(x, h0, params)
    logits = output_forward(h, params["weight_hz"], params["bias_z"])
    loss, dlogits = softmax_cross_entropy(logits, targets)
    dh, dW, db = output_backward(dlogits, h, params["weight_hz"])
    grads = rnn_backward(dh, cache)
    grads["weight_hz"], grads["bias_z"] = dW, db
    return loss, grads, h


# -- clipping and checking -----------------------------------------------------------------------
def clip_grad_norm(grads: Params, max_norm: float) -> tuple[Params, float]:
    """Rescale all gradients together so that their global L2 norm is at most
    ``max_norm`` (what ``torch.nn.utils.clip_grad_norm_`` does).

    Returns ``(clipped, norm)``: new arrays (the input is left alone) and the
    global norm *before* clipping. Below the threshold nothing changes.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm = float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return {k: np.asarray(g, dtype=np.float64) * scale for k, g in grads.items()}, norm


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-8) -> float:
    """Largest elementwise ``|a - b| / max(|a| + |b|, floor)`` (0 for empty arrays).

    Around 1e-7 or below in float64 means two gradients agree; around 1e-2
    or above means a bug (the floor keeps entries that are both ~0 from
    producing noise)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs equal shapes, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6,
                       index: list[tuple[int, ...]] | None = None) -> np.ndarray:
    """Centred finite differences ``(f(a + eps) - f(a - eps)) / 2 eps`` of the
    scalar ``f()`` with respect to every entry of ``array`` (changed in place
    and restored), or only the entries in ``index`` (others left at 0)."""
    grad = np.zeros_like(array, dtype=np.float64)
    positions = index if index is not None else list(np.ndindex(array.shape))
    for i in positions:
        old = array[i]
        array[i] = old + eps
        plus = f()
        array[i] = old - eps
        minus = f()
        array[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def grad_check(
    loss_fn: Callable[[Params], float],
    params: Params,
    grads: Params,
    *,
    eps: float = 1e-6,
    n_checks: int | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, float]:
    """Compare analytic ``grads`` with centred finite differences of ``loss_fn(params)``.

    For every key of ``grads`` that is also in ``params``, perturb the entries
    (all of them, or ``n_checks`` random ones) and return the largest relative
    error per key (see ``relative_error``). ``params`` is copied, never changed.
    """
    work = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    report = {}
    for key in grads:
        if key not in work:
            continue
        arr = work[key]
        g = np.asarray(grads[key], dtype=np.float64)
        if g.shape != arr.shape:
            raise ValueError(f"grads[{key!r}] has shape {g.shape}, params[{key!r}] {arr.shape}")
        index = None
        if n_checks is not None and n_checks < arr.size:
            gen = rng if rng is not None else np.random.default_rng(0)
            flat = gen.choice(arr.size, size=n_checks, replace=False)
            index = [np.unravel_index(j, arr.shape) for j in flat]
        num = numerical_gradient(lambda: loss_fn(work), arr, eps, index)
        if index is None:
            report[key] = relative_error(g, num)
        else:
            report[key] = relative_error(np.array([g[i] for i in index]), np.array([num[i] for i in index]))
    return report


# -- long-term dependencies ----------------------------------------------------------------------
def state_jacobian_norms(h: np.ndarray, weight_hh: np.ndarray) -> np.ndarray:
    """Spectral norms of ``dh_T/dh_t`` for t = T-1, T-2, ..., 0 along one sequence.

    h (T, H) are the states of one sequence (``h[:, n]`` of a batch);
    ``dh_s/dh_{s-1} = diag(1 - h_s^2) W_hh``. Entry k of the result is the norm
    of the product of the last k Jacobians, i.e. of ``dh_{T-1}/dh_{T-1-k}``
    (entry 0 is 1: the identity). Length T.
    """
    h = as_float_array(h, "h (T, H) of one sequence", ndim=2)
    T, H = h.shape
    w = as_float_array(weight_hh, "weight_hh", ndim=2)
    check_shape(w, (H, H), f"weight_hh (H, H) with H={H} (from h)")
    prod = np.eye(H)
    norms = np.empty(T)
    norms[0] = 1.0
    for k in range(1, T):
        s = T - k                                   # multiply by dh_s/dh_{s-1}
        prod = prod @ ((1.0 - h[s] ** 2)[:, None] * w)
        norms[k] = np.linalg.norm(prod, 2)
    return norms
