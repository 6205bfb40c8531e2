"""The annotation document: editable reference events with direction keyframes.

An annotated event is one class on one track (the CSV's track / source index) over label
frames ``[start, end)``. Its direction is given by *keyframes*: a stationary event has
one, a moving event several. For every 100 ms frame the direction is interpolated along
the great circle between the keyframes around it (spherical linear interpolation) and
held constant before the first and after the last keyframe. Distance, where present
(DCASE 2024), is interpolated linearly.

:class:`Annotation` holds the events of one recording by a stable integer id. It changes
only through :meth:`Annotation.replace`, which the edit objects of
:mod:`core.annotation.edits` call (``apply`` / ``revert``), and tells observers through
``changed``. Reading a label file keeps every frame's direction exactly as written: a
frame becomes a keyframe unless interpolation between its neighbours already gives the
value the file holds (to the file's precision), so saving the document again writes the
same file byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.common.observable import Signal
from core.labels.dcase_csv import POLAR_DECIMALS
from core.labels.events import Event, FrameSpan, events_from_table
from core.labels.table import LabelRow, LabelTable
from core.spatial.directions import angular_distance, azel_to_xyz, xyz_to_azel


@dataclass(frozen=True)
class Keyframe:
    """The direction of an event at label frame ``frame`` (degrees; distance in the file's unit)."""

    frame: int
    azimuth: float
    elevation: float
    distance: float | None = None


@dataclass(frozen=True)
class AnnotationEvent(FrameSpan):
    """One annotated event; ``keyframes`` are sorted by frame, unique, inside ``[start, end)``."""

    id: int
    cls: int
    track: int
    start: int
    end: int
    keyframes: tuple[Keyframe, ...]

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"an event needs at least one frame, not [{self.start}, {self.end})")
        if not self.keyframes:
            raise ValueError("an event needs at least one direction keyframe")
        frames = [k.frame for k in self.keyframes]
        if frames != sorted(set(frames)):
            raise ValueError(f"keyframes must be sorted and unique, got frames {frames}")
        if frames[0] < self.start or frames[-1] >= self.end:
            raise ValueError(f"keyframes {frames} lie outside the event [{self.start}, {self.end})")

    @property
    def stationary(self) -> bool:
        return len(self.keyframes) == 1

    def keyframe_at(self, frame: int) -> Keyframe | None:
        for k in self.keyframes:
            if k.frame == frame:
                return k
        return None

    def directions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Per-frame ``(azimuth, elevation, distance | None)`` over ``[start, end)``.

        Rounded as a label file stores them (:data:`~core.labels.dcase_csv.POLAR_DECIMALS`), so that
        what the views show and the scorer counts is exactly what a save writes.
        """
        az, el, dist = interpolate(self.keyframes, np.arange(self.start, self.end))
        az, el = _as_written(az) + 0.0, _as_written(el) + 0.0
        return az, el, None if dist is None else _as_written(dist) + 0.0

    def direction_at(self, frame: int) -> tuple[float, float]:
        """The (interpolated) direction at ``frame``, held beyond the keyframes."""
        az, el, _ = interpolate(self.keyframes, np.array([frame]))
        return float(az[0]), float(el[0])

    def distance_at(self, frame: int) -> float | None:
        _, _, dist = interpolate(self.keyframes, np.array([frame]))
        return None if dist is None else float(dist[0])

    def to_event(self) -> Event:
        """The per-frame :class:`~core.labels.events.Event` the views and the scorer use (same id)."""
        az, el, dist = self.directions()
        return Event(self.cls, self.track, self.start, self.end, az, el, dist, id=self.id)


# --------------------------------------------------------------------------- directions


def slerp(v0: np.ndarray, v1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points at fractions ``t`` along the great circle from unit vector ``v0`` to ``v1``.

    Opposite directions have no unique great circle; the path then goes over the pole
    nearest to them (or through the left, +y, when they lie on the vertical axis).
    """
    t = np.asarray(t, dtype=float)[:, None]
    dot = float(np.clip(np.dot(v0, v1), -1.0, 1.0))
    if dot > 1.0 - 1e-12:
        return np.repeat(v0[None, :], len(t), axis=0)
    if dot < -1.0 + 1e-9:  # antipodal: pass through a perpendicular direction
        helper = np.array([0.0, 0.0, 1.0]) if abs(v0[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
        mid = helper - np.dot(helper, v0) * v0
        mid /= np.linalg.norm(mid)
        first = slerp(v0, mid, np.clip(2 * t[:, 0], 0, 1))
        second = slerp(mid, v1, np.clip(2 * t[:, 0] - 1, 0, 1))
        return np.where(t < 0.5, first, second)
    omega = np.arccos(dot)
    s = np.sin(omega)
    return (np.sin((1 - t) * omega) * v0 + np.sin(t * omega) * v1) / s


def interpolate(
    keyframes: Sequence[Keyframe], frames: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Directions (and distances) of ``keyframes`` at ``frames``: great-circle between, held outside.

    Vectorised over frames; at a keyframe (and wherever a value is held) the keyframe's own
    numbers are returned, with no trigonometric round trip.
    """
    frames = np.asarray(frames)
    kf = np.array([k.frame for k in keyframes])
    ka = np.array([k.azimuth for k in keyframes], dtype=float)
    ke = np.array([k.elevation for k in keyframes], dtype=float)
    has_dist = all(k.distance is not None for k in keyframes)
    kd = np.array([k.distance for k in keyframes], dtype=float) if has_dist else None
    if len(keyframes) == 1:
        full = np.ones(len(frames))
        return ka[0] * full, ke[0] * full, None if kd is None else kd[0] * full
    # the keyframe segment [kf[i], kf[i+1]) of every frame, and the fraction along it
    seg = np.clip(np.searchsorted(kf, frames, side="right") - 1, 0, len(kf) - 2)
    t = np.clip((frames - kf[seg]) / (kf[seg + 1] - kf[seg]), 0.0, 1.0)
    vectors = azel_to_xyz(ka, ke)
    v0, v1 = vectors[seg], vectors[seg + 1]
    dot = np.clip(np.sum(v0 * v1, axis=1), -1.0, 1.0)
    omega = np.arccos(dot)
    sin_omega = np.sin(omega)
    regular = dot > -1.0 + 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        w0 = np.where(sin_omega > 1e-12, np.sin((1 - t) * omega) / sin_omega, 1 - t)
        w1 = np.where(sin_omega > 1e-12, np.sin(t * omega) / sin_omega, t)
    v = w0[:, None] * v0 + w1[:, None] * v1
    for i in np.nonzero(~regular)[0]:  # opposite keyframes: the path of slerp()
        v[i] = slerp(v0[i], v1[i], np.array([t[i]]))[0]
    az, el = xyz_to_azel(v)
    dist = None if kd is None else kd[seg] + t * (kd[seg + 1] - kd[seg])
    # keyframes and held values are exact
    for which, index in ((t == 0.0, seg), (t == 1.0, seg + 1)):
        az[which], el[which] = ka[index[which]], ke[index[which]]
        if dist is not None and kd is not None:
            dist[which] = kd[index[which]]
    return az, el, dist


def _as_written(values: np.ndarray | list[float] | float) -> np.ndarray:
    """Values rounded as the label writer rounds them (``POLAR_DECIMALS`` decimals)."""
    return np.round(np.asarray(values, dtype=float), POLAR_DECIMALS)


def keyframes_from_track(
    frames: np.ndarray,
    azimuth: np.ndarray,
    elevation: np.ndarray,
    distance: np.ndarray | None = None,
    tolerance_deg: float | None = None,
) -> tuple[Keyframe, ...]:
    """The fewest keyframes (greedily, Douglas-Peucker) that reproduce a per-frame track.

    With ``tolerance_deg=None`` reproduction is exact to the label file's precision: every
    interpolated frame rounds to the value given (azimuth, elevation and distance to
    :data:`~core.labels.dcase_csv.POLAR_DECIMALS` decimals). With a tolerance, frames within that
    great-circle angle count as reproduced (distance is then not checked): this simplifies
    noisy trajectories such as model predictions.
    """
    frames = np.asarray(frames)
    az = np.asarray(azimuth, dtype=float)
    el = np.asarray(elevation, dtype=float)
    dist = None if distance is None else np.asarray(distance, dtype=float)

    def key(i: int) -> Keyframe:
        return Keyframe(int(frames[i]), float(az[i]), float(el[i]), None if dist is None else float(dist[i]))

    def covered(keys: list[Keyframe], idx: np.ndarray) -> np.ndarray:
        a, e, d = interpolate(keys, frames[idx])
        if tolerance_deg is not None:
            return angular_distance(a, e, az[idx], el[idx]) <= tolerance_deg
        ok = (_as_written(a) == _as_written(az[idx])) & (_as_written(e) == _as_written(el[idx]))
        if dist is not None and d is not None:
            ok &= _as_written(d) == _as_written(dist[idx])
        return ok

    def error(keys: list[Keyframe], idx: np.ndarray) -> np.ndarray:
        a, e, _ = interpolate(keys, frames[idx])
        return angular_distance(a, e, az[idx], el[idx])

    n = len(frames)
    chosen = {0, n - 1}
    stack = [(0, n - 1)]
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2:
            continue
        idx = np.arange(lo + 1, hi)
        keys = [key(lo), key(hi)]
        bad = ~covered(keys, idx)
        if bad.any():
            err = error(keys, idx)
            err = np.where(bad, err + 1.0, -1.0)  # the worst uncovered frame splits the segment
            mid = int(idx[int(np.argmax(err))])
            chosen.add(mid)
            stack += [(lo, mid), (mid, hi)]
    keys = [key(i) for i in sorted(chosen)]
    # a keyframe at either end that only repeats its neighbour is implied by holding
    while len(keys) > 1 and _same_direction(keys[0], keys[1], tolerance_deg):
        keys.pop(0)
    while len(keys) > 1 and _same_direction(keys[-1], keys[-2], tolerance_deg):
        keys.pop()
    return tuple(keys)


def _same_direction(a: Keyframe, b: Keyframe, tolerance_deg: float | None) -> bool:
    if tolerance_deg is not None:
        return float(angular_distance(a.azimuth, a.elevation, b.azimuth, b.elevation)) <= tolerance_deg
    same = _as_written([a.azimuth, a.elevation]).tolist() == _as_written([b.azimuth, b.elevation]).tolist()
    if a.distance is not None and b.distance is not None:
        same = same and _as_written(a.distance) == _as_written(b.distance)
    return same


def event_from_track(event_id: int, event: Event, tolerance_deg: float | None = None) -> AnnotationEvent:
    """An :class:`AnnotationEvent` from a per-frame :class:`~core.labels.events.Event`."""
    frames = np.arange(event.start, event.end)
    keys = keyframes_from_track(frames, event.azimuth, event.elevation, event.distance, tolerance_deg)
    return AnnotationEvent(event_id, event.cls, event.track, event.start, event.end, keys)


# --------------------------------------------------------------------------- the document


class Annotation:
    """The editable reference events of one recording, by id.

    ``changed(removed_ids, added_ids)`` is emitted after every :meth:`replace` (an edit
    that changes an event removes its old version and adds the new one under the same id)
    and ``reset()`` after :meth:`reset`. ``fmt`` is the label format the events came from
    and will be saved in by default; ``path`` the file they came from or were saved to.
    """

    def __init__(
        self, events: Iterable[AnnotationEvent] = (), fmt: str = "dcase2020", path: str | None = None
    ):
        self._events: dict[int, AnnotationEvent] = {}
        self._next_id = 1
        self.fmt = fmt
        self.path = path
        self.loaded = False
        self.changed = Signal()
        self.reset_done = Signal()
        self._set(events)

    def _set(self, events: Iterable[AnnotationEvent]) -> None:
        self._events = {}
        for e in events:
            if e.id in self._events:
                raise ValueError(f"two events with id {e.id}")
            self._events[e.id] = e
        self._next_id = max(self._events, default=0) + 1

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_table(cls, table: LabelTable) -> Annotation:
        """The events of a label table, every frame's direction kept exactly (see the module doc).

        Rows that share class, track and frame with an earlier row (which a valid file never
        has) are not dropped: they move to a new track of their class, so nothing in the
        file is lost; :attr:`moved_rows` counts them.
        """
        rows, moved = _separate_duplicates(table.rows)
        doc = cls(fmt=table.fmt, path=table.path)
        events = [event_from_track(i + 1, e) for i, e in enumerate(events_from_table(rows))]
        doc._set(events)
        doc.loaded = True
        doc.moved_rows = moved
        return doc

    moved_rows = 0

    def reset(self, other: Annotation | None = None) -> None:
        """Take over the events, format and path of ``other`` (or become empty and unloaded)."""
        other = other if other is not None else Annotation()
        self._set(other.events)
        self.fmt, self.path, self.loaded = other.fmt, other.path, other.loaded
        self.moved_rows = other.moved_rows
        self.reset_done.emit()

    # ------------------------------------------------------------------ access
    @property
    def events(self) -> list[AnnotationEvent]:
        """All events sorted by start frame, class, track, id."""
        return sorted(self._events.values(), key=lambda e: (e.start, e.cls, e.track, e.id))

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._events

    def __getitem__(self, event_id: int) -> AnnotationEvent:
        return self._events[event_id]

    def get(self, event_id: int) -> AnnotationEvent | None:
        return self._events.get(event_id)

    def new_id(self) -> int:
        """A fresh id, never used in this document (ids are not reused after deletes)."""
        i = self._next_id
        self._next_id += 1
        return i

    def snapshot(self) -> tuple[AnnotationEvent, ...]:
        """All events in id order: two documents with equal snapshots hold the same events."""
        return tuple(self._events[i] for i in sorted(self._events))

    # ------------------------------------------------------------------ changing
    def replace(self, removed: Sequence[AnnotationEvent], added: Sequence[AnnotationEvent]) -> None:
        """Remove ``removed`` (which must be present exactly) and add ``added``; then emit ``changed``."""
        for e in removed:
            if self._events.get(e.id) != e:
                raise ValueError(f"event {e.id} is not in the document as the edit expects")
        removed_ids = {e.id for e in removed}
        for e in added:
            if e.id in self._events and e.id not in removed_ids:
                raise ValueError(f"event {e.id} is already in the document")
        for e in removed:
            del self._events[e.id]
        for e in added:
            self._events[e.id] = e
            self._next_id = max(self._next_id, e.id + 1)
        self.loaded = True
        self.changed.emit(tuple(sorted(removed_ids)), tuple(sorted(e.id for e in added)))

    # ------------------------------------------------------------------ writing
    def to_events(self) -> list[Event]:
        return [e.to_event() for e in self.events]

    def to_table(self, fmt: str | None = None) -> LabelTable:
        """The label rows of the document (frame, class, track order) in ``fmt`` (default: its own)."""
        rows = [row for e in self.to_events() for row in e.rows()]
        rows.sort(key=lambda r: (r.frame, r.cls, r.track))
        return LabelTable(rows, fmt=fmt or self.fmt, path=self.path)


def _separate_duplicates(rows: Iterable[LabelRow]) -> tuple[list[LabelRow], int]:
    """Rows with a (class, track, frame) already taken moved to a new track of their class."""
    seen: set[tuple[int, int, int]] = set()
    tracks: dict[int, set[int]] = {}
    rows = list(rows)
    for r in rows:
        tracks.setdefault(r.cls, set()).add(r.track)
    out = []
    moved = 0
    relocation: dict[tuple[int, int, int], int] = {}  # (cls, track, n-th duplicate) -> new track
    counts: dict[tuple[int, int, int], int] = {}
    for r in rows:
        k = (r.cls, r.track, r.frame)
        if k not in seen:
            seen.add(k)
            out.append(r)
            continue
        nth = counts.get(k, 0) + 1
        counts[k] = nth
        rk = (r.cls, r.track, nth)
        if rk not in relocation:
            new = max(tracks[r.cls]) + 1
            tracks[r.cls].add(new)
            relocation[rk] = new
        out.append(replace(r, track=relocation[rk]))
        seen.add((r.cls, relocation[rk], r.frame))
        moved += 1
    return out, moved
