"""Drive the course in a real browser: a JupyterLab server started with `make lab`'s settings
and Debian's Chromium through Playwright (never a downloaded browser).

JupyterLab 4 renders notebook cells lazily (only those near the viewport exist in the
page), so execution state is read from the notebook *model* through ``window.jupyterapp``
(the server runs with ``--LabApp.expose_app_in_browser=True``); a cell is scrolled into
view through the notebook's windowed list before its DOM is read.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SEQCOURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / ".browser"  # screenshots and server logs (git-ignored)
BENCH = REPO / ".bench" / "browser_redraw.json"  # redraw times, read by `make bench`
INSTALL_HINT = ("install Debian's Chromium and Playwright for Python: "
                "`sudo apt-get install -y chromium` and "
                "`.venv/bin/python -m pip install -c constraints.txt playwright` "
                "(never `playwright install`: the tests use /usr/bin/chromium)")
ROLE_CONFIG = {"student": REPO / "jupyter" / "student", "instructor": REPO / "jupyter" / "instructor"}


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A JupyterLab server for one role, as `make lab` (student) or `make formgrader`
    (instructor) starts it, on a free port with a random token."""

    def __init__(self, root: Path, role: str, log: Path, cwd: Path | None = None):
        self.root, self.role, self.token = root, role, secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        state = log.parent / f"jupyter-state-{role}"
        shutil.rmtree(state, ignore_errors=True)
        env = dict(os.environ,
                   JUPYTER_CONFIG_PATH=str(ROLE_CONFIG[role]),
                   JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(state / "runtime"),
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
               f"--port={self.port}", "--ip=127.0.0.1", f"--ServerApp.token={self.token}",
               f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
               "--ServerApp.open_browser=False", "--allow-root"]
        self._log = open(log, "w")
        self.proc = subprocess.Popen(cmd, cwd=cwd or root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}; see {self._log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"jupyter lab did not answer in {timeout} s; see {self._log.name}")

    def page(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}token={self.token}"

    def stop(self) -> None:
        """Stop this server only (its own kernels go with it)."""
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return Path(self._log.name).read_text(errors="replace")


def launch(playwright):
    """Debian's Chromium, headless, talking to nothing but the test's servers."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


# --- JupyterLab through window.jupyterapp -------------------------------------------------

JS_NOTEBOOK_READY = """() => {
  const app = window.jupyterapp; if (!app) return false;
  const w = app.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return false;
  const s = w.sessionContext;
  return w.context.isReady && s.isReady && !!s.session && !!s.session.kernel
         && s.session.kernel.status === 'idle';
}"""

# One snapshot of the notebook's execution state, from the model (not the lazy DOM).
JS_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = [];
  const m = w.content.model.cells;
  for (let i = 0; i < m.length; i++) {
    const c = m.get(i);
    if (c.type !== 'code') continue;
    cells.push({index: i, source: c.sharedModel.getSource(), count: c.executionCount, state: c.executionState || null,
                outputs: c.outputs.toJSON()});
  }
  return {kernel: k ? k.status : 'none', cells: cells, dirty: w.context.model.dirty};
}"""

JS_SCROLL_TO = """async (i) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  if (nb.scrollToItem) { await nb.scrollToItem(i, 'center'); }
  else { nb.scrollToCell(nb.widgets[i]); }
  await new Promise(r => setTimeout(r, 200));
  return true;
}"""

JS_IMAGES = """(i) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const node = nb.widgets[i].node;
  return Array.from(node.querySelectorAll('.jp-OutputArea-output img')).map(
      img => ({complete: img.complete, width: img.naturalWidth}));
}"""


