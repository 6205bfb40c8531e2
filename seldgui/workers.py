"""Run core work off the GUI thread: a QRunnable whose result comes back as a Qt signal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.common.errors import SeldError


class _WorkerSignals(QObject):
    finished = Signal(object)
    failed = Signal(str)
    crashed = Signal(str)


class FunctionWorker(QRunnable):
    """Calls ``fn()`` in the thread pool; ``signals.finished(result)`` or ``signals.failed(msg)``.

    A :class:`SeldError` is a user-facing failure (``failed``); anything else is a bug
    (``crashed``) that the window logs and reports briefly.
    """

    def __init__(self, fn: Callable[[], Any]):
        super().__init__()
        self.fn = fn
        self.signals = _WorkerSignals()

    def run(self) -> None:  # runs in a pool thread
        s = self.signals
        try:
            _report(self.fn, s.finished.emit, s.failed.emit, s.crashed.emit)
        except RuntimeError as err:
            if "deleted" not in str(err):  # the window that asked is gone: nobody to tell
                raise


def _report(
    fn: Callable[[], Any],
    finished: Callable[[Any], None],
    failed: Callable[[str], None],
    crashed: Callable[[str], None],
) -> None:
    """Run ``fn``; its result goes to ``finished``, a SeldError's message to ``failed``, any
    other exception's traceback to ``crashed``."""
    try:
        result = fn()
    except SeldError as err:
        failed(str(err))
    except Exception as err:  # noqa: BLE001 - reported to the GUI thread
        import traceback

        crashed("".join(traceback.format_exception(type(err), err, err.__traceback__)))
    else:
        finished(result)


def start(worker: FunctionWorker) -> None:
    QThreadPool.globalInstance().start(worker)


_CANCELLED = object()


class _TaskSignals(QObject):
    progress = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(str)
    crashed = Signal(str)
    cancelled = Signal()


class TaskWorker(QRunnable):
    """Runs ``fn(progress, cancel)`` in the thread pool; reports progress; can be cancelled.

    ``fn`` receives a ``progress(done, total, stage)`` callback and a ``cancel()`` poll
    (the :mod:`core.common.progress` conventions) and raises :class:`core.common.progress.Cancelled`
    when it stops early. :meth:`cancel` is called from the GUI thread.
    """

    def __init__(self, fn: Callable[[Callable[[int, int, str], None], Callable[[], bool]], Any]):
        super().__init__()
        self.fn = fn
        self.signals = _TaskSignals()
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True

    def run(self) -> None:  # runs in a pool thread
        from core.common.progress import Cancelled

        def call():
            try:
                return self.fn(self.signals.progress.emit, lambda: self._cancel)
            except Cancelled:
                self.signals.cancelled.emit()
                return _CANCELLED

        s = self.signals

        def finished(result: Any) -> None:
            if result is not _CANCELLED:
                s.finished.emit(result)

        _report(call, finished, s.failed.emit, s.crashed.emit)
