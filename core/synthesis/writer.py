"""Writing a synthetic SELD dataset in the DCASE 2020 layout (what ``seld synth`` runs).

Layout (as TAU-NIGENS Spatial Sound Events 2020)::

    <root>/foa_dev/fold1_room1_mix001_ov1.wav     4 ch FOA (AmbiX W,Y,Z,X SN3D), 24 kHz, PCM_16
    <root>/mic_dev/fold1_room1_mix001_ov1.wav     4 ch MIC (tetrahedral M1..M4), 24 kHz, PCM_16
    <root>/metadata_dev/fold1_room1_mix001_ov1.csv frame,class,track,azimuth,elevation
    <root>/synth_info.json                        settings, rooms and events of every mix

Plan
----
For each fold ``f`` there are ``rooms_per_fold`` rooms, numbered globally
``r = (f - 1) * rooms_per_fold + j + 1``; mix ``m`` (1-based) of fold ``f`` is in the fold's
room ``j = (m - 1) mod rooms_per_fold`` and is ``ov1`` or ``ov2`` alternately
(``ov = 1 + (f - 1 + m - 1) mod 2``), so about half the mixes have overlapping events.

Randomness: room ``(f, j)`` draws from ``SeedSequence(seed, spawn_key=(0, f, j))`` and mix
``(f, m)`` from ``SeedSequence(seed, spawn_key=(1, f, m))`` (its events) and
``SeedSequence(seed, spawn_key=(2, f, m))`` (its noise recipe, SNR, gain, tilt and directional
noise source, :func:`core.synthesis.noise.draw_ambience`): the same seed gives the same
bytes, and a fold comes out the same whatever other folds are generated with it.

Files are written atomically one by one; an existing non-empty ``foa_dev``, ``mic_dev`` or
``metadata_dev`` is refused unless ``overwrite`` (which first deletes the files in them
that are named like synthesised mixes, ``fold<N>_room<R>_mix<M>_ov<1|2>.wav|csv``).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from core.common.atomic import atomic_write_bytes, atomic_write_text
from core.common.errors import SeldError
from core.common.progress import CancelFn, ProgressFn, check_cancel
from core.labels.dcase_csv import write_labels
from core.synthesis.noise import NOISE_TYPES, draw_ambience
from core.synthesis.room import Room, open_air_room, random_room
from core.synthesis.scene import EVENT_LEVEL_DBFS, SAMPLE_RATE, Scene, make_scene
from core.synthesis.spatial import render_scene

__all__ = [
    "FORMATS",
    "MixPlan",
    "SynthConfig",
    "SynthResult",
    "check_output_folder",
    "mix_scene",
    "parse_noise_types",
    "parse_span",
    "plan_mixes",
    "room_for",
    "span",
    "synthesize_dataset",
    "wav_bytes",
]

FORMATS: tuple[str, ...] = ("foa", "mic")
MIX_FILE_RE = re.compile(r"^fold\d+_room\d+_mix\d+_ov[12]\.(wav|csv)$")
"""Names of the files a synthesised dataset consists of (deleted by ``overwrite``)."""
OUTPUT_FOLDERS: tuple[str, ...] = ("foa_dev", "mic_dev", "metadata_dev")
INFO_FILE = "synth_info.json"


@dataclass(frozen=True)
class SynthConfig:
    """Settings of a synthetic dataset (the options of ``seld synth``)."""

    formats: tuple[str, ...] = FORMATS
    folds: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    clips_per_fold: int = 100
    rooms_per_fold: int = 3
    duration_s: float = 60.0
    seed: int = 0
    snr_db: float | tuple[float, float] = (6.0, 30.0)
    """Ambient noise below the events (dB): a fixed value or a range drawn uniformly per mix; inf: none."""
    label_decimals: int = 0
    sources: str | None = None
    noise_types: tuple[str, ...] = NOISE_TYPES
    """Ambient-noise recipes (:mod:`core.synthesis.noise`), one drawn uniformly per mix."""
    gain_db: float | tuple[float, float] = (-12.0, 12.0)
    """Level of the events relative to -30 dBFS RMS of W: fixed or a range drawn per mix."""
    tilt_db_oct: float | tuple[float, float] = (-2.0, 2.0)
    """Equalisation tilt (dB/octave around 1 kHz, all channels alike): fixed or a range drawn per mix."""
    noise_source_probability: float = 0.3
    """Probability that a mix has one directional (unlabelled) noise source."""
    generators_share: float = 0.0
    """With ``sources``: the share of events drawn from the built-in generators (recorded; the bank applies it)."""
    rirs: str | None = None
    """Measured responses (a SOFA file or a folder with ``responses.csv``, :mod:`core.synthesis.measured`)
    to render through instead of a simulated room; their format is the one format written."""
    ambience: str | None = None
    """A recorded 4-channel ambience of the measured room, the background noise (with ``rirs``)."""
    open_air: float = 0.0
    """Probability that a room of a fold is an open-air scene (:func:`core.synthesis.room.open_air_room`)."""

    def validate(self) -> None:
        """Raise :class:`SeldError` for settings that cannot be generated."""
        if not self.formats or any(f not in FORMATS for f in self.formats):
            raise SeldError(
                f"formats must be a non-empty selection of {', '.join(FORMATS)}, not {self.formats}"
            )
        if not self.folds or any(f < 1 for f in self.folds):
            raise SeldError(f"folds must be positive fold numbers, not {self.folds}")
        if self.clips_per_fold < 1 or self.rooms_per_fold < 1:
            raise SeldError("clips per fold and rooms per fold must be at least 1")
        if not 1.0 <= self.duration_s <= 3600.0:
            raise SeldError(f"the duration must be between 1 and 3600 s, not {self.duration_s}")
        if self.seed < 0:
            raise SeldError(f"the seed must not be negative, not {self.seed}")
        if not 0 <= self.label_decimals <= 4:
            raise SeldError("label decimals must be 0-4")
        if not self.noise_types or any(t not in NOISE_TYPES for t in self.noise_types):
            raise SeldError(f"noise types must be a non-empty selection of {', '.join(NOISE_TYPES)}")
        snr = span(self.snr_db)
        if (
            math.isnan(snr[0])
            or math.isnan(snr[1])
            or snr[0] > snr[1]
            or math.isinf(snr[0]) != math.isinf(snr[1])
        ):
            raise SeldError(f"the SNR range must be low:high in dB (or inf), not {self.snr_db}")
        for name, value, limit in (("gain", self.gain_db, 40.0), ("tilt", self.tilt_db_oct, 6.0)):
            lo, hi = span(value)
            if not (-limit <= lo <= hi <= limit):
                raise SeldError(f"the {name} range must be low:high within ±{limit:g}, not {value}")
        if not 0.0 <= self.noise_source_probability <= 1.0:
            raise SeldError("the probability of a directional noise source must be 0-1")
        if not 0.0 <= self.open_air <= 1.0:
            raise SeldError(f"the share of open-air rooms must be 0-1, not {self.open_air}")
        if self.rirs is not None and self.open_air > 0.0:
            raise SeldError(
                "open-air scenes are simulated: they cannot be combined with measured responses (--rirs)"
            )
        if self.rirs is not None and len(self.formats) != 1:
            raise SeldError(
                "measured responses are of one format: choose it with --formats foa or --formats mic"
            )
        if self.ambience is not None and self.rirs is None:
            raise SeldError("a recorded ambience is the background of measured responses: give --rirs too")


def span(value: float | Sequence[float]) -> tuple[float, float]:
    """``(low, high)`` of a fixed value or a range."""
    if isinstance(value, int | float):
        return float(value), float(value)
    lo, hi = value
    return float(lo), float(hi)


@dataclass(frozen=True)
class MixPlan:
    """One mix to generate: fold, global room number, room slot in the fold, mix number, overlap."""

    fold: int
    room: int
    room_slot: int
    mix: int
    ov: int

    @property
    def name(self) -> str:
        """File stem ``fold<f>_room<r>_mix<mmm>_ov<o>``."""
        return f"fold{self.fold}_room{self.room}_mix{self.mix:03d}_ov{self.ov}"


@dataclass
class SynthResult:
    """What :func:`synthesize_dataset` wrote."""

    root: Path
    mixes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def plan_mixes(config: SynthConfig) -> list[MixPlan]:
    """Every mix of ``config`` in generation order (see the module docstring)."""
    out = []
    for fold in sorted(set(config.folds)):
        for i in range(config.clips_per_fold):
            slot = i % config.rooms_per_fold
            room = (fold - 1) * config.rooms_per_fold + slot + 1
            out.append(MixPlan(fold, room, slot, i + 1, 1 + (fold - 1 + i) % 2))
    return out


def _rng(config: SynthConfig, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=tuple(key)))


def room_for(config: SynthConfig, fold: int, slot: int) -> Room:
    """Room ``slot`` of ``fold`` (deterministic in the seed)."""
    room_number = (fold - 1) * config.rooms_per_fold + slot + 1
    rng = _rng(config, 0, fold, slot)
    # the open-air choice has a stream of its own, so that rooms of datasets made without it are unchanged
    if config.open_air > 0.0 and _rng(config, 5, fold, slot).random() < config.open_air:
        return open_air_room(rng, name=f"room{room_number}")
    return random_room(rng, name=f"room{room_number}")


def mix_scene(config: SynthConfig, plan: MixPlan, bank: Any, room: Room) -> Scene:
    """The scene of one planned mix (deterministic in the seed)."""
    rng = _rng(config, 1, plan.fold, plan.mix)
    scene = make_scene(bank, room, rng, config.duration_s, ov=plan.ov)
    ambience = draw_ambience(
        _rng(config, 2, plan.fold, plan.mix),
        room,
        noise_types=config.noise_types,
        snr_db=span(config.snr_db),
        gain_db=span(config.gain_db),
        tilt_db_oct=span(config.tilt_db_oct),
        source_probability=config.noise_source_probability,
    )
    return replace(scene, **ambience)


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def _ambience_info(scene: Scene, report: dict[str, Any]) -> dict[str, Any]:
    """What ``synth_info.json`` records of a mix's noise and level (drawn and applied)."""
    return {
        "snr_db": _json_number(scene.snr_db),
        "noise": {
            k: v for k, v in report.items() if k not in ("level_dbfs", "peak_limited", "mic_peak_limited_db")
        },
        "noise_sources": [
            {"share": src.share, **{k: round(v, 4) for k, v in asdict(src.trajectory).items()}}
            for src in scene.noise_sources
        ],
        "gain_db": round(scene.level_dbfs - EVENT_LEVEL_DBFS, 3),
        "tilt_db_oct": scene.tilt_db_oct,
        "level_dbfs": report.get("level_dbfs"),
        "peak_limited": report.get("peak_limited"),
        "mic_peak_limited_db": report.get("mic_peak_limited_db"),
    }


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A 16-bit PCM WAV file of float ``(channels, n)`` samples (rounded, clipped to [-1, 1))."""
    q = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)
    bio = io.BytesIO()
    sf.write(bio, q.T, sample_rate, subtype="PCM_16", format="WAV")
    return bio.getvalue()


def check_output_folder(root: Path, overwrite: bool) -> None:
    """Refuse a dataset folder that already holds data (unless ``overwrite``, which clears old mixes)."""
    if root.exists() and not root.is_dir():
        raise SeldError("is a file, not a folder for the dataset", root)
    busy = [root / d for d in OUTPUT_FOLDERS if (root / d).is_dir() and any((root / d).iterdir())]
    if not busy:
        return
    if not overwrite:
        names = ", ".join(p.name for p in busy)
        raise SeldError(
            f"already holds a dataset ({names} not empty); choose another folder or pass --overwrite", root
        )
    for folder in busy:
        for path in folder.iterdir():
            if path.is_file() and MIX_FILE_RE.match(path.name):
                try:
                    path.unlink()
                except OSError as err:
                    raise SeldError(f"cannot delete an old file: {err.strerror or err}", path) from err


def _event_info(scene: Scene) -> list[dict[str, Any]]:
    return [
        {
            "class": ev.class_index,
            "class_name": ev.class_name,
            "origin": ev.origin,
            "track": ev.track,
            "onset_s": round(ev.onset_s, 4),
            "offset_s": round(ev.offset_s, 4),
            "trajectory": _trajectory_info(ev.trajectory),
        }
        for ev in scene.events
    ]


def _trajectory_info(trajectory: Any) -> dict[str, Any]:
    """A trajectory's fields (rounded); a measured path says which response each frame used."""
    from core.synthesis.measured import MeasuredPath

    if isinstance(trajectory, MeasuredPath):
        return trajectory.info()
    return {k: round(v, 4) for k, v in asdict(trajectory).items()}


