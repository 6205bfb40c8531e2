"""The per-event error inspector: every error of a prediction against its reference, as the
official DCASE 2020 counting sees it.

:func:`find_errors` lists the errors of one recording, :func:`find_batch_errors` those of
a batch; each is a :class:`SeldErrorEntry` of one of four kinds (:data:`KINDS`):

``"missed"``
    a reference event of class ``cls`` with no prediction of its class (in the segment, or
    none in a common frame: ``unaligned_segments``);
``"false_alarm"``
    a prediction of class ``cls`` where the reference has none of that class;
``"mislocated"``
    a reference event of class ``cls`` detected, but more than ``doa_threshold`` (20)
    degrees off on average over the frames where both are active;
``"wrong_class"``
    a missed reference of class ``cls`` and a false alarm of class ``pred_cls`` in the same
    segment, overlapping in time and near each other (their mean angular distance over the
    common frames, the nearest pair per frame, is at most ``doa_threshold``): the model
    heard something there but named it wrongly.

How the kinds map onto the official counts
------------------------------------------
The DCASE 2020 scorer decides once per class and 1 s segment (10 label frames), through
:func:`core.metrics.seld.decide_dcase2020`, which this module calls too. Each decision
other than a true positive belongs to exactly one entry, and an entry covers a run of
consecutive segments with the same kind and classes (``segments``); so for any file,
summing ``len(entry.segments)`` over its entries (per class where a class is given):

* ``FN = missed + mislocated + wrong_class`` (a ``wrong_class`` segment is an FN of ``cls``);
* ``FP = false_alarm + wrong_class`` (a ``wrong_class`` segment is an FP of ``pred_cls``);
* ``TP = Nref - FN``;
* ``DE_TP = TP + mislocated``; ``DE_FN = missed + wrong_class``;
* ``Nsys = TP + FP + mislocated + unaligned`` (``unaligned``: the ``unaligned_segments`` of
  ``missed`` and ``wrong_class`` entries, where ``cls`` was also predicted in the segment,
  in no common frame: the official code counts a miss and no false alarm);
* a ``mislocated`` entry's ``segment_errors`` are the very terms the official ``DE_sum``
  adds for those segments;
* every ``wrong_class`` segment pairs one FN and one FP of one segment (one to one), so the
  wrong-class segments of a segment are at most its substitutions ``min(FP_s, FN_s)``.

Rows at or past the clip length ``n_frames`` are not scored and give no entry.
``docs/METRICS.md`` ("The error inspector") says the same with an example.

:func:`confusion_summary` turns entries into a per-class table: how often each class was
missed, and which classes were predicted in its place. :func:`sort_errors` orders entries
by kind, class, file, size of error or time. The module is GUI-free and prints nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.common.errors import SeldError
from core.labels.events import FrameSpan
from core.labels.table import LabelRow, LabelTable
from core.metrics.seld import (
    DEFAULT_N_FRAMES,
    DOA_THRESHOLD_DEG,
    SegmentRows,
    decide_dcase2020,
    frame_radians,
    segment_rows,
)
from core.spatial.directions import angular_distance, azel_to_xyz, xyz_to_azel

__all__ = [
    "KINDS",
    "SORT_KEYS",
    "ConfusionRow",
    "ConfusionTable",
    "SeldErrorEntry",
    "confusion_summary",
    "find_batch_errors",
    "find_errors",
    "sort_errors",
]

KINDS: tuple[str, ...] = ("missed", "false_alarm", "mislocated", "wrong_class")
"""The kinds of error, in the order :func:`sort_errors` sorts them."""

SORT_KEYS: tuple[str, ...] = ("kind", "class", "file", "error", "time")
"""What :func:`sort_errors` can sort by."""

Doa = tuple[int, float, float]
"""``(frame, azimuth, elevation)`` of one label row, degrees."""


@dataclass(frozen=True)
class SeldErrorEntry(FrameSpan):
    """One error of the model against the reference (see the module docstring for the kinds).

    ``cls`` is the entry's class: the reference class (``missed``, ``mislocated``,
    ``wrong_class``) or the predicted class (``false_alarm``). ``pred_cls`` is the class the
    model predicted (``cls`` for ``mislocated`` and ``false_alarm``, the other class for
    ``wrong_class``, ``None`` for ``missed``). ``file`` names the recording.

    ``start``/``end`` (label frames of 100 ms, ``[start, end)``; in seconds ``onset_s`` and
    ``offset_s``, as for an :class:`~core.labels.events.Event`) span the rows shown
    (``ref_doas`` and ``pred_doas``) in ``segments``, the 1 s scoring segments the entry
    covers (consecutive). ``angular_error`` (degrees): for ``mislocated`` the mean of
    ``segment_errors``, the official per-segment average errors; for ``wrong_class`` the
    mean over segments of the distance between the missed reference and the other class's
    prediction (at most ``doa_threshold``); ``None`` for the other kinds.
    ``ref_direction``/``pred_direction`` are the mean directions ``(azimuth, elevation)``
    of ``ref_doas``/``pred_doas`` (``None`` when there are none): the reference rows of
    ``cls`` and the predicted rows of ``pred_cls`` in the entry's segments, every row as
    ``(frame, azimuth, elevation)``. ``unaligned_segments`` (``missed``, ``wrong_class``)
    are the segments where ``cls`` was predicted too, but in no frame of the reference.
    """

    kind: str
    cls: int
    pred_cls: int | None
    file: str
    start: int
    end: int
    segments: tuple[int, ...]
    angular_error: float | None = None
    segment_errors: tuple[float, ...] = ()
    ref_direction: tuple[float, float] | None = None
    pred_direction: tuple[float, float] | None = None
    ref_doas: tuple[Doa, ...] = ()
    pred_doas: tuple[Doa, ...] = ()
    unaligned_segments: tuple[int, ...] = ()

    @property
    def n_segments(self) -> int:
        """The segments (decisions of the official counting) the entry stands for."""
        return len(self.segments)


# --------------------------------------------------------------------------- finding errors


@dataclass
class _Atom:
    """One segment's decision that is an error, before runs of segments are merged."""

    kind: str
    cls: int
    pred_cls: int | None
    segment: int
    error: float | None = None
    unaligned: bool = False


