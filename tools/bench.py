"""`make bench`: seconds to execute each notebook and to autograde a submission.

Timings are printed, never asserted: these machines are shared and noisy.
Compare ratios taken in the same run, not numbers across runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from gradinglib import make_course, source_notebook, submit  # noqa: E402

from seqcourse import grading  # noqa: E402


def time_notebook(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def time_grading(assignment: str, n_submissions: int) -> float:
    """Seconds per submission when autograding ``n_submissions`` copies of the solution."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_course(Path(tmp), assignment)
        grading.release(root, [assignment])
        src = source_notebook(root, assignment)
        nb = nbformat.read(src, as_version=4)
        for i in range(n_submissions):
            submit(root, f"student{i:03d}", assignment, nb, src.name)
        start = time.perf_counter()
        grading.autograde(root, assignment)
        return (time.perf_counter() - start) / n_submissions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=5, help="submissions per assignment")
    args = parser.parse_args()
    os.environ.setdefault("SEQCOURSE_DEVICE", "cpu")
    rows = []
    for folder in ("lectures", "solutions"):
        for path in sorted((REPO / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            rows.append((f"execute {path.relative_to(REPO)}", time_notebook(path)))
            print(f"  {rows[-1][0]}: {rows[-1][1]:.1f} s", flush=True)
    for name in grading.find_assignments(REPO):
        rows.append((f"autograde {name}, per submission ({args.submissions} graded)",
                     time_grading(name, args.submissions)))
        print(f"  {rows[-1][0]}: {rows[-1][1]:.1f} s", flush=True)
    width = max(len(r[0]) for r in rows)
    print(f"\n| {'what'.ljust(width)} | seconds |\n|{'-' * (width + 2)}|---------|")
    for what, sec in rows:
        print(f"| {what.ljust(width)} | {sec:7.1f} |")
    print(f"\n{os.cpu_count()} CPU cores; torch device: cpu (SEQCOURSE_DEVICE)")


if __name__ == "__main__":
    main()
