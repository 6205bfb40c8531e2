"""SELD input features, exactly as defined by DCASE 2020 Task 3.

Framing (24 kHz): hop 480 samples (20 ms); a periodic Hann window of 960 samples centred
in an FFT of 1024 (32 zeros on each side); centred frames, i.e. the signal is padded with
512 samples of reflection on each side (edge sample not repeated) and frame ``t`` is
centred on sample ``480 * t``. A file of ``N`` samples gives ``ceil(N / 480)`` frames.
This is ``librosa.stft(x, n_fft=1024, hop_length=480, win_length=960, window="hann",
center=True, pad_mode="reflect")`` truncated to ``ceil(N / 480)`` frames.

Outputs (float32, channel-major):

* FOA ``(7, T, 64)``: log-mel of W, Y, Z, X, then the mel-projected, normalised acoustic
  intensity vector components IVx, IVy, IVz.
* MIC ``(10, T, 64)``: log-mel of M1..M4, then GCC-PHAT of the pairs (1,2), (1,3), (1,4),
  (2,3), (2,4), (3,4) at lags -32..31 samples (index ``k`` is lag ``k - 32``; a positive lag
  means the second channel of the pair arrives later).

Every sample gets :data:`DC_OFFSET` (1e-8) added before the STFT, in float64: the official
DCASE 2020 extractor reads int16 audio as ``x / 32768 + 1e-8`` (its ``_eps``), and that
constant, small as it is, leaks through the Hann window into the lowest FFT bins, where it
adds a cross term with the signal (up to ~1e-3 dB of log-mel in mel band 0, ~1e-5 of the
intensity vectors). With it the features equal the official extractor's to ~1e-4 dB
(log-mel) and ~1e-6 (intensity vectors, GCC); see ``docs/FEATURES.md``. It is applied to
whatever the input is (int16, int24 or float files), as part of the feature definition.

Log-mel per channel: ``P = |X|^2 @ mel``; ``L = 10 log10(max(1e-10, P))``; then
``L = max(L, max(L) - 80)`` with the max over the whole file and all bands of that channel
(``librosa.power_to_db(P)`` with its defaults). The mel filterbank is the Slaney-scale,
area-normalised one of ``librosa.filters.mel(sr=24000, n_fft=1024, n_mels=64)`` (float32
weights, as librosa returns them).

Every feature of a frame is a product ``conj(A) * B`` of two spectra of that frame, so the
linear phase of where the window sits in the FFT buffer cancels; the STFT is computed in
float64 (the official extractor's precision) in blocks of frames, vectorised over channels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from core.common.errors import SeldError

SAMPLE_RATE = 24000
HOP = 480
WIN = 960
N_FFT = 1024
N_MELS = 64
N_BINS = N_FFT // 2 + 1
GCC_LAGS = 64
AMIN = 1e-10
TOP_DB = 80.0
IV_EPS = 1e-8
MAX_SAMPLE = 1e6
"""The largest sample magnitude the features accept: from about 7e6 the float32 intensity
products overflow. Recordings are refused long before, at ``core.io.audio.MAX_SAMPLE_MAGNITUDE``."""
DC_OFFSET = 1e-8
"""Added to every sample before the STFT, as the official extractor does (``x / 32768 + 1e-8``).

