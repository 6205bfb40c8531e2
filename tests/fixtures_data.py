"""A tiny, learnable DCASE 2020 dataset written into a test's ``tmp_path``.

Shared by the data, trainer and inference tests: keep :func:`make_tiny_dataset`'s signature
stable. Everything is deterministic in ``seed``; a recording's scene depends only on
``(seed, fold, clip index)``, so calling the function again on the same root with the other
``fmt`` adds that format with the very same scenes and identical label files.

Scene of one recording (DCASE 2020 "ov1": no overlapping events, track 0):

* events follow each other with gaps of 100-300 ms; each lasts 0.5-1.2 s, starts and ends
  on 100 ms label-frame boundaries and is labelled in every frame it covers;
* event of class ``k``: a sine tone at :func:`class_frequency` ``(k)`` (300 Hz * 1.3**k,
  300 Hz to 9.1 kHz for 14 classes), amplitude :data:`TONE_AMPLITUDE`, 20 ms raised-cosine
  fades, random phase;
* each event is static at an azimuth from -180..170 and an elevation from -40..40 degrees
  (multiples of 10), rendered as a plane wave: FOA (AmbiX W, Y, Z, X, SN3D)
  ``W = s, Y = s cos(e) sin(a), Z = s sin(e), X = s cos(e) cos(a)``; MIC: capsule ``m`` at
  ``p_m`` (:func:`core.spatial.mic_array.mic_capsule_positions`) gets ``s(t + p_m . u / c)``
  (``u`` the unit vector to the source, ``c`` = 343 m/s; fractional delay by an FFT phase
  shift, no sphere scattering);
* independent white noise at :data:`NOISE_RMS` (about -54 dBFS) on every channel.

Files: ``<fmt>_dev/fold<f>_room1_mix<kkk>_ov1.wav`` (24 kHz, 16-bit PCM, 4 channels,
``kkk`` = 001, 002, ...) and ``metadata_dev/<same stem>.csv`` in the DCASE 2020 format
``frame,class,track,azimuth,elevation`` (integers). :func:`make_plain_dataset` writes the same
scenes as a plain folder (recordings with their CSVs beside them, folds in ``seld-dataset.json``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from core.spatial.mic_array import mic_capsule_positions

__all__ = [
    "NOISE_RMS",
    "SAMPLE_RATE",
    "SPEED_OF_SOUND",
    "TONE_AMPLITUDE",
    "TinyEvent",
    "class_frequency",
    "make_plain_dataset",
    "make_tiny_dataset",
    "tiny_scene",
]

SAMPLE_RATE = 24000
TONE_AMPLITUDE = 0.25
NOISE_RMS = 0.002
SPEED_OF_SOUND = 343.0
_FADE_S = 0.02
_LABEL_HOP = SAMPLE_RATE // 10  # samples per 100 ms label frame
_MARGIN = 64  # samples around an event for the MIC fractional delays


@dataclass(frozen=True)
class TinyEvent:
    """One event of a tiny scene: label frames ``[start, stop)``, class, direction in degrees."""

    cls: int
    start: int
    stop: int
    azimuth: int
    elevation: int


def class_frequency(cls: int) -> float:
    """Tone frequency (Hz) of class ``cls``: ``300 * 1.3**cls``."""
    return 300.0 * 1.3**cls


def tiny_scene(seed: int, fold: int, clip: int, n_label_frames: int, n_classes: int) -> list[TinyEvent]:
    """The events of recording ``clip`` (1-based) of ``fold``, as :func:`make_tiny_dataset` renders them."""
    rng = np.random.default_rng([seed, fold, clip])
    events: list[TinyEvent] = []
    cursor = int(rng.integers(0, 3))
    while True:
        stop = min(cursor + int(rng.integers(5, 13)), n_label_frames)
        if stop - cursor < 3:
            break
        cls = int(rng.integers(0, n_classes))
        azimuth = int(rng.integers(-18, 18)) * 10
        elevation = int(rng.integers(-4, 5)) * 10
        events.append(TinyEvent(cls, cursor, stop, azimuth, elevation))
        cursor = stop + int(rng.integers(1, 4))
    return events


def _tone(event: TinyEvent, n_samples: int, rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """``(first sample, tone)`` of an event."""
    a, b = event.start * _LABEL_HOP, min(event.stop * _LABEL_HOP, n_samples)
    t = np.arange(b - a) / SAMPLE_RATE
    tone = TONE_AMPLITUDE * np.sin(2 * np.pi * class_frequency(event.cls) * t + rng.uniform(0, 2 * np.pi))
    n_fade = min(int(_FADE_S * SAMPLE_RATE), (b - a) // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n_fade) / n_fade)
    tone[:n_fade] *= ramp
    tone[len(tone) - n_fade :] *= ramp[::-1]
    return a, tone


def _direction(event: TinyEvent) -> np.ndarray:
    a, e = np.deg2rad(event.azimuth), np.deg2rad(event.elevation)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


def _render(events: list[TinyEvent], n_samples: int, fmt: str, rng: np.random.Generator) -> np.ndarray:
    out = NOISE_RMS * rng.standard_normal((4, n_samples))
    positions = mic_capsule_positions()
    for event in events:
        a, tone = _tone(event, n_samples, rng)
        u = _direction(event)
        if fmt == "foa":  # AmbiX W, Y, Z, X (SN3D) gains of a plane wave
            out[:, a : a + len(tone)] += np.array([1.0, u[1], u[2], u[0]])[:, None] * tone
            continue
        # MIC: capsule m hears the wave (p_m . u) / c earlier than the array centre. The
        # delays are < 0.2 ms (5 samples): shift the tone inside a window with a margin.
        lo, hi = max(0, a - _MARGIN), min(n_samples, a + len(tone) + _MARGIN)
        s = np.zeros(hi - lo)
        s[a - lo : a - lo + len(tone)] = tone
        n_fft = 2 * len(s)
        spectrum = np.fft.rfft(s, n_fft)
        freqs = np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE)
        for m, p in enumerate(positions):
            advance = float(p @ u) / SPEED_OF_SOUND
            out[m, lo:hi] += np.fft.irfft(spectrum * np.exp(2j * np.pi * freqs * advance), n_fft)[: len(s)]
    return out


def make_tiny_dataset(
    root: str | os.PathLike[str],
    fmt: str = "foa",
    folds: tuple[int, ...] = (1, 2, 3),
    clips_per_fold: int = 2,
    seconds: float = 3.0,
    n_classes: int = 14,
    seed: int = 0,
) -> Path:
    """Write a tiny DCASE-layout dataset under ``root`` and return ``root`` as a :class:`Path`.

    ``fmt`` is ``"foa"`` or ``"mic"`` (call twice for both); ``clips_per_fold`` recordings of
    ``seconds`` (a multiple of 0.1 s, at least 0.5 s) in each fold; class indices are drawn
    from ``0 .. n_classes - 1``. See the module docstring for the scenes and file names.
    """
    if fmt not in ("foa", "mic"):
        raise ValueError(f"fmt must be 'foa' or 'mic', not {fmt!r}")
    n_label_frames = round(seconds * 10)
    if n_label_frames < 5 or abs(n_label_frames - seconds * 10) > 1e-6:
        raise ValueError(f"seconds must be a multiple of 0.1 and at least 0.5, not {seconds}")
    root = Path(root)
    audio_dir = root / f"{fmt}_dev"
    meta_dir = root / "metadata_dev"
    audio_dir.mkdir(parents=True, exist_ok=True)
    meta_dir.mkdir(parents=True, exist_ok=True)
    n_samples = n_label_frames * _LABEL_HOP
    for fold in folds:
        for clip in range(1, clips_per_fold + 1):
            stem = f"fold{fold}_room1_mix{clip:03d}_ov1"
            events = tiny_scene(seed, fold, clip, n_label_frames, n_classes)
            rng = np.random.default_rng([seed, fold, clip, 0 if fmt == "foa" else 1])
            audio = _render(events, n_samples, fmt, rng)
            sf.write(audio_dir / f"{stem}.wav", audio.T, SAMPLE_RATE, subtype="PCM_16")
            rows = [
                f"{frame},{e.cls},0,{e.azimuth},{e.elevation}\n"
                for e in events
                for frame in range(e.start, e.stop)
            ]
            (meta_dir / f"{stem}.csv").write_text("".join(rows), encoding="utf-8")
    return root


def make_plain_dataset(
    root: str | os.PathLike[str],
    fmt: str = "foa",
    folds: tuple[int, ...] = (1, 2, 3),
    clips_per_fold: int = 2,
    seconds: float = 3.0,
    n_classes: int = 14,
    seed: int = 0,
    classes: str = "dcase2020",
) -> tuple[Path, dict[str, int]]:
    """The scenes of :func:`make_tiny_dataset` as a plain folder: ``(root, folds)``.

    Recordings of odd folds go to ``room<fold>/scene<fold>_<clip>.wav``, of even folds to
    ``scene<fold>_<clip>.wav`` (two depths), each with its ``.csv`` beside it; the file names
    name no fold. ``folds`` maps each recording's dataset-file key to its fold, and
    ``seld-dataset.json`` says so (format ``fmt``, class set ``classes``).
    """
    import shutil

    from core.data.dataset_file import DatasetFile, write_dataset_file

    root = Path(root)
    scratch = root / ".scratch"
    make_tiny_dataset(scratch, fmt, folds, clips_per_fold, seconds, n_classes, seed)
    assigned: dict[str, int] = {}
    for fold in folds:
        for clip in range(1, clips_per_fold + 1):
            stem = f"fold{fold}_room1_mix{clip:03d}_ov1"
            key = f"room{fold}/scene{fold}_{clip}" if fold % 2 else f"scene{fold}_{clip}"
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(scratch / f"{fmt}_dev" / f"{stem}.wav", root / f"{key}.wav")
            shutil.move(scratch / "metadata_dev" / f"{stem}.csv", root / f"{key}.csv")
            assigned[f"{key}.wav"] = fold
    shutil.rmtree(scratch)
    write_dataset_file(root, DatasetFile(fmt, classes, (), dict(assigned)))
    return root, assigned
