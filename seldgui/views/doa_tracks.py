"""Azimuth-vs-time and elevation-vs-time tracks, reference and prediction, per class colour.

The plots DCASE papers use: reference trajectories as solid lines, predictions as dots,
each in its class colour, on the shared time axis with the playhead.

In edit mode the direction keyframes of the selected events are drawn as white squares.
With one event selected, a click at a time inside it sets its azimuth (top plot) or
elevation (bottom plot) there, and a drag that starts on a keyframe moves it in time and
value; both go through the window's annotation controller (``editor``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.common.timebase import frame_at
from core.labels.events import Event
from core.labels.table import LABEL_HOP_S
from core.session.session import Session
from seldgui.style import SELECTION_COLOR, class_color
from seldgui.views.doa_common import HIGHLIGHT_COLOR, MAX_PATHS
from seldgui.views.timeline import EditViewBox, FollowViewRange, PlayheadLine, style_time_plot

GRAB_PX = 8  # how near a keyframe a drag must start to move it


def _track_xy(events: list[Event], which: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per class: x (frame centres in s) and y (degrees), with NaN breaks between events."""
    out: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for e in events:
        x = (np.arange(e.start, e.end) + 0.5) * LABEL_HOP_S
        y = np.asarray(e.azimuth if which == "azimuth" else e.elevation, dtype=float)
        if which == "azimuth" and len(y) > 1:  # no line across the +-180 degree wrap
            wraps = np.nonzero(np.abs(np.diff(y)) > 180.0)[0] + 1
            x = np.insert(x, wraps, np.nan)
            y = np.insert(y, wraps, np.nan)
        xs, ys = out.setdefault(e.cls, ([], []))
        xs += [x, np.array([np.nan])]
        ys += [y, np.array([np.nan])]
    return {c: (np.concatenate(xs), np.concatenate(ys)) for c, (xs, ys) in out.items()}


