"""A model on many recordings: the batch job behind ``seld infer``, ``seld eval`` and the GUI's batch.

:func:`run_batch` is a job of the :mod:`core.common.progress` protocol. The model is opened
once by the caller (its start-up is not paid per file); each recording is predicted
(:func:`core.inference.predict.predict_steps`), thresholded and, with ``out_dir``, written
as a DCASE 2020 label CSV ``<out_dir>/<stem>.csv``. It yields, in this order:

* :class:`BatchStarted`: the files, in the order they will run (a table can show them all
  as queued);
* per file: :class:`FileStarted`, a :class:`FileProgress` after each stage unit (each
  chunk of features, each batch of segments: the consumer may stop between segments),
  then :class:`FileDone` (with the prediction, its label table and the written file) or
  :class:`FileFailed` (with the error: a file that cannot be read, of another format than
  the model's, ...). A failed file does not stop the batch.

It returns a :class:`BatchResult`. A consumer that stops iterating (cancel) closes the job
between two segments: the files with neither :class:`FileDone` nor :class:`FileFailed` were
not (completely) run, and nothing was written for them. Errors other than
:class:`~core.common.errors.SeldError` (bugs) are not caught.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
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
    "BatchResult",
    "BatchStarted",
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
    """The batch starts: ``files`` will run in this order."""

    files: tuple[Path, ...]


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
    """File ``index`` of ``count`` failed; ``error`` says why (its message names the file)."""

    index: int
    count: int
    path: Path
    error: SeldError

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
    rotations: int | None = None,
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
    yield BatchStarted(tuple(paths))
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
            yield FileFailed(index, count, path, err)
            continue
        done.append(path)
        seconds = time.perf_counter() - t0
        yield FileDone(index, count, FileResult(path, prediction, table, output, seconds))
    return BatchResult(tuple(done), tuple(failed))
