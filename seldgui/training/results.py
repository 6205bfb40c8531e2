"""The results of one run: its best model evaluated on the test folds, exported, or used.

**Evaluate** scores the run's ``best.safetensors`` on the test folds of its configuration
(:func:`core.inference.evaluate.evaluate_model` in a worker, with progress and Cancel) and
shows the rows of the metrics CSV: overall, per class, per file
(:func:`core.metrics.report.report_rows`). **Export metrics CSV** writes the same file as
``seld eval --csv`` (:func:`core.metrics.report.write_csv_report`). **Use this model** asks
the window to open the package (``use_model_requested``). **Export package** copies it with
a detection threshold chosen on the validation folds
(:func:`core.inference.threshold.choose_threshold`); **Export ONNX** writes the ONNX model.
A file that exists is replaced only after the user says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from core.common.errors import SeldError
from core.metrics.report import report_rows
from core.metrics.seld import SeldScores
from core.training.run_folder import RunFolder
from seldgui import workers
from seldgui.training.dataset_panel import _item, _table
from seldgui.training.prompts import Prompts

SHOWN_COLUMNS = ("scope", "name", "ER", "F", "LE", "LR", "SELD", "Nref", "Nsys")


def _cell(value: Any) -> str:
    """A score with 4 decimals; an undefined one (a class with no reference and no prediction) as "–"."""
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4f}"
    return str(value)


class ResultsPanel(QWidget):
    """See the module docstring. ``use_model_requested(Path)``; ``done(str)`` after each piece of work
    ends (its outcome in words)."""

    use_model_requested = Signal(object)
    done = Signal(str)

    def __init__(self, prompts: Prompts, parent: QWidget | None = None):
        super().__init__(parent)
        self.prompts = prompts
        self.run: Path | None = None
        self.scores: SeldScores | None = None
        self.worker: workers.TaskWorker | None = None
        self._build()
        self.set_run(None)

    def _build(self) -> None:
        self.title = QLabel("choose a finished or stopped run in the runs list")
        self.title.setWordWrap(True)
        self.evaluate_button = QPushButton("Evaluate on the test folds")
        self.evaluate_button.clicked.connect(self.evaluate)
        self.csv_button = QPushButton("Export metrics CSV…")
        self.csv_button.clicked.connect(self.export_csv)
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("open the run's best model in the Review tab")
        self.use_button.clicked.connect(self.use_model)
        self.package_button = QPushButton("Export package…")
        self.package_button.setToolTip("the best model, with a threshold chosen on the validation folds")
        self.package_button.clicked.connect(self.export_package)
        self.onnx_button = QPushButton("Export ONNX…")
        self.onnx_button.clicked.connect(self.export_onnx)
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        for b in (
            self.evaluate_button,
            self.csv_button,
            self.use_button,
            self.package_button,
            self.onnx_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.table = _table(list(SHOWN_COLUMNS))
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)

    # ------------------------------------------------------------------ the run
    def set_run(self, run: Path | None) -> None:
        """Show the results of the run folder ``run`` (``None``: no run)."""
        if self.worker is None:
            self.run = Path(run) if run is not None else None
            self.scores = None
            self.table.setRowCount(0)
            self.status.setText("")
        has_best = self.best_path is not None
        if self.run is None:
            self.title.setText("choose a finished or stopped run in the runs list")
        else:
            self.title.setText(
                f"{self.run}: " + ("best model " + RunFolder.BEST if has_best else "no best model yet")
            )
        self._update_enabled()

    @property
    def best_path(self) -> Path | None:
        if self.run is None:
            return None
        path = RunFolder(self.run).best_path
        return path if path.is_file() else None

    def _update_enabled(self) -> None:
        idle, best = self.worker is None, self.best_path is not None
        for b in (self.evaluate_button, self.use_button, self.package_button, self.onnx_button):
            b.setEnabled(idle and best)
        self.csv_button.setEnabled(idle and self.scores is not None)
        self.progress.setVisible(not idle)
        self.cancel_button.setVisible(not idle)

    def _config(self):
        return RunFolder(self.run).read_config()  # type: ignore[arg-type]

    # ------------------------------------------------------------------ work in a worker
    def _start(self, what: str, fn: Callable, on_result: Callable[[Any], str]) -> None:
        worker = workers.TaskWorker(fn)

        def ended(message: str) -> None:
            self.worker = None
            self.status.setText(message)
            self._update_enabled()
            self.done.emit(message)

        def finished(result: Any) -> None:
            self.worker = None
            ended(on_result(result))

        def failed(message: str) -> None:
            ended(f"{what} failed: {message}")
            self.prompts.error(what, message)

        worker.signals.progress.connect(self._on_progress)
        worker.signals.finished.connect(finished)
        worker.signals.failed.connect(failed)
        worker.signals.crashed.connect(lambda details: failed(details.strip().splitlines()[-1]))
        worker.signals.cancelled.connect(lambda: ended(f"{what}: cancelled"))
        self.worker = worker
        self.progress.setRange(0, 0)
        self.status.setText(f"{what}…")
        self._update_enabled()
        workers.start(worker)

    def _on_progress(self, done: int, total: int, stage: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{stage} %p%")

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    # ------------------------------------------------------------------ evaluate
    def evaluate(self) -> None:
        best = self.best_path
        if best is None:
            return
        try:
            config = self._config()
        except SeldError as err:
            self.prompts.error("Evaluate", str(err))
            return
        d = config.data
        if not d.test_folds:
            self.prompts.error("Evaluate", f"{self.run}: the run has no test folds to evaluate on")
            return

        def task(progress, cancel):
            from core.common.progress import run_job
            from core.inference.evaluate import evaluate_model, labelled_fold_items
            from core.inference.predict import open_model

            items = labelled_fold_items(d.root, d.fmt, d.test_folds)
            model = open_model(best, backend="torch", device="cpu")
            return run_job(evaluate_model(model, items), progress=progress, cancel=cancel)

        self._start("Evaluate", task, self._on_scores)

    def _on_scores(self, scores: SeldScores) -> str:
        self.scores = scores
        rows = report_rows(scores)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(SHOWN_COLUMNS):
                self.table.setItem(r, c, _item(_cell(row.get(key, ""))))
        return (
            f"test folds: SELD {scores.SELD:.4f} (ER {scores.ER:.3f}, F {scores.F:.3f}, LE {scores.LE:.1f}°, "
            f"LR {scores.LR:.3f}) on {scores.n_files} file(s)"
        )

    # ------------------------------------------------------------------ exports
    def _target(self, title: str, filters: str, name: str) -> tuple[Path, bool] | None:
        """A file to write and whether it may be replaced (asked when it exists); ``None``: not now."""
        path = self.prompts.save_file(title, filters, name)
        if path is None:
            return None
        if path.exists():
            if not self.prompts.confirm(title, f"{path} exists. Replace it?"):
                return None
            return path, True
        return path, False

    def export_csv(self) -> None:
        if self.scores is None:
            return
        target = self._target("Export metrics CSV", "CSV files (*.csv)", "metrics.csv")
        if target is None:
            return
        from core.metrics.report import write_csv_report

        try:
            write_csv_report(self.scores, target[0])
        except SeldError as err:
            self.prompts.error("Export metrics CSV", str(err))
            return
        self.status.setText(f"metrics written to {target[0]}")

    def use_model(self) -> None:
        if self.best_path is not None:
            self.use_model_requested.emit(self.best_path)

    def export_package(self) -> None:
        best = self.best_path
        if best is None or self.run is None:
            return
        target = self._target(
            "Export package", "Model packages (*.safetensors)", f"{self.run.name}.safetensors"
        )
        if target is None:
            return
        try:
            d = self._config().data
        except SeldError as err:
            self.prompts.error("Export package", str(err))
            return
        out, overwrite = target

        def task(progress, cancel):
            from core.common.progress import run_job
            from core.inference.evaluate import labelled_fold_items
            from core.inference.predict import open_model
            from core.inference.threshold import choose_threshold
            from core.packages.export import export_package

            items = labelled_fold_items(d.root, d.fmt, d.val_folds)
            model = open_model(best, backend="torch", device="cpu")
            choice = run_job(choose_threshold(model, items), progress=progress, cancel=cancel)
            metrics = {
                "threshold_chosen_on": f"validation folds {d.val_folds}",
                "threshold_val_SELD": choice.seld,
            }
            export_package(best, out, threshold=choice.threshold, metrics=metrics, overwrite=overwrite)
            return choice.threshold

        self._start("Export package", task, lambda t: f"package written to {out} (threshold {t:.2f})")

    def export_onnx(self) -> None:
        best = self.best_path
        if best is None or self.run is None:
            return
        target = self._target("Export ONNX", "ONNX models (*.onnx)", f"{self.run.name}.onnx")
        if target is None:
            return
        out, overwrite = target

        def task(_progress, _cancel):
            from core.packages.export import export_onnx

            export_onnx(best, out, overwrite=overwrite)
            return out

        self._start("Export ONNX", task, lambda p: f"ONNX model written to {p}")
