"""Dataset-wide metrics of a batch: overall, per class, per file (worst first), the files not scored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from seldgui.batch.items import SortItem, class_name, number
from seldgui.tables import read_only_table

METRIC_CHOICES = (
    ("dcase2020", "DCASE 2020 (micro, as the official scorer)"),
    ("dcase2022", "DCASE 2022 (macro over classes)"),
)
CLASS_COLUMNS = ("class", "ER", "F", "LE", "LR", "SELD", "Nref", "Nsys")
FILE_COLUMNS = ("recording", "SELD", "ER", "F", "LE", "LR", "Nref", "Nsys", "frames")


def overall_text(s: Any) -> str:
    return (
        f"{s.n_files} recordings: ER {s.ER:.3f}   F {100 * s.F:.1f} %   LE {s.LE:.1f}°   "
        f"LR {100 * s.LR:.1f} %   SELD {s.SELD:.3f}"
    )


def _table(columns: tuple[str, ...]) -> QTableWidget:
    return read_only_table(columns)


class BatchMetricsView(QWidget):
    """The scores of a batch (:class:`~seldgui.batch.runner.BatchScores`) in the chosen metric.

    ``on_metric(name)`` is called when the user picks another metric; ``on_export()`` by
    Export metrics CSV; ``on_open_file(name)`` when a per-file row is activated (the worst
    file is one click away: the per-file table is sorted by SELD, worst first).
    """

    def __init__(
        self,
        on_metric: Callable[[str], None],
        on_export: Callable[[], None],
        on_open_file: Callable[[str], None],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.scores: Any = None
        self.metric = "dcase2020"
        self._on_metric, self._on_open_file = on_metric, on_open_file
        self.metric_box = QComboBox()
        for key, text in METRIC_CHOICES:
            self.metric_box.addItem(text, key)
        self.metric_box.currentIndexChanged.connect(self._metric_chosen)
        self.export_button = QPushButton("Export metrics CSV...")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(on_export)
        self.overall = QLabel(
            "Metrics appear when the batch is done and its recordings have reference labels."
        )
        self.overall.setWordWrap(True)
        self.overall.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.class_table = _table(CLASS_COLUMNS)
        self.file_table = _table(FILE_COLUMNS)
        self.file_table.setSortingEnabled(True)
        self.file_table.itemActivated.connect(self._file_activated)
        self.unscored = QListWidget()
        self.unscored_label = QLabel("Not scored")
        top = QHBoxLayout()
        top.addWidget(QLabel("Metric:"))
        top.addWidget(self.metric_box)
        top.addStretch(1)
        top.addWidget(self.export_button)
        split = QSplitter(Qt.Orientation.Vertical)
        for title, widget in (
            ("Per class", self.class_table),
            ("Per recording (sorted by SELD, worst first; double-click to open)", self.file_table),
        ):
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(QLabel(title))
            lay.addWidget(widget, 1)
            split.addWidget(box)
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.unscored_label)
        lay.addWidget(self.unscored, 1)
        split.addWidget(box)
        split.setSizes([300, 300, 80])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.overall)
        layout.addWidget(split, 1)

    def set_metric(self, metric: str) -> None:
        """Show ``metric`` (without calling back)."""
        index = self.metric_box.findData(metric)
        if index >= 0:
            self.metric_box.blockSignals(True)
            self.metric_box.setCurrentIndex(index)
            self.metric_box.blockSignals(False)
            self.metric = metric
            self._fill()

    def _metric_chosen(self, _index: int) -> None:
        self.metric = self.metric_box.currentData()
        self._fill()
        self._on_metric(self.metric)

    @property
    def shown(self) -> Any:
        """The :class:`~core.metrics.seld.SeldScores` on show (``None``: none)."""
        if self.scores is None or not self.scores.scored:
            return None
        return self.scores.scores[self.metric]

    def show_scores(self, scores: Any) -> None:
        self.scores = scores
        self._fill()

    def file_order(self) -> list[str]:
        """The per-file table's recordings, top to bottom, as shown."""
        return [self.file_table.item(i, 0).text() for i in range(self.file_table.rowCount())]

    def _fill(self) -> None:
        s = self.shown
        self.unscored.clear()
        unscored = self.scores.labelled.unscored if self.scores is not None else ()
        for u in unscored:
            self.unscored.addItem(f"{u.name}: {u.reason}")
        self.unscored_label.setText(f"Not scored ({len(unscored)})")
        self.class_table.setRowCount(0)
        self.file_table.setSortingEnabled(False)
        self.file_table.setRowCount(0)
        self.export_button.setEnabled(s is not None)
        if s is None:
            self.overall.setText(
                "Metrics appear when the batch is done and its recordings have reference labels."
            )
            return
        self.overall.setText(overall_text(s))
        classes = self.scores.labelled.classes
        rows = [c for c in s.per_class if c.Nref or c.Nsys]
        self.class_table.setRowCount(len(rows))
        for i, c in enumerate(rows):
            name = c.name or class_name(classes, c.cls)
            cells = [SortItem(name), number(c.ER), number(c.F), number(c.LE, 1), number(c.LR), number(c.SELD)]
            cells += [number(c.Nref, 0), number(c.Nsys, 0)]
            for j, item in enumerate(cells):
                self.class_table.setItem(i, j, item)
        self.file_table.setRowCount(len(s.per_file))
        for i, f in enumerate(s.per_file):
            cells = [SortItem(f.name), number(f.SELD), number(f.ER), number(f.F), number(f.LE, 1)]
            cells += [number(f.LR), number(f.Nref, 0), number(f.Nsys, 0), number(f.n_frames, 0)]
            for j, item in enumerate(cells):
                self.file_table.setItem(i, j, item)
        self.file_table.setSortingEnabled(True)
        self.file_table.sortItems(1, Qt.SortOrder.DescendingOrder)  # worst SELD first

    def _file_activated(self, item) -> None:
        self._on_open_file(self.file_table.item(item.row(), 0).text())
