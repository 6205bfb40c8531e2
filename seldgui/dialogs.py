"""Small dialogs: a recording's format, accepting predictions as labels, the keyboard
shortcuts, restoring autosaves."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def _buttons(dialog: QDialog, accept_button) -> QDialogButtonBox:
    """``accept_button`` and Cancel, wired to the dialog's accept and reject."""
    buttons = QDialogButtonBox(accept_button | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class FileDialogs:
    """Open and save dialogs that start in the folder last used (kept in the settings)."""

    def __init__(self, parent: QWidget, settings):
        self.parent, self.settings = parent, settings

    def _remember(self, path: str, folder: Path) -> Path | None:
        if not path:
            return None
        self.settings.set("last_folder", str(folder))
        return Path(path)

    def open_file(self, title: str, filters: str) -> Path | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, title, self.settings.get("last_folder"), filters)
        return self._remember(path, Path(path).parent)

    def open_folder(self, title: str) -> Path | None:
        path = QFileDialog.getExistingDirectory(self.parent, title, self.settings.get("last_folder"))
        return self._remember(path, Path(path))

    def save_file(self, title: str, filters: str, name: str) -> Path | None:
        start = str(Path(self.settings.get("last_folder")) / name)
        path, _ = QFileDialog.getSaveFileName(self.parent, title, start, filters)
        return self._remember(path, Path(path).parent)


FORMAT_TEXTS = {
    "foa": "FOA, AmbiX: Ambisonics W, Y, Z, X (SN3D), as DCASE foa_* files",
    "foa-fuma": "FOA, FuMa: Ambisonics W, X, Y, Z (W at -3 dB)",
    "mic": "MIC: the four capsules of the tetrahedral array (M1..M4), as DCASE mic_* files",
}


class FormatDialog(QDialog):
    """How are this file's four channels to be read? The format guessed from the signal is proposed."""

    def __init__(self, path: Path, guess, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Which format is this recording?")
        intro = QLabel(
            f"<b>{path.name}</b> has four channels, and its folder does not say what they are "
            "(DCASE folders are named foa_* or mic_*). Choose how to read them:"
        )
        intro.setWordWrap(True)
        proposed = guess.fmt or "foa"
        self.buttons = {choice: QRadioButton(text) for choice, text in FORMAT_TEXTS.items()}
        self.buttons[proposed].setChecked(True)
        if guess.fmt is None:
            hint = "The start of the file is silent: nothing could be guessed from the signal."
        else:
            hint = f"From the signal: {guess.describe()}. " + (
                "AmbiX and FuMa cannot be told apart from the signal; DCASE files are AmbiX."
                if guess.fmt == "foa"
                else "The four channels sound alike at low frequencies, as close capsules do."
            )
        self.hint = QLabel(hint)
        self.hint.setWordWrap(True)
        self.remember = QCheckBox(f"Use this for every recording in {path.parent.name or path.parent}")
        self.remember.setChecked(True)
        buttons = _buttons(self, QDialogButtonBox.StandardButton.Open)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        for button in self.buttons.values():
            layout.addWidget(button)
        layout.addWidget(self.hint)
        layout.addWidget(self.remember)
        layout.addWidget(buttons)

    def choice(self) -> tuple[str, bool]:
        """``(format choice, remember for the folder)``."""
        chosen = next(c for c, b in self.buttons.items() if b.isChecked())
        return chosen, self.remember.isChecked()


def ask_format(parent: QWidget | None, path: Path, guess) -> tuple[str, bool] | None:
    """The user's format choice for ``path`` (``None``: cancelled)."""
    dialog = FormatDialog(path, guess, parent)
    return dialog.choice() if dialog.exec() else None


def ask_restore(parent: QWidget | None, saved) -> str:
    """ "restore", "discard" or "later" for labels a crash left unsaved."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved.saved_at))
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Restore unsaved labels?")
    refused = ""
    if saved.n_refused:
        refused = (
            f" {saved.n_refused} damaged event{'s' if saved.n_refused != 1 else ''} of the file "
            "cannot be restored; the file is kept aside unchanged."
        )
        box.setDetailedText("\n".join(saved.refused))
    box.setText(
        f"SELD Studio closed with unsaved labels for {Path(saved.recording).name} "
        f"({len(saved.annotation)} events, autosaved {when}).{refused} Restore them?"
    )
    restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    clicked = box.clickedButton()
    return "restore" if clicked is restore else "discard" if clicked is discard else "later"


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
        buttons = _buttons(self, QDialogButtonBox.StandardButton.Ok)
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
