"""Build nbgrader round trips for the tests: a course root in a temporary
folder, submissions made from the solution notebook with some answer cells
swapped for fixture code, one autograde run for all of them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import gradebox as grading

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Fixture:
    """Replacement source for one answer cell, read from a fixture file.

    The header lines ``# cell: ID``, ``# expect-fail: TEST [TEST ...]`` and
    ``# why: ...`` describe it; the rest of the file is the cell's new source.
    """

    name: str
    cell: str
    expect_fail: list[str]
    why: str
    source: str

    @classmethod
    def read(cls, path: Path) -> "Fixture":
        header, body = {}, []
        for line in path.read_text().splitlines():
            key = line[2:].split(":", 1)[0] if line.startswith("# ") else None
            if not body and key in ("cell", "expect-fail", "why"):
                header[key] = line.split(":", 1)[1].strip()
            else:
                body.append(line)
        return cls(path.stem, header["cell"], header.get("expect-fail", "").split(),
                   header.get("why", ""), "\n".join(body).strip() + "\n")


def fixtures(assignment: str, kind: str) -> list[Fixture]:
    return [Fixture.read(p) for p in sorted((FIXTURES / assignment / kind).glob("*.py"))]


def fixture_rounds(found: list[Fixture], kind: str) -> dict[str, list[Fixture]]:
    """``{student: fixtures}``: round i holds the i-th fixture (by file name) of every answer
    cell that has one. Wrong rounds are ``wrong00, wrong01...``; the first reference round is
    ``reference`` (every cell's plain call into the course's package), later ones
    ``reference01, reference02...`` (other ways of not writing the algorithm)."""
    by_cell: dict[str, list[Fixture]] = {}
    for fx in found:
        by_cell.setdefault(fx.cell, []).append(fx)
    rounds = {}
    for i in range(max((len(v) for v in by_cell.values()), default=0)):
        name = "reference" if kind == "reference" and i == 0 else f"{kind}{i:02d}"
        rounds[name] = [v[i] for v in by_cell.values() if i < len(v)]
    return rounds


def source_notebook(root: Path, assignment: str) -> Path:
    (nb,) = sorted((root / "solutions" / assignment).glob("*.ipynb"))
    return nb


def grade_ids(nb: nbformat.NotebookNode, *, solution: bool) -> list[str]:
    ids = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") == solution and (solution or meta.get("grade")):
            ids.append(meta["grade_id"])
    return ids


def with_answers(nb: nbformat.NotebookNode, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose answer cells named in ``replacements`` get new source."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in replacements:
            cell.source = replacements[gid]
    return nb


@dataclass
class RoundTrip:
    """Everything one autograde run of one assignment produced."""

    root: Path
    assignment: str
    scores: list[grading.CellScore]
    wrong_rounds: dict[str, list[Fixture]] = field(default_factory=dict)
    reference_rounds: dict[str, list[Fixture]] = field(default_factory=dict)

    def cells(self, student: str) -> dict[str, grading.CellScore]:
        return {s.cell: s for s in self.scores if s.student == student}

    def exercises(self, student: str) -> dict[str, tuple[float, float]]:
        return grading.exercise_scores(self.scores, student)


def make_course(tmp: Path, assignment: str) -> Path:
    """A throw-away course root holding the config and one assignment's source."""
    root = tmp / "course"
    shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


def submit(root: Path, student: str, assignment: str, nb: nbformat.NotebookNode, name: str) -> None:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)


def run_round_trip(tmp: Path, assignment: str) -> RoundTrip:
    """Release, submit every case, autograde them all in one nbgrader run."""
    root = make_course(tmp, assignment)
    grading.release(root, [assignment])
    src_path = source_notebook(root, assignment)
    source = nbformat.read(src_path, as_version=4)
    released = nbformat.read(root / "assignments" / assignment / src_path.name, as_version=4)
    submit(root, "solution", assignment, source, src_path.name)
    submit(root, "untouched", assignment, released, src_path.name)
    # Fixtures for different exercises are independent, so one submission can
    # carry one answer per exercise: round i holds the i-th fixture of each cell.
    rounds = {kind: fixture_rounds(fixtures(assignment, kind), kind) for kind in ("wrong", "reference")}
    for student, chosen in {**rounds["wrong"], **rounds["reference"]}.items():
        submit(root, student, assignment,
               with_answers(source, {fx.cell: fx.source for fx in chosen}), src_path.name)
    # The round trip checks the graders, not the sandbox (test_grading_safety does):
    # it runs under bubblewrap where there is one, and also on a machine without.
    grading.autograde(root, assignment, options=grading.Options(allow_unsafe=True))
    return RoundTrip(root, assignment, grading.cell_scores(root, assignment), rounds["wrong"],
                     rounds["reference"])