class DoaTracksView(QWidget):
    """Two stacked plots (azimuth, elevation) observing the session's events."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.editor = None  # the annotation controller, set by the window; None: read-only
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.ci.layout.setContentsMargins(
            0, 0, 0, 0
        )  # as a PlotWidget: aligned with the others
        self.layout_widget.ci.layout.setSpacing(0)
        self.boxes = {
            which: EditViewBox(lambda t, v, w=which: self._on_click(w, t, v), _TrackGestures(self, which))
            for which in ("azimuth", "elevation")
        }
        self.azimuth_plot = self.layout_widget.addPlot(row=0, col=0, viewBox=self.boxes["azimuth"])
        self.elevation_plot = self.layout_widget.addPlot(row=1, col=0, viewBox=self.boxes["elevation"])
        for plot, name, rng in (
            (self.azimuth_plot, "azimuth", (-180, 180)),
            (self.elevation_plot, "elevation", (-90, 90)),
        ):
            style_time_plot(plot, session, time_title=plot is self.elevation_plot)
            plot.setLabel("left", name, units="°")
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setYRange(*rng, padding=0.02)
            plot.setMouseEnabled(x=True, y=False)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMenuEnabled(False)
        self.azimuth_plot.getAxis("left").setTicks([[(v, f"{v}") for v in (-180, -90, 0, 90, 180)]])
        self.elevation_plot.getAxis("left").setTicks([[(v, f"{v}") for v in (-90, -45, 0, 45, 90)]])
        self.follow = FollowViewRange(session, [self.azimuth_plot, self.elevation_plot])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layout_widget)
        self.curves: dict[tuple[str, str, int], pg.PlotDataItem] = {}
        self._drawn: dict[tuple[str, int], tuple[Event, ...]] = {}  # (kind, class) -> the events drawn
        self.playheads = [PlayheadLine(p, session) for p in (self.azimuth_plot, self.elevation_plot)]
        session.reference_changed.connect(lambda _e: self._redraw("reference"))
        session.predictions_changed.connect(lambda _e: self._redraw("prediction"))
        self.keyframe_items = {
            which: pg.ScatterPlotItem(
                size=9, symbol="s", pen=pg.mkPen(SELECTION_COLOR, width=1.5), brush=None
            )
            for which in ("azimuth", "elevation")
        }
        self.azimuth_plot.addItem(self.keyframe_items["azimuth"])
        self.elevation_plot.addItem(self.keyframe_items["elevation"])
        for signal in (session.selection_changed, session.reference_changed, session.editing_changed):
            signal.connect(lambda *_: self._show_keyframes())
        # the highlight (an error chosen in the inspector): its span, and the reference (solid)
        # and predicted (dashed) direction over it, on both plots
        self.highlight_regions: dict[str, pg.LinearRegionItem] = {}
        self.highlight_lines: dict[tuple[str, str], pg.PlotDataItem] = {}
        for which, plot in (("azimuth", self.azimuth_plot), ("elevation", self.elevation_plot)):
            region = pg.LinearRegionItem(
                movable=False, brush=pg.mkBrush(255, 212, 0, 40), pen=pg.mkPen(HIGHLIGHT_COLOR, width=1)
            )
            region.setZValue(-5)
            region.hide()
            plot.addItem(region, ignoreBounds=True)
            self.highlight_regions[which] = region
            for kind, style in (
                ("reference", pg.QtCore.Qt.PenStyle.SolidLine),
                ("prediction", pg.QtCore.Qt.PenStyle.DashLine),
            ):
                line = pg.PlotDataItem(pen=pg.mkPen(HIGHLIGHT_COLOR, width=3, style=style))
                line.setZValue(30)
                plot.addItem(line, ignoreBounds=True)
                self.highlight_lines[(which, kind)] = line
        session.highlight_changed.connect(lambda _h: self._draw_highlight())

    def _draw_highlight(self) -> None:
        h = self.session.highlight
        for region in self.highlight_regions.values():
            if h is None:
                region.hide()
            else:
                region.setRegion((h.start_s, max(h.end_s, h.start_s + 0.05)))
                region.show()
        for (which, kind), line in self.highlight_lines.items():
            direction = None if h is None else (h.ref_direction if kind == "reference" else h.pred_direction)
            if direction is None:
                line.setData([], [])
                continue
            value = direction[0] if which == "azimuth" else direction[1]
            line.setData([h.start_s, h.end_s], [value, value])

    # ------------------------------------------------------------------ editing
    def _selected(self):
        ids = self.session.selected_ids
        return [self.session.annotation[i] for i in ids if i in self.session.annotation]

    def _show_keyframes(self) -> None:
        chosen = self._selected() if self.session.editing else []
        if len(chosen) > MAX_PATHS:  # as on the sphere and map: a few at a time stay legible
            chosen = []
        keys = [k for e in chosen for k in e.keyframes]
        x = [(k.frame + 0.5) * LABEL_HOP_S for k in keys]
        self.keyframe_items["azimuth"].setData(x, [k.azimuth for k in keys])
        self.keyframe_items["elevation"].setData(x, [k.elevation for k in keys])

    def _on_click(self, which: str, t: float, value: float) -> None:
        self.session.set_playhead(t)
        chosen = self._selected()
        if self.editor is None or not self.session.editing or len(chosen) != 1:
            return
        event = chosen[0]
        frame = frame_at(t)
        if not event.start <= frame < event.end:
            return
        az, el = event.direction_at(frame)
        if which == "azimuth":
            az = value
        else:
            el = value
        self.editor.set_direction(event.id, frame, az, el)

    def keyframe_near(self, which: str, t: float, value: float):
        """(event, keyframe) of the selected events within ``GRAB_PX`` of (t, value), if any."""
        px, py = self.boxes[which].viewPixelSize()
        best = None
        for event in self._selected():
            for k in event.keyframes:
                v = k.azimuth if which == "azimuth" else k.elevation
                dx = abs((k.frame + 0.5) * LABEL_HOP_S - t) / px
                dy = abs(v - value) / py
                if dx <= GRAB_PX and dy <= GRAB_PX and (best is None or dx + dy < best[0]):
                    best = (dx + dy, event, k)
        return (best[1], best[2]) if best else None

    def _redraw(self, kind: str) -> None:
        """One curve per (kind, plot, class), kept between redraws and given new data.

        Only classes whose events changed are redrawn (the session keeps the event objects
        of unchanged labels, so identity tells), which keeps a drag step cheap.
        """
        events = self.session.reference_events if kind == "reference" else self.session.predicted_events
        by_class: dict[int, list[Event]] = {}
        for e in events:
            by_class.setdefault(e.cls, []).append(e)
        changed = []
        for cls, group in by_class.items():
            drawn = self._drawn.get((kind, cls))
            if (
                drawn is None
                or len(drawn) != len(group)
                or any(a is not b for a, b in zip(drawn, group, strict=True))
            ):
                self._drawn[(kind, cls)] = tuple(group)  # held, so no id is reused while compared
                changed.append(cls)
        for key in [k for k in self._drawn if k[0] == kind and k[1] not in by_class]:
            del self._drawn[key]
        wanted = {(kind, which, cls) for which in ("azimuth", "elevation") for cls in by_class}
        subset = [e for cls in changed for e in by_class[cls]]
        for which, plot in (("azimuth", self.azimuth_plot), ("elevation", self.elevation_plot)):
            for cls, (x, y) in _track_xy(subset, which).items():
                key = (kind, which, cls)
                if key in self.curves:
                    self.curves[key].setData(x, y)
                    continue
                color = class_color(cls)
                if kind == "reference":
                    item = plot.plot(x, y, pen=pg.mkPen(color, width=2), connect="finite")
                else:
                    item = plot.plot(
                        x, y, pen=None, symbol="o", symbolSize=4, symbolPen=None, symbolBrush=color
                    )
                self.curves[key] = item
        for key in [k for k in self.curves if k[0] == kind and k not in wanted]:
            item = self.curves.pop(key)
            if item.getViewBox() is not None:
                item.getViewBox().removeItem(item)


class _TrackGestures:
    """Drags on one track plot: a drag starting on a keyframe moves it (time and value)."""

    def __init__(self, view: DoaTracksView, which: str):
        self.view, self.which = view, which
        self.grab = None

    def edit_drag(self, phase: str, start, pos, modifiers) -> bool:
        v = self.view
        if phase == "start":
            if v.editor is None or not v.session.editing:
                return False
            found = v.keyframe_near(self.which, start.x(), start.y())
            if found is None:
                return False
            event, key = found
            self.grab = {"id": event.id, "frame": key.frame, "gesture": object()}
            return True
        if self.grab is None:
            return False
        g = self.grab
        if g["id"] in v.session.annotation:
            event = v.session.annotation[g["id"]]
            new_frame = int(np.clip(frame_at(pos.x()), event.start, event.end - 1))
            if new_frame != g["frame"] and event.keyframe_at(new_frame) is not None:
                new_frame = g["frame"]  # never onto another keyframe
            az = pos.y() if self.which == "azimuth" else None
            el = pos.y() if self.which == "elevation" else None
            v.editor.move_keyframe(g["id"], g["frame"], new_frame, az, el, g["gesture"])
            g["frame"] = new_frame
        if phase == "finish":
            self.grab = None
        return True
