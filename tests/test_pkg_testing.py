"""seqcourse.testing: the friendly assertions of the autograded tests."""

from __future__ import annotations

import numpy as np
import pytest

import seqcourse.kalman
from seqcourse.kalman import kalman_update as innocent_looking_name
from seqcourse.testing import assert_close, assert_shape, assert_unchanged, without_reference


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


# -- assert_unchanged ----------------------------------------------------------------
def normalise_in_place(A, weights):
    A /= A.sum(axis=1, keepdims=True)
    return A


def normalise_copy(A, weights):
    A = np.array(A, dtype=float)
    return A / A.sum(axis=1, keepdims=True)


def test_assert_unchanged_returns_the_result_of_a_clean_call():
    A = np.arange(1.0, 13.0).reshape(3, 4)
    out = assert_unchanged(normalise_copy, A, {"w": [np.ones(2), 3]})
    np.testing.assert_allclose(out.sum(axis=1), np.ones(3))
    np.testing.assert_array_equal(A, np.arange(1.0, 13.0).reshape(3, 4))
    assert assert_unchanged(lambda x, k=2: x * k, np.array([np.nan, 1.0]), k=3)[1] == 3.0


def test_assert_unchanged_names_the_argument_and_the_entry():
    A = np.arange(1.0, 13.0).reshape(3, 4)
    with pytest.raises(AssertionError) as info:
        assert_unchanged(normalise_in_place, A, None)
    msg = str(info.value)
    assert "normalise_in_place changed its inputs" in msg
    assert "`A` (argument 1)" in msg and "12 of its 12 entries changed" in msg
    assert "index (0, 0)" in msg and "Hint" in msg and "copies" in msg


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["B"].__setitem__((1, 2), 7.0), "entry ['B']: 1 of its 6 entries changed, first at index (1, 2)"),
    (lambda d: d["seqs"].append(np.zeros(2)), "entry ['seqs']: its length changed from 2 to 3"),
    (lambda d: d["seqs"][1].__setitem__(0, 9), "entry ['seqs']: item [1]: 1 of its 3 entries"),
    (lambda d: d.pop("B"), "its keys changed"),
    (lambda d: d.__setitem__("k", 4), "entry ['k']: it changed from 3 to 4"),
])
def test_assert_unchanged_looks_inside_dicts_and_lists(change, expected):
    data = {"B": np.zeros((2, 3)), "seqs": [np.arange(2), np.arange(3)], "k": 3}

    def student(d, *, scale=1.0):
        change(d)

    with pytest.raises(AssertionError) as info:
        assert_unchanged(student, data, scale=2.0)
    assert expected in str(info.value)


def test_assert_unchanged_keyword_arguments_dtype_and_shape():
    def cast(x, *, out):
        out.resize(4, refcheck=False)

    with pytest.raises(AssertionError, match=r"`out` \(keyword argument\): its shape changed"):
        assert_unchanged(cast, 1, out=np.zeros(2))
    with pytest.raises(AssertionError, match=r"nan\)? became (np.float64\()?0.0"):
        assert_unchanged(lambda x: x.__setitem__(1, 0.0), np.array([1.0, np.nan]))


def test_assert_unchanged_tensors():
    import torch

    w = torch.ones(3, 2, dtype=torch.float64)
    assert_unchanged(lambda t: t * 2, w)
    with pytest.raises(AssertionError, match="1 of its 6 entries changed"):
        assert_unchanged(lambda t: t[0].__setitem__(1, 5.0), w)


def test_assert_unchanged_sees_through_without_reference():
    guarded = without_reference(normalise_in_place, "seqcourse.kalman")
    with pytest.raises(AssertionError, match=r"normalise_in_place changed its inputs(.|\n)*`A`"):
        assert_unchanged(guarded, np.ones((2, 2)), None)


def test_assert_unchanged_through_the_grading_sandbox(tmp_path):
    """In the sandbox the tests only send copies: the check runs in the student's process."""
    try:
        from gradebox.client import Remote, Sandbox
        from gradebox.policy import Limits, Policy
    except ImportError:   # before the grading engine became its own package
        from seqcourse.sandbox.client import Remote, Sandbox
        from seqcourse.sandbox.policy import Limits, Policy

    box = Sandbox(Policy(scratch=str(tmp_path / "scratch")), Limits(call_seconds=20))
    box.start()
    try:
        reply = box.request({"op": "exec", "protected": [], "source":
                             "import numpy as np\n"
                             "def bad(A, seqs):\n    A /= 2\n    seqs.append(1)\n    return A.sum()\n"
                             "def good(A, seqs):\n    return np.asarray(A).sum() + len(seqs)\n"}, "test")
        bad, good = reply["names"]["bad"], reply["names"]["good"]
        assert isinstance(bad, Remote)
        A = np.arange(6.0).reshape(2, 3)
        assert assert_unchanged(good, A, [1, 2]) == 17.0
        with pytest.raises(AssertionError) as info:
            assert_unchanged(without_reference(bad, "seqcourse.kalman"), A, [0])
        msg = str(info.value)
        assert "argument 1: 5 of its 6 entries changed" in msg
        assert "argument 2: its length changed from 1 to 2" in msg
        np.testing.assert_array_equal(A, np.arange(6.0).reshape(2, 3))
    finally:
        box.close()
