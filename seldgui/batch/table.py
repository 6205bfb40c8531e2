"""The batch table: one row per recording (status, duration, predicted events, time taken, problem)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from core.inference.batch import BatchRow, BatchTracker

COLUMNS = ("recording", "status", "duration", "events", "time", "problem")
STATUS_COLORS = {"failed": "#e06c6c", "cancelled": "#a0a0a0", "running": "#6cb0e0", "done": "#7cc47c"}


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


class BatchTableModel(QAbstractTableModel):
    """A read-only view of a :class:`BatchTracker`'s rows; :meth:`reset` and :meth:`row_changed`
    are called as the batch's events arrive."""

    def __init__(self, tracker: BatchTracker, parent=None):
        super().__init__(parent)
        self.tracker = tracker

    def set_tracker(self, tracker: BatchTracker) -> None:
        self.beginResetModel()
        self.tracker = tracker
        self.endResetModel()

    def reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def row_changed(self, index: int) -> None:
        self.dataChanged.emit(self.index(index, 0), self.index(index, len(COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 (Qt API)
        return 0 if parent.isValid() else self.tracker.total

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008, N802 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 (Qt API)
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def row(self, index: int) -> BatchRow:
        return self.tracker.rows[index]

    @staticmethod
    def cell(row: BatchRow, column: int) -> str:
        """The text of ``column`` of ``row``."""
        name = COLUMNS[column]
        if name == "recording":
            return row.path.name
        if name == "status":
            if row.status == "running":
                return f"running {100 * row.fraction:.0f} %"
            return row.status
        if name == "duration":
            return _seconds(row.duration_s)
        if name == "events":
            return "" if row.n_events is None else str(row.n_events)
        if name == "time":
            return _seconds(row.seconds)
        # the path is in the tooltip: here the file's name, so that the problem itself shows
        return (row.error or "").replace(str(row.path), row.path.name)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.tracker.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error or str(row.path)
        if role == Qt.ItemDataRole.ForegroundRole and COLUMNS[index.column()] == "status":
            color = STATUS_COLORS.get(row.status)
            return QColor(color) if color else None
        if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[index.column()] in (
            "duration",
            "events",
            "time",
        ):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None


class BatchTable(QTableView):
    """The batch table; activating (double-click, Enter) a row of a done recording opens it."""

    def __init__(self, model: BatchTableModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        for i in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
