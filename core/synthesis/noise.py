"""Ambient-noise recipes and the recording-chain equalisation of synthesised mixes.

The ambient noise of a mix is an isotropic diffuse field (rendered by
:func:`core.synthesis.spatial.diffuse_noise`, which keeps the exact inter-channel statistics of
:func:`core.synthesis.spatial.diffuse_covariance`) whose **power spectrum** and **slow power
envelope** come from one of the recipes below, plus optionally a few directional noise sources
(never labelled). Every recipe is "a stationary Gaussian field with spectrum ``P(f)``, times a
common envelope ``sqrt(e(t))``": the envelope multiplies all channels alike, so the coherence
between channels is that of the stationary field at every instant.

Recipes (power spectral density ``P(f)``, 0 below 20 Hz; ``e(t)`` normalised to mean 1):

* ``pink``: ``P = 1 / max(f, 50)`` (-3 dB/octave); stationary. (The noise of earlier versions.)
* ``brown``: ``P = 1 / max(f, 30)^2`` (-6 dB/octave, red/Brownian noise); stationary.
* ``babble``: a long-term average speech spectrum ``P = h(f) / (1 + (f / 500)^2)^1.25``
  (``h`` a 4th-order high-pass at 120 Hz; peak near 250-400 Hz, -7.5 dB/octave above 1 kHz)
  with the power envelope of 4-8 talkers, ``e = sum_k a_k s_k(t)``: each ``s_k`` the syllable
  train of the built-in speech generators (:mod:`core.synthesis.generators`: 3-6 syllables/s,
  lengths ±40 %, ``sin^0.6`` syllable shapes, 12 % short pauses, utterances of 1.5-4.2 s
  separated by 0.2-1 s), ``a_k`` talker levels ±3 dB: modulated at syllabic rates (2-8 Hz).
* ``hvac``: fan noise ``P = 1 / max(f, f_c)^alpha`` (``f_c`` 80-150 Hz, ``alpha`` 1-1.6, i.e.
  -3 to -4.8 dB/octave) plus mains-hum harmonics ``k f0`` (``f0`` 50 or 60 Hz, ``k f0 < 1 kHz``;
  the strongest at ``2 f0``, 18-28 dB above the fan floor, the others 4 dB less per step away),
  slow fluctuation ``e = exp(sigma g(t))`` (``g`` unit Gaussian noise below 0.2 Hz, 1-2 dB).
* ``traffic``: rumble ``P = 1 / (1 + (f / f_c)^2)^beta`` (``f_c`` 50-120 Hz, ``beta`` 1-1.5)
  with pass-bys: ``e`` = a floor plus Gaussian swells of 1.5-5 s, 4-15 per minute.
* ``wind``: low-frequency noise ``P = 1 / (1 + (f / f_c)^2)^2`` (``f_c`` 30-80 Hz) with gusts
  ``e = exp(sigma g(t))`` (``g`` below 0.5-1.5 Hz, ``sigma`` 3-6 dB). Real wind noise is
  turbulence at each capsule (incoherent); here it is a diffuse field like the others.
* ``surf``: breaking sea waves on a shore, ``P = h(f) / (1 + (f / f_c)^2)^gamma`` (``h`` a
  4th-order high-pass at 40 Hz, ``f_c`` 300-800 Hz, ``gamma`` 0.4-0.8, i.e. -2.4 to -4.8
  dB/octave well above ``f_c``: broadband, as measured surf noise) with breakers ``e`` = a floor
  of 0.15-0.4 plus 4-10 breakers per minute, each rising over 0.3-1 s (``sin^2``) and decaying
  exponentially with a time constant of 1.5-4 s, at levels 0.5-1.5.

**Equalisation tilt**: a zero-phase filter whose gain is ``s * log2(f / 1 kHz)`` dB for
``f`` in 100 Hz-10 kHz (held constant outside), ``s`` in dB/octave; the same filter is applied
to every channel (FOA and MIC), so spatial cues are unchanged (:func:`apply_tilt`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal

from core.synthesis.room import Room
from core.synthesis.scene import SAMPLE_RATE, NoiseSource, random_trajectory

__all__ = [
    "NOISE_TYPES",
    "TILT_BAND_HZ",
    "apply_tilt",
    "draw_ambience",
    "draw_noise_params",
    "mono_noise",
    "noise_envelope",
    "noise_spectrum",
    "tilt_gain_db",
]

FS = SAMPLE_RATE
NOISE_TYPES: tuple[str, ...] = ("pink", "brown", "babble", "hvac", "traffic", "wind", "surf")
"""Ambient-noise recipes (see the module docstring)."""
TILT_BAND_HZ = (100.0, 10000.0)
"""Band over which the equalisation tilt acts (its gain is held constant outside)."""
_TILT_TAPS = 1025
_ENV_HOP = 240  # samples per envelope frame (10 ms)


# --------------------------------------------------------------------------- parameters


def draw_noise_params(kind: str, rng: np.random.Generator) -> dict[str, Any]:
    """The random parameters of one realisation of recipe ``kind`` (recorded in ``synth_info.json``)."""
    if kind not in NOISE_TYPES:
        raise ValueError(f"unknown noise type {kind!r}; expected one of {', '.join(NOISE_TYPES)}")
    if kind == "babble":
        return {"talkers": int(rng.integers(4, 9))}
    if kind == "hvac":
        return {
            "hum_hz": float(rng.choice([50.0, 60.0])),
            "hum_db": round(float(rng.uniform(18.0, 28.0)), 3),
            "corner_hz": round(float(rng.uniform(80.0, 150.0)), 3),
            "alpha": round(float(rng.uniform(1.0, 1.6)), 4),
            "fluctuation_db": round(float(rng.uniform(1.0, 2.0)), 3),
        }
    if kind == "traffic":
        return {
            "corner_hz": round(float(rng.uniform(50.0, 120.0)), 3),
            "beta": round(float(rng.uniform(1.0, 1.5)), 4),
            "passes_per_min": round(float(rng.uniform(4.0, 15.0)), 3),
        }
    if kind == "wind":
        return {
            "corner_hz": round(float(rng.uniform(30.0, 80.0)), 3),
            "gust_hz": round(float(rng.uniform(0.5, 1.5)), 3),
            "gust_db": round(float(rng.uniform(3.0, 6.0)), 3),
        }
    if kind == "surf":
        return {
            "corner_hz": round(float(rng.uniform(300.0, 800.0)), 3),
            "gamma": round(float(rng.uniform(0.4, 0.8)), 4),
            "breakers_per_min": round(float(rng.uniform(4.0, 10.0)), 3),
            "floor": round(float(rng.uniform(0.15, 0.4)), 4),
        }
    return {}


def _uniform(rng: np.random.Generator, span: tuple[float, float]) -> float:
    lo, hi = span
    return lo if lo == hi else float(rng.uniform(lo, hi))


def draw_ambience(
    rng: np.random.Generator,
    room: Room,
    *,
    noise_types: tuple[str, ...] = NOISE_TYPES,
    snr_db: tuple[float, float] = (6.0, 30.0),
    gain_db: tuple[float, float] = (-12.0, 12.0),
    tilt_db_oct: tuple[float, float] = (-2.0, 2.0),
    source_probability: float = 0.3,
    level_dbfs: float = -30.0,
) -> dict[str, Any]:
    """The noise and level fields of one mix's :class:`~core.synthesis.scene.Scene`.

    Noise recipe uniform over ``noise_types``; SNR, gain (dB around ``level_dbfs``) and tilt
    (dB/octave) uniform in their ranges (a range ``(v, v)`` is the fixed value ``v``, drawing
    nothing); with probability ``source_probability`` one directional noise source at a random
    direction and 1-3 m (kept 0.25 m from the walls) carrying 20-50 % of the noise power.
    """
    kind = noise_types[int(rng.integers(len(noise_types)))] if len(noise_types) > 1 else noise_types[0]
    snr = _uniform(rng, snr_db)
    gain = _uniform(rng, gain_db)
    tilt = _uniform(rng, tilt_db_oct)
    sources: tuple[NoiseSource, ...] = ()
    if source_probability > 0.0 and rng.random() < source_probability:
        traj = random_trajectory(rng, room, 0.0, moving_probability=0.0)
        sources = (NoiseSource(traj, round(float(rng.uniform(0.2, 0.5)), 4)),)
    return {
        "snr_db": round(snr, 3),
        "noise": kind,
        "level_dbfs": round(level_dbfs + gain, 3),
        "tilt_db_oct": round(tilt, 3),
        "noise_sources": sources,
    }


# --------------------------------------------------------------------------- spectra


def noise_spectrum(kind: str, freqs_hz: np.ndarray, params: dict[str, Any] | None = None) -> np.ndarray:
    """Relative power spectral density of recipe ``kind`` at ``freqs_hz`` (0 below 20 Hz)."""
    p = params or {}
    f = np.asarray(freqs_hz, dtype=np.float64)
    if kind == "pink":
        psd = 1.0 / np.maximum(f, 50.0)
    elif kind == "brown":
        psd = 1.0 / np.maximum(f, 30.0) ** 2
    elif kind == "babble":
        hp = (f / 120.0) ** 4 / (1.0 + (f / 120.0) ** 4)
        psd = hp / (1.0 + (f / 500.0) ** 2) ** 1.25
    elif kind == "hvac":
        fc, alpha = float(p.get("corner_hz", 100.0)), float(p.get("alpha", 1.3))
        psd = 1.0 / np.maximum(f, fc) ** alpha
        f0, top = float(p.get("hum_hz", 50.0)), float(p.get("hum_db", 23.0))
        for k in range(1, int(999.0 // f0) + 1):
            peak_db = top - 4.0 * abs(k - 2)
            floor = 1.0 / max(k * f0, fc) ** alpha
            psd = psd + floor * 10 ** (peak_db / 10) * np.exp(-0.5 * ((f - k * f0) / 0.6) ** 2)
    elif kind == "traffic":
        fc, beta = float(p.get("corner_hz", 80.0)), float(p.get("beta", 1.2))
        psd = 1.0 / (1.0 + (f / fc) ** 2) ** beta
    elif kind == "wind":
        fc = float(p.get("corner_hz", 50.0))
        psd = 1.0 / (1.0 + (f / fc) ** 2) ** 2
    elif kind == "surf":
        fc, gamma = float(p.get("corner_hz", 500.0)), float(p.get("gamma", 0.6))
        hp = (f / 40.0) ** 4 / (1.0 + (f / 40.0) ** 4)
        psd = hp / (1.0 + (f / fc) ** 2) ** gamma
    else:
        raise ValueError(f"unknown noise type {kind!r}")
    return np.where(f >= 20.0, psd, 0.0)


# --------------------------------------------------------------------------- envelopes


def _smooth(rng: np.random.Generator, m: int, cutoff_hz: float) -> np.ndarray:
    """Unit-variance Gaussian noise of ``m`` 10 ms frames, low-passed (Gaussian roll-off) at ``cutoff_hz``."""
    size = max(m, 16)
    spec = scipy.fft.rfft(rng.standard_normal(size))
    fr = scipy.fft.rfftfreq(size, _ENV_HOP / FS)
    spec *= np.exp(-0.5 * (fr / cutoff_hz) ** 2)
    spec[0] = 0.0
    x = scipy.fft.irfft(spec, size)[:m]
    sd = float(x.std())
    return x / sd if sd > 0 else x


def _syllable_train(rng: np.random.Generator, m: int) -> np.ndarray:
    """Power envelope ``(m,)`` (10 ms frames) of one talker speaking on and off, as the speech generators do."""
    env = np.zeros(m)
    t = -rng.uniform(0.0, 3.0)  # start anywhere in an utterance
    fps = FS / _ENV_HOP
    while t < m / fps:
        rate = rng.uniform(3.0, 6.0)
        stop = t + rng.uniform(1.5, 4.2)
        while t < stop:
            length = rng.uniform(0.6, 1.4) / rate
            i0, i1 = int(round(t * fps)), int(round((t + length) * fps))
            if i1 > max(i0, 0) and i0 < m:
                u = (np.arange(i0, i1) - i0 + 0.5) / (i1 - i0)
                seg = (rng.uniform(0.6, 1.0) * np.sin(np.pi * u) ** 0.6) ** 2
                lo, hi = max(i0, 0), min(i1, m)
                env[lo:hi] = seg[lo - i0 : hi - i0]
            t += length
            if rng.random() < 0.12:
                t += rng.uniform(0.1, 0.35)
        t += rng.uniform(0.2, 1.0)
    return env


def noise_envelope(kind: str, n: int, rng: np.random.Generator, params: dict[str, Any]) -> np.ndarray | None:
    """Power envelope ``(n,)`` of recipe ``kind`` (mean 1), or ``None`` for a stationary recipe."""
    if kind in ("pink", "brown") or n <= 0:
        return None
    m = n // _ENV_HOP + 2
    db = math.log(10.0) / 10.0
    if kind == "babble":
        frames = np.zeros(m)
        for _ in range(int(params.get("talkers", 6))):
            frames += 10 ** (rng.uniform(-3.0, 3.0) / 10) * _syllable_train(rng, m)
        frames += 0.02 * max(float(frames.mean()), 1e-12)
    elif kind == "hvac":
        frames = np.exp(float(params.get("fluctuation_db", 1.5)) * db * _smooth(rng, m, 0.2))
    elif kind == "traffic":
        times = np.arange(m) * _ENV_HOP / FS
        total = m * _ENV_HOP / FS
        frames = np.full(m, 0.3)
        count = int(rng.poisson(float(params.get("passes_per_min", 8.0)) * total / 60.0))
        for _ in range(max(count, 1)):
            centre, width = rng.uniform(-2.0, total + 2.0), rng.uniform(1.5, 5.0)
            frames += rng.uniform(0.3, 1.5) * np.exp(-0.5 * ((times - centre) / (width / 2.355)) ** 2)
    elif kind == "wind":
        g = _smooth(rng, m, float(params.get("gust_hz", 1.0)))
        frames = np.exp(float(params.get("gust_db", 4.0)) * db * g)
    elif kind == "surf":
        times = np.arange(m) * _ENV_HOP / FS
        total = m * _ENV_HOP / FS
        frames = np.full(m, float(params.get("floor", 0.25)))
        count = int(rng.poisson(float(params.get("breakers_per_min", 7.0)) * total / 60.0))
        for _ in range(max(count, 1)):
            onset, rise, decay = rng.uniform(-6.0, total), rng.uniform(0.3, 1.0), rng.uniform(1.5, 4.0)
            u = times - onset
            shape = np.where(
                u < rise, np.sin(0.5 * np.pi * np.clip(u / rise, 0.0, 1.0)) ** 2, np.exp(-(u - rise) / decay)
            )
            frames += rng.uniform(0.5, 1.5) * np.where(u >= 0.0, shape, 0.0)
    else:
        raise ValueError(f"unknown noise type {kind!r}")
    env = np.interp(np.arange(n) / _ENV_HOP, np.arange(m), frames)
    return env / float(env.mean())


def mono_noise(
    kind: str, n: int, rng: np.random.Generator, params: dict[str, Any], tilt_db_oct: float = 0.0
) -> np.ndarray:
    """``n`` samples of recipe ``kind`` as one signal (for a directional noise source), unit variance."""
    if n <= 0:
        return np.zeros(0)
    nfft = scipy.fft.next_fast_len(n, real=True)
    freqs = scipy.fft.rfftfreq(nfft, 1.0 / FS)
    amp = np.sqrt(noise_spectrum(kind, freqs, params)) * 10 ** (tilt_gain_db(freqs, tilt_db_oct) / 20)
    x = scipy.fft.irfft(scipy.fft.rfft(rng.standard_normal(nfft)) * amp, nfft)[:n]
    env = noise_envelope(kind, n, rng, params)
    if env is not None:
        x = x * np.sqrt(env)
    sd = float(x.std())
    return x / sd if sd > 0 else x


# --------------------------------------------------------------------------- equalisation


def tilt_gain_db(freqs_hz: np.ndarray, slope_db_oct: float) -> np.ndarray:
    """Gain (dB) of the equalisation tilt: ``slope * log2(clip(f, 100, 10000) / 1000)``."""
    f = np.clip(np.asarray(freqs_hz, dtype=np.float64), *TILT_BAND_HZ)
    return slope_db_oct * np.log2(f / 1000.0)


@lru_cache(maxsize=64)
def _tilt_taps(slope_db_oct: float) -> np.ndarray:
    """Linear-phase FIR (1025 taps, delay 512) of the tilt, by frequency sampling + Kaiser window."""
    nfft = 8192
    freqs = scipy.fft.rfftfreq(nfft, 1.0 / FS)
    h = scipy.fft.irfft(10 ** (tilt_gain_db(freqs, slope_db_oct) / 20), nfft)
    half = _TILT_TAPS // 2
    taps = np.concatenate([h[-half:], h[: half + 1]]) * np.kaiser(_TILT_TAPS, 6.0)
    taps.setflags(write=False)
    return taps


def apply_tilt(x: np.ndarray, slope_db_oct: float) -> np.ndarray:
    """``x (C, n)`` through the equalisation tilt, the same zero-phase filter on every row."""
    if slope_db_oct == 0.0 or x.shape[-1] == 0:
        return x
    taps = _tilt_taps(float(slope_db_oct))
    half = _TILT_TAPS // 2
    y = scipy.signal.oaconvolve(x, taps.reshape((1,) * (x.ndim - 1) + (-1,)), axes=-1)
    return y[..., half : half + x.shape[-1]]
