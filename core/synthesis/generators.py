"""Built-in sound event generators for the 14 DCASE 2020 classes.

Each generator is a function ``(rng, sr) -> np.ndarray`` that returns one raw mono event
(float64) whose spectro-temporal signature imitates its class: beeps, cries, crashes,
barks, an engine hum, screams, speech, fire crackle, footsteps, knocks, a phone ring
and piano notes. Every random choice (pitch, duration, envelope, timbre) is drawn from
the ``np.random.Generator`` passed in, so the same seed gives the same samples.

:func:`render` runs a generator and :func:`finish` post-processes the result: leading/trailing
silence below :data:`TRIM_DB` of the peak trimmed (never below
:data:`MIN_DURATION_S`), :data:`FADE_S` raised-cosine fades, and the RMS of the active
part (20-ms frames within :data:`ACTIVE_FLOOR_DB` of the loudest) set to
:data:`TARGET_RMS_DBFS`; the scene code sets the final level. Impulsive classes (fire,
crash, knocks) can peak above 1.0 at that RMS; the samples are float32.

The per-class duration ranges a generator guarantees are in :data:`GENERATORS`
(``GeneratorSpec.duration_s``); all lie within 0.3-10 s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

SAMPLE_RATE = 24000
"""Default rate (Hz) of the generated events (the DCASE 2020 rate)."""
MIN_GENERATOR_RATE = 16000
"""Lowest rate (Hz) a generator accepts (the classes need a band up to ~7 kHz)."""
TARGET_RMS_DBFS = -20.0
"""RMS (dBFS) of the active part of every event after :func:`finish`."""
ACTIVE_FLOOR_DB = -40.0
"""20-ms frames within this many dB of the loudest frame count as the active part."""
TRIM_DB = -60.0
"""Leading/trailing samples below this level relative to the peak are trimmed."""
FADE_S = 0.005
"""Raised-cosine fade-in/out length (s) against clicks."""
MIN_DURATION_S = 0.3
"""Shortest built-in event (s)."""
MAX_DURATION_S = 10.0
"""Longest built-in event (s)."""

GeneratorFn = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class GeneratorSpec:
    """A built-in generator: its snake-case class id, function and guaranteed duration range (s)."""

    key: str
    fn: GeneratorFn
    duration_s: tuple[float, float]
    family: str = "classic"


# --------------------------------------------------------------------------- post-processing


def frame_rms(x: np.ndarray, sr: int, frame_s: float = 0.02) -> np.ndarray:
    """RMS of consecutive non-overlapping frames of ``frame_s`` (the last one zero-padded)."""
    n = max(1, int(round(frame_s * sr)))
    m = -(-x.size // n)
    padded = np.zeros(m * n)
    padded[: x.size] = x
    return np.sqrt(np.mean(padded.reshape(m, n) ** 2, axis=1))


def active_rms(x: np.ndarray, sr: int) -> float:
    """RMS over the 20-ms frames within :data:`ACTIVE_FLOOR_DB` of the loudest frame."""
    rms = frame_rms(np.asarray(x, dtype=np.float64), sr)
    if rms.size == 0 or rms.max() <= 0.0:
        return 0.0
    active = rms >= rms.max() * 10.0 ** (ACTIVE_FLOOR_DB / 20.0)
    return float(np.sqrt(np.mean(rms[active] ** 2)))


def trim_silence(
    x: np.ndarray, sr: int, threshold_db: float = TRIM_DB, min_duration_s: float = 0.0
) -> np.ndarray:
    """``x`` without leading/trailing samples below ``threshold_db`` of its peak.

    The kept span is extended at the end (then the start) to ``min_duration_s`` when the
    signal is long enough; an all-zero signal is returned unchanged.
    """
    mag = np.abs(x)
    peak = mag.max() if mag.size else 0.0
    if peak <= 0.0:
        return x
    above = mag > peak * 10.0 ** (threshold_db / 20.0)
    start = int(np.argmax(above))
    stop = x.size - int(np.argmax(above[::-1]))
    min_len = min(x.size, int(round(min_duration_s * sr)))
    if stop - start < min_len:
        stop = min(x.size, start + min_len)
        start = max(0, stop - min_len)
    return x[start:stop]


def apply_fades(x: np.ndarray, sr: int, fade_s: float = FADE_S) -> np.ndarray:
    """A copy of ``x`` with raised-cosine fade-in and fade-out of ``fade_s`` (at most half its length)."""
    y = np.array(x, dtype=np.float64)
    n = min(int(round(fade_s * sr)), y.size // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def normalize_rms(x: np.ndarray, sr: int, target_dbfs: float = TARGET_RMS_DBFS) -> np.ndarray:
    """``x`` scaled so that its :func:`active_rms` is ``target_dbfs``; silence is returned as is."""
    level = active_rms(x, sr)
    if level <= 0.0:
        return np.asarray(x, dtype=np.float64)
    return np.asarray(x, dtype=np.float64) * (10.0 ** (target_dbfs / 20.0) / level)


def finish(x: np.ndarray, sr: int, min_duration_s: float = 0.0) -> np.ndarray:
    """Trim, fade and RMS-normalise one event; float32 mono. Refuses non-finite or empty input."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("an event must be a non-empty, finite signal")
    x = trim_silence(x, sr, TRIM_DB, min_duration_s)
    return normalize_rms(apply_fades(x, sr), sr).astype(np.float32)


# --------------------------------------------------------------------------- DSP helpers


def _n(seconds: float, sr: int) -> int:
    return max(1, int(round(seconds * sr)))


