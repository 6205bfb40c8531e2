"""What the direction views (sphere and map) draw at the playhead, computed once for both.

For the playhead time ``t``: every reference and predicted event active at ``t`` gives a
marker at its direction there; every event active during the last ``TRAIL_S`` seconds
gives a trail: its directions from ``max(onset, t - TRAIL_S)`` to ``t``, with an opacity
rising from 0 (oldest) to 1 (now).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.common.timebase import frame_at
from core.labels.events import Event
from core.labels.table import LABEL_HOP_S
from core.session.session import Session

TRAIL_S = 2.0


@dataclass(frozen=True)
class Marker:
    cls: int
    azimuth: float
    elevation: float
    predicted: bool


@dataclass(frozen=True)
class Trail:
    cls: int
    azimuth: np.ndarray
    elevation: np.ndarray
    alpha: np.ndarray  # 0..1 per point, oldest first
    predicted: bool


def markers_and_trails(session: Session, seconds: float | None = None) -> tuple[list[Marker], list[Trail]]:
    """Markers at the playhead and the trails leading to them, for both label sets."""
    t = session.playhead_s if seconds is None else seconds
    frame = frame_at(t)
    first = frame_at(t - TRAIL_S)
    markers: list[Marker] = []
    trails: list[Trail] = []
    for predicted, events in ((False, session.reference_events), (True, session.predicted_events)):
        for event in events:
            _collect(event, frame, first, predicted, markers, trails)
    return markers, trails


def _collect(
    event: Event, frame: int, first: int, predicted: bool, markers: list[Marker], trails: list[Trail]
) -> None:
    if event.end <= first or event.start > frame:
        return
    if event.start <= frame < event.end:
        i = frame - event.start
        markers.append(Marker(event.cls, float(event.azimuth[i]), float(event.elevation[i]), predicted))
    lo, hi = max(first, event.start), min(frame + 1, event.end)
    if hi - lo >= 2:
        idx = np.arange(lo, hi) - event.start
        age = (frame - np.arange(lo, hi)) * LABEL_HOP_S
        alpha = np.clip(1.0 - age / TRAIL_S, 0.0, 1.0)
        trails.append(Trail(event.cls, event.azimuth[idx], event.elevation[idx], alpha, predicted))


@dataclass(frozen=True)
class SelectedPath:
    """The whole trajectory of a selected reference event and its keyframes (edit mode)."""

    cls: int
    azimuth: np.ndarray
    elevation: np.ndarray
    key_azimuth: np.ndarray
    key_elevation: np.ndarray


MAX_PATHS = 3  # more selected trajectories than this would hide the sphere


def selected_paths(session: Session) -> list[SelectedPath]:
    """Trajectories and keyframes of the selected reference events (up to three), while editing."""
    if not session.editing or len(session.selected_ids) > MAX_PATHS:
        return []
    out = []
    for i in sorted(session.selected_ids):
        e = session.annotation.get(i)
        if e is None:
            continue
        az, el, _ = e.directions()
        out.append(
            SelectedPath(
                e.cls,
                az,
                el,
                np.array([k.azimuth for k in e.keyframes]),
                np.array([k.elevation for k in e.keyframes]),
            )
        )
    return out


HIGHLIGHT_COLOR = "#ffd400"  # the span and directions of an error chosen in the inspector


def highlight_arc(
    ref: tuple[float, float] | None, pred: tuple[float, float] | None, n: int = 33
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuths and elevations (degrees) along the great circle from ``ref`` to ``pred`` (empty
    unless both are given): the angular error of a highlight, drawn between its two directions."""
    from core.spatial.directions import azel_to_xyz, xyz_to_azel

    if ref is None or pred is None:
        return np.zeros(0), np.zeros(0)
    a, b = azel_to_xyz(*ref), azel_to_xyz(*pred)
    omega = float(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0)))
    t = np.linspace(0.0, 1.0, n)[:, None]
    if omega < 1e-6:
        pts = np.repeat(a[None, :], n, axis=0)
    else:
        pts = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    az, el = xyz_to_azel(pts)
    return np.asarray(az), np.asarray(el)
