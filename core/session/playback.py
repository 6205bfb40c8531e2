"""Playback of a recording, GUI-free: what to play, and a transport with a clock.

What is played is one mono signal:

* FOA: the W channel, or a *virtual first-order microphone* steered to a direction
  (:func:`virtual_microphone`): ``a W + (1 - a) (u_x X + u_y Y + u_z Z)`` for the unit
  vector ``u`` of the direction, with ``a = 1`` omni, ``0.5`` cardioid, ``0.37``
  supercardioid, ``0.25`` hypercardioid. With AmbiX/SN3D a plane wave from ``u`` has gain
  1, and a cardioid has a null behind.
* MIC: one chosen capsule.

:class:`Player` is a transport (play, pause, seek, position) whose position follows a
monotonic clock while playing; an output (a :class:`SoundDeviceOutput` when an audio
device is usable, otherwise :class:`SilentOutput`) pulls the samples. The GUI polls
:meth:`Player.position` at display rate and moves the playhead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from core.common.errors import SeldError
from core.spatial.directions import azel_to_xyz

PATTERNS: dict[str, float] = {"omni": 1.0, "cardioid": 0.5, "supercardioid": 0.37, "hypercardioid": 0.25}


def virtual_microphone(
    foa: np.ndarray, azimuth_deg: float, elevation_deg: float, pattern: str = "cardioid"
) -> np.ndarray:
    """A first-order virtual microphone steered to (azimuth, elevation) from AmbiX W, Y, Z, X."""
    try:
        a = PATTERNS[pattern]
    except KeyError:
        raise SeldError(
            f"unknown microphone pattern {pattern!r}; choose one of {', '.join(PATTERNS)}"
        ) from None
    ux, uy, uz = azel_to_xyz(azimuth_deg, elevation_deg)
    w, y, z, x = foa[0], foa[1], foa[2], foa[3]
    return (a * w + (1.0 - a) * (ux * x + uy * y + uz * z)).astype(np.float32)


class PlaybackSignal:
    """The mono signal to play: W / a capsule, or a steered virtual microphone (FOA)."""

    def __init__(self, samples, fmt: str, sample_rate: int = 24000):
        """``samples``: a ``(4, N)`` array, or a long recording read on demand (an object with
        ``n_samples`` and ``read_samples(start, n) -> (4, n)``, e.g. :class:`core.io.recording.FileRecording`)."""
        self.samples = samples
        self.fmt = fmt
        self.sample_rate = sample_rate
        self.channel = 0
        self.steer: tuple[float, float, str] | None = None  # (azimuth, elevation, pattern)
        self._lock = threading.Lock()

    @property
    def n_samples(self) -> int:
        if isinstance(self.samples, np.ndarray):
            return int(self.samples.shape[1])
        return int(self.samples.n_samples)

    def listen_to(self, azimuth_deg: float, elevation_deg: float, pattern: str = "cardioid") -> None:
        """Steer a virtual microphone (FOA only)."""
        if self.fmt != "foa":
            raise SeldError("listening to a direction needs an FOA recording")
        if pattern not in PATTERNS:
            raise SeldError(f"unknown microphone pattern {pattern!r}; choose one of {', '.join(PATTERNS)}")
        with self._lock:
            self.steer = (float(azimuth_deg), float(elevation_deg), pattern)

    def listen_to_channel(self, channel: int) -> None:
        if not 0 <= channel < 4:
            raise SeldError(f"channel {channel} does not exist")
        with self._lock:
            self.steer, self.channel = None, int(channel)

    def block(self, start: int, n: int) -> np.ndarray:
        """``n`` samples from ``start`` (zeros past the end)."""
        out = np.zeros(n, np.float32)
        stop = min(self.n_samples, start + n)
        if stop <= start:
            return out
        with self._lock:
            steer, channel = self.steer, self.channel
        if isinstance(self.samples, np.ndarray):
            part = self.samples[:, start:stop]
        else:
            part = self.samples.read_samples(start, stop - start)
        out[: stop - start] = virtual_microphone(part, *steer) if steer else part[channel]
        return out


class SilentOutput:
    """No audio device: nothing is heard, the transport still runs on the clock."""

    name = "no audio output"

    def start(self, pull: Callable[[int], np.ndarray], sample_rate: int) -> None:  # noqa: ARG002
        return None

    def stop(self) -> None:
        return None


class SoundDeviceOutput:
    """Plays through PortAudio (python-sounddevice): the callback pulls blocks."""

    name = "sound device"

    def __init__(self) -> None:
        import sounddevice  # noqa: F401 - raises OSError when PortAudio is missing

        self._stream: Any = None

    def start(self, pull: Callable[[int], np.ndarray], sample_rate: int) -> None:
        import sounddevice as sd

        def callback(outdata, frames, _time, _status) -> None:
            outdata[:, 0] = pull(frames)

        stream = sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32", callback=callback)
        stream.start()
        self._stream = stream

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


def default_output() -> SoundDeviceOutput | SilentOutput:
    """A sound-device output when PortAudio and an output device exist, else silent."""
    try:
        import sounddevice as sd

        sd.query_devices(kind="output")
        return SoundDeviceOutput()
    except Exception:  # noqa: BLE001 - no library, no device: play silently
        return SilentOutput()


class Player:
    """Play / pause / seek over a :class:`PlaybackSignal`; the position follows a clock.

    ``clock`` (default :func:`time.monotonic`) is injectable for tests.
    """

    def __init__(self, signal: PlaybackSignal, output=None, clock: Callable[[], float] = time.monotonic):
        self.signal = signal
        self.output = output if output is not None else default_output()
        self.clock = clock
        self.playing = False
        self._origin_s = 0.0  # position when playback (re)started
        self._t0 = 0.0
        self._cursor = 0  # next sample the output will pull

    @property
    def duration_s(self) -> float:
        return self.signal.n_samples / self.signal.sample_rate

    def position(self) -> float:
        """Seconds from the start of the recording (stops at the end)."""
        if not self.playing:
            return self._origin_s
        t = self._origin_s + (self.clock() - self._t0)
        if t >= self.duration_s:
            self.pause()
            self._origin_s = self.duration_s
            return self.duration_s
        return t

    def _pull(self, n: int) -> np.ndarray:
        out = self.signal.block(self._cursor, n)
        self._cursor += n
        return out

    def play(self, from_s: float | None = None) -> None:
        if self.playing:
            return
        start = self._origin_s if from_s is None else float(np.clip(from_s, 0.0, self.duration_s))
        if start >= self.duration_s:
            start = 0.0
        self._origin_s = start
        self._cursor = int(round(start * self.signal.sample_rate))
        self._t0 = self.clock()
        self.playing = True
        self.output.start(self._pull, self.signal.sample_rate)

    def pause(self) -> None:
        if not self.playing:
            return
        self._origin_s = min(self.duration_s, self._origin_s + (self.clock() - self._t0))
        self.playing = False
        self.output.stop()

    def seek(self, seconds: float) -> None:
        was = self.playing
        self.pause()
        self._origin_s = float(np.clip(seconds, 0.0, self.duration_s))
        if was:
            self.play()
