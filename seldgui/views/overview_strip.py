"""The overview strip: the whole recording, small, with the visible time range marked.

Shows the session's spectrogram (or, for a long recording, its overview) over the whole
duration; a region marks what the main views show. Dragging the region pans (and resizing
it zooms) the linked time axis; zooming in the views moves the region.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.session.session import Session, Spectrogram

LEVELS = (-100.0, 0.0)


class OverviewStrip(QWidget):
    """Observes the spectrogram; keeps its region and ``target_plot``'s x range in step."""

    def __init__(self, session: Session, target_plot: pg.PlotWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.target = target_plot
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideAxis("left")
        self.plot.getAxis("bottom").setHeight(18)
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
        self.target.sigXRangeChanged.connect(self._on_target_range)
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
        self.image.setImage(np.ascontiguousarray(db.T), levels=LEVELS, autoLevels=False)
        self.image.setRect(QRectF(0.0, 0.0, spec.duration_s, 1.0))
        self.plot.setXRange(0, spec.duration_s, padding=0)
        self.plot.setYRange(0, 1, padding=0)
        self.region.setBounds((0, spec.duration_s))
        self._on_target_range()

    def _on_target_range(self, *_args) -> None:
        if self._syncing:
            return
        t0, t1 = self.target.getPlotItem().getViewBox().viewRange()[0]
        self._syncing = True
        self.region.setRegion((t0, t1))
        self._syncing = False
        self.session.set_view_range(t0, t1)

    def _on_region(self) -> None:
        if self._syncing:
            return
        t0, t1 = self.region.getRegion()
        self._syncing = True
        self.target.setXRange(t0, t1, padding=0)
        self._syncing = False
        self.session.set_view_range(t0, t1)
