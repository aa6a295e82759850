"""Run a notebook's instructor cells in this process: IPython without a Jupyter kernel.

A Jupyter kernel is a process that runs cells for a client over ZeroMQ; for
grading, the client (nbclient) and the kernel would be two more processes per
submission, and every cell a dozen protocol messages.  The grading process
forked from the warm template (:mod:`gradebox.warm`) runs the cells itself,
with the same IPython that a kernel uses (:class:`GradingShell`, an
``InteractiveShell``), and records for each cell what a kernel would have sent:

    stream          what the cell printed (stdout, stderr)
    display_data    what it displayed (``display(Image(...))``)
    execute_result  the value of its last line
    error           ename, evalue and the traceback lines, when it raised

so the executed notebook is the one nbclient would have produced (scores read
from it are the same: ``test_warm_parallel_scores_equal_cold_serial``).  A cell
that runs longer than its limit is interrupted (``KeyboardInterrupt``, as a
kernel interrupt) and ends with nbclient's ``CellTimeoutError`` output.

Only instructor code runs here (the set-up and test cells, and the grader's
calls into the sandboxed student process, :mod:`gradebox.client`).
"""

from __future__ import annotations

import io
import platform
import signal
import sys
from typing import Any

import nbformat
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from nbformat import NotebookNode

__all__ = ["GradingShell", "shell", "run_cells", "LANGUAGE_INFO"]

#: What ipykernel reports as the notebook's ``language_info``.
LANGUAGE_INFO = {"name": "python", "version": platform.python_version(),
                 "mimetype": "text/x-python", "codemirror_mode": {"name": "ipython", "version": 3},
                 "pygments_lexer": "ipython3", "nbconvert_exporter": "python",
                 "file_extension": ".py"}


class _Stream(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` while a cell runs: text becomes stream outputs."""

    def __init__(self, shell: "GradingShell", name: str) -> None:
        self.shell, self.name = shell, name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        if text:
            outputs = self.shell.cell_outputs
            last = outputs[-1] if outputs else None
            if last is not None and last.output_type == "stream" and last.name == self.name:
                last.text += text
            else:
                outputs.append(nbformat.v4.new_output("stream", name=self.name, text=text))
        return len(text)


class _Hook(DisplayHook):
    """The value of a cell's last line becomes an ``execute_result`` output."""

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict: dict, md_dict: dict | None = None) -> None:
        self.shell.cell_outputs.append(nbformat.v4.new_output(
            "execute_result", data=format_dict, metadata=md_dict or {},
            execution_count=self.shell.execution_count))

    def finish_displayhook(self) -> None:
        self._is_active = False


class _Publisher(DisplayPublisher):
    """``display(...)`` becomes a ``display_data`` output."""

    def publish(self, data: dict, metadata: dict | None = None, source: Any = None, *,
                transient: dict | None = None, update: bool = False, **kw: Any) -> None:
        self.shell.cell_outputs.append(nbformat.v4.new_output(
            "display_data", data=data, metadata=metadata or {}))

    def clear_output(self, wait: bool = False) -> None:
        self.shell.cell_outputs.clear()


class GradingShell(InteractiveShell):
    """IPython's shell with each cell's outputs collected as notebook outputs."""

    displayhook_class = _Hook
    display_pub_class = _Publisher

    def __init__(self, **kw: Any) -> None:
        self.cell_outputs: list[NotebookNode] = []
        super().__init__(**kw)

    def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        self.cell_outputs.append(nbformat.v4.new_output(
            "error", ename=str(etype.__name__), evalue=str(evalue), traceback=list(stb)))

    def enable_gui(self, gui: str | None = None) -> None:   # no event loop to integrate
        pass


_SHELL: Any = None


def shell() -> Any:
    """The process's one :class:`GradingShell` (no history file, no colours)."""
    global _SHELL
    if _SHELL is None:
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "nocolor"
        config.InteractiveShell.autocall = 0
        config.InteractiveShell.xmode = "Plain"   # Python's own traceback: the verbose one costs ~15 ms per failing cell
        _SHELL = GradingShell.instance(config=config)
    return _SHELL


def _run_one(sh: Any, source: str, seconds: float) -> tuple[list[NotebookNode], int]:
    """Run one cell; its outputs and execution count."""
    sh.cell_outputs = []
    fired = []

    def alarm(signum: int, frame: Any) -> None:
        fired.append(True)
        raise KeyboardInterrupt(f"the cell ran longer than {seconds:g} s")

    saved = sys.stdout, sys.stderr
    old = signal.signal(signal.SIGALRM, alarm)
    sys.stdout, sys.stderr = _Stream(sh, "stdout"), _Stream(sh, "stderr")
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            sh.run_cell(source, store_history=True, silent=False)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except KeyboardInterrupt:      # fired between run_cell's own handlers
        pass
    finally:
        sys.stdout, sys.stderr = saved
        signal.signal(signal.SIGALRM, old)
    outputs = sh.cell_outputs
    if fired:
        outputs = [o for o in outputs if not (o.output_type == "error"
                                              and o.ename == "KeyboardInterrupt")]
        message = f"the cell ran longer than {seconds:g} s"
        outputs.append(nbformat.v4.new_output("error", ename="CellTimeoutError", evalue=message,
                                              traceback=[f"CellTimeoutError: {message}"]))
    return outputs, sh.execution_count - 1


def run_cells(nb: NotebookNode, cell_seconds: float) -> NotebookNode:
    """Run every code cell of ``nb`` in order, in this process, errors allowed (a
    failing cell does not stop the next); outputs and execution counts are set in
    place, as nbclient would set them.  Returns ``nb``."""
    sh = shell()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = _run_one(sh, cell.source, cell_seconds)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    return nb
