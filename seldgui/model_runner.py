"""Running a model on the open recording, off the GUI thread (Run: F5; Cancel).

The window keeps one :class:`ModelRunner`. It knows the chosen model (the bundled one by
default, or a package / ONNX file opened or dropped) and the device, starts a
:class:`~seldgui.workers.TaskWorker` around :func:`core.inference.predict.predict`, and puts the
result into the session as predictions. onnxruntime (and torch, for the torch backend or
the first run of a package, whose ONNX graph is then cached: :mod:`core.packages.onnx_cache`)
are imported only here, when a model first runs. By default no test-time rotation is run
(fast); ``rotations="accurate"`` runs the package's own set. Opening another recording cancels a run; a result for a recording
that is no longer open is dropped.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from core.common.errors import SeldError
from core.session.session import Session
from seldgui import workers


def available_devices() -> list[str]:
    """``["auto", "cpu", ...]`` with ``"cuda"`` when a CUDA GPU is usable (imports torch, unless torch
    is missing, as in the lean bundle, or surely no GPU is here: then ``["auto", "cpu"]``)."""
    from core.common.optional import cpu_only_devices

    known = cpu_only_devices()
    if known is not None:
        return known
    from core.packages.devices import available_devices as core_devices

    return ["auto", *core_devices()]


def probe_devices(on_devices, owner: QObject) -> None:
    """Find the compute devices in the background (importing torch takes a moment)."""
    workers.submit(available_devices, on_devices, owner=owner)


class ModelRunner(QObject):
    """Runs the chosen model on the session's recording; emits progress and the outcome."""

    started = Signal()
    progress = Signal(int, int, str)
    finished = Signal(str)  # a one-line summary
    failed = Signal(str)
    cancelled = Signal()
    model_changed = Signal()

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.model_path: Path | None = None
        self.device = "auto"
        # test-time rotations: None (fast: 1, the default), "accurate" (the package's set) or a size
        self.rotations: int | str | None = None
        self.worker: workers.TaskWorker | None = None
        session.recording_changed.connect(lambda _r: self.cancel())

    @property
    def running(self) -> bool:
        return self.worker is not None

    def model_description(self) -> str:
        path = self.resolve_model_path(required=False)
        return path.name if path is not None else "no model"

    def resolve_model_path(self, required: bool = True) -> Path | None:
        """The chosen model, else the bundled one for the recording's format."""
        if self.model_path is not None:
            return self.model_path
        from core.io.resources import bundled_model_path

        rec = self.session.recording
        fmt = rec.fmt if rec is not None else "foa"
        path = bundled_model_path(fmt)
        if path is None and required:
            raise SeldError(
                f"no bundled {fmt.upper()} model is installed; open a model package "
                "(Model > Open model...) or drop one onto the window"
            )
        return path

    def set_model(self, path: Path | str) -> str:
        """Choose a model file; returns its description. Checks it can be read (no weights loaded for ONNX)."""
        path = Path(path)
        if path.suffix.lower() == ".onnx":
            from core.packages.onnx_export import read_onnx_meta

            meta = read_onnx_meta(path)
        else:
            from core.packages.package_file import read_package_meta

            meta = read_package_meta(path)
        self.model_path = path
        self.model_changed.emit()
        return meta.describe()

    def accurate_rotations(self) -> int | None:
        """The chosen model's own rotation set (what "accurate" runs), from its header; ``None`` if unknown."""
        path = self.resolve_model_path(required=False)
        if path is None:
            return None
        try:
            if path.suffix.lower() == ".onnx":
                from core.packages.onnx_export import read_onnx_meta

                return read_onnx_meta(path).rotations
            from core.packages.package_file import read_package_meta

            return read_package_meta(path).rotations
        except SeldError:
            return None

    def run(self) -> None:
        """Start predicting on the session's recording (raises SeldError when it cannot start)."""
        if self.worker is not None:
            return
        rec = self.session.recording
        if rec is None:
            raise SeldError("open a recording first")
        path = self.resolve_model_path()
        device, rotations = self.device, self.rotations

        source = rec  # in memory or read on demand: predict streams what it cannot hold (FuMa too)

        def task(progress, cancel):
            from core.inference.predict import open_model, predict, prediction_to_table

            model = open_model(path, device=device)
            # the format the recording was opened with (the user's choice or its folder) is the
            # declared one; predict refuses it when it is not the model's
            prediction = predict(
                model, source, rotations=rotations, fmt=rec.fmt, progress=progress, cancel=cancel
            )
            return rec, model, prediction, prediction_to_table(prediction)

        worker = workers.TaskWorker(task)
        worker.signals.progress.connect(self.progress)
        workers.start_for(self, worker)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_finished(self, result) -> None:
        self.worker = None
        rec, model, prediction, table = result
        if rec is not self.session.recording:
            self.cancelled.emit()  # another recording was opened meanwhile
            return
        from core.labels.classes import custom

        meta = model.meta
        self.session.set_classes(
            meta.class_set_obj() if hasattr(meta, "class_set_obj") else custom(meta.classes)
        )
        self.session.set_predictions(table, prediction)
        n = len(self.session.predicted_events)
        device = getattr(model, "device", "cpu")
        backend = getattr(model, "backend", "onnx")
        turns = "" if prediction.rotations == 1 else f"; {prediction.rotations} test-time rotations"
        self.finished.emit(f"{n} predicted events ({meta.describe()}; {backend} on {device}{turns})")

    def _on_failed(self, message: str) -> None:
        self.worker = None
        self.failed.emit(message)

    def _on_crashed(self, details: str) -> None:
        import logging

        self.worker = None
        logging.getLogger("seldgui").error("model run crashed:\n%s", details)
        lines = details.strip().splitlines()
        self.failed.emit(f"unexpected error: {lines[-1] if lines else 'unknown'} (details in the log)")

    def _on_cancelled(self) -> None:
        self.worker = None
        self.cancelled.emit()


class RunProgress(QWidget):
    """A progress bar and a Cancel button, shown while ``runner`` runs."""

    def __init__(self, runner: ModelRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(runner.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        runner.started.connect(self._on_started)
        runner.progress.connect(self._on_progress)
        for ended in (runner.finished, runner.failed, runner.cancelled):
            ended.connect(lambda *_: self.hide())
        self.hide()

    def _on_started(self) -> None:
        self.bar.setRange(0, 0)
        self.show()

    def _on_progress(self, done: int, total: int, stage: str) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.bar.setFormat(f"{stage} %p%")
