"""The Batch page: run the model on many recordings, follow the batch, export, score, inspect errors.

The page is a tab beside Review. It runs its own :class:`~seldgui.batch.runner.BatchRunner`
(separate from the window's F5 runner: the recording under review stays usable), with the
window's model and device choice. Activating a row (or a per-file metrics row) opens that
recording in the Review tab with the batch's predictions and its reference labels; choosing
an error opens its recording too, at its time, with the span and the directions highlighted
(:meth:`core.session.session.Session.show_highlight`).

The dialogs are attributes (``ask_export_folder``, ``ask_overwrite``, ``ask_distance``,
``ask_metrics_path``, ``show_error``), replaced in tests.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.common.errors import SeldError
from core.session.session import Highlight
from seldgui.batch.errors_view import KIND_TEXT, ConfusionView, ErrorsView
from seldgui.batch.metrics_view import BatchMetricsView
from seldgui.batch.runner import BatchRunner
from seldgui.batch.table import BatchTable, BatchTableModel


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return os.path.abspath(os.fspath(a)) == os.path.abspath(os.fspath(b))


def highlight_of(entry: Any) -> Highlight:
    """The session highlight of an error of the inspector (:class:`~core.metrics.errors.SeldErrorEntry`)."""
    return Highlight(
        entry.onset_s,
        entry.offset_s,
        cls=entry.cls,
        pred_cls=entry.pred_cls,
        ref_direction=entry.ref_direction,
        pred_direction=entry.pred_direction,
        label=KIND_TEXT.get(entry.kind, entry.kind),
    )


def _eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "time left: estimating..."
    if seconds <= 0:
        return ""
    minutes, secs = divmod(int(math.ceil(seconds)), 60)
    return f"time left: {minutes} min {secs:02d} s" if minutes else f"time left: {secs} s"


class BatchPage(QWidget):
    """The batch table, its progress and Cancel, the exports, the metrics and the error inspector."""

    def __init__(self, window: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.window_ = window
        self.session = window.session
        self.settings = window.settings
        self.runner = BatchRunner(self)
        self._pending: tuple[Path, Any] | None = None  # (recording being opened, what to do once it is)
        self.ask_export_folder = self._ask_export_folder
        self.ask_overwrite = self._ask_overwrite
        self.ask_distance = self._ask_distance
        self.ask_metrics_path = self._ask_metrics_path
        self.show_error = self._show_error
        self.on_run_request = None  # set by the window: runs the model on the file list

        self.title = QLabel("Select recordings in the file list (File › Open folder, or drop a folder) and "
                            "choose Model › Run model on all files.")  # fmt: skip
        self.title.setWordWrap(True)
        self.run_button = QPushButton("Run model on all files")
        self.run_button.clicked.connect(lambda: self.on_run_request and self.on_run_request())
        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m recordings")
        self.progress.setMinimumWidth(200)
        self.eta_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.format_box = QComboBox()
        from core.inference.export import EXPORT_FORMATS

        for key, text in EXPORT_FORMATS.items():
            self.format_box.addItem(text, key)
        self.format_box.setCurrentIndex(
            max(0, self.format_box.findData(self.settings.get("batch_export_format")))
        )
        self.format_box.currentIndexChanged.connect(
            lambda _i: self.settings.set("batch_export_format", self.format_box.currentData())
        )
        self.export_button = QPushButton("Export predictions...")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_predictions())
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.model = BatchTableModel(self.runner.tracker, self)
        self.table = BatchTable(self.model)
        self.table.activated.connect(lambda index: self.open_row(index.row()))
        self.metrics_view = BatchMetricsView(
            self._metric_chosen, lambda: self.export_metrics(), self._open_by_name
        )
        self.metrics_view.set_metric(self.settings.get("batch_metric"))
        self.errors_view = ErrorsView(self.errors_for, self.choose_error)
        self.errors_view.table.itemActivated.connect(lambda _item: self._show_review())
        self.confusion_view = ConfusionView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.metrics_view, "Metrics")
        self.tabs.addTab(self.errors_view, "Errors")
        self.tabs.addTab(self.confusion_view, "Confusion")

        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.progress, 1)
        top.addWidget(self.eta_label)
        top.addWidget(self.cancel_button)
        top.addSpacing(16)
        top.addWidget(QLabel("Export as"))
        top.addWidget(self.format_box)
        top.addWidget(self.export_button)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([560, 640])
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

        r = self.runner
        r.started.connect(self._on_started)
        r.rows_reset.connect(self._on_rows_reset)
        r.row_changed.connect(self._on_row_changed)
        r.ended.connect(self._on_ended)
        r.failed.connect(self._on_failed)
        r.cancelled.connect(self._on_cancelled)
        r.scored.connect(self._on_scored)
        window.loader.opened.connect(self._on_opened)
        self._open_errors = QTimer(self)  # label edits come at drag rate: list the errors once they rest
        self._open_errors.setSingleShot(True)
        self._open_errors.setInterval(300)
        self._open_errors.timeout.connect(self._refresh_open_errors)
        for signal in (self.session.reference_changed, self.session.predictions_changed):
            signal.connect(lambda _e: self._open_errors.start())

    # ------------------------------------------------------------------ starting
    def model_path_for(self, entries: list) -> Path:
        """The window's chosen model, else the bundled one of the recordings' (first known) format."""
        chosen = self.window_.runner.model_path
        if chosen is not None:
            return Path(chosen)
        from core.io.resources import bundled_model_path

        fmt = next((e.fmt for e in entries if e.fmt), None) or "foa"
        path = bundled_model_path(fmt)
        if path is None:
            raise SeldError(
                f"no bundled {fmt.upper()} model is installed; open a model package (Model › Open model...)"
            )
        return Path(path)

    def start(self, entries: list) -> None:
        """Run the model on ``entries`` (file-list entries: path, format, labels); raises SeldError."""
        model_path = self.model_path_for(entries)
        runner = self.window_.runner
        self.runner.start(
            [e.path for e in entries],
            {e.path: e.labels for e in entries},
            model_path,
            device=runner.device,
            rotations=runner.rotations,
        )
        n = len(entries)
        self.title.setText(f"{model_path.name} on {n} recording{'s' if n != 1 else ''} ({runner.device})")

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def _on_started(self) -> None:
        self.cancel_button.setEnabled(True)
        self.run_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.metrics_view.show_scores(None)
        self.errors_view.refresh()
        self.confusion_view.show_confusion(None, None)
        self.status.setText("starting the model...")

    def _on_rows_reset(self) -> None:
        self.model.set_tracker(self.runner.tracker)
        self._update_progress()

    def _on_row_changed(self, index: int) -> None:
        self.model.row_changed(index)
        self._update_progress()

    def _update_progress(self) -> None:
        t = self.runner.tracker
        self.progress.setRange(0, max(1, t.total))
        self.progress.setValue(t.finished)
        self.eta_label.setText(_eta_text(t.eta_s()) if self.runner.running else "")

    def _on_ended(self, summary: str) -> None:
        self._finish(summary + "; scoring...")

    def _on_cancelled(self) -> None:
        t = self.runner.tracker
        self._finish(f"batch cancelled: {t.count('done')} done, {t.count('cancelled')} not run")

    def _on_failed(self, message: str) -> None:
        self._finish(message)
        self.show_error("The batch failed", message)

    def _finish(self, text: str) -> None:
        self.cancel_button.setEnabled(False)
        self.run_button.setEnabled(True)
        self.export_button.setEnabled(bool(self.runner.results))
        self._update_progress()
        self.status.setText(text)

    def _on_scored(self) -> None:
        scores = self.runner.scores
        self.metrics_view.show_scores(scores)
        self.errors_view.classes = self.runner.classes
        self.errors_view.refresh()
        self.confusion_view.show_confusion(scores.confusion if scores else None, self.runner.classes)
        if scores is None or not scores.scored:
            self.status.setText(self.status.text().replace("; scoring...", "; no reference labels to score"))
        else:
            n = len(scores.labelled.files)
            self.status.setText(
                self.status.text().replace("; scoring...", f"; {n} scored, {len(scores.errors)} errors")
            )

    def _metric_chosen(self, metric: str) -> None:
        self.settings.set("batch_metric", metric)

    # ------------------------------------------------------------------ exports
    def export_predictions(
        self, folder: str | os.PathLike[str] | None = None, fmt: str | None = None
    ) -> list[Path]:
        """Write every done recording's predictions to ``folder`` (asked when ``None``) in ``fmt``
        (the chosen format when ``None``); asks before overwriting; returns the files written."""
        from core.inference.export import existing_outputs, export_predictions

        results = self.runner.results
        if not results:
            return []
        fmt = fmt or self.format_box.currentData()
        if folder is None:
            folder = self.ask_export_folder(self.settings.get("batch_export_dir"))
            if not folder:
                return []
        distance = None
        try:
            if fmt == "dcase2024" and any(r.distance is None for res in results for r in res.table.rows):
                distance = self.ask_distance()
                if distance is None:
                    return []
            existing = existing_outputs(results, folder)
            if existing and not self.ask_overwrite(existing):
                self.status.setText(f"nothing exported: {len(existing)} files exist in {folder}")
                return []
            written = export_predictions(results, folder, fmt, overwrite=bool(existing), distance=distance)
        except SeldError as err:
            self.show_error("Cannot export the predictions", str(err))
            return []
        self.settings.set("batch_export_dir", str(folder))
        self.settings.set("batch_export_format", fmt)
        self.status.setText(f"{len(written)} prediction files written to {folder} ({fmt})")
        return written

    def export_metrics(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Write the shown metric's overall, per-class and per-file rows (``seld score --csv``'s columns)."""
        from core.metrics.report import write_csv_report

        scores = self.metrics_view.shown
        if scores is None:
            return None
        if path is None:
            start = (
                Path(self.settings.get("batch_export_dir") or ".") / f"metrics_{self.metrics_view.metric}.csv"
            )
            path = self.ask_metrics_path(str(start))
            if not path:
                return None
        try:
            write_csv_report(scores, path)
        except SeldError as err:
            self.show_error("Cannot export the metrics", str(err))
            return None
        self.settings.set("batch_export_dir", str(Path(path).parent))
        self.status.setText(f"metrics written to {path}")
        return Path(path)

    # ------------------------------------------------------------------ opening recordings
    def open_row(self, index: int) -> bool:
        """Open row ``index``'s recording in Review with the batch's predictions (done rows only)."""
        row = self.runner.tracker.rows[index]
        if row.result is None:
            self.status.setText(f"{row.path.name}: {row.error or row.status}; nothing to show")
            return False
        self.open_recording(row.path)
        self._show_review()
        return True

    def _open_by_name(self, name: str) -> None:
        result = next((r for r in self.runner.results if r.name == name), None)
        if result is not None:
            self.open_recording(result.path)
            self._show_review()

    def _show_review(self) -> None:
        pages = self.window_.pages
        pages.setCurrentWidget(self.window_.review_page)

    def open_recording(self, path: Path, then=None) -> None:
        """Show ``path`` in Review with the batch's predictions and its reference labels; ``then()``
        afterwards. The loader opens it in the background: they are set once it is open, and only
        if it is still that recording."""
        result = self.runner.result_for(path)

        def apply() -> None:
            s = self.session
            if s.recording is None or not _same_file(s.recording.path, path):
                return
            if result is not None and s.predictions is not result.table:
                if self.runner.classes is not None:
                    s.set_classes(self.runner.classes)
                s.set_predictions(result.table, result.prediction)
            labels = self.runner.labels_for(Path(path))
            if labels is not None and not s.annotation.loaded:
                from core.labels.dcase_csv import read_labels

                try:
                    s.set_reference(read_labels(labels, classes=s.classes))
                except SeldError as err:
                    self.status.setText(str(err))
            if then is not None:
                then()

        rec = self.session.recording
        if rec is not None and _same_file(rec.path, path):
            apply()
            return
        self._pending = (Path(path), apply)
        self.window_.open_path(path)

    def _on_opened(self, rec) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and _same_file(rec.path, pending[0]):
            pending[1]()

    # ------------------------------------------------------------------ errors
    def errors_for(self, scope: str) -> list:
        if scope == "batch":
            scores = self.runner.scores
            return list(scores.errors) if scores is not None else []
        s = self.session
        if s.recording is None or s.reference is None or s.predictions is None:
            return []
        from core.metrics.errors import find_errors

        n_frames = max(1, math.ceil(s.duration_s * 10 - 1e-9))
        return find_errors(s.reference, s.predictions, n_frames, name=Path(s.recording.path).stem)

    def _refresh_open_errors(self) -> None:
        if self.errors_view.scope == "open":
            self.errors_view.refresh()

    def choose_error(self, entry: Any) -> None:
        """Show ``entry`` in Review: its recording (opened if needed), the playhead and range at its
        span, the span and both directions highlighted."""
        highlight = highlight_of(entry)
        rec = self.session.recording
        if rec is not None and Path(rec.path).stem == entry.file:
            path = Path(rec.path)
        else:
            result = next((r for r in self.runner.results if r.name == entry.file), None)
            if result is None:
                return
            path = result.path
        self.open_recording(path, lambda: self.session.show_highlight(highlight))
        self.status.setText(
            f"{entry.file}: {highlight.label} at {highlight.start_s:.1f}-{highlight.end_s:.1f} s "
            "(shown in the Review tab)"
        )

    # ------------------------------------------------------------------ dialogs (replaced in tests)
    def _ask_export_folder(self, start: str) -> str | None:
        from PySide6.QtWidgets import QFileDialog

        return QFileDialog.getExistingDirectory(self, "Export predictions to folder", start) or None

    def _ask_overwrite(self, existing: list[Path]) -> bool:
        from PySide6.QtWidgets import QMessageBox

        names = ", ".join(p.name for p in existing[:5]) + (" ..." if len(existing) > 5 else "")
        answer = QMessageBox.question(
            self,
            "Overwrite prediction files?",
            f"{len(existing)} files exist already in {existing[0].parent} ({names}). Overwrite them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _ask_distance(self) -> float | None:
        from PySide6.QtWidgets import QInputDialog

        value, ok = QInputDialog.getDouble(
            self,
            "Distance placeholder",
            "The model predicts no distance; the DCASE 2024 format needs one in every row.\n"
            "Distance to write (cm):",
            0.0,
            0.0,
            1e6,
            1,
        )
        return value if ok else None

    def _ask_metrics_path(self, start: str) -> str | None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", start, "CSV (*.csv)")
        return path or None

    def _show_error(self, title: str, message: str) -> None:
        from seldgui.errors import show_error

        show_error(self, title, message)
