"""The questions the Train page asks a user, in one object a test replaces method by method.

Every dialog of the page goes through :class:`Prompts` (an error, a yes/no question, a choice
between buttons, a folder, a file to open or save), so a test assigns, e.g.,
``page.prompts.choose = lambda *a: "Stop it"`` and no real dialog ever waits for a click.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from seldgui.dialogs import FileDialogs
from seldgui.errors import show_error
from seldgui.settings import Settings


class Prompts:
    """The page's dialogs (see the module docstring)."""

    def __init__(self, parent: QWidget, settings: Settings):
        self.parent = parent
        self.files = FileDialogs(parent, settings)

    def error(self, title: str, message: str) -> None:
        """Show a problem (the core's message names the file and what is wrong)."""
        show_error(self.parent, title, message)

    def choose(self, title: str, text: str, choices: list[str]) -> str | None:
        """One of ``choices`` (button labels, the last one the cancel button), or ``None`` when closed."""
        box = QMessageBox(
            QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, self.parent
        )
        buttons = {}
        for i, label in enumerate(choices):
            role = (
                QMessageBox.ButtonRole.RejectRole
                if i == len(choices) - 1
                else QMessageBox.ButtonRole.AcceptRole
            )
            buttons[box.addButton(label, role)] = label
        box.exec()
        return buttons.get(box.clickedButton())

    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question (e.g. replace a file that exists)."""
        answer = QMessageBox.question(self.parent, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def folder(self, title: str) -> Path | None:
        return self.files.open_folder(title)

    def open_file(self, title: str, filters: str) -> Path | None:
        return self.files.open_file(title, filters)

    def save_file(self, title: str, filters: str, name: str) -> Path | None:
        return self.files.save_file(title, filters, name)
