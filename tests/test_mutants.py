"""tools/mutants.py: the mutation score of the graders (how many wrong answers they catch)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import mutants  # noqa: E402

# Scores measured when these graders were last improved; a change to the tests or the
# solutions that lets more wrong answers through fails here. Cheap exercises only.
RECORDED = {"hw01_sequences:kalman_step": 1.0, "hw03_rnn:rnn_step_forward": 1.0}


def _cell(body: str) -> mutants.Cell:
    src = "def f(A, x, n):\n    \"\"\"doc\"\"\"\n    ### BEGIN SOLUTION\n" + body + "    ### END SOLUTION\n"
    stripped, span = mutants._strip_markers(src)
    return mutants.Cell("answer", "f", stripped, span)


def test_the_mutator_makes_every_kind_of_mutant_inside_the_solution_only():
    cell = _cell("    A = np.array(A)\n    s = 0.0\n    for i in range(n):\n        s = s + A.T[i] * 2\n"
                 "    if x < n:\n        s -= 1\n    return s\n")
    found = mutants.mutants(cell)
    kinds = {m.operator for m in found}
    assert {"arith", "compare", "range", "transpose", "in-place", "no-copy", "constant",
            "drop-term", "index", "drop-update"} <= kinds, kinds
    assert all(m.line >= 4 for m in found), "the def line and docstring are the student's, not mutated"
    assert len({m.id for m in found}) == len(found), "mutant ids are unique"
    assert len({m.source for m in found}) == len(found), "no two mutants are the same program"
    assert [m.id for m in mutants.mutants(cell)] == [m.id for m in found], "ids are stable"


def test_an_endless_loop_is_caught_by_the_time_limit():
    tests = [mutants.Cell("test", "f__t", "assert f(1) == 1\n")]
    out = mutants.run_forked("def f(x):\n    while True:\n        pass\n", [], tests, {}, seconds=1.0)
    assert out.status == "timeout"
    out = mutants.run_forked("def f(x):\n    return x\n", [], tests, {}, seconds=5.0)
    assert out.status == "survived"
    out = mutants.run_forked("def f(x):\n    return x + 1\n", [], tests, {}, seconds=5.0)
    assert out.status == "caught" and out.failed == ["f__t"]


def test_an_answer_changing_its_inputs_is_caught_only_by_the_inputs_check():
    """The runner sends copies, as the grading sandbox does."""
    answer = "def f(a):\n    a[0] = 5\n    return a.sum()\n"
    plain = [mutants.Cell("test", "f__value", "import numpy as np\nv = np.ones(3)\nassert f(v) == 7\nassert v[0] == 1\n")]
    assert mutants.run_forked(answer, [], plain, {}, seconds=10.0).status == "survived"
    check = [mutants.Cell("test", "f__inputs", "import numpy as np\nfrom seqcourse.testing import assert_unchanged\n"
                                                "assert_unchanged(f, np.ones(3))\n")]
    out = mutants.run_forked(answer, [], check, {}, seconds=10.0)
    assert out.status == "caught" and "changed its inputs" in out.message


@pytest.mark.parametrize("target", sorted(RECORDED))
def test_mutation_score_has_not_dropped(target, tmp_path):
    status = mutants.main([target, "--out", str(tmp_path), "--seconds", "20"])
    (report,) = json.loads((tmp_path / "report.json").read_text())
    assert report["mutants"] >= 10 and not report["baseline_failures"]
    assert report["score"] >= RECORDED[target] - 1e-9, (
        f"{target} now catches {report['caught']} of {report['mutants'] - report['equivalent']} mutants "
        f"({report['score']:.1%}), recorded {RECORDED[target]:.1%}; survivors: {report['survivors']}")
    assert status == 0


def test_every_recorded_equivalent_mutant_has_a_reason():
    for hw, exercises in mutants.equivalents().items():
        for exercise, ids in exercises.items():
            for mid, why in ids.items():
                assert len(why) > 15, f"{hw}:{exercise} {mid} needs a reason why it is equivalent"
