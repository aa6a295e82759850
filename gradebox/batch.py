"""Autograde a batch of submissions safely and in parallel.

Phase 1, in parallel (one job per student, each in a private work folder): take
only the expected notebook from the submission and run it with
``python -m gradebox.execute`` (the notebook rebuilt from the source,
answer cells in a sandboxed student process, tests in the kernel) under an
outer wall-clock limit.  Whatever happens, the job ends with an executed
notebook in which every test cell shows a verdict: if a cell could not run
(crash, timeout, broken notebook), it gets an error output that says why.

Start-up is paid once per batch: every job's grading process is forked from
one warm template that has imported the instructor's modules and runs the
cells itself, without a Jupyter kernel (:mod:`gradebox.warm`); each student
process is still a fresh one in its own sandbox.

Phase 2, in the real course: record the executed notebooks in the gradebook,
in this process (:func:`gradebox.recording.record_batch`: what ``nbgrader
autograde`` minus its Execute step does, with nbgrader's own scoring; locked
cells are checked again), one transaction per notebook, so the gradebook sees one
writer per batch and the result does not depend on the order the jobs finished in.

Sharding (``Options.shard = (i, n)``): the batch grades only the students of
its shard (:func:`shard_of`, a hash of the student id: deterministic, the same
on every machine) against the gradebook ``Options.db_url``, in its own work
folder, so that n batches can run at once on one or many machines.

Then feedback is generated from copies with the hidden tests taken out, and
a review report lists, per student, ignored files, sandbox refusals, crashes
and suspicious constructs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from gradebox.course import nbgrader, tool_env
from gradebox.execute import (canonical, cell_roles, error_output, grade_id,
                              reserved_names, role_of, tool_names)
from gradebox.client import student_packages
from gradebox.policy import (Limits, Policy, default_allow_read, isolation_prefix,
                             reference_files, stage_library)
from gradebox.review import scan_notebook
from gradebox.warm import GradingTemplate, preload_modules

WORK = ".grading"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
REPO = Path(__file__).resolve().parents[1]   # this repository, when gradebox runs from it


@dataclass
class Options:
    """How a batch is graded; see README, "Grading safely"."""

    jobs: int = 0                        # parallel jobs; 0 means one per CPU core
    limits: Limits = field(default_factory=Limits)
    submission_seconds: float = 900.0    # outer wall-clock limit of one submission
    isolation: str = "auto"              # auto | bwrap | unshare | none
    allow_unsafe: bool = False           # grade even without an OS sandbox (grades not safe)
    warm: bool = True                    # fork grading processes from a warm template (gradebox.warm)
    shard: tuple[int, int] = (1, 1)      # grade only shard i of n (see shard_of)
    db_url: str = ""                     # the gradebook; "" means the course's gradebook.db


def shard_of(student: str, n: int) -> int:
    """The shard (1..n) a student belongs to: a hash of the id, so every machine
    computes the same split without seeing the others' folders."""
    if n < 1:
        raise ValueError(f"the number of shards must be at least 1, got {n}")
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % n + 1


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` (1 <= i <= n) as ``(i, n)``; ValueError naming what was expected."""
    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise ValueError(f"SHARD must look like i/n (for example 2/8), got {text!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"SHARD i/n needs 1 <= i <= n, got {text!r}")
    return i, n


def work_folder(root: Path, assignment: str, shard: tuple[int, int]) -> Path:
    """Where one batch keeps its jobs: one folder per shard, so shards never meet."""
    name = assignment if tuple(shard) == (1, 1) else f"{assignment}.shard-{shard[0]}-of-{shard[1]}"
    return Path(root) / WORK / name


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    notebook: str | None = None
    reason: str = ""                      # why some or all of it could not be graded
    review: list[str] = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = ""


def forbidden_modules(source_nb: NotebookNode) -> list[str]:
    """The reference modules the tests guard with ``without_reference(f, "package.module")``."""
    names = set()
    for cell in source_nb.cells:
        if cell.cell_type == "code":
            for call in re.findall(r"without_reference\(([^)]*)\)", cell.source):
                names.update(re.findall(r"""["']([A-Za-z_]\w*(?:\.\w+)+)["']""", call))
    return sorted(names)


UNSAFE = ("grades NOT SAFE: no OS sandbox (bubblewrap) on this machine, student code ran "
          "with only the audit hook, which does not stop a determined student")


class NoSandbox(RuntimeError):
    """Grading was asked for without an OS sandbox and without saying grades are unsafe."""


def _source_notebooks(root: Path, assignment: str) -> dict[str, NotebookNode]:
    return {p.name: nbformat.read(p, as_version=4)
            for p in sorted((root / "solutions" / assignment).glob("*.ipynb"))}


# --------------------------------------------------------------------------- phase 1

def release_check_folder(shard: tuple[int, int] = (1, 1)) -> str:
    """Where ``grade`` regenerates the release (recording the tests in the gradebook):
    one folder per shard, so that shards sharing a course folder never meet."""
    return ".release-check" if tuple(shard) == (1, 1) else \
        f".release-check.shard-{shard[0]}-of-{shard[1]}"


def released_cells(root: Path, assignment: str, name: str,
                   shard: tuple[int, int] = (1, 1)) -> dict[str, str]:
    """``{grade_id: text}`` of the nbgrader cells as released to students (answer stubs,
    test cells without their hidden part)."""
    for folder in (release_check_folder(shard), "assignments"):
        path = Path(root) / folder / assignment / name
        if path.is_file():
            nb = nbformat.read(path, as_version=4)
            return {grade_id(c): c.source for c in nb.cells if grade_id(c)}
    return {}


def _job(work: Path, student: str, nb_path: Path, plan: dict, policy: Policy,
         opts: Options, template: GradingTemplate | None = None) -> Outcome:
    start = time.perf_counter()
    job = work / "jobs" / student
    if job.exists():
        shutil.rmtree(job)
    (job / "run").mkdir(parents=True)
    submitted = job / "submitted.ipynb"
    shutil.copy(nb_path, submitted)
    (job / "scratch").mkdir()
    os.chmod(job / "scratch", 0o777)
    report = job / "sandbox.json"
    job_policy = Policy.from_dict({**policy.to_dict(), "scratch": str(job / "scratch")})
    plan_path = job / "plan.json"
    plan_path.write_text(json.dumps({**plan, "policy": job_policy.to_dict(),
                                     "limits": vars(opts.limits), "report": str(report)}))
    executed = job / "run" / nb_path.name
    argv = [str(plan_path), str(submitted), str(executed)]
    if template is not None and template.socket:
        log_path = job / "grading.log"
        code = template.grade(argv, str(executed.parent), str(log_path), opts.submission_seconds)
        log = log_path.read_text(errors="replace") if log_path.is_file() else ""
        if code == -9:
            log += f"\n[stopped after the limit of {opts.submission_seconds:g} s]"
    else:
        from gradebox.execute import BOOT

        code, log = _run([sys.executable, "-c", BOOT, *argv], job, opts.submission_seconds)
    out = Outcome(student)
    shutil.rmtree(job / "scratch", ignore_errors=True)
    try:
        theirs = nbformat.read(submitted, as_version=4)
    except Exception as err:  # noqa: BLE001 - a broken file is the student's problem, not ours
        theirs = nbformat.v4.new_notebook()
        out.reason = f"the submitted file is not a readable notebook ({type(err).__name__})"
    if not out.reason and code == -9:
        out.reason = (f"grading stopped after the limit of {opts.submission_seconds:g} s for "
                      "one notebook")
    elif not out.reason and (code != 0 or not executed.is_file()):
        out.reason = "the notebook could not be graded: " + _last_error(log)
    out.review += tampered_cells(theirs, plan["cells"], plan["release"])
    if code == 0 and executed.is_file():
        nb = nbformat.read(executed, as_version=4)
    else:
        nb = canonical(theirs, plan["cells"], plan["release"])
    _mark_unrun_tests(nb, plan["cells"], out.reason or "this cell did not run")
    if report.is_file():
        seen = json.loads(report.read_text())
        out.isolation = seen.get("isolation", "")
        if out.isolation != "bwrap":
            out.review.append(f"unsafe: {UNSAFE} (isolation: {out.isolation or 'none'})")
        out.review += [f"sandbox: {r}" for r in seen.get("refused", [])]
        out.review += [f"crash: {c}" for c in seen.get("crashes", [])]
        out.review += [f"answer rebinds the instructor's name {n!r} (ignored by the tests)"
                       for n in seen.get("clashes", []) if not n.startswith("_")]
        if seen.get("crashes") and not out.reason:
            out.reason = "your code crashed or timed out: " + seen["crashes"][0]
    answer_cells = [i for i, c in enumerate(nb.cells)
                    if c.cell_type == "code" and role_of(c, plan["cells"]) == "student"]
    out.review += [f"review: {f}" for f in scan_notebook(nb, answer_cells)]
    staged = work / "executed" / student / plan["assignment"]
    staged.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, staged / nb_path.name)
    if (nb_path.parent / "timestamp.txt").is_file():
        shutil.copy(nb_path.parent / "timestamp.txt", staged / "timestamp.txt")
    out.notebook = nb_path.name
    out.seconds = time.perf_counter() - start
    shutil.rmtree(job / "scratch", ignore_errors=True)
    return out


def _die_with_grader() -> None:
    """In a job's process: die if the grader does (a killed shard leaves no job running
    that could later write into the folder of its re-run)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run(cmd: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    """Run ``cmd`` in its own process group; on time-out kill the whole group."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=tool_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=_die_with_grader)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code, out = -9, (out or "") + f"\n[stopped after the limit of {timeout:g} s]"
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # whatever is left of the job (kernel, workers)
    except (ProcessLookupError, PermissionError):
        pass
    return code, out


def tampered_cells(submitted: NotebookNode, roles: dict, release: dict[str, str]) -> list[str]:
    """Review lines for instructor cells the student deleted or edited (both restored)."""
    seen, lines = {}, []
    for cell in submitted.get("cells", []):
        gid = grade_id(cell)
        if gid in roles and gid not in seen:
            seen[gid] = cell
    for gid, info in roles.items():
        if info["role"] == "answer":
            continue
        if gid not in seen:
            lines.append(f"restored: the {info['role']} cell {gid} was deleted")
        elif seen[gid].get("source", "").strip() not in (info["source"].strip(),
                                                           release.get(gid, "").strip()):
            lines.append(f"restored: the {info['role']} cell {gid} was edited")
    return lines


def _last_error(log: str) -> str:
    lines = [ln for ln in log.strip().splitlines() if ln.strip()]
    errors = [ln.strip() for ln in lines if re.match(r"\s*\w+(Error|Exception): ", ln)]
    return (errors[-1] if errors else (lines[-1] if lines else "no output"))[-300:]


def _mark_unrun_tests(nb: NotebookNode, roles: dict, reason: str) -> None:
    """Give every test cell without a verdict an error output, so it scores zero.

    ``nb`` is a canonical notebook, so it holds every test cell of the source; one
    missing would be put back by nbgrader's recording step *without* outputs, that
    is with full marks, hence the check.
    """
    present = set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code" or roles.get(gid, {}).get("role") != "test":
            continue
        present.add(gid)
        if role_of(cell, roles) != "test" or cell.get("execution_count") is None:
            cell.source = roles[gid]["source"]
            cell.outputs = [error_output("NotGraded", reason)]
            cell.execution_count = None
    missing = {g for g, info in roles.items() if info["role"] == "test"} - present
    if missing:
        raise RuntimeError(f"test cells {sorted(missing)} are missing from a rebuilt notebook")


# --------------------------------------------------------------------------- the batch

def stage(submissions: Path, assignment: str, expected: list[str]) -> tuple[dict[str, Path],
                                                                            dict[str, list[str]]]:
    """``({student: notebook path}, {student: [review lines]})``: only the expected
    notebook of each student's ``<assignment>/`` folder is taken; the rest is reported."""
    found, notes = {}, {}
    for folder in sorted(p for p in Path(submissions).iterdir() if p.is_dir()):
        sub = folder / assignment
        if not sub.is_dir():
            continue
        student = folder.name
        notes[student] = []
        for path in sorted(sub.rglob("*")):
            rel = path.relative_to(sub).as_posix()
            if path.is_symlink():
                notes[student].append(f"ignored a link: {rel}")
            elif path.is_file() and rel in expected and student not in found:
                found[student] = path
            elif path.is_file() and rel != "timestamp.txt":
                notes[student].append(f"ignored file: {rel}")
        if student not in found:
            notes[student].append(f"no {' or '.join(expected)} in the submission")
    return found, notes


def grade_batch(root: Path, assignment: str, submissions: Path, options: Options | None = None
                ) -> dict[str, Outcome]:
    """Grade every ``<student>/<assignment>/`` of ``submissions`` into ``root``'s gradebook."""
    opts = options or Options()
    root, submissions = Path(root).resolve(), Path(submissions).resolve()
    sources = _source_notebooks(root, assignment)
    if len(sources) != 1:
        raise ValueError(f"expected one source notebook in solutions/{assignment}, "
                         f"found {sorted(sources)}")
    (name, source_nb), = sources.items()
    roles = cell_roles(source_nb)
    work = work_folder(root, assignment, opts.shard)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    deny = {str(root), str(submissions), str(work)}
    if (REPO / "solutions").is_dir():
        deny.add(str(REPO))
    forbidden = forbidden_modules(source_nb)
    lib = stage_library(tempfile.mkdtemp(prefix="gradebox-lib-"),
                        student_packages(Policy(forbidden_modules=forbidden)), forbidden)
    policy = Policy(deny_read=sorted(deny), allow_read=default_allow_read((lib,)),
                    forbidden_modules=forbidden, isolation=opts.isolation, lib=lib,
                    hidden_files=reference_files(forbidden))
    if isolation_prefix(policy)[1] != "bwrap" and not opts.allow_unsafe:
        shutil.rmtree(lib, ignore_errors=True)
        raise NoSandbox("no OS sandbox: bubblewrap (bwrap) is missing or cannot create "
                        "namespaces here, so student code could read solutions and change "
                        "grades. Install bubblewrap (apt-get install bubblewrap), or pass "
                        "--unsafe-no-sandbox to grade anyway with grades marked NOT SAFE")
    plan = {"assignment": assignment, "cells": roles, "reserved": reserved_names(roles),
            "tools": tool_names(roles),
            "release": released_cells(root, assignment, name, opts.shard),
            "cell_seconds": max(30.0, 2.5 * opts.limits.call_seconds)}
    found, notes = stage(submissions, assignment, [name])
    i, n = opts.shard
    found = {s: p for s, p in found.items() if shard_of(s, n) == i}
    notes = {s: v for s, v in notes.items() if shard_of(s, n) == i}
    jobs = opts.jobs or os.cpu_count() or 1
    template = GradingTemplate(preload_modules(roles)) if opts.warm and found else None
    try:
        if template is not None:
            template.__enter__()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {s: pool.submit(_job, work, s, p, plan, policy, opts, template)
                       for s, p in found.items()}
            outcomes = {s: f.result() for s, f in futures.items()}
    finally:
        if template is not None:
            template.close()
        shutil.rmtree(lib, ignore_errors=True)
    for student, lines in notes.items():
        outcomes.setdefault(student, Outcome(student, reason=lines[-1] if lines else ""))
        outcomes[student].review[:0] = lines
    _record(root, work, assignment, opts)
    return dict(sorted(outcomes.items()))


def autograded_folder(root: Path, assignment: str, shard: tuple[int, int]) -> str:
    """nbgrader's ``autograded_directory`` for a batch, relative to ``root``: the
    course's ``autograded/`` for a whole class, the shard's own folder for a shard
    (copied into ``autograded/`` student by student once its feedback is written)."""
    if tuple(shard) == (1, 1):
        return "autograded"
    return os.path.relpath(work_folder(root, assignment, shard) / "autograded", root)


def _record(root: Path, work: Path, assignment: str, opts: Options | None = None) -> None:
    """Phase 2: in this process, nbgrader's autograde minus its Execute step writes every
    score to the gradebook, one transaction per notebook, and the cleaned notebooks to
    the autograded folder (:func:`gradebox.recording.record_batch`)."""
    from gradebox.recording import record_batch

    opts = opts or Options()
    record_batch(root, assignment, work / "executed",
                 autograded_folder(root, assignment, opts.shard), db_url=opts.db_url)


# --------------------------------------------------------------------------- feedback

def public_source(source: str) -> str:
    """A test cell's text with its hidden part replaced by a note."""
    out, hidden = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            hidden = True
            out.append("# (hidden tests: not shown)")
        elif line.strip() == HIDDEN_END:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def instructor_messages(source: str) -> list[str]:
    """The texts the instructor wrote in a test cell (string constants and the constant
    parts of f-strings, 8 characters or more): the only words of a failed hidden test
    that feedback may show."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = {n.value.strip() for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    return sorted((t for t in found if len(t) >= 8), key=len, reverse=True)


def hidden_verdict(output: dict, messages: list[str]) -> NotebookNode:
    """What a failed hidden test shows: that it failed, and the instructor's words if
    the failure carries them; never values, tracebacks or the student's output."""
    text = str(output.get("evalue", ""))
    said = next((m for m in messages if m in text), "")
    if output.get("ename") == "NotGraded":
        said = text.split("\n")[0][:300]      # written by the grader (crash, time-out)
    shown = f"A hidden test failed. {said}".strip()
    out = error_output("TestFailed", shown)
    out.traceback = [shown]
    return out


def feedback_copy(nb: NotebookNode, roles: dict) -> NotebookNode:
    """The autograded notebook as the student may see it.  A test cell with hidden
    tests shows its visible part's code and only a verdict: nothing when it passed;
    "A hidden test failed" and the instructor's message when it failed; never the
    student's output produced during it, tracebacks, or expected values."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code" or roles.get(gid, {}).get("role") != "test":
            continue
        if HIDDEN_BEGIN not in roles[gid]["source"]:
            continue
        cell.source = public_source(roles[gid]["source"])
        messages = instructor_messages(roles[gid]["source"])
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        cell.outputs = [hidden_verdict(errors[0], messages)] if errors else []
    return nb


def generate_feedback(root: Path, assignment: str, outcomes: dict[str, Outcome],
                      options: Options | None = None) -> None:
    """Write feedback HTML from public copies of the autograded notebooks (of the
    batch's shard only, when sharded; then its autograded notebooks join the course's
    ``autograded/``, one student folder at a time)."""
    opts = options or Options()
    root = Path(root)
    (source_nb,) = _source_notebooks(root, assignment).values()
    roles = cell_roles(source_nb)
    folder = autograded_folder(root, assignment, opts.shard)
    saved = {}
    for path in sorted((root / folder).glob(f"*/{assignment}/*.ipynb")):
        saved[path] = path.read_bytes()
        nb = nbformat.read(path, as_version=4)
        student = path.parents[1].name
        public = feedback_copy(nb, roles)
        reason = outcomes.get(student, Outcome(student)).reason
        if reason:
            public.cells.insert(0, nbformat.v4.new_markdown_cell(
                f"**Grading note.** {reason}. Tests that could not run score zero."))
        nbformat.write(public, path)
    try:
        if saved:
            nbgrader(root, "generate_feedback", assignment, "--force",
                     f"--CourseDirectory.autograded_directory={folder}", db_url=opts.db_url)
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
    if folder != "autograded":
        for student_dir in sorted((root / folder).glob(f"*/{assignment}")):
            dest = root / "autograded" / student_dir.parent.name / assignment
            dest.parent.mkdir(parents=True, exist_ok=True)
            staging = dest.with_name(f".{assignment}.incoming")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(student_dir, staging)
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(staging, dest)


def write_review(path: Path, assignment: str, outcomes: dict[str, Outcome]) -> Path:
    """One row per finding: student, assignment, what, detail."""
    path = Path(path)
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(["student", "assignment", "kind", "detail"])
        for student, out in outcomes.items():
            if out.reason:
                writer.writerow([student, assignment, "not fully graded", out.reason])
            for line in out.review:
                kind, _, detail = line.partition(": ")
                writer.writerow([student, assignment, kind, detail])
    return path
