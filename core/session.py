"""The Qt-free session model the GUI observes: the open recording and its display data.

Views subscribe to the signals; they never change each other directly. Everything here
is plain Python, testable without Qt. (The full session — labels, predictions, playhead,
selection — grows here with the main-window issue.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.audio import Recording
from core.observable import Signal


@dataclass(frozen=True)
class Spectrogram:
    """A display spectrogram of one channel: ``db`` is ``(frames, bins)`` float32."""

    db: np.ndarray
    hop_s: float
    freqs_hz: np.ndarray
    channel: int
    kind: str  # "logmel" or "stft"

    @property
    def duration_s(self) -> float:
        return self.db.shape[0] * self.hop_s


class Session:
    """The state of one window: the open recording and what is derived from it."""

    def __init__(self) -> None:
        self.recording: Recording | None = None
        self.spectrogram: Spectrogram | None = None
        self.recording_changed = Signal()  # (recording)
        self.spectrogram_changed = Signal()  # (spectrogram)

    def set_recording(self, recording: Recording | None, spectrogram: Spectrogram | None = None) -> None:
        self.recording = recording
        self.recording_changed.emit(recording)
        self.set_spectrogram(spectrogram)

    def set_spectrogram(self, spectrogram: Spectrogram | None) -> None:
        self.spectrogram = spectrogram
        self.spectrogram_changed.emit(spectrogram)
