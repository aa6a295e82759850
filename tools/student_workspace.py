"""The student's working folder: ``work/`` holds the student's own copies of the course.

JupyterLab autosaves outputs into every notebook it runs. If students worked in the
tracked ``lectures/`` and ``assignments/``, their checkout would be dirty at once and
``git pull`` of course updates would conflict with their work. So `make lab` first runs

    python tools/student_workspace.py            # creates / refreshes work/

which copies every course file into ``work/`` (ignored by git: the folder carries its own
``.gitignore``) and records in ``work/.course-manifest.json`` the hash of each file as it
was copied. On later runs, after ``git pull``:

- a file new in the course is copied in;
- a file the student never changed (its hash is still the copied one) is brought up to date;
- a file the student changed is never touched; when the course's version changed too, the
  new version is written beside it under ``work/updates/`` and the student is told.

Nothing the student wrote is ever overwritten or deleted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("lectures", "assignments")
MANIFEST = ".course-manifest.json"
UPDATES = "updates"
SKIP_PARTS = {".ipynb_checkpoints", "__pycache__"}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def course_files(repo: Path) -> list[Path]:
    """Every file of the student material, relative to ``repo``."""
    found = []
    for top in SOURCES:
        for path in sorted((repo / top).rglob("*")):
            rel = path.relative_to(repo)
            if path.is_file() and not SKIP_PARTS & set(rel.parts):
                found.append(rel)
    return found


def sync(repo: Path = REPO, work: Path | None = None, quiet: bool = False) -> dict[str, list[str]]:
    """Create or refresh the working folder; returns what happened to each file, by kind:
    ``added``, ``updated``, ``kept`` (student's edits kept, course's new version in
    ``updates/``), ``unchanged``."""
    work = work or repo / "work"
    work.mkdir(parents=True, exist_ok=True)
    (work / ".gitignore").write_text("# the student's own copies of the course: never committed\n*\n")
    manifest_path = work / MANIFEST
    state = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest = state.setdefault("copied", {})  # hash of each file as copied in
    offered = state.setdefault("offered", {})  # hash of each new version put in updates/
    report: dict[str, list[str]] = {"added": [], "updated": [], "kept": [], "unchanged": []}
    for rel in course_files(repo):
        source, target, key = repo / rel, work / rel, rel.as_posix()
        new = _digest(source)
        if not target.exists():
            if key in manifest:  # the student deleted it on purpose: leave it deleted
                continue
            kind = "added"
        elif _digest(target) == new:
            kind = "unchanged"
        elif manifest.get(key) == _digest(target):  # untouched by the student
            kind = "updated"
        else:  # the student's own work: never overwrite it
            if manifest.get(key) != new and offered.get(key) != new:
                offered[key] = new
                aside = work / UPDATES / rel
                aside.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, aside)
                report["kept"].append(key)
            continue
        if kind != "unchanged":
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        manifest[key] = new
        report[kind].append(key)
    manifest_path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    if not quiet:
        _tell(work, report)
    return report


def _tell(work: Path, report: dict[str, list[str]]) -> None:
    where = work.name
    if report["added"]:
        print(f"{where}/: {len(report['added'])} new course file(s) copied in.")
    for key in report["updated"]:
        print(f"{where}/{key}: updated to the course's new version (you had not changed it).")
    for key in report["kept"]:
        print(f"{where}/{key}: kept YOUR version; the course's new one is {where}/{UPDATES}/{key}")
    print(f"You work in {where}/ (your copies; git never sees them). To get new course material:\n"
          f"  git pull && make lab     (your edits are never overwritten)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: work/)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    sync(REPO, args.work, args.quiet)


if __name__ == "__main__":
    main()