def _nearness(ref: dict[int, list[LabelRow]], pred: dict[int, list[LabelRow]]) -> float | None:
    """Mean over the common frames of the smallest angle between a reference and a predicted
    direction of the frame (degrees); ``None`` without a common frame."""
    dists = []
    for frame, ref_rows in ref.items():
        pred_rows = pred.get(frame)
        if pred_rows is None:
            continue
        ra = np.array([(r.azimuth, r.elevation) for r in ref_rows])
        pa = np.array([(r.azimuth, r.elevation) for r in pred_rows])
        d = angular_distance(ra[:, None, 0], ra[:, None, 1], pa[None, :, 0], pa[None, :, 1])
        dists.append(float(np.min(d)))
    return float(np.mean(dists)) if dists else None


def _wrong_class_pairs(
    ref_seg: dict[int, dict[int, list[LabelRow]]],
    pred_seg: dict[int, dict[int, list[LabelRow]]],
    missed: list[int],
    false_alarms: list[int],
    thr: float,
) -> list[tuple[int, int, float]]:
    """``(missed class, predicted class, distance)`` pairs of one segment, one to one: the most
    pairs that overlap in time and lie within ``thr`` degrees, then the nearest."""
    if not missed or not false_alarms:
        return []
    big = 1e6 * (1 + len(missed) + len(false_alarms))  # costlier than any set of valid pairs
    cost = np.full((len(missed), len(false_alarms)), big)
    for i, a in enumerate(missed):
        for j, b in enumerate(false_alarms):
            d = _nearness(ref_seg[a], pred_seg[b])
            if d is not None and d <= thr:
                cost[i, j] = d
    from scipy.optimize import linear_sum_assignment  # on first use: ~0.5 s of imports

    rows, cols = linear_sum_assignment(cost)
    return [
        (missed[i], false_alarms[j], float(cost[i, j]))
        for i, j in zip(rows, cols, strict=True)
        if cost[i, j] < big
    ]


def _segment_atoms(
    index: int,
    ref_seg: dict[int, dict[int, list[LabelRow]]],
    pred_seg: dict[int, dict[int, list[LabelRow]]],
    thr: float,
) -> list[_Atom]:
    """The errors of one segment, one atom per official decision that is not a TP."""
    atoms: list[_Atom] = []
    missed: list[int] = []
    false_alarms: list[int] = []
    unaligned: set[int] = set()
    for cls in sorted(ref_seg.keys() | pred_seg.keys()):
        ref = ref_seg.get(cls)
        pred = pred_seg.get(cls)
        outcome, error = decide_dcase2020(
            None if ref is None else frame_radians(ref), None if pred is None else frame_radians(pred), thr
        )
        if outcome == "mislocated":
            atoms.append(_Atom("mislocated", cls, cls, index, error))
        elif outcome in ("missed", "unaligned"):
            missed.append(cls)
            if outcome == "unaligned":
                unaligned.add(cls)
        elif outcome == "false_alarm":
            false_alarms.append(cls)
    pairs = _wrong_class_pairs(ref_seg, pred_seg, missed, false_alarms, thr)
    paired_ref = {a for a, _, _ in pairs}
    paired_pred = {b for _, b, _ in pairs}
    atoms += [_Atom("wrong_class", a, b, index, d, a in unaligned) for a, b, d in pairs]
    atoms += [_Atom("missed", a, None, index, None, a in unaligned) for a in missed if a not in paired_ref]
    atoms += [_Atom("false_alarm", b, b, index) for b in false_alarms if b not in paired_pred]
    return atoms


