"""Every run under the runs root, the end of a chosen run's log, and a comparison of several runs.

The list (:func:`core.training.runs.list_runs`, read in a worker) shows each run's status (a
run whose process died shows as stopped, marked "died"), steps, best validation SELD and its
step, loss, dataset and date. Selecting a run shows the end of its log
(:func:`core.training.runs.log_tail`: why a failed run failed, where a died one stopped).
**Compare** overlays the validation SELD curves of the selected runs and shows the paper's
Table 1 columns (LE, LR, ER, F, SELD) on validation and test
(:func:`core.training.runs.compare_runs`).
"""

from __future__ import annotations

import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.training.runs import TABLE1_COLUMNS, ComparisonRow, RunSummary, list_runs, log_tail
from seldgui import workers
from seldgui.style import class_color
from seldgui.training.dataset_panel import _item, _table

RUN_COLUMNS = ["Run", "Status", "Steps", "Best SELD", "at step", "Loss", "Dataset", "Date"]


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


class RunsPanel(QWidget):
    """See the module docstring. ``show_requested``, ``stop_requested``, ``resume_requested`` carry
    the chosen :class:`RunSummary`; ``listed`` after each refresh."""

    show_requested = Signal(object)
    stop_requested = Signal(object)
    resume_requested = Signal(object)
    listed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.root: Path | None = None
        self.runs: list[RunSummary] = []
        self.comparison: list[ComparisonRow] = []
        self.loading = False
        self._build()

    def _build(self) -> None:
        self.table = _table(RUN_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self._emit(self.show_requested))
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.show_button = QPushButton("Show curves")
        self.show_button.clicked.connect(lambda: self._emit(self.show_requested))
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(lambda: self._emit(self.stop_requested))
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(lambda: self._emit(self.resume_requested))
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("select two or more runs")
        self.compare_button.clicked.connect(self.compare)
        buttons = QHBoxLayout()
        for b in (
            self.refresh_button,
            self.show_button,
            self.stop_button,
            self.resume_button,
            self.compare_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.log_tail = QPlainTextEdit()
        self.log_tail.setReadOnly(True)
        self.log_tail.setPlaceholderText("the end of the selected run's log")

        self.compare_table = _table(
            ["Run", *(f"val {c}" for c in TABLE1_COLUMNS), "val step", *(f"test {c}" for c in TABLE1_COLUMNS)]
        )
        self.compare_plot = pg.PlotWidget(title="validation SELD of the compared runs")
        self.compare_plot.showGrid(x=True, y=True, alpha=0.25)
        self.compare_plot.setLabel("bottom", "step")
        self.compare_plot.addLegend(offset=(-5, 5))
        self.compare_curves: dict[str, pg.PlotDataItem] = {}

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.table, 3)
        top_layout.addWidget(QLabel("Log"))
        top_layout.addWidget(self.log_tail, 1)
        # the runs, then the comparison's Table 1 (every column visible), then its curves
        split = QSplitter(Qt.Orientation.Vertical)
        for part, stretch in ((top, 3), (self.compare_table, 1), (self.compare_plot, 3)):
            split.addWidget(part)
            split.setStretchFactor(split.indexOf(part), stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._selection_changed()

    # ------------------------------------------------------------------ the list
    def set_root(self, root: Path) -> None:
        self.root = Path(root)
        self.refresh()

    def refresh(self) -> None:
        """List the runs again (in a worker)."""
        if self.root is None or self.loading:
            return
        if not self.root.is_dir():
            self._on_listed([])
            return
        self.loading = True
        root = self.root
        workers.submit(lambda: list_runs(root), self._on_listed, lambda m: self._on_listed([], m), owner=self)

    def _on_listed(self, runs: list[RunSummary], problem: str = "") -> None:
        selected = {r.path for r in self.selected()}
        self.loading = False
        self.runs = runs
        self.table.setRowCount(len(runs))
        for row, run in enumerate(runs):
            status = run.status + (" (died)" if run.died else "")
            date = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created)) if run.created else "–"
            cells = [
                run.name, status, run.steps, _number(run.best_seld, 4),
                "–" if run.best_step is None else run.best_step, run.loss or "–", run.dataset or "–", date,
            ]  # fmt: skip
            for col, value in enumerate(cells):
                self.table.setItem(row, col, _item(value))
            if run.path in selected:
                self.table.selectRow(row)
        if problem:
            self.log_tail.setPlainText(problem)
        self._selection_changed()
        self.listed.emit()

    def run_named(self, name: str) -> RunSummary | None:
        return next((r for r in self.runs if r.name == name), None)

    def select(self, *names: str) -> None:
        """Select the runs named ``names`` (as clicking them with Ctrl does)."""
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row, run in enumerate(self.runs):
            if run.name in names:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def selected(self) -> list[RunSummary]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def _emit(self, signal) -> None:
        chosen = self.selected()
        if len(chosen) == 1:
            signal.emit(chosen[0])

    def _selection_changed(self) -> None:
        chosen = self.selected()
        one = chosen[0] if len(chosen) == 1 else None
        self.show_button.setEnabled(one is not None)
        self.stop_button.setEnabled(one is not None and one.status == "running")
        self.resume_button.setEnabled(one is not None and one.resumable)
        self.compare_button.setEnabled(len(chosen) >= 2)
        if one is not None:
            lines = log_tail(one, 30)
            head = f"{one.name}: {one.status}" + (f" ({one.message})" if one.message else "")
            self.log_tail.setPlainText("\n".join([head, *lines]))
            self.log_tail.verticalScrollBar().setValue(self.log_tail.verticalScrollBar().maximum())

    # ------------------------------------------------------------------ comparison
    def compare(self) -> None:
        """Compare the selected runs (read in a worker): the Table 1 columns and the SELD curves."""
        chosen = self.selected()
        if len(chosen) < 2:
            return
        from core.training.runs import compare_runs

        workers.submit(lambda: compare_runs(chosen, steps=False), self.show_comparison, owner=self)

    def show_comparison(self, rows: list[ComparisonRow]) -> None:
        self.comparison = rows
        self.compare_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            val, test = row.val or {}, row.test or {}
            cells = [row.run.name, *(_number(val.get(c)) for c in TABLE1_COLUMNS)]
            cells += [
                "–" if row.val_step is None else row.val_step,
                *(_number(test.get(c)) for c in TABLE1_COLUMNS),
            ]
            for col, value in enumerate(cells):
                self.compare_table.setItem(r, col, _item(value))
        self.compare_plot.clear()
        self.compare_curves = {}
        for i, row in enumerate(rows):
            pen = pg.mkPen(class_color(i), width=2)
            self.compare_curves[row.run.name] = self.compare_plot.plot(
                row.curves.val["step"],
                row.curves.val["SELD"],
                pen=pen,
                name=row.run.name,
                symbol="o",
                symbolSize=5,
                symbolBrush=class_color(i),
            )
