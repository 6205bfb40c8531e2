"""Azimuth-vs-time and elevation-vs-time tracks, reference and prediction, per class colour.

The plots DCASE papers use: reference trajectories as solid lines, predictions as dots,
each in its class colour, on the shared time axis with the playhead.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.events import Event
from core.labels import LABEL_HOP_S
from core.session import Session
from seldgui.style import class_color
from seldgui.views.timeline import PlayheadLine, SeekViewBox


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
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.azimuth_plot = self.layout_widget.addPlot(row=0, col=0, viewBox=SeekViewBox(session))
        self.elevation_plot = self.layout_widget.addPlot(row=1, col=0, viewBox=SeekViewBox(session))
        self.elevation_plot.setXLink(self.azimuth_plot)
        for plot, name, rng in (
            (self.azimuth_plot, "azimuth", (-180, 180)),
            (self.elevation_plot, "elevation", (-90, 90)),
        ):
            plot.setLabel("left", name, units="°")
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setYRange(*rng, padding=0.02)
            plot.setMouseEnabled(x=True, y=False)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMenuEnabled(False)
        self.azimuth_plot.getAxis("left").setTicks([[(v, f"{v}") for v in (-180, -90, 0, 90, 180)]])
        self.elevation_plot.getAxis("left").setTicks([[(v, f"{v}") for v in (-90, -45, 0, 45, 90)]])
        self.elevation_plot.setLabel("bottom", "time", units="s")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layout_widget)
        self.curves: dict[tuple[str, str, int], pg.PlotDataItem] = {}
        self.playheads = [PlayheadLine(p, session) for p in (self.azimuth_plot, self.elevation_plot)]
        session.reference_changed.connect(lambda _e: self._redraw("reference"))
        session.predictions_changed.connect(lambda _e: self._redraw("prediction"))

    def _redraw(self, kind: str) -> None:
        for key in [k for k in self.curves if k[0] == kind]:
            item = self.curves.pop(key)
            item.getViewBox().removeItem(item) if item.getViewBox() else None
        events = self.session.reference_events if kind == "reference" else self.session.predicted_events
        for which, plot in (("azimuth", self.azimuth_plot), ("elevation", self.elevation_plot)):
            for cls, (x, y) in _track_xy(events, which).items():
                color = class_color(cls)
                if kind == "reference":
                    item = plot.plot(x, y, pen=pg.mkPen(color, width=2), connect="finite")
                else:
                    item = plot.plot(
                        x, y, pen=None, symbol="o", symbolSize=4, symbolPen=None, symbolBrush=color
                    )
                self.curves[(kind, which, cls)] = item
