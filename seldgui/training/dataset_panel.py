"""The dataset of a run: its root folder, format and class set, a plain folder's folds, and its summary.

A root in any of the three layouts (``docs/DATASETS.md``). For a plain folder the recordings
are listed with an editable fold column; **Save folds** writes ``seld-dataset.json``
(:func:`core.data.dataset_file.write_dataset_file`: checked, atomic, nothing renamed or
moved). :meth:`DatasetPanel.summarize` runs :func:`core.data.summary.summarize_dataset` in a
worker, with a progress bar, and shows per fold the files, minutes, events (per class in a
second table) and overlap, and every problem by file and line, the blocking ones first and
marked. :attr:`DatasetPanel.summary` is the last summary, ``None`` while none is current.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.common.errors import SeldError
from core.data.dataset_file import (
    DatasetFile,
    dataset_layout,
    plain_recordings,
    read_dataset_file,
    write_dataset_file,
)
from core.data.summary import DatasetSummary
from seldgui import workers
from seldgui.settings import Settings
from seldgui.tables import read_only_table
from seldgui.training.prompts import Prompts

CLASS_SETS = ("dcase2020", "dcase2021", "starss23")
"""The class sets the combo offers; it is editable, for ``custom:name1,name2,...``."""
BLOCKING_COLOR = QColor("#d62728")


def _table(columns: list[str], stretch_last: bool = False) -> QTableWidget:
    return read_only_table(columns, select_rows=False, stretch_last=stretch_last)


def _item(text: object, editable: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(str(text))
    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
    item.setFlags(flags | Qt.ItemFlag.ItemIsEditable if editable else flags)
    return item


class DatasetPanel(QWidget):
    """See the module docstring. ``changed`` when the root, format, class set or folds change;
    ``summarized`` after each summary (``summary`` holds it)."""

    changed = Signal()
    summarized = Signal()

    FOLD_COLUMN = 2

    def __init__(self, settings: Settings, prompts: Prompts, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings, self.prompts = settings, prompts
        self.root: Path | None = None
        self.layout_kind: str | None = None
        self.summary: DatasetSummary | None = None
        self.worker: workers.TaskWorker | None = None
        self._build()
        saved = settings.get("dataset_root")
        if saved and Path(saved).is_dir():
            self.set_root(Path(saved))

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        self.root_edit = QLineEdit()
        self.root_edit.setReadOnly(True)
        self.root_edit.setPlaceholderText("choose a dataset folder (DCASE, STARSS or a plain folder)")
        self.choose_button = QPushButton("Choose…")
        self.choose_button.clicked.connect(self.choose_root)
        self.layout_label = QLabel("")
        self.fmt_combo = QComboBox()
        self.fmt_combo.addItems(["foa", "mic"])
        self.classes_combo = QComboBox()
        self.classes_combo.setEditable(True)
        self.classes_combo.addItems(list(CLASS_SETS))
        self.fmt_combo.currentTextChanged.connect(lambda _t: self._edited())
        self.classes_combo.currentTextChanged.connect(lambda _t: self._edited())

        row = QHBoxLayout()
        row.addWidget(self.root_edit, 1)
        row.addWidget(self.choose_button)
        form = QFormLayout()
        form.addRow("Dataset", row)
        form.addRow("Layout", self.layout_label)
        form.addRow("Format", self.fmt_combo)
        form.addRow("Class set", self.classes_combo)

        self.plain_box = QGroupBox("Folds of the plain folder's recordings (empty: in no fold)")
        self.plain_table = _table(["Recording", "Labels", "Fold"])
        self.plain_table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.save_folds_button = QPushButton("Save folds")
        self.save_folds_button.setToolTip("write seld-dataset.json in the folder (no recording is moved)")
        self.save_folds_button.clicked.connect(self.save_folds)
        plain = QVBoxLayout(self.plain_box)
        plain.addWidget(self.plain_table)
        plain.addWidget(self.save_folds_button, 0, Qt.AlignmentFlag.AlignRight)
        self.plain_box.hide()

        self.summary_box = QGroupBox("Summary")
        self.progress = QProgressBar()
        self.progress.hide()
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.fold_table = _table(["Fold", "Use", "Files", "Minutes", "Events", "ov1", "ov2"])
        self.class_table = _table(["Class"])
        self.problem_table = _table(["", "Where", "Problem"], stretch_last=True)
        self.problem_table.setWordWrap(True)
        box = QVBoxLayout(self.summary_box)
        box.addWidget(self.progress)
        box.addWidget(self.summary_label)
        box.addWidget(self.fold_table, 2)
        box.addWidget(QLabel("Events per class and fold"))
        box.addWidget(self.class_table, 3)
        box.addWidget(QLabel("Problems (✖ blocks a run; the others are warnings)"))
        box.addWidget(self.problem_table, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plain_box, 1)
        layout.addWidget(self.summary_box, 2)

    # ------------------------------------------------------------------ the root
    def choose_root(self) -> None:
        path = self.prompts.folder("Choose a dataset folder")
        if path is not None:
            self.set_root(path)

    def set_root(self, root: Path) -> None:
        """Take ``root`` as the dataset (remembered); a plain folder's recordings are listed."""
        self.root = Path(root)
        self.layout_kind = dataset_layout(self.root)
        self.settings.set("dataset_root", str(self.root))
        self.root_edit.setText(str(self.root))
        self.layout_label.setText(
            {"dcase": "DCASE", "starss": "STARSS", "plain": "plain folder"}.get(
                self.layout_kind or "", "no recordings found"
            )
        )
        self._blocked_edit = True
        try:
            if self.layout_kind in ("dcase", "starss"):
                formats = [f for f in ("foa", "mic") if (self.root / f"{f}_dev").is_dir()]
                if formats and self.fmt_combo.currentText() not in formats:
                    self.fmt_combo.setCurrentText(formats[0])
            self._list_plain()
        finally:
            self._blocked_edit = False
        self._edited()

    def _list_plain(self) -> None:
        self.plain_table.setRowCount(0)
        self.plain_box.setVisible(self.layout_kind == "plain")
        if self.layout_kind != "plain" or self.root is None:
            return
        try:
            own = read_dataset_file(self.root)
            recordings = plain_recordings(self.root)
        except SeldError as err:
            self.prompts.error("Dataset", str(err))
            return
        if own is not None:
            self.fmt_combo.setCurrentText(own.fmt)
            self.classes_combo.setCurrentText(own.config_classes)
        self.plain_table.setRowCount(len(recordings))
        for row, rec in enumerate(recordings):
            self.plain_table.setItem(row, 0, _item(rec.key))
            self.plain_table.setItem(row, 1, _item(rec.labels.name if rec.labels else "missing"))
            self.plain_table.setItem(row, self.FOLD_COLUMN, _item("" if rec.fold is None else rec.fold, True))

    def _edited(self) -> None:
        if getattr(self, "_blocked_edit", False):
            return
        self.summary = None
        self.changed.emit()

    # ------------------------------------------------------------------ folds of a plain folder
    def set_fold(self, key: str, fold: int | None) -> None:
        """Put recording ``key`` in ``fold`` (``None``: no fold), as typing into the table does."""
        for row in range(self.plain_table.rowCount()):
            if self.plain_table.item(row, 0).text() == key:
                self.plain_table.item(row, self.FOLD_COLUMN).setText("" if fold is None else str(fold))
                return
        raise KeyError(key)

    def table_folds(self) -> dict[str, int]:
        """The folds typed into the table (a :class:`SeldError` naming a cell that is not a fold number)."""
        folds: dict[str, int] = {}
        for row in range(self.plain_table.rowCount()):
            key = self.plain_table.item(row, 0).text()
            text = self.plain_table.item(row, self.FOLD_COLUMN).text().strip()
            if not text:
                continue
            if not text.isdigit() or not 1 <= int(text) <= 10_000:
                raise SeldError(f"the fold of {key} must be a number from 1 to 10000, not {text!r}")
            folds[key] = int(text)
        return folds

    def save_folds(self) -> Path | None:
        """Write the table's folds, format and class set to ``seld-dataset.json``; returns its path."""
        if self.root is None:
            return None
        try:
            dataset = DatasetFile.for_class_set(self.fmt, self.classes, self.table_folds())
            path = write_dataset_file(self.root, dataset)
        except SeldError as err:
            self.prompts.error("Save folds", str(err))
            return None
        self._edited()
        return path

    # ------------------------------------------------------------------ what a run takes
    @property
    def fmt(self) -> str:
        return self.fmt_combo.currentText()

    @property
    def classes(self) -> str:
        return self.classes_combo.currentText().strip()

    # ------------------------------------------------------------------ the summary
    @property
    def busy(self) -> bool:
        return self.worker is not None

    def summarize(self, train: list[int], val: list[int], test: list[int]) -> None:
        """Summarize the dataset for these folds in a worker (a running summary is cancelled first)."""
        if self.root is None:
            return
        if self.worker is not None:
            self.worker.cancel()
        root, fmt, classes = self.root, self.fmt, self.classes

        def task(progress, cancel):
            from core.common.progress import run_job
            from core.data.summary import summarize_dataset

            job = summarize_dataset(root, fmt, classes, train_folds=train, val_folds=val, test_folds=test)
            return run_job(job, progress=progress, cancel=cancel)

        worker = workers.TaskWorker(task)
        self.worker = worker
        worker.signals.progress.connect(self._on_progress)
        worker.signals.finished.connect(lambda s: self._on_summary(worker, s))
        worker.signals.failed.connect(lambda m: self._on_failed(worker, m))
        worker.signals.crashed.connect(lambda m: self._on_failed(worker, m.strip().splitlines()[-1]))
        worker.signals.cancelled.connect(lambda: self._ended(worker))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.summary_label.setText("reading the recordings' headers and label files…")
        workers.start(worker)

    def _ended(self, worker) -> bool:
        if worker is not self.worker:
            return False  # a summary that was replaced by a newer one
        self.worker = None
        self.progress.hide()
        return True

    def _on_progress(self, done: int, total: int, stage: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total} {stage}")

    def _on_failed(self, worker, message: str) -> None:
        if self._ended(worker):
            self.summary = None
            self.summary_label.setText(f"the dataset cannot be summarized: {message}")
            self.summarized.emit()

    def _on_summary(self, worker, summary: DatasetSummary) -> None:
        if not self._ended(worker):
            return
        self.summary = summary
        self.show_summary(summary)
        self.summarized.emit()

    def show_summary(self, s: DatasetSummary) -> None:
        blocking, warnings = len(s.blocking), len(s.warnings)
        verdict = "nothing blocks a run" if s.ok else f"{blocking} problem(s) block a run"
        self.summary_label.setText(
            f"{s.fmt.upper()}, class set {s.class_set.name} ({len(s.class_set)} classes); "
            f"{sum(f.files for f in s.folds.values())} recordings in {len(s.folds)} fold(s); "
            f"{verdict}, {warnings} warning(s)"
        )
        folds = sorted(s.folds.values(), key=lambda f: f.fold)
        self.fold_table.setRowCount(len(folds))
        for row, f in enumerate(folds):
            cells = [
                f.fold, ", ".join(f.roles) or "not used", f.files, f"{f.minutes:.1f}",
                f.total_events, f"{100 * f.ov1_share:.0f} %", f"{100 * f.ov2_share:.0f} %",
            ]  # fmt: skip
            for col, value in enumerate(cells):
                self.fold_table.setItem(row, col, _item(value))
        self.class_table.setColumnCount(1 + len(folds))
        self.class_table.setHorizontalHeaderLabels(["Class", *(f"fold {f.fold}" for f in folds)])
        self.class_table.setRowCount(len(s.class_set))
        for c, name in enumerate(s.class_set.names):
            self.class_table.setItem(c, 0, _item(name))
            for col, f in enumerate(folds, start=1):
                self.class_table.setItem(c, col, _item(f.events[c]))
        problems = s.blocking + s.warnings
        self.problem_table.setRowCount(len(problems))
        for row, p in enumerate(problems):
            mark = _item("✖ blocks" if p.blocking else "warning")
            if p.blocking:
                mark.setForeground(QBrush(BLOCKING_COLOR))
            where = "" if p.path is None else (str(p.path) if p.line is None else f"{p.path}, line {p.line}")
            self.problem_table.setItem(row, 0, mark)
            self.problem_table.setItem(row, 1, _item(where))
            self.problem_table.setItem(row, 2, _item(p.message))
        self.problem_table.resizeRowsToContents()
