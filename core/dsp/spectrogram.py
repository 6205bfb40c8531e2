"""Display-oriented spectrograms of one channel (for the GUI's views; GUI-free)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.common.errors import SeldError
from core.dsp.features import HOP, N_FFT, SAMPLE_RATE, hz_to_mel, mel_band_slices, mel_to_hz, stft_blocks


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


DB_FLOOR = -100.0
FULL_SCALE_POWER = (0.5 * 960 / 2) ** 2
"""A full-scale sine's peak bin power with the 960-sample Hann window: 0 dB on screen."""


def display_db(power: np.ndarray, mel: bool) -> np.ndarray:
    """Power -> display dB (re full scale, floored at -100 dB), float32.

    For ``mel=True`` ``power`` is the power projected on the DCASE (area-normalised) mel
    bank, ``|X|^2 @ mel``; each band is rescaled by its triangle's peak so that a sine at a
    band's centre reads the same level in every band.
    """
    if mel:
        _, _, fb = mel_band_slices()
        power = power / fb.max(axis=0)
    return np.maximum(10.0 * np.log10(np.maximum(power / FULL_SCALE_POWER, 1e-12)), DB_FLOOR).astype(
        np.float32
    )


def mel_centres_hz() -> np.ndarray:
    """Centre frequencies of the 64 Slaney mel bands (Hz)."""
    _, _, fb = mel_band_slices()
    mel_pts = np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(SAMPLE_RATE / 2)), fb.shape[1] + 2)
    return mel_to_hz(mel_pts)[1:-1]


def channel_spectrogram(samples: np.ndarray, channel: int = 0, kind: str = "logmel") -> Spectrogram:
    """dB spectrogram of ``samples[channel]`` with the DCASE framing (20 ms hop).

    ``kind="logmel"`` gives the 64 Slaney mel bands, ``kind="stft"`` the 513 linear bins.
    Power is in dB re full scale (a full-scale sine is about 0 dB after window
    normalisation), floored at -100 dB.
    """
    if kind not in ("logmel", "stft"):
        raise SeldError(f"unknown spectrogram kind {kind!r}; expected 'logmel' or 'stft'")
    if not 0 <= channel < samples.shape[0]:
        raise SeldError(f"channel {channel} does not exist (the recording has {samples.shape[0]})")
    x = samples[channel : channel + 1]
    parts = []
    lo, hi, fb = mel_band_slices()
    for _, spec in stft_blocks(x):
        power = (spec.real**2 + spec.imag**2)[0]
        if kind == "logmel":
            power = power[:, lo:hi] @ fb
        parts.append(power)
    db = display_db(np.concatenate(parts, axis=0), mel=kind == "logmel")
    if kind == "logmel":
        freqs = mel_centres_hz()
    else:
        freqs = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    return Spectrogram(db=db, hop_s=HOP / SAMPLE_RATE, freqs_hz=freqs, channel=channel, kind=kind)
