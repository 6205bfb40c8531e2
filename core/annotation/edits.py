"""Edits of an :class:`~core.annotation.document.Annotation`: plain objects with ``apply`` and ``revert``.

Every change to the annotation is an :class:`Edit` that removes some events and adds
others (an event changed in place is removed in its old version and added in its new one,
under the same id). ``apply`` then ``revert`` gives back the document exactly; the GUI's
undo stack wraps each edit in one ``QUndoCommand``. Edits built during one mouse drag
share a ``merge_key`` and :meth:`Edit.merged` folds them into one undo step.

The functions below build the edits the annotator needs from the current document; each
returns ``None`` when nothing would change. They never touch the document themselves.

Tracks: two events of one class that overlap in time must be on different tracks (the
CSV's track / source index). Creating, moving, resizing or re-classing an event keeps it
on its track when that is free and otherwise puts it on the lowest free track.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.annotation.document import Annotation, AnnotationEvent, Keyframe, event_from_track
from core.labels.events import Event


@dataclass(frozen=True)
class Edit:
    """Remove ``removed`` and add ``added``; ``text`` names it in the undo history."""

    text: str
    removed: tuple[AnnotationEvent, ...]
    added: tuple[AnnotationEvent, ...]
    merge_key: object | None = None

    def apply(self, doc: Annotation) -> None:
        doc.replace(self.removed, self.added)

    def revert(self, doc: Annotation) -> None:
        doc.replace(self.added, self.removed)

    @property
    def ids(self) -> frozenset[int]:
        """Ids of every event the edit touches."""
        return frozenset(e.id for e in self.removed + self.added)

    def merged(self, later: Edit) -> Edit | None:
        """One edit doing ``self`` then ``later``, if both belong to the same drag; else ``None``."""
        if self.merge_key is None or later.merge_key != self.merge_key:
            return None
        if {e.id for e in later.removed} - {e.id for e in self.added} - {e.id for e in self.removed}:
            return None
        # events present before this drag, then the state after the later edit
        before = {e.id: e for e in self.removed}
        after = {e.id: e for e in self.added}
        for e in later.removed:
            after.pop(e.id, None)
        for e in later.added:
            after[e.id] = e
        removed = tuple(before[i] for i in sorted(before))
        added = tuple(after[i] for i in sorted(after))
        return Edit(self.text, removed, added, self.merge_key)

    @property
    def is_noop(self) -> bool:
        return {e.id: e for e in self.removed} == {e.id: e for e in self.added}


def _edit(
    text: str, old: Sequence[AnnotationEvent], new: Sequence[AnnotationEvent], merge_key=None
) -> Edit | None:
    e = Edit(text, tuple(old), tuple(new), merge_key)
    return None if e.is_noop else e


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


PREDICTION_TOLERANCE_DEG = 5.0
"""Default simplification of predicted trajectories: frame-wise model output jitters by a few degrees."""


def _place(doc: Annotation, events: Iterable[AnnotationEvent]) -> list[AnnotationEvent]:
    """``events`` (changed or added together) on tracks that do not clash, sorted by id.

    Each keeps its own track when no other event of its class overlapping it holds that
    track (events of the document being replaced by ``events`` do not count), and otherwise
    takes the lowest free one; events are placed in time order.
    """
    events = list(events)
    changing = {e.id for e in events}
    placed: list[AnnotationEvent] = []
    others = [o for o in doc.events if o.id not in changing]
    for e in sorted(events, key=lambda x: (x.start, x.id)):
        busy = {o.track for o in others + placed if o.cls == e.cls and o.overlaps(e)}
        if e.track in busy:
            track = 0
            while track in busy:
                track += 1
            e = replace(e, track=track)
        placed.append(e)
    return sorted(placed, key=lambda x: x.id)


def _clip_keyframes(event: AnnotationEvent, start: int, end: int) -> tuple[Keyframe, ...]:
    """The keyframes of ``event`` inside ``[start, end)``; the direction at the nearest edge if none is."""
    inside = tuple(k for k in event.keyframes if start <= k.frame < end)
    if inside:
        return inside
    frame = start if event.keyframes[0].frame < start else end - 1
    az, el = event.direction_at(frame)
    return (Keyframe(frame, az, el, event.distance_at(frame)),)


def _round(value: float, step: float = 0.1) -> float:
    return float(np.round(value / step) * step) + 0.0


def normalise_direction(azimuth: float, elevation: float) -> tuple[float, float]:
    """Azimuth wrapped to [-180, 180), elevation clipped to [-90, 90], both to 0.1 degree."""
    az = (float(azimuth) + 180.0) % 360.0 - 180.0
    return _round(az), _round(float(np.clip(elevation, -90.0, 90.0)))


# --------------------------------------------------------------------------- events


def create_event(
    doc: Annotation,
    cls: int,
    start: int,
    end: int,
    direction: tuple[float, float] = (0.0, 0.0),
    distance: float | None = None,
    merge_key=None,
) -> Edit | None:
    """A new stationary event of class ``cls`` over ``[start, end)`` (frames; order free).

    With a ``merge_key`` the resizes of the same drag fold into this creation.
    """
    start, end = sorted((int(start), int(end)))
    start = max(0, start)
    end = max(end, start + 1)
    az, el = normalise_direction(*direction)
    event = AnnotationEvent(doc.new_id(), int(cls), 0, start, end, (Keyframe(start, az, el, distance),))
    return _edit("Create event", (), _place(doc, [event]), merge_key)


def delete_events(doc: Annotation, ids: Iterable[int]) -> Edit | None:
    old = [doc[i] for i in sorted(set(ids)) if i in doc]
    if not old:
        return None
    return _edit(f"Delete {_plural(len(old), 'event')}", old, ())


def move_events(doc: Annotation, ids: Iterable[int], delta_frames: int, merge_key=None) -> Edit | None:
    """Shift events (with their keyframes) by ``delta_frames``; none moves before frame 0."""
    old = [doc[i] for i in sorted(set(ids)) if i in doc]
    if not old:
        return None
    delta = max(int(delta_frames), -min(e.start for e in old))
    new = []
    for e in old:
        keys = tuple(replace(k, frame=k.frame + delta) for k in e.keyframes)
        new.append(replace(e, start=e.start + delta, end=e.end + delta, keyframes=keys))
    return _edit(f"Move {_plural(len(old), 'event')}", old, _place(doc, new), merge_key)


def resize_event(doc: Annotation, event_id: int, start: int, end: int, merge_key=None) -> Edit | None:
    """Set an event's span to ``[start, end)`` (at least one frame); keyframes outside are dropped."""
    e = doc[event_id]
    start = max(0, int(start))
    end = max(int(end), start + 1)
    new = replace(e, start=start, end=end, keyframes=_clip_keyframes(e, start, end))
    return _edit("Resize event", (e,), _place(doc, [new]), merge_key)


