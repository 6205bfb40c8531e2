"""Spectrogram of one channel (pyqtgraph): dB colour map, colour bar, axes in s and Hz."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.session import Session, Spectrogram
from seldgui.views.timeline import PlayheadLine, SeekViewBox

LEVELS = (-100.0, 0.0)


class SpectrogramView(QWidget):
    """Observes ``session.spectrogram_changed``; draws the image with fixed dB levels."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.plot = pg.PlotWidget(viewBox=SeekViewBox(session))
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.setLabel("left", "mel band centre", units="Hz")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # tick labels are written in Hz
        self.plot.setMouseEnabled(x=True, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=LEVELS, colorMap=pg.colormap.get("viridis"), label="dB")
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.playhead = PlayheadLine(self.plot.getPlotItem(), session)
        session.spectrogram_changed.connect(self._on_spectrogram)

    def _on_spectrogram(self, spec: Spectrogram | None) -> None:
        if spec is None:
            self.image.clear()
            return
        img = np.ascontiguousarray(spec.db.T, dtype=np.float32)  # rows = frequency
        self.image.setImage(img, levels=LEVELS, autoLevels=False)
        top = float(spec.freqs_hz[-1]) if spec.kind == "stft" else 12000.0
        # mel bands are drawn evenly spaced; the axis shows Hz at the band positions
        self.image.setRect(QRectF(0.0, 0.0, spec.duration_s, top))
        self.plot.setXRange(0, spec.duration_s, padding=0)
        self.plot.setYRange(0, top, padding=0)
        if spec.kind == "logmel":
            n = len(spec.freqs_hz)
            ticks = [((i + 0.5) * top / n, f"{spec.freqs_hz[i]:.0f}") for i in range(0, n, 8)]
            self.plot.getAxis("left").setTicks([ticks])
        else:
            self.plot.getAxis("left").setTicks(None)
        self.plot.setLabel("left", "frequency" if spec.kind == "stft" else "mel band centre", units="Hz")
