"""Scenes: which sound events happen when, where and how they move, and their DCASE labels.

A :class:`Scene` is a recording-to-be: its duration, its :class:`~core.synthesis.room.Room`
and a list of :class:`SceneEvent` (a mono source clip, its class, its onset and its
:class:`Trajectory`). :func:`make_scene` draws one in the manner of TAU-NIGENS Spatial
Sound Events 2020; :meth:`Scene.labels` gives its DCASE 2020 labels;
:func:`core.synthesis.spatial.render_scene` turns it into FOA and MIC audio.

Conventions
-----------
* Directions are relative to the array centre, azimuth counter-clockwise from +x in
  [-180, 180), elevation up, in degrees; distances in metres.
* Times are seconds from the start of the recording; an event occupies the samples
  ``[onset, onset + len(samples))`` at 24 kHz (its emission; the sound reaches the array
  ``distance / 343`` s later, at most about 9 ms).
* **Labels**: an event is active in every 100 ms frame ``f`` whose span
  ``[0.1 f, 0.1 f + 0.1)`` overlaps the event's ``[onset, offset)``. Its direction in frame
  ``f`` is the source direction at the frame **centre** ``0.1 f + 0.05`` s (clamped to the
  event's own span), rounded to ``decimals`` (0: integer degrees, as in TAU-NIGENS).
  The track column is the event's overlap layer: always 0 in ``ov1``, 0 or 1 in ``ov2``
  (two events active at once never share a track, nor a class).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from core.labels.table import LABEL_HOP_S, LabelRow, LabelTable
from core.spatial.directions import azel_to_xyz, wrap_azimuth
from core.synthesis.room import Room, max_distance

__all__ = [
    "DEFAULT_SPEEDS_DEG_S",
    "EVENT_LEVEL_DBFS",
    "SAMPLE_RATE",
    "NoiseSource",
    "Scene",
    "SceneEvent",
    "Trajectory",
    "make_scene",
]

SAMPLE_RATE = 24000
"""Sample rate of scenes and rendered audio (Hz)."""
DEFAULT_SPEEDS_DEG_S: tuple[float, ...] = (10.0, 20.0, 40.0)
"""Angular speeds of moving sources (either direction), as in TAU-NIGENS 2020."""
EVENT_LEVEL_DBFS = -30.0
"""Default RMS level of the W channel over the active label frames of a rendered mix (dBFS)."""
ELEVATION_LIMIT_DEG = 45.0
DISTANCE_RANGE_M = (0.5, 4.0)
"""Source distances (m), drawn uniformly and shortened near walls: a varied direct-to-reverberant ratio."""


@dataclass(frozen=True)
class Trajectory:
    """A source path around the array: a start direction and distance plus constant angular speeds.

    The source moves along azimuth at ``azimuth_speed`` °/s (counter-clockwise positive) and
    drifts in elevation at ``elevation_speed`` °/s, at a constant ``distance_m`` from the array
    centre; both speeds 0 is a stationary source. ``t`` below is the time since the event's onset.
    """

    azimuth_deg: float
    elevation_deg: float
    distance_m: float
    azimuth_speed: float = 0.0
    elevation_speed: float = 0.0

    @property
    def moving(self) -> bool:
        """Whether the direction changes with time."""
        return self.azimuth_speed != 0.0 or self.elevation_speed != 0.0

    def direction(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Azimuth (wrapped to [-180, 180)) and elevation in degrees at times ``t`` (s since onset)."""
        t = np.asarray(t, dtype=np.float64)
        az = wrap_azimuth(self.azimuth_deg + self.azimuth_speed * t)
        el = np.clip(self.elevation_deg + self.elevation_speed * t, -90.0, 90.0)
        return az, el

    def position(self, room: Room, t: np.ndarray | float) -> np.ndarray:
        """Source positions ``(..., 3)`` in room coordinates at times ``t`` (s since onset)."""
        az, el = self.direction(t)
        return np.asarray(room.receiver) + self.distance_m * azel_to_xyz(az, el)