def set_class(doc: Annotation, ids: Iterable[int], cls: int) -> Edit | None:
    old = [doc[i] for i in sorted(set(ids)) if i in doc and doc[i].cls != cls]
    if not old:
        return None
    new = _place(doc, [replace(e, cls=int(cls)) for e in old])
    return _edit(f"Change class of {_plural(len(old), 'event')}", old, new)


def set_track(doc: Annotation, event_id: int, track: int) -> Edit | None:
    """Put an event on ``track`` (validation reports a clash with another event of its class)."""
    e = doc[event_id]
    return _edit("Change track", (e,), (replace(e, track=max(0, int(track))),))


# --------------------------------------------------------------------------- directions


def set_direction(
    doc: Annotation, event_id: int, frame: int, azimuth: float, elevation: float, merge_key=None
) -> Edit | None:
    """Point event ``event_id`` at (azimuth, elevation) at label frame ``frame``.

    A keyframe at ``frame`` is moved there; a stationary event (one keyframe) keeps one
    direction, which changes; a moving event gets a new keyframe at ``frame``. A frame
    outside the event is clamped to its nearest frame.
    """
    e = doc[event_id]
    frame = int(np.clip(frame, e.start, e.end - 1))
    az, el = normalise_direction(azimuth, elevation)
    existing = e.keyframe_at(frame)
    if existing is not None:
        keys = tuple(replace(k, azimuth=az, elevation=el) if k.frame == frame else k for k in e.keyframes)
    elif e.stationary:
        keys = (replace(e.keyframes[0], azimuth=az, elevation=el),)
    else:
        keys = _insert(e.keyframes, Keyframe(frame, az, el, e.distance_at(frame)))
    return _edit("Set direction", (e,), (replace(e, keyframes=keys),), merge_key)


def _insert(keys: Sequence[Keyframe], key: Keyframe) -> tuple[Keyframe, ...]:
    return tuple(sorted([k for k in keys if k.frame != key.frame] + [key], key=lambda k: k.frame))


def add_keyframe(doc: Annotation, event_id: int, frame: int) -> Edit | None:
    """A keyframe at ``frame`` with the direction the event has there: the event becomes moving."""
    e = doc[event_id]
    frame = int(np.clip(frame, e.start, e.end - 1))
    if e.keyframe_at(frame) is not None:
        return None
    az, el = e.direction_at(frame)
    key = Keyframe(frame, round(az, 4), round(el, 4), e.distance_at(frame))
    return _edit("Add keyframe", (e,), (replace(e, keyframes=_insert(e.keyframes, key)),))


