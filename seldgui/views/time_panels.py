"""The time panels on one time axis (the overview strip, the spectrogram, the class lanes and
the direction tracks) or, while no recording is open, a hint of how to open one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QWidget

from core.session.session import Session
from seldgui.views.doa_tracks import DoaTracksView
from seldgui.views.event_lanes import EventLanesView
from seldgui.views.overview_strip import OverviewStrip
from seldgui.views.spectrogram_view import SpectrogramView

HINT = "Drop a recording here, or File › Open"


class TimePanels(QStackedWidget):
    """Page 0: the hint; page 1: the panels (shown while a recording is open)."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.overview_strip = OverviewStrip(session, self)
        self.spectrogram_view = SpectrogramView(session, self)
        self.lanes_view = EventLanesView(session, self)
        self.tracks_view = DoaTracksView(session, self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        for widget, stretch in (
            (self.overview_strip, 0),
            (self.spectrogram_view, 4),
            (self.lanes_view, 4),
            (self.tracks_view, 3),
        ):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.indexOf(widget), stretch)
        self.hint = QLabel(HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: #909090; font-size: 18pt;")
        self.addWidget(self.hint)
        self.addWidget(self.splitter)
        session.recording_changed.connect(lambda rec: self.setCurrentIndex(0 if rec is None else 1))
        self.setCurrentIndex(0 if session.recording is None else 1)

    @property
    def editing_views(self) -> tuple[QWidget, ...]:
        """The panels that edit through the annotation controller (their ``editor``)."""
        return self.lanes_view, self.spectrogram_view, self.tracks_view
