"""Execute each lecture notebook once per test run and let every test read what it printed.

A lecture's claims are checked against the numbers the lecture itself printed, not by
re-running its experiments in the test process: one execution per notebook and flavour,
shared by every test (and every pytest-xdist worker) that asks for it.

Flavours are environments for the notebook's kernel:

- ``native``: the machine as it is;
- ``again``: a second native run, for the determinism test (two runs print the same),
  followed by the lecture's probe ``tests/probes/<stem>.py`` if it has one: one more cell,
  run in the same kernel after everything else, that rebinds the globals a later cell might
  and calls each explorer's callback (`probe_text` reads what it printed);
- ``portable``: torch's generic kernels (``ATEN_CPU_CAPABILITY=default``) and MKL
  limited to SSE4.2, so float32 code takes other vector paths, as it would on another
  processor. Claims tests run under ``native`` and ``portable`` (``FLAVOURS``).

Executed notebooks are cached in ``.nbruns/`` (git-ignored) under a key made of the
notebook's bytes, the package's sources and the flavour; `make test` empties the cache
first, so a test run always executes what it checks. A file lock makes concurrent
workers wait for one execution instead of starting their own.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".nbruns"
PROBES = Path(__file__).resolve().parent / "probes"
PROBE_TAG = "explorer-probe"
FLAVOURS = ("native", "portable")
ENVIRONMENTS: dict[str, dict[str, str]] = {
    "native": {},
    "again": {},
    "portable": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
}
TIMEOUT = 600  # seconds per cell: generous, since two workers share two cores


def _key(path: Path, flavour: str) -> str:
    digest = hashlib.sha256(path.read_bytes())
    for source in sorted((REPO / "seqcourse").rglob("*.py")):
        digest.update(source.read_bytes())
    digest.update(repr(sorted(ENVIRONMENTS[flavour].items())).encode())
    if flavour == "again" and (PROBES / f"{path.stem}.py").exists():
        digest.update((PROBES / f"{path.stem}.py").read_bytes())
    return f"{path.stem}.{flavour}.{digest.hexdigest()[:16]}"


def _execute(path: Path, flavour: str) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    probe = PROBES / f"{path.stem}.py"
    if flavour == "again" and probe.exists():
        nb.cells.append(nbformat.v4.new_code_cell(probe.read_text(), metadata={"tags": [PROBE_TAG]}))
    env = dict(os.environ, **ENVIRONMENTS[flavour])
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    return nb


def executed(path: str | Path, flavour: str = "native") -> nbformat.NotebookNode:
    """The notebook at ``path`` (relative to the repository or absolute), executed in the
    kernel environment ``flavour``; cells that raise keep their error outputs (see
    `errors`) instead of stopping the run."""
    if flavour not in ENVIRONMENTS:
        raise ValueError(f"flavour must be one of {sorted(ENVIRONMENTS)}, got {flavour!r}")
    path = Path(path)
    path = path if path.is_absolute() else REPO / path
    CACHE.mkdir(exist_ok=True)
    key = _key(path, flavour)
    result = CACHE / f"{key}.ipynb"
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not result.exists():
            nb = _execute(path, flavour)
            tmp = result.with_suffix(".tmp")
            nbformat.write(nb, tmp)
            tmp.replace(result)
    return nbformat.read(result, as_version=4)


def _cell_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out["text"])
        elif out.get("output_type") in ("execute_result", "display_data"):
            text = out.get("data", {}).get("text/plain", "")
            if out.get("output_type") == "execute_result" or not text.startswith("<Figure"):
                parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(parts)


def _is_probe(cell) -> bool:
    return PROBE_TAG in cell.get("metadata", {}).get("tags", [])


def printed(nb) -> str:
    """Everything the lecture's own cells printed (stdout and text results), in order."""
    return "".join(_cell_text(c) for c in nb.cells if c.cell_type == "code" and not _is_probe(c))


def probe_text(nb) -> str:
    """What the probe cell printed (in an ``again`` run of a lecture that has a probe)."""
    probes = [c for c in nb.cells if _is_probe(c)]
    if not probes:
        raise LookupError("this run has no probe cell: use executed(path, 'again') and tests/probes/")
    return _cell_text(probes[0])


def printed_lines(nb) -> list[str]:
    """`printed` as lines, with object addresses (which differ between runs) removed."""
    return re.sub(r" at 0x[0-9a-f]+", "", printed(nb)).splitlines()


def cell_text(nb, marker: str) -> str:
    """What the one code cell whose source contains ``marker`` printed."""
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source and not _is_probe(c)]
    if len(cells) != 1:
        raise LookupError(f"expected exactly one code cell containing {marker!r}, found {len(cells)}")
    return _cell_text(cells[0])


def errors(nb) -> list[str]:
    """One line per cell that raised or wrote a traceback to stderr."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {i}: {out['ename']}: {out['evalue']}")
            elif out.get("name") == "stderr" and "Traceback" in out.get("text", ""):
                found.append(f"cell {i}: traceback on stderr")
    return found


def number(text: str, pattern: str) -> float:
    """The first number captured by ``pattern`` (a regex with one group) in ``text``."""
    match = re.search(pattern, text)
    if match is None:
        raise LookupError(f"no line matching {pattern!r} in:\n{text}")
    return float(match.group(1))


def markdown(path: str | Path) -> str:
    """The notebook's markdown, whitespace-normalised: where a lecture states its numbers."""
    path = Path(path)
    nb = nbformat.read(path if path.is_absolute() else REPO / path, as_version=4)
    return " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")


def stated(text: str, *phrases: str) -> None:
    """Fail unless the lecture's text (from `markdown`) still says each phrase."""
    for phrase in phrases:
        assert phrase in text, f"the lecture's text no longer says {phrase!r}"