def move_keyframe(
    doc: Annotation,
    event_id: int,
    frame: int,
    new_frame: int,
    azimuth: float | None = None,
    elevation: float | None = None,
    merge_key=None,
) -> Edit | None:
    """Move the keyframe at ``frame`` to ``new_frame`` (inside the event, not onto another keyframe)."""
    e = doc[event_id]
    key = e.keyframe_at(frame)
    if key is None:
        return None
    new_frame = int(np.clip(new_frame, e.start, e.end - 1))
    if new_frame != frame and e.keyframe_at(new_frame) is not None:
        new_frame = frame
    az = key.azimuth if azimuth is None else azimuth
    el = key.elevation if elevation is None else elevation
    az, el = normalise_direction(az, el)
    keys = _insert(
        [k for k in e.keyframes if k.frame != frame], replace(key, frame=new_frame, azimuth=az, elevation=el)
    )
    return _edit("Move keyframe", (e,), (replace(e, keyframes=keys),), merge_key)


def delete_keyframe(doc: Annotation, event_id: int, frame: int) -> Edit | None:
    """Remove the keyframe at ``frame``; the last keyframe of an event stays."""
    e = doc[event_id]
    if e.keyframe_at(frame) is None or e.stationary:
        return None
    keys = tuple(k for k in e.keyframes if k.frame != frame)
    return _edit("Delete keyframe", (e,), (replace(e, keyframes=keys),))


def split_event(doc: Annotation, event_id: int, frame: int) -> Edit | None:
    """Cut an event in two at label frame ``frame`` (which starts the second part).

    Both parts keep the trajectory exactly: each gets a keyframe at its new edge with the
    direction the event had there. The second part is a new event on the same track.
    """
    e = doc[event_id]
    frame = int(frame)
    if not e.start < frame < e.end:
        return None

    def edge(f: int) -> Keyframe:
        az, el = e.direction_at(f)
        return Keyframe(f, round(az, 4), round(el, 4), e.distance_at(f))

    first_keys = [k for k in e.keyframes if k.frame < frame]
    second_keys = [k for k in e.keyframes if k.frame >= frame]
    if not e.stationary:
        if not first_keys or first_keys[-1].frame != frame - 1:
            first_keys.append(edge(frame - 1))
        if not second_keys or second_keys[0].frame != frame:
            second_keys.insert(0, edge(frame))
    first_keys = first_keys or [replace(e.keyframes[0], frame=e.start)]
    second_keys = second_keys or [replace(e.keyframes[-1], frame=frame)]
    first = replace(e, end=frame, keyframes=tuple(first_keys))
    second = AnnotationEvent(doc.new_id(), e.cls, e.track, frame, e.end, tuple(second_keys))
    return _edit("Split event", (e,), (first, second))


def set_distance(doc: Annotation, event_id: int, distance: float | None) -> Edit | None:
    """Give every keyframe of an event the distance ``distance`` (``None`` removes it)."""
    e = doc[event_id]
    value = None if distance is None else max(0.0, float(distance))
    keys = tuple(replace(k, distance=value) for k in e.keyframes)
    return _edit("Set distance", (e,), (replace(e, keyframes=keys),))


def make_stationary(doc: Annotation, event_id: int, frame: int) -> Edit | None:
    """Keep one keyframe: the direction the event has at ``frame``."""
    e = doc[event_id]
    if e.stationary:
        return None
    frame = int(np.clip(frame, e.start, e.end - 1))
    az, el = e.direction_at(frame)
    key = Keyframe(e.start, round(az, 4), round(el, 4), e.distance_at(frame))
    return _edit("Make stationary", (e,), (replace(e, keyframes=(key,)),))


def simplify(doc: Annotation, ids: Iterable[int], tolerance_deg: float = 2.0) -> Edit | None:
    """Fewer keyframes: keep only those needed to stay within ``tolerance_deg`` of the trajectory."""
    old = [doc[i] for i in sorted(set(ids)) if i in doc]
    new = [event_from_track(e.id, e.to_event(), tolerance_deg) for e in old]
    changed = [(o, n) for o, n in zip(old, new, strict=True) if o != n]
    if not changed:
        return None
    return _edit(
        f"Simplify {_plural(len(changed), 'trajectory')}", [o for o, _ in changed], [n for _, n in changed]
    )


# --------------------------------------------------------------------------- model in the loop


def add_events(
    doc: Annotation,
    events: Iterable[Event],
    tolerance_deg: float | None = PREDICTION_TOLERANCE_DEG,
    text: str = "Accept predictions",
) -> Edit | None:
    """Per-frame events (model predictions) as new annotation events.

    Trajectories are simplified to keyframes within ``tolerance_deg`` (``None``: exact);
    each event keeps its track where free and otherwise takes the lowest free one.
    """
    new = []
    for ev in events:
        e = event_from_track(doc.new_id(), ev, tolerance_deg)
        if tolerance_deg is not None:  # a simplified trajectory: 0.1 degree is plenty
            keys = tuple(
                replace(k, azimuth=_round(k.azimuth), elevation=_round(k.elevation)) for k in e.keyframes
            )
            e = replace(e, keyframes=keys)
        new.append(e)
    if not new:
        return None
    return _edit(f"{text} ({_plural(len(new), 'event')})", (), _place(doc, new))