def _mean_direction(doas: Sequence[Doa]) -> tuple[float, float] | None:
    if not doas:
        return None
    arr = np.array([(az, el) for _, az, el in doas], dtype=np.float64)
    if (arr == arr[0]).all():  # one direction: itself, exactly
        return float(arr[0, 0]), float(arr[0, 1])
    v = azel_to_xyz(arr[:, 0], arr[:, 1]).sum(axis=0)
    if np.linalg.norm(v) < 1e-9 * len(doas):  # directions cancel out: show the first
        return float(arr[0, 0]), float(arr[0, 1])
    az, el = xyz_to_azel(v)
    return float(az), float(el)


def _doas(rows: SegmentRows, segments: Sequence[int], cls: int | None) -> tuple[Doa, ...]:
    if cls is None:
        return ()
    return tuple(
        (r.frame, float(r.azimuth), float(r.elevation))
        for s in segments
        for frame_rows in rows.get(s, {}).get(cls, {}).values()
        for r in frame_rows
    )


def _entry(run: list[_Atom], ref_rows: SegmentRows, pred_rows: SegmentRows, name: str) -> SeldErrorEntry:
    first = run[0]
    segments = tuple(a.segment for a in run)
    ref_doas = _doas(ref_rows, segments, None if first.kind == "false_alarm" else first.cls)
    pred_doas = _doas(pred_rows, segments, first.pred_cls)
    frames = [d[0] for d in ref_doas + pred_doas]
    errors = tuple(a.error for a in run if a.error is not None)
    return SeldErrorEntry(
        kind=first.kind,
        cls=first.cls,
        pred_cls=first.pred_cls,
        file=name,
        start=min(frames),
        end=max(frames) + 1,
        segments=segments,
        angular_error=float(np.mean(errors)) if errors else None,
        segment_errors=errors if first.kind == "mislocated" else (),
        ref_direction=_mean_direction(ref_doas),
        pred_direction=_mean_direction(pred_doas),
        ref_doas=ref_doas,
        pred_doas=pred_doas,
        unaligned_segments=tuple(a.segment for a in run if a.unaligned),
    )


def find_errors(
    ref: LabelTable,
    pred: LabelTable,
    n_frames: int | None = None,
    *,
    doa_threshold: float = DOA_THRESHOLD_DEG,
    name: str = "",
) -> list[SeldErrorEntry]:
    """Every error of ``pred`` against ``ref`` in one recording, as :class:`SeldErrorEntry` items.

    ``n_frames`` is the clip length in label frames (the recording's; ``None``: 600, the
    DCASE 2020 scorer's); rows at or past it are not scored and give no entry.
    ``doa_threshold`` is the metric's location threshold (20 degrees). ``name`` names the
    file in the entries (default: the reference's path, else the prediction's, else "").
    The entries map onto the official counts exactly (module docstring); they are sorted by
    start frame, then kind (:data:`KINDS` order), then class.
    """
    frames = DEFAULT_N_FRAMES if n_frames is None else n_frames
    if isinstance(frames, bool) or not isinstance(frames, int | np.integer) or frames < 0:
        raise SeldError(f"the clip length in frames must be a non-negative integer, not {n_frames!r}")
    name = name or ref.path or pred.path or ""
    thr = float(doa_threshold)
    ref_rows, _ = segment_rows(ref, int(frames))
    pred_rows, _ = segment_rows(pred, int(frames))
    atoms: list[_Atom] = []
    for index in sorted(ref_rows.keys() | pred_rows.keys()):
        atoms += _segment_atoms(index, ref_rows.get(index, {}), pred_rows.get(index, {}), thr)
    atoms.sort(
        key=lambda a: (KINDS.index(a.kind), a.cls, -1 if a.pred_cls is None else a.pred_cls, a.segment)
    )
    entries: list[SeldErrorEntry] = []
    run: list[_Atom] = []
    for atom in atoms:
        last = run[-1] if run else None
        if last is not None and (
            (atom.kind, atom.cls, atom.pred_cls) != (last.kind, last.cls, last.pred_cls)
            or atom.segment != last.segment + 1
        ):
            entries.append(_entry(run, ref_rows, pred_rows, name))
            run = []
        run.append(atom)
    if run:
        entries.append(_entry(run, ref_rows, pred_rows, name))
    entries.sort(key=lambda e: (e.start, KINDS.index(e.kind), e.cls))
    return entries


