"""Model-free direction maps: where the sound energy comes from around a time.

* FOA: the acoustic intensity of every time-frequency bin, ``Re(conj(W) [X, Y, Z])``,
  gives a direction; a 2-D histogram over an azimuth x elevation grid, weighted by the
  bin's energy ``|W|^2``, shows where the energy arrives from.
* MIC: the steered response power with phase transform (SRP-PHAT): for every grid
  direction, the sum over the six capsule pairs of their GCC-PHAT at the time difference
  that direction implies (far field, capsule positions of the DCASE tetrahedral array),
  averaged over the frames.

Both return a :class:`DirectionMap` ``(n_el, n_az)`` normalised to a maximum of 1, with
azimuth bin centres from -180 to 180 and elevation bin centres from -90 to 90, computed
from a short excerpt around the requested time with the DCASE STFT framing.
:func:`energy_map_at` reads only that excerpt of an open recording (in memory or on disk).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.common.errors import SeldError
from core.dsp.features import HOP, N_FFT, SAMPLE_RATE, stft
from core.io.recording import RecordingLike
from core.spatial.mic_array import mic_capsule_positions

SPEED_OF_SOUND = 343.0


@dataclass(frozen=True)
class DirectionMap:
    """Relative energy per direction: ``values[i_el, i_az]`` in [0, 1]."""

    values: np.ndarray
    azimuths: np.ndarray  # bin centres, degrees
    elevations: np.ndarray

    def peak(self) -> tuple[float, float]:
        """(azimuth, elevation) of the strongest bin."""
        i_el, i_az = np.unravel_index(int(np.argmax(self.values)), self.values.shape)
        return float(self.azimuths[i_az]), float(self.elevations[i_el])


def _grid(n_az: int, n_el: int) -> tuple[np.ndarray, np.ndarray]:
    az = -180.0 + (np.arange(n_az) + 0.5) * 360.0 / n_az
    el = -90.0 + (np.arange(n_el) + 0.5) * 180.0 / n_el
    return az, el


def _half_window(window_s: float) -> int:
    """Samples on each side of the centre that a map reads."""
    return max(HOP, int(round(window_s * SAMPLE_RATE / 2)))


def _excerpt(samples: np.ndarray, center_s: float, window_s: float) -> np.ndarray:
    if samples.ndim != 2 or samples.shape[0] != 4:
        raise SeldError(f"a direction map needs 4-channel audio, not an array of shape {samples.shape}")
    c = int(round(center_s * SAMPLE_RATE))
    half = _half_window(window_s)
    lo, hi = max(0, c - half), min(samples.shape[1], c + half)
    if hi - lo < HOP:
        raise SeldError(f"no audio around {center_s:.2f} s")
    return samples[:, lo:hi]


def foa_energy_map(
    foa: np.ndarray, center_s: float, window_s: float = 0.2, n_az: int = 72, n_el: int = 36
) -> DirectionMap:
    """Energy-weighted histogram of the intensity directions of AmbiX W, Y, Z, X around ``center_s``."""
    spec = stft(_excerpt(foa, center_s, window_s))  # (4, T, 513)
    w = spec[0]
    ix = np.real(np.conj(w) * spec[3])
    iy = np.real(np.conj(w) * spec[1])
    iz = np.real(np.conj(w) * spec[2])
    energy = (np.abs(w) ** 2).ravel()
    az = np.degrees(np.arctan2(iy, ix)).ravel()
    el = np.degrees(np.arctan2(iz, np.hypot(ix, iy))).ravel()
    keep = energy > 0
    az_edges = np.linspace(-180, 180, n_az + 1)
    el_edges = np.linspace(-90, 90, n_el + 1)
    hist, _, _ = np.histogram2d(el[keep], az[keep], bins=(el_edges, az_edges), weights=energy[keep])
    peak = hist.max()
    az_c, el_c = _grid(n_az, n_el)
    return DirectionMap(hist / peak if peak > 0 else hist, az_c, el_c)


def mic_srp_map(
    mic: np.ndarray, center_s: float, window_s: float = 0.2, n_az: int = 72, n_el: int = 36, upsample: int = 8
) -> DirectionMap:
    """SRP-PHAT of the tetrahedral array around ``center_s`` over an azimuth x elevation grid."""
    spec = stft(_excerpt(mic, center_s, window_s))  # (4, T, 513)
    pairs = [(a, b) for a in range(4) for b in range(a + 1, 4)]
    n = N_FFT * upsample
    half = 64 * upsample  # lags up to +-64 samples at 24 kHz: more than the array's 10 cm
    lags = []
    for a, b in pairs:
        r = np.conj(spec[a]) * spec[b]
        mag = np.abs(r)
        r = np.where(mag > 0, r / np.where(mag > 0, mag, 1), 1.0)
        g = np.fft.irfft(r, n=n, axis=-1).mean(axis=0)  # frames averaged
        lags.append(np.concatenate([g[-half:], g[: half + 1]]))  # lags -half..half (upsampled samples)
    cc = np.asarray(lags)
    az_c, el_c = _grid(n_az, n_el)
    azr, elr = np.meshgrid(np.deg2rad(az_c), np.deg2rad(el_c))
    u = np.stack(
        [np.cos(elr) * np.cos(azr), np.cos(elr) * np.sin(azr), np.sin(elr)], axis=-1
    )  # (n_el, n_az, 3)
    pos = mic_capsule_positions()
    srp = np.zeros(u.shape[:2])
    for k, (a, b) in enumerate(pairs):
        # a plane wave from u reaches capsule m at -(p_m . u)/c relative to the centre:
        # capsule b lags capsule a by (p_a - p_b) . u / c
        tau = (u @ (pos[a] - pos[b])) / SPEED_OF_SOUND * SAMPLE_RATE * upsample
        idx = np.clip(np.round(tau).astype(int) + half, 0, 2 * half)
        srp += cc[k][idx]
    srp -= srp.min()
    peak = srp.max()
    return DirectionMap(srp / peak if peak > 0 else srp, az_c, el_c)


def energy_map(samples: np.ndarray, fmt: str, center_s: float, **kwargs) -> DirectionMap:
    """:func:`foa_energy_map` or :func:`mic_srp_map` by recording format."""
    if fmt == "foa":
        return foa_energy_map(samples, center_s, **kwargs)
    if fmt == "mic":
        return mic_srp_map(samples, center_s, **kwargs)
    raise SeldError(f"unknown recording format {fmt!r}; expected 'foa' or 'mic'")


def energy_map_at(recording: RecordingLike, center_s: float, window_s: float = 0.2, **kwargs) -> DirectionMap:
    """:func:`energy_map` of ``recording`` around ``center_s``, reading only that excerpt."""
    half_s = _half_window(window_s) / SAMPLE_RATE
    start = max(0.0, center_s - half_s)
    excerpt = recording.read(start, center_s + half_s)
    return energy_map(np.asarray(excerpt), recording.fmt, center_s - start, window_s=window_s, **kwargs)
