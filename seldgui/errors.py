"""Error reporting for the GUI: user-facing dialogs and a logged, never-raw, excepthook."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger("seldgui")


def log_file() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    path = Path(base or Path.home() / ".seld-studio") / "seldgui.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """A modal dialog with the core's message (no traceback)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    box.exec()


def install_excepthook(parent: QWidget | None) -> None:
    """Unexpected exceptions go to the log file, and the user sees a short message."""

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        try:
            with open(log_file(), "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError:
            pass
        log.error("unexpected error: %s", text)
        show_error(
            parent, "Unexpected error", f"{exc_type.__name__}: {exc}\n\nDetails were written to {log_file()}."
        )

    sys.excepthook = hook