def find_batch_errors(
    items: Iterable[tuple[str, LabelTable, LabelTable, int | None]],
    *,
    doa_threshold: float = DOA_THRESHOLD_DEG,
) -> list[SeldErrorEntry]:
    """The errors of every ``(name, ref, pred, n_frames)`` recording of a batch, file after file
    (:func:`find_errors` on each)."""
    out: list[SeldErrorEntry] = []
    for name, ref, pred, n_frames in items:
        out += find_errors(ref, pred, n_frames, doa_threshold=doa_threshold, name=name)
    return out


# --------------------------------------------------------------------------- sorting


def sort_errors(
    entries: Iterable[SeldErrorEntry], by: str = "time", reverse: bool = False
) -> list[SeldErrorEntry]:
    """``entries`` sorted by one of :data:`SORT_KEYS`; ties go by file, then time.

    ``"kind"`` (:data:`KINDS` order), ``"class"`` (the entry's ``cls``), ``"file"``,
    ``"time"`` (file, then start), ``"error"`` (largest first: angular error, entries
    without one after those with one, longer first among them).
    """
    if by not in SORT_KEYS:
        raise SeldError(f"cannot sort errors by {by!r} (known: {', '.join(SORT_KEYS)})")

    def key(e: SeldErrorEntry) -> tuple:
        where = (e.file, e.start, KINDS.index(e.kind), e.cls)
        if by == "kind":
            return (KINDS.index(e.kind), *where)
        if by == "class":
            return (e.cls, *where)
        if by == "error":
            angle = -e.angular_error if e.angular_error is not None else math.inf
            return (angle, -e.n_frames, *where)
        return where

    return sorted(entries, key=key, reverse=reverse)


# --------------------------------------------------------------------------- confusion summary


@dataclass(frozen=True)
class ConfusionRow:
    """The errors of one class, counted in 1 s segments (the official counting's unit).

    ``missed``: segments where a reference of the class went undetected (``missed`` and
    ``wrong_class`` entries of the class); ``replaced_by``: of those, ``(predicted class,
    segments)`` for each class predicted in its place (``wrong_class``), most first;
    ``mislocated``: segments detected more than the threshold off; ``false_alarms``:
    segments where the class was predicted without a reference of it (``false_alarm``
    entries, and ``wrong_class`` entries where it is the predicted class).
    """

    cls: int
    missed: int
    replaced_by: tuple[tuple[int, int], ...]
    mislocated: int
    false_alarms: int

    @property
    def replaced(self) -> int:
        """Missed segments where another class was predicted in its place."""
        return sum(n for _, n in self.replaced_by)


@dataclass(frozen=True)
class ConfusionTable:
    """Per-class confusion summary (:func:`confusion_summary`): one :class:`ConfusionRow` per class
    with any error, classes ascending."""

    rows: tuple[ConfusionRow, ...]

    def row(self, cls: int) -> ConfusionRow | None:
        """The row of class ``cls``, or ``None`` when it has no error."""
        return next((r for r in self.rows if r.cls == cls), None)

    def matrix(self, n_classes: int) -> np.ndarray:
        """``(n_classes, n_classes)`` int array: ``[reference class, predicted class]`` wrong-class segments."""
        out = np.zeros((n_classes, n_classes), dtype=np.int64)
        for r in self.rows:
            for other, n in r.replaced_by:
                if r.cls >= n_classes or other >= n_classes:
                    raise SeldError(
                        f"class {max(r.cls, other)} is outside the {n_classes} classes of the matrix"
                    )
                out[r.cls, other] += n
        return out


def confusion_summary(entries: Iterable[SeldErrorEntry]) -> ConfusionTable:
    """Which classes are missed, and which are predicted in their place (see :class:`ConfusionRow`)."""
    missed: dict[int, int] = {}
    replaced: dict[int, dict[int, int]] = {}
    mislocated: dict[int, int] = {}
    false_alarms: dict[int, int] = {}
    for e in entries:
        n = e.n_segments
        if e.kind in ("missed", "wrong_class"):
            missed[e.cls] = missed.get(e.cls, 0) + n
        if e.kind == "wrong_class" and e.pred_cls is not None:
            by = replaced.setdefault(e.cls, {})
            by[e.pred_cls] = by.get(e.pred_cls, 0) + n
            false_alarms[e.pred_cls] = false_alarms.get(e.pred_cls, 0) + n
        elif e.kind == "false_alarm":
            false_alarms[e.cls] = false_alarms.get(e.cls, 0) + n
        elif e.kind == "mislocated":
            mislocated[e.cls] = mislocated.get(e.cls, 0) + n
    classes = sorted(missed.keys() | mislocated.keys() | false_alarms.keys())
    rows = tuple(
        ConfusionRow(
            cls=c,
            missed=missed.get(c, 0),
            replaced_by=tuple(sorted(replaced.get(c, {}).items(), key=lambda kv: (-kv[1], kv[0]))),
            mislocated=mislocated.get(c, 0),
            false_alarms=false_alarms.get(c, 0),
        )
        for c in classes
    )
    return ConfusionTable(rows)
