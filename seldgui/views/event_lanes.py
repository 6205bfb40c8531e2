"""Event lanes: one lane per class; reference events outlined, predictions filled.

Each class has a lane (row) on one time axis: a reference event is an outlined box over
the whole lane height, a predicted event a filled bar in the lower half, both in the
class colour. Hovering shows class, times and direction; clicking moves the playhead.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from core.classes import ClassSet
from core.events import Event
from core.session import Session
from seldgui.style import class_color
from seldgui.views.timeline import PlayheadLine, SeekViewBox


def describe(event: Event, classes: ClassSet, predicted: bool) -> str:
    """Tooltip text of an event: class, times and direction."""
    name = classes[event.cls] if 0 <= event.cls < len(classes) else f"class {event.cls}"
    az0, az1 = event.azimuth[0], event.azimuth[-1]
    el0, el1 = event.elevation[0], event.elevation[-1]
    direction = (
        f"azimuth {az0:.0f}°, elevation {el0:.0f}°"
        if not event.moving
        else f"azimuth {az0:.0f}° → {az1:.0f}°, elevation {el0:.0f}° → {el1:.0f}°"
    )
    kind = "prediction" if predicted else "reference"
    return f"{name} ({kind}, track {event.track})\n{event.onset_s:.1f}–{event.offset_s:.1f} s\n{direction}"


class _EventBox(QGraphicsRectItem):
    def __init__(self, rect: QRectF, tooltip: str):
        super().__init__(rect)
        self.setToolTip(tooltip)
        self.setAcceptHoverEvents(True)


class EventLanesView(QWidget):
    """Observes the session's classes, reference and predictions; x axis in seconds."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.plot = pg.PlotWidget(viewBox=SeekViewBox(session))
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.reference_items: list[_EventBox] = []
        self.prediction_items: list[_EventBox] = []
        self.playhead = PlayheadLine(self.plot.getPlotItem(), session)
        session.classes_changed.connect(lambda _c: self._redraw())
        session.reference_changed.connect(lambda _e: self._redraw())
        session.predictions_changed.connect(lambda _e: self._redraw())
        self._set_lanes()

    def _set_lanes(self) -> None:
        classes = self.session.classes
        axis = self.plot.getAxis("left")
        axis.setTicks([[(i + 0.5, classes[i]) for i in range(len(classes))]])
        self.plot.setYRange(0, len(classes), padding=0)

    def _clear(self, items: list[_EventBox]) -> None:
        for item in items:
            self.plot.removeItem(item)
        items.clear()

    def _redraw(self) -> None:
        self._set_lanes()
        self._clear(self.reference_items)
        self._clear(self.prediction_items)
        classes = self.session.classes
        for event in self.session.reference_events:
            box = _EventBox(
                QRectF(event.onset_s, event.cls + 0.05, event.offset_s - event.onset_s, 0.9),
                describe(event, classes, False),
            )
            color = QColor(class_color(event.cls))
            pen = QPen(color, 2)
            pen.setCosmetic(True)
            box.setPen(pen)
            fill = QColor(color)
            fill.setAlpha(40)
            box.setBrush(QBrush(fill))
            self.plot.addItem(box)
            self.reference_items.append(box)
        for event in self.session.predicted_events:
            box = _EventBox(
                QRectF(event.onset_s, event.cls + 0.15, event.offset_s - event.onset_s, 0.35),
                describe(event, classes, True),
            )
            box.setPen(QPen(Qt.PenStyle.NoPen))
            box.setBrush(QBrush(QColor(class_color(event.cls))))
            self.plot.addItem(box)
            self.prediction_items.append(box)
