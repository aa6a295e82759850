"""Gated recurrent units in NumPy: the LSTM and the GRU, one step and whole sequences,
forward and backward through time, in torch's names, layout and gate order.

LSTM (``torch.nn.LSTM``; ``weight_ih`` (4H, D) and ``weight_hh`` (4H, H) stack the gates
in the order i, f, g, o; biases ``bias_ih``, ``bias_hh`` (4H,))::

    i = sigma(W_ii x + b_ii + W_hi h + b_hi)      input gate
    f = sigma(W_if x + b_if + W_hf h + b_hf)      forget gate
    g = tanh (W_ig x + b_ig + W_hg h + b_hg)      candidate
    o = sigma(W_io x + b_io + W_ho h + b_ho)      output gate
    c' = f * c + i * g                            the additive cell path
    h' = o * tanh(c')

GRU (``torch.nn.GRU``; (3H, D) / (3H, H) in the order r, z, n)::

    r = sigma(W_ir x + b_ir + W_hr h + b_hr)      reset gate
    z = sigma(W_iz x + b_iz + W_hz h + b_hz)      update gate
    n = tanh (W_in x + b_in + r * (W_hn h + b_hn))    torch: reset AFTER the product
    h' = (1 - z) * n + z * h

Some textbooks (and the original GRU paper) reset *before* the recurrent product,
``n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)``; ``reset_after=False`` gives that
variant, which does NOT match torch.

Shapes: x (N, D) for a step, (T, N, D) for a sequence (time-major), states (N, H).
``params_from_torch`` copies a one-layer ``torch.nn.LSTM``/``GRU`` (or its ``state_dict``,
whose ``_l0`` suffixes are stripped) into a float64 dict.

BPTT for the LSTM carries two gradients back in time: ``dh`` through the gates and
``dc``, which goes from c_t to c_{t-1} multiplied only by f_t -- the path that lets
gradients survive many steps when the forget gate stays near 1.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ._checks import as_float_array, check_shape

__all__ = [
    "KEYS",
    "LSTM_GATES",
    "GRU_GATES",
    "init_params",
    "params_from_torch",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
    "gru_step_forward",
    "gru_step_backward",
    "gru_forward",
    "gru_backward",
]

Params = dict[str, np.ndarray]
KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
LSTM_GATES = ("i", "f", "g", "o")
GRU_GATES = ("r", "z", "n")
_N_GATES = {"lstm": 4, "gru": 3}


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic function without overflow for large |a|."""
    out = np.empty_like(a)
    pos = a >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-a[pos]))
    e = np.exp(a[~pos])
    out[~pos] = e / (1.0 + e)
    return out


# -- parameters --------------------------------------------------------------------------------
def _check_params(params: Mapping[str, Any], kind: str) -> tuple[Params, int, int]:
    """Validate an LSTM (kind 'lstm', 4 gates) or GRU ('gru', 3 gates) dict; return float64
    arrays and (D, H)."""
    G = _N_GATES[kind]
    order = ", ".join(LSTM_GATES if kind == "lstm" else GRU_GATES)
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict with keys {KEYS}, got {type(params).__name__}")
    missing = [k for k in KEYS if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected the keys {KEYS} "
                         f"(a torch state_dict's '_l0' suffix is stripped by params_from_torch)")
    p = {k: as_float_array(params[k], k) for k in KEYS}
    w = p["weight_ih"]
    if w.ndim != 2 or w.shape[0] % G:
        raise ValueError(f"weight_ih of a {kind.upper()} must have shape ({G}H, D), gates {order}, "
                         f"got {w.shape}")
    H, D = w.shape[0] // G, w.shape[1]
    check_shape(p["weight_hh"], (G * H, H), f"weight_hh ({G}H, H) with H={H}")
    check_shape(p["bias_ih"], (G * H,), f"bias_ih ({G}H,) with H={H}")
    check_shape(p["bias_hh"], (G * H,), f"bias_hh ({G}H,) with H={H}")
    return p, D, H


def init_params(kind: str, input_size: int, hidden_size: int, rng: np.random.Generator) -> Params:
    """Random parameters like torch's default (uniform on +-1/sqrt(H)) for kind 'lstm' or 'gru'."""
    if kind not in _N_GATES:
        raise ValueError(f"kind must be 'lstm' or 'gru', got {kind!r}")
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"sizes must be positive, got D={input_size}, H={hidden_size}")
    G, H, D = _N_GATES[kind], hidden_size, input_size
    k = 1.0 / np.sqrt(H)
    return {"weight_ih": rng.uniform(-k, k, (G * H, D)), "weight_hh": rng.uniform(-k, k, (G * H, H)),
            "bias_ih": rng.uniform(-k, k, G * H), "bias_hh": rng.uniform(-k, k, G * H)}


