"""Event lanes: one lane per class; reference events outlined, predictions filled.

Each class has a lane (row) on one time axis: a reference event is an outlined box over
the lane height (split into one row per track when a class has simultaneous events), a
predicted event a filled bar in the lower half, both in the class colour. Hovering shows class, times and direction; clicking moves the playhead.

In edit mode (with an ``editor``, the window's annotation controller) a click selects the
event under it (Ctrl: add to the selection; a predicted bar selects the prediction), a
drag on an event moves the selected events, a drag on its left or right edge resizes
it, a drag on empty lane space creates an event of that lane's class, and a Shift+drag
selects every event its rectangle touches. Selected
events are drawn with a white outline.

The class names on the left axis never overlap: when the lanes are too thin for every
name, only every second (third, ...) lane is named, and names too long for the axis are
elided; the tooltip of every event names its class.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from core.common.timebase import nearest_boundary
from core.labels.classes import ClassSet
from core.labels.events import Event
from core.session.session import Session
from seldgui.style import SELECTION_COLOR, class_color
from seldgui.views.doa_common import HIGHLIGHT_COLOR
from seldgui.views.timeline import (
    LEFT_AXIS_WIDTH,
    EditViewBox,
    FollowViewRange,
    PlayheadLine,
    style_time_plot,
    time_readout,
)

EDGE_PX = 6  # how close to an event's edge a drag resizes instead of moving
PREDICTION_BAND = (0.15, 0.5)  # where predicted bars sit in a lane (fraction of its height)


def describe(event: Event, classes: ClassSet, predicted: bool, duration_s: float = 0.0) -> str:
    """Tooltip text of an event: class, times (as the time axis writes them for a recording
    of ``duration_s``) and direction."""
    name = classes[event.cls] if 0 <= event.cls < len(classes) else f"class {event.cls}"
    az0, az1 = event.azimuth[0], event.azimuth[-1]
    el0, el1 = event.elevation[0], event.elevation[-1]
    direction = (
        f"azimuth {az0:.0f}°, elevation {el0:.0f}°"
        if not event.moving
        else f"azimuth {az0:.0f}° → {az1:.0f}°, elevation {el0:.0f}° → {el1:.0f}°"
    )
    kind = "prediction" if predicted else "reference"
    onset, offset = (time_readout(t, duration_s, 1) for t in (event.onset_s, event.offset_s))
    times = f"{onset.removesuffix(' s')}–{offset}"
    return f"{name} ({kind}, track {event.track})\n{times}\n{direction}"


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
        self.editor = None  # the annotation controller, set by the window; None: read-only
        self._drag: dict | None = None
        self.view_box = EditViewBox(self._on_click, self)
        self.plot = pg.PlotWidget(viewBox=self.view_box)
        style_time_plot(self.plot.getPlotItem(), session)
        self.follow = FollowViewRange(session, [self.plot.getPlotItem()])
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.reference_items: list[_EventBox] = []
        self.prediction_items: list[_EventBox] = []
        self.playhead = PlayheadLine(self.plot.getPlotItem(), session)
        self.band = QGraphicsRectItem()  # the rubber band of a Shift+drag selection
        band_pen = QPen(QColor(SELECTION_COLOR), 1, Qt.PenStyle.DashLine)
        band_pen.setCosmetic(True)
        self.band.setPen(band_pen)
        self.band.setZValue(50)
        self.band.hide()
        self.plot.addItem(self.band, ignoreBounds=True)
        session.classes_changed.connect(lambda _c: self._redraw())
        session.reference_changed.connect(lambda _e: self._redraw_reference())
        session.predictions_changed.connect(lambda _e: self._redraw_predictions())
        session.selection_changed.connect(lambda _s: self._redraw_reference())
        session.prediction_selection_changed.connect(lambda _s: self._redraw_predictions())
        session.recording_changed.connect(lambda _r: self._redraw())
        # the highlight (an error chosen in the inspector): a band over its span, its lanes outlined
        self.highlight_band = QGraphicsRectItem()
        self.highlight_band.setPen(QPen(Qt.PenStyle.NoPen))
        band_fill = QColor(HIGHLIGHT_COLOR)
        band_fill.setAlpha(35)
        self.highlight_band.setBrush(QBrush(band_fill))
        self.highlight_band.setZValue(-5)
        self.highlight_band.hide()
        self.plot.addItem(self.highlight_band, ignoreBounds=True)
        self.highlight_boxes: list[QGraphicsRectItem] = []
        session.highlight_changed.connect(lambda _h: self._draw_highlight())
        session.classes_changed.connect(lambda _c: self._draw_highlight())
        self.view_box.sigResized.connect(lambda *_: self._name_lanes())
        self._set_lanes()

    def _set_lanes(self) -> None:
        self.plot.setYRange(0, len(self.session.classes), padding=0)
        self._name_lanes()

    def lane_label_step(self) -> int:
        """Every how many lanes a class name is written, so that no two names overlap."""
        n = max(1, len(self.session.classes))
        lane_px = self.view_box.height() / n
        text_px = QFontMetrics(self.plot.getAxis("left").font()).height()
        return max(1, math.ceil(text_px / lane_px)) if lane_px > 0 else n

    def _name_lanes(self) -> None:
        classes = self.session.classes
        axis = self.plot.getAxis("left")
        metrics = QFontMetrics(axis.font())
        room = LEFT_AXIS_WIDTH - 12  # the tick and a margin
        names = [
            metrics.elidedText(classes[i], Qt.TextElideMode.ElideRight, room) for i in range(len(classes))
        ]
        step = self.lane_label_step()
        axis.setTicks(
            [
                [(i + 0.5, names[i]) for i in range(0, len(classes), step)],
                [(i + 0.5, "") for i in range(len(classes)) if i % step],
            ]
        )

    def _pool(self, items: list[_EventBox], n: int) -> None:
        """Keep exactly ``n`` boxes (reused between redraws: adding items to a plot is slow)."""
        while len(items) < n:
            box = _EventBox(QRectF(), "")
            self.plot.addItem(box)
            items.append(box)
        while len(items) > n:
            self.plot.removeItem(items.pop())

    def _redraw(self) -> None:
        self._set_lanes()
        self._redraw_reference()
        self._redraw_predictions()

    def _redraw_reference(self) -> None:
        classes = self.session.classes
        selected = self.session.selected_ids
        events = self.session.reference_events
        tracks: dict[int, int] = {}  # tracks per class: a lane is split into one row per track
        for event in events:
            tracks[event.cls] = max(tracks.get(event.cls, 1), event.track + 1)
        self._pool(self.reference_items, len(events))
        for box, event in zip(self.reference_items, events, strict=True):
            row = 0.9 / tracks[event.cls]
            box.setRect(
                QRectF(
                    event.onset_s, event.cls + 0.05 + event.track * row, event.offset_s - event.onset_s, row
                )
            )
            box.setToolTip(describe(event, classes, False, self.session.duration_s))
            box.event_id = event.id
            color = QColor(class_color(event.cls))
            chosen = event.id in selected
            pen = QPen(QColor(SELECTION_COLOR) if chosen else color, 3 if chosen else 2)
            pen.setCosmetic(True)
            box.setPen(pen)
            fill = QColor(color)
            fill.setAlpha(40)
            box.setBrush(QBrush(fill))

    def _redraw_predictions(self) -> None:
        classes = self.session.classes
        events = self.session.predicted_events
        self._pool(self.prediction_items, len(events))
        lo, hi = PREDICTION_BAND
        for i, (box, event) in enumerate(zip(self.prediction_items, events, strict=True)):
            box.setRect(QRectF(event.onset_s, event.cls + lo, event.offset_s - event.onset_s, hi - lo))
            box.setToolTip(describe(event, classes, True, self.session.duration_s))
            if i in self.session.selected_predictions:
                pen = QPen(QColor(SELECTION_COLOR), 2)
                pen.setCosmetic(True)
                box.setPen(pen)
            else:
                box.setPen(QPen(Qt.PenStyle.NoPen))
            box.setBrush(QBrush(QColor(class_color(event.cls))))

    def _draw_highlight(self) -> None:
        h = self.session.highlight
        for box in self.highlight_boxes:
            self.plot.removeItem(box)
        self.highlight_boxes = []
        if h is None:
            self.highlight_band.hide()
            return
        width = max(h.end_s - h.start_s, 0.05)
        self.highlight_band.setRect(QRectF(h.start_s, 0, width, len(self.session.classes)))
        self.highlight_band.show()
        pen = QPen(QColor(HIGHLIGHT_COLOR), 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        for cls in dict.fromkeys(c for c in (h.cls, h.pred_cls) if c is not None):
            box = QGraphicsRectItem(QRectF(h.start_s, cls, width, 1.0))
            box.setPen(pen)
            box.setZValue(40)
            box.setToolTip(h.label)
            self.plot.addItem(box, ignoreBounds=True)
            self.highlight_boxes.append(box)

    # ------------------------------------------------------------------ editing
    def _editing(self) -> bool:
        return self.editor is not None and self.session.editing

    def pixel_size(self) -> float:
        return float(self.view_box.viewPixelSize()[0])

    def reference_at(self, t: float, y: float) -> Event | None:
        """The reference event whose box is at (``t``, ``y``) (the latest-starting one)."""
        in_lane = [
            e for e in self.session.reference_events if e.cls <= y < e.cls + 1 and e.onset_s <= t < e.offset_s
        ]
        boxes = {b.event_id: b.rect() for b in self.reference_items}
        in_box = [e for e in in_lane if e.id in boxes and boxes[e.id].top() <= y < boxes[e.id].bottom()]
        hits = in_box or in_lane  # the lane's margins count too
        return max(hits, key=lambda e: e.start) if hits else None

    def prediction_at(self, t: float, y: float) -> int | None:
        lo, hi = PREDICTION_BAND
        for i, e in enumerate(self.session.predicted_events):
            if e.cls + lo <= y < e.cls + hi and e.onset_s <= t < e.offset_s:
                return i
        return None

    def _on_click(self, t: float, y: float) -> None:
        self.session.set_playhead(t)
        if not self._editing():
            return
        toggle = bool(self.view_box.last_modifiers & Qt.KeyboardModifier.ControlModifier)
        predicted = self.prediction_at(t, y)
        if predicted is not None:
            chosen = {predicted} ^ (self.session.selected_predictions if toggle else set())
            self.session.set_prediction_selection(chosen)
            return
        hit = self.reference_at(t, y)
        if hit is None:
            if not toggle:
                self.session.set_selection(())
            return
        self.editor.select([hit.id], toggle=toggle)

    def edit_drag(self, phase: str, start, pos, modifiers) -> bool:
        """Move, resize or create events with the mouse (see the module doc)."""
        from seldgui.annotation import CreateGesture

        if phase == "start":
            if not self._editing():
                return False
            t0, y0 = start.x(), start.y()
            if not 0 <= y0 < len(self.session.classes):
                return False
            px = self.pixel_size()
            hit = self.reference_at(t0, y0) or self.reference_at(t0 - EDGE_PX * px, y0)
            hit = hit or self.reference_at(t0 + EDGE_PX * px, y0)  # just outside an edge grabs it
            drag: dict = {"gesture": object(), "t0": t0}
            if modifiers & Qt.KeyboardModifier.ShiftModifier:  # rubber band: select what it touches
                drag.update(mode="select", y0=y0)
                self.band.setRect(QRectF(t0, y0, 0.0, 0.0))
                self.band.show()
            elif hit is None:
                drag.update(mode="create", create=CreateGesture(self.editor, int(y0), t0))
            else:
                # near an edge resizes; a narrow event keeps its middle third for moving
                tol = min(EDGE_PX * px, (hit.offset_s - hit.onset_s) / 3)
                outside = not hit.onset_s <= t0 < hit.offset_s
                if hit.id not in self.session.selected_ids:
                    self.editor.select([hit.id])
                if abs(t0 - hit.onset_s) <= tol or (outside and t0 < hit.onset_s):
                    drag.update(mode="resize_start", id=hit.id, start=hit.start, end=hit.end)
                elif abs(t0 - hit.offset_s) <= tol or outside:
                    drag.update(mode="resize_end", id=hit.id, start=hit.start, end=hit.end)
                else:
                    drag.update(mode="move", id=hit.id, origin=hit.start)
            self._drag = drag
            return True
        drag = self._drag
        if drag is None:
            return False
        t = pos.x()
        if drag["mode"] == "select":
            band = QRectF(drag["t0"], drag["y0"], t - drag["t0"], pos.y() - drag["y0"]).normalized()
            self.band.setRect(band)
            if phase == "finish":
                self.band.hide()
                boxes = {b.event_id: b.rect() for b in self.reference_items}
                touched = [i for i, r in boxes.items() if r.intersects(band)]
                self.editor.select(touched, toggle=False)
                self._drag = None
            return True
        annotation = self.session.annotation
        if drag["mode"] == "create":
            drag["create"].update(t)
        elif drag["mode"] == "move" and drag["id"] in annotation:
            dragged = t - drag["t0"]  # frames dragged so far, either way
            wanted = nearest_boundary(dragged) if dragged >= 0 else -nearest_boundary(-dragged)
            done = annotation[drag["id"]].start - drag["origin"]
            self.editor.move(self.session.selected_ids, wanted - done, drag["gesture"])
        elif drag["mode"] == "resize_start" and drag["id"] in annotation:
            self.editor.resize(
                drag["id"], min(nearest_boundary(t), drag["end"] - 1), drag["end"], drag["gesture"]
            )
        elif drag["mode"] == "resize_end" and drag["id"] in annotation:
            self.editor.resize(
                drag["id"], drag["start"], max(nearest_boundary(t), drag["start"] + 1), drag["gesture"]
            )
        if phase == "finish":
            self._drag = None
        return True
