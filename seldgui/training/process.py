"""A training run in its own process, and a follower of its run folder.

:func:`launch` starts ``train_command(...)`` in a session of its own: the run survives the
window (closing the app may keep it training; it is found again next start).
Its standard output (the same JSON lines as ``events.jsonl``) is dropped; its standard
error goes to :data:`STDERR_FILE`, a hidden file in the run folder, so that a process that
dies before it can say so in ``train.log`` (a Python that cannot start) still tells why.

:class:`RunFollower` reads the run folder's ``events.jsonl`` from the start and then every
:attr:`RunFollower.INTERVAL_MS`, complete lines only (:meth:`RunFolder.follow_events`), so a
run started by this page, by the command line, or before the app restarted is followed the
same way; it says when the run's process has ended, and how (the run's ``status.json``).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

import core
from core.common.errors import SeldError
from core.common.processes import is_frozen, process_gone
from core.training.run_folder import RunFolder

STDERR_FILE = ".gui-stderr.log"
"""Where a run started by the page writes its standard error (hidden: not one of the run's files)."""

REPO_ROOT = Path(core.__file__).resolve().parents[1]


_CHILDREN: dict[int, subprocess.Popen] = {}  # started here: polled so that an ended one is reaped


def launch(command: list[str], run_dir: Path) -> int:
    """Start ``command`` in a session of its own, in the folder that holds ``core`` (in a frozen bundle:
    the run folder); returns its process id.

    Not a child ``QProcess``: its object kills the process when it goes (the window closing),
    and PySide6's ``QProcess.startDetached()`` does not hand back the process id. A
    :class:`SeldError` naming the program when it cannot be started.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        with open(run_dir / STDERR_FILE, "ab") as stderr:
            child = subprocess.Popen(
                command,
                # a bundle's seld needs no source folder, and nothing may land inside the bundle
                cwd=run_dir if is_frozen() else REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
    except OSError as err:
        raise SeldError(f"cannot start the training process ({err.strerror or err})", command[0]) from None
    _CHILDREN[child.pid] = child
    return child.pid


def pid_gone(pid: int) -> bool:
    """The process ``pid`` has ended (a child started here is reaped on the way; a zombie
    counts as ended, :func:`core.common.processes.process_gone`)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return True
    return process_gone(pid)


def stderr_tail(run_dir: Path, n: int = 12) -> list[str]:
    """The last ``n`` lines a page-started process wrote on its standard error."""
    try:
        text = (run_dir / STDERR_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-n:]


class RunFollower(QObject):
    """Follows one run folder: ``event(TrainEvent)`` for each new complete line of ``events.jsonl``,
    then ``ended(state)`` once its process is gone (``finished``, ``stopped``, ``failed``; a run
    that died says ``stopped``, as a list of runs shows it).

    ``pid``: the process this page started (its end is watched directly); ``None`` follows a
    run found running, whose end ``status.json`` tells. ``from_offset``: where to start
    reading (0: the whole history).
    """

    event = Signal(object)
    ended = Signal(str)

    INTERVAL_MS = 150

    def __init__(
        self, run_dir: Path, pid: int | None = None, from_offset: int = 0, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.folder = RunFolder(run_dir)
        self.pid = pid
        self.offset = from_offset
        self.done = False
        self.launched_at = time.time()
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        if not self.done:
            self._timer.start()

    def stop(self) -> None:
        """Stop following (the run itself goes on)."""
        self._timer.stop()
        self.done = True

    def read_new(self) -> None:
        for event, offset in self.folder.follow_events(self.offset):
            self.offset = offset
            self.event.emit(event)

    def poll(self) -> None:
        if self.done:
            return
        finished = self._process_ended()  # asked before reading: every line it wrote is then read
        self.read_new()
        if finished is not None:
            self._timer.stop()
            self.done = True
            self.ended.emit(finished)

    def _process_ended(self) -> str | None:
        """How the run ended, or ``None`` while its process goes on."""
        try:
            status = self.folder.status()
        except SeldError:
            status = None
        if self.pid is not None:
            if not pid_gone(self.pid):
                return None
            if status is not None and status.state == "running" and status.pid == self.pid:
                return "stopped"  # it died (killed): shown as stopped, and it can be resumed
            if status is not None and status.since is not None and status.since >= self.launched_at - 1.0:
                return status.shown_state
            return "failed"  # gone before it took the folder: it could not start
        if status is None:
            return None
        if status.state == "running":
            if status.alive is False or (status.pid is not None and status.alive and pid_gone(status.pid)):
                return "stopped"
            return None
        return status.shown_state
