"""A model on many recordings: the batch job behind ``seld infer``, ``seld eval`` and the GUI's batch.

:func:`run_batch` is a job of the :mod:`core.common.progress` protocol. The model is opened
once by the caller (its start-up is not paid per file); each recording is predicted
(:func:`core.inference.predict.predict_steps`), thresholded and, with ``out_dir``, written
as a DCASE 2020 label CSV ``<out_dir>/<stem>.csv``. It yields, in this order:

* :class:`BatchStarted`: the files, in the order they will run (a table can show them all
  as queued), with each one's duration read from its header (``None`` when it cannot be
  read: that file will fail with the reason);
* per file: :class:`FileStarted`, a :class:`FileProgress` after each stage unit (each
  chunk of features, each batch of segments: the consumer may stop between segments),
  then :class:`FileDone` (with the prediction, its label table and the written file) or
  :class:`FileFailed` (with the error: a file that cannot be read, of another format than
  the model's, ...). A failed file does not stop the batch.

It returns a :class:`BatchResult`. A consumer that stops iterating (cancel) closes the job
between two segments: the files with neither :class:`FileDone` nor :class:`FileFailed` were
not (completely) run, and nothing was written for them. Errors other than
:class:`~core.common.errors.SeldError` (bugs) are not caught.

:class:`BatchTracker` is the batch table without Qt: fed every event (and told when the
consumer cancels), it keeps one :class:`BatchRow` per recording (status, duration, number
of predicted events, time taken, the reason of a failure) and the overall progress: the
recordings finished out of all, and the time left (:meth:`BatchTracker.eta_s`).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.common.errors import SeldError
from core.common.progress import Job, Progress, relay
from core.inference.predict import (
    DEFAULT_CHUNK_SEGMENTS,
    InferenceModel,
    Prediction,
    predict_steps,
    prediction_to_table,
)
from core.labels.table import LabelTable

__all__ = [
    "STATUSES",
    "BatchResult",
    "BatchRow",
    "BatchStarted",
    "BatchTracker",
    "FileDone",
    "FileFailed",
    "FileProgress",
    "FileResult",
    "FileStarted",
    "output_paths",
    "prepare_output_folder",
    "run_batch",
]


@dataclass(frozen=True)
class BatchStarted:
    """The batch starts: ``files`` will run in this order; ``durations`` are their lengths in
    seconds from the file headers (``None`` where a header cannot be read; empty when not given)."""

    files: tuple[Path, ...]
    durations: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class FileStarted:
    """File ``index`` (from 0) of ``count`` starts."""

    index: int
    count: int
    path: Path


@dataclass(frozen=True)
class FileProgress:
    """Progress of file ``index`` of ``count``: ``progress`` counts its own units of work per stage."""

    index: int
    count: int
    path: Path
    progress: Progress

    @property
    def overall(self) -> float:
        """The fraction of the whole batch done, counting every file as one equal part."""
        return (self.index + self.progress.fraction) / self.count


@dataclass(frozen=True)
class FileResult:
    """What one file gave: the prediction, its label rows, the CSV written (if any), the seconds it took."""

    path: Path
    prediction: Prediction
    table: LabelTable
    output: Path | None
    seconds: float

    @property
    def name(self) -> str:
        """The recording's name (file stem): its predictions are exported as ``<name>.csv``."""
        return self.path.stem

    @property
    def duration_s(self) -> float:
        """The recording's length, rounded up to whole 100 ms label frames."""
        return self.prediction.duration_s

    @functools.cached_property
    def n_events(self) -> int:
        """Predicted events: runs of consecutive frames of one class (:func:`core.labels.events.events_from_table`)."""
        from core.labels.events import events_from_table

        return len(events_from_table(self.table))


@dataclass(frozen=True)
class FileDone:
    """File ``index`` of ``count`` is done."""

    index: int
    count: int
    result: FileResult

    @property
    def path(self) -> Path:
        return self.result.path


@dataclass(frozen=True)
class FileFailed:
    """File ``index`` of ``count`` failed after ``seconds``; ``error`` says why (its message names the file)."""

    index: int
    count: int
    path: Path
    error: SeldError
    seconds: float = 0.0

    @property
    def message(self) -> str:
        return str(self.error)


