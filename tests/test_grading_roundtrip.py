"""nbgrader round trips for every assignment in solutions/.

One autograde run per assignment grades: the solution notebook (full marks),
the untouched release (zero), rounds of known-wrong answers (less than full
marks on exactly the exercise they break), and answers that call the course's
reference implementation, or for hw05 torch where numpy is asked for (zero on that
exercise, in every round of such answers).
"""

from __future__ import annotations

import json

import nbformat
import pytest

from gradinglib import REPO, fixtures, grade_ids, make_course, run_round_trip
import gradebox as grading

ASSIGNMENTS = grading.find_assignments(REPO)
pytestmark = pytest.mark.slow


def test_there_are_assignments():
    assert "hw01_sequences" in ASSIGNMENTS


_TRIPS: dict = {}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def trip(request, tmp_path_factory):
    """One autograde run per assignment, kept for the whole module (pytest does not group
    the directly and the indirectly parametrized tests by assignment)."""
    if request.param not in _TRIPS:
        _TRIPS[request.param] = run_round_trip(tmp_path_factory.mktemp(request.param),
                                               request.param)
    return _TRIPS[request.param]


def _normalised(path):
    nb = nbformat.read(path, as_version=4)
    return json.dumps(nb, sort_keys=True, indent=1)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_in_sync_with_solutions(assignment, tmp_path):
    """assignments/ is exactly what nbgrader generate_assignment makes today."""
    root = make_course(tmp_path, assignment)
    fresh = grading.release(root, [assignment]) / assignment
    committed = REPO / "assignments" / assignment
    assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in committed.iterdir()), \
        "the release folder holds different files: run `make release` and commit assignments/"
    for nb in fresh.glob("*.ipynb"):
        assert _normalised(nb) == _normalised(committed / nb.name), \
            f"{committed / nb.name} is stale: run `make release` and commit assignments/"


def test_release_hides_solutions_and_hidden_tests(trip):
    released = (trip.root / "assignments" / trip.assignment).glob("*.ipynb")
    for path in released:
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "from seqcourse.kalman import kalman_predict"):
            assert marker not in text, f"{marker!r} leaked into the student release {path.name}"


def test_solution_gets_full_marks(trip):
    cells = trip.cells("solution")
    auto = [c for c in cells.values() if "__" in c.cell]
    assert auto, "no autograded cell was recorded for the solution"
    lost = {c.cell: (c.score, c.max_score) for c in auto if c.score < c.max_score}
    assert not lost, f"the solution lost points on {lost}"


def test_enough_exercises_and_a_written_answer(trip):
    exercises = trip.exercises("solution")
    assert len(exercises) >= 4, f"expected at least 4 autograded exercises, got {sorted(exercises)}"
    manual = [c for c in trip.cells("solution").values() if c.needs_manual_grade]
    assert manual, "expected a manually graded written answer"


def test_every_test_cell_is_named_after_an_exercise(trip):
    source = nbformat.read(next((REPO / "solutions" / trip.assignment).glob("*.ipynb")), as_version=4)
    answers = set(grade_ids(source, solution=True))
    for test_id in grade_ids(source, solution=False):
        assert test_id.split("__")[0] in answers, \
            f"test cell {test_id!r} must be named '<exercise>__<property>' after an answer cell"


def test_untouched_release_gets_zero(trip):
    cells = trip.cells("untouched")
    assert cells, "the untouched release was not graded (did autograde crash?)"
    scored = {c.cell: c.score for c in cells.values() if c.score > 0}
    assert not scored, f"an empty answer earned points: {scored}"


def test_each_exercise_has_wrong_answer_and_reference_fixtures(trip):
    exercises = set(trip.exercises("solution"))
    wrong = {fx.cell for fx in fixtures(trip.assignment, "wrong")}
    reference = {fx.cell for fx in fixtures(trip.assignment, "reference")}
    assert exercises <= wrong, f"exercises without a wrong-answer fixture: {exercises - wrong}"
    assert exercises <= reference, f"exercises without a reference-calling fixture: {exercises - reference}"


def _wrong_cases():
    return [(a, fx.name) for a in ASSIGNMENTS for fx in fixtures(a, "wrong")]


@pytest.mark.parametrize("trip,fixture_name", _wrong_cases(), indirect=["trip"])
def test_wrong_answer_loses_marks_on_its_exercise(trip, fixture_name):
    student, fx = next((s, f) for s, fs in trip.wrong_rounds.items() for f in fs if f.name == fixture_name)
    cells = trip.cells(student)
    score, best = trip.exercises(student)[fx.cell]
    assert score < best, f"{fx.name} ({fx.why}) got full marks on {fx.cell}"
    failed = {c for c, s in cells.items() if s.exercise == fx.cell and s.score < s.max_score}
    assert set(fx.expect_fail) <= failed, \
        f"{fx.name}: expected {fx.expect_fail} to fail, but only {sorted(failed)} did"
    passed_elsewhere = {c: s.score for c, s in cells.items()
                        if "__" in c and s.exercise not in {f.cell for f in trip.wrong_rounds[student]}
                        and s.score < s.max_score}
    assert not passed_elsewhere, f"untouched exercises lost marks in {student}: {passed_elsewhere}"


def _reference_cases():
    return [(a, fx.name) for a in ASSIGNMENTS for fx in fixtures(a, "reference")]


@pytest.mark.parametrize("trip,fixture_name", _reference_cases(), indirect=["trip"])
def test_calling_the_reference_implementation_scores_zero(trip, fixture_name):
    """Each reference fixture (the course's package, or for hw05 torch's LSTM/GRU where numpy
    is asked for) scores zero on its exercise; the other exercises of its round keep full marks."""
    student, fx = next((s, f) for s, fs in trip.reference_rounds.items() for f in fs if f.name == fixture_name)
    score, best = trip.exercises(student)[fx.cell]
    assert best > 0 and score == pytest.approx(0.0, abs=1e-9), \
        f"{fx.name} ({fx.why}) earned {score}/{best} on {fx.cell}"
    covered = {f.cell for f in trip.reference_rounds[student]}
    lost = {ex: (s, b) for ex, (s, b) in trip.exercises(student).items() if ex not in covered and s < b}
    assert not lost, f"exercises without a reference answer lost marks in {student}: {lost}"
