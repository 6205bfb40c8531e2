"""Spectrogram of one channel (pyqtgraph): dB colour map, colour bar, axes in time and Hz."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.common.timebase import FEATURE_HOP_S, frame_at, frame_start
from core.session.session import Session, Spectrogram
from seldgui import workers
from seldgui.views.timeline import RIGHT_MARGIN, EditViewBox, FollowViewRange, PlayheadLine, style_time_plot

LEVELS = (-100.0, 0.0)
_COLORBAR_SPACER = 5  # the column pyqtgraph puts between a plot and its colour bar


class SpectrogramView(QWidget):
    """Observes ``session.spectrogram_changed``; draws the image with fixed dB levels.

    For a long recording (:func:`core.dsp.overview.is_long`) the image is an overview; when
    the visible span is short enough (:data:`core.dsp.overview.DETAIL_MAX_S`) an exact
    detail image of that span is computed in the background and drawn over it.
    """

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.editor = None  # the annotation controller, set by the window; None: read-only
        self._drag = None  # the CreateGesture of a drag in progress
        self.view_box = EditViewBox(lambda t, _f: session.set_playhead(t), self)
        self.plot = pg.PlotWidget(viewBox=self.view_box)
        item = self.plot.getPlotItem()
        style_time_plot(item, session, right_margin=False)
        self.plot.setLabel("left", "mel band centre", units="Hz")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # tick labels are written in Hz
        self.plot.setMouseEnabled(x=True, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=LEVELS, colorMap=pg.colormap.get("viridis"), label="dB")
        self.detail = pg.ImageItem(axisOrder="row-major")
        self.detail.setZValue(1)
        self.plot.addItem(self.detail)
        self.colorbar.setImageItem([self.image, self.detail], insert_in=item)
        self.colorbar.setMinimumWidth(RIGHT_MARGIN - _COLORBAR_SPACER)
        self.colorbar.setMaximumWidth(RIGHT_MARGIN - _COLORBAR_SPACER)
        self.follow = FollowViewRange(session, [item])
        self._detail_request = 0
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(200)
        self._detail_timer.timeout.connect(self._request_detail)
        session.view_range_changed.connect(lambda _r: self._detail_timer.start())
        session.recording_changed.connect(lambda _r: self._clear_detail())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.playhead = PlayheadLine(item, session)
        session.spectrogram_changed.connect(self._on_spectrogram)
        # the time span of the selected reference events, while editing
        self.selection_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(255, 255, 255, 40))
        self.selection_region.setZValue(5)
        self.selection_region.hide()
        self.plot.addItem(self.selection_region, ignoreBounds=True)
        for signal in (session.selection_changed, session.reference_changed, session.editing_changed):
            signal.connect(lambda *_: self._show_selection())

    def _show_selection(self) -> None:
        chosen = [e for e in self.session.reference_events if e.id in self.session.selected_ids]
        if not chosen or not self.session.editing:
            self.selection_region.hide()
            return
        self.selection_region.setRegion((min(e.onset_s for e in chosen), max(e.offset_s for e in chosen)))
        self.selection_region.show()

    def edit_drag(self, phase: str, start, pos, modifiers) -> bool:
        """While editing, a drag creates an event of the chosen class over the dragged time."""
        from seldgui.annotation import CreateGesture

        if phase == "start":
            if self.editor is None or not self.session.editing:
                return False
            self._drag = CreateGesture(self.editor, self.editor.current_class, start.x())
        if self._drag is not None:
            self._drag.update(pos.x())
        if phase == "finish":
            self._drag = None
        return True

    def pixel_size(self) -> float:
        return float(self.view_box.viewPixelSize()[0])

    def _on_spectrogram(self, spec: Spectrogram | None) -> None:
        if spec is None:
            self.image.clear()
            return
        img = np.ascontiguousarray(spec.db.T, dtype=np.float32)  # rows = frequency
        self.image.setImage(img, levels=LEVELS, autoLevels=False)
        top = float(spec.freqs_hz[-1]) if spec.kind == "stft" else 12000.0
        # mel bands are drawn evenly spaced; the axis shows Hz at the band positions
        self.image.setRect(QRectF(0.0, 0.0, spec.duration_s, top))
        self.plot.setYRange(0, top, padding=0)
        self._detail_timer.start()
        if spec.kind == "logmel":
            n = len(spec.freqs_hz)
            ticks = [((i + 0.5) * top / n, f"{spec.freqs_hz[i]:.0f}") for i in range(0, n, 8)]
            self.plot.getAxis("left").setTicks([ticks])
        else:
            self.plot.getAxis("left").setTicks(None)
        self.plot.setLabel("left", "frequency" if spec.kind == "stft" else "mel band centre", units="Hz")

    # ------------------------------------------------------------------ detail of long recordings
    def _clear_detail(self) -> None:
        self._detail_request += 1
        self.detail.clear()

    def _request_detail(self) -> None:
        from core.dsp.overview import DETAIL_MAX_S, detail_overview, is_long

        rec, spec = self.session.recording, self.session.spectrogram
        if rec is None or spec is None or not is_long(rec):
            return  # nothing shown, or the whole spectrogram is
        t0, t1 = self.session.view_range
        t0, t1 = max(0.0, t0), min(rec.duration_s, t1)
        self._detail_request += 1
        if t1 - t0 > DETAIL_MAX_S or t1 <= t0:
            self.detail.clear()
            return
        request, channel, width = self._detail_request, spec.channel, max(200, self.plot.width())
        workers.submit(
            lambda: (request, t0, detail_overview(rec, t0, t1, channel, width)), self._on_detail, owner=self
        )

    def _on_detail(self, result) -> None:
        request, t0, ov = result
        if request != self._detail_request:
            return  # the view moved on
        start = frame_start(frame_at(t0, FEATURE_HOP_S), FEATURE_HOP_S)  # the feature frame grid
        self.detail.setImage(np.ascontiguousarray(ov.db.T), levels=LEVELS, autoLevels=False)
        self.detail.setRect(QRectF(start, 0.0, ov.duration_s, 12000.0))