@dataclass(frozen=True)
class BatchResult:
    """The files done (in order) and the files that failed, with their errors."""

    done: tuple[Path, ...]
    failed: tuple[tuple[Path, SeldError], ...]


def output_paths(files: Sequence[Path], out_dir: Path) -> list[Path]:
    """``<out_dir>/<stem>.csv`` per recording; two recordings with one stem are an error."""
    seen: dict[str, Path] = {}
    for rec in files:
        other = seen.get(rec.stem)
        if other is not None:
            raise SeldError(
                f"two recordings would write {rec.stem}.csv: {other} and {rec}; infer them into different "
                "--out folders"
            )
        seen[rec.stem] = rec
    return [out_dir / f"{rec.stem}.csv" for rec in files]


def prepare_output_folder(out_dir: Path) -> None:
    """Create ``out_dir`` (and its parents) when missing; a :class:`SeldError` when it cannot be."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SeldError(f"cannot create the output folder: {err.strerror or err}", out_dir) from None


def run_batch(
    model: InferenceModel,
    files: Sequence[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    threshold: float | None = None,
    rotations: int | str | None = None,
    fmt: str | None = None,
    batch_segments: int = 16,
    chunk_segments: int = DEFAULT_CHUNK_SEGMENTS,
) -> Job[BatchResult]:
    """Run an opened ``model`` on ``files`` one after the other (see the module docstring).

    ``threshold`` (default: the package's) makes the label rows; ``rotations`` and ``fmt``
    are :func:`~core.inference.predict.predict`'s. With ``out_dir`` each file's rows are
    written (atomically) to ``<out_dir>/<stem>.csv``; two files of one stem are refused
    before any work, and so is an output folder that cannot be created.
    """
    paths = [Path(f) for f in files]
    outputs: list[Path | None] = [None] * len(paths)
    if out_dir is not None:
        outputs = list(output_paths(paths, Path(out_dir)))
        prepare_output_folder(Path(out_dir))
    yield BatchStarted(tuple(paths), tuple(_header_duration(p) for p in paths))
    count = len(paths)
    done: list[Path] = []
    failed: list[tuple[Path, SeldError]] = []
    for index, (path, output) in enumerate(zip(paths, outputs, strict=True)):
        yield FileStarted(index, count, path)
        t0 = time.perf_counter()
        try:
            job = predict_steps(
                model,
                path,
                rotations=rotations,
                fmt=fmt,
                batch_segments=batch_segments,
                chunk_segments=chunk_segments,
            )
            prediction = yield from relay(job, lambda p: FileProgress(index, count, path, p))  # noqa: B023
            table = prediction_to_table(prediction, threshold)
            if output is not None:
                from core.labels.dcase_csv import write_labels

                write_labels(table, output, fmt="dcase2020")
        except SeldError as err:
            failed.append((path, err))
            yield FileFailed(index, count, path, err, time.perf_counter() - t0)
            continue
        done.append(path)
        seconds = time.perf_counter() - t0
        yield FileDone(index, count, FileResult(path, prediction, table, output, seconds))
    return BatchResult(tuple(done), tuple(failed))


def _header_duration(path: Path) -> float | None:
    """The recording's length in seconds from its header, or ``None`` when it cannot be read."""
    from core.io.audio import probe

    try:
        return probe(path).duration_s
    except SeldError:
        return None


# --------------------------------------------------------------------------- the batch table

STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed", "cancelled")
"""The states of a recording in a batch, in the order they can come."""


@dataclass
class BatchRow:
    """One recording of a batch as a table shows it (:class:`BatchTracker`).

    ``status`` is one of :data:`STATUSES`; ``duration_s`` the recording's length (from its
    header, then from the prediction); ``n_events`` the predicted events and ``seconds`` the
    time taken (when done; ``seconds`` also when failed); ``error`` the reason of a failure
    (the message names the file and the problem); ``fraction`` how much of the file is done;
    ``result`` the :class:`FileResult` of a done file.
    """

    path: Path
    status: str = "queued"
    duration_s: float | None = None
    n_events: int | None = None
    seconds: float | None = None
    error: str | None = None
    fraction: float = 0.0
    result: FileResult | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.stem


class BatchTracker:
    """The state of a batch for a table and a progress bar, fed the events of :func:`run_batch`.

    ``update(event)`` for every event, in order (from the worker's queued signals), and
    :meth:`cancel` when the consumer stops the job. ``clock`` (seconds, monotonic) is
    injectable for tests. The time left is estimated from the audio still to process at the
    rate so far: elapsed time / seconds of audio finished (a recording's header length,
    the mean of the known ones where unknown), so long and short files weigh what they cost.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.rows: list[BatchRow] = []
        self._clock = clock
        self._started: float | None = None
        self._ended: float | None = None

    def update(self, event: object) -> int | None:
        """Apply one event of :func:`run_batch`; return the index of the row it changed, if any."""
        if isinstance(event, BatchStarted):
            durations = event.durations or (None,) * len(event.files)
            self.rows = [BatchRow(path, duration_s=d) for path, d in zip(event.files, durations, strict=True)]
            self._started, self._ended = self._clock(), None
            return None
        index = getattr(event, "index", None)
        if index is None or not 0 <= index < len(self.rows):
            return None
        row = self.rows[index]
        if isinstance(event, FileStarted):
            row.status, row.fraction = "running", 0.0
        elif isinstance(event, FileProgress):
            row.status, row.fraction = "running", event.progress.fraction
        elif isinstance(event, FileDone):
            r = event.result
            row.status, row.fraction, row.result = "done", 1.0, r
            row.duration_s, row.n_events, row.seconds = r.duration_s, r.n_events, r.seconds
        elif isinstance(event, FileFailed):
            row.status, row.fraction = "failed", 1.0
            row.seconds, row.error = event.seconds, event.message
        else:
            return None
        if self.finished == self.total:
            self._ended = self._clock()
        return index

    def cancel(self) -> list[int]:
        """Mark the running and queued recordings cancelled (nothing was kept of them); return their indices."""
        changed = [i for i, r in enumerate(self.rows) if r.status in ("queued", "running")]
        for i in changed:
            self.rows[i].status, self.rows[i].fraction = "cancelled", 0.0
        self._ended = self._clock()
        return changed

    @property
    def total(self) -> int:
        return len(self.rows)

    def count(self, status: str) -> int:
        """How many recordings have ``status``."""
        return sum(r.status == status for r in self.rows)

    @property
    def finished(self) -> int:
        """Recordings done or failed, out of :attr:`total`."""
        return sum(r.status in ("done", "failed") for r in self.rows)

    def _work(self) -> list[tuple[float, float]]:
        """``(seconds of audio, fraction done)`` of every recording that has not failed (a failed
        one costs next to nothing: counting it as work would flatter the rate); an unknown
        length counts as the mean of the known ones."""
        rows = [r for r in self.rows if r.status != "failed"]
        known = [r.duration_s for r in rows if r.duration_s is not None]
        mean = sum(known) / len(known) if known else 1.0
        return [(r.duration_s if r.duration_s is not None else mean, r.fraction) for r in rows]

    @property
    def fraction(self) -> float:
        """The part of the batch's work done, by audio duration (failed recordings left out)."""
        work = self._work()
        total = sum(w for w, _ in work)
        if total <= 0:
            return 1.0 if self.rows and self.finished == self.total else 0.0
        return sum(w * f for w, f in work) / total

    @property
    def elapsed_s(self) -> float:
        """Seconds since the batch started (until it ended or was cancelled)."""
        if self._started is None:
            return 0.0
        return (self._ended if self._ended is not None else self._clock()) - self._started

    def eta_s(self) -> float | None:
        """Seconds left, at the rate so far; ``None`` before any work is measured, 0 when over."""
        if self._ended is not None or (self.rows and self.finished == self.total):
            return 0.0
        done = self.fraction
        if done <= 0:
            return None
        return self.elapsed_s * (1 - done) / done