def params_from_torch(module_or_state: Any) -> Params:
    """Float64 copies of a one-layer ``torch.nn.LSTM``/``GRU`` (or ``LSTMCell``/``GRUCell``)
    or of its ``state_dict()``; keys ``weight_ih_l0`` etc. lose their ``_l0`` suffix."""
    state = module_or_state.state_dict() if hasattr(module_or_state, "state_dict") else module_or_state
    if not isinstance(state, Mapping):
        raise ValueError(f"expected a torch module or its state_dict, got {type(state).__name__}")
    extra = [k for k in state if not (k in KEYS or (k.endswith("_l0") and k[:-3] in KEYS))]
    if extra:
        raise ValueError(f"only a one-layer, one-direction, biased LSTM/GRU is supported; "
                         f"expected the keys {KEYS} (optionally with '_l0'), got also {extra}")
    out = {}
    for key in KEYS:
        value = state.get(key + "_l0", state.get(key))
        if value is None:
            raise ValueError(f"the state_dict has no {key!r} or {key + '_l0'!r} "
                             f"(was the module built with bias=False?); got keys {list(state)}")
        out[key] = value.detach().cpu().double().numpy().copy() if hasattr(value, "detach") \
            else np.array(value, dtype=np.float64)
    return out


def _check_step(x: Any, states: list[tuple[str, Any]], D: int, H: int) -> tuple[np.ndarray, list]:
    x = as_float_array(x, "x", ndim=2)
    check_shape(x, (None, D), f"x (N, D) with D={D} (from weight_ih)")
    out = []
    for name, s in states:
        s = as_float_array(s, name, ndim=2)
        check_shape(s, (x.shape[0], H), f"{name} (N, H) with N={x.shape[0]} (from x), H={H}")
        out.append(s)
    return x, out


def _first(x: np.ndarray) -> np.ndarray:
    if x.shape[0] < 1:
        raise ValueError(f"x (T, N, D) needs at least one time step, got shape {x.shape}")
    return x[0]


# -- LSTM --------------------------------------------------------------------------------------
def lstm_step_forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray,
                      params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, dict]:
    """One LSTM step: x (N, D), h_prev, c_prev (N, H) -> ``(h, c, cache)``, h and c (N, H).

    ``cache`` holds the gates ``i, f, g, o`` (N, H) (for plots) and what the backward needs.
    """
    p, D, H = _check_params(params, "lstm")
    x, (h_prev, c_prev) = _check_step(x, [("h_prev", h_prev), ("c_prev", c_prev)], D, H)
    return _lstm_step(x, h_prev, c_prev, p, H)


def _lstm_step(x, h_prev, c_prev, p, H):
    a = x @ p["weight_ih"].T + p["bias_ih"] + h_prev @ p["weight_hh"].T + p["bias_hh"]
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "g": g, "o": o,
             "c": c, "tanh_c": tc, "params": p}
    return h, c, cache


def lstm_step_backward(dh: np.ndarray, dc: np.ndarray | None, cache: dict) -> Params:
    """Gradients of one LSTM step given dL/dh and dL/dc (N, H) (``dc`` None means 0).

    Returns the four parameter gradients and ``x`` (N, D), ``h_prev``, ``c_prev`` (N, H).
    """
    H = cache["c"].shape[1]
    dh = as_float_array(dh, "dh", ndim=2)
    check_shape(dh, cache["c"].shape, f"dh (N, H) = {cache['c'].shape}")
    if dc is None:
        dc = np.zeros_like(dh)
    dc = as_float_array(dc, "dc", ndim=2)
    check_shape(dc, cache["c"].shape, f"dc (N, H) = {cache['c'].shape}")
    i, f, g, o, tc = (cache[k] for k in ("i", "f", "g", "o", "tanh_c"))
    dc_total = dc + dh * o * (1.0 - tc * tc)     # c feeds h through tanh, and the next step
    da = np.concatenate([
        dc_total * g * i * (1.0 - i),              # input gate
        dc_total * cache["c_prev"] * f * (1.0 - f),  # forget gate
        dc_total * i * (1.0 - g * g),              # candidate
        dh * tc * o * (1.0 - o),                   # output gate
    ], axis=1)
    return _affine_grads(da, cache, H) | {"c_prev": dc_total * f}


