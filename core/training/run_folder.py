"""The run folder of a training run: the one place that knows its layout.

* ``config.json``: the resolved :class:`~core.training.config.TrainConfig`;
* ``scaler.json``: the feature scaler fitted on the training folds;
* ``metrics.csv``: one row per validation evaluation (:data:`METRICS_COLUMNS`);
* ``test_metrics.csv``: the test folds at each evaluation (``optim.eval_test_every_time``);
* ``best.safetensors``: the model package of the best validation evaluation;
* ``last.*``, ``last.prev.*``: the newest checkpoint and the one before
  (:mod:`core.training.checkpoint`);
* ``summary.json``: the summary of the last invocation that ended normally;
* ``train.log``: what every invocation did, one timestamped line each (appended);
* ``events.jsonl``: every invocation's events, one JSON object a line (appended;
  :mod:`core.training.events`, ``docs/EVENTS.md``);
* ``status.json``: ``running`` (with the process id), ``stopped``, ``finished`` or ``failed``;
* ``STOP``: asks the running trainer to stop after its current step;
* ``launch.json``: the configuration a launcher (the GUI's training tab) asked for, which
  ``seld train --config`` read (:mod:`core.training.launch`); ``config.json`` is the resolved one.

The trainer, ``seld train``, the experiments and the GUI read and write these files only
through :class:`RunFolder`. Files a user keeps (configuration, metrics, summary, status)
are written atomically; ``train.log`` and ``events.jsonl`` are appended to, and a reader
skips a torn last line (a process killed while writing it).
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the machine key and process probe of the atomic writer's stale-file rule: a pid means something
# only on the machine (boot, pid namespace) that wrote it
from core.common.atomic import atomic_write_text
from core.common.errors import SeldError
from core.common.processes import MACHINE_KEY, process_gone
from core.training.config import TrainConfig
from core.training.events import TrainEvent, event_from_json

__all__ = [
    "LAST",
    "METRICS",
    "METRICS_COLUMNS",
    "METRICS_FILES",
    "PREVIOUS",
    "STATES",
    "TEST_METRICS",
    "RunFolder",
    "RunStatus",
]

METRICS_COLUMNS = ("epoch", "step", "train_loss", "val_loss", "ER", "F", "LE", "LR", "SELD", "lr", "seconds")
"""The columns of ``metrics.csv`` and ``test_metrics.csv``."""
METRICS = "metrics.csv"
TEST_METRICS = "test_metrics.csv"
METRICS_FILES = (METRICS, TEST_METRICS)
"""The per-evaluation files: their rows are recorded in every checkpoint and agree with it."""
LAST = "last"
"""The newest checkpoint set's name (``last.safetensors``, ``last.state.*``)."""
PREVIOUS = "last.prev"
"""The checkpoint set before it."""
STATES = ("running", "stopped", "finished", "failed")
"""What ``status.json`` says of a run."""


@dataclass(frozen=True)
class RunStatus:
    """What ``status.json`` says: ``state`` (one of :data:`STATES`), and of a running run its
    process ``pid`` on ``host``; ``since`` (seconds since the epoch) is when that state began,
    ``message`` why a run failed.

    ``alive`` is whether the process still exists: ``True``/``False`` on the machine that
    wrote the status (a process that got the same id later, with another start time, is not
    it), ``None`` elsewhere (it cannot be told) and when no pid is recorded. A ``running``
    run whose process is gone was killed: it can be resumed.
    """

    state: str
    pid: int | None = None
    host: str | None = None
    since: float | None = None
    message: str | None = None
    alive: bool | None = None

    @property
    def running(self) -> bool:
        """The run is being trained now (as far as can be told)."""
        return self.state == "running" and self.alive is not False

    @property
    def died(self) -> bool:
        """The run's process is gone without saying so (killed, crashed, out of memory): ``--resume`` goes on
        from its last checkpoint."""
        return self.state == "running" and self.alive is False

    @property
    def shown_state(self) -> str:
        """The state to show a user: ``stopped`` for a run that :attr:`died`, else :attr:`state`."""
        return "stopped" if self.died else self.state