def _unit(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to unit RMS (zero stays zero)."""
    r = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    return x / r if r > 0.0 else x


def _smooth_noise(rng: np.random.Generator, n: int, sr: int, cutoff_hz: float) -> np.ndarray:
    """A smooth random curve (about unit scale) varying at up to ``cutoff_hz``: raised-cosine
    interpolation of Gaussian knots at ``2 * cutoff_hz``."""
    rate = max(2.0 * cutoff_hz, 0.5)
    m = int(np.ceil(n / sr * rate)) + 2
    knots = rng.standard_normal(m)
    pos = np.arange(n) / sr * rate
    i = np.floor(pos).astype(np.int64)
    w = 0.5 - 0.5 * np.cos(np.pi * (pos - i))
    return knots[i] * (1.0 - w) + knots[i + 1] * w


def _ar(m: int, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    """Attack/release envelope of ``m`` samples with raised-cosine ramps."""
    t = np.arange(m) / sr
    a = np.clip(t / max(attack_s, 1e-6), 0.0, 1.0)
    r = np.clip((m / sr - t) / max(release_s, 1e-6), 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * a)) * (0.5 - 0.5 * np.cos(np.pi * r))


def _smooth_gate(gate: np.ndarray, sr: int, ramp_s: float = 0.005) -> np.ndarray:
    """A 0/1 gate with its edges smoothed by a Hann kernel of ``ramp_s``."""
    k = np.hanning(max(3, _n(ramp_s, sr)))
    return signal.fftconvolve(gate, k / k.sum(), mode="same")


def _sos(sr: int, kind: str, freq: float | tuple[float, float], order: int = 2) -> np.ndarray:
    """Butterworth SOS with edges kept inside (10 Hz, 0.45 sr)."""
    f = np.clip(np.atleast_1d(np.asarray(freq, dtype=np.float64)), 10.0, 0.45 * sr)
    if f.size == 2 and f[1] <= f[0] * 1.05:
        f[0] = f[1] / 1.5
    return signal.butter(order, f if f.size == 2 else float(f[0]), btype=kind, fs=sr, output="sos")


def _filt(x: np.ndarray, sr: int, kind: str, freq: float | tuple[float, float], order: int = 2) -> np.ndarray:
    return signal.sosfilt(_sos(sr, kind, freq, order), x)


def _pulse_positions(f0: np.ndarray, sr: int) -> np.ndarray:
    """Fractional sample positions at which the phase of the frequency track ``f0`` completes a cycle."""
    cyc = np.cumsum(f0) / sr
    k = np.floor(cyc)
    idx = np.flatnonzero(k[1:] > k[:-1]) + 1
    prev, cur = cyc[idx - 1], cyc[idx]
    return idx - 1 + (k[idx] - prev) / np.maximum(cur - prev, 1e-12)


def _place(pos: np.ndarray, amps: np.ndarray | float, n: int) -> np.ndarray:
    """Impulses of ``amps`` at fractional positions ``pos``, split linearly between two samples."""
    amps = np.broadcast_to(np.asarray(amps, dtype=np.float64), pos.shape)
    i0 = np.floor(pos).astype(np.int64)
    w1 = pos - i0
    out = np.zeros(n + 1)
    np.add.at(out, i0, amps * (1.0 - w1))
    np.add.at(out, i0 + 1, amps * w1)
    return out[:n]


def _pulses(f0: np.ndarray, sr: int) -> np.ndarray:
    """Glottal-like unit pulse train following the frequency track ``f0``."""
    return _place(_pulse_positions(f0, sr), 1.0, f0.size)


_SHAPE_FFT = 512
_SHAPE_HOP = 128


def _ola(frames: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add of ``(T, N)`` frames at ``hop`` (``N`` a multiple of ``hop``)."""
    t, n = frames.shape
    r = n // hop
    out = np.zeros((t + r - 1, hop))
    blocks = frames.reshape(t, r, hop)
    for j in range(r):
        out[j : j + t] += blocks[:, j]
    return out.reshape(-1)


def _shape(x: np.ndarray, sr: int, gain: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Time-varying filtering by STFT multiplication.

    ``gain(freqs (F,), idx (T,))`` returns magnitude gains ``(T, F)`` for frames centred on
    sample indices ``idx`` of ``x`` (clipped to its range).
    """
    n_fft, hop = _SHAPE_FFT, _SHAPE_HOP
    n = x.size
    total = n + 2 * n_fft
    total += (-(total - n_fft)) % hop
    xp = np.zeros(total)
    xp[n_fft : n_fft + n] = x
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    frames = sliding_window_view(xp, n_fft)[::hop]
    spec = np.fft.rfft(frames * w, axis=1)
    centres = np.clip(np.arange(frames.shape[0]) * hop + n_fft // 2 - n_fft, 0, n - 1)
    g = gain(np.fft.rfftfreq(n_fft, 1.0 / sr), centres)
    y = np.fft.irfft(spec * g, n=n_fft, axis=1) * w
    out = _ola(y, hop)
    norm = _ola(np.broadcast_to(w * w, y.shape), hop)
    return out[n_fft : n_fft + n] / norm[n_fft : n_fft + n]


def _formant_gain(
    freqs: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray, amps: np.ndarray
) -> np.ndarray:
    """Parallel two-pole band-pass resonances, zero at DC: ``sum_k a_k / sqrt(1 + ((f^2 - F_k^2) / (f B_k))^2)``.

    ``formants`` is ``(T, K)`` centre frequencies per frame, ``bandwidths`` and ``amps`` ``(K,)``;
    returns ``(T, F)``.
    """
    f = np.maximum(freqs, 1e-3)[None, None, :]
    d = (f * f - formants[:, :, None] ** 2) / (f * bandwidths[None, :, None])
    return np.sum(amps[None, :, None] / np.sqrt(1.0 + d * d), axis=1)


def _tilt(freqs: np.ndarray, corner_hz: float, slope_db_oct: float) -> np.ndarray:
    """Spectral tilt: flat below ``corner_hz``, falling by ``slope_db_oct`` dB/octave above."""
    return (1.0 + (freqs / corner_hz) ** 2) ** (-slope_db_oct / 12.04)


def _voice_shape(
    x: np.ndarray,
    sr: int,
    formants: np.ndarray,
    bw: tuple[float, ...],
    amps: tuple[float, ...],
    corner: float,
    slope: float,
) -> np.ndarray:
    """Shape ``x`` with per-sample formant tracks ``formants (n, K)`` and a spectral tilt."""
    b, a = np.asarray(bw, dtype=np.float64), np.asarray(amps, dtype=np.float64)

    def gain(freqs: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return _formant_gain(freqs, formants[idx], b, a) * _tilt(freqs, corner, slope)[None, :]

    return _shape(x, sr, gain)


def _decay_kernel(
    rng: np.random.Generator,
    sr: int,
    length_s: float,
    modes: list[tuple[float, float, float]],
    noise: tuple[float, float, tuple[float, float]] | None = None,
) -> np.ndarray:
    """Impact response: damped sines ``(freq, tau, amp)`` plus an optional decaying noise
    burst ``(amp, tau, band)``."""
    t = np.arange(_n(length_s, sr)) / sr
    k = np.zeros(t.size)
    for f, tau, a in modes:
        k += a * np.exp(-t / tau) * np.sin(2.0 * np.pi * f * t + rng.uniform(0, 0.5))
    if noise is not None:
        amp, tau, band = noise
        burst = _filt(rng.standard_normal(t.size), sr, "bandpass", band)
        k += amp * _unit(burst) * np.exp(-t / tau)
    return k / max(np.abs(k).max(), 1e-12)


def _impulses(times: np.ndarray, amps: np.ndarray, n: int, sr: int) -> np.ndarray:
    return _place(np.asarray(times) * sr, np.asarray(amps, dtype=np.float64), n)


# --------------------------------------------------------------------------- generators


def alarm(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Electronic alarm: a train of beeps at 1.5-3.5 kHz.

    Varies: beep frequency, a second alternating tone (35 %), on time 0.06-0.4 s, off time
    0.04-0.35 s, sine/square mix (25-80 % band-limited square), number of beeps (2-5 s in all).
    """
    f1 = rng.uniform(1500.0, 3500.0)
    f2 = float(np.clip(f1 * rng.choice([rng.uniform(0.75, 0.88), rng.uniform(1.14, 1.3)]), 1500.0, 3500.0))
    two_tone = rng.random() < 0.35
    on, off = rng.uniform(0.06, 0.4), rng.uniform(0.04, 0.35)
    period = on + off
    n_lo, n_hi = int(np.ceil((2.0 + off) / period)), int(np.floor((5.0 + off) / period))
    beeps = int(rng.integers(n_lo, n_hi + 1))
    n = _n(beeps * period - off, sr)
    t = np.arange(n) / sr
    k = np.floor(t / period)
    gate = _smooth_gate(((t - k * period) < on).astype(np.float64), sr, 0.004)
    f = np.where(two_tone & (k % 2 == 1), f2, f1)
    phase = 2.0 * np.pi * np.cumsum(f) / sr
    square = sum(np.sin(h * phase) / h for h in range(1, int(0.45 * sr / max(f1, f2)) + 1, 2)) * 4 / np.pi
    mix = rng.uniform(0.25, 0.8)
    return gate * ((1.0 - mix) * np.sin(phase) + mix * square)


def crying_baby(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Crying baby: harmonic cries (f0 350-550 Hz) in bursts separated by breaths.

    Varies: mean f0 380-520 Hz, per-cry f0 (±7 %) and contour (arch, rising, falling; depth
    8-25 %), cry length 0.35-1.3 s, breath gaps 0.15-0.5 s with inhalation noise, formants
    (F1 0.9-1.3 kHz, F2 1.8-2.6 kHz, F3 3.5-4.5 kHz), brightness (tilt from 1.5-2.5 kHz). 1.5-6.8 s.
    """
    target, mean_f0 = rng.uniform(1.5, 5.0), rng.uniform(380.0, 520.0)
    base_f = np.array([rng.uniform(900, 1300), rng.uniform(1800, 2600), rng.uniform(3500, 4500)])
    cries, gaps, t = [], [], 0.0
    while True:
        length = rng.uniform(0.35, 1.3)
        cries.append((t, length))
        t += length
        if t >= target:
            break
        gap = rng.uniform(0.15, 0.5)
        gaps.append((t, gap))
        t += gap
    n = _n(t, sr)
    f0, env = np.full(n, mean_f0), np.zeros(n)
    formants = np.tile(base_f, (n, 1))
    for start, length in cries:
        i0 = int(start * sr)
        m = min(_n(length, sr), n - i0)
        u = np.linspace(0.0, 1.0, m)
        d = rng.uniform(0.08, 0.25)
        shape = rng.integers(3)
        contour = [1.0 + d * np.sin(np.pi * u), 1.0 - d / 2 + d * u, 1.0 + d / 2 - d * u][shape]
        glide = 1.0 - 0.08 * np.exp(-u * length / 0.06)
        f0[i0 : i0 + m] = mean_f0 * rng.uniform(0.93, 1.07) * contour * glide
        env[i0 : i0 + m] = rng.uniform(0.7, 1.0) * _ar(m, sr, rng.uniform(0.03, 0.08), rng.uniform(0.08, 0.2))
        formants[i0 : i0 + m] *= rng.uniform(0.93, 1.07)
    f0 = np.clip(f0 * (1.0 + 0.015 * _smooth_noise(rng, n, sr, 12.0)), 350.0, 550.0)
    source = _pulses(f0, sr) + 0.3 * np.sqrt(mean_f0 / sr) * rng.standard_normal(n)
    voiced = _voice_shape(
        source * env, sr, formants, (160, 220, 350), (1.0, 0.7, 0.3), rng.uniform(1500, 2500), 5.0
    )
    breath = np.zeros(n)
    for start, gap in gaps:
        i0, m = int((start + 0.15 * gap) * sr), _n(0.7 * gap, sr)
        breath[i0 : i0 + m] = rng.uniform(0.04, 0.1) * np.sin(np.pi * np.linspace(0, 1, m)) ** 2
    noise = _unit(_filt(rng.standard_normal(n), sr, "bandpass", (400.0, 2500.0)))
    return voiced + breath * noise * np.sqrt(np.mean(voiced**2)) * 3.0


def crash(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Crash (breaking glass / metal): broadband noise impulse with metallic resonances.

    Varies: attack 0.5-3 ms, decay time T60 0.3-1.5 s, noise colour (high-pass 200-1500 Hz,
    low-pass 6-11 kHz), 4-12 inharmonic partials 0.6-9 kHz with their own decays, metal
    share 20-60 %, 0-5 quieter debris impacts in the first ~0.6 s. 0.3-2.5 s.
    """
    t60 = rng.uniform(0.3, 1.5)
    tau = t60 / np.log(1000.0)
    n = _n(t60 * 1.2 + 0.5, sr)
    t = np.arange(n) / sr
    env = (1.0 - np.exp(-t / rng.uniform(0.0005, 0.003))) * np.exp(-t / tau)
    noise = _filt(rng.standard_normal(n), sr, "highpass", rng.uniform(200, 1500))
    noise = _unit(_filt(noise, sr, "lowpass", rng.uniform(6000, 11000)))
    metal = np.zeros(n)
    for f in np.exp(rng.uniform(np.log(600.0), np.log(9000.0), int(rng.integers(4, 13)))):
        tk = tau * rng.uniform(0.6, 1.8)
        metal += (
            rng.uniform(0.2, 1.0) * np.exp(-t / tk) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        )
    metal = _unit(metal * (1.0 - np.exp(-t / 0.001)))
    share = rng.uniform(0.2, 0.6)
    x = (1.0 - share) * noise * env + share * metal
    for _ in range(int(rng.integers(0, 6))):
        t0 = rng.uniform(0.03, 0.3 + 0.2 * t60)
        d = np.where(t >= t0, np.exp(-(t - t0) / rng.uniform(0.01, 0.05)), 0.0)
        x += rng.uniform(0.05, 0.25) * d * noise[::-1]
    return x


def _bark_times(
    rng: np.random.Generator,
    count: int,
    length: tuple[float, float],
    gap: tuple[float, float],
    lone_min: float | None = None,
) -> tuple[list[tuple[float, float]], float]:
    """``count`` barks one after the other: ``[(start, length), ...]`` (s) and their total span.

    Lengths uniform in ``length`` (a lone bark at least ``lone_min``), gaps uniform in ``gap``;
    the draws alternate length, gap, length, ... (the order every bark generator has used).
    """
    barks, t = [], 0.0
    lo = lone_min if count == 1 and lone_min is not None else length[0]
    for i in range(count):
        d = rng.uniform(lo, length[1])
        barks.append((t, d))
        t += d + (rng.uniform(*gap) if i < count - 1 else 0.0)
    return barks, t


def barking_dog(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Barking dog: 1-4 short barks of harmonic voice plus noise.

    Varies: dog f0 300-800 Hz (bark-wise ±10 %, rising-falling contour 10-30 %, 3 % rough
    jitter), bark length 0.15-0.35 s (a lone bark at least 0.3 s), gaps 0.15-0.6 s, formants
    (F1 0.5-0.9 kHz, F2 1.3-2.2 kHz, F3 2.5-3.5 kHz), noise share 40-80 %. 0.3-3.3 s.
    """
    count = int(rng.integers(1, 5))
    f0_dog = rng.uniform(300.0, 800.0)
    fm = np.array([rng.uniform(500, 900), rng.uniform(1300, 2200), rng.uniform(2500, 3500)])
    noise_mix = rng.uniform(0.4, 0.8)
    barks, t = _bark_times(rng, count, (0.15, 0.35), (0.15, 0.6), lone_min=0.3)
    n = _n(t, sr)
    f0, env = np.full(n, f0_dog), np.zeros(n)
    for start, length in barks:
        i0 = int(start * sr)
        m = min(_n(length, sr), n - i0)
        u = np.linspace(0.0, 1.0, m)
        f0[i0 : i0 + m] = (
            f0_dog * rng.uniform(0.9, 1.1) * (1.0 + rng.uniform(0.1, 0.3) * np.sin(np.pi * u**0.6))
        )
        tt = u * length
        env[i0 : i0 + m] = (
            rng.uniform(0.75, 1.0)
            * (1 - np.exp(-tt / rng.uniform(0.005, 0.015)))
            * (1 - u) ** rng.uniform(1, 2)
        )
    f0 = np.clip(f0 * (1.0 + 0.03 * _smooth_noise(rng, n, sr, 40.0)), 300.0, 800.0)
    source = _pulses(f0, sr) + noise_mix * 2.0 * np.sqrt(f0_dog / sr) * rng.standard_normal(n)
    formants = np.broadcast_to(fm, (n, 3))
    return _voice_shape(
        source * env, sr, formants, (150, 200, 300), (1.0, 0.8, 0.4), rng.uniform(600, 1200), 6.0
    )


def running_engine(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Running engine: low firing-rate hum with rich low harmonics, modulation and noise.

    Varies: firing rate 25-60 Hz with a slow drift (1-4 %) and sometimes (30 %) a rev ramp,
    2-8 cylinders with uneven firing strengths (sub-harmonics), exhaust low-pass 150-350 Hz,
    mechanical noise (low-pass 200-450 Hz, modulated at the firing rate) 20-50 %, slow level
    wobble 3-12 %, faint valve ticks. Stationary, 3-8 s.
    """
    dur = rng.uniform(3.0, 8.0)
    n = _n(dur, sr)
    t = np.arange(n) / sr
    f = rng.uniform(25.0, 60.0) * (1.0 + rng.uniform(0.01, 0.04) * _smooth_noise(rng, n, sr, 0.5))
    if rng.random() < 0.3:
        f *= 1.0 + rng.uniform(-0.15, 0.2) * t / dur
    f = np.clip(f, 25.0, 60.0)
    pos = _pulse_positions(f, sr)
    cylinders = int(rng.choice([2, 3, 4, 6, 8]))
    pattern = 1.0 + rng.uniform(-0.35, 0.35, cylinders)
    amps = pattern[np.arange(pos.size) % cylinders] * (1.0 + 0.08 * rng.standard_normal(pos.size))
    hum = _filt(_place(pos, amps, n), sr, "lowpass", rng.uniform(150.0, 350.0), order=4)
    hum = _unit(hum - hum.mean())
    cyc = 2.0 * np.pi * np.cumsum(f) / sr
    mech = _unit(_filt(rng.standard_normal(n), sr, "lowpass", rng.uniform(200, 450), order=4)) * (
        1.0 + 0.6 * np.cos(cyc)
    )
    tick = (
        _unit(_filt(rng.standard_normal(n), sr, "bandpass", (1500.0, 4000.0)))
        * (0.5 + 0.5 * np.cos(cyc)) ** 8
    )
    wobble = 1.0 + rng.uniform(0.03, 0.12) * _smooth_noise(rng, n, sr, 1.0)
    return wobble * (hum + rng.uniform(0.2, 0.5) * mech + rng.uniform(0.01, 0.04) * tick)


def _scream(
    rng: np.random.Generator,
    sr: int,
    lo: float,
    hi: float,
    fscale: float,
    corner: tuple[float, float],
    hoarse: float,
) -> np.ndarray:
    length = rng.uniform(0.8, 2.5)
    n = _n(length, sr)
    t = np.arange(n) / sr
    u = t / length
    base = rng.uniform(lo + 0.1 * (hi - lo), hi - 0.15 * (hi - lo))
    contour = 1.0 - rng.uniform(0.1, 0.25) * np.exp(-t / rng.uniform(0.05, 0.15))
    contour -= rng.uniform(0.05, 0.2) * np.clip((u - 0.8) / 0.2, 0, 1) ** 2
    contour += rng.uniform(0.01, 0.04) * np.sin(2 * np.pi * rng.uniform(4, 8) * t + rng.uniform(0, 2 * np.pi))
    contour += rng.uniform(0.005, 0.02) * _smooth_noise(rng, n, sr, 30.0)
    f0 = np.clip(base * contour, lo, hi)
    rough = 1.0 + rng.uniform(0.0, 0.35) * np.sin(2 * np.pi * rng.uniform(30, 80) * t)
    env = _ar(n, sr, rng.uniform(0.04, 0.15), rng.uniform(0.1, 0.35)) * rough
    noise = rng.uniform(0.05, 0.15) + hoarse * rng.uniform(0.5, 1.0)
    source = _pulses(f0, sr) + noise * np.sqrt(base / sr) * rng.standard_normal(n)
    fm = fscale * np.array([rng.uniform(750, 1100), rng.uniform(1150, 1700), rng.uniform(2500, 3200)])
    return _voice_shape(
        source * env,
        sr,
        np.broadcast_to(fm, (n, 3)),
        (120, 150, 250),
        (1.0, 0.8, 0.5),
        rng.uniform(*corner),
        6.0,
    )


def female_scream(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Female scream: loud, strongly harmonic voice at f0 600-1200 Hz.

    Varies: f0 level, onset glide (10-25 % below), end fall, vibrato 4-8 Hz (1-4 %), jitter,
    roughness (30-80 Hz amplitude modulation, 0-35 %), attack/release, open-vowel formants
    (F1 0.75-1.1 kHz, F2 1.15-1.7 kHz, F3 2.5-3.2 kHz), breath noise, bright tilt (from
    2-3.5 kHz). 0.8-2.5 s.
    """
    return _scream(rng, sr, 600.0, 1200.0, 1.0, (2000.0, 3500.0), 0.0)


def male_scream(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Male scream: as :func:`female_scream` with f0 300-700 Hz, formants 12 % lower, a darker
    tilt (from 0.7-1.3 kHz) and extra hoarse noise. 0.8-2.5 s."""
    return _scream(rng, sr, 300.0, 700.0, 0.88, (700.0, 1300.0), 0.3)


_FRICATIVE_BANDS = ((3800.0, 9000.0), (2000.0, 4500.0), (1200.0, 8000.0))  # s, sh, f


def _speech(rng: np.random.Generator, sr: int, lo: float, hi: float, fscale: float) -> np.ndarray:
    target, rate = rng.uniform(1.5, 4.2), rng.uniform(3.0, 6.0)
    sylls, t = [], 0.0
    while True:
        length = rng.uniform(0.6, 1.4) / rate
        sylls.append((t, length))
        t += length
        if t >= target:
            break
        if rng.random() < 0.12:
            t += rng.uniform(0.1, 0.35)
    n = _n(t, sr)
    voiced_env, fric_env = np.zeros(n), np.zeros((3, n))
    knots_t, knots_f, knots_p = [], [], []
    for start, length in sylls:
        i0 = int(start * sr)
        m = min(_n(length, sr), n - i0)
        cons = 0
        kind = rng.random()
        if kind < 0.45:
            cons = min(_n(rng.uniform(0.04, 0.11), sr), m // 2)
            fric_env[rng.integers(3), i0 : i0 + cons] = rng.uniform(0.3, 0.7) * np.sin(
                np.linspace(0, np.pi, cons)
            )
        elif kind < 0.65:
            cons = min(_n(rng.uniform(0.02, 0.04), sr), m // 3)
            burst = min(_n(0.012, sr), cons)
            fric_env[2, i0 : i0 + burst] = rng.uniform(0.5, 1.0) * np.exp(-np.arange(burst) / (0.003 * sr))
        v = m - cons
        voiced_env[i0 + cons : i0 + m] = rng.uniform(0.6, 1.0) * np.sin(np.linspace(0, np.pi, v)) ** 0.6
        f1 = np.clip(rng.uniform(300, 900) * fscale, 300, 900)
        f2 = np.clip(rng.uniform(max(900.0, f1 + 250), 2500) * fscale, 900, 2500)
        knots_t.append((i0 + cons + v / 2) / sr)
        knots_f.append((f1, f2, rng.uniform(2400, 3000) * fscale, rng.uniform(3500, 4300) * fscale))
        knots_p.append(rng.uniform(-0.06, 0.1))
    time = np.arange(n) / sr
    kt, kf = np.asarray(knots_t), np.asarray(knots_f)
    formants = np.stack([np.interp(time, kt, kf[:, k]) for k in range(4)], axis=1)
    base = rng.uniform(lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo))
    decl = rng.uniform(0.05, 0.15)
    f0 = base * (1.0 + decl / 2 - decl * time / t + np.interp(time, kt, knots_p))
    f0 = np.clip(f0 * (1.0 + 0.005 * _smooth_noise(rng, n, sr, 20.0)), lo, hi)
    source = _pulses(f0, sr) + rng.uniform(0.1, 0.25) * np.sqrt(base / sr) * rng.standard_normal(n)
    voiced = _voice_shape(
        source * voiced_env,
        sr,
        formants,
        (80, 110, 160, 250),
        (1.0, 0.6, 0.3, 0.2),
        rng.uniform(300, 500),
        6.0,
    )
    level = np.sqrt(np.mean(voiced[voiced_env > 0.3] ** 2)) if np.any(voiced_env > 0.3) else 1.0
    fric = sum(
        fric_env[k] * _unit(_filt(rng.standard_normal(n), sr, "bandpass", band))
        for k, band in enumerate(_FRICATIVE_BANDS)
    )
    return voiced + rng.uniform(0.5, 1.0) * level * fric


def female_speech(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Female speech-like voice: glottal pulses at f0 165-255 Hz shaped by moving formants.

    Varies: f0 level, declination 5-15 %, per-syllable accents (-6..+10 %), syllable rate
    3-6 Hz (length ±40 %), pauses (12 %), random vowel targets (F1 300-900 Hz, F2
    900-2500 Hz, F3 2.4-3 kHz, F4 3.5-4.3 kHz, interpolated between syllables), breathiness,
    unvoiced fricatives (s, sh, f; 45 %) and plosive bursts (20 %), stress. 1.5-5.1 s.
    """
    return _speech(rng, sr, 165.0, 255.0, 1.08)


def male_speech(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Male speech-like voice: as :func:`female_speech` with f0 85-155 Hz and formants ~8 % lower. 1.5-5.1 s."""
    return _speech(rng, sr, 85.0, 155.0, 0.92)


def burning_fire(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Burning fire: sparse crackles with heavy-tailed (Pareto) amplitudes over rumble and hiss.

    Varies: crackle rate 8-40 /s with bursty intensity, Pareto index 1.2-2.0, three click
    shapes (0.4-3 ms, band 0.8-10 kHz), rumble (low-pass 150-500 Hz, 40-100 % of the crackle
    RMS, slow flicker), hiss 5-20 %. 3-8 s.
    """
    dur = rng.uniform(3.0, 8.0)
    n = _n(dur, sr)
    count = max(3, int(rng.poisson(rng.uniform(8.0, 40.0) * dur)))
    intensity = np.exp(_smooth_noise(rng, n, sr, 0.7))
    cdf = np.cumsum(intensity)
    pos = np.minimum(np.searchsorted(cdf, rng.random(count) * cdf[-1]), n - 1)
    amps = np.minimum(1.0 + rng.pareto(rng.uniform(1.2, 2.0), count), 50.0) * rng.choice([-1.0, 1.0], count)
    group = rng.integers(0, 3, count)
    crackle = np.zeros(n)
    for g in range(3):
        kt = np.arange(_n(0.01, sr)) / sr
        kern = _filt(
            rng.standard_normal(kt.size), sr, "bandpass", (rng.uniform(800, 2500), rng.uniform(4000, 10000))
        )
        kern *= np.exp(-kt / rng.uniform(0.0004, 0.003))
        imp = np.zeros(n)
        np.add.at(imp, pos[group == g], amps[group == g])
        crackle += signal.fftconvolve(imp, kern / np.abs(kern).max())[:n]
    level = np.sqrt(np.mean(crackle**2))
    rumble = _unit(_filt(rng.standard_normal(n), sr, "lowpass", rng.uniform(150, 500)))
    rumble *= 1.0 + rng.uniform(0.2, 0.5) * _smooth_noise(rng, n, sr, 1.5)
    hiss = _unit(_filt(rng.standard_normal(n), sr, "bandpass", (2000.0, 8000.0)))
    return crackle + level * (rng.uniform(0.4, 1.0) * rumble + rng.uniform(0.05, 0.2) * hiss)


def footsteps(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Footsteps: 1.5-2.5 steps/s (±8 % jitter), each a low-mid heel thud plus a weaker toe hit.

    Varies: step rate, heel-toe delay 40-100 ms, toe level 30-70 %, step level 75-100 %,
    thud 60-160 Hz (decay 15-40 ms), body noise band, hard-floor click 0-40 %, two feet
    with their own responses. 1.5-6.5 s.
    """
    rate, target = rng.uniform(1.5, 2.5), rng.uniform(2.0, 6.0)
    steps = max(3, int(round((target - 0.25) * rate)) + 1)
    onsets = 0.005 + np.concatenate([[0.0], np.cumsum((1.0 + rng.uniform(-0.08, 0.08, steps - 1)) / rate)])
    toe_delay, toe_gain = rng.uniform(0.04, 0.1), rng.uniform(0.3, 0.7)
    thud_f, thud_tau = rng.uniform(60, 160), rng.uniform(0.015, 0.04)
    body = (rng.uniform(100, 250), rng.uniform(500, 1200))
    click = rng.uniform(0.0, 0.4)
    n = _n(onsets[-1] + toe_delay * 1.2 + 0.25, sr)
    x = np.zeros(n)
    for foot in range(2):
        kern = _decay_kernel(
            rng, sr, 0.25, [(thud_f * rng.uniform(0.9, 1.1), thud_tau, 1.0)], (0.8, 0.02, body)
        )
        kern += click * _decay_kernel(rng, sr, 0.25, [], (1.0, rng.uniform(0.002, 0.006), (2000.0, 6000.0)))
        sel = onsets[foot::2]
        amp = rng.uniform(0.75, 1.0, sel.size)
        toes = sel + toe_delay * rng.uniform(0.85, 1.15, sel.size)
        imp = _impulses(np.concatenate([sel, toes]), np.concatenate([amp, amp * toe_gain]), n, sr)
        x += signal.fftconvolve(imp, kern)[:n]
    return x


def knocking_on_door(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Knocking on a door: 2-5 knocks 0.12-0.25 s apart, optionally (40 %) a second group.

    Each knock is a click plus 2-3 woody modes at 150-600 Hz (decay 8-30 ms) and a brief
    0.8-2 kHz mode. Varies: count, spacing (±10 % jitter), knock levels, the modes, the pause
    before a second group (0.6-1.5 s). 0.3-4 s.
    """
    times: list[float] = []
    t = 0.005
    for group in range(2 if rng.random() < 0.4 else 1):
        if group:
            t += rng.uniform(0.6, 1.5)
        count, spacing = int(rng.integers(2, 6)), rng.uniform(0.12, 0.25)
        for i in range(count):
            times.append(t)
            if i < count - 1:
                t += float(np.clip(spacing * rng.uniform(0.9, 1.1), 0.12, 0.25))
    modes = [
        (rng.uniform(150, 600), rng.uniform(0.008, 0.03), rng.uniform(0.4, 1.0))
        for _ in range(rng.integers(2, 4))
    ]
    modes.append((rng.uniform(800, 2000), rng.uniform(0.002, 0.006), rng.uniform(0.2, 0.5)))
    n = _n(t + 0.3, sr)
    tt = np.asarray(times)
    amps = rng.uniform(0.75, 1.0, tt.size)
    x = np.zeros(n)
    for hand in range(2):
        jittered = [(f, tau, a * rng.uniform(0.8, 1.2)) for f, tau, a in modes]
        kern = _decay_kernel(rng, sr, 0.3, jittered, (rng.uniform(0.2, 0.5), 0.0015, (1000.0, 8000.0)))
        x += signal.fftconvolve(_impulses(tt[hand::2], amps[hand::2], n, sr), kern)[:n]
    return x


_PHONE_PAIRS = ((400.0, 450.0), (440.0, 480.0), (425.0, 475.0))


def ringing_phone(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Ringing phone in a ring cadence: a dual tone (400+450, 440+480 or 425+475 Hz) or a
    digital trill (1-1.5 kHz alternating with a tone 10-20 % higher at 12-25 Hz), through a
    small distorting loudspeaker.

    Varies: variant, cadence (single ring on 0.8-1.2 s / off 1.5-2.5 s, or double ring
    0.35-0.45 + gap 0.15-0.25 + 0.35-0.45 s / off 1.5-2.2 s), at least two rings, speaker
    distortion (tanh drive 1.5-4) and band (0.5-0.7 to 3.5-5 kHz). 2-6 s.
    """
    double = rng.random() < 0.5
    on, off = (
        (rng.uniform(0.35, 0.45), rng.uniform(1.5, 2.2))
        if double
        else (rng.uniform(0.8, 1.2), rng.uniform(1.5, 2.5))
    )
    gap = rng.uniform(0.15, 0.25)
    unit = [(0.0, on), (on + gap, on)] if double else [(0.0, on)]
    unit_len = unit[-1][0] + on
    target = rng.uniform(2.0, 6.0)
    rings = 2
    while (rings + 1) * unit_len + rings * off <= min(target, 6.0):
        rings += 1
    n = _n(rings * unit_len + (rings - 1) * off, sr)
    gate = np.zeros(n)
    for r in range(rings):
        for s, d in unit:
            i0 = int((r * (unit_len + off) + s) * sr)
            gate[i0 : i0 + _n(d, sr)] = 1.0
    gate = _smooth_gate(gate, sr, 0.006)
    t = np.arange(n) / sr
    if rng.random() < 0.5:
        fa, fb = _PHONE_PAIRS[int(rng.integers(len(_PHONE_PAIRS)))]
        tone = np.sin(2 * np.pi * fa * t) + np.sin(2 * np.pi * fb * t + rng.uniform(0, 2 * np.pi))
    else:
        fa = rng.uniform(1000.0, 1500.0)
        fb = fa * rng.uniform(1.1, 1.2)
        sw = _smooth_gate((np.sin(2 * np.pi * rng.uniform(12.0, 25.0) * t) > 0).astype(np.float64), sr, 0.003)
        tone = np.sin(2 * np.pi * np.cumsum(fa + (fb - fa) * sw) / sr)
    drive = rng.uniform(1.5, 4.0)
    ring = np.tanh(drive * tone / np.abs(tone).max())
    return gate * _filt(ring, sr, "bandpass", (rng.uniform(500.0, 700.0), rng.uniform(3500.0, 5000.0)))


def piano_inharmonicity(f0: float) -> float:
    """Typical string inharmonicity coefficient ``B`` of a piano note at ``f0`` (Hz):
    about 6e-5 at MIDI 40, 2e-4 at middle C, 1e-3 at MIDI 88."""
    return 2e-4 * (f0 / 261.63) ** 0.85


def piano_partials(f0: float, b: float, count: int) -> np.ndarray:
    """Frequencies of partials ``n = 1..count`` of a stiff string: ``n f0 sqrt(1 + B n^2)``."""
    k = np.arange(1, count + 1)
    return k * f0 * np.sqrt(1.0 + b * k * k)


def piano_note(
    f0: float, hold_s: float, sr: int, rng: np.random.Generator, b: float | None = None
) -> np.ndarray:
    """One piano note: stiff-string partials (:func:`piano_partials`), hammer thump, damper.

    Partial ``n`` starts with amplitude ``|sin(pi n x0)| / n^p / sqrt(1 + (f_n / f_felt)^4)``
    (strike point x0 1/9-1/7, p 0.8-1.2, hammer-felt low-pass f_felt 1.5-3.5 kHz) and decays with ``tau_n = tau_1 / (1 + 0.15 (n - 1))``, ``tau_1`` from ~3 s
    (110 Hz) down to ~0.7 s (1.3 kHz); after ``hold_s`` the damper cuts every partial with a
    30-80 ms decay. Partials stop at 10 kHz (or 0.45 sr) and n = 40.
    """
    b = piano_inharmonicity(f0) * rng.uniform(0.7, 1.4) if b is None else b
    release = rng.uniform(0.03, 0.08)
    n = _n(hold_s + 8 * release, sr)
    t = np.arange(n) / sr
    damper = np.exp(-np.maximum(t - hold_s, 0.0) / release)
    freqs = piano_partials(f0, b, 40)
    freqs = freqs[freqs < min(10000.0, 0.45 * sr)]
    x0, p, felt = rng.uniform(1 / 9, 1 / 7), rng.uniform(0.8, 1.2), rng.uniform(1500.0, 3500.0)
    tau1 = 3.0 * (f0 / 110.0) ** -0.6 * rng.uniform(0.8, 1.2)
    x = np.zeros(n)
    for k, f in enumerate(freqs, start=1):
        tau = tau1 / (1.0 + 0.15 * (k - 1))
        m = min(n, _n(tau * np.log(1e4), sr))
        amp = abs(np.sin(np.pi * k * x0)) / k**p / np.sqrt(1.0 + (f / felt) ** 4)
        x[:m] += amp * np.exp(-t[:m] / tau) * np.sin(2 * np.pi * f * t[:m] + rng.uniform(0, 2 * np.pi))
    x *= 1.0 - np.exp(-t / rng.uniform(0.0005, 0.002))
    thump = _unit(_filt(rng.standard_normal(n), sr, "lowpass", 3 * f0 + 300)) * np.exp(
        -t / rng.uniform(0.005, 0.015)
    )
    return (x + rng.uniform(0.02, 0.08) * np.abs(x).max() * thump) * damper


def piano(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Piano: 1-6 notes (MIDI 40-88) as a melody and/or chords of 2-4 notes (30 % per event).

    Varies: total time 1-5 s, note count, register (random walk of 1-5 semitones around a
    centre), chord shapes (triads, octaves), onsets (≥ 0.1 s apart), hold times, velocity
    (0.5-1.0), string inharmonicity, strike point, decay. 1-5.6 s.
    """
    total = rng.uniform(1.0, 5.0)
    notes_left = int(rng.integers(1, 7))
    events: list[list[int]] = []
    midi = int(rng.integers(48, 77))
    while notes_left > 0:
        midi = int(np.clip(midi + rng.integers(-5, 6), 40, 88))
        size = min(int(rng.integers(2, 5)), notes_left) if rng.random() < 0.3 else 1
        shape = [0, int(rng.choice([3, 4])), 7, 12][:size]
        events.append([int(np.clip(midi + s, 40, 88)) for s in shape])
        notes_left -= size
    gaps = np.sort(rng.uniform(0.1, max(0.1, total - 0.5), len(events) - 1))
    onsets = np.concatenate([[0.0], np.maximum(gaps, 0.1 * np.arange(1, len(events)))])
    n = _n(total + 0.7, sr)
    x = np.zeros(n)
    for i, (start, chord) in enumerate(zip(onsets, events, strict=True)):
        hold = (onsets[i + 1] - start) * rng.uniform(0.8, 1.0) if i + 1 < len(events) else total - start
        for m in chord:
            note = piano_note(440.0 * 2.0 ** ((m - 69) / 12.0), max(hold, 0.1), sr, rng)
            i0 = int(start * sr)
            seg = note[: n - i0]
            x[i0 : i0 + seg.size] += rng.uniform(0.5, 1.0) * seg
    return x


# --------------------------------------------------------------------------- more families
#
# Further generator families per class (:data:`FAMILIES`); :func:`render_variant` picks one at
# random. The functions above stay the "classic" family of each class (:data:`GENERATORS`).


def alarm_siren(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Siren alarm: a tone sweeping between 500-900 Hz and 1.1-1.8 kHz, slowly (wail, 0.5-3 s per
    cycle) or fast (yelp, 6-12 cycles/s), sine or buzzy (odd harmonics), through a horn band. 2-5 s."""
    dur = rng.uniform(2.0, 5.0)
    n = _n(dur, sr)
    t = np.arange(n) / sr
    lo, hi = rng.uniform(500.0, 900.0), rng.uniform(1100.0, 1800.0)
    rate = rng.uniform(0.33, 2.0) if rng.random() < 0.6 else rng.uniform(6.0, 12.0)
    sweep = 0.5 - 0.5 * np.cos(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    f = lo + (hi - lo) * sweep
    phase = 2 * np.pi * np.cumsum(f) / sr
    buzz = rng.uniform(0.0, 0.6)
    x = np.sin(phase) + buzz * (np.sin(3 * phase) / 3 + np.sin(5 * phase) / 5)
    return _filt(x, sr, "bandpass", (300.0, rng.uniform(4000.0, 7000.0))) * _ar(n, sr, 0.05, 0.1)


def alarm_chirp(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Smoke/CO-detector alarm: piezo beeps at 2.8-3.6 kHz (with their buzzy 2nd/3rd harmonics)
    in the temporal-three pattern (3 x 0.5 s on, 0.5 s off, 1.5 s pause) or short 40-120 ms
    chirps every 0.3-1 s. 2-5 s."""
    f0 = rng.uniform(2800.0, 3600.0)
    gate_times: list[tuple[float, float]] = []
    if rng.random() < 0.5:
        on, off, pause = rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6), rng.uniform(1.2, 1.8)
        t = 0.0
        while True:
            for _ in range(3):
                gate_times.append((t, on))
                t += on + off
            t += pause - off
            if t > 2.5 or t + 3 * (on + off) > 5.0:
                break
    else:
        on, period = rng.uniform(0.04, 0.12), rng.uniform(0.3, 1.0)
        count = max(3, int(rng.uniform(2.0, 5.0) / period))
        gate_times = [(i * period, on) for i in range(count)]
    end = max(s + d for s, d in gate_times)
    n = _n(max(end, 2.0), sr)
    gate = np.zeros(n)
    for s, d in gate_times:
        gate[int(s * sr) : int(s * sr) + _n(d, sr)] = 1.0
    phase = 2 * np.pi * f0 * np.arange(n) / sr
    tone = (
        np.sin(phase) + rng.uniform(0.1, 0.4) * np.sin(2 * phase) + rng.uniform(0.05, 0.3) * np.sin(3 * phase)
    )
    return _smooth_gate(gate, sr, 0.003) * tone


def alarm_bell(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Alarm/fire bell: a clapper striking a bell 12-25 times a second; inharmonic bell modes
    (1, 2.0-2.2, 2.9-3.3, 4.1-4.5 x 700-1600 Hz) decaying 0.2-0.6 s. 2-5 s."""
    dur = rng.uniform(2.0, 5.0)
    rate = rng.uniform(12.0, 25.0)
    times = np.arange(0.005, dur - 0.05, 1.0 / rate)
    times = times + rng.uniform(-0.004, 0.004, times.size)
    f = rng.uniform(700.0, 1600.0)
    modes = [
        (f * r, rng.uniform(0.2, 0.6) / (1 + k), a)
        for k, (r, a) in enumerate(
            (
                (1.0, 1.0),
                (rng.uniform(2.0, 2.2), 0.7),
                (rng.uniform(2.9, 3.3), 0.5),
                (rng.uniform(4.1, 4.5), 0.3),
            )
        )
    ]
    n = _n(dur, sr)
    kern = _decay_kernel(rng, sr, 0.6, modes, (0.3, 0.002, (2000.0, 8000.0)))
    imp = _impulses(times, rng.uniform(0.8, 1.0, times.size), n, sr)
    return signal.fftconvolve(imp, kern)[:n] * _ar(n, sr, 0.005, 0.05)


def crying_baby_fussy(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Fussing baby: short whimpers (0.15-0.5 s) at f0 300-450 Hz with falling contours,
    irregular pauses 0.1-0.6 s, softer and darker than a full cry. 1.5-6 s."""
    target, mean_f0 = rng.uniform(1.5, 5.0), rng.uniform(320.0, 430.0)
    base_f = np.array([rng.uniform(800, 1200), rng.uniform(1700, 2400), rng.uniform(3300, 4200)])
    cries, t = [], 0.0
    while t < target:
        length = rng.uniform(0.15, 0.5)
        cries.append((t, length))
        t += length + rng.uniform(0.1, 0.6)
    n = _n(cries[-1][0] + cries[-1][1], sr)
    f0, env = np.full(n, mean_f0), np.zeros(n)
    for start, length in cries:
        i0 = int(start * sr)
        m = min(_n(length, sr), n - i0)
        u = np.linspace(0.0, 1.0, m)
        f0[i0 : i0 + m] = mean_f0 * rng.uniform(0.95, 1.08) * (1.0 + rng.uniform(0.05, 0.15) * (1 - u) - 0.05)
        env[i0 : i0 + m] = rng.uniform(0.5, 1.0) * _ar(
            m, sr, rng.uniform(0.02, 0.05), rng.uniform(0.05, 0.12)
        )
    f0 = np.clip(f0 * (1.0 + 0.02 * _smooth_noise(rng, n, sr, 15.0)), 300.0, 550.0)
    source = _pulses(f0, sr) + 0.4 * np.sqrt(mean_f0 / sr) * rng.standard_normal(n)
    formants = np.tile(base_f, (n, 1))
    return _voice_shape(
        source * env, sr, formants, (180, 250, 400), (1.0, 0.6, 0.25), rng.uniform(1000, 1800), 6.0
    )


def crash_glass(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Breaking glass: a sharp impact followed by 20-80 tinkling shards (2-10 kHz, short ringing
    modes) scattered over 0.2-1.2 s with decaying density. 0.5-2.5 s."""
    spread = rng.uniform(0.2, 1.2)
    n = _n(spread + 0.8, sr)
    t = np.arange(n) / sr
    hit = _unit(_filt(rng.standard_normal(n), sr, "highpass", rng.uniform(800, 2500))) * np.exp(
        -t / rng.uniform(0.01, 0.04)
    )
    x = hit * (1.0 - np.exp(-t / 0.0005))
    for _ in range(int(rng.integers(20, 81))):
        t0 = spread * rng.random() ** 2
        kern = _decay_kernel(rng, sr, 0.15, [(rng.uniform(2000, 10000), rng.uniform(0.005, 0.04), 1.0)])
        i0 = int(t0 * sr)
        seg = kern[: n - i0] * rng.uniform(0.05, 0.5) * np.exp(-t0 / spread)
        x[i0 : i0 + seg.size] += seg
    return x


def crash_wood(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Furniture/wood crash: a heavy low impact (modes 80-400 Hz) with splintering noise
    (0.5-4 kHz) and 2-6 rattling secondary hits within 0.8 s. 0.4-2 s."""
    n = _n(rng.uniform(0.9, 1.8), sr)
    modes = [(rng.uniform(80, 400), rng.uniform(0.02, 0.12), rng.uniform(0.5, 1.0)) for _ in range(4)]
    kern = _decay_kernel(
        rng, sr, 0.5, modes, (rng.uniform(0.6, 1.2), rng.uniform(0.02, 0.08), (500.0, 4000.0))
    )
    times = np.concatenate([[0.003], rng.uniform(0.05, 0.8, int(rng.integers(2, 7)))])
    amps = np.concatenate([[1.0], rng.uniform(0.1, 0.5, times.size - 1)])
    return signal.fftconvolve(_impulses(times, amps, n, sr), kern)[:n]


def barking_dog_small(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Small dog yapping: 2-7 short (80-180 ms), high barks (f0 700-1400 Hz) in quick series
    (gaps 0.08-0.35 s), bright formants. 0.3-3 s."""
    count = int(rng.integers(2, 8))
    f0_dog = rng.uniform(700.0, 1400.0)
    fm = np.array([rng.uniform(900, 1400), rng.uniform(2000, 3000), rng.uniform(3500, 4500)])
    barks, t = _bark_times(rng, count, (0.08, 0.18), (0.08, 0.35))
    n = _n(max(t, 0.35), sr)
    f0, env = np.full(n, f0_dog), np.zeros(n)
    for start, length in barks:
        i0 = int(start * sr)
        m = min(_n(length, sr), n - i0)
        u = np.linspace(0.0, 1.0, m)
        f0[i0 : i0 + m] = f0_dog * rng.uniform(0.9, 1.1) * (1.0 + rng.uniform(0.1, 0.25) * np.sin(np.pi * u))
        env[i0 : i0 + m] = rng.uniform(0.7, 1.0) * (1 - np.exp(-u * length / 0.005)) * (1 - u) ** 1.5
    source = _pulses(np.clip(f0, 500, 1800), sr) + 1.2 * np.sqrt(f0_dog / sr) * rng.standard_normal(n)
    return _voice_shape(
        source * env, sr, np.broadcast_to(fm, (n, 3)), (200, 300, 400), (1.0, 0.7, 0.4), 2000.0, 5.0
    )


def barking_dog_large(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Large dog woofing: 1-3 deep barks (f0 150-320 Hz, 0.2-0.45 s) with rough (subharmonic)
    voicing and noise, dark formants; gaps 0.3-0.9 s. 0.3-3 s."""
    count = int(rng.integers(1, 4))
    f0_dog = rng.uniform(150.0, 320.0)
    fm = np.array([rng.uniform(400, 700), rng.uniform(1000, 1600), rng.uniform(2200, 3000)])
    barks, t = _bark_times(rng, count, (0.2, 0.45), (0.3, 0.9), lone_min=0.3)
    n = _n(t, sr)
    f0, env = np.full(n, f0_dog), np.zeros(n)
    for start, length in barks:
        i0 = int(start * sr)
        m = min(_n(length, sr), n - i0)
        u = np.linspace(0.0, 1.0, m)
        f0[i0 : i0 + m] = (
            f0_dog * rng.uniform(0.9, 1.1) * (1.0 + rng.uniform(0.1, 0.3) * np.sin(np.pi * u**0.5))
        )
        env[i0 : i0 + m] = rng.uniform(0.75, 1.0) * (1 - np.exp(-u * length / 0.01)) * (1 - u) ** 1.2
    pulses = _pulses(np.clip(f0, 120, 450), sr)
    sub = _pulses(np.clip(f0, 120, 450) / 2, sr) * rng.uniform(0.3, 0.8)
    source = pulses + sub + 0.8 * np.sqrt(f0_dog / sr) * rng.standard_normal(n)
    return _voice_shape(
        source * env, sr, np.broadcast_to(fm, (n, 3)), (150, 200, 300), (1.0, 0.8, 0.4), 800.0, 6.0
    )


def running_engine_motor(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Electric motor / machine: a mains or rotor hum (harmonics of 40-120 Hz) plus a tonal whine
    (0.6-3 kHz) and brush noise, slowly wobbling; stationary. 3-8 s."""
    dur = rng.uniform(3.0, 8.0)
    n = _n(dur, sr)
    f = rng.uniform(40.0, 120.0) * (1.0 + 0.01 * _smooth_noise(rng, n, sr, 0.5))
    ph = 2 * np.pi * np.cumsum(f) / sr
    hum = np.zeros(n)
    for k in range(1, 9):
        hum += rng.uniform(0.2, 1.0) / k * np.sin(k * ph + rng.uniform(0, 6.3))
    whine_f = rng.uniform(600.0, 3000.0) * (1.0 + 0.005 * _smooth_noise(rng, n, sr, 1.0))
    whine = np.sin(2 * np.pi * np.cumsum(whine_f) / sr) * rng.uniform(0.05, 0.3)
    brush = _unit(_filt(rng.standard_normal(n), sr, "bandpass", (1000.0, 6000.0))) * rng.uniform(0.02, 0.1)
    return (_unit(hum) + whine + brush) * (1.0 + 0.05 * _smooth_noise(rng, n, sr, 1.0)) * _ar(n, sr, 0.3, 0.3)


def running_engine_small(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Small two-stroke engine (moped, mower, chainsaw idle): fast firing 60-150 Hz, raspy
    exhaust noise gated at the firing rate, revs that rise and fall (20-50 %). 3-8 s."""
    dur = rng.uniform(3.0, 8.0)
    n = _n(dur, sr)
    rev = 1.0 + rng.uniform(0.2, 0.5) * np.clip(_smooth_noise(rng, n, sr, 0.3), -1, 1)
    f = np.clip(rng.uniform(60.0, 110.0) * rev, 50.0, 160.0)
    pos = _pulse_positions(f, sr)
    amps = 1.0 + 0.15 * rng.standard_normal(pos.size)
    bang = _filt(_place(pos, amps, n), sr, "lowpass", rng.uniform(800.0, 2000.0), order=2)
    cyc = 2 * np.pi * np.cumsum(f) / sr
    rasp = (
        _unit(_filt(rng.standard_normal(n), sr, "bandpass", (300.0, 3000.0))) * (0.5 + 0.5 * np.cos(cyc)) ** 4
    )
    return _unit(bang - bang.mean()) + rng.uniform(0.3, 0.8) * rasp


def screams_high(rng: np.random.Generator, sr: int, lo: float, hi: float, fscale: float) -> np.ndarray:
    """A shriek: higher, shorter and tenser than the classic scream, rising then falling pitch."""
    return _scream(rng, sr, lo, hi, fscale, (2500.0, 4500.0), 0.1)


def female_scream_shriek(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Female shriek: the scream model with f0 800-1400 Hz, tense bright tilt (from 2.5-4.5 kHz),
    formants 8 % higher. 0.8-2.5 s."""
    return screams_high(rng, sr, 800.0, 1400.0, 1.08)


def male_scream_yell(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Male yell: the scream model with f0 200-450 Hz, formants 15 % lower, hoarse (strong noise),
    dark tilt (from 0.6-1.1 kHz). 0.8-2.5 s."""
    return _scream(rng, sr, 200.0, 450.0, 0.85, (600.0, 1100.0), 0.5)


def female_speech_expressive(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Expressive female speech: the speech model with a wider f0 span 160-320 Hz and formants
    12 % above the male's. 1.5-5.1 s."""
    return _speech(rng, sr, 160.0, 320.0, 1.12)


def male_speech_deep(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Deep male speech: the speech model with f0 70-130 Hz and formants 12 % lower. 1.5-5.1 s."""
    return _speech(rng, sr, 70.0, 130.0, 0.88)


def burning_fire_campfire(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Campfire: sparse loud pops (1-6 /s, resonant 1-4 kHz snaps) over a roaring flame noise
    (low-pass 300-900 Hz with fast flicker). 3-8 s."""
    dur = rng.uniform(3.0, 8.0)
    n = _n(dur, sr)
    roar = _unit(_filt(rng.standard_normal(n), sr, "lowpass", rng.uniform(300, 900))) * np.exp(
        0.4 * _smooth_noise(rng, n, sr, 6.0)
    )
    count = max(3, int(rng.poisson(rng.uniform(1.0, 6.0) * dur)))
    times = np.sort(rng.uniform(0.0, dur - 0.05, count))
    amps = np.minimum(1.0 + rng.pareto(1.3, count), 30.0) * rng.uniform(5.0, 15.0)
    kern = _decay_kernel(
        rng,
        sr,
        0.05,
        [(rng.uniform(1000, 4000), rng.uniform(0.002, 0.008), 1.0)],
        (1.0, 0.002, (1500.0, 9000.0)),
    )
    pops = signal.fftconvolve(_impulses(times, amps, n, sr), kern)[:n]
    return pops + rng.uniform(0.2, 0.6) * roar


def footsteps_heels(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Heels/hard shoes on a hard floor: 1.6-2.4 steps/s of sharp clicks (1.5-5 kHz) with a short
    body thump, some echo of the click. 1.5-6.5 s."""
    rate, target = rng.uniform(1.6, 2.4), rng.uniform(2.0, 6.0)
    steps = max(3, int(round((target - 0.25) * rate)) + 1)
    onsets = 0.005 + np.concatenate([[0.0], np.cumsum((1.0 + rng.uniform(-0.06, 0.06, steps - 1)) / rate)])
    n = _n(onsets[-1] + 0.3, sr)
    x = np.zeros(n)
    for foot in range(2):
        kern = _decay_kernel(
            rng,
            sr,
            0.2,
            [(rng.uniform(1500, 5000), rng.uniform(0.003, 0.01), 1.0), (rng.uniform(100, 250), 0.02, 0.5)],
            (0.6, rng.uniform(0.002, 0.006), (1500.0, 8000.0)),
        )
        sel = onsets[foot::2]
        x += signal.fftconvolve(_impulses(sel, rng.uniform(0.75, 1.0, sel.size), n, sr), kern)[:n]
    return x


def footsteps_gravel(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Steps on gravel/leaves: 1.5-2.5 steps/s, each a crunchy 0.1-0.25 s burst of noise grains
    (band 500-6000 Hz) with a soft low thud. 1.5-6.5 s."""
    rate, target = rng.uniform(1.5, 2.5), rng.uniform(2.0, 6.0)
    steps = max(3, int(round((target - 0.25) * rate)) + 1)
    onsets = 0.005 + np.concatenate([[0.0], np.cumsum((1.0 + rng.uniform(-0.08, 0.08, steps - 1)) / rate)])
    n = _n(onsets[-1] + 0.35, sr)
    x = np.zeros(n)
    grain_band = (rng.uniform(400, 1000), rng.uniform(4000, 7000))
    for t0 in onsets:
        length = rng.uniform(0.1, 0.2)
        m = _n(length, sr)
        i0 = int(t0 * sr)
        m = min(m, n - i0)
        dens = (rng.random(m) < rng.uniform(0.02, 0.08)) * rng.standard_normal(m)
        grains = _filt(dens, sr, "bandpass", grain_band)
        env = np.exp(-np.arange(m) / (length * sr / 3))
        thud = _filt(rng.standard_normal(m), sr, "lowpass", 200.0) * np.exp(-np.arange(m) / (0.02 * sr))
        x[i0 : i0 + m] += rng.uniform(0.7, 1.0) * (_unit(grains) * env + 0.5 * _unit(thud) * env)
    return x


def knocking_metal(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Knocking on a metal or glass-panelled door: 2-5 hits 0.12-0.25 s apart (optionally a second
    group), ringing modes 400-2500 Hz decaying 20-80 ms. 0.3-4 s."""
    times: list[float] = []
    t = 0.005
    for group in range(2 if rng.random() < 0.3 else 1):
        if group:
            t += rng.uniform(0.6, 1.5)
        count, spacing = int(rng.integers(2, 6)), rng.uniform(0.12, 0.25)
        for i in range(count):
            times.append(t)
            if i < count - 1:
                t += spacing * rng.uniform(0.95, 1.05)
    modes = [(rng.uniform(400, 2500), rng.uniform(0.02, 0.08), rng.uniform(0.4, 1.0)) for _ in range(4)]
    n = _n(t + 0.35, sr)
    kern = _decay_kernel(rng, sr, 0.35, modes, (0.4, 0.002, (1500.0, 8000.0)))
    tt = np.asarray(times)
    return signal.fftconvolve(_impulses(tt, rng.uniform(0.75, 1.0, tt.size), n, sr), kern)[:n]


def ringing_phone_bell(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Electromechanical phone bell: a clapper alternating between two bells 16-25 times a second
    (bells 700-1300 Hz with inharmonic partials), in a ring cadence (on 0.8-1.2 s / off 1.5-2.5 s
    or UK double ring). 2-6 s."""
    double = rng.random() < 0.5
    on, off = (
        (rng.uniform(0.35, 0.45), rng.uniform(1.5, 2.2))
        if double
        else (rng.uniform(0.8, 1.2), rng.uniform(1.5, 2.5))
    )
    gap = rng.uniform(0.15, 0.25)
    unit = [(0.0, on), (on + gap, on)] if double else [(0.0, on)]
    unit_len = unit[-1][0] + on
    rings = 2
    while (rings + 1) * unit_len + rings * off <= min(rng.uniform(2.0, 6.0), 6.0):
        rings += 1
    n = _n(rings * unit_len + (rings - 1) * off, sr)
    rate = rng.uniform(16.0, 25.0)
    x = np.zeros(n)
    for bell in range(2):
        f = rng.uniform(700.0, 1300.0)
        modes = [
            (f, 0.15, 1.0),
            (f * rng.uniform(2.6, 2.8), 0.08, 0.5),
            (f * rng.uniform(4.9, 5.3), 0.05, 0.3),
        ]
        kern = _decay_kernel(rng, sr, 0.3, modes)
        times = []
        for r in range(rings):
            for s, d in unit:
                t0 = r * (unit_len + off) + s
                times += list(np.arange(t0 + bell / (2 * rate), t0 + d - 0.02, 1.0 / rate))
        tt = np.asarray(times)
        x += signal.fftconvolve(_impulses(tt, rng.uniform(0.8, 1.0, tt.size), n, sr), kern)[:n]
    return x


def ringing_phone_ringtone(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Mobile ringtone: a random 4-8 note melody (600-2500 Hz, notes 0.08-0.3 s) of sine/square/FM
    timbre through a small speaker, repeated 2-4 times with 0.3-1.2 s pauses. 2-6 s."""
    notes = [
        (rng.choice([0.08, 0.12, 0.16, 0.2, 0.3]), 600.0 * 2 ** (rng.integers(0, 24) / 12))
        for _ in range(int(rng.integers(4, 9)))
    ]
    phrase = sum(d for d, _ in notes)
    pause = rng.uniform(0.3, 1.2)
    reps = int(np.clip((rng.uniform(2.0, 6.0) + pause) // (phrase + pause), 2, 4))
    n = _n(reps * (phrase + pause) - pause, sr)
    x = np.zeros(n)
    timbre = rng.integers(3)
    t0 = 0.0
    for _ in range(reps):
        for d, f in notes:
            m = min(_n(d * 0.9, sr), n - int(t0 * sr))
            tt = np.arange(m) / sr
            ph = 2 * np.pi * f * tt
            if timbre == 0:
                tone = np.sin(ph)
            elif timbre == 1:
                tone = np.tanh(3 * np.sin(ph))
            else:
                tone = np.sin(ph + 2.0 * np.exp(-tt / 0.05) * np.sin(2 * ph))
            x[int(t0 * sr) : int(t0 * sr) + m] += tone * _ar(m, sr, 0.005, 0.02)
            t0 += d
        t0 += pause
    return _filt(x, sr, "bandpass", (rng.uniform(400.0, 700.0), rng.uniform(4000.0, 7000.0)))


def piano_pedal(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Piano with sustain pedal: an arpeggio or broken chord of 3-8 notes (MIDI 36-84) whose notes
    all ring on (held to the end), soft to medium velocity. 1.5-5.6 s."""
    total = rng.uniform(1.5, 5.0)
    root = int(rng.integers(36, 66))
    shape = np.array([0, int(rng.choice([3, 4])), 7, 12, 12 + int(rng.choice([3, 4])), 19, 24])
    count = int(rng.integers(3, 9))
    keys = [int(np.clip(root + shape[i % shape.size] + 12 * (i // shape.size), 36, 84)) for i in range(count)]
    if rng.random() < 0.5:
        keys = keys[::-1]
    step = min(rng.uniform(0.1, 0.4), 0.8 * total / count)
    n = _n(total + 0.7, sr)
    x = np.zeros(n)
    vel = rng.uniform(0.4, 0.8)
    for i, m in enumerate(keys):
        start = i * step
        note = piano_note(440.0 * 2.0 ** ((m - 69) / 12.0), max(total - start, 0.1), sr, rng)
        i0 = int(start * sr)
        seg = note[: n - i0]
        x[i0 : i0 + seg.size] += vel * rng.uniform(0.8, 1.0) * seg
    return x


GENERATORS: dict[str, GeneratorSpec] = {
    spec.key: spec
    for spec in (
        GeneratorSpec("alarm", alarm, (2.0, 5.0)),
        GeneratorSpec("crying_baby", crying_baby, (1.5, 6.8)),
        GeneratorSpec("crash", crash, (0.3, 2.5)),
        GeneratorSpec("barking_dog", barking_dog, (0.3, 3.3)),
        GeneratorSpec("running_engine", running_engine, (3.0, 8.0)),
        GeneratorSpec("female_scream", female_scream, (0.8, 2.5)),
        GeneratorSpec("female_speech", female_speech, (1.5, 5.1)),
        GeneratorSpec("burning_fire", burning_fire, (3.0, 8.0)),
        GeneratorSpec("footsteps", footsteps, (1.5, 6.5)),
        GeneratorSpec("knocking_on_door", knocking_on_door, (0.3, 4.0)),
        GeneratorSpec("male_scream", male_scream, (0.8, 2.5)),
        GeneratorSpec("male_speech", male_speech, (1.5, 5.1)),
        GeneratorSpec("ringing_phone", ringing_phone, (2.0, 6.0)),
        GeneratorSpec("piano", piano, (1.0, 5.6)),
    )
}
"""The built-in "classic" generator of each class, by snake-case DCASE 2020 class id."""

FAMILIES: dict[str, tuple[GeneratorSpec, ...]] = {
    key: (GENERATORS[key], *extra)
    for key, extra in {
        "alarm": (
            GeneratorSpec("alarm", alarm_siren, (2.0, 5.0), "siren"),
            GeneratorSpec("alarm", alarm_chirp, (0.3, 5.0), "detector"),
            GeneratorSpec("alarm", alarm_bell, (2.0, 5.0), "bell"),
        ),
        "crying_baby": (GeneratorSpec("crying_baby", crying_baby_fussy, (0.3, 6.5), "fussing"),),
        "crash": (
            GeneratorSpec("crash", crash_glass, (0.3, 2.5), "glass"),
            GeneratorSpec("crash", crash_wood, (0.3, 2.0), "wood"),
        ),
        "barking_dog": (
            GeneratorSpec("barking_dog", barking_dog_small, (0.3, 3.0), "small"),
            GeneratorSpec("barking_dog", barking_dog_large, (0.3, 3.0), "large"),
        ),
        "running_engine": (
            GeneratorSpec("running_engine", running_engine_motor, (3.0, 8.0), "motor"),
            GeneratorSpec("running_engine", running_engine_small, (3.0, 8.0), "two_stroke"),
        ),
        "female_scream": (GeneratorSpec("female_scream", female_scream_shriek, (0.8, 2.5), "shriek"),),
        "female_speech": (
            GeneratorSpec("female_speech", female_speech_expressive, (1.5, 5.1), "expressive"),
        ),
        "burning_fire": (GeneratorSpec("burning_fire", burning_fire_campfire, (3.0, 8.0), "campfire"),),
        "footsteps": (
            GeneratorSpec("footsteps", footsteps_heels, (1.5, 6.5), "heels"),
            GeneratorSpec("footsteps", footsteps_gravel, (1.5, 6.5), "gravel"),
        ),
        "knocking_on_door": (GeneratorSpec("knocking_on_door", knocking_metal, (0.3, 4.0), "metal"),),
        "male_scream": (GeneratorSpec("male_scream", male_scream_yell, (0.8, 2.5), "yell"),),
        "male_speech": (GeneratorSpec("male_speech", male_speech_deep, (1.5, 5.1), "deep"),),
        "ringing_phone": (
            GeneratorSpec("ringing_phone", ringing_phone_bell, (2.0, 6.0), "bell"),
            GeneratorSpec("ringing_phone", ringing_phone_ringtone, (1.0, 6.0), "ringtone"),
        ),
        "piano": (GeneratorSpec("piano", piano_pedal, (1.0, 5.6), "pedal"),),
    }.items()
}
"""Every generator family of each class (the classic one first); :func:`render_variant` picks one."""


def render(key: str, rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Run generator ``key`` and :func:`finish` its output (DC-blocked at 10 Hz): float32 mono."""
    if sr < MIN_GENERATOR_RATE:
        raise ValueError(f"the built-in generators need sr >= {MIN_GENERATOR_RATE} Hz, not {sr}")
    raw = GENERATORS[key].fn(rng, int(sr))
    raw = signal.sosfilt(_sos(int(sr), "highpass", 10.0), raw)
    return finish(raw, int(sr), MIN_DURATION_S)


def render_variant(key: str, rng: np.random.Generator, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, str]:
    """One event of class ``key`` from a generator family of :data:`FAMILIES` chosen uniformly
    with ``rng`` (one integer draw, then the family's own draws): ``(samples, family)``."""
    if sr < MIN_GENERATOR_RATE:
        raise ValueError(f"the built-in generators need sr >= {MIN_GENERATOR_RATE} Hz, not {sr}")
    specs = FAMILIES[key]
    spec = specs[int(rng.integers(len(specs)))]
    raw = signal.sosfilt(_sos(int(sr), "highpass", 10.0), spec.fn(rng, int(sr)))
    return finish(raw, int(sr), MIN_DURATION_S), spec.family