def _affine_grads(da: np.ndarray, cache: dict, H: int) -> Params:
    """Gradients through ``a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh`` given dL/da."""
    p = cache["params"]
    db = da.sum(axis=0)
    return {"weight_ih": da.T @ cache["x"], "weight_hh": da.T @ cache["h_prev"],
            "bias_ih": db, "bias_hh": db.copy(),
            "x": da @ p["weight_ih"], "h_prev": da @ p["weight_hh"]}


def lstm_forward(x: np.ndarray, h0: np.ndarray, c0: np.ndarray,
                 params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Run an LSTM over x (T, N, D) from h0, c0 (N, H).

    Returns ``(h, c, cache)``: every hidden state and cell state (T, N, H), and a cache with
    the gates stacked over time, ``cache["i"]`` etc. (T, N, H).
    """
    p, D, H = _check_params(params, "lstm")
    x = as_float_array(x, "x", ndim=3)
    check_shape(x, (None, None, D), f"x (T, N, D) with D={D} (from weight_ih)")
    _, (h_prev, c_prev) = _check_step(_first(x), [("h0", h0), ("c0", c0)], D, H)
    steps = []
    for t in range(x.shape[0]):
        h_prev, c_prev, step = _lstm_step(x[t], h_prev, c_prev, p, H)
        steps.append(step)
    return _stack(steps, p, extra={"h0": h0, "c0": c0})


def _stack(steps: list[dict], p: Params, extra: dict) -> tuple:
    """Stack the per-step caches over time (gates and states become (T, N, H))."""
    gates = LSTM_GATES + ("c", "tanh_c") if "c" in steps[0] else GRU_GATES + ("h", "hn")
    cache = {k: np.stack([s[k] for s in steps]) for k in gates}
    cache |= {"steps": steps, "params": p} | {k: np.asarray(v, dtype=np.float64) for k, v in extra.items()}
    if "c" in steps[0]:
        h = cache["o"] * cache["tanh_c"]
        return h, cache["c"], cache
    return cache["h"], cache


def lstm_backward(dh: np.ndarray, cache: dict, dc_last: np.ndarray | None = None) -> Params:
    """Backpropagation through time for ``lstm_forward``.

    ``dh`` (T, N, H) is dL/dh_t sent directly by the loss at each step; ``dc_last`` (N, H)
    optionally dL/dc_T (a loss on the final cell state). Returns the four parameter
    gradients, ``x`` (T, N, D), ``h0`` and ``c0`` (N, H).
    """
    steps = cache["steps"]
    dh = as_float_array(dh, "dh", ndim=3)
    check_shape(dh, cache["c"].shape, f"dh (T, N, H) = {cache['c'].shape}")
    carry_h = np.zeros(dh.shape[1:])
    carry_c = np.zeros(dh.shape[1:]) if dc_last is None else as_float_array(dc_last, "dc_last", ndim=2)
    check_shape(carry_c, dh.shape[1:], f"dc_last (N, H) = {dh.shape[1:]}")
    return _bptt(steps, dh, lambda t, d, s: lstm_step_backward(d, s[0], steps[t]),
                 carry_h, carry_c, ("h0", "c0"))


def _bptt(steps, dh, step_backward, carry_h, carry_c, names) -> Params:
    p = steps[0]["params"]
    grads = {k: np.zeros_like(p[k]) for k in KEYS}
    dx = np.zeros((dh.shape[0],) + steps[0]["x"].shape)
    for t in range(len(steps) - 1, -1, -1):
        g = step_backward(t, dh[t] + carry_h, (carry_c,))
        for k in KEYS:
            grads[k] += g[k]
        dx[t] = g["x"]
        carry_h = g["h_prev"]
        carry_c = g.get("c_prev")
    grads["x"] = dx
    grads[names[0]] = carry_h
    if len(names) > 1:
        grads[names[1]] = carry_c
    return grads


# -- GRU ---------------------------------------------------------------------------------------
def gru_step_forward(x: np.ndarray, h_prev: np.ndarray, params: Mapping[str, Any],
                     reset_after: bool = True) -> tuple[np.ndarray, dict]:
    """One GRU step: x (N, D), h_prev (N, H) -> ``(h, cache)`` with h (N, H).

    ``reset_after=True`` is torch's GRU (reset applied to ``W_hn h + b_hn``); False is the
    textbook variant (reset applied to h before ``W_hn``), which torch does not compute.
    """
    p, D, H = _check_params(params, "gru")
    x, (h_prev,) = _check_step(x, [("h_prev", h_prev)], D, H)
    return _gru_step(x, h_prev, p, H, reset_after)


def _gru_step(x, h_prev, p, H, reset_after):
    W_hh, b_hh = p["weight_hh"], p["bias_hh"]
    ax = x @ p["weight_ih"].T + p["bias_ih"]
    ah = h_prev @ W_hh[:2 * H].T + b_hh[:2 * H]
    r = _sigmoid(ax[:, :H] + ah[:, :H])
    z = _sigmoid(ax[:, H:2 * H] + ah[:, H:])
    hr = h_prev if reset_after else r * h_prev
    hn = hr @ W_hh[2 * H:].T + b_hh[2 * H:]               # W_hn h + b_hn  (or  W_hn (r*h) + b_hn)
    n = np.tanh(ax[:, 2 * H:] + (r * hn if reset_after else hn))
    h = (1.0 - z) * n + z * h_prev
    cache = {"x": x, "h_prev": h_prev, "r": r, "z": z, "n": n, "hn": hn, "h": h,
             "params": p, "reset_after": reset_after}
    return h, cache


def gru_step_backward(dh: np.ndarray, cache: dict) -> Params:
    """Gradients of one GRU step given dL/dh (N, H): the four parameter gradients,
    ``x`` (N, D) and ``h_prev`` (N, H)."""
    r, z, n, hn, h_prev = (cache[k] for k in ("r", "z", "n", "hn", "h_prev"))
    H = r.shape[1]
    dh = as_float_array(dh, "dh", ndim=2)
    check_shape(dh, r.shape, f"dh (N, H) = {r.shape}")
    p = cache["params"]
    dn_pre = dh * (1.0 - z) * (1.0 - n * n)
    dz_pre = dh * (h_prev - n) * z * (1.0 - z)
    if cache["reset_after"]:
        dhn = dn_pre * r                                  # through r * (W_hn h + b_hn)
        dr_pre = dn_pre * hn * r * (1.0 - r)
    else:
        dhn = dn_pre                                      # through W_hn (r * h) + b_hn
        dr_pre = (dn_pre @ p["weight_hh"][2 * H:]) * h_prev * r * (1.0 - r)
    hr = h_prev if cache["reset_after"] else r * h_prev
    da_x = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
    da_h = np.concatenate([dr_pre, dz_pre, dhn], axis=1)
    dhr = dhn @ p["weight_hh"][2 * H:]
    dh_prev = dh * z + da_h[:, :2 * H] @ p["weight_hh"][:2 * H] + (dhr if cache["reset_after"] else dhr * r)
    hh_in = np.concatenate([np.repeat(h_prev[None], 2, 0), hr[None]])   # what each block multiplies
    dW_hh = np.concatenate([da_h[:, g * H:(g + 1) * H].T @ hh_in[g] for g in range(3)], axis=0)
    return {"weight_ih": da_x.T @ cache["x"], "weight_hh": dW_hh,
            "bias_ih": da_x.sum(axis=0), "bias_hh": da_h.sum(axis=0),
            "x": da_x @ p["weight_ih"], "h_prev": dh_prev}


def gru_forward(x: np.ndarray, h0: np.ndarray, params: Mapping[str, Any],
                reset_after: bool = True) -> tuple[np.ndarray, dict]:
    """Run a GRU over x (T, N, D) from h0 (N, H) -> ``(h, cache)``: states h (T, N, H) and a
    cache with the gates ``r, z, n`` stacked over time (T, N, H)."""
    p, D, H = _check_params(params, "gru")
    x = as_float_array(x, "x", ndim=3)
    check_shape(x, (None, None, D), f"x (T, N, D) with D={D} (from weight_ih)")
    _, (h_prev,) = _check_step(_first(x), [("h0", h0)], D, H)
    steps = []
    for t in range(x.shape[0]):
        h_prev, step = _gru_step(x[t], h_prev, p, H, reset_after)
        steps.append(step)
    return _stack(steps, p, extra={"h0": h0})


def gru_backward(dh: np.ndarray, cache: dict) -> Params:
    """Backpropagation through time for ``gru_forward``: dh (T, N, H) sent directly by the
    loss; returns the four parameter gradients, ``x`` (T, N, D) and ``h0`` (N, H)."""
    steps = cache["steps"]
    dh = as_float_array(dh, "dh", ndim=3)
    check_shape(dh, cache["h"].shape, f"dh (T, N, H) = {cache['h'].shape}")
    return _bptt(steps, dh, lambda t, d, s: gru_step_backward(d, steps[t]),
                 np.zeros(dh.shape[1:]), None, ("h0",))
