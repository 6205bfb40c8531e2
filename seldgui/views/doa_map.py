"""Equirectangular direction map (azimuth x elevation): works without OpenGL.

The map is seen from the listener's position facing front: azimuth +180 (back, left
edge) ... +90 (left) ... 0 (front, centre) ... -90 (right) ... -180 (back, right edge),
elevation -90 (down) to +90 (up). Directions active at the playhead are class-coloured
markers (predictions filled, references outlined) with fading trails over the last
seconds.

A left click listens to that direction; in edit mode a click or drag sets the direction
of the selected event at the playhead instead (through the session), and the selected
events' whole trajectories are drawn with their keyframes. The session's energy map (the
model-free energy layer, computed in the background) is drawn under everything.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.session.session import Session
from seldgui.style import SELECTION_COLOR, class_color
from seldgui.views.doa_common import HIGHLIGHT_COLOR, highlight_arc, markers_and_trails, selected_paths
from seldgui.views.timeline import EditViewBox


class DoaMapView(QWidget):
    """Observes the playhead and both label sets."""

    kind = "map"

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        # a left click listens to that direction or, while editing, points the selected event there
        self.view_box = EditViewBox(lambda az, el: session.pick_direction(az, el), self)
        self.plot = pg.PlotWidget(viewBox=self.view_box)
        self.plot.setAspectLocked(True)
        self.plot.invertX(True)  # left (+azimuth) is drawn on the left
        self.plot.setXRange(-180, 180, padding=0.02)
        self.plot.setYRange(-90, 90, padding=0.02)
        self.plot.disableAutoRange()  # the map never rescales to what is drawn on it
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "azimuth (°): left +, right -")
        self.plot.setLabel("left", "elevation (°)")
        bottom, left = self.plot.getAxis("bottom"), self.plot.getAxis("left")
        bottom.setTicks([[(v, f"{v}") for v in (-180, -135, -90, -45, 0, 45, 90, 135, 180)]])
        left.setTicks([[(v, f"{v}") for v in (-90, -45, 0, 45, 90)]])
        for text, az in (("front", 0), ("left", 90), ("right", -90), ("back", 178)):
            label = pg.TextItem(text, color="#aaaaaa", anchor=(0.5, 0))
            label.setPos(az, 88)
            self.plot.addItem(label)
        self.references = pg.ScatterPlotItem(size=16, pxMode=True)
        self.predictions = pg.ScatterPlotItem(size=11, pxMode=True)
        self.plot.addItem(self.references)
        self.plot.addItem(self.predictions)
        self.energy = pg.ImageItem(axisOrder="row-major")
        self.energy.setZValue(-10)
        self.energy.setColorMap(pg.colormap.get("inferno"))
        self.energy.setRect(-180.0, -90.0, 360.0, 180.0)
        self.plot.addItem(self.energy)
        session.energy_changed.connect(self._on_energy)
        self.listen_marker = pg.ScatterPlotItem(
            size=22, symbol="+", pen=pg.mkPen("#ffffff", width=2), brush=None
        )
        self.plot.addItem(self.listen_marker)
        session.listen_changed.connect(self._on_listen)
        self.keyframes = pg.ScatterPlotItem(
            size=9, symbol="s", pen=pg.mkPen(SELECTION_COLOR, width=1.5), brush=None
        )
        self.plot.addItem(self.keyframes)
        self.path_items: list[pg.PlotDataItem] = []
        self._gesture = None
        for signal in (session.selection_changed, session.editing_changed):
            signal.connect(lambda *_: self.refresh())
        self.trail_items: list[pg.PlotDataItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        for signal in (session.playhead_changed, session.reference_changed, session.predictions_changed):
            signal.connect(lambda *_: self.refresh())
        # the highlight: its reference (ring) and predicted (cross) directions, joined by the arc between
        self.highlight_markers = pg.ScatterPlotItem(pxMode=True)
        self.highlight_markers.setZValue(30)
        self.plot.addItem(self.highlight_markers)
        self.highlight_items: list[pg.PlotDataItem] = []
        session.highlight_changed.connect(lambda _h: self._draw_highlight())

    def _draw_highlight(self) -> None:
        h = self.session.highlight
        for item in self.highlight_items:
            self.plot.removeItem(item)
        self.highlight_items = []
        spots = []
        if h is not None and h.ref_direction is not None:
            spots.append({"pos": h.ref_direction, "size": 24, "symbol": "o", "brush": None,
                          "pen": pg.mkPen(HIGHLIGHT_COLOR, width=3)})  # fmt: skip
        if h is not None and h.pred_direction is not None:
            spots.append({"pos": h.pred_direction, "size": 18, "symbol": "x",
                          "brush": pg.mkBrush(HIGHLIGHT_COLOR), "pen": pg.mkPen(HIGHLIGHT_COLOR)})  # fmt: skip
        self.highlight_markers.setData(spots)
        if h is not None:
            az, el = highlight_arc(h.ref_direction, h.pred_direction)
            pen = pg.mkPen(HIGHLIGHT_COLOR, width=2, style=pg.QtCore.Qt.PenStyle.DotLine)
            for a, b in _unwrapped_runs(az):
                self.highlight_items.append(self._line(az[a:b], el[a:b], pen))

    @property
    def highlight_count(self) -> int:
        """Highlight markers shown (reference, prediction)."""
        return len(self.highlight_markers.data)

    def refresh(self) -> None:
        markers, trails = markers_and_trails(self.session)
        refs = [m for m in markers if not m.predicted]
        preds = [m for m in markers if m.predicted]
        self.references.setData(
            [
                {"pos": (m.azimuth, m.elevation), "brush": None, "pen": pg.mkPen(class_color(m.cls), width=3)}
                for m in refs
            ]
        )
        self.predictions.setData(
            [
                {"pos": (m.azimuth, m.elevation), "brush": pg.mkBrush(class_color(m.cls)), "pen": None}
                for m in preds
            ]
        )
        for item in self.trail_items + self.path_items:
            self.plot.removeItem(item)
        self.trail_items.clear()
        self.path_items.clear()
        paths = selected_paths(self.session)
        for path in paths:
            for a, b in _unwrapped_runs(path.azimuth):
                pen = pg.mkPen(SELECTION_COLOR, width=1, style=pg.QtCore.Qt.PenStyle.DotLine)
                self.path_items.append(self._line(path.azimuth[a:b], path.elevation[a:b], pen))
        self.keyframes.setData(
            [x for p in paths for x in p.key_azimuth], [y for p in paths for y in p.key_elevation]
        )
        for trail in trails:
            color = QColor(class_color(trail.cls))
            color.setAlphaF(0.5 if trail.predicted else 0.8)
            for a, b in _unwrapped_runs(trail.azimuth):
                style = pg.mkPen(
                    color,
                    width=2,
                    style=pg.QtCore.Qt.PenStyle.DashLine
                    if trail.predicted
                    else pg.QtCore.Qt.PenStyle.SolidLine,
                )
                item = self._line(trail.azimuth[a:b], trail.elevation[a:b], style)
                self.trail_items.append(item)

    def _line(self, x, y, pen) -> pg.PlotDataItem:
        item = pg.PlotDataItem(x, y, pen=pen)
        self.plot.addItem(item, ignoreBounds=True)
        return item

    def edit_drag(self, phase: str, start, pos, modifiers) -> bool:
        """While editing, dragging points the selected event along (one undo step per drag)."""
        if phase == "start":
            if not self.session.editing:
                return False
            self._gesture = object()
        self.session.pick_direction(pos.x(), pos.y(), self._gesture)
        return True

    def _on_energy(self, m) -> None:
        if m is None:
            self.energy.clear()
            return
        self.energy.setImage(m.values.astype("float32"), levels=(0.0, 1.0), autoLevels=False)
        self.energy.setRect(-180.0, -90.0, 360.0, 180.0)

    def _on_listen(self, direction) -> None:
        self.listen_marker.setData([] if direction is None else [{"pos": direction}])

    @property
    def marker_count(self) -> tuple[int, int]:
        """(reference markers, predicted markers) shown now."""
        return len(self.references.data), len(self.predictions.data)


def _unwrapped_runs(azimuth) -> list[tuple[int, int]]:
    """Index ranges of a path split at the +-180 wrap (so no line crosses the whole map)."""
    cuts = [0] + [i + 1 for i in range(len(azimuth) - 1) if abs(azimuth[i + 1] - azimuth[i]) > 180]
    cuts.append(len(azimuth))
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b - a >= 2]
