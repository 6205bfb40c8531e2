"""Shared pieces of the time-axis views: the playhead line and view boxes for clicks and drags."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from core.session.session import Session
from seldgui.style import PLAYHEAD_COLOR


class PlayheadLine:
    """An ``InfiniteLine`` in ``plot`` that follows ``session.playhead_s``."""

    def __init__(self, plot: pg.PlotItem, session: Session):
        self.session = session
        self.line = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD_COLOR, width=1))
        self.line.setZValue(100)
        plot.addItem(self.line, ignoreBounds=True)
        session.playhead_changed.connect(self._on_playhead)

    def _on_playhead(self, seconds: float) -> None:
        self.line.setValue(seconds)


class ClickViewBox(pg.ViewBox):
    """A view box that calls ``on_click(x, y)`` (view coordinates) on a left click, not a drag.

    Clicks are handled in the view box itself rather than through the scene's click
    signal: Python receivers of that signal crash PySide6 at interpreter exit.
    """

    def __init__(self, on_click, **kwargs):
        super().__init__(**kwargs)
        self.on_click = on_click

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.on_click(p.x(), p.y())
        else:
            super().mouseClickEvent(ev)


def SeekViewBox(session: Session, **kwargs) -> ClickViewBox:  # noqa: N802 (reads as a class)
    """A view box whose left click moves the session's playhead to the clicked time."""
    return ClickViewBox(lambda x, _y: session.set_playhead(x), **kwargs)


class EditViewBox(ClickViewBox):
    """A click view box whose left drags an owner may take over (to edit), else pan as usual.

    ``owner.edit_drag(phase, start, pos, modifiers)`` is called with ``phase`` "start" (return
    ``True`` to take the drag), then "move" and "finish"; ``start`` and ``pos`` are view
    coordinates (``QPointF``). ``owner.pixel_size()`` gives the size of a screen pixel in
    view units, for hit tolerances.
    """

    def __init__(self, on_click, owner, **kwargs):
        super().__init__(on_click, **kwargs)
        self.owner = owner
        self._taken = False
        self.last_modifiers = Qt.KeyboardModifier.NoModifier

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        self.last_modifiers = ev.modifiers()
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton:
            pos = self.mapSceneToView(ev.scenePos())
            start = self.mapSceneToView(ev.buttonDownScenePos())
            if ev.isStart():
                self._taken = bool(self.owner.edit_drag("start", start, pos, ev.modifiers()))
            if self._taken:
                ev.accept()
                self.owner.edit_drag("finish" if ev.isFinish() else "move", start, pos, ev.modifiers())
                if ev.isFinish():
                    self._taken = False
                return
        super().mouseDragEvent(ev, axis)