class RunFolder:
    """The files of one training run in ``path`` (see the module docstring)."""

    CONFIG = "config.json"
    SCALER = "scaler.json"
    BEST = "best.safetensors"
    SUMMARY = "summary.json"
    LOG = "train.log"
    EVENTS = "events.jsonl"
    STATUS = "status.json"
    STOP = "STOP"
    LAUNCH = "launch.json"

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def file(self, name: str) -> Path:
        """The path of a file of the run (one of the names above, or :data:`METRICS_FILES`)."""
        return self.path / name

    @property
    def best_path(self) -> Path:
        return self.path / self.BEST

    @property
    def last_path(self) -> Path:
        """The weights (a model package) of the newest checkpoint."""
        return self.checkpoint_files(LAST)[0]

    def checkpoint_files(self, name: str = LAST) -> tuple[Path, Path, Path]:
        """``(weights, state tensors, state JSON)`` of the checkpoint set ``name`` (:data:`LAST`, :data:`PREVIOUS`)."""
        return (
            self.path / f"{name}.safetensors",
            self.path / f"{name}.state.safetensors",
            self.path / f"{name}.state.json",
        )

    def has_checkpoint(self) -> bool:
        """Whether a checkpoint was ever completed here (a state JSON of either set exists)."""
        return any(self.checkpoint_files(name)[2].exists() for name in (LAST, PREVIOUS))

    def is_run(self) -> bool:
        """Whether the folder holds a run (its configuration or its status)."""
        return (self.path / self.CONFIG).is_file() or (self.path / self.STATUS).is_file()

    def checkpoint_position(self) -> dict[str, Any] | None:
        """The loop position the newest readable checkpoint state records (``epoch``, ``step``,
        ``best_seld``, ``best_step``, ...; ``None``: none can be read). For showing a run, not for
        resuming it (:func:`core.training.checkpoint.latest_checkpoint` checks the whole set)."""
        for name in (LAST, PREVIOUS):
            try:
                state = json.loads(self.checkpoint_files(name)[2].read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            loop = state.get("loop") if isinstance(state, dict) else None
            if isinstance(loop, dict) and isinstance(loop.get("step"), int):
                return loop
        return None

    # ------------------------------------------------------------------ configuration
    def has_config(self) -> bool:
        return (self.path / self.CONFIG).exists()

    def read_config(self) -> TrainConfig:
        return TrainConfig.load(self.path / self.CONFIG)

    def write_config(self, config: TrainConfig) -> None:
        atomic_write_text(self.path / self.CONFIG, config.to_json())

    def read_scaler(self) -> dict[str, Any] | None:
        """The saved feature scaler's dictionary (``None`` when there is none)."""
        path = self.path / self.SCALER
        return json.loads(path.read_text()) if path.exists() else None

    def write_scaler(self, scaler: dict[str, Any]) -> None:
        atomic_write_text(self.path / self.SCALER, json.dumps(scaler))

    # ------------------------------------------------------------------ metrics
    def metrics(self, test: bool = False) -> list[dict[str, float]]:
        """The rows of ``metrics.csv`` (``test``: ``test_metrics.csv``) as numbers by column.

        ``[]`` when there is no file; a cell that is empty or not a number is left out of its row.
        """
        path = self.path / (TEST_METRICS if test else METRICS)
        if not path.exists():
            return []
        rows = []
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                values: dict[str, float] = {}
                for key, text in row.items():
                    try:
                        values[str(key)] = float(text)
                    except (TypeError, ValueError):
                        continue
                rows.append(values)
        return rows

    def metrics_rows_up_to(self, name: str, step: int) -> list[list[str]]:
        """The rows (as text) of a metrics file with step <= ``step``, each step once (first occurrence).

        A torn or foreign line is skipped; a file with other columns, or not CSV, is refused.
        """
        path = self.path / name
        if not path.exists():
            return []
        rows: list[list[str]] = []
        seen: set[int] = set()
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is not None and tuple(header) != METRICS_COLUMNS:
                raise SeldError(
                    f"unexpected columns {','.join(header)}; the file cannot be made to agree with the "
                    "run's checkpoint",
                    path,
                )
            try:
                for row in reader:
                    try:
                        row_step = int(row[1])
                    except (IndexError, ValueError):
                        continue  # a torn or foreign line: the checkpoint's rows are what counts
                    if len(row) == len(METRICS_COLUMNS) and row_step <= step and row_step not in seen:
                        seen.add(row_step)
                        rows.append(row)
            except csv.Error as err:
                raise SeldError(
                    f"cannot be read as CSV ({err}); the rows up to the run's checkpoint cannot be kept", path
                ) from None
        return rows

    @staticmethod
    def metrics_text(rows: Iterable[list[str]]) -> str:
        """The text of a metrics file holding ``rows`` (cells as text, in :data:`METRICS_COLUMNS` order)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(METRICS_COLUMNS)
        writer.writerows(rows)
        return buf.getvalue()

    def write_metrics(self, name: str, rows: list[list[str]]) -> None:
        """Write a metrics file holding exactly ``rows`` (atomically); no rows: no file."""
        path = self.path / name
        if rows:
            atomic_write_text(path, self.metrics_text(rows))
        else:
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ summary, log, events
    def read_summary(self) -> dict[str, Any] | None:
        path = self.path / self.SUMMARY
        return json.loads(path.read_text()) if path.exists() else None

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.path / self.SUMMARY, json.dumps(summary, indent=2))

    def log_tail(self, n: int = 20) -> list[str]:
        """The last ``n`` lines of ``train.log`` (read from its end; ``[]`` when there is none)."""
        path = self.path / self.LOG
        try:
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                block = b""
                start = size
                while start > 0 and block.count(b"\n") <= n:
                    start = max(0, start - 65536)
                    fh.seek(start)
                    block = fh.read(size - start)
        except OSError:
            return []
        lines = block.decode("utf-8", errors="replace").splitlines()
        if start > 0:
            lines = lines[1:]  # the line the block starts inside
        return lines[-n:] if n > 0 else []

    def append_log(self, message: str) -> None:
        """Append a timestamped line to ``train.log``."""
        with open(self.path / self.LOG, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def append_event(self, event: TrainEvent) -> None:
        """Append one event to ``events.jsonl`` (flushed; one ``write`` of one whole line)."""
        with open(self.path / self.EVENTS, "a", encoding="utf-8") as fh:
            fh.write(event.to_json() + "\n")

    def last_events(self, max_bytes: int = 65536) -> list[TrainEvent]:
        """The events of the complete lines in the last ``max_bytes`` of ``events.jsonl`` (the newest
        ones, cheaply, for a list of runs)."""
        path = self.path / self.EVENTS
        try:
            size = path.stat().st_size
        except OSError:
            return []
        start = max(0, size - max_bytes)
        if start > 0:
            with open(path, "rb") as fh:
                fh.seek(start - 1)
                if fh.read(1) != b"\n":  # the block starts inside a line: from the next one
                    fh.readline()
                start = fh.tell()
        return [event for event, _ in self.follow_events(start)]

    def read_events(self, start: int = 0) -> list[TrainEvent]:
        """The events of ``events.jsonl`` from byte offset ``start`` (see :meth:`follow_events`)."""
        return [event for event, _ in self.follow_events(start)]

    def follow_events(self, start: int = 0) -> Iterator[tuple[TrainEvent, int]]:
        """``(event, offset after its line)`` for each complete line from byte offset ``start``.

        A reader following a running run calls it again from the last offset it got: a line
        still being written (no newline yet) is left for the next call. Lines of unknown
        kinds or of a newer schema are skipped.
        """
        path = self.path / self.EVENTS
        if not path.exists():
            return
        with open(path, "rb") as fh:
            fh.seek(start)
            offset = start
            for raw in fh:
                if not raw.endswith(b"\n"):
                    return
                offset += len(raw)
                event = event_from_json(raw.decode("utf-8", errors="replace"))
                if event is not None:
                    yield event, offset

    # ------------------------------------------------------------------ status and stop
    def write_status(self, state: str, *, pid: int | None = None, message: str | None = None) -> None:
        """Record the run's state (with this process's id when ``running`` and no ``pid`` is given)."""
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        if state == "running" and pid is None:
            pid = os.getpid()
        status = {
            "state": state,
            "pid": pid,
            "process_start": _process_start(pid) if pid is not None else None,
            "host": MACHINE_KEY,
            "hostname": socket.gethostname(),
            "since": time.time(),
            "message": message,
        }
        atomic_write_text(self.path / self.STATUS, json.dumps(status, indent=1))

    def status(self) -> RunStatus | None:
        """What ``status.json`` says (``None``: no status, e.g. a run of an earlier version)."""
        path = self.path / self.STATUS
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise SeldError(f"the run status cannot be read ({err})", path) from None
        if not isinstance(d, dict) or d.get("state") not in STATES:
            raise SeldError("the run status is not one of " + ", ".join(STATES), path)
        raw_pid = d.get("pid")
        pid = raw_pid if isinstance(raw_pid, int) and not isinstance(raw_pid, bool) and raw_pid > 0 else None
        host = d.get("host") if isinstance(d.get("host"), str) else None
        alive = None if pid is None or host != MACHINE_KEY else not process_gone(pid)
        if (
            alive and pid is not None and d.get("process_start") is not None
        ):  # another process that got the same id
            alive = _process_start(pid) in (None, d.get("process_start"))
        since = d.get("since")
        message = d.get("message")
        return RunStatus(
            state=d["state"],
            pid=pid,
            host=host,
            since=float(since) if isinstance(since, (int, float)) else None,
            message=message if isinstance(message, str) else None,
            alive=alive,
        )

    def request_stop(self) -> None:
        """Ask the running trainer to stop after its current step (and write its checkpoint)."""
        (self.path / self.STOP).touch()

    def stop_requested(self) -> bool:
        return (self.path / self.STOP).exists()

    def clear_stop(self) -> None:
        (self.path / self.STOP).unlink(missing_ok=True)


def _process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, Linux ``/proc``); ``None`` where it cannot be told.

    With the process id it names one process: an id given again to a later process has
    another start time.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None
