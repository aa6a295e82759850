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

__all__ = ["assert_close", "assert_shape", "without_reference"]


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
        files.add(mod.__file__)

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
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

    return guarded
