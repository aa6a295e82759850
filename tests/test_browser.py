"""The course as students and instructors meet it: JupyterLab 4 in Debian's Chromium.

- every lecture (discovered from lectures/NN_*.ipynb), opened in the student's working
  folder, runs with Run All Cells: no error, no stderr traceback, every figure an image
  that loaded; then, after the whole run, every control of every explorer is changed
  (sliders by keyboard, checkboxes, dropdowns, text boxes) and its output must change and
  show no traceback. Redraw times go to .bench/browser_redraw.json (`make bench`), screenshots
  to .browser/ (both git-ignored);
- the student's lab shows none of nbgrader's instructor panels; the instructor's Formgrader
  lists every assignment on first open;
- the book (`make book`) opens page by page with its figures and rendered math;
- the student's working folder survives `git pull` of a course update (no browser needed).

Without Chromium or Playwright the browser tests skip, saying how to install them; under CI
(CI=true) they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

import browserlib as bl

REPO = bl.REPO
LECTURES = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "lectures").glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir() and not p.name.startswith("."))
sys.path.insert(0, str(REPO / "tools"))
import student_workspace  # noqa: E402

pytestmark = pytest.mark.slow
EXPLORER = re.compile(r"\binteract(ive|ive_output)?\(")
REDRAWS: list[dict] = []


@pytest.fixture(scope="module")
def playwright_browser():
    reason = bl.missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run under CI: {reason}; {bl.INSTALL_HINT}")
        pytest.skip(f"browser tests skipped: {reason}; {bl.INSTALL_HINT}")
    from playwright.sync_api import sync_playwright

    bl.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = bl.launch(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A fresh student working folder, made by the same code as `make lab`."""
    work = tmp_path_factory.mktemp("student") / "work"
    student_workspace.sync(REPO, work, quiet=True)
    return work


@pytest.fixture(scope="module")
def student_lab(playwright_browser, workspace):
    server = bl.LabServer(workspace, "student", bl.ARTIFACTS / "server-student.log")
    yield server
    server.stop()
    if REDRAWS:
        bl.write_bench(REDRAWS)


@pytest.fixture(scope="module")
def page(playwright_browser, student_lab):
    context = playwright_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())  # "leave this page?" must not block the next lecture
    yield page
    context.close()


def _shot(target, name: str) -> None:
    folder = bl.ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(folder / f"{name}.png"))


# Known defects, open (lecture -> reason): xfail, not strict, so the rest of the lecture's checks
# still run and a fix shows up as XPASS. None at present.
KNOWN_BROKEN: dict[str, str] = {}


@pytest.mark.parametrize("lecture", [
    pytest.param(l, marks=pytest.mark.xfail(reason=KNOWN_BROKEN[l], strict=False)) if l in KNOWN_BROKEN else l
    for l in LECTURES])
def test_lecture_runs_and_explorers_respond(page, student_lab, workspace, lecture):
    stem = Path(lecture).stem
    bl.open_notebook(page, student_lab, lecture)
    try:
        _run_and_exercise(page, workspace, lecture, stem)
    finally:
        bl.save(page)
        time.sleep(1)
        bl.close_all_documents(page)


def _run_and_exercise(page, workspace, lecture: str, stem: str) -> None:
    state = bl.run_all(page)
    problems = [f"cell {c['index']}: {e}" for c in state["cells"] for e in bl.error_outputs(c["outputs"])]
    assert not problems, f"{lecture} after Run All:\n" + "\n".join(problems)
    not_run = [c["index"] for c in state["cells"] if c["count"] is None]
    assert not not_run, f"{lecture}: cells {not_run} never ran"

    figures = [c["index"] for c in state["cells"]
               if any("image/png" in o.get("data", {}) for o in c["outputs"])]
    for index in figures:
        images = bl.cell_images(page, index)
        assert images, f"{lecture} cell {index}: a figure output but no <img> in the page"
        broken = [i for i in images if not i["complete"] or i["width"] == 0]
        assert not broken, f"{lecture} cell {index}: figure did not load: {broken}"

    # explorers are ipywidgets' interact/interactive (tqdm's progress bars are widgets too)
    explorers = [c["index"] for c in state["cells"] if EXPLORER.search(c["source"])
                 and any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c["outputs"])]
    for index in explorers:
        _exercise_explorer(page, lecture, stem, index)

    bl.save(page)
    time.sleep(2)
    saved = nbformat.read(workspace / lecture, as_version=4)
    assert any(c.get("outputs") for c in saved.cells if c.cell_type == "code"), \
        "the student's copy should hold the outputs JupyterLab saved"
    tracked = nbformat.read(REPO / lecture, as_version=4)
    assert not any(c.get("outputs") for c in tracked.cells if c.cell_type == "code"), \
        f"{lecture} in the repository got outputs: students must work in work/"


