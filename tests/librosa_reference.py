"""A plain per-channel librosa implementation of the DCASE 2020 feature definitions.

Written the way the DCASE 2020 baseline extractor is written (librosa.stft per channel,
``np.dot`` with ``librosa.filters.mel``, ``librosa.power_to_db``, ``np.fft.irfft`` per pair),
with the issue's definitions (intensity x from channel 3, reflect padding) and its reading of
the audio as ``x + 1e-8`` (the official ``x / 32768 + self._eps``). Used as the
reference in the feature tests and as the baseline in ``benchmarks/bench_features.py``.
"""

from __future__ import annotations

import numpy as np


def reference_features(audio: np.ndarray, fmt: str, dc_offset: float = 1e-8) -> np.ndarray:
    import librosa

    nfft, hop, win, n_mels = 1024, 480, 960, 64
    n_frames = int(np.ceil(audio.shape[1] / hop))
    mel_wts = librosa.filters.mel(sr=24000, n_fft=nfft, n_mels=n_mels).T
    spectra = np.stack(
        [
            librosa.stft(
                np.asfortranarray(audio[ch].astype(np.float64) + dc_offset),
                n_fft=nfft,
                hop_length=hop,
                win_length=win,
                window="hann",
                center=True,
                pad_mode="reflect",
            )[:, :n_frames].T
            for ch in range(audio.shape[0])
        ],
        axis=-1,
    )
    out = [librosa.power_to_db(np.dot(np.abs(spectra[:, :, ch]) ** 2, mel_wts)) for ch in range(4)]
    if fmt == "foa":
        w = spectra[:, :, 0]
        ivx = np.real(np.conj(w) * spectra[:, :, 3])
        ivy = np.real(np.conj(w) * spectra[:, :, 1])
        ivz = np.real(np.conj(w) * spectra[:, :, 2])
        normal = np.sqrt(ivx**2 + ivy**2 + ivz**2) + 1e-8
        out += [np.dot(ivx / normal, mel_wts), np.dot(ivy / normal, mel_wts), np.dot(ivz / normal, mel_wts)]
    elif fmt == "mic":
        for m in range(4):
            for n in range(m + 1, 4):
                r = np.conj(spectra[:, :, m]) * spectra[:, :, n]
                cc = np.fft.irfft(np.exp(1j * np.angle(r)))
                out.append(np.concatenate((cc[:, -n_mels // 2 :], cc[:, : n_mels // 2]), axis=-1))
    else:
        raise ValueError(fmt)
    return np.stack(out).astype(np.float32)
