"""The error inspector: every error of the model (missed, false alarm, mislocated, wrong class),
sortable and filtered by kind, for the batch or the open recording; and the per-class
confusion table (which classes are missed, and what is predicted in their place)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from core.metrics.errors import KINDS
from seldgui.batch.items import SortItem, class_name, number
from seldgui.tables import read_only_table

ERROR_COLUMNS = ("kind", "class", "predicted", "recording", "start", "end", "error")
CONFUSION_COLUMNS = ("class", "missed", "predicted instead", "mislocated", "false alarms")
KIND_TEXT = {
    "missed": "missed",
    "false_alarm": "false alarm",
    "mislocated": "mislocated",
    "wrong_class": "wrong class",
}
SCOPES = (("batch", "every recording of the batch"), ("open", "the open recording"))
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 2


def _table(columns: Sequence[str]) -> QTableWidget:
    return read_only_table(columns, single=True)


class ErrorsView(QWidget):
    """The error list and the filters; ``on_error(entry)`` when an error is chosen (clicked or
    activated), ``errors_for(scope)`` gives the entries of a scope ("batch" or "open")."""

    def __init__(
        self,
        errors_for: Callable[[str], list],
        on_error: Callable[[Any], None],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.errors_for, self.on_error = errors_for, on_error
        self.classes: Any = None
        self.entries: list = []
        self.scope_box = QComboBox()
        for key, text in SCOPES:
            self.scope_box.addItem(text, key)
        self.kind_box = QComboBox()
        self.kind_box.addItem("every kind", None)
        for kind in KINDS:
            self.kind_box.addItem(KIND_TEXT[kind], kind)
        self.count_label = QLabel("")
        for box in (self.scope_box, self.kind_box):
            box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.table = _table(ERROR_COLUMNS)
        self.table.setSortingEnabled(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.itemActivated.connect(lambda item: self._choose(item.row()))
        top = QHBoxLayout()
        top.addWidget(QLabel("Errors of"))
        top.addWidget(self.scope_box)
        top.addWidget(QLabel("kind"))
        top.addWidget(self.kind_box)
        top.addStretch(1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        hint = QLabel("Click an error to see it in the Review tab (sort by a column header).")
        hint.setStyleSheet("color: #888")
        layout.addWidget(hint)

    @property
    def scope(self) -> str:
        return self.scope_box.currentData()

    def set_scope(self, scope: str) -> None:
        self.scope_box.setCurrentIndex(self.scope_box.findData(scope))

    def set_kind(self, kind: str | None) -> None:
        self.kind_box.setCurrentIndex(self.kind_box.findData(kind))

    def refresh(self) -> None:
        kind = self.kind_box.currentData()
        entries = [e for e in self.errors_for(self.scope) if kind is None or e.kind == kind]
        self.entries = entries
        table = self.table
        table.blockSignals(True)
        table.setSortingEnabled(False)
        table.setRowCount(len(entries))
        for i, e in enumerate(entries):
            first = SortItem(KIND_TEXT[e.kind], KINDS.index(e.kind))
            first.setData(ENTRY_ROLE, i)
            cells = [
                first,
                SortItem(class_name(self.classes, e.cls), e.cls),
                SortItem(
                    class_name(self.classes, e.pred_cls) if e.kind != "missed" else "–", e.pred_cls or -1
                ),
                SortItem(e.file),
                number(e.onset_s, 1, " s"),
                number(e.offset_s, 1, " s"),
                number(e.angular_error, 1, "°"),
            ]
            for j, item in enumerate(cells):
                table.setItem(i, j, item)
        table.setSortingEnabled(True)
        table.sortItems(1, Qt.SortOrder.DescendingOrder)  # the most-missed class first
        table.blockSignals(False)
        self.count_label.setText(f"{len(entries)} errors")

    def sort_by(self, column: str, descending: bool = False) -> None:
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.table.sortItems(ERROR_COLUMNS.index(column), order)

    def entry_at(self, row: int):
        """The error shown on table row ``row`` (after sorting)."""
        return self.entries[self.table.item(row, 0).data(ENTRY_ROLE)]

    def shown(self) -> list:
        """The errors top to bottom, as shown."""
        return [self.entry_at(r) for r in range(self.table.rowCount())]

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)

    def _selected(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) == 1:
            self._choose(rows.pop())

    def _choose(self, row: int) -> None:
        if 0 <= row < self.table.rowCount():
            self.on_error(self.entry_at(row))


class ConfusionView(QWidget):
    """Per class: missed segments, the classes predicted in their place, mislocated, false alarms."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = _table(CONFUSION_COLUMNS)
        self.table.setSortingEnabled(True)
        layout = QVBoxLayout(self)
        note = QLabel(
            "Counted in 1 s segments, as the official metric decides: 'predicted instead' are the "
            "wrong-class segments (the class missed and another predicted there, near it)."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)

    def show_confusion(self, confusion: Any, classes: Any) -> None:
        rows = confusion.rows if confusion is not None else ()
        table = self.table
        table.setSortingEnabled(False)
        table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            instead = ", ".join(f"{class_name(classes, c)} ×{n}" for c, n in r.replaced_by) or "–"
            cells = [
                SortItem(class_name(classes, r.cls), r.cls),
                number(r.missed, 0),
                SortItem(instead, r.replaced),
                number(r.mislocated, 0),
                number(r.false_alarms, 0),
            ]
            for j, item in enumerate(cells):
                table.setItem(i, j, item)
        table.setSortingEnabled(True)
        table.sortItems(1, Qt.SortOrder.DescendingOrder)  # the most-missed class first
