"""Run core work off the GUI thread: a QRunnable whose result comes back as a Qt signal.

:func:`submit` is the short way: ``fn`` runs in the thread pool and exactly one of the
callbacks runs afterwards on the GUI thread (through a :class:`Job`, a QObject whose bound
slots Qt queues to the thread it lives in).

While any work runs in the pool, Python's automatic garbage collection is off and the GUI
thread collects on a timer instead (:class:`_GuiThreadGarbage`): the collector runs in
whichever thread happens to allocate, and collecting the wrapper of a Qt object there
destroys the object in the wrong thread (a crash, or a deadlock with the GUI thread, as
happens to a closed window whose deletion is still pending).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from core.common.errors import SeldError

log = logging.getLogger("seldgui")


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
        finally:
            _GARBAGE.work_ended()


def _report(
    fn: Callable[[], Any],
    finished: Callable[[Any], None],
    failed: Callable[[str], None],
    crashed: Callable[[str], None],
) -> None:
    """Run ``fn``; its result goes to ``finished``, a SeldError's message (or the want of torch)
    to ``failed``, any other exception's traceback to ``crashed``."""
    try:
        result = fn()
    except SeldError as err:
        failed(str(err))
    except ModuleNotFoundError as err:
        from core.common.optional import is_torch_missing, torch_missing_message

        if not is_torch_missing(err):
            import traceback

            crashed("".join(traceback.format_exception(type(err), err, err.__traceback__)))
        else:  # a bundle without torch (make package-lean): what needs it says so
            failed(torch_missing_message())
    except Exception as err:  # noqa: BLE001 - reported to the GUI thread
        import traceback

        crashed("".join(traceback.format_exception(type(err), err, err.__traceback__)))
    else:
        finished(result)


class _GuiThreadGarbage:
    """Automatic garbage collection off while pool work runs; the GUI thread collects instead."""

    INTERVAL_MS = 500

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._disabled_here = False
        self._timer: QTimer | None = None

    def work_started(self) -> None:  # the GUI thread, as work is handed to the pool
        with self._lock:
            self._running += 1
            if self._running == 1 and gc.isenabled():
                gc.disable()
                self._disabled_here = True
        if self._timer is None and QCoreApplication.instance() is not None:
            self._timer = QTimer(QCoreApplication.instance())
            self._timer.setInterval(self.INTERVAL_MS)
            self._timer.timeout.connect(self.collect)
            self._timer.start()

    def work_ended(self) -> None:  # the pool thread, as the last thing it does
        with self._lock:
            self._running -= 1
            if self._running == 0 and self._disabled_here:
                self._disabled_here = False
                gc.enable()

    def collect(self) -> None:  # the GUI thread: what automatic collection would have done
        if not self._disabled_here:
            return
        thresholds, counts = gc.get_threshold(), gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


_GARBAGE = _GuiThreadGarbage()


def start(worker: FunctionWorker | TaskWorker | JobWorker) -> None:
    """Hand ``worker`` to the thread pool (from the GUI thread)."""
    _GARBAGE.work_started()
    QThreadPool.globalInstance().start(worker)


def start_for(owner: Any, worker: TaskWorker | JobWorker) -> None:
    """Start a cancellable ``worker`` on behalf of a controller ``owner``.

    Its outcome signals go to the owner's ``_on_finished``, ``_on_failed``, ``_on_crashed``
    and ``_on_cancelled``; the worker is kept as ``owner.worker`` (so ``owner.cancel()`` can
    reach it) and ``owner.started`` is emitted before it is handed to the pool.
    """
    s = worker.signals
    s.finished.connect(owner._on_finished)
    s.failed.connect(owner._on_failed)
    s.crashed.connect(owner._on_crashed)
    s.cancelled.connect(owner._on_cancelled)
    owner.worker = worker
    owner.started.emit()
    start(worker)


_UNOWNED: set[Job] = set()  # jobs without an owner, kept alive until they report


class Job(QObject):
    """One call of ``fn`` in the thread pool; its outcome is delivered once, on the GUI thread.

    ``on_finished(result)``, ``on_failed(message)`` (a :class:`SeldError`) or
    ``on_crashed(traceback)`` (anything else; logged when no callback is given) runs, then
    ``ended`` is emitted, whatever the outcome (for counts of work in progress).
    """

    ended = Signal()

    def __init__(self, fn, on_finished, on_failed=None, on_crashed=None, owner: QObject | None = None):
        super().__init__(owner)
        self._callbacks = (on_finished, on_failed, on_crashed)
        self.worker = FunctionWorker(fn)
        self.worker.signals.finished.connect(self._on_finished)
        self.worker.signals.failed.connect(self._on_failed)
        self.worker.signals.crashed.connect(self._on_crashed)
        if owner is None:
            _UNOWNED.add(self)

    @Slot(object)
    def _on_finished(self, result) -> None:
        self._deliver(0, result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._deliver(1, message)

    @Slot(str)
    def _on_crashed(self, details: str) -> None:
        self._deliver(2, details)

    def _deliver(self, which: int, value) -> None:
        callback = self._callbacks[which]
        try:
            if callback is not None:
                callback(value)
            elif which == 1:
                log.warning("background work failed: %s", value)
            elif which == 2:
                log.error("background work crashed:\n%s", value)
        finally:
            _UNOWNED.discard(self)
            self.ended.emit()
            self.deleteLater()


def submit(fn, on_finished, on_failed=None, on_crashed=None, owner: QObject | None = None) -> Job:
    """Run ``fn()`` in the thread pool; see :class:`Job` for what comes back and where."""
    job = Job(fn, on_finished, on_failed, on_crashed, owner)
    start(job.worker)
    return job


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

        try:
            _report(call, finished, s.failed.emit, s.crashed.emit)
        finally:
            _GARBAGE.work_ended()


class _JobSignals(QObject):
    event = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    crashed = Signal(str)
    cancelled = Signal()


class JobWorker(QRunnable):
    """Drives a core job (:mod:`core.common.progress`) in the thread pool, forwarding each event.

    ``make_job()`` runs in the pool thread and returns the job (a generator: opening a model
    there keeps its start-up off the GUI thread too). Every event the job yields goes to the
    GUI thread as ``signals.event(event)``, in order; then exactly one of ``finished(result)``
    (the job's return value), ``failed(message)`` (a :class:`SeldError`), ``crashed(traceback)``
    (anything else) or ``cancelled()``. :meth:`cancel` (from the GUI thread) stops the job at
    its next ``yield`` by closing the generator: what it completed before stays.
    """

    def __init__(self, make_job: Callable[[], Any]):
        super().__init__()
        self.make_job = make_job
        self.signals = _JobSignals()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _drive(self) -> Any:
        job = self.make_job()
        emit = self.signals.event.emit
        try:
            while True:
                if self._cancel.is_set():
                    job.close()
                    return _CANCELLED
                try:
                    event = next(job)
                except StopIteration as stop:
                    return stop.value
                emit(event)
        finally:
            job.close()

    def run(self) -> None:  # runs in a pool thread
        s = self.signals

        def finished(result: Any) -> None:
            if result is _CANCELLED:
                s.cancelled.emit()
            else:
                s.finished.emit(result)

        try:
            _report(self._drive, finished, s.failed.emit, s.crashed.emit)
        except RuntimeError as err:
            if "deleted" not in str(err):  # the window that asked is gone: nobody to tell
                raise
        finally:
            _GARBAGE.work_ended()