Part of the DCASE 2020 definition: through the window's leakage it changes the lowest mel
band by up to ~1e-3 dB and the intensity vectors by up to ~1e-5 against the offset-free
signal, and it gives digital silence a defined (non-zero) spectrum. See the module docstring.
"""
MIC_PAIRS: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
"""GCC-PHAT channel pairs (0-based), in the DCASE order (1,2), (1,3), (1,4), (2,3), (2,4), (3,4)."""

FEATURE_CHANNELS = {"foa": 7, "mic": 10}
FEATURE_NAMES = {
    "foa": ("logmel W", "logmel Y", "logmel Z", "logmel X", "IVx", "IVy", "IVz"),
    "mic": ("logmel M1", "logmel M2", "logmel M3", "logmel M4")
    + tuple(f"GCC M{a + 1}-M{b + 1}" for a, b in MIC_PAIRS),
}

_BLOCK_FRAMES = 100  # frames per STFT block: keeps the working set small and cache-friendly


@dataclass(frozen=True)
class FeatureSettings:
    """The feature definition, saved beside a model so that inference uses the same one."""

    sample_rate: int = SAMPLE_RATE
    hop: int = HOP
    win: int = WIN
    n_fft: int = N_FFT
    n_mels: int = N_MELS
    definition: str = "dcase2020"

    def to_dict(self) -> dict[str, int | str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSettings:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        settings = cls(**known)
        if settings != cls():
            raise SeldError(
                f"unsupported feature settings {settings.to_dict()}; only the DCASE 2020 definition "
                f"{cls().to_dict()} is implemented"
            )
        return settings


def n_frames(n_samples: int) -> int:
    """Number of feature frames for a signal of ``n_samples``: ``ceil(n_samples / 480)``."""
    return -(-int(n_samples) // HOP)


# --------------------------------------------------------------------------- mel filterbank


# Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Hz to Slaney mels (librosa's ``hz_to_mel(htk=False)``)."""
    f = np.asarray(f, dtype=np.float64)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log_part, f / _F_SP)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    """Slaney mels to Hz (librosa's ``mel_to_hz(htk=False)``)."""
    m = np.asarray(m, dtype=np.float64)
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log_part, _F_SP * m)