def error_outputs(outputs: list[dict]) -> list[str]:
    found = []
    for out in outputs:
        if out.get("output_type") == "error":
            found.append(f"{out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            text = "".join(out.get("text", ""))
            if "Traceback" in text or "Error" in text:
                found.append("stderr: " + text.strip().splitlines()[-1][:200])
    return found


def open_notebook(page, server: LabServer, rel: str, timeout_ms: int = 180_000) -> None:
    page.goto(server.page(f"/lab/tree/{rel}"), timeout=timeout_ms)
    page.wait_for_function(f"() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           f" && window.jupyterapp.shell.currentWidget.context"
                           f" && window.jupyterapp.shell.currentWidget.context.path === {json.dumps(rel)}",
                           timeout=timeout_ms, polling=250)
    page.wait_for_function(JS_NOTEBOOK_READY, timeout=timeout_ms, polling=250)


def run_all(page, timeout_s: float = 900) -> dict:
    """Run All Cells (the menu's command) and wait until every code cell has an execution
    count, no cell is running, and the kernel was idle at two polls in a row (it is idle
    for a moment between queued cells); stops early when a cell raised."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline, idle_before = time.monotonic() + timeout_s, False
    time.sleep(1)
    while time.monotonic() < deadline:
        state = page.evaluate(JS_STATE)
        idle = state["kernel"] == "idle"
        done = all(c["count"] is not None and c["state"] != "running" for c in state["cells"])
        raised = any(o.get("output_type") == "error" for c in state["cells"] for o in c["outputs"])
        if idle and idle_before and (done or raised):
            return state
        idle_before = idle
        time.sleep(0.5)
    raise TimeoutError(f"Run All did not finish in {timeout_s} s: {page.evaluate(JS_STATE)['kernel']}")


def cell_images(page, index: int) -> list[dict]:
    page.evaluate(JS_SCROLL_TO, index)
    deadline = time.monotonic() + 20
    while True:
        images = page.evaluate(JS_IMAGES, index)
        if all(i["complete"] for i in images) or time.monotonic() > deadline:
            return images
        time.sleep(0.2)


def save(page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")


def close_all_documents(page) -> None:
    """Close the open tabs (their kernels keep running until the server stops; sessions of
    other users and tests are never touched)."""
    page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")


def write_bench(records: list[dict]) -> None:
    BENCH.parent.mkdir(exist_ok=True)
    BENCH.write_text(json.dumps({"unit": "seconds from widget change to new output",
                                 "redraws": records}, indent=1) + "\n")


# --- explorers ------------------------------------------------------------------------------

JS_CELL_NODE = "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].node"

# What an explorer shows: the outputs of its Output widgets (not its controls' readouts).
JS_OUTPUT_SIGNATURE = """(node) => {
  const outs = Array.from(node.querySelectorAll('.widget-interact .widget-output'));
  return outs.map(o => Array.from(o.querySelectorAll('img')).map(i => i.src.length + ':' + i.src.slice(-48)).join('|')
                       + '#' + o.textContent).join('||');
}"""

JS_OUTPUT_ERRORS = """(node) => {
  const found = [];
  for (const o of node.querySelectorAll('.widget-interact .widget-output')) {
    for (const e of o.querySelectorAll('[data-mime-type="application/vnd.jupyter.error"], [data-mime-type="application/vnd.jupyter.stderr"]')) {
      found.push(e.textContent.slice(-300));
    }
    if (/Traceback|Error:/.test(o.textContent) && !found.length) found.push(o.textContent.slice(-300));
  }
  return found;
}"""

JS_OUTPUT_IMAGES = """(node) => Array.from(node.querySelectorAll('.widget-interact .widget-output img')).map(
    img => ({complete: img.complete, width: img.naturalWidth}))"""

CONTROLS = {
    "slider": ".widget-interact .noUi-handle",
    "checkbox": ".widget-interact .widget-checkbox input[type=checkbox]",
    "dropdown": ".widget-interact .widget-dropdown select",
    "text": ".widget-interact .widget-text input[type=text], .widget-interact .widget-textarea textarea",
    "number": ".widget-interact .widget-text input[type=number]",
    "toggle": ".widget-interact .widget-toggle-buttons",
    "radio": ".widget-interact .widget-radio-box",
}


def controls(node) -> list[tuple[str, int]]:
    """(kind, index among that kind) of every control of the explorers in a cell node."""
    found = []
    for kind, selector in CONTROLS.items():
        found += [(kind, i) for i in range(len(node.query_selector_all(selector)))]
    return found


def control_label(node, kind: str, i: int) -> str:
    el = node.query_selector_all(CONTROLS[kind])[i]
    return el.evaluate("""e => { const w = e.closest('.widget-inline-hbox, .jupyter-widgets');
                              const texts = w ? Array.from(w.querySelectorAll('label, .widget-label'))
                                  .map(l => l.textContent.replace(/\u200b/g, '').trim()).filter(t => t) : [];
                              return texts.length ? texts[0] : ''; }""")


def change(page, node, kind: str, i: int) -> str:
    """Change one control the way a student would; returns what was done."""
    el = node.query_selector_all(CONTROLS[kind])[i]
    el.scroll_into_view_if_needed()
    if kind == "slider":
        at_max = el.evaluate("e => e.getAttribute('aria-valuenow') === e.getAttribute('aria-valuemax')")
        key = "ArrowLeft" if at_max else "ArrowRight"
        el.focus()
        page.keyboard.press(key)
        return key
    if kind == "checkbox":
        el.click()
        return "click"
    if kind == "dropdown":
        options = el.evaluate("e => Array.from(e.options).map(o => o.value)")
        current = el.evaluate("e => e.value")
        choice = next(o for o in options if o != current)
        el.select_option(choice)
        return f"select {choice}"
    if kind == "text":
        value = el.input_value()
        new = value + (value[:1] or "a")  # same alphabet as what was there
        el.fill(new)
        el.press("Enter")
        return f"type {new!r}"
    if kind == "number":
        el.focus()
        page.keyboard.press("ArrowUp")
        el.press("Enter")
        return "ArrowUp"
    if kind == "toggle":
        el.query_selector("button:not(.mod-active)").click()
        return "click other button"
    if kind == "radio":
        el.query_selector("input:not(:checked)").click()
        return "click other option"
    raise ValueError(f"unknown control kind {kind!r}")


def kernel_idle_twice(page, timeout_s: float) -> None:
    deadline, before = time.monotonic() + timeout_s, False
    while time.monotonic() < deadline:
        idle = page.evaluate(JS_STATE)["kernel"] == "idle"
        if idle and before:
            return
        before = idle
        time.sleep(0.1)
    raise TimeoutError(f"kernel still busy after {timeout_s} s")
