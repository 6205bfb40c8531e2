"""Checks run before an annotation is saved: ranges and same-class same-track overlaps.

:func:`validate` returns one :class:`Problem` per finding, naming the events involved so
that the GUI can select them; an empty list means the document can be written in any
DCASE format (a format with distance also needs every event to have one, which
:func:`validate` checks when given that format).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.annotation.document import Annotation, AnnotationEvent
from core.labels.classes import ClassSet
from core.labels.dcase_csv import FORMATS
from core.labels.table import LABEL_HOP_S


@dataclass(frozen=True)
class Problem:
    """What is wrong and with which events (ids)."""

    ids: tuple[int, ...]
    message: str


def _where(e: AnnotationEvent, classes: ClassSet | None) -> str:
    name = classes[e.cls] if classes is not None and 0 <= e.cls < len(classes) else f"class {e.cls}"
    return f"{name} at {e.onset_s:.1f}-{e.offset_s:.1f} s (track {e.track})"


def event_problems(
    e: AnnotationEvent,
    classes: ClassSet | None = None,
    n_frames: int | None = None,
    fmt: str | None = None,
) -> list[Problem]:
    """The problems of one event on its own (everything :func:`validate` checks but overlaps).

    Restoring an autosave refuses an event with any of these (``core.annotation.autosave``), so a
    restored event is one a save would accept.
    """
    problems: list[Problem] = []
    needs_distance = fmt is not None and fmt in FORMATS and FORMATS[fmt].has_distance
    where = _where(e, classes)
    if classes is not None and not 0 <= e.cls < len(classes):
        problems.append(
            Problem(
                (e.id,), f"{where}: class index {e.cls} is not in {classes.name} ({len(classes)} classes)"
            )
        )
    elif e.cls < 0:
        problems.append(Problem((e.id,), f"{where}: negative class index {e.cls}"))
    if e.track < 0:
        problems.append(Problem((e.id,), f"{where}: negative track {e.track}"))
    if e.start < 0:
        problems.append(Problem((e.id,), f"{where}: starts before the recording (frame {e.start})"))
    for k in e.keyframes:
        if not (-180.0 <= k.azimuth <= 180.0 and -90.0 <= k.elevation <= 90.0):  # NaN fails too
            problems.append(
                Problem(
                    (e.id,),
                    f"{where}: direction ({k.azimuth:g}, {k.elevation:g}) at {k.frame * LABEL_HOP_S:.1f} s is out of range",
                )
            )
        if k.distance is not None and not (math.isfinite(k.distance) and k.distance >= 0):
            what = "negative" if k.distance < 0 else "impossible"
            problems.append(Problem((e.id,), f"{where}: {what} distance {k.distance:g}"))
        if needs_distance and k.distance is None:
            problems.append(
                Problem((e.id,), f"{where}: format {fmt} needs a distance and this event has none")
            )
            break
    if n_frames is not None and e.end > n_frames:
        problems.append(
            Problem((e.id,), f"{where}: ends after the recording ({n_frames * LABEL_HOP_S:.1f} s)")
        )
    return problems


def overlap_problems(doc: Annotation, classes: ClassSet | None = None) -> list[Problem]:
    """Two events of one class on one track at the same time (a label file could not tell them apart)."""
    problems: list[Problem] = []
    by_key: dict[tuple[int, int], list[AnnotationEvent]] = {}
    for e in doc.events:
        by_key.setdefault((e.cls, e.track), []).append(e)
    for group in by_key.values():
        group.sort(key=lambda x: (x.start, x.id))
        longest = group[0]  # the event reaching furthest among those before
        for b in group[1:]:
            if b.start < longest.end:
                problems.append(
                    Problem(
                        (longest.id, b.id),
                        f"{_where(longest, classes)} overlaps {_where(b, classes)}: same class on the same track",
                    )
                )
            if b.end > longest.end:
                longest = b
    return problems


def validate(
    doc: Annotation,
    classes: ClassSet | None = None,
    n_frames: int | None = None,
    fmt: str | None = None,
) -> list[Problem]:
    """Every problem that would make the saved labels wrong.

    * a class index outside ``classes``; a negative track;
    * a direction outside azimuth [-180, 180] / elevation [-90, 90] (or NaN), or a distance
      that is negative, infinite or NaN;
    * an event past the end of the recording (``n_frames`` label frames);
    * two overlapping events of one class on one track (the file could not tell them apart);
    * with ``fmt`` a format with distance: an event without distance.
    """
    problems = [p for e in doc.events for p in event_problems(e, classes, n_frames, fmt)]
    return problems + overlap_problems(doc, classes)
