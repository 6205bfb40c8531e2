"""Overviews of long recordings without decoding them whole.

* :func:`quick_overview`: one short excerpt per column, read by seeking: a one-hour file
  gives an approximate picture in a fraction of a second (short events between the
  excerpts are missed).
* :func:`pooled_overview`: every 20 ms frame of the file, streamed in blocks, reduced to
  the columns by taking the maximum (not the mean), so that short events stay visible
  when zoomed out. Meant for a background worker: it reports progress and can be cancelled.

Both give the log-mel power (64 Slaney bands, DCASE framing) of one channel in the display
dB of :func:`core.dsp.spectrogram.display_db`, as ``(n_columns, 64)`` float32.
:func:`recording_spectrogram` is what the views show of any open recording: its whole
display spectrogram, or for a long one its overview.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from core.common.errors import AudioError
from core.common.progress import CancelFn, ProgressFn, check_cancel
from core.dsp.features import HOP, N_FFT, WIN, hann_periodic, mel_band_slices, stft_padded_blocks
from core.dsp.spectrogram import Spectrogram, channel_spectrogram, display_db, mel_centres_hz
from core.io import recording as _recording
from core.io.audio import TARGET_RATE, iter_blocks, probe
from core.io.recording import RecordingLike


@dataclass(frozen=True)
class Overview:
    """``db[i]`` describes the time span ``[i, i + 1) * column_s``."""

    db: np.ndarray
    column_s: float
    duration_s: float
    exact: bool  # True: max over every frame of each column; False: one excerpt per column


def _to_db(power_mel: np.ndarray) -> np.ndarray:

    return display_db(power_mel, mel=True)


def quick_overview(path: str | os.PathLike[str], channel: int = 0, n_columns: int = 1200) -> Overview:
    """One 1024-sample excerpt (at 24 kHz) per column, centred in it, read by seeking."""
    import soxr

    info = probe(path)
    if info.frames == 0:
        raise AudioError("contains no audio (0 frames)", path)
    if not 0 <= channel < info.channels:
        raise AudioError(f"has no channel {channel + 1}", path)
    n_columns = max(1, min(n_columns, info.frames // 64))
    lo, hi, fb = mel_band_slices()
    native = int(np.ceil(N_FFT * info.sample_rate / TARGET_RATE)) + 16
    window = np.zeros(N_FFT)
    window[(N_FFT - WIN) // 2 : (N_FFT + WIN) // 2] = hann_periodic(WIN)
    power = np.zeros((n_columns, fb.shape[1]))
    with sf.SoundFile(os.fspath(path)) as f:
        for i in range(n_columns):
            centre = int((i + 0.5) * info.frames / n_columns)
            start = max(0, min(info.frames - native, centre - native // 2))
            f.seek(start)
            x = f.read(native, dtype="float32", always_2d=True)[:, channel]
            if info.sample_rate != TARGET_RATE:
                x = soxr.resample(x, info.sample_rate, TARGET_RATE)
            frame = np.zeros(N_FFT)
            frame[: min(N_FFT, len(x))] = x[:N_FFT]
            spec = np.fft.rfft(frame * window)
            power[i] = (spec.real**2 + spec.imag**2)[lo:hi] @ fb
    return Overview(_to_db(power), info.duration_s / n_columns, info.duration_s, exact=False)


def pooled_overview(
    path: str | os.PathLike[str],
    channel: int = 0,
    n_columns: int = 1200,
    *,
    fmt: str | None = "foa",
    block_seconds: float = 30.0,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Overview:
    """The maximum mel power over all frames of each column (streamed; bounded memory).

    The frames are exactly those of the whole file (centred, reflect-padded at the file's
    ends): frame ``f``'s 1024-sample window starts at padded position ``480 f``.
    """
    info = probe(path)
    n_samples = int(round(info.frames * TARGET_RATE / info.sample_rate))
    blocks = iter_blocks(path, block_seconds=block_seconds, fmt=fmt)
    return _pooled(blocks, n_samples, info.duration_s, channel, n_columns, progress, cancel)


def _pooled(
    blocks,
    n_samples: int,
    duration: float,
    channel: int,
    n_columns: int,
    progress: ProgressFn | None,
    cancel: CancelFn | None,
) -> Overview:
    """:func:`pooled_overview` of the ``(start, (4, n))`` blocks of a signal of ``n_samples``."""
    total_frames = max(1, -(-n_samples // HOP))
    n_columns = max(1, min(n_columns, total_frames))
    col_of_frame = (np.arange(total_frames) * n_columns) // total_frames
    pooled = np.zeros((n_columns, 64))
    pad = N_FFT // 2
    buf = np.zeros((1, 0), np.float32)
    buf_start = 0  # padded position of buf[:, 0]
    frame0 = 0
    seen = 0
    for _start, block in blocks:
        check_cancel(cancel)
        x = block[channel : channel + 1]
        if seen == 0:
            left = x[:, 1 : pad + 1][:, ::-1] if x.shape[1] > pad else np.zeros((1, pad), np.float32)
            buf = np.concatenate([left, x], axis=1)
        else:
            buf = np.concatenate([buf, x], axis=1)
        seen += x.shape[1]
        last = seen >= n_samples
        if last:
            right = (
                buf[:, -pad - 1 : -1][:, ::-1] if buf.shape[1] > pad + 1 else np.zeros((1, pad), np.float32)
            )
            buf = np.concatenate([buf, right], axis=1)
        buf_end = buf_start + buf.shape[1]
        f1 = total_frames if last else min(total_frames, max(0, (buf_end - N_FFT) // HOP + 1))
        if f1 > frame0:
            seg = buf[:, HOP * frame0 - buf_start :]
            _max_into(pooled, col_of_frame[frame0:f1], _mel_power(seg, f1 - frame0))
            frame0 = f1
        drop = HOP * frame0 - buf_start
        if drop > 0:
            buf, buf_start = buf[:, drop:], buf_start + drop
        if progress is not None:
            progress(min(seen, n_samples), n_samples, "overview")
        if last:
            break
    return Overview(_to_db(pooled), duration / n_columns, duration, exact=True)


def _mel_power(padded: np.ndarray, n: int) -> np.ndarray:
    """Mel power ``(n, 64)`` of frames ``0..n-1`` of a padded one-channel signal ``(1, N)``."""
    lo, hi, fb = mel_band_slices()
    out = np.empty((n, fb.shape[1]))
    for t0, spec in stft_padded_blocks(padded, n, block_frames=500):
        out[t0 : t0 + spec.shape[1]] = (spec[0].real ** 2 + spec[0].imag ** 2)[:, lo:hi] @ fb
    return out


def _max_into(pooled: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
    """``pooled[c] = max(pooled[c], values of the frames in column c)``; ``cols`` is sorted."""
    starts = np.concatenate([[0], np.flatnonzero(np.diff(cols)) + 1])
    reduced = np.maximum.reduceat(values, starts, axis=0)
    pooled[cols[starts]] = np.maximum(pooled[cols[starts]], reduced)


DETAIL_MAX_S = 120.0
"""Visible spans up to this long get an exact detail image (frames of the file's grid)."""


def detail_overview(
    recording: RecordingLike, start_s: float, stop_s: float, channel: int = 0, max_columns: int = 2000
) -> Overview:
    """The exact display spectrogram of ``[start_s, stop_s)``, max-pooled to ``max_columns``.

    The span is aligned to the file's 20 ms frame grid (frame ``f`` centred on sample
    ``480 f``), so the detail matches the whole-file spectrogram; at most
    :data:`DETAIL_MAX_S` seconds.
    """

    f0 = max(0, int(np.floor(start_s * TARGET_RATE / HOP)))
    total = max(1, -(-recording.n_samples // HOP))
    f1 = min(total, int(np.ceil(min(stop_s, start_s + DETAIL_MAX_S) * TARGET_RATE / HOP)))
    if f1 <= f0:
        raise AudioError(f"nothing to show between {start_s:.2f} s and {stop_s:.2f} s", recording.path)
    pad = N_FFT // 2
    lo_sample, hi_sample = HOP * f0 - pad, HOP * (f1 - 1) + pad
    x = recording.read_samples(max(0, lo_sample), hi_sample - max(0, lo_sample))[channel : channel + 1]
    if lo_sample < 0:  # the file's own reflect padding at its start
        x = np.concatenate([x[:, 1 : 1 - lo_sample][:, ::-1], x], axis=1)
    n = f1 - f0
    power = _mel_power(x, n)
    cols = max(1, min(max_columns, n))
    col_of_frame = (np.arange(n) * cols) // n
    pooled = np.zeros((cols, power.shape[1]))
    _max_into(pooled, col_of_frame, power)
    return Overview(
        display_db(pooled, mel=True), n * HOP / TARGET_RATE / cols, n * HOP / TARGET_RATE, exact=True
    )


def overview_spectrogram(
    path, channel: int = 0, n_columns: int = 1600, exact: bool = True, **kwargs
) -> Spectrogram:
    """A long recording's spectrogram from its overview (quick, or exact max-pooled)."""
    ov = (
        pooled_overview(path, channel, n_columns, **kwargs)
        if exact
        else quick_overview(path, channel, n_columns)
    )
    return Spectrogram(db=ov.db, hop_s=ov.column_s, freqs_hz=mel_centres_hz(), channel=channel, kind="logmel")


def is_long(recording: RecordingLike) -> bool:
    """Whether ``recording`` is shown as an overview (longer than
    :data:`core.io.recording.LONG_RECORDING_S`)."""
    return recording.duration_s > _recording.LONG_RECORDING_S


_FUMA_FILE_CHANNEL = (0, 2, 3, 1)  # AmbiX W, Y, Z, X in a FuMa file (W, X, Y, Z)


def recording_spectrogram(
    recording: RecordingLike,
    channel: int = 0,
    kind: str = "logmel",
    *,
    exact: bool = True,
    n_columns: int = 1600,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Spectrogram:
    """What the views show of ``recording``: its display spectrogram (:func:`channel_spectrogram`),
    or for a long one (:func:`is_long`) its log-mel overview, exact (max-pooled, streamed) or
    quick (one excerpt per column, read by seeking; ``exact=False``)."""
    if not is_long(recording):
        return channel_spectrogram(recording.read_samples(0, recording.n_samples), channel, kind)
    if exact:
        ov = _pooled(
            recording.blocks(30.0),
            recording.n_samples,
            recording.duration_s,
            channel,
            n_columns,
            progress,
            cancel,
        )
    else:
        raw = _FUMA_FILE_CHANNEL[channel] if recording.convention == "fuma" else channel
        ov = quick_overview(recording.path, raw, n_columns)
    return Spectrogram(db=ov.db, hop_s=ov.column_s, freqs_hz=mel_centres_hz(), channel=channel, kind="logmel")
