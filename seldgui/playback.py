"""The playback transport in the window: play / pause, the playhead while playing, listening.

The :class:`PlaybackController` owns the :class:`core.session.playback.Player` of the open
recording (made when playback first starts, dropped when another recording opens), polls
its position at display rate into ``Session.playhead_s``, seeks when the playhead is moved
by hand while playing, and steers the virtual microphone to ``Session.listen_direction``
with its pattern (FOA).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from core.common.errors import SeldError
from core.session.session import Session

TICK_MS = 30  # display rate while playing


class PlaybackController(QObject):
    """``message(text)`` is a line for the status bar."""

    message = Signal(str)

    def __init__(self, session: Session, pattern: str = "cardioid", parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.pattern = pattern
        self.player = None
        self._recording = None  # the recording self.player plays
        self._ticking = False  # True while the timer itself moves the playhead
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        session.recording_changed.connect(self._on_recording)
        session.playhead_changed.connect(self._on_playhead)
        session.listen_changed.connect(self._apply_listen)

    @property
    def playing(self) -> bool:
        return self.player is not None and self.player.playing

    def toggle(self) -> None:
        """Play from the playhead, or pause."""
        player = self._ensure_player()
        if player is None:
            return
        if player.playing:
            player.pause()
            self.timer.stop()
        else:
            player.play(self.session.playhead_s)
            self.timer.start()
            self.message.emit(f"playing ({player.output.name})")

    def set_pattern(self, pattern: str) -> None:
        """The virtual microphone's pattern when listening to a direction."""
        self.pattern = pattern
        self._apply_listen(self.session.listen_direction)

    def _ensure_player(self):
        from core.session.playback import PlaybackSignal, Player

        rec = self.session.recording
        if rec is None:
            return None
        if self.player is None or self._recording is not rec:
            self.player = Player(PlaybackSignal(rec, rec.fmt, rec.sample_rate))
            self._recording = rec
            self._apply_listen(self.session.listen_direction)
        return self.player

    def _tick(self) -> None:
        player = self.player
        if player is None:
            self.timer.stop()
            return
        self._ticking = True
        try:
            self.session.set_playhead(player.position())
        finally:
            self._ticking = False
        if not player.playing:
            self.timer.stop()

    def _on_playhead(self, seconds: float) -> None:
        if self.playing and not self._ticking:
            self.player.seek(seconds)  # a click while playing: continue from there

    def _on_recording(self, _recording) -> None:
        if self.player is not None:
            self.player.pause()
        self.timer.stop()
        self.player = self._recording = None

    def _apply_listen(self, direction) -> None:
        player = self.player
        if player is None:
            return
        try:
            if direction is None:
                player.signal.listen_to_channel(0)
            else:
                player.signal.listen_to(direction[0], direction[1], self.pattern)
                self.message.emit(
                    f"listening to azimuth {direction[0]:.0f}°, elevation {direction[1]:.0f}° ({self.pattern})"
                )
        except SeldError as err:
            self.message.emit(str(err))
