"""Recordings that are read on demand rather than decoded whole."""

from __future__ import annotations

import os

import numpy as np

from core.common.errors import AudioError
from core.io.audio import FOA_CHANNELS, MIC_CHANNELS, TARGET_RATE, probe, read_segment


class FileRecording:
    """A long recording that is never decoded whole: samples are read on demand.

    It has the attributes of :class:`core.io.audio.Recording` that views need (``path``,
    ``fmt``, ``sample_rate`` = 24000, ``n_samples``, ``duration_s``, ``original_rate``,
    ``channel_names``) and :meth:`read` instead of ``samples``.
    """

    lazy = True

    def __init__(self, path: str | os.PathLike[str], fmt: str):
        info = probe(path)
        if info.channels != 4:
            raise AudioError(
                f"has {info.channels} channels; a SELD recording needs 4 (FOA W,Y,Z,X or MIC M1..M4)", path
            )
        self.path = os.fspath(path)
        self.fmt = fmt
        self.sample_rate = TARGET_RATE
        self.original_rate = info.sample_rate
        self.n_samples = int(round(info.frames * TARGET_RATE / info.sample_rate))
        self.duration_s = self.n_samples / TARGET_RATE
        self.channel_names = FOA_CHANNELS if fmt == "foa" else MIC_CHANNELS

    def read(self, start_s: float, stop_s: float):
        """Samples ``(4, n)`` float32 at 24 kHz between the two times (clamped to the file)."""
        start = min(max(0.0, start_s), self.duration_s)
        stop = min(max(start, stop_s), self.duration_s)
        return read_segment(self.path, start, stop, fmt=self.fmt)

    def read_samples(self, start: int, n: int):
        """``n`` samples from sample ``start`` (zeros past the end)."""
        out = np.zeros((4, n), np.float32)
        part = self.read(start / TARGET_RATE, (start + n) / TARGET_RATE)
        out[:, : part.shape[1]] = part[:, :n]
        return out
