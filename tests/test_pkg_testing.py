"""seqcourse.testing: the friendly assertions of the autograded tests."""

from __future__ import annotations

import numpy as np
import pytest

import seqcourse.kalman
from seqcourse.kalman import kalman_update as innocent_looking_name
from seqcourse.testing import assert_close, assert_shape, without_reference


# -- assert_close --------------------------------------------------------------------
def test_assert_close_passes_within_tolerance():
    e = np.arange(12.0).reshape(3, 4)
    assert_close(e + 1e-9, e, "values")
    assert_close(e * (1 + 5e-7), e, "values")
    assert_close([1.0, np.inf, -np.inf], [1.0, np.inf, -np.inf], "infinities")
    assert_close(2.0, 2.0 + 1e-10, "scalar")


def test_assert_close_fails_outside_tolerance():
    e = np.arange(12.0).reshape(3, 4)
    bad = e.copy()
    bad[2, 1] += 0.25
    with pytest.raises(AssertionError) as info:
        assert_close(bad, e, "the filtered means", hint="check the gain")
    msg = str(info.value)
    assert "the filtered means" in msg and "values differ" in msg
    assert "0.25" in msg and "Hint: check the gain" in msg
    with pytest.raises(AssertionError, match="values differ"):
        assert_close([1.0, np.inf], [1.0, -np.inf], "signs of infinities")
    with pytest.raises(AssertionError, match="values differ"):
        assert_close(1.0 + 1e-3, 1.0, "scalar", rtol=1e-4, atol=0)


def test_assert_close_shape_mismatch():
    with pytest.raises(AssertionError) as info:
        assert_close(np.zeros((4, 3)), np.zeros((3, 4)), "P")
    msg = str(info.value)
    assert "P" in msg and "expected shape (3, 4)" in msg and "got (4, 3)" in msg
    with pytest.raises(AssertionError, match=r"expected shape \(5,\), got \(5, 1\)"):
        assert_close(np.zeros((5, 1)), np.zeros(5), "x")


def test_assert_close_none_and_non_numbers_and_nan():
    with pytest.raises(AssertionError) as info:
        assert_close(None, np.zeros(3), "your result")
    assert "None" in str(info.value) and "return" in str(info.value)
    with pytest.raises(AssertionError, match="expected numbers, got dict"):
        assert_close({"a": 1}, np.zeros(3), "x")
    with pytest.raises(AssertionError, match="NaN"):
        assert_close([1.0, np.nan, 2.0], [1.0, 1.5, 2.0], "x")
    assert_close([1.0, np.nan], [1.0, np.nan], "NaN where NaN is expected")


def test_assert_shape():
    assert_shape(np.zeros((2, 5)), (2, 5), "X")
    with pytest.raises(AssertionError, match=r"X: expected shape \(5, 2\), got \(2, 5\)"):
        assert_shape(np.zeros((2, 5)), (5, 2), "X")


# -- without_reference ---------------------------------------------------------------
def _args():
    x = np.array([1.0, -0.5, 2.0])
    P = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    z = np.array([0.4, 1.7])
    H = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.5]])
    R = np.diag([0.5, 0.8])
    return x, P, z, H, R


def student_direct(x, P, z, H, R):
    return seqcourse.kalman.kalman_update(x, P, z, H, R)


def student_alias(x, P, z, H, R):
    return innocent_looking_name(x, P, z, H, R)


def student_inner_import(x, P, z, H, R):
    from seqcourse.kalman import kalman_update as ku

    return ku(x, P, z, H, R)


def student_class(x, P, z, H, R):
    kf = seqcourse.kalman.KalmanFilter(np.eye(3), H, np.eye(3), R, x, P)
    return kf.update(z)


def student_numpy(x, P, z, H, R):
    S = H @ P @ H.T + R
    K = P @ H.T @ np.linalg.inv(S)
    return x + K @ (z - H @ x), (np.eye(len(x)) - K @ H) @ P


@pytest.mark.parametrize("func", [student_direct, student_alias, student_inner_import,
                                  student_class])
def test_without_reference_detects_calls(func):
    guarded = without_reference(func, "seqcourse.kalman")
    with pytest.raises(AssertionError) as info:
        guarded(*_args())
    msg = str(info.value)
    assert func.__name__ in msg and "reference" in msg and "seqcourse.kalman" in msg
    assert "kalman.py" in msg


def test_without_reference_lets_numpy_solution_through():
    guarded = without_reference(student_numpy, "seqcourse.kalman")
    assert guarded.__name__ == "student_numpy"
    x_new, P_new = guarded(*_args())
    x_ref, P_ref = seqcourse.kalman.kalman_update(*_args())
    np.testing.assert_allclose(x_new, x_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(P_new, P_ref, rtol=1e-10, atol=1e-12)


def test_without_reference_other_module_not_flagged_and_profiler_restored():
    import sys

    from seqcourse.losses import softmax

    def student(v):
        return softmax(v)

    before = sys.getprofile()
    out = without_reference(student, "seqcourse.kalman")(np.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(out, [0.25, 0.75], rtol=1e-12)
    assert sys.getprofile() is before
    with pytest.raises(AssertionError):
        without_reference(student, "seqcourse.kalman", "seqcourse.losses")(np.zeros(3))
    assert sys.getprofile() is before


def test_without_reference_propagates_student_errors():
    def student():
        raise ZeroDivisionError("oops")

    import sys

    before = sys.getprofile()
    with pytest.raises(ZeroDivisionError, match="oops"):
        without_reference(student, "seqcourse.kalman")()
    assert sys.getprofile() is before
