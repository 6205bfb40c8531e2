"""Small dialogs: accepting predictions as labels, the keyboard shortcuts, restoring autosaves."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class AcceptPredictionsDialog(QDialog):
    """Which predictions become annotation events: all, the selected ones, or above a threshold."""

    def __init__(self, n_all: int, n_selected: int, has_activity: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Accept predictions as labels")
        self.all = QRadioButton(f"All predicted events ({n_all})")
        self.selected = QRadioButton(f"Selected predicted events ({n_selected}; click them in the lanes)")
        self.above = QRadioButton("Predictions whose activity is above")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.05, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0.0, 30.0)
        from core.annotation.edits import PREDICTION_TOLERANCE_DEG

        self.tolerance.setValue(PREDICTION_TOLERANCE_DEG)
        self.tolerance.setSuffix(" °")
        self.tolerance.setToolTip(
            "keyframes are kept where the trajectory departs from a great circle by more than this"
        )
        self.selected.setEnabled(n_selected > 0)
        self.above.setEnabled(has_activity)
        self.threshold.setEnabled(has_activity)
        (self.selected if n_selected else self.all).setChecked(True)
        form = QFormLayout()
        form.addRow(self.all)
        form.addRow(self.selected)
        form.addRow(self.above, self.threshold)
        form.addRow("Trajectory tolerance", self.tolerance)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def choice(self) -> tuple[str, float | None, float]:
        """``(which, threshold, tolerance_deg)``."""
        if self.above.isChecked():
            return "threshold", self.threshold.value(), self.tolerance.value()
        return ("selected" if self.selected.isChecked() else "all"), None, self.tolerance.value()


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(shortcut, what it does) for every action that has a shortcut."""
    rows = []
    for a in actions:
        keys = ", ".join(k.toString() for k in a.shortcuts() if not k.isEmpty())
        if keys:
            rows.append((keys, a.text().replace("&", "")))
    return rows


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: built from the actions themselves, so it is never out of date."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(actions)
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        for i, (keys, text) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(keys))
            table.setItem(i, 1, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(560, 520)
