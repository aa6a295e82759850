"""Progress bars that read well live in JupyterLab and in a saved, executed notebook.

``from seqcourse.progress import tqdm`` is a drop-in for ``from tqdm.auto import tqdm``.

Why not tqdm.auto itself?  In a notebook, tqdm draws an ipywidgets bar and saves, next to
it, a plain-text copy of the bar *as it was when it appeared*: "0%| | 0/50".  A viewer
without the live widget (GitHub, the course's website, a notebook executed by CI and
opened later) shows that copy, so every finished loop looks stuck at 0%.

Here the bar is shown under a display id; when the loop ends, the display is updated
in place:

- ``leave=True``: the finished widget, with a plain-text line ``"desc: 50/50 done"``
  (no timing, so two runs of a notebook save the same text);
- ``leave=False``: nothing (the bar disappears, live and saved).

Outside a notebook this is tqdm's ordinary terminal bar.
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm as _auto
from tqdm.notebook import tqdm as _notebook

__all__ = ["tqdm", "finished_text"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def finished_text(desc: str | None, n: int, total: int | float | None) -> str:
    """The text a finished bar leaves behind, e.g. ``"Baum-Welch: 50/50 done"``."""
    count = f"{n}/{int(total)}" if total else f"{n}"
    return f"{desc}: {count} done" if desc else f"{count} done"


class _NotebookBar(_auto if issubclass(_auto, _notebook) else _notebook):  # type: ignore[misc]
    """tqdm.auto's notebook bar, shown under a display id and replaced when it closes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["display"] = False
        self._handle = None
        super().__init__(*args, **kwargs)
        if self.disable or not hasattr(self, "container"):
            return
        from IPython.display import display

        self._handle = display(self.container, display_id=True)
        self.displayed = True

    def close(self) -> None:
        if self.disable or getattr(self, "_closed_display", False):
            return
        super().close()
        self._closed_display = True
        if self._handle is None:
            return
        if self.leave:
            early = bool(self.total) and self.n < self.total
            bundle = {"text/plain": finished_text(self.desc, self.n, self.total)
                      + (" (stopped early)" if early else "")}
            if getattr(self.container, "model_id", None):
                bundle[WIDGET_MIME] = {"version_major": 2, "version_minor": 0,
                                       "model_id": self.container.model_id}
        else:
            bundle = {"text/plain": ""}
        self._handle.update(bundle, raw=True)


tqdm = _NotebookBar if issubclass(_auto, _notebook) else _auto
