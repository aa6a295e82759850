"""`make book`: the course as a static website (Sphinx + MyST-NB, sphinx-book-theme).

Every lecture lectures/NN_*.ipynb is taken executed from tests/notebook_runs.py's cache
(.nbruns/, the same runs the tests read, so a lecture is executed at most once), each
explorer is replaced by a static view (its controls' starting values and the output it drew),
MathJax comes from the installed jupyter-server-mathjax package (no CDN), and sphinx-build
writes build/book/ (open build/book/index.html, or publish the folder; see the README).

    python tools/build_book.py [--out build/book]
"""

from __future__ import annotations

import argparse
import copy
import html
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def lectures(repo: Path = REPO) -> list[Path]:
    return sorted((repo / "lectures").glob("[0-9][0-9]_*.ipynb"))


def _static_explorer(model_id: str, state: dict) -> list[dict]:
    """The outputs that show an ipywidgets explorer without a kernel: its controls' values
    (as HTML) and what its Output widgets hold."""
    controls, outputs = [], []

    def walk(mid: str) -> None:
        model = state.get(mid)
        if model is None:
            return
        s = model.get("state", {})
        if model.get("model_name") == "OutputModel":
            outputs.extend(copy.deepcopy(s.get("outputs", [])))
        elif "children" in s:
            for child in s["children"]:
                walk(child.removeprefix("IPY_MODEL_"))
        elif "value" in s and s.get("description") is not None:
            controls.append(f"<b>{html.escape(str(s['description']))}</b> = {html.escape(str(s['value']))}")

    walk(model_id)
    note = ("<p><em>Explorer (static view; open the lecture in JupyterLab to change it):</em> "
            + "; ".join(controls) + "</p>")
    return [nbformat.v4.new_output("display_data", data={"text/html": note})] + outputs


def staticise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an executed notebook with every widget view replaced by its static view."""
    nb = copy.deepcopy(nb)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        new = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            new += _static_explorer(view["model_id"], state) if view else [out]
        cell.outputs = [nbformat.from_dict(o) for o in new]
    nb.metadata.pop("widgets", None)
    return nb


def _mathjax_dir() -> Path:
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def build(out: Path = REPO / "build" / "book", flavour: str = "native") -> Path:
    """Build the site into ``out``; returns ``out``."""
    from notebook_runs import errors, executed

    out = Path(out)
    src = out.parent / (out.name + "-src")
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(REPO / "book", src, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    shutil.copytree(_mathjax_dir(), src / "_static" / "mathjax",
                    ignore=shutil.ignore_patterns("*.png", "*.eot", "*.svg", "*.otf"))
    names = []
    for path in lectures():
        nb = executed(path, flavour)
        if errors(nb):
            print(f"WARNING: {path.name} raised while executing (the page shows it): {errors(nb)}",
                  file=sys.stderr)
        nbformat.write(staticise(nb), src / path.name)
        names.append(path.stem)
    index = src / "index.md"
    index.write_text(index.read_text().replace("LECTURES", "\n".join(names)))
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q",
                    "-d", str(src / "_doctrees"), str(src), str(out)], check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "book")
    args = parser.parse_args()
    site = build(args.out)
    print(f"The course website is in {site}/ (open {site / 'index.html'}); publish that folder.")


if __name__ == "__main__":
    main()
