"""The per-event error inspector (core.metrics.errors): its kinds, and that they add up to the
official DCASE 2020 counts.

Unless said otherwise directions lie on the horizon, so the angular distance is the azimuth
difference; clips are 100 frames (10 segments of 1 s).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.common.errors import SeldError
from core.labels.table import LabelRow, LabelTable
from core.metrics.errors import (
    KINDS,
    ConfusionRow,
    SeldErrorEntry,
    confusion_summary,
    find_batch_errors,
    find_errors,
    sort_errors,
)
from core.metrics.seld import SeldScorer


def rows(cls: int, frames, az: float, el: float = 0.0, track: int = 0) -> list[LabelRow]:
    return [LabelRow(f, cls, track, float(az), float(el)) for f in frames]


def table(*groups: list[LabelRow]) -> LabelTable:
    return LabelTable([r for g in groups for r in g])


# The scene of most tests:
# class 1: reference frames 0-29 at 0 deg; predicted at 5 deg in 0-9 (segment 0: TP), at 50 deg
#          in 10-19 (segment 1: 50 deg off -> mislocated), not in 20-29 (segment 2: missed);
# class 2: reference frames 40-49 at 90 deg, nothing of class 2 predicted; class 3 predicted in
#          42-47 at 95 deg (segment 4): 5 deg from the missed class 2 -> wrong class;
# class 4: predicted in 60-75 at -90 deg, no reference: false alarm over segments 6 and 7;
# class 5: reference 80-83, predicted 86-89 (segment 8, no common frame): missed, unaligned.
REF = table(rows(1, range(0, 30), 0), rows(2, range(40, 50), 90), rows(5, range(80, 84), 10))
PRED = table(
    rows(1, range(0, 10), 5),
    rows(1, range(10, 20), 50),
    rows(3, range(42, 48), 95),
    rows(4, range(60, 76), -90),
    rows(5, range(86, 90), 10),
)


def test_each_kind_of_error_in_a_scene():
    entries = find_errors(REF, PRED, 100, name="scene")
    got = [(e.kind, e.cls, e.pred_cls, e.start, e.end, e.segments) for e in entries]
    assert got == [
        ("mislocated", 1, 1, 10, 20, (1,)),
        ("missed", 1, None, 20, 30, (2,)),
        ("wrong_class", 2, 3, 40, 50, (4,)),  # span: reference 40-49 and prediction 42-47
        ("false_alarm", 4, 4, 60, 76, (6, 7)),  # two segments merged into one entry
        ("missed", 5, None, 80, 84, (8,)),
    ]
    mislocated, missed, wrong, false_alarm, unaligned = entries
    assert all(e.file == "scene" for e in entries)
    assert mislocated.angular_error == pytest.approx(50) and mislocated.segment_errors == pytest.approx((50,))
    assert mislocated.ref_direction == (0.0, 0.0) and mislocated.pred_direction == (50.0, 0.0)
    assert [d[0] for d in mislocated.ref_doas] == list(range(10, 20))
    assert missed.angular_error is None and missed.pred_direction is None and missed.pred_doas == ()
    assert wrong.angular_error == pytest.approx(5) and wrong.pred_direction == (95.0, 0.0)
    assert (wrong.onset_s, wrong.offset_s) == pytest.approx((4.0, 5.0))
    assert false_alarm.ref_doas == () and false_alarm.pred_direction == (-90.0, 0.0)
    assert false_alarm.n_frames == 16 and false_alarm.n_segments == 2
    assert unaligned.unaligned_segments == (8,) and missed.unaligned_segments == ()


def test_the_scene_adds_up_to_the_official_counts():
    # Official counts: class 1: Nref 3, Nsys 2, TP 1, FN 2 (one mislocated), DE_TP 2;
    # class 2: FN 1; class 3: FP 1; class 4: FP 2; class 5: Nref 1, Nsys 1, FN 1 (no FP).
    scorer = SeldScorer("dcase2020")
    f = scorer.update(REF, PRED, n_frames=100)
    assert (f.Nref, f.Nsys, f.TP, f.FN, f.FP, f.DE_TP, f.DE_FN) == (5, 6, 1, 4, 3, 2, 3)
    _check_tallies(REF, PRED, 100, n_classes=14)


def test_a_class_far_from_the_missed_one_is_no_wrong_class():
    # class 3 at 50 deg from the missed class 2 (more than 20): a miss and a false alarm
    pred = table(rows(3, range(42, 48), 140))
    kinds = [(e.kind, e.cls) for e in find_errors(table(rows(2, range(40, 50), 90)), pred, 100)]
    assert kinds == [("missed", 2), ("false_alarm", 3)]
    # ... and so is one in the same segment but in no common frame
    pred = table(rows(3, range(40, 50), 90))
    kinds = [(e.kind, e.cls) for e in find_errors(table(rows(2, range(30, 38), 90)), pred, 100)]
    assert kinds == [("missed", 2), ("false_alarm", 3)]


def test_wrong_class_pairs_are_one_to_one_and_nearest_first():
    # two missed classes (1 at 0 deg, 2 at 40 deg) and two false alarms (3 at 35 deg, 4 at 10 deg):
    # 1-4 (10 deg) and 2-3 (5 deg) pair; 1-3 (35) is too far. Each FN and FP in one pair only.
    ref = table(rows(1, range(0, 10), 0), rows(2, range(0, 10), 40))
    pred = table(rows(3, range(0, 10), 35), rows(4, range(0, 10), 10))
    got = [(e.kind, e.cls, e.pred_cls, e.angular_error) for e in find_errors(ref, pred, 100)]
    assert got == [("wrong_class", 1, 4, pytest.approx(10)), ("wrong_class", 2, 3, pytest.approx(5))]
    # one missed class, two candidates: the nearer one pairs, the other stays a false alarm
    ref = table(rows(1, range(0, 10), 0))
    got = [(e.kind, e.cls, e.pred_cls) for e in find_errors(ref, pred, 100)]
    assert got == [("false_alarm", 3, 3), ("wrong_class", 1, 4)]


def test_runs_merge_only_consecutive_segments_of_the_same_kind_and_classes():
    # class 0 missed in segments 0, 1 and 3 (a TP in segment 2): two entries
    ref = table(rows(0, range(0, 40), 0))
    pred = table(rows(0, range(20, 30), 0))
    got = [(e.kind, e.segments, e.start, e.end) for e in find_errors(ref, pred, 100)]
    assert got == [("missed", (0, 1), 0, 20), ("missed", (3,), 30, 40)]


def test_rows_past_the_clip_give_no_entry_and_the_default_clip_is_600_frames():
    ref = table(rows(0, range(95, 105), 0))
    entries = find_errors(ref, LabelTable(), 100)
    assert [(e.segments, e.start, e.end) for e in entries] == [((9,), 95, 100)]
    assert [e.segments for e in find_errors(ref, LabelTable())] == [(9, 10)]
    assert find_errors(table(rows(0, [600], 0)), LabelTable()) == []
    with pytest.raises(SeldError, match="non-negative integer"):
        find_errors(ref, LabelTable(), -1)


def test_moving_and_several_instances_follow_the_official_decision():
    # two instances of class 0 in each frame (0 and 90 deg), predicted at 2 and 88 deg: the
    # official per-frame distance is the Hungarian sum 2 + 2 = 4 <= 20: TP, no entry.
    ref = table(rows(0, range(10), 0), rows(0, range(10), 90, track=1))
    pred = table(rows(0, range(10), 2), rows(0, range(10), 88, track=1))
    assert find_errors(ref, pred, 100) == []
    # 12 deg off each: the sum 24 > 20 -> mislocated by the official average (24)
    pred = table(rows(0, range(10), 12), rows(0, range(10), 78, track=1))
    (entry,) = find_errors(ref, pred, 100)
    assert entry.kind == "mislocated" and entry.angular_error == pytest.approx(24)
    assert len(entry.ref_doas) == 20 and len(entry.pred_doas) == 20


def test_confusion_summary_counts_segments_per_class():
    entries = find_errors(REF, PRED, 100) + find_errors(
        table(rows(2, range(0, 20), 0)), table(rows(3, range(0, 20), 10)), 100, name="b"
    )
    summary = confusion_summary(entries)
    assert summary.row(2) == ConfusionRow(
        cls=2, missed=3, replaced_by=((3, 3),), mislocated=0, false_alarms=0
    )
    assert summary.row(2).replaced == 3
    assert summary.row(1) == ConfusionRow(cls=1, missed=1, replaced_by=(), mislocated=1, false_alarms=0)
    assert summary.row(3).false_alarms == 3 and summary.row(4).false_alarms == 2
    assert summary.row(0) is None
    m = summary.matrix(14)
    assert m[2, 3] == 3 and m.sum() == 3
    with pytest.raises(SeldError, match="outside the 3 classes"):
        summary.matrix(3)


def test_sorting_and_a_batch():
    items = [("b", REF, PRED, 100), ("a", table(rows(0, range(10), 0)), table(rows(0, range(10), 90)), 100)]
    entries = find_batch_errors(items)
    assert [e.file for e in entries] == ["b"] * 5 + ["a"]
    assert [e.file for e in sort_errors(entries, "file")][0] == "a"
    by_error = sort_errors(entries, "error")
    assert [(e.kind, e.angular_error) for e in by_error[:3]] == [
        ("mislocated", pytest.approx(90)),
        ("mislocated", pytest.approx(50)),
        ("wrong_class", pytest.approx(5)),
    ]
    assert by_error[3].kind == "false_alarm"  # no angle: the longest next (1.6 s)
    assert [e.kind for e in sort_errors(entries, "kind")] == sorted(
        (e.kind for e in entries), key=KINDS.index
    )
    assert [e.cls for e in sort_errors(entries, "class", reverse=True)] == [5, 4, 2, 1, 1, 0]
    with pytest.raises(SeldError, match="cannot sort errors by 'size'"):
        sort_errors(entries, "size")


# --------------------------------------------------------------------------- the mapping, at random


def _tally(entries: list[SeldErrorEntry], n_classes: int) -> dict[str, np.ndarray]:
    out = {k: np.zeros(n_classes, dtype=np.int64) for k in ("FN", "FP", "mislocated", "missed", "unaligned")}
    out["errors"] = np.zeros(n_classes)
    for e in entries:
        n = e.n_segments
        if e.kind in ("missed", "mislocated", "wrong_class"):
            out["FN"][e.cls] += n
        if e.kind == "false_alarm":
            out["FP"][e.cls] += n
        if e.kind == "wrong_class":
            out["FP"][e.pred_cls] += n
        if e.kind in ("missed", "wrong_class"):
            out["missed"][e.cls] += n
            out["unaligned"][e.cls] += len(e.unaligned_segments)
        if e.kind == "mislocated":
            out["mislocated"][e.cls] += n
            out["errors"][e.cls] += sum(e.segment_errors)
            assert all(err > 20 for err in e.segment_errors)
            assert e.angular_error == pytest.approx(np.mean(e.segment_errors))
        if e.kind == "wrong_class":
            assert e.angular_error <= 20 and e.pred_cls != e.cls
        assert set(e.unaligned_segments) <= set(e.segments)
        assert list(e.segments) == list(range(e.segments[0], e.segments[0] + n))  # consecutive
    return out


def _check_tallies(ref: LabelTable, pred: LabelTable, n_frames: int, n_classes: int) -> None:
    """The exact mapping of the module docstring, class by class."""
    scorer = SeldScorer("dcase2020", n_classes=n_classes)
    scorer.update(ref, pred, n_frames=n_frames)
    scores = scorer.result()
    entries = find_errors(ref, pred, n_frames)
    t = _tally(entries, n_classes)
    for c in scores.per_class:
        k = c.cls
        assert c.FN == t["FN"][k], ("FN", k)
        assert c.FP == t["FP"][k], ("FP", k)
        assert c.TP == c.Nref - c.FN
        assert c.DE_TP == c.TP + t["mislocated"][k]
        assert c.DE_FN == t["missed"][k]
        assert c.Nsys == c.TP + c.FP + t["mislocated"][k] + t["unaligned"][k]
        # DE_sum = the mislocated entries' errors + the TPs' errors (each at most 20)
        rest = c.DE_sum - t["errors"][k]
        assert -1e-9 <= rest <= 20 * c.TP + 1e-9
    wrong = sum(e.n_segments for e in entries if e.kind == "wrong_class")
    assert wrong <= scores.S  # each wrong-class segment is one of the segment's substitutions


DIRECTIONS = [(0.0, 0.0), (15.0, 0.0), (30.0, 10.0), (-170.0, 0.0), (175.0, -5.0), (90.0, 60.0)]


@st.composite
def label_tables(draw, n_classes: int = 4, max_frame: int = 60):
    out = []
    for _ in range(draw(st.integers(0, 6))):
        cls = draw(st.integers(0, n_classes - 1))
        start = draw(st.integers(0, max_frame))
        length = draw(st.integers(1, 25))
        az, el = draw(st.sampled_from(DIRECTIONS))
        drift = draw(st.sampled_from([0.0, 1.5, -4.0]))  # moving sources
        track = draw(st.integers(0, 1))
        out += [
            LabelRow(f, cls, track, float(np.clip(az + drift * i, -180, 180)), el)
            for i, f in enumerate(range(start, start + length))
        ]
    order = draw(st.permutations(range(len(out))))
    return LabelTable([out[i] for i in order])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ref=label_tables(), pred=label_tables(), n_frames=st.sampled_from([50, 70, 85]))
def test_entries_add_up_to_the_official_counts_at_random(ref, pred, n_frames):
    _check_tallies(ref, pred, n_frames, n_classes=4)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ref=label_tables())
def test_a_perfect_prediction_has_no_error_and_an_empty_one_only_misses(ref):
    assert find_errors(ref, ref, 90) == []
    entries = find_errors(ref, LabelTable(), 90)
    assert {e.kind for e in entries} <= {"missed"}
    scorer = SeldScorer("dcase2020", n_classes=4)
    assert sum(e.n_segments for e in entries) == scorer.update(ref, LabelTable(), n_frames=90).FN