def _exercise_explorer(page, lecture: str, stem: str, index: int) -> None:
    page.evaluate(bl.JS_SCROLL_TO, index)
    page.wait_for_function(f"() => {{ const n = ({bl.JS_CELL_NODE})({index});"
                           " return n && n.querySelector('.widget-interact .widget-output'); }",
                           timeout=60_000)
    node = page.evaluate_handle(bl.JS_CELL_NODE, index).as_element()
    page.wait_for_function(f"() => ({bl.JS_OUTPUT_SIGNATURE})(({bl.JS_CELL_NODE})({index})).length > 3",
                           timeout=60_000)
    _shot(node, f"{stem}-cell{index}-before")
    found = bl.controls(node)
    assert found, f"{lecture} cell {index}: an explorer without controls"
    for kind, i in found:
        label = bl.control_label(node, kind, i)
        before = node.evaluate(bl.JS_OUTPUT_SIGNATURE)
        action = bl.change(page, node, kind, i)
        start = time.perf_counter()
        try:
            page.wait_for_function(
                f"(b) => ({bl.JS_OUTPUT_SIGNATURE})(({bl.JS_CELL_NODE})({index})) !== b",
                arg=before, timeout=180_000, polling=50)
        except Exception:
            _shot(node, f"{stem}-cell{index}-{kind}{i}-unchanged")
            raise AssertionError(f"{lecture} cell {index}: output did not change after {kind} "
                                 f"{label!r} ({action})") from None
        bl.kernel_idle_twice(page, 180)
        seconds = time.perf_counter() - start
        errors = node.evaluate(bl.JS_OUTPUT_ERRORS)
        assert not errors, f"{lecture} cell {index}: {kind} {label!r} ({action}) gave:\n{errors}"
        broken = [im for im in node.evaluate(bl.JS_OUTPUT_IMAGES) if not im["complete"] or not im["width"]]
        assert not broken, f"{lecture} cell {index}: figure did not load after {kind} {label!r}"
        REDRAWS.append({"lecture": lecture, "cell": index, "control": f"{kind} {label}".strip(),
                        "action": action, "seconds": round(seconds, 3)})
    _shot(node, f"{stem}-cell{index}-after")


def test_student_sees_no_instructor_tools(page, student_lab):
    page.goto(student_lab.page("/lab"))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined", timeout=120_000)
    page.wait_for_timeout(3000)
    plugins = page.evaluate("() => window.jupyterapp.listPlugins().filter(p => p.includes('nbgrader'))")
    active = page.evaluate("() => window.jupyterapp.listPlugins().filter("
                           "p => p.includes('nbgrader') && window.jupyterapp.isPluginActivated(p))")
    assert not active, f"nbgrader panels active for students: {active} (of {plugins})"
    body = page.inner_text("body")
    for word in ("Create Assignment", "Formgrader", "Assignment List"):
        assert word not in body, f"the student's lab shows {word!r}"
    page.goto(student_lab.page("/formgrader"))
    assert "Manage Assignments" not in page.content(), "students can open Formgrader"
    _shot(page, "student-lab")


def test_instructor_formgrader_lists_every_assignment(playwright_browser, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(REPO / "nbgrader_config.py", course)
    for top in ("solutions", "assignments"):
        shutil.copytree(REPO / top, course / top, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    subprocess.run(["make", "-s", "-C", str(REPO), "instructor-setup", f"COURSE={course}"], check=True)
    server = bl.LabServer(course, "instructor", bl.ARTIFACTS / "server-instructor.log")
    try:
        context = playwright_browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server.page("/formgrader"))
        for hw in ASSIGNMENTS:
            page.wait_for_selector(f"text={hw}", timeout=60_000)
        _shot(page, "instructor-formgrader")
        text = page.inner_text("body")
        assert "exchange" not in text.lower(), f"Formgrader warns about the exchange:\n{text[:2000]}"
        page.goto(server.page("/lab"))
        page.wait_for_function("() => !!window.jupyterapp", timeout=120_000)
        page.wait_for_timeout(3000)
        active = page.evaluate("() => window.jupyterapp.listPlugins().filter("
                               "p => p.includes('nbgrader') && window.jupyterapp.isPluginActivated(p))")
        assert active, "the instructor's lab has no nbgrader tools"
        context.close()
    finally:
        server.stop()
    log = server.log_text()
    warnings = [l for l in log.splitlines() if "exchange" in l.lower() and ("W " in l or "E " in l or "arn" in l)]
    assert not warnings, "\n".join(warnings)


def test_book_pages_load_with_figures_and_math(playwright_browser, tmp_path):
    import build_book

    site = build_book.build(tmp_path / "book")
    pages = sorted(site.glob("[0-9][0-9]_*.html"))
    assert len(pages) == len(LECTURES), f"book pages {[p.name for p in pages]} vs lectures {LECTURES}"
    context = playwright_browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((site / "index.html").as_uri())
    links = page.eval_on_selector_all("a.reference.internal", "els => els.map(e => e.getAttribute('href'))")
    for p in pages:
        assert any(l and l.split("#")[0].endswith(p.name) for l in links), f"index does not link {p.name}"
    for p in pages:
        page.goto(p.as_uri())
        page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue"
                               " && MathJax.Hub.queue.pending === 0 && document.querySelector('.MathJax, .MathJax_Display, .MathJax_CHTML, mjx-container')",
                               timeout=120_000)
        imgs = page.eval_on_selector_all("article img, .bd-article img, img",
                                         "els => els.map(i => ({src: i.src.slice(0, 60), ok: i.complete && i.naturalWidth > 0}))")
        assert len(imgs) >= 2, f"{p.name}: no figures"
        assert all(i["ok"] for i in imgs), f"{p.name}: figures that did not load: {[i for i in imgs if not i['ok']]}"
        assert not page.evaluate(JS_UNRENDERED_MATH), f"{p.name}: math left unrendered"
        assert page.query_selector("a.right-next, a.left-prev, .prev-next-area a"), f"{p.name}: no prev/next navigation"
        _shot(page, f"book-{p.stem}")
    assert not errors, errors
    context.close()


