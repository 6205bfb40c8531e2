"""The one progress renderer of the ``seld`` commands: tqdm bars on a terminal, plain lines otherwise.

Every long command (``seld infer``, ``seld eval``, ``seld train``) turns the events of its
core job (:mod:`core.common.progress`) into calls of one :class:`ProgressRenderer`:
:meth:`~ProgressRenderer.update` with a label (what is being worked on), a
:class:`~core.common.progress.Progress` and an optional note, :meth:`~ProgressRenderer.write`
for a line of its own, :meth:`~ProgressRenderer.close` when a label's work ends.

On a terminal a `tqdm <https://tqdm.github.io>`_ bar shows the label, the stage, the units
done, the rate and the time left, and is cleared when it closes; lines are written above
it. When stderr is not a terminal (a log file, a pipe, CI), a plain line is written when
the label or the stage changes, when a stage completes, and otherwise at most every
``interval_s`` seconds.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from core.common.progress import Progress

__all__ = ["ProgressRenderer", "show_batch_event"]


class ProgressRenderer:
    """Draws progress on ``stream`` (default: stderr); see the module docstring."""

    def __init__(self, stream: TextIO | None = None, *, interval_s: float = 10.0):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s
        self._bar: Any = None  # the tqdm bar on a terminal
        self._label: str | None = None
        self._stage: str | None = None
        self._last_line = -float("inf")

    def update(self, label: str, progress: Progress, note: str = "") -> None:
        """``progress`` of the work on ``label``; ``note`` (a loss, ...) is shown beside it."""
        if self.tty:
            self._draw(label, progress, note)
            return
        now = time.monotonic()
        new = label != self._label or progress.stage != self._stage
        complete = progress.done >= progress.total
        self._label, self._stage = label, progress.stage
        if new or complete or now - self._last_line >= self.interval_s:
            self._last_line = now
            text = (
                f"{label}: {progress.stage} {progress.done}/{progress.total} ({100 * progress.fraction:.0f}%)"
            )
            print(f"{text} {note}" if note else text, file=self.stream, flush=True)

    def _draw(self, label: str, progress: Progress, note: str) -> None:
        from tqdm import tqdm

        if self._bar is None or label != self._label:
            self.close()
            columns, rows = self._size()
            self._bar = tqdm(
                total=progress.total,
                desc=label[:40],
                file=self.stream,
                leave=False,
                ncols=columns,
                nrows=rows,
                unit="",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
            )
            self._label = label
        bar = self._bar
        if bar.total != progress.total:
            bar.total = progress.total
        self._stage = progress.stage
        bar.set_postfix_str(f"{progress.stage} {note}".strip(), refresh=False)
        bar.update(progress.done - bar.n)

    def _size(self) -> tuple[int, int]:
        """The terminal's columns and lines (a new bar fits the terminal as it is then); 100 x 24 when
        it says none (tqdm draws nothing on a terminal of 0 lines)."""
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (AttributeError, OSError, ValueError):
            return 100, 24
        return size.columns or 100, size.lines or 24

    def write(self, text: str) -> None:
        """A line of its own (above the bar on a terminal)."""
        if self._bar is not None:
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """End the current label's bar (cleared from a terminal)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._label = self._stage = None


def show_batch_event(renderer: ProgressRenderer, event: object) -> None:
    """A batch job's event (:mod:`core.inference.batch`): a bar per file, ``[i/n] name``, ended with the file."""
    from core.inference.batch import FileDone, FileFailed, FileProgress

    if isinstance(event, FileProgress):
        renderer.update(f"[{event.index + 1}/{event.count}] {event.path.name}", event.progress)
    elif isinstance(event, (FileDone, FileFailed)):
        renderer.close()
