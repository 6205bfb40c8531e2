"""Which format a 4-channel recording is in, guessed from its samples: FOA or MIC.

A file outside a DCASE ``foa_*`` / ``mic_*`` folder does not say whether its four channels
are Ambisonics (W, Y, Z, X) or the four capsules of the tetrahedral array. Three properties
of the signals tell them apart:

* **The shape of a coherent sound.** Where one sound dominates a short time-frequency
  region (100-2000 Hz), the four channels are one signal with four gains: the principal
  eigenvector of their covariance. Four capsules of similar level hear it with equal
  magnitudes (``|v_m|^2`` = 1/4 each, delays apart); the FOA channels with unequal ones (W
  holds half of it in AmbiX, and Y, Z, X share the rest by direction). ``flatness_error``
  is the energy-weighted median of ``sum_m (|v_m|^2 - 1/4)^2`` over the coherent regions:
  at most 0.023 on every real and simulated MIC recording measured, at least 0.086 for
  AmbiX (its minimum over directions is 0.083), lower for a few FuMa and N3D scenes.
* **Low-frequency similarity.** Below about 400 Hz the capsules of a 4.2 cm array all
  receive nearly the same pressure (``k r`` < 0.3), whatever the sound field: the four
  channels are almost the same signal, and the energy of their differences from their mean
  is a few percent of their energy (``spread`` below; 0.4-3 % on every real and simulated
  MIC recording measured). The FOA channels are the pressure (W) and three pressure
  gradients (Y, Z, X): different signals, with a spread of 50-100 % in rooms; a single
  plane wave in free field from the one direction where all gradients are positive and
  equal (azimuth 45°, elevation 35°) gives the smallest possible spread, 6.7 %.
* **W's share of the energy.** In AmbiX (SN3D) every plane wave puts as much energy into W
  as into Y, Z and X together, so W is 4.8 dB above their mean (``w_excess_db``); four
  capsules have similar levels (within about ±2 dB). This is weaker evidence: noise,
  FuMa (W - 3 dB) and N3D files shrink the excess.

A large spread is evidence for FOA only where the low band is not simply independent
noise in each channel (sensor noise, which looks the same in both formats). The share of
the low band's principal component tells: 0.25 for independent noise of equal level (0.26
to 0.28 measured), 1/3 for a diffuse field in FuMa, 1/2 in AmbiX, about 1 for capsules. The
spread counts not at all below 0.28 and fully from 0.32. (N3D files in a diffuse field
look like independent noise: they are guessed worst, see the tests.)

The three are summed as log-odds of FOA (each crossing zero at its threshold) and turned into
a probability; digital silence gives no guess. The measured accuracy is in
``tests/test_format_guess.py``. AmbiX and FuMa cannot be told apart reliably this way, so
only FOA or MIC is guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

N_FFT = 1024
HOP = 512
COHERENT_BAND_HZ = (100.0, 2000.0)
"""Where coherent regions are looked for (below the rigid sphere's strong scattering)."""
REGION_BINS, REGION_FRAMES = 16, 8
"""A time-frequency region: 375 Hz by 0.19 s at 24 kHz."""
COHERENCE = 0.7
"""Share of a region's energy its principal component must hold to count as one sound."""
FLATNESS_THRESHOLD = 0.042
"""Flatness error where FOA and MIC are equally likely (between 0.023 and 0.086)."""
FLATNESS_SCALE = 0.25
"""Decades of flatness error per unit of log-odds."""
LOW_BAND_HZ = (60.0, 400.0)
"""Where the capsules of the 4.2 cm array hear nearly the same pressure."""
LEVEL_BAND_HZ = (200.0, 4000.0)
"""Where W's share of the energy is measured."""
SPREAD_THRESHOLD = 0.045
"""Low-band spread where FOA and MIC are equally likely (between 0.03, the most measured
for MIC, and 0.067, the least possible for FOA)."""
SPREAD_SCALE = 0.2
"""Decades of spread per unit of log-odds."""
W_EXCESS_THRESHOLD_DB = 2.6
W_EXCESS_WEIGHT = 0.5
"""Log-odds per dB of W excess beyond the threshold (weak evidence, see the module doc)."""
INCOHERENT, COHERENT = 0.28, 0.32
"""Low-band coherence from which a large spread starts to count, and from which it fully counts."""
MIN_ENERGY = 1e-12
"""Mean squared sample below which a band counts as silent."""


@dataclass(frozen=True)
class FormatGuess:
    """The likely format and how sure: ``probability`` of ``fmt`` (0.5 to 1; 0.5 and
    ``fmt=None`` when nothing could be measured). ``flatness_error``, ``spread`` and
    ``w_excess_db`` are the measurements behind it (``None`` when there was nothing to measure)."""

    fmt: str | None
    probability: float
    flatness_error: float | None
    spread: float | None
    w_excess_db: float | None

    @property
    def sure(self) -> str:
        """How sure, in words: "almost certainly", "probably" or "perhaps"."""
        if self.probability >= 0.95:
            return "almost certainly"
        if self.probability >= 0.75:
            return "probably"
        return "perhaps"

    def describe(self) -> str:
        """One line for a dialog, e.g. "almost certainly FOA (98 %)" (never 100 %)."""
        if self.fmt is None:
            return "cannot tell (the excerpt is silent)"
        percent = "> 99" if self.probability > 0.99 else f"{100 * self.probability:.0f}"
        return f"{self.sure} {self.fmt.upper()} ({percent} %)"


def _spectra(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed STFT ``(4, frames, bins)`` and the bin frequencies."""
    x = np.asarray(samples, dtype=np.float64)
    n = x.shape[1]
    if n < N_FFT:
        x = np.pad(x, ((0, 0), (0, N_FFT - n)))
        n = N_FFT
    starts = np.arange(0, n - N_FFT + 1, HOP)
    frames = x[:, starts[:, None] + np.arange(N_FFT)[None, :]]  # (4, T, N_FFT)
    spec = np.fft.rfft(frames * np.hanning(N_FFT), axis=-1)
    return spec, np.fft.rfftfreq(N_FFT, 1.0 / sample_rate)


def _band(freqs: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    return (freqs >= band[0]) & (freqs <= band[1])


def flatness_error(spec: np.ndarray, freqs: np.ndarray) -> float | None:
    """Energy-weighted median of ``sum_m (|v_m|^2 - 1/4)^2`` over the coherent regions (see above)."""
    bins = np.flatnonzero(_band(freqs, COHERENT_BAND_HZ))
    n_b, n_t = len(bins) // REGION_BINS, spec.shape[1] // REGION_FRAMES
    if n_b == 0 or n_t == 0:
        return None
    x = spec[:, : n_t * REGION_FRAMES, bins[: n_b * REGION_BINS]]
    x = x.reshape(4, n_t, REGION_FRAMES, n_b, REGION_BINS).transpose(1, 3, 0, 2, 4).reshape(n_t * n_b, 4, -1)
    cov = np.einsum("rak,rbk->rab", x, x.conj())
    values, vectors = np.linalg.eigh(cov)  # ascending eigenvalues
    total = values.sum(axis=1)
    keep = (total > MIN_ENERGY * x.shape[2] * N_FFT) & (
        values[:, -1] >= COHERENCE * np.maximum(total, 1e-300)
    )
    if not keep.any():
        return None
    shares = np.abs(vectors[keep, :, -1]) ** 2
    errors = np.sum((shares - 0.25) ** 2, axis=1)
    weights = total[keep]
    order = np.argsort(errors)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(errors[order][np.searchsorted(cumulative, 0.5)])


def low_band_spread(spec: np.ndarray, freqs: np.ndarray) -> float | None:
    """Energy of the channels' differences from their mean over their energy, 60-400 Hz."""
    low = spec[:, :, _band(freqs, LOW_BAND_HZ)]
    total = float(np.sum(np.abs(low) ** 2))
    if total <= MIN_ENERGY * low.size * N_FFT:
        return None
    return float(np.sum(np.abs(low - low.mean(axis=0)) ** 2)) / total


def low_band_coherence(spec: np.ndarray, freqs: np.ndarray) -> float | None:
    """The share of the low band's energy in the principal component of its 4 x 4 covariance."""
    low = spec[:, :, _band(freqs, LOW_BAND_HZ)].reshape(4, -1)
    values = np.linalg.eigvalsh(low @ low.conj().T)
    total = float(values.sum())
    return float(values[-1]) / total if total > 0 else None


def w_excess_db(spec: np.ndarray, freqs: np.ndarray) -> float | None:
    """dB by which channel 0 exceeds the mean of the other three, 200-4000 Hz."""
    energy = np.sum(np.abs(spec[:, :, _band(freqs, LEVEL_BAND_HZ)]) ** 2, axis=(1, 2))
    others = float(np.mean(energy[1:]))
    if energy[0] <= 0 or others <= 0:
        return None
    return 10.0 * math.log10(float(energy[0]) / others)


def guess_format(samples: np.ndarray, sample_rate: int = 24000) -> FormatGuess:
    """The likely format of ``samples`` ``(4, N)`` (a few seconds are enough): FOA or MIC.

    Raises :class:`ValueError` for anything but four channels.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[0] != 4:
        raise ValueError(f"a format guess needs 4 channels, not an array of shape {samples.shape}")
    spec, freqs = _spectra(samples, sample_rate)
    flatness = flatness_error(spec, freqs)
    spread = low_band_spread(spec, freqs)
    excess = w_excess_db(spec, freqs)
    if flatness is None and spread is None:
        return FormatGuess(None, 0.5, None, None, excess)
    score = 0.0  # log-odds of FOA
    if flatness is not None:
        score += (math.log10(max(flatness, 1e-4)) - math.log10(FLATNESS_THRESHOLD)) / FLATNESS_SCALE
    if spread is not None:
        evidence = (math.log10(max(spread, 1e-6)) - math.log10(SPREAD_THRESHOLD)) / SPREAD_SCALE
        if evidence > 0:  # unlike capsules; but independent noise is unlike them too
            coherence = low_band_coherence(spec, freqs) or 0.0
            evidence *= min(1.0, max(0.0, (coherence - INCOHERENT) / (COHERENT - INCOHERENT)))
        score += evidence
    if excess is not None:
        score += W_EXCESS_WEIGHT * (excess - W_EXCESS_THRESHOLD_DB)
    p_foa = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, score))))
    fmt = "foa" if p_foa >= 0.5 else "mic"
    return FormatGuess(fmt, max(p_foa, 1.0 - p_foa), flatness, spread, excess)
