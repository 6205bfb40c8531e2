"""Events: runs of consecutive label frames of one class and track, with their directions.

DCASE label files list one row per active source per 100 ms frame. Review and annotation
work on *events* instead: an event is one class on one track (the CSV's track / source
index) over a contiguous span of frames ``[start, end)``, with an azimuth and elevation
for every frame. :func:`events_from_table` groups rows into events and
:func:`table_from_events` writes them back as rows, so that ``table -> events -> table``
gives back the same rows (in frame order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.labels.table import LABEL_HOP_S, LabelRow, LabelTable


class FrameSpan:
    """Label frames ``[start, end)`` of an event (mixin: the class defines ``start`` and ``end``)."""

    start: int
    end: int

    @property
    def n_frames(self) -> int:
        return self.end - self.start

    @property
    def onset_s(self) -> float:
        return self.start * LABEL_HOP_S

    @property
    def offset_s(self) -> float:
        return self.end * LABEL_HOP_S

    def overlaps(self, other: FrameSpan) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, eq=False)
class Event(FrameSpan):
    """One event: ``cls`` on ``track`` over label frames ``[start, end)``.

    ``azimuth`` and ``elevation`` are float64 degree arrays of length ``end - start``
    (azimuth counter-clockwise from the front, elevation up); ``distance`` likewise or
    ``None``. ``id`` is the annotation event it shows (reference events), else ``None``.
    """

    cls: int
    track: int
    start: int
    end: int
    azimuth: np.ndarray
    elevation: np.ndarray
    distance: np.ndarray | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        n = self.end - self.start
        if n <= 0:
            raise ValueError(f"an event needs at least one frame, not [{self.start}, {self.end})")
        if len(self.azimuth) != n or len(self.elevation) != n:
            raise ValueError(f"an event of {n} frames needs {n} directions")

    @property
    def moving(self) -> bool:
        """Whether the direction changes by more than 1 degree over the event."""
        return bool(np.ptp(self.azimuth) > 1.0 or np.ptp(self.elevation) > 1.0)

    def direction_at(self, frame: int) -> tuple[float, float] | None:
        """``(azimuth, elevation)`` at label frame ``frame``, or ``None`` outside the event."""
        if not self.start <= frame < self.end:
            return None
        i = frame - self.start
        return float(self.azimuth[i]), float(self.elevation[i])

    def rows(self) -> list[LabelRow]:
        dist = self.distance
        return [
            LabelRow(
                frame=self.start + i,
                cls=self.cls,
                track=self.track,
                azimuth=float(self.azimuth[i]),
                elevation=float(self.elevation[i]),
                distance=None if dist is None else float(dist[i]),
            )
            for i in range(self.n_frames)
        ]


def events_from_table(table: LabelTable | Iterable[LabelRow], max_gap: int = 0) -> list[Event]:
    """Group label rows into events, sorted by start frame, then class, then track.

    Rows of one (class, track) whose frames follow each other form one event; a gap of
    more than ``max_gap`` missing frames starts a new one (with ``max_gap > 0`` the
    direction inside a gap is held from the frame before it). If one (class, track) has
    two rows in the same frame, the first row is kept.
    """
    by_key: dict[tuple[int, int], dict[int, LabelRow]] = {}
    for row in table:
        by_key.setdefault((row.cls, row.track), {}).setdefault(row.frame, row)
    events: list[Event] = []
    for (cls, track), frames in by_key.items():
        ordered = sorted(frames)
        run: list[int] = [ordered[0]]
        for f in ordered[1:]:
            if f - run[-1] - 1 > max_gap:
                events.append(_event(cls, track, run, frames))
                run = [f]
            else:
                run.append(f)
        events.append(_event(cls, track, run, frames))
    events.sort(key=lambda e: (e.start, e.cls, e.track))
    return events


def _event(cls: int, track: int, run: Sequence[int], frames: dict[int, LabelRow]) -> Event:
    start, end = run[0], run[-1] + 1
    az = np.empty(end - start)
    el = np.empty(end - start)
    has_dist = all(frames[f].distance is not None for f in run)
    dist = np.empty(end - start) if has_dist else None
    last = frames[run[0]]
    for i, f in enumerate(range(start, end)):
        last = frames.get(f, last)
        az[i], el[i] = last.azimuth, last.elevation
        if dist is not None:
            dist[i] = last.distance
    return Event(cls, track, start, end, az, el, dist)


def table_from_events(events: Iterable[Event], fmt: str = "dcase2020") -> LabelTable:
    """The label rows of ``events``, ordered by frame, then class, then track."""
    rows = [row for event in events for row in event.rows()]
    rows.sort(key=lambda r: (r.frame, r.cls, r.track))
    return LabelTable(rows, fmt=fmt)


def active_at(events: Iterable[Event], frame: int) -> list[tuple[Event, float, float]]:
    """The events active at label frame ``frame`` with their direction there."""
    out = []
    for event in events:
        d = event.direction_at(frame)
        if d is not None:
            out.append((event, d[0], d[1]))
    return out