def _write(path: Path, data: bytes) -> None:
    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        raise SeldError(f"cannot write the file: {err.strerror or err}", path) from err


def synthesize_dataset(
    root: str | os.PathLike[str],
    config: SynthConfig,
    bank: Any = None,
    *,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> SynthResult:
    """Generate and write the dataset of ``config`` under ``root``.

    ``bank`` is a :class:`~core.synthesis.sources.SourceBank` (default: the folder
    ``config.sources``, else the built-in generators). ``progress(done, total, name)`` is
    called after each mix, ``cancel`` polled between mixes and events (raises
    :class:`~core.common.progress.Cancelled`; the mixes already written stay).
    """
    config.validate()
    started = time.monotonic()
    out = Path(root)
    if bank is None:
        from core.synthesis.sources import SourceBank

        bank = (
            SourceBank.from_folder(config.sources, generators_share=config.generators_share)
            if config.sources
            else SourceBank.builtin(variety=True)
        )
    responses = None
    if config.rirs is not None:
        from core.synthesis.measured import read_responses

        responses = read_responses(config.rirs, config.formats[0])
    check_output_folder(out, overwrite)
    folders = {fmt: out / f"{fmt}_dev" for fmt in config.formats}
    meta = out / "metadata_dev"
    for folder in (*folders.values(), meta):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SeldError(f"cannot create the folder: {err.strerror or err}", folder) from err
    plans = plan_mixes(config)
    rooms: dict[tuple[int, int], Room] = {}
    result = SynthResult(out)
    info_mixes: list[dict[str, Any]] = []
    for done, plan in enumerate(plans, start=1):
        check_cancel(cancel)
        key = (plan.fold, plan.room_slot)
        if key not in rooms:
            rooms[key] = room_for(config, plan.fold, plan.room_slot)
        scene = mix_scene(config, plan, bank, rooms[key])
        report: dict[str, Any] = {}
        if responses is None:
            audio = render_scene(scene, config.formats, cancel=cancel, report=report)
        else:
            from core.synthesis.measured import render_measured_scene, snap_scene

            scene = snap_scene(scene, responses)
            audio = {
                responses.fmt: render_measured_scene(
                    scene, responses, config.ambience, cancel=cancel, report=report
                )
            }
        for fmt, folder in folders.items():
            path = folder / f"{plan.name}.wav"
            _write(path, wav_bytes(audio[fmt]))
            result.files.append(path)
        label_path = meta / f"{plan.name}.csv"
        write_labels(scene.labels(config.label_decimals), label_path, fmt="dcase2020")
        result.files.append(label_path)
        result.mixes.append(plan.name)
        info_mixes.append(
            {
                "name": plan.name,
                "room": f"room{plan.room}",
                **_ambience_info(scene, report),
                "events": _event_info(scene),
            }
        )
        if progress is not None:
            progress(done, len(plans), plan.name)
    info = {
        "generator": "SELD Studio seld synth (core.synthesis)",
        "settings": {
            **asdict(config),
            "formats": list(config.formats),
            "folds": list(config.folds),
            "snr_db": [_json_number(v) for v in span(config.snr_db)],
            "gain_db": list(span(config.gain_db)),
            "tilt_db_oct": list(span(config.tilt_db_oct)),
            "noise_types": list(config.noise_types),
        },
        "sample_rate": SAMPLE_RATE,
        "rooms": {room.name: room.to_dict() for _, room in sorted(rooms.items())},
        "mixes": info_mixes,
    }
    try:
        atomic_write_text(out / INFO_FILE, json.dumps(info, indent=1, sort_keys=True) + "\n")
    except OSError as err:
        raise SeldError(f"cannot write the file: {err.strerror or err}", out / INFO_FILE) from err
    result.seconds = time.monotonic() - started
    return result


def parse_folds(text: str) -> tuple[int, ...]:
    """Fold numbers from ``"1-6"``, ``"1,3,5"`` or ``"2"`` (ranges and lists mixed); SeldError if malformed."""
    folds: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", part)
        if not m:
            raise SeldError(f"cannot read the folds {text!r}: use e.g. 1-6, 1,3,5 or 2")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if lo < 1 or hi < lo:
            raise SeldError(f"cannot read the folds {text!r}: fold numbers start at 1 and ranges go up")
        folds.update(range(lo, hi + 1))
    return tuple(sorted(folds))


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """Formats from ``"foa,mic"`` (order kept, duplicates dropped); SeldError for unknown names."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for part in parts:
        fmt = part.strip().lower()
        if fmt not in FORMATS:
            raise SeldError(f"unknown format {part.strip()!r} in --formats (choose from foa, mic)")
        if fmt not in out:
            out.append(fmt)
    if not out:
        raise SeldError("--formats names no format (choose from foa, mic)")
    return tuple(out)


def parse_span(text: str, what: str) -> tuple[float, float]:
    """A fixed value ``"30"`` or a range ``"6:30"`` (``"inf"`` allowed); SeldError if malformed."""
    parts = text.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or any(math.isnan(v) for v in values):
        raise SeldError(f"cannot read {what} {text!r}: use a number or a range low:high")
    lo, hi = values[0], values[-1]
    if lo > hi:
        raise SeldError(f"cannot read {what} {text!r}: the range must go up (low:high)")
    return lo, hi


def parse_noise_types(text: str) -> tuple[str, ...]:
    """Noise recipes from ``"pink,babble"`` or ``"all"``; SeldError for unknown names."""
    if text.strip().lower() == "all":
        return NOISE_TYPES
    out: list[str] = []
    for part in text.split(","):
        kind = part.strip().lower()
        if kind not in NOISE_TYPES:
            raise SeldError(
                f"unknown noise type {part.strip()!r} in --noise (choose from all, {', '.join(NOISE_TYPES)})"
            )
        if kind not in out:
            out.append(kind)
    return tuple(out)
