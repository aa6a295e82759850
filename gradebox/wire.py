"""The data format between the grader and the sandboxed student process.

Only *data* crosses the boundary: JSON with tagged values for what JSON lacks
(tuples, sets, dicts with non-string keys, non-finite floats, bytes, numpy
arrays and scalars, torch tensors).  Arrays travel as ``np.save`` bytes with
``allow_pickle=False``, so decoding never runs code: nothing the student's
process sends can execute in the grader.  Anything else (a function, a model
object) is sent as a *reference*, an id the other side can call through.

    encode(value, make_ref) -> bytes          decode(bytes, resolve_ref) -> value

Most messages are small and flat (a callback ``prob("u", "v")`` and its float
answer, thousands of times per notebook): a message whose values are only
strings, finite floats, ints, booleans, None and lists or str-keyed dicts of
those goes as plain JSON after one marker byte, without the tagged tree (about
ten times cheaper).  Such a message decodes to exactly the same value, and it
holds no tags, so no reference is ever resolved from it.
"""

from __future__ import annotations

import base64
import io
import json
import math
from typing import Any, Callable

import numpy as np

MAX_DEPTH = 64
MAX_MESSAGE_BYTES = 256 << 20
PLAIN, TREE = b"P", b"T"       # the first byte of a message: plain JSON, or the tagged tree
PLAIN_DEPTH = 4                # how deep a plain message may nest lists and dicts

__all__ = ["encode", "decode", "WireError", "MAX_MESSAGE_BYTES"]


class WireError(ValueError):
    """A value or message that cannot cross the sandbox boundary."""


def _array_bytes(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _array_from(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def _torch():
    import sys
    return sys.modules.get("torch")  # only tensors of an already imported torch exist


def _to_tree(value: Any, make_ref: Callable[[Any], dict], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None or type(value) is bool:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and not isinstance(value, np.generic):
        return int(value)
    if isinstance(value, float) and not isinstance(value, np.generic):
        v = float(value)
        return v if math.isfinite(v) else {"$float": repr(v)}
    if isinstance(value, str):
        return {"$str": str.__str__(value)} if value.startswith("$") else str.__str__(value)
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, complex):
        return {"$complex": [value.real, value.imag]}
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufcUSMm":
            return make_ref(value)
        tag = "$ndarray" if isinstance(value, np.ndarray) else "$npscalar"
        # (not np.ascontiguousarray: it turns a 0-d array, a numpy scalar, into shape (1,))
        return {tag: _array_bytes(np.asarray(arr, order="C").view(np.ndarray))}
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().to("cpu")
        dtype = str(t.dtype).replace("torch.", "")
        if t.dtype == torch.bfloat16:
            t = t.float()
        return {"$tensor": _array_bytes(t.contiguous().numpy()), "dtype": dtype}
    if isinstance(value, (list, tuple, set, frozenset)):
        tag = {list: "$list", tuple: "$tuple", set: "$set", frozenset: "$frozenset"}
        kind = next(k for k in (list, tuple, set, frozenset) if isinstance(value, k))
        items = list(value) if kind in (list, tuple) else sorted(value, key=repr)
        return {tag[kind]: [_to_tree(v, make_ref, depth + 1) for v in items]}
    if isinstance(value, dict):
        return {"$dict": [[_to_tree(k, make_ref, depth + 1), _to_tree(v, make_ref, depth + 1)]
                          for k, v in value.items()]}
    return make_ref(value)


def _plain(value: Any, depth: int) -> bool:
    """True if JSON carries ``value`` exactly as it is (no tuples, sets, arrays,
    non-finite floats, non-string keys, subclasses of str/int/float)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if depth <= 0:
        return False
    if kind is dict:
        if not all(type(k) is str for k in value):
            return False
        value = value.values()
    elif kind is not list:
        return False
    for item in value:          # a loop, not a generator: this runs on every message
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is float:
            if not math.isfinite(item):
                return False
        elif not _plain(item, depth - 1):
            return False
    return True


def encode(value: Any, make_ref: Callable[[Any], dict] | None = None) -> bytes:
    """Serialise ``value``; objects that are not data go through ``make_ref``."""

    def no_refs(obj: Any) -> dict:
        raise WireError(f"cannot send a {type(obj).__name__} across the sandbox boundary")

    if type(value) is dict and _plain(value, PLAIN_DEPTH):
        data = PLAIN + json.dumps(value, allow_nan=False).encode()
    else:
        data = TREE + json.dumps(_to_tree(value, make_ref or no_refs, 0),
                                 allow_nan=False).encode()
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(data) >> 20} MiB is over the limit of "
                        f"{MAX_MESSAGE_BYTES >> 20} MiB")
    return data


def _from_tree(node: Any, resolve_ref: Callable[[dict], Any], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError(f"message nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict):
        if isinstance(node, list):
            raise WireError("untagged list in message")
        return node
    if len(node) == 0:
        raise WireError("empty object in message")
    tag = next(iter(node))
    rec = lambda v: _from_tree(v, resolve_ref, depth + 1)  # noqa: E731
    if tag == "$str":
        return str(node[tag])
    if tag == "$float":
        return float(node[tag]) if node[tag] in ("nan", "inf", "-inf") else _bad(tag)
    if tag == "$bytes":
        return base64.b64decode(node[tag])
    if tag == "$complex":
        return complex(float(node[tag][0]), float(node[tag][1]))
    if tag == "$ndarray":
        return _array_from(node[tag])
    if tag == "$npscalar":
        return _array_from(node[tag])[()]
    if tag == "$tensor":
        import torch
        arr = _array_from(node[tag])
        out = torch.from_numpy(arr.copy())
        want = getattr(torch, str(node.get("dtype", "")), None)
        return out.to(want) if isinstance(want, torch.dtype) else out
    if tag in ("$list", "$tuple", "$set", "$frozenset"):
        items = [rec(v) for v in node[tag]]
        return {"$list": list, "$tuple": tuple, "$set": set, "$frozenset": frozenset}[tag](items)
    if tag == "$dict":
        return {rec(k): rec(v) for k, v in node[tag]}
    if tag.startswith("$ref"):
        return resolve_ref(node)
    return _bad(tag)


def _bad(tag: str) -> Any:
    raise WireError(f"unknown tag {tag!r} in message")


def decode(data: bytes, resolve_ref: Callable[[dict], Any] | None = None) -> Any:
    """Rebuild a value from ``encode``'s bytes; references go through ``resolve_ref``."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(data) >> 20} MiB is over the limit")

    def no_refs(node: dict) -> Any:
        raise WireError("unexpected reference in message")

    marker, body = bytes(data[:1]), data[1:]
    try:
        tree = json.loads(body)
    except RecursionError:
        raise WireError(f"message nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:
        raise WireError(f"message is not JSON: {err}") from None
    if marker == PLAIN:
        if type(tree) is not dict or not _plain(tree, PLAIN_DEPTH):
            raise WireError("a plain message must be a flat object of plain values")
        return tree
    if marker != TREE:
        raise WireError(f"unknown message marker {marker!r}")
    return _from_tree(tree, resolve_ref or no_refs, 0)
