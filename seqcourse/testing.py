"""Assertions for the autograded tests: clear messages, tolerant comparisons.

Every failure message says what was checked, what was expected, what came
back, and, where one is given, a hint at the likely mistake.
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Any, Callable

import numpy as np

__all__ = ["assert_close", "assert_shape", "assert_unchanged", "without_reference"]


def _describe(value: Any) -> str:
    arr = np.asarray(value)
    if arr.size <= 8:
        return np.array2string(arr, precision=5, suppress_small=True) if arr.ndim else repr(value)
    return f"array of shape {arr.shape}, first values {np.array2string(arr.ravel()[:4], precision=4)}"


def assert_shape(actual: Any, shape: tuple[int, ...], what: str) -> None:
    """Fail unless ``np.shape(actual) == shape``."""
    got = np.shape(actual)
    if tuple(got) != tuple(shape):
        raise AssertionError(f"{what}: expected shape {tuple(shape)}, got {tuple(got)}")


def assert_close(
    actual: Any,
    expected: Any,
    what: str,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hint: str = "",
) -> None:
    """Fail unless ``actual`` equals ``expected`` within tolerances.

    Shapes must match exactly; values are compared with ``np.allclose``
    semantics (``|a - e| <= atol + rtol |e|``); infinities must match in sign.
    """
    hint = f"\nHint: {hint}" if hint else ""
    if actual is None:
        raise AssertionError(f"{what}: your function returned None (did you forget `return`?){hint}")
    try:
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{what}: expected numbers, got {type(actual).__name__}{hint}") from None
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: expected shape {e.shape}, got {a.shape}{hint}")
    if np.any(np.isnan(a)) and not np.all(np.isnan(a) == np.isnan(e)):
        raise AssertionError(f"{what}: got NaN where a number was expected: {_describe(a)}{hint}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        with np.errstate(invalid="ignore"):
            err = np.nanmax(np.abs(a - e)) if a.size else 0.0
        raise AssertionError(
            f"{what}: values differ (largest difference {err:.3g}, tolerance "
            f"atol={atol:g}, rtol={rtol:g})\n  expected: {_describe(e)}\n  got:      "
            f"{_describe(a)}{hint}"
        )


def without_reference(func: Callable, *modules: str) -> Callable:
    """Wrap a student's ``func`` so that calling it fails if it runs any code of
    the given modules (for example ``"seqcourse.kalman"``).

    The exercises ask students to write an algorithm themselves; the package
    holds the reference version that the tests compare against.  A call into
    the reference, however it was imported or renamed, is detected with a
    profiling hook and turned into a failed test.  If ``func`` returns a
    function (a fitted model's ``prob``, say), that function is guarded too.
    """
    files = set()
    for name in modules:
        mod = importlib.import_module(name)
        if getattr(mod, "__file__", None):   # torch._VF, say, has no file: the sandbox hides it
            files.add(mod.__file__)
    # Under the grading sandbox ``func`` is a proxy: the student's code runs in another
    # process, which cannot even import the reference modules.  A profiler here would
    # only watch the grader wait for the answer (and cost most of its time), so none.
    sandboxed = _is_sandbox_proxy(func)

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if sandboxed:
            return func(*args, **kwargs)
        seen: list[str] = []

        def profiler(frame, event, arg):  # noqa: ANN001
            if event == "call" and frame.f_code.co_filename in files and not seen:
                seen.append(f"{frame.f_code.co_name} in {frame.f_code.co_filename}")

        previous = sys.getprofile()
        sys.setprofile(profiler)
        try:
            result = func(*args, **kwargs)
        finally:
            sys.setprofile(previous)
        if seen:
            raise AssertionError(
                f"{getattr(func, '__name__', 'your function')} calls the course's reference "
                f"implementation ({seen[0]}). This exercise asks you to write the algorithm "
                f"yourself with numpy and plain Python; do not use {', '.join(modules)}."
            )
        if callable(result):
            return without_reference(result, *modules)
        return result

    guarded.reference_modules = modules  # type: ignore[attr-defined]  # read by assert_unchanged
    return guarded


# -- inputs left unchanged -------------------------------------------------------------
_PROBE_NAME = "seqcourse_unchanged_probe"
_PROBE_SOURCE = f'''
def {_PROBE_NAME}(fn, args, kwargs):
    """Runs in the student's process: call fn, send back what its arguments look like after."""
    result = fn(*args, **kwargs)
    return result, args, kwargs
'''


def _copy(value: Any) -> Any:
    """A deep copy of data (arrays, tensors, dicts, lists...); other objects as they are."""
    import copy

    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - an object that cannot be copied is not compared
        return value


def _difference(before: Any, after: Any) -> str | None:
    """How ``after`` differs from ``before`` (None when it does not)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(before, torch.Tensor):
        if not isinstance(after, torch.Tensor):
            return f"it was a tensor, now it is a {type(after).__name__}"
        before, after = before.detach().cpu().numpy(), after.detach().cpu().numpy()
    if isinstance(before, np.ndarray):
        after_arr = np.asarray(after) if not isinstance(after, np.ndarray) else after
        if after_arr.shape != before.shape:
            return f"its shape changed from {before.shape} to {after_arr.shape}"
        if after_arr.dtype != before.dtype:
            return f"its dtype changed from {before.dtype} to {after_arr.dtype}"
        same = np.asarray(before == after_arr)
        if before.dtype.kind in "fc":
            same = same | (np.isnan(before) & np.isnan(after_arr))
        if not same.all():
            changed = np.argwhere(~same)
            first = tuple(int(i) for i in changed[0]) if changed.size else ()
            return (f"{len(changed)} of its {before.size} entries changed, first at index {first}: "
                    f"{before[first]!r} became {after_arr[first]!r}")
        return None
    if isinstance(before, dict):
        if not isinstance(after, dict):
            return f"it was a dict, now it is a {type(after).__name__}"
        if set(before) != set(after):
            added, removed = set(after) - set(before), set(before) - set(after)
            return f"its keys changed (added {sorted(map(repr, added))}, removed {sorted(map(repr, removed))})"
        for key in before:
            diff = _difference(before[key], after[key])
            if diff:
                return f"entry [{key!r}]: {diff}"
        return None
    if isinstance(before, (list, tuple)):
        if len(before) != len(after):
            return f"its length changed from {len(before)} to {len(after)}"
        for i, (b, a) in enumerate(zip(before, after)):
            diff = _difference(b, a)
            if diff:
                return f"item [{i}]: {diff}"
        return None
    if isinstance(before, (set, frozenset, str, bytes, int, float, complex, bool, type(None))):
        same = before == after or (isinstance(before, float) and before != before and after != after)
        return None if same else f"it changed from {before!r} to {after!r}"
    return None   # an object we cannot compare


def _is_sandbox_proxy(fn: Any) -> bool:
    """A function that lives in the grading sandbox's student process (a Remote proxy)."""
    return "_box" in getattr(type(fn), "__slots__", ()) and hasattr(type(fn), "_ask")


def _call_in_sandbox(remote: Any, args: tuple, kwargs: dict,
                     modules: tuple[str, ...] = ()) -> tuple[Any, tuple, dict]:
    """Call the student's function where it lives and bring back its arguments after the
    call: the sandbox sends copies of the arguments, so a change made in place would
    otherwise never be seen by the tests."""
    reply = remote._box.request({"op": "exec", "source": _PROBE_SOURCE, "protected": []},
                                "preparing the inputs check")
    if not reply.get("ok"):
        raise AssertionError(f"the grader could not check your inputs: {reply.get('error')}")
    probe = reply["names"][_PROBE_NAME]
    if modules:     # keep the guard of without_reference on the call
        probe = without_reference(probe, *modules)
    result, after_args, after_kwargs = probe(remote, list(args), dict(kwargs))
    return result, tuple(after_args), dict(after_kwargs)


def _argument_names(fn: Callable, args: tuple, kwargs: dict) -> list[str]:
    import inspect

    names = [f"argument {i + 1}" for i in range(len(args))]
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return names
    params = list(bound.signature.parameters.values())
    for i in range(len(args)):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY, params[i].POSITIONAL_OR_KEYWORD):
            names[i] = f"`{params[i].name}` (argument {i + 1})"
    return names


def assert_unchanged(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` and fail if the call changed any of its inputs in place.

    Every argument (numpy arrays, torch tensors, and dicts, lists and tuples of them,
    nested) is deep-copied before the call and compared exactly afterwards. The
    call's result is returned, so a test can check it too. Works on the student's
    own functions and on the grading sandbox's proxies to them (where the check runs
    in the student's process, since the sandbox only ever sees copies).
    """
    import inspect

    target = inspect.unwrap(fn)
    name = getattr(fn, "__name__", None) or "your function"
    before_args, before_kwargs = _copy(args), _copy(kwargs)
    if _is_sandbox_proxy(target):
        modules = tuple(getattr(fn, "reference_modules", ()))
        result, after_args, after_kwargs = _call_in_sandbox(target, args, kwargs, modules)
    else:
        result = fn(*args, **kwargs)
        after_args, after_kwargs = args, kwargs
    labels = _argument_names(fn, args, kwargs)
    changes = []
    for label, b, a in zip(labels, before_args, after_args):
        diff = _difference(b, a)
        if diff:
            changes.append(f"{label}: {diff}")
    for key, b in before_kwargs.items():
        diff = _difference(b, after_kwargs.get(key))
        if diff:
            changes.append(f"`{key}` (keyword argument): {diff}")
    if changes:
        raise AssertionError(
            f"{name} changed its inputs in place; the caller's data must be left as it was.\n  "
            + "\n  ".join(changes)
            + "\nHint: work on copies (`A = np.array(A, dtype=float)` makes a new array), and do not "
            "assign into an argument (`A[...] = ...`) or update it with `+=`, `-=`, `*=`, `/=`."
        )
    return result