@dataclass(frozen=True, eq=False)
class SceneEvent:
    """One sound event: a mono 24 kHz clip played from ``onset`` (a sample index) along ``trajectory``."""

    samples: np.ndarray
    class_index: int
    onset: int
    trajectory: Trajectory
    track: int = 0
    class_name: str = ""
    origin: str = ""

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[-1])

    @property
    def onset_s(self) -> float:
        return self.onset / SAMPLE_RATE

    @property
    def offset_s(self) -> float:
        """End of the event (exclusive), in seconds."""
        return (self.onset + self.n_samples) / SAMPLE_RATE

    def frames(self, n_frames: int) -> np.ndarray:
        """Label frames ``f`` whose span ``[0.1 f, 0.1 f + 0.1)`` overlaps the event, below ``n_frames``."""
        first = math.floor(self.onset / (SAMPLE_RATE * LABEL_HOP_S))
        last = math.ceil((self.onset + self.n_samples) / (SAMPLE_RATE * LABEL_HOP_S)) - 1
        return np.arange(max(first, 0), min(last, n_frames - 1) + 1)

    def frame_directions(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Azimuth and elevation at the centres of ``frames`` (clamped to the event's span)."""
        centre = (np.asarray(frames, dtype=np.float64) + 0.5) * LABEL_HOP_S
        t = np.clip(centre - self.onset_s, 0.0, self.n_samples / SAMPLE_RATE)
        return self.trajectory.direction(t)


@dataclass(frozen=True)
class NoiseSource:
    """A directional ambient-noise source (never labelled): where it is and its share of the noise power.

    ``share`` is the fraction of the ambient noise's W-channel power that comes from this
    source (the rest is the diffuse field); it plays the scene's noise recipe from a fixed
    position through the room.
    """

    trajectory: Trajectory
    share: float


@dataclass(frozen=True, eq=False)
class Scene:
    """A recording to render: duration, room, events, overlap class, ambient noise, level and noise seed.

    Ambient noise and level (see :mod:`core.synthesis.noise`): ``noise`` is the recipe of the
    diffuse noise field (``"pink"``, ``"brown"``, ``"babble"``, ``"hvac"``, ``"traffic"``,
    ``"wind"``) at ``snr_db`` below the events (``inf``: none), with the unlabelled
    ``noise_sources``; ``level_dbfs`` is the target W RMS of the events over the active label
    frames (lowered where an FOA peak would exceed -3 dBFS) and ``tilt_db_oct`` the slope of
    the equalisation applied alike to every channel. The defaults are the fixed pink noise,
    -30 dBFS and no tilt of earlier versions.
    """

    duration_s: float
    room: Room
    events: tuple[SceneEvent, ...]
    ov: int = 1
    snr_db: float = 30.0
    noise_seed: int = 0
    noise: str = "pink"
    level_dbfs: float = EVENT_LEVEL_DBFS
    tilt_db_oct: float = 0.0
    noise_sources: tuple[NoiseSource, ...] = ()

    @property
    def n_samples(self) -> int:
        return int(round(self.duration_s * SAMPLE_RATE))

    @property
    def n_frames(self) -> int:
        """Number of 100 ms label frames: ``ceil(duration / 0.1)``."""
        return math.ceil(round(self.duration_s / LABEL_HOP_S, 6))

    def labels(self, decimals: int = 0) -> LabelTable:
        """DCASE 2020 labels (``frame,class,track,azimuth,elevation``); see the module docstring."""
        rows: list[LabelRow] = []
        for ev in self.events:
            frames = ev.frames(self.n_frames)
            if frames.size == 0:
                continue
            az, el = ev.frame_directions(frames)
            az = np.round(az, decimals)
            el = np.round(el, decimals)
            for f, a, e in zip(frames.tolist(), az.tolist(), el.tolist(), strict=True):
                if decimals <= 0:
                    a, e = int(a), int(e)
                rows.append(LabelRow(f, ev.class_index, ev.track, a, e))
        rows.sort(key=lambda r: (r.frame, r.track, r.cls))
        return LabelTable(rows, fmt="dcase2020")

    def activity(self) -> np.ndarray:
        """Number of active events per label frame, ``(n_frames,)`` int."""
        count = np.zeros(self.n_frames, dtype=np.int64)
        for ev in self.events:
            count[ev.frames(self.n_frames)] += 1
        return count


# --------------------------------------------------------------------------- generation


class _Bank(Protocol):
    @property
    def available_classes(self) -> Sequence[Any]: ...

    def sample(
        self, class_index: int, rng: np.random.Generator, max_duration_s: float | None = None
    ) -> Any: ...


def _trim_silence(x: np.ndarray, threshold_db: float = -40.0) -> np.ndarray:
    """``x`` without leading/trailing 10 ms frames quieter than ``threshold_db`` re its loudest frame."""
    hop = SAMPLE_RATE // 100
    n = x.shape[-1] // hop
    if n < 2:
        return x
    rms = np.sqrt(np.mean(x[: n * hop].astype(np.float64).reshape(n, hop) ** 2, axis=1))
    peak = rms.max()
    if peak <= 0:
        return x[:0]
    loud = np.flatnonzero(rms >= peak * 10 ** (threshold_db / 20))
    stop = x.shape[-1] if loud[-1] == n - 1 else (loud[-1] + 1) * hop
    return x[loud[0] * hop : stop]


def _fit(x: np.ndarray, max_samples: int) -> np.ndarray:
    """``x`` cut to ``max_samples`` with a 20 ms fade-out where it was cut."""
    if x.shape[-1] <= max_samples:
        return x
    y = np.array(x[:max_samples], dtype=np.float32)
    fade = min(max_samples, SAMPLE_RATE // 50)
    y[max_samples - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return y


def random_trajectory(
    rng: np.random.Generator,
    room: Room,
    duration_s: float,
    moving_probability: float = 0.5,
    speeds: Sequence[float] = DEFAULT_SPEEDS_DEG_S,
    elevation_drift_deg_s: float = 2.0,
    distance_range: tuple[float, float] = DISTANCE_RANGE_M,
) -> Trajectory:
    """A random source path for an event of ``duration_s`` that stays inside ``room``.

    Azimuth uniform in [-180, 180), elevation in [-45, 45] (for the whole event), distance
    uniform in ``distance_range`` but shortened where the path would come closer than
    0.25 m to a wall. Moving sources (probability ``moving_probability``) turn at one of
    ``speeds`` °/s either way; half of them also drift in elevation by up to
    ``elevation_drift_deg_s`` °/s.
    """
    az0 = float(rng.uniform(-180.0, 180.0))
    speed = el_speed = 0.0
    if rng.random() < moving_probability:
        speed = float(rng.choice(np.asarray(speeds, dtype=np.float64))) * float(rng.choice([-1.0, 1.0]))
        if rng.random() < 0.5:
            el_speed = float(rng.uniform(-elevation_drift_deg_s, elevation_drift_deg_s))
    drift = el_speed * duration_s
    lo, hi = -ELEVATION_LIMIT_DEG - min(0.0, drift), ELEVATION_LIMIT_DEG - max(0.0, drift)
    if lo > hi:
        el_speed, lo, hi = 0.0, -ELEVATION_LIMIT_DEG, ELEVATION_LIMIT_DEG
    el0 = float(rng.uniform(lo, hi))
    distance = float(rng.uniform(*distance_range))
    probe = Trajectory(az0, el0, 1.0, speed, el_speed)
    az, el = probe.direction(np.linspace(0.0, duration_s, max(2, int(duration_s * 10) + 2)))
    reach = float(np.min(max_distance(room, azel_to_xyz(az, el))))
    distance = min(distance, 0.98 * reach)
    return Trajectory(az0, el0, distance, speed, el_speed)


def make_scene(
    bank: _Bank,
    room: Room,
    rng: np.random.Generator,
    duration_s: float = 60.0,
    ov: int = 1,
    snr_db: float = 30.0,
    *,
    gap_range_s: tuple[float, float] = (0.5, 3.0),
    min_event_s: float = 0.3,
    moving_probability: float = 0.5,
    speeds: Sequence[float] = DEFAULT_SPEEDS_DEG_S,
) -> Scene:
    """Draw a scene: ``ov`` overlap layers of events separated by random gaps.

    Each layer is a sequence of non-overlapping events (class uniform over the bank's
    available classes, clip from ``bank.sample``, leading/trailing silence below -40 dB
    trimmed) with gaps uniform in ``gap_range_s``; so ``ov1`` has no overlap and ``ov2`` at
    most two events at once. An event of layer 1 never overlaps one of the same class in
    layer 0. Every event ends at least 0.1 s before ``duration_s``.
    """
    if ov not in (1, 2):
        raise ValueError(f"ov must be 1 or 2, not {ov}")
    classes = [int(c) for c in bank.available_classes]
    if not classes:
        raise ValueError("the source bank has no classes")
    n_total = int(round(duration_s * SAMPLE_RATE))
    end = n_total - SAMPLE_RATE // 10
    min_len = int(min_event_s * SAMPLE_RATE)
    events: list[SceneEvent] = []
    for layer in range(ov):
        t = int(rng.uniform(0.1, gap_range_s[1] * (1 + layer)) * SAMPLE_RATE)
        while end - t >= min_len:
            ev = _draw_event(bank, room, rng, classes, t, end, layer, events, moving_probability, speeds)
            if ev is None:
                t += SAMPLE_RATE // 2
                continue
            if ev.n_samples >= min_len:
                events.append(ev)
            t = ev.onset + ev.n_samples + int(rng.uniform(*gap_range_s) * SAMPLE_RATE)
    events.sort(key=lambda e: (e.onset, e.track))
    noise_seed = int(rng.integers(0, 2**63 - 1))
    return Scene(duration_s, room, tuple(events), ov=ov, snr_db=snr_db, noise_seed=noise_seed)


def _draw_event(
    bank: _Bank,
    room: Room,
    rng: np.random.Generator,
    classes: list[int],
    onset: int,
    end: int,
    layer: int,
    placed: list[SceneEvent],
    moving_probability: float,
    speeds: Sequence[float],
) -> SceneEvent | None:
    """One event of ``layer`` starting at ``onset``; ``None`` when no class fits without a same-class overlap."""
    for _ in range(5):
        cls = classes[int(rng.integers(len(classes)))]
        clip = bank.sample(cls, rng, max_duration_s=(end - onset) / SAMPLE_RATE)
        x = _fit(_trim_silence(np.asarray(clip.samples, dtype=np.float32).reshape(-1)), end - onset)
        stop = onset + x.shape[-1]
        clash = any(
            e.class_index == cls and e.track != layer and e.onset < stop and onset < e.onset + e.n_samples
            for e in placed
        )
        if clash or x.shape[-1] == 0:
            continue
        traj = random_trajectory(rng, room, x.shape[-1] / SAMPLE_RATE, moving_probability, speeds)
        return SceneEvent(
            samples=x,
            class_index=cls,
            onset=onset,
            trajectory=traj,
            track=layer,
            class_name=str(getattr(clip, "class_name", "")),
            origin=str(getattr(clip, "origin", "")),
        )
    return None


@dataclass
class EventSpec:
    """A hand-made event for tests and examples: signal, class, onset (s) and trajectory."""

    samples: np.ndarray
    onset_s: float
    trajectory: Trajectory
    class_index: int = 0
    track: int = 0


def scene_from_specs(
    room: Room,
    specs: Sequence[EventSpec],
    duration_s: float,
    ov: int = 1,
    snr_db: float = 30.0,
    noise_seed: int = 0,
    **ambience: Any,
) -> Scene:
    """A :class:`Scene` from explicit events (no randomness except the render noise seed).

    ``ambience``: the noise and level fields of :class:`Scene` (``noise``, ``level_dbfs``,
    ``tilt_db_oct``, ``noise_sources``).
    """
    events = tuple(
        SceneEvent(
            samples=np.asarray(s.samples, dtype=np.float32).reshape(-1),
            class_index=s.class_index,
            onset=int(round(s.onset_s * SAMPLE_RATE)),
            trajectory=s.trajectory,
            track=s.track,
        )
        for s in specs
    )
    return Scene(duration_s, room, events, ov=ov, snr_db=snr_db, noise_seed=noise_seed, **ambience)
