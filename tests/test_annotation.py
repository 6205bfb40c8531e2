"""The annotation document, its edits (apply/revert), validation, saving and autosave: no Qt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from core.annotation import edits as ed
from core.annotation.autosave import SUFFIX, pending_autosaves, read_autosave, remove_autosave, write_autosave
from core.annotation.checks import validate
from core.annotation.document import Annotation, AnnotationEvent, Keyframe, interpolate, keyframes_from_track
from core.common.errors import LabelError
from core.io.resources import demo_recording_path
from core.labels.classes import DCASE2020
from core.labels.dcase_csv import format_labels, parse_labels, read_labels, write_labels
from core.labels.events import events_from_table
from core.session.session import Session
from core.spatial.directions import angular_distance

ROOT = Path(__file__).resolve().parents[1]
STARSS = ROOT.parent / "shared" / "data" / "real"


def _doc(text: str) -> Annotation:
    return Annotation.from_table(parse_labels(text))


def _sorted_text(table) -> str:
    rows = sorted(table.rows, key=lambda r: (r.frame, r.cls, r.track))
    return format_labels(rows, fmt=table.fmt)


# --------------------------------------------------------------------------- interpolation


def test_interpolation_follows_the_great_circle_and_holds_outside_the_keyframes():
    keys = (Keyframe(10, 0.0, 0.0), Keyframe(20, 90.0, 0.0))
    az, el, dist = interpolate(keys, np.array([0, 10, 15, 20, 30]))
    np.testing.assert_allclose(az, [0, 0, 45, 90, 90], atol=1e-9)
    np.testing.assert_allclose(el, 0, atol=1e-9)
    assert dist is None
    # across the back: 170 -> -170 goes the short way, through 180
    az, el, _ = interpolate((Keyframe(0, 170.0, 0.0), Keyframe(2, -170.0, 0.0)), np.array([1]))
    assert abs(abs(az[0]) - 180.0) < 1e-9
    # a great circle, not a straight line in (azimuth, elevation): the midpoint of two
    # points at elevation 45 on opposite sides passes over the top
    _, el, _ = interpolate((Keyframe(0, 0.0, 45.0), Keyframe(2, 180.0, 45.0)), np.array([1]))
    assert el[0] == pytest.approx(90.0, abs=1e-6)
    # every step of a slerp covers the same angle
    az, el, _ = interpolate((Keyframe(0, -30.0, -20.0), Keyframe(8, 100.0, 50.0)), np.arange(9))
    steps = angular_distance(az[:-1], el[:-1], az[1:], el[1:])
    assert np.ptp(steps) < 1e-9 and steps[0] > 1.0


def test_opposite_keyframes_interpolate_without_nan():
    az, el, _ = interpolate((Keyframe(0, 0.0, 0.0), Keyframe(4, 180.0, 0.0)), np.arange(5))
    assert np.all(np.isfinite(az)) and np.all(np.isfinite(el))
    steps = angular_distance(az[:-1], el[:-1], az[1:], el[1:])
    np.testing.assert_allclose(steps, 45.0, atol=1e-6)


def test_distance_is_interpolated_linearly():
    keys = (Keyframe(0, 0.0, 0.0, 100.0), Keyframe(4, 0.0, 0.0, 200.0))
    _, _, dist = interpolate(keys, np.arange(5))
    np.testing.assert_allclose(dist, [100, 125, 150, 175, 200])


def test_keyframes_from_a_track_are_few_and_exact():
    frames = np.arange(50)
    az, el, _ = interpolate(
        (Keyframe(0, 10.0, 0.0), Keyframe(20, 60.0, 0.0), Keyframe(49, 60.0, 30.0)), frames
    )
    az, el = np.round(az, 4), np.round(el, 4)
    keys = keyframes_from_track(frames, az, el)
    assert [k.frame for k in keys] == [0, 20, 49]
    # a stationary track is one keyframe
    assert len(keyframes_from_track(frames, np.full(50, 33.0), np.full(50, -4.0))) == 1
    # noise within a tolerance simplifies; exact mode keeps what the file says
    rng = np.random.default_rng(0)
    noisy_az = az + rng.normal(0, 0.3, 50)
    assert len(keyframes_from_track(frames, noisy_az, el, tolerance_deg=2.0)) <= 4
    exact = keyframes_from_track(frames, noisy_az, el)
    a2, e2, _ = interpolate(exact, frames)
    np.testing.assert_array_equal(np.round(a2, 4), np.round(noisy_az, 4))


# --------------------------------------------------------------------------- reading and saving


def test_reading_keeps_every_row_and_saving_gives_the_same_file():
    text = "3,1,0,10,0\n4,1,0,12,0\n5,1,0,14,0\n6,1,0,14,0\n10,2,0,-170,5\n10,2,1,30,20\n11,2,0,175,6\n"
    doc = _doc(text)
    assert len(doc) == 3
    moving = next(e for e in doc.events if e.cls == 1)
    assert [k.frame for k in moving.keyframes] == [3, 5]  # frame 4 is on the great circle
    assert format_labels(doc.to_table()) == text


def test_demo_labels_round_trip_byte_for_byte(tmp_path):
    csv = demo_recording_path().with_suffix(".csv")
    table = read_labels(csv)
    doc = Annotation.from_table(table)
    n_keys = sum(len(e.keyframes) for e in doc.events)
    assert n_keys < len(table)  # keyframes, not one per row
    out = tmp_path / "saved.csv"
    write_labels(doc.to_table(), out)
    assert out.read_text() == _sorted_text(table)
    again = Annotation.from_table(read_labels(out))
    write_labels(again.to_table(), tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == out.read_bytes()


@pytest.mark.skipif(not STARSS.is_dir(), reason="../shared/data/real is not here")
def test_real_starss_labels_round_trip_in_every_polar_format(tmp_path):
    files = sorted(STARSS.rglob("metadata_dev/**/*.csv"))[:6]
    if not files:
        pytest.skip("no STARSS label files found")
    for path in files:
        table = read_labels(path)
        doc = Annotation.from_table(table)
        assert doc.moved_rows == 0
        for fmt in ("dcase2020", "dcase2022"):
            out = tmp_path / f"{path.stem}.{fmt}.csv"
            write_labels(doc.to_table(fmt), out, fmt=fmt)
            assert out.read_text() == _sorted_text(table), path.name


def test_duplicate_rows_move_to_a_new_track_instead_of_being_dropped():
    doc = _doc("5,3,0,10,0\n5,3,0,-90,0\n6,3,0,10,0\n6,3,0,-90,0\n")
    assert doc.moved_rows == 2
    assert sorted((e.track, e.direction_at(5)[0]) for e in doc.events) == [(0, 10.0), (1, -90.0)]
    assert len(doc.to_table()) == 4


@pytest.mark.parametrize("fmt", ["dcase2020", "dcase2022", "dcase2024"])
def test_an_edited_document_saves_and_reloads_to_the_same_events(tmp_path, fmt):
    doc = Annotation(fmt=fmt)
    ed.create_event(doc, 3, 10, 40, (30.0, 10.0), distance=150.0).apply(doc)
    ed.create_event(doc, 3, 20, 30, (-120.0, -5.0), distance=200.0).apply(doc)  # overlaps: track 1
    ed.create_event(doc, 7, 0, 25, (170.0, 40.0), distance=90.0).apply(doc)
    assert sorted(e.track for e in doc.events if e.cls == 3) == [0, 1]
    moving = next(e for e in doc.events if e.cls == 7)
    ed.add_keyframe(doc, moving.id, 24).apply(doc)
    ed.set_direction(doc, moving.id, 24, -100.0, -10.0).apply(doc)
    out = tmp_path / "labels.csv"
    write_labels(doc.to_table(fmt), out, fmt=fmt)
    back = Annotation.from_table(read_labels(out, fmt=fmt))
    assert len(back) == len(doc)
    for a, b in zip(doc.to_events(), back.to_events(), strict=True):
        assert (a.cls, a.track, a.start, a.end) == (b.cls, b.track, b.start, b.end)
        np.testing.assert_allclose(a.azimuth, b.azimuth, atol=1e-4)
        np.testing.assert_allclose(a.elevation, b.elevation, atol=1e-4)
    assert [len(e.keyframes) for e in back.events] == [len(e.keyframes) for e in doc.events]
    write_labels(back.to_table(fmt), tmp_path / "again.csv", fmt=fmt)
    assert (tmp_path / "again.csv").read_bytes() == out.read_bytes()


def test_a_save_killed_midway_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "labels.csv"
    target.write_text("1,0,0,0,0\n")
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from core.common.atomic import atomic_open
        with atomic_open({str(target)!r}) as fh:
            fh.write("2,0,0,0,0\\n" * 1000)
            fh.flush()
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    assert target.read_text() == "1,0,0,0,0\n"
    leftovers = [p for p in tmp_path.iterdir() if p != target]
    assert leftovers and all(p.name != target.name for p in leftovers)
    write_labels(parse_labels("3,0,0,0,0\n"), target)  # the next save removes the killed one's leftover
    assert target.read_text() == "3,0,0,0,0\n" and [p.name for p in tmp_path.iterdir()] == ["labels.csv"]


# --------------------------------------------------------------------------- edits


def _three_events() -> Annotation:
    return _doc("10,1,0,20,0\n11,1,0,20,0\n12,1,0,20,0\n30,4,0,-60,10\n31,4,0,-58,10\n50,1,0,90,-20\n")


def _check_apply_revert(doc: Annotation, edit: ed.Edit) -> Annotation:
    before = doc.snapshot()
    edit.apply(doc)
    after = doc.snapshot()
    assert after != before
    edit.revert(doc)
    assert doc.snapshot() == before
    edit.apply(doc)
    assert doc.snapshot() == after
    return doc


def test_create_puts_an_overlapping_event_of_the_same_class_on_a_new_track():
    doc = _three_events()
    edit = ed.create_event(doc, 1, 11, 20, (45.0, 0.0))
    _check_apply_revert(doc, edit)
    new = edit.added[0]
    assert (new.cls, new.track, new.start, new.end) == (1, 1, 11, 20)
    other = ed.create_event(doc, 1, 25, 28)  # free time: track 0
    assert other.added[0].track == 0
    assert validate(doc, DCASE2020) == []


def test_move_shifts_keyframes_and_stops_at_frame_zero():
    doc = _three_events()
    e = next(x for x in doc.events if x.cls == 4)
    edit = ed.move_events(doc, [e.id], 7)
    _check_apply_revert(doc, edit)
    moved = doc[e.id]
    assert (moved.start, moved.end) == (37, 39) and [k.frame for k in moved.keyframes] == [37, 38]
    edit = ed.move_events(doc, [x.id for x in doc.events], -1000)
    edit.apply(doc)
    assert min(x.start for x in doc.events) == 0
    assert sorted(x.n_frames for x in doc.events) == [1, 2, 3]


def test_resize_drops_keyframes_outside_and_keeps_the_direction_there():
    doc = Annotation()
    ed.create_event(doc, 2, 0, 20, (0.0, 0.0)).apply(doc)
    (e,) = doc.events
    ed.set_direction(doc, e.id, 0, 0.0, 0.0)
    ed.add_keyframe(doc, e.id, 19).apply(doc)
    ed.set_direction(doc, e.id, 19, 90.0, 0.0).apply(doc)
    az_at_15 = doc[e.id].direction_at(15)[0]
    edit = ed.resize_event(doc, e.id, 15, 18)
    _check_apply_revert(doc, edit)
    r = doc[e.id]
    assert (r.start, r.end) == (15, 18) and len(r.keyframes) == 1
    assert r.keyframes[0].frame == 15 and r.keyframes[0].azimuth == pytest.approx(az_at_15)


def test_set_direction_keeps_stationary_events_stationary_and_keys_moving_ones():
    doc = _three_events()
    stationary = next(x for x in doc.events if x.cls == 1 and x.start == 10)
    edit = ed.set_direction(doc, stationary.id, 11, 400.0, 95.0)  # wrapped and clipped
    _check_apply_revert(doc, edit)
    s = doc[stationary.id]
    assert s.stationary and (s.keyframes[0].azimuth, s.keyframes[0].elevation) == (40.0, 90.0)
    moving = next(x for x in doc.events if x.cls == 4)
    assert len(moving.keyframes) == 2
    ed.set_direction(doc, moving.id, 31, 0.0, 0.0).apply(doc)  # on a keyframe: moves it
    assert [k.frame for k in doc[moving.id].keyframes] == [30, 31]
    assert doc[moving.id].direction_at(31) == (0.0, 0.0)


def test_keyframes_add_move_and_delete_but_the_last_stays():
    doc = Annotation()
    ed.create_event(doc, 0, 0, 50, (10.0, 0.0)).apply(doc)
    (e,) = doc.events
    assert ed.delete_keyframe(doc, e.id, 0) is None  # the only keyframe
    _check_apply_revert(doc, ed.add_keyframe(doc, e.id, 40))
    assert [k.frame for k in doc[e.id].keyframes] == [0, 40]
    assert ed.add_keyframe(doc, e.id, 40) is None
    _check_apply_revert(doc, ed.move_keyframe(doc, e.id, 40, 30, -20.0, 5.0))
    assert doc[e.id].keyframe_at(30) == Keyframe(30, -20.0, 5.0)
    # moving onto another keyframe is refused (the frame stays)
    assert ed.move_keyframe(doc, e.id, 30, 0) is None
    assert [k.frame for k in doc[e.id].keyframes] == [0, 30]
    _check_apply_revert(doc, ed.delete_keyframe(doc, e.id, 0))
    assert doc[e.id].stationary and doc[e.id].keyframes[0].frame == 30


def test_change_class_and_delete():
    doc = _three_events()
    ids = [x.id for x in doc.events if x.cls == 1]
    _check_apply_revert(doc, ed.set_class(doc, ids, 9))
    assert sorted(x.cls for x in doc.events) == [4, 9, 9]
    assert ed.set_class(doc, ids, 9) is None
    _check_apply_revert(doc, ed.delete_events(doc, ids))
    assert [x.cls for x in doc.events] == [4]


def test_changing_two_overlapping_events_to_one_class_separates_their_tracks():
    doc = _doc("10,1,0,20,0\n11,1,0,20,0\n10,2,0,-20,0\n11,2,0,-20,0\n")
    ed.set_class(doc, [e.id for e in doc.events], 5).apply(doc)
    assert sorted(e.track for e in doc.events) == [0, 1]
    assert validate(doc, DCASE2020) == []


def test_a_drag_merges_into_one_edit():
    doc = _three_events()
    before = doc.snapshot()
    e = doc.events[0]
    key = object()
    total = None
    for delta in (1, 1, 2, -1):
        edit = ed.move_events(doc, [e.id], delta, merge_key=key)
        edit.apply(doc)
        total = edit if total is None else total.merged(edit)
    assert total is not None and doc[e.id].start == e.start + 3
    after = doc.snapshot()
    total.revert(doc)
    assert doc.snapshot() == before
    total.apply(doc)
    assert doc.snapshot() == after
    other = ed.move_events(doc, [e.id], 1, merge_key=object())
    assert total.merged(other) is None


def test_random_edit_sequences_undo_back_to_the_start():
    rng = np.random.default_rng(7)
    doc = _three_events()
    start = doc.snapshot()
    history = []
    for _ in range(200):
        ids = [x.id for x in doc.events]
        kind = rng.integers(0, 9) if ids else 0
        pick = int(rng.choice(ids)) if ids else None
        frame = int(rng.integers(0, 80))
        if kind == 0:
            edit = ed.create_event(doc, int(rng.integers(0, 14)), frame, frame + int(rng.integers(1, 30)))
        elif kind == 1:
            edit = ed.move_events(doc, [pick], int(rng.integers(-10, 10)))
        elif kind == 2:
            edit = ed.resize_event(doc, pick, frame, frame + int(rng.integers(1, 20)))
        elif kind == 3:
            edit = ed.set_direction(
                doc, pick, frame, float(rng.uniform(-180, 180)), float(rng.uniform(-90, 90))
            )
        elif kind == 4:
            edit = ed.add_keyframe(doc, pick, frame)
        elif kind == 5:
            edit = ed.set_class(doc, [pick], int(rng.integers(0, 14)))
        elif kind == 6:
            edit = ed.delete_events(doc, [pick])
        elif kind == 7:
            edit = ed.delete_keyframe(doc, pick, doc[pick].keyframes[0].frame)
        else:
            edit = ed.split_event(doc, pick, (doc[pick].start + doc[pick].end) // 2)
        if edit is not None:
            edit.apply(doc)
            history.append(edit)
            assert not [p for p in validate(doc, DCASE2020) if "overlaps" in p.message]
    assert len(history) > 150
    for edit in reversed(history):
        edit.revert(doc)
    assert doc.snapshot() == start


def test_simplify_keeps_the_trajectory_within_the_tolerance():
    rng = np.random.default_rng(3)
    n = 60
    az = np.linspace(-40, 40, n) + rng.normal(0, 0.5, n)
    el = np.full(n, 10.0) + rng.normal(0, 0.5, n)
    text = "".join(f"{i},6,0,{a:.2f},{e:.2f}\n" for i, (a, e) in enumerate(zip(az, el, strict=True)))
    doc = _doc(text)
    (e,) = doc.events
    assert len(e.keyframes) > 30
    edit = ed.simplify(doc, [e.id], tolerance_deg=3.0)
    _check_apply_revert(doc, edit)
    s = doc[e.id].to_event()
    assert len(doc[e.id].keyframes) <= 6
    assert angular_distance(s.azimuth, s.elevation, az, el).max() <= 3.0 + 1e-9


def test_accepting_predictions_adds_simplified_events_on_free_tracks():
    doc = _three_events()
    predicted = events_from_table(
        parse_labels("".join(f"{f},1,0,{20 + 0.2 * (f % 2)},0\n" for f in range(8, 16)))
    )
    edit = ed.add_events(doc, predicted, tolerance_deg=2.0)
    _check_apply_revert(doc, edit)
    (new,) = edit.added
    assert new.stationary and (new.start, new.end) == (8, 16) and new.track == 1
    assert validate(doc, DCASE2020) == []


# --------------------------------------------------------------------------- validation


def test_validation_names_the_events_at_fault():
    doc = Annotation(
        [
            AnnotationEvent(1, 2, 0, 0, 100, (Keyframe(0, 0.0, 0.0),)),
            AnnotationEvent(2, 2, 0, 10, 20, (Keyframe(10, 0.0, 0.0),)),
            AnnotationEvent(3, 2, 0, 30, 40, (Keyframe(30, 0.0, 0.0),)),  # inside event 1 too
            AnnotationEvent(4, 20, 0, 0, 5, (Keyframe(0, 0.0, 0.0),)),
            AnnotationEvent(5, 3, 0, 0, 5, (Keyframe(0, 200.0, 0.0),)),
            AnnotationEvent(6, 3, 1, 590, 610, (Keyframe(590, 0.0, 0.0),)),
        ]
    )
    problems = validate(doc, DCASE2020, n_frames=600)
    by_ids = {p.ids: p.message for p in problems}
    assert "overlaps" in by_ids[(1, 2)] and "overlaps" in by_ids[(1, 3)]
    assert "class index 20" in by_ids[(4,)]
    assert "out of range" in by_ids[(5,)]
    assert "ends after the recording" in by_ids[(6,)]
    assert len(problems) == 5
    assert any("needs a distance" in p.message for p in validate(doc, DCASE2020, fmt="dcase2024"))


def test_validation_refuses_infinite_and_nan_distances_and_directions():
    doc = Annotation(
        [
            AnnotationEvent(1, 2, 0, 0, 5, (Keyframe(0, 0.0, 0.0, float("inf")),)),
            AnnotationEvent(2, 2, 1, 0, 5, (Keyframe(0, 0.0, 0.0, float("nan")),)),
            AnnotationEvent(3, 2, 2, 0, 5, (Keyframe(0, float("nan"), 0.0, 1.0),)),
            AnnotationEvent(4, 2, 3, 0, 5, (Keyframe(0, 10.0, 0.0, 0.0),)),
        ]
    )
    by_ids = {p.ids: p.message for p in validate(doc, DCASE2020, fmt="dcase2024")}
    assert by_ids == {
        (1,): "crash at 0.0-0.5 s (track 0): impossible distance inf",
        (2,): "crash at 0.0-0.5 s (track 1): impossible distance nan",
        (3,): "crash at 0.0-0.5 s (track 2): direction (nan, 0) at 0.0 s is out of range",
    }


# --------------------------------------------------------------------------- autosave


def test_autosave_goes_to_a_sidecar_beside_the_labels_and_is_found_again(tmp_path):
    doc = _three_events()
    ed.create_event(doc, 8, 3, 9, (12.5, -7.5)).apply(doc)
    data = tmp_path / "dataset"
    data.mkdir()
    doc.path = str(data / "scene.csv")
    index = tmp_path / "index"
    path = write_autosave(index, data / "scene.wav", doc, "dcase2020")
    assert path == data / "scene.seld-autosave.json" and path.is_file()
    (index / f"broken{SUFFIX}").write_text("{not json")
    found, damaged = pending_autosaves(index)
    assert len(found) == 1 and len(damaged) == 1 and "broken" in damaged[0]
    saved = found[0]
    assert saved.path == path and saved.annotation.snapshot() == doc.snapshot()
    assert (saved.recording, saved.labels, saved.classes) == (str(data / "scene.wav"), doc.path, "dcase2020")
    remove_autosave(index, data / "scene.wav", doc.path)
    assert not path.exists() and pending_autosaves(index)[0] == []


def test_autosave_falls_back_to_the_index_folder_when_the_sidecar_cannot_be_written(tmp_path):
    doc = _three_events()
    doc.path = "/nonexistent-folder/labels.csv"
    index = tmp_path / "index"
    path = write_autosave(index, "/nonexistent-folder/rec.wav", doc, "dcase2020")
    assert path.parent == index
    (saved,), _ = pending_autosaves(index)
    assert saved.annotation.snapshot() == doc.snapshot()
    remove_autosave(index, "/nonexistent-folder/rec.wav", doc.path)
    assert pending_autosaves(index) == ([], [])


def test_a_pointer_whose_sidecar_is_gone_is_dropped_quietly(tmp_path):
    doc = _three_events()
    doc.path = str(tmp_path / "scene.csv")
    index = tmp_path / "index"
    sidecar = write_autosave(index, tmp_path / "scene.wav", doc, "dcase2020")
    sidecar.unlink()
    assert pending_autosaves(index) == ([], [])
    assert list(index.iterdir()) == []


def test_a_damaged_autosave_is_reported_not_trusted(tmp_path):
    p = tmp_path / "x.seld-autosave.json"
    p.write_text('{"seld_autosave": 1, "events": [{"id": 1}]}')
    with pytest.raises(LabelError, match="damaged autosave"):
        read_autosave(p)
    p.write_text('{"something": "else"}')
    with pytest.raises(LabelError, match="not a SELD Studio autosave"):
        read_autosave(p)


# --------------------------------------------------------------------------- the session


def test_session_applies_edits_and_keeps_the_selection_valid():
    s = Session()
    s.set_reference(parse_labels("10,1,0,20,0\n11,1,0,20,0\n"))
    seen = []
    s.reference_changed.connect(lambda events: seen.append(len(events)))
    (event,) = s.reference_events
    assert event.id is not None
    s.set_selection([event.id])
    edit = ed.delete_events(s.annotation, [event.id])
    s.apply_edit(edit)
    assert s.reference_events == [] and s.selected_ids == frozenset() and seen == [0]
    s.revert_edit(edit)
    assert [e.id for e in s.reference_events] == [event.id]
    assert s.reference is not None and len(s.reference) == 2


def test_picking_a_direction_listens_or_edits():
    s = Session()
    picked = []
    s.direction_picked.connect(lambda az, el, g: picked.append((az, el)))
    s.pick_direction(30.0, 10.0)
    assert s.listen_direction == (30.0, 10.0) and picked == []
    s.set_editing(True)
    s.pick_direction(-45.0, 5.0)
    assert picked == [(-45.0, 5.0)] and s.listen_direction == (30.0, 10.0)


def test_distance_and_make_stationary():
    doc = _three_events()
    moving = next(x for x in doc.events if x.cls == 4)
    _check_apply_revert(doc, ed.set_distance(doc, moving.id, 180.0))
    assert all(k.distance == 180.0 for k in doc[moving.id].keyframes)
    assert validate(doc, DCASE2020, fmt="dcase2024") != []  # the other events have none
    az, el = doc[moving.id].direction_at(31)
    _check_apply_revert(doc, ed.make_stationary(doc, moving.id, 31))
    e = doc[moving.id]
    assert e.stationary and e.direction_at(30) == pytest.approx((az, el)) and e.distance_at(30) == 180.0
    assert ed.make_stationary(doc, moving.id, 30) is None


def test_splitting_keeps_both_halves_on_the_same_trajectory():
    doc = Annotation()
    ed.create_event(doc, 5, 0, 40, (-60.0, 0.0)).apply(doc)
    (e,) = doc.events
    ed.add_keyframe(doc, e.id, 39).apply(doc)
    ed.set_direction(doc, e.id, 39, 60.0, 30.0).apply(doc)
    whole = doc[e.id].to_event()
    edit = ed.split_event(doc, e.id, 17)
    _check_apply_revert(doc, edit)
    first, second = sorted(doc.events, key=lambda x: x.start)
    assert (first.start, first.end, second.start, second.end) == (0, 17, 17, 40)
    assert first.id == e.id and second.id != e.id and second.track == first.track == 0
    az = np.concatenate([first.to_event().azimuth, second.to_event().azimuth])
    el = np.concatenate([first.to_event().elevation, second.to_event().elevation])
    np.testing.assert_allclose(az, whole.azimuth, atol=1e-3)
    np.testing.assert_allclose(el, whole.elevation, atol=1e-3)
    assert ed.split_event(doc, first.id, 0) is None and ed.split_event(doc, first.id, 17) is None
    stationary = ed.create_event(doc, 2, 50, 60, (10.0, 10.0))
    stationary.apply(doc)
    ed.split_event(doc, stationary.added[0].id, 55).apply(doc)
    parts = sorted((x for x in doc.events if x.cls == 2), key=lambda x: x.start)
    assert [p.stationary for p in parts] == [True, True]
    assert [p.direction_at(p.start) for p in parts] == [(10.0, 10.0), (10.0, 10.0)]
