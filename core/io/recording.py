"""One protocol for every open recording, in memory or read on demand, and how one is opened.

:class:`RecordingLike` is what the session, the views, playback and the energy map use: the
path, format and length of a recording and three ways to read its samples at 24 kHz
(:meth:`~RecordingLike.read` by time, :meth:`~RecordingLike.read_samples` by sample,
:meth:`~RecordingLike.blocks` in order). :class:`core.io.audio.Recording` (decoded whole)
and :class:`FileRecording` (a long file, never decoded whole) both provide it, so no caller
asks which one it holds. :func:`open_recording` picks one by length
(:data:`LONG_RECORDING_S`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np

from core.io.audio import (
    FOA_CHANNELS,
    MIC_CHANNELS,
    TARGET_RATE,
    Recording,
    check_recording,
    iter_blocks,
    load_recording,
    read_segment,
)
from core.spatial.format_guess import FormatGuess, guess_format

LONG_RECORDING_S = 600.0
"""Recordings longer than this are opened lazily: an overview, and samples read on demand."""

GUESS_SECONDS = 5.0
"""How much of the start of a file :func:`guess_file_format` reads."""


@runtime_checkable
class RecordingLike(Protocol):
    """An open 4-channel recording at 24 kHz (FOA in AmbiX order W, Y, Z, X, or MIC M1..M4).

    ``convention`` is the file's FOA convention ("ambix" or "fuma"); what is read is AmbiX
    either way.
    """

    path: str
    fmt: str
    sample_rate: int
    original_rate: int
    convention: str

    @property
    def n_samples(self) -> int: ...

    @property
    def duration_s(self) -> float: ...

    @property
    def channel_names(self) -> tuple[str, ...]: ...

    def read(self, start_s: float, stop_s: float) -> np.ndarray:
        """Samples ``(4, n)`` between two times (clamped to the recording)."""
        ...

    def read_samples(self, start: int, n: int) -> np.ndarray:
        """``(4, n)`` samples from sample ``start`` (zeros past the end)."""
        ...

    def blocks(
        self, block_seconds: float = 1.0, start_s: float = 0.0, stop_s: float | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(start_sample, (4, n))`` blocks of ``[start_s, stop_s)`` in order."""
        ...


class FileRecording:
    """A long recording that is never decoded whole: samples are read on demand.

    The file is checked when it is opened (:func:`core.io.audio.check_recording`); reads
    go through :func:`~core.io.audio.read_segment` and :func:`~core.io.audio.iter_blocks`, so
    they give exactly the samples of the whole file resampled at once.
    """

    def __init__(self, path: str | os.PathLike[str], fmt: str, convention: str = "ambix"):
        info, fmt_ = check_recording(path, fmt, convention)
        self.path = info.path
        self.fmt = fmt_
        self.convention = convention
        self.sample_rate = TARGET_RATE
        self.original_rate = info.sample_rate
        self.n_samples = int(round(info.frames * TARGET_RATE / info.sample_rate))
        self.duration_s = self.n_samples / TARGET_RATE
        self.channel_names = FOA_CHANNELS if fmt_ == "foa" else MIC_CHANNELS

    def read(self, start_s: float, stop_s: float) -> np.ndarray:
        start = min(max(0.0, start_s), self.duration_s)
        stop = min(max(start, stop_s), self.duration_s)
        return read_segment(self.path, start, stop, fmt=self.fmt, convention=self.convention)

    def read_samples(self, start: int, n: int) -> np.ndarray:
        out = np.zeros((4, n), np.float32)
        part = self.read(start / TARGET_RATE, (start + n) / TARGET_RATE)
        out[:, : part.shape[1]] = part[:, :n]
        return out

    def blocks(
        self, block_seconds: float = 1.0, start_s: float = 0.0, stop_s: float | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        return iter_blocks(
            self.path, block_seconds, start_s, stop_s, fmt=self.fmt, convention=self.convention
        )


def open_recording(
    path: str | os.PathLike[str], fmt: str | None = None, convention: str = "ambix"
) -> Recording | FileRecording:
    """Open a recording: decoded whole, or (longer than :data:`LONG_RECORDING_S`) read on demand.

    The same checks and errors as :func:`core.io.audio.load_recording`.
    """
    info, fmt_ = check_recording(path, fmt, convention)
    if info.duration_s > LONG_RECORDING_S:
        return FileRecording(path, fmt_, convention)
    return load_recording(path, fmt=fmt_, convention=convention)


def guess_file_format(path: str | os.PathLike[str], seconds: float = GUESS_SECONDS) -> FormatGuess:
    """The likely format of a 4-channel file from its first ``seconds``
    (:func:`core.spatial.format_guess.guess_format`); the file checks of :func:`check_recording`."""
    excerpt = read_segment(path, 0.0, seconds, fmt="foa")  # the channels as they are in the file
    return guess_format(excerpt, TARGET_RATE)
