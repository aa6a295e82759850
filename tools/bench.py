"""`make bench`: seconds to execute each notebook, to autograde a submission, to grade
a class of 100 (plain serial nbgrader against gradebox's sandboxed, parallel grading
with warm grading processes, in the same run, with the ratio and the CPU seconds of each), and
the HMM algorithms against hmmlearn.

    python tools/bench.py --only-class      # just the class comparison

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

from gradinglib import (fixtures, make_course, source_notebook, submit,  # noqa: E402
                        with_answers)

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


def make_class(root: Path, assignment: str, size: int) -> None:
    """``size`` submissions: in turn the solution, the solution with one wrong answer per
    exercise (the assignment's wrong fixtures, cycled) and the untouched release."""
    src = source_notebook(root, assignment)
    solution = nbformat.read(src, as_version=4)
    empty = nbformat.read(root / "assignments" / assignment / src.name, as_version=4)
    by_cell: dict[str, list] = {}
    for fx in fixtures(assignment, "wrong"):
        by_cell.setdefault(fx.cell, []).append(fx)
    rounds = max((len(v) for v in by_cell.values()), default=0)
    for i in range(size):
        kind = i % 3
        if kind == 0 or not rounds:
            nb = solution if kind != 2 else empty
        elif kind == 1:
            k = (i // 3) % rounds
            nb = with_answers(solution, {c: v[k % len(v)].source for c, v in by_cell.items()})
        else:
            nb = empty
        submit(root, f"student{i:03d}", assignment, nb, src.name)


def _cpu() -> float:
    """CPU seconds of this process and every finished descendant (kernels forked by a
    template are reaped by it, and it by us, so they count)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _machine_cpu() -> float:
    """CPU seconds the whole machine spent busy so far (Linux ``/proc/stat``), or nan.
    Unlike :func:`_cpu` it also counts processes nobody waits for (a sandboxed student
    process whose bubblewrap parent was killed), and whatever else the machine runs:
    compare it on a quiet machine."""
    try:
        with open("/proc/stat") as fh:
            ticks = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def time_class(assignment: str, size: int, serial_check: bool = True) -> dict[str, float]:
    """Grade a class of ``size`` (see make_class) in the same run on the same
    submissions: plain serial ``nbgrader autograde``, then gradebox (sandboxed,
    parallel, warm grading processes); wall and CPU seconds of each.  With ``serial_check``,
    gradebox grades the class once more on one job, and its scores are compared with
    the parallel run's (they must be identical)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_course(Path(tmp), assignment)
        grading.release(root, [assignment])
        make_class(root, assignment, size)
        out: dict[str, float] = {}
        runs = [("plain", lambda: _plain(root, assignment)),
                ("ours", lambda: grading.autograde(root, assignment))]
        if serial_check:
            runs.append(("serial", lambda: grading.autograde(
                root, assignment, options=grading.Options(jobs=1))))
        scores = {}
        for label, run in runs:
            cpu, busy, start = _cpu(), _machine_cpu(), time.perf_counter()
            run()
            out[label] = time.perf_counter() - start
            out[label + "_cpu"] = _cpu() - cpu
            out[label + "_machine"] = _machine_cpu() - busy
            scores[label] = _totals(grading.cell_scores(root, assignment))
            print(f"  class of {size}: {label}: {out[label]:.1f} s wall, "
                  f"{out[label + '_cpu']:.1f} CPU s of its processes, "
                  f"{out[label + '_machine']:.1f} CPU s of the machine", flush=True)
        if serial_check:
            out["same_scores"] = float(scores["ours"] == scores["serial"])
            diff = sorted(s for s in scores["ours"] if scores["ours"][s] != scores["serial"].get(s))
            if diff:
                print(f"  parallel and serial scores differ for {diff[:10]}")
        return out


def _plain(root: Path, assignment: str) -> None:
    """nbgrader's own autograde; it exits 1 when it cannot record some notebooks (a
    test cell whose value it reads as more than its points), after executing all."""
    try:
        grading.plain_autograde(root, assignment)
    except RuntimeError as err:
        failed = str(err).count("There was an error processing assignment")
        print(f"  (plain nbgrader could not record {failed} submissions: "
              f"{str(err).splitlines()[0][:80]}...)")


def _totals(scores: list) -> dict[str, float]:
    totals: dict[str, float] = {}
    for s in scores:
        totals[s.student] = round(totals.get(s.student, 0.0) + s.score, 6)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=5, help="submissions per assignment")
    parser.add_argument("--class-size", type=int, default=100,
                        help="submissions in the parallel-versus-serial grading comparison")
    parser.add_argument("--class-assignment", default="hw01_sequences")
    parser.add_argument("--no-serial-check", action="store_true",
                        help="skip grading the class a third time, serially, to compare scores")
    parser.add_argument("--only-class", action="store_true",
                        help="only the class comparison (plain nbgrader against gradebox)")
    args = parser.parse_args()
    os.environ.setdefault("SEQCOURSE_DEVICE", "cpu")
    rows = []
    for folder in (() if args.only_class else ("lectures", "solutions")):
        for path in sorted((REPO / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            rows.append((f"execute {path.relative_to(REPO)}", time_notebook(path)))
            print(f"  {rows[-1][0]}: {rows[-1][1]:.1f} s", flush=True)
    for name in ([] if args.only_class else grading.find_assignments(REPO)):
        rows.append((f"autograde {name}, per submission ({args.submissions} graded)",
                     time_grading(name, args.submissions)))
        print(f"  {rows[-1][0]}: {rows[-1][1]:.1f} s", flush=True)
    if args.class_size:
        res = time_class(args.class_assignment, args.class_size, not args.no_serial_check)
        plain, ours = res["plain"], res["ours"]
        label = f"grade {args.class_size} x {args.class_assignment}"
        rows += [(f"{label}: plain nbgrader autograde (serial, unsandboxed)", plain),
                 (f"{label}: plain nbgrader autograde, CPU seconds", res["plain_cpu"]),
                 (f"{label}: gradebox (sandboxed, {os.cpu_count()} jobs, warm grading processes)", ours),
                 (f"{label}: gradebox, CPU seconds", res["ours_cpu"]),
                 (f"{label}: plain nbgrader, busy CPU seconds of the machine", res["plain_machine"]),
                 (f"{label}: gradebox, busy CPU seconds of the machine", res["ours_machine"]),
                 (f"{label}: ratio plain / gradebox (wall)", plain / ours)]
    try:
        if not args.only_class:
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
        print(f"\nclass of {args.class_size}: gradebox {ours:.1f} s, plain nbgrader {plain:.1f} s: "
              f"{plain / ours:.2f} times faster (busy CPU seconds of the machine "
              f"{res['ours_machine']:.0f} against {res['plain_machine']:.0f}; of the processes it "
              f"waited for {res['ours_cpu']:.0f} against {res['plain_cpu']:.0f}: sandboxed "
              "student processes are reaped by their namespace, not by the batch)" + ("" if "same_scores" not in res else
              "; scores " + ("identical to" if res["same_scores"] else "DIFFERENT from") +
              " a serial gradebox run (one job)"))
    print(f"\n{os.cpu_count()} CPU cores; torch device: cpu (SEQCOURSE_DEVICE)")


if __name__ == "__main__":
    main()
