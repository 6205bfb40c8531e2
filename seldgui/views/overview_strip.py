"""The overview strip: the whole recording, small, with the visible time range marked.

Shows the session's spectrogram (or, for a long recording, its overview) over the whole
duration; a region marks ``Session.view_range``. Dragging the region pans (and resizing it
zooms) every time panel, through the session; a pan or zoom there moves the region. Its
plot area has the time panels' margins, so the whole recording spans the same pixels as
the panels below when they show all of it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.session.session import Session, Spectrogram
from seldgui.views.timeline import style_time_plot

LEVELS = (-100.0, 0.0)


class OverviewStrip(QWidget):
    """Observes the spectrogram and the visible range; its region sets the visible range."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.plot = pg.PlotWidget()
        item = self.plot.getPlotItem()
        style_time_plot(item, session, time_title=False)
        left = item.getAxis("left")
        left.setStyle(showValues=False, tickLength=0)
        left.setPen(pg.mkPen(None))
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.getAxis("bottom").setHeight(22)
        self.plot.setMaximumHeight(70)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.region = pg.LinearRegionItem(values=(0, 1), brush=pg.mkBrush(255, 255, 255, 40))
        self.region.setZValue(10)
        self.plot.addItem(self.region)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._syncing = False
        self.region.sigRegionChanged.connect(self._on_region)
        session.view_range_changed.connect(self._on_view_range)
        session.spectrogram_changed.connect(self._on_spectrogram)

    def _on_spectrogram(self, spec: Spectrogram | None) -> None:
        if spec is None:
            self.image.clear()
            return
        db = spec.db
        step = max(1, db.shape[0] // 2000)  # at most ~2000 columns, max-pooled
        if step > 1:
            n = db.shape[0] // step * step
            db = db[:n].reshape(-1, step, db.shape[1]).max(axis=1)
        duration = self.session.duration_s or spec.duration_s
        self.image.setImage(np.ascontiguousarray(db.T), levels=LEVELS, autoLevels=False)
        self.image.setRect(QRectF(0.0, 0.0, spec.duration_s, 1.0))
        self.plot.setXRange(0, duration, padding=0)
        self.plot.setYRange(0, 1, padding=0)
        self.region.setBounds((0, duration))
        self._on_view_range(self.session.view_range)

    def _on_view_range(self, view_range: tuple[float, float]) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.region.setRegion(view_range)
        finally:
            self._syncing = False

    def _on_region(self) -> None:
        if self._syncing or self.session.recording is None:
            return
        self._syncing = True
        try:
            self.session.set_view_range(*self.region.getRegion())
        finally:
            self._syncing = False
