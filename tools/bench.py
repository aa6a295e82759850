"""`make bench`: seconds to execute each notebook, to autograde a submission, to grade
a class of 50 (plain nbgrader against seqcourse's sandboxed parallel grading), and
the HMM algorithms against hmmlearn.

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
sys.path.insert(0, str(REPO / "tools"))

from gradinglib import make_course, source_notebook, submit  # noqa: E402

import gradebox as grading  # noqa: E402


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


def time_class(assignment: str, size: int) -> tuple[float, float]:
    """Seconds to grade a class of ``size`` submissions (alternately the solution and the
    untouched release): plain serial ``nbgrader autograde`` and seqcourse's sandboxed,
    parallel grading, in the same run on the same submissions."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_course(Path(tmp), assignment)
        grading.release(root, [assignment])
        src = source_notebook(root, assignment)
        notebooks = [nbformat.read(src, as_version=4),
                     nbformat.read(root / "assignments" / assignment / src.name, as_version=4)]
        for i in range(size):
            submit(root, f"student{i:03d}", assignment, notebooks[i % 2], src.name)
        start = time.perf_counter()
        grading.plain_autograde(root, assignment)
        plain = time.perf_counter() - start
        start = time.perf_counter()
        grading.autograde(root, assignment)
        ours = time.perf_counter() - start
        return plain, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=5, help="submissions per assignment")
    parser.add_argument("--class-size", type=int, default=50,
                        help="submissions in the parallel-versus-serial grading comparison")
    parser.add_argument("--class-assignment", default="hw01_sequences")
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
    if args.class_size:
        plain, ours = time_class(args.class_assignment, args.class_size)
        label = f"grade {args.class_size} x {args.class_assignment}"
        rows += [(f"{label}: plain nbgrader autograde (serial, unsandboxed)", plain),
                 (f"{label}: seqcourse grading (sandboxed, {os.cpu_count()} jobs)", ours)]
        print(f"  {rows[-2][0]}: {plain:.1f} s\n  {rows[-1][0]}: {ours:.1f} s", flush=True)
    try:
        import bench_hmm
        rows += bench_hmm.rows()
    except ImportError as err:
        print(f"  (HMM benchmark skipped: {err})")
    width = max(len(r[0]) for r in rows)
    print(f"\n| {'what'.ljust(width)} | seconds |\n|{'-' * (width + 2)}|---------|")
    for what, sec in rows:
        print(f"| {what.ljust(width)} | {sec:7.3f} |" if "ratio" not in what
              else f"| {what.ljust(width)} | {sec:6.2f}x |")
    if args.class_size:
        print(f"\nsandboxed parallel / plain serial grading time: {ours / plain:.2f}")
    print(f"\n{os.cpu_count()} CPU cores; torch device: cpu (SEQCOURSE_DEVICE)")


if __name__ == "__main__":
    main()