# LaTeX left as text outside code (code cells may hold LaTeX strings, e.g. plot labels)
JS_UNRENDERED_MATH = """() => {
  const root = (document.querySelector('article') || document.body).cloneNode(true);
  root.querySelectorAll('pre, code, script, .MathJax, .MathJax_Display, .MathJax_Preview, mjx-container')
      .forEach(e => e.remove());
  return /\\\\(frac|sum|alpha|mathbf|log)\\b|\\$\\$/.test(root.textContent);
}"""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")).stdout


def test_student_workspace_survives_git_pull(tmp_path):
    """Clone the course, work in it as a student, pull an update: nothing lost, no conflict."""
    upstream, student = tmp_path / "upstream", tmp_path / "student"
    _git(tmp_path, "clone", "-q", "--no-hardlinks", str(REPO), str(upstream))
    for rel in ("tools/student_workspace.py",):  # this test's tool, even before it is committed
        shutil.copy2(REPO / rel, upstream / rel)
    _git(upstream, "add", "-f", "tools/student_workspace.py")
    _git(upstream, "commit", "-q", "--allow-empty", "-m", "tool")
    _git(tmp_path, "clone", "-q", str(upstream), str(student))
    tool = [sys.executable, str(student / "tools" / "student_workspace.py")]

    first = subprocess.run(tool, cwd=student, check=True, capture_output=True, text=True).stdout
    assert "git pull" in first  # tells the student how to get updates
    work = student / "work"
    lectures = sorted((work / "lectures").glob("*.ipynb"))
    assert [p.name for p in lectures] == sorted(Path(l).name for l in LECTURES)

    # the student runs a notebook (outputs saved into their copy) and writes an answer
    ran, edited, untouched = lectures[0], lectures[1], lectures[-1]
    nb = nbformat.read(ran, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="my run\n")]
    code.execution_count = 1
    nbformat.write(nb, ran)
    hw = sorted((work / "assignments").rglob("*.ipynb"))[0]
    answer = hw.read_text().replace("raise NotImplementedError()", "return 42  # my answer", 1)
    hw.write_text(answer)
    mine = {p: p.read_bytes() for p in (ran, hw)}
    assert _git(student, "status", "--porcelain") == "", "the student's work must not dirty the checkout"

    # the course changes: a lecture the student ran, one they did not touch, and a new one
    up = upstream / "lectures"
    for name in (ran.name, untouched.name):
        nb = nbformat.read(up / name, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell("An erratum."))
        nbformat.write(nb, up / name)
    shutil.copy2(up / ran.name, up / "99_new_topic.ipynb")
    _git(upstream, "add", "lectures")
    _git(upstream, "commit", "-q", "-m", "course update")

    _git(student, "pull", "-q", "--ff-only")
    second = subprocess.run(tool, cwd=student, check=True, capture_output=True, text=True).stdout
    for p, content in mine.items():
        assert p.read_bytes() == content, f"{p.name}: the student's work was overwritten"
    assert (work / "updates" / "lectures" / ran.name).exists(), "the new version must be put aside"
    assert ran.name in second and "updates" in second
    assert "An erratum." in untouched.read_text(), "an untouched copy must be brought up to date"
    assert (work / "lectures" / "99_new_topic.ipynb").exists(), "new material must be copied in"
    assert edited.read_bytes() == (student / "lectures" / edited.name).read_bytes()
    assert _git(student, "status", "--porcelain") == ""
    # a third run changes nothing
    third = student_workspace.sync(student, work, quiet=True)
    assert not (third["added"] or third["updated"] or third["kept"]), third
