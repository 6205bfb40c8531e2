"""Helpers for the GUI tests."""

from __future__ import annotations


def drop_paths(widget, *paths) -> None:
    """Deliver a drop of local files/folders onto ``widget`` (as dragging them from a file manager)."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    widget.dropEvent(event)