@lru_cache(maxsize=4)
def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-scale, area-normalised triangular filterbank ``(n_fft//2 + 1, n_mels)``, 0 Hz to sr/2.

    Each triangle is scaled by ``2 / (f_{i+2} - f_i)``. Values are rounded to float32 (as
    ``librosa.filters.mel`` returns them) and returned as a read-only float64 array.
    """
    fft_freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    mel_pts = np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(sr / 2.0)), n_mels + 2)
    mel_f = mel_to_hz(mel_pts)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, fft_freqs.size))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    out = weights.astype(np.float32).astype(np.float64).T.copy()
    out.setflags(write=False)
    return out


@lru_cache(maxsize=4)
def mel_band_slices(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS):
    """The filterbank restricted to its non-zero bin range: (lo, hi, dense (hi-lo, n_mels))."""
    fb = mel_filterbank(sr, n_fft, n_mels)
    nz = np.nonzero(fb.any(axis=1))[0]
    lo, hi = int(nz[0]), int(nz[-1]) + 1
    return lo, hi, np.ascontiguousarray(fb[lo:hi])


@lru_cache(maxsize=2)
def hann_periodic(n: int = WIN) -> np.ndarray:
    """Periodic (DFT-even) Hann window, as ``scipy.signal.get_window('hann', n)``."""
    k = np.arange(n)
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)
    w.setflags(write=False)
    return w


# --------------------------------------------------------------------------- STFT


def _check_audio(audio: np.ndarray, n_channels: int | None = 4) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise SeldError(f"audio must be (channels, samples); got an array of shape {audio.shape}")
    if n_channels is not None and audio.shape[0] != n_channels:
        raise SeldError(f"audio has {audio.shape[0]} channels; the features need {n_channels}")
    if audio.shape[1] == 0:
        raise SeldError("audio is empty (0 samples)")
    check_sample_range(audio)
    return audio


def check_sample_range(audio: np.ndarray) -> None:
    """Refuse NaN, infinite and overflowing (beyond :data:`MAX_SAMPLE`) samples."""
    lo, hi = float(np.min(audio)), float(np.max(audio))  # NaN propagates into both
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise SeldError("audio contains NaN or infinite samples")
    if max(-lo, hi) > MAX_SAMPLE:
        raise SeldError(
            f"audio has samples of magnitude {max(-lo, hi):.3g}, beyond the {MAX_SAMPLE:.0e} the features can "
            "take without overflow (full scale is 1.0)"
        )


def _pad(audio: np.ndarray) -> np.ndarray:
    """Reflect-pad by n_fft/2 on both sides (edge sample not repeated), keeping the dtype.

    For signals shorter than the pad numpy reflects repeatedly (librosa would refuse);
    this keeps the frame count ``ceil(N / 480)`` and stays well defined.
    """
    pad = N_FFT // 2
    if audio.dtype not in (np.float32, np.float64):
        audio = audio.astype(np.float64)
    return np.pad(audio, ((0, 0), (pad, pad)), mode="reflect")


def stft_padded_blocks(
    padded: np.ndarray,
    total: int,
    block_frames: int = _BLOCK_FRAMES,
    workers: int | None = None,
    dc_offset: float = 0.0,
):
    """Yield ``(t0, spectra)`` for frames ``0 .. total-1`` of an already padded signal.

    Frame ``t`` is the window ``padded[:, 480 t + 32 : 480 t + 992]`` (the 960 non-zero
    samples of a 1024-sample frame starting at ``480 t``), with ``dc_offset`` added to every
    sample (in float64; the features pass :data:`DC_OFFSET`). Spectra are complex128
    ``(channels, frames_in_block, 513)``; they equal librosa's centred STFT up to a per-bin
    linear phase, which every DCASE feature cancels (see the module docstring). The yielded
    array is a buffer that the next iteration overwrites: consume or copy it first.
    """
    off = (N_FFT - WIN) // 2
    needed = (total - 1) * HOP + off + WIN
    if padded.shape[1] < needed:
        padded = np.pad(padded, ((0, 0), (0, needed - padded.shape[1])))
    # float32 input is promoted exactly to float64 by the window product.
    view = sliding_window_view(padded[:, off:needed], WIN, axis=1)[:, ::HOP]
    win = hann_periodic(WIN)
    offset_win = dc_offset * win  # (x + c) w = x w + c w: the offset of every padded sample
    fft, threads = _fft_backend(workers)
    frames = np.zeros((padded.shape[0], min(block_frames, total), N_FFT))
    for t0 in range(0, total, block_frames):
        part = view[:, t0 : t0 + block_frames]
        n = part.shape[1]
        np.multiply(part, win, out=frames[:, :n, :WIN])
        if dc_offset:
            frames[:, :n, :WIN] += offset_win
        yield t0, fft.rfft(frames[:, :n], axis=-1, **threads)


def _fft_backend(workers: int | None) -> tuple[Any, dict[str, int]]:
    """``(module, keywords)`` for FFTs on ``workers`` threads: ``numpy.fft`` for one (the same
    pocketfft, and ``import scipy.fft`` costs ~0.45 s of a short ``seld infer``), else
    ``scipy.fft`` with ``workers=``."""
    if workers is None or workers <= 1:
        return np.fft, {}
    import scipy.fft

    return scipy.fft, {"workers": workers}


def stft_blocks(audio: np.ndarray, block_frames: int = _BLOCK_FRAMES, workers: int | None = None):
    """:func:`stft_padded_blocks` of ``audio`` ``(channels, N)`` with the centred reflect padding."""
    audio = _check_audio(audio, None)
    yield from stft_padded_blocks(_pad(audio), n_frames(audio.shape[1]), block_frames, workers)


def stft(audio: np.ndarray, workers: int | None = None) -> np.ndarray:
    """Complex STFT ``(channels, T, 513)`` (see :func:`stft_blocks`)."""
    parts = [s.copy() for _, s in stft_blocks(audio, workers=workers)]
    return np.concatenate(parts, axis=1)


# --------------------------------------------------------------------------- features


def log_mel(power_mel: np.ndarray, peak_db: np.ndarray | None = None) -> np.ndarray:
    """``(4, T, 64)`` mel power -> dB, floored 80 dB below each channel's peak.

    ``peak_db`` is each channel's maximum in dB over the WHOLE recording; by default the
    maximum of ``power_mel`` itself (a whole file). Chunked extraction passes the file's.
    """
    log = 10.0 * np.log10(np.maximum(AMIN, power_mel))
    if peak_db is None:
        peak_db = log.reshape(log.shape[0], -1).max(axis=1)
    return np.maximum(log, (np.asarray(peak_db) - TOP_DB)[:, None, None])


def peak_db(power_mel: np.ndarray) -> np.ndarray:
    """Each channel's maximum mel power in dB (``10 log10(max(1e-10, P))``), shape ``(4,)``."""
    return 10.0 * np.log10(np.maximum(AMIN, power_mel.reshape(power_mel.shape[0], -1).max(axis=1)))


class _Workspace:
    """Per-block scratch buffers, reused across blocks (no allocation in the loop).

    The numerically delicate steps (the STFT and the products ``conj(A) * B``) run in
    float64; their results are rounded to float32 before the normalisations and mel
    projections, whose float32 error (~1e-7 relative, sums of positive terms) is far below
    the tolerances that matter (1e-3 dB, 1e-5).
    """

    def __init__(self, block_frames: int):
        lo, hi, fb = mel_band_slices()
        self.lo, self.hi = lo, hi
        self.fb32 = fb.astype(np.float32)
        shape = (block_frames, N_BINS)
        self.a64 = np.empty(shape)
        self.b64 = np.empty(shape)
        self.p32 = np.empty((4,) + shape, np.float32)
        self.iv32 = np.empty((3,) + shape, np.float32)
        self.n32 = np.empty(shape, np.float32)
        self.t32 = np.empty(shape, np.float32)

    def re_product(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        """``out = Re(conj(a) * b)`` computed in float64, stored in ``out`` (float32)."""
        n = a.shape[0]
        x, y = self.a64[:n], self.b64[:n]
        np.multiply(a.real, b.real, out=x)
        np.multiply(a.imag, b.imag, out=y)
        np.add(x, y, out=out, casting="same_kind")

    def mel(self, x32: np.ndarray, out: np.ndarray) -> None:
        """``out[...] = x32 @ mel`` over the filterbank's non-zero bins (float32 matmul)."""
        out[...] = np.matmul(x32[..., self.lo : self.hi], self.fb32)


def frame_features(
    padded: np.ndarray,
    total: int,
    fmt: str | None,
    *,
    workers: int | None = 1,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The per-frame part of the features of frames ``0 .. total-1`` of a padded signal.

    Returns the mel power ``(4, total, 64)`` float64 (turn it into log-mel with
    :func:`log_mel`) and, for ``fmt`` ``"foa"``/``"mic"``, the intensity vectors
    ``(3, total, 64)`` or GCC-PHAT ``(6, total, 64)`` float32 (``None`` for ``fmt=None``).
    Every value depends only on its own frame, so chunks of a long file (with 512 samples of
    context on both sides) give exactly the whole file's values.
    """
    check_sample_range(padded)
    power = np.empty((4, total, N_MELS), dtype=np.float64)
    rest = None if fmt is None else np.empty((FEATURE_CHANNELS[fmt] - 4, total, N_MELS), dtype=np.float32)
    ws = _Workspace(min(_BLOCK_FRAMES, total))
    for t0, spec in stft_padded_blocks(padded, total, workers=workers, dc_offset=DC_OFFSET):
        n = spec.shape[1]
        t1 = t0 + n
        for ch in range(4):
            ws.re_product(spec[ch], spec[ch], ws.p32[ch, :n])
        ws.mel(ws.p32[:, :n], power[:, t0:t1])
        if rest is not None and fmt == "foa":
            _foa_intensity_block(spec, rest[:, t0:t1], ws)
        elif rest is not None and fmt == "mic":
            _gcc_block(spec, rest[:, t0:t1], workers)
        if progress is not None:
            progress(t1 / total)
    return power, rest


def extract_features(
    audio: np.ndarray,
    fmt: str,
    *,
    progress: Callable[[float], None] | None = None,
    workers: int | None = 2,
) -> np.ndarray:
    """DCASE 2020 features of a 24 kHz 4-channel signal ``(4, N)``.

    Returns float32 ``(7, T, 64)`` for ``fmt="foa"`` (AmbiX W, Y, Z, X input) or
    ``(10, T, 64)`` for ``fmt="mic"``, with ``T = ceil(N / 480)``. ``progress`` (if given)
    is called with the fraction done after each block of frames. ``workers`` threads share
    the frames (contiguous ranges; every frame is computed from its own samples, so the
    result does not depend on ``workers``).
    """
    if fmt not in FEATURE_CHANNELS:
        raise SeldError(f"unknown recording format {fmt!r}; expected 'foa' or 'mic'")
    audio = _check_audio(audio, 4)
    total = n_frames(audio.shape[1])
    padded = _pad(audio)
    n_threads = max(1, min(int(workers or 1), total // _MIN_FRAMES_PER_THREAD))
    if n_threads == 1:
        power, rest = frame_features(padded, total, fmt, progress=progress)
    else:
        power, rest = _threaded_frame_features(padded, total, fmt, n_threads, progress)
    out = np.empty((FEATURE_CHANNELS[fmt], total, N_MELS), dtype=np.float32)
    out[:4] = log_mel(power)
    out[4:] = rest
    return out


_MIN_FRAMES_PER_THREAD = 500


def _threaded_frame_features(
    padded: np.ndarray, total: int, fmt: str, n_threads: int, progress: Callable[[float], None] | None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`frame_features` over ``n_threads`` contiguous frame ranges at once (numpy and
    scipy.fft release the GIL), assembled in order."""
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, total, n_threads + 1).astype(int)
    bounds -= bounds % _BLOCK_FRAMES  # block-aligned ranges
    bounds[-1] = total
    power = np.empty((4, total, N_MELS), dtype=np.float64)
    rest = np.empty((FEATURE_CHANNELS[fmt] - 4, total, N_MELS), dtype=np.float32)

    def run(k: int) -> None:
        f0, f1 = int(bounds[k]), int(bounds[k + 1])
        if f1 <= f0:
            return
        part_power, part_rest = frame_features(padded[:, HOP * f0 :], f1 - f0, fmt)
        power[:, f0:f1] = part_power
        rest[:, f0:f1] = part_rest

    from threadpoolctl import threadpool_limits

    # one BLAS thread per range: nested BLAS threads would oversubscribe the cores
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=n_threads) as pool:
        list(pool.map(run, range(n_threads)))
    if progress is not None:
        progress(1.0)
    return power, rest


def _foa_intensity_block(spec: np.ndarray, out: np.ndarray, ws: _Workspace) -> None:
    """Normalised intensity vectors of one block, projected on the mel filterbank.

    ``I_x = Re(conj(W) X)``, ``I_y = Re(conj(W) Y)``, ``I_z = Re(conj(W) Z)`` with
    (W, Y, Z, X) = channels (0, 1, 2, 3); each divided by ``|I| + 1e-8``.
    """
    n = spec.shape[1]
    iv, norm, tmp = ws.iv32[:, :n], ws.n32[:n], ws.t32[:n]
    for k, ch in enumerate((3, 1, 2)):  # x, y, z
        ws.re_product(spec[0], spec[ch], iv[k])
    np.multiply(iv[0], iv[0], out=norm)
    for k in (1, 2):
        np.multiply(iv[k], iv[k], out=tmp)
        norm += tmp
    np.sqrt(norm, out=norm)
    norm += np.float32(IV_EPS)
    np.reciprocal(norm, out=norm)
    iv *= norm
    ws.mel(iv, out)


def _gcc_block(spec: np.ndarray, out: np.ndarray, workers: int | None) -> None:
    """GCC-PHAT of the six capsule pairs, lags -32..31: ``irfft(exp(i angle(conj(Xm) Xn)))``."""
    m_idx = [a for a, _ in MIC_PAIRS]
    n_idx = [b for _, b in MIC_PAIRS]
    r = np.conj(spec[m_idx])
    r *= spec[n_idx]
    mag = np.abs(r)
    zero = mag == 0
    if zero.any():  # angle(0) = 0 -> exp(0) = 1
        r[zero] = 1.0
        mag[zero] = 1.0
    r /= mag
    fft, threads = _fft_backend(workers)
    cc = fft.irfft(r, n=N_FFT, axis=-1, **threads)
    half = GCC_LAGS // 2
    out[..., :half] = cc[..., -half:]
    out[..., half:] = cc[..., :half]


# --------------------------------------------------------------------------- scaler


@dataclass
class FeatureScaler:
    """Per-(channel, band) mean/std standardisation, fitted on training files only.

    ``mean`` and ``std`` are float64 ``(C, 64)``. Fit incrementally with :meth:`partial_fit`
    (Chan et al. parallel update, numerically stable), apply with :meth:`transform`.
    ``std`` is the population standard deviation (as scikit-learn's StandardScaler); a
    band with zero variance is left unscaled (std treated as 1).
    """

    mean: np.ndarray | None = None
    var: np.ndarray | None = None
    count: int = 0

    def partial_fit(self, features: np.ndarray) -> FeatureScaler:
        feats = np.asarray(features, dtype=np.float64)
        if feats.ndim != 3:
            raise SeldError(f"features must be (channels, frames, bands); got shape {feats.shape}")
        n = feats.shape[1]
        if n == 0:
            return self
        m = feats.mean(axis=1)
        v = feats.var(axis=1)
        if self.mean is None:
            self.mean, self.var, self.count = m, v, n
            return self
        if self.mean.shape != m.shape:
            raise SeldError(f"features of shape {feats.shape} do not match the scaler's {self.mean.shape}")
        assert self.var is not None  # fitted together with the mean
        total = self.count + n
        delta = m - self.mean
        new_mean = self.mean + delta * (n / total)
        m2 = self.var * self.count + v * n + delta**2 * (self.count * n / total)
        self.mean, self.var, self.count = new_mean, m2 / total, total
        return self

    @property
    def std(self) -> np.ndarray:
        if self.var is None:
            raise SeldError("the feature scaler has not been fitted")
        std = np.sqrt(self.var)
        return np.where(std > 0, std, 1.0)

    def transform(self, features: np.ndarray) -> np.ndarray:
        if self.mean is None:
            raise SeldError("the feature scaler has not been fitted")
        feats = np.asarray(features)
        if feats.ndim != 3 or feats.shape[0] != self.mean.shape[0] or feats.shape[2] != self.mean.shape[1]:
            raise SeldError(
                f"features of shape {feats.shape} do not fit a scaler for "
                f"{self.mean.shape[0]} channels x {self.mean.shape[1]} bands"
            )
        return ((feats - self.mean[:, None, :]) / self.std[:, None, :]).astype(np.float32)

    def to_dict(self) -> dict:
        if self.mean is None or self.var is None:
            raise SeldError("the feature scaler has not been fitted")
        return {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": int(self.count)}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureScaler:
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            var = np.asarray(data["var"], dtype=np.float64)
            count = int(data["count"])
        except (KeyError, TypeError, ValueError) as err:
            raise SeldError(f"malformed feature scaler: {err}") from None
        if mean.ndim != 2 or mean.shape != var.shape or (var < 0).any():
            raise SeldError(f"malformed feature scaler: mean {mean.shape}, var {var.shape}")
        return cls(mean=mean, var=var, count=count)
