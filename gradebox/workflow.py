"""The instructor's commands: grade a folder of submissions, and the command line.

    python -m gradebox release [ASSIGNMENT ...]   # solutions/ -> assignments/
    python -m gradebox grade SUBMISSIONS          # autograde, feedback, grades.csv, review.csv
    python -m gradebox grade SUBMISSIONS --shard i/n --db-url URL   # one shard of many
    python -m gradebox export [--db-url URL]     # grades.csv from the gradebook
    python -m gradebox validate NOTEBOOK          # a student's check, exit 1 on failure

An nbgrader *course root* holds ``nbgrader_config.py``, ``solutions/`` (the
source notebooks) and ``assignments/`` (the release).  Grading works on
``<submissions>/<student>/<assignment>/<notebook>.ipynb``.

Test cells are named ``<exercise>__<property>`` where ``<exercise>`` is the
grade id of the solution cell they test, so scores can be summed per exercise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from gradebox import batch
from gradebox.batch import Options, Outcome, grade_batch
from gradebox.course import export_grades, find_assignments, release, validate

__all__ = ["autograde", "generate_feedback", "grade", "main"]


def autograde(root: Path, assignment: str, submitted_dir: str = "submitted",
              options: Options | None = None) -> dict[str, Outcome]:
    """Autograde every student's submission of ``assignment``, safely and in parallel
    (see :mod:`gradebox.batch`); returns what happened to each one."""
    return grade_batch(root, assignment, Path(root) / submitted_dir, options)


def generate_feedback(root: Path, assignment: str, outcomes: dict[str, Outcome] | None = None,
                      options: Options | None = None) -> None:
    """Write feedback HTML into ``root/feedback/<student>/<assignment>/``, without the
    hidden tests (their code and their tracebacks)."""
    batch.generate_feedback(root, assignment, outcomes or {}, options)


def grade(root: Path, submissions: Path, out_csv: Path | None = None,
          options: Options | None = None) -> Path:
    """Autograde, write feedback and export grades for every assignment found in
    ``submissions`` (laid out as ``<student>/<assignment>/*.ipynb``).

    Next to the grades CSV, ``review.csv`` lists for the instructor what needs a
    look: ignored files, crashes and time-outs, sandbox refusals and suspicious
    constructs in answer cells.  Returns the path of the grades CSV.

    With ``options.shard = (i, n)``, only the i-th of n shards of the class is graded
    (into the gradebook ``options.db_url``); the review file is then
    ``review-shard-i-of-n.csv`` and no grades CSV is written (the other shards may
    still be running): export once all are done (``python -m gradebox export``).
    Returns the path of the grades CSV, or of the review file for a shard.
    """
    opts = options or Options()
    root, submissions = Path(root).resolve(), Path(submissions).resolve()
    if not submissions.is_dir():
        raise ValueError(f"submissions must be a folder <student>/<assignment>/*.ipynb, got {submissions}")
    known = set(find_assignments(root))
    found = sorted({p.parent.name for p in submissions.glob("*/*/*.ipynb")} & known)
    if not found:
        raise ValueError(f"no submission of a known assignment {sorted(known)} under {submissions}")
    out_csv = Path(out_csv or root / "grades.csv").resolve()
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    sharded = tuple(opts.shard) != (1, 1)
    review = out_csv.parent / ("review-shard-{}-of-{}.csv".format(*opts.shard) if sharded
                               else "review.csv")
    review.unlink(missing_ok=True)
    checked = batch.release_check_folder(opts.shard)
    for name in found:
        # records the tests in the gradebook (under its writer lock: shards take turns)
        release(root, [name], release_dir=checked, db_url=opts.db_url)
        outcomes = grade_batch(root, name, submissions, opts)
        generate_feedback(root, name, outcomes, opts)
        batch.write_review(review, name, outcomes)
        flagged = sorted(s for s, o in outcomes.items() if o.reason or o.review)
        if any(o.isolation and o.isolation != "bwrap" for o in outcomes.values()):
            print(f"{name}: WARNING: {batch.UNSAFE}", file=sys.stderr)
        print(f"{name}: {len(outcomes)} submissions graded; {len(flagged)} to review "
              f"({', '.join(flagged) if flagged else 'none'}): see {review}")
    shutil.rmtree(root / checked, ignore_errors=True)
    if sharded:
        review.touch()
        return review
    return export_grades(root, out_csv, opts.db_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradebox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_rel = sub.add_parser("release", help="regenerate assignments/ from solutions/")
    p_rel.add_argument("assignments", nargs="*")
    p_grade = sub.add_parser("grade", help="autograde a folder of submissions")
    p_grade.add_argument("submissions", type=Path)
    p_grade.add_argument("--csv", type=Path, default=None)
    p_grade.add_argument("--jobs", type=int, default=0,
                         help="submissions graded at once (default: one per CPU core)")
    p_grade.add_argument("--unsafe-no-sandbox", action="store_true",
                         help="grade even without bubblewrap: grades are NOT SAFE, a student "
                              "can read solutions and change grades (marked in review.csv)")
    p_grade.add_argument("--shard", default="1/1",
                         help="grade only the i-th of n deterministic shards of the class, "
                              "as i/n (default 1/1: everyone)")
    p_grade.add_argument("--db-url", default="",
                         help="the gradebook, as nbgrader's db_url (for example "
                              "postgresql://user@host/gradebook); default: gradebook.db")
    p_exp = sub.add_parser("export", help="write grades.csv from the gradebook")
    p_exp.add_argument("--csv", type=Path, default=None)
    p_exp.add_argument("--db-url", default="")
    p_val = sub.add_parser("validate", help="check a notebook before submitting it")
    p_val.add_argument("notebook", type=Path)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "release":
        print(release(args.root, args.assignments or None))
    elif args.command == "grade":
        opts = Options(jobs=args.jobs, allow_unsafe=args.unsafe_no_sandbox,
                       shard=batch.parse_shard(args.shard), db_url=args.db_url)
        csv_path = grade(args.root, args.submissions, args.csv, opts)
        if tuple(opts.shard) == (1, 1):
            print(f"grades written to {csv_path}")
        else:
            print(f"shard {args.shard} recorded in the gradebook; review: {csv_path}")
    elif args.command == "export":
        path = Path(args.csv or Path(args.root) / "grades.csv").resolve()
        print(f"grades written to {export_grades(Path(args.root), path, args.db_url)}")
    else:
        return 0 if validate(args.notebook) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
