"""Running a model on many recordings off the GUI thread, and scoring the batch.

A :class:`BatchRunner` opens the chosen model once in the thread pool (on the chosen device),
drives :func:`core.inference.batch.run_batch` in a :class:`~seldgui.workers.JobWorker` and
feeds every event to a :class:`~core.inference.batch.BatchTracker` (the table's rows). It is
separate from the window's F5 runner: the recording under review stays usable. When the batch
ends (or is cancelled) the files done are scored against their reference labels in the
background (:func:`score_batch`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.common.errors import SeldError
from core.inference.batch import BatchTracker, FileResult
from seldgui import workers


@dataclass(frozen=True)
class ModelOpened:
    """The first event of a batch job here: the model is open (``meta``, ``backend``, ``device``)."""

    meta: Any
    backend: str
    device: str


@dataclass(frozen=True)
class BatchScores:
    """A batch against its references: the :class:`~core.inference.batch_metrics.LabelledBatch`,
    its scores by metric, every error and the per-class confusion summary."""

    labelled: Any
    scores: dict[str, Any]
    errors: list[Any]
    confusion: Any

    @property
    def scored(self) -> bool:
        return bool(self.labelled.files)


def score_batch(
    results: Sequence[FileResult],
    labels: Mapping[Path, Path | None],
    classes: Any,
    failed: Sequence[tuple[Path, SeldError]] = (),
) -> BatchScores:
    """Score ``results`` against the label files ``labels`` (both metrics), find every error."""
    from core.inference.batch_metrics import labelled_batch
    from core.metrics.errors import confusion_summary
    from core.metrics.seld import METRICS

    labelled = labelled_batch(results, labels, classes=classes, failed=failed)
    errors = labelled.errors()
    return BatchScores(labelled, {m: labelled.scores(m) for m in METRICS}, errors, confusion_summary(errors))


def _batch_job(model_path: Path, device: str, files: list[Path], rotations: int | str | None):
    from core.inference.batch import run_batch
    from core.inference.predict import open_model

    model = open_model(model_path, device=device)
    yield ModelOpened(model.meta, getattr(model, "backend", "onnx"), str(getattr(model, "device", "cpu")))
    return (yield from run_batch(model, files, rotations=rotations))


class BatchRunner(QObject):
    """One batch at a time: start, per-event updates, cancel, and the scores afterwards.

    Signals: ``started()``; ``rows_reset()`` (the table's rows were made, all queued);
    ``row_changed(index)``; ``ended(summary)`` after the last file, ``failed(message)`` when
    the batch could not run at all (no model, ...), ``cancelled()``; then ``scored()`` once
    :attr:`scores` holds the metrics of the files done (``None`` without any).
    """

    started = Signal()
    rows_reset = Signal()
    row_changed = Signal(int)
    ended = Signal(str)
    failed = Signal(str)
    cancelled = Signal()
    scored = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.tracker = BatchTracker()
        self.worker: workers.JobWorker | None = None
        self.labels: dict[Path, Path | None] = {}
        self.classes: Any = None
        self.meta: Any = None
        self.model_path: Path | None = None
        self.outcome: Any = None
        self.scores: BatchScores | None = None
        self.scoring = False
        self.device = "cpu"

    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def busy(self) -> bool:
        """Running, or scoring what it ran."""
        return self.running or self.scoring

    @property
    def results(self) -> list[FileResult]:
        """The files done, in the batch's order."""
        return [r.result for r in self.tracker.rows if r.result is not None]

    def failures(self) -> list[tuple[Path, SeldError]]:
        """``(path, error)`` of the failed files."""
        if self.outcome is not None:
            return list(self.outcome.failed)
        return [(r.path, SeldError(r.error or "failed")) for r in self.tracker.rows if r.status == "failed"]

    def result_for(self, path: Path) -> FileResult | None:
        return next((r for r in self.results if r.path == Path(path)), None)

    def labels_for(self, path: Path) -> Path | None:
        return self.labels.get(Path(path))

    def start(
        self,
        files: Sequence[Path],
        labels: Mapping[Path, Path | None],
        model_path: Path,
        device: str = "auto",
        rotations: int | str | None = None,
    ) -> None:
        """Run ``model_path`` on ``files`` (``labels``: each one's reference label file, or ``None``)."""
        if self.busy:
            raise SeldError("a batch is running already; cancel it first")
        if not files:
            raise SeldError("no recordings to run the model on: open a folder first")
        paths = [Path(f) for f in files]
        self.labels = {Path(k): v for k, v in labels.items()}
        self.model_path, self.meta, self.classes, self.outcome, self.scores = (
            model_path,
            None,
            None,
            None,
            None,
        )
        self.tracker = BatchTracker()
        worker = workers.JobWorker(lambda: _batch_job(model_path, device, paths, rotations))
        worker.signals.event.connect(self._on_event)
        workers.start_for(self, worker)

    def cancel(self) -> None:
        """Stop between two segments; the files not finished are marked cancelled."""
        if self.worker is not None:
            self.worker.cancel()

    # ------------------------------------------------------------------ events (GUI thread)
    def _on_event(self, event) -> None:
        if isinstance(event, ModelOpened):
            from core.labels.classes import custom

            self.meta, self.device = event.meta, event.device
            meta = event.meta
            self.classes = meta.class_set_obj() if hasattr(meta, "class_set_obj") else custom(meta.classes)
            return
        from core.inference.batch import BatchStarted

        if isinstance(event, BatchStarted):
            self.tracker.update(event)
            self.rows_reset.emit()
            return
        index = self.tracker.update(event)
        if index is not None:
            self.row_changed.emit(index)

    def _on_finished(self, outcome) -> None:
        self.worker = None
        self.outcome = outcome
        t = self.tracker
        failed = t.count("failed")
        summary = f"batch done: {t.count('done')} of {t.total} recordings"
        if failed:
            summary += f", {failed} failed"
        self.ended.emit(summary + f" in {t.elapsed_s:.1f} s")
        self._score()

    def _on_failed(self, message: str) -> None:
        self.worker = None
        for i in self.tracker.cancel():
            self.row_changed.emit(i)
        self.failed.emit(message)

    def _on_crashed(self, details: str) -> None:
        import logging

        logging.getLogger("seldgui").error("batch crashed:\n%s", details)
        lines = details.strip().splitlines()
        self._on_failed(f"unexpected error: {lines[-1] if lines else 'unknown'} (details in the log)")

    def _on_cancelled(self) -> None:
        self.worker = None
        for i in self.tracker.cancel():
            self.row_changed.emit(i)
        self.cancelled.emit()
        self._score()

    # ------------------------------------------------------------------ scores
    def _score(self) -> None:
        results = self.results
        if not results or self.classes is None:
            self.scores = None
            self.scored.emit()
            return
        self.scoring = True
        labels, classes, failed = dict(self.labels), self.classes, self.failures()
        workers.submit(
            lambda: score_batch(results, labels, classes, failed),
            self._on_scored,
            self._on_score_failed,
            self._on_score_failed,
            owner=self,
        )

    def _on_scored(self, scores: BatchScores) -> None:
        self.scoring = False
        self.scores = scores
        self.scored.emit()

    def _on_score_failed(self, message: str) -> None:
        self.scoring = False
        self.scores = None
        self.failed.emit(f"the batch could not be scored: {message.strip().splitlines()[-1]}")
        self.scored.emit()
