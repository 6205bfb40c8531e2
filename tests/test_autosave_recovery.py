"""Autosave recovery never crashes, never trusts, never loses: the fuzz corpus and the rules.

``tests/fuzz/autosave/`` holds damaged autosave files and index pointers (``@DIR@`` in a
file stands for the folder the test copies the corpus into). Every file is listed in
:data:`CORPUS` with the refusal it must get: a :class:`LabelError` whose message names the
file and the problem, or, where only some events are damaged, the events restored and
the refused event named.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.annotation import autosave
from core.annotation.autosave import (
    KEPT_INFIX,
    SUFFIX,
    keep_aside,
    pending_autosaves,
    read_autosave,
    remove_autosave,
    write_autosave,
)
from core.annotation.checks import event_problems
from core.annotation.document import Annotation, AnnotationEvent, Keyframe
from core.common.errors import LabelError, SeldError
from core.labels.classes import DCASE2020, custom, get_class_set

CORPUS_DIR = Path(__file__).parent / "fuzz" / "autosave"

# file stem -> the substring its refusal must contain ("damaged": the whole file is refused)
DAMAGED = {
    # the tester's cases
    "infinity_id": "id is Infinity",
    "start_1e400": "start is Infinity",
    "pointer_without_path": 'autosave pointer without a "path"',
    "deeply_nested": "nested too deeply",
    "end_1e9": "end 1000000000 is past 864000 frames",
    "class_99": "class index 99 is not in dcase2020 (14 classes)",
    "azimuth_1000": "direction (1000, 0) at 1.0 s is out of range",
    "class_1_7": "class 1.7 is not an integer",
    # numbers and types
    "nan_azimuth": "direction (nan, 0) at 1.0 s is out of range",
    "saved_at_infinity": "saved_at -Infinity is not a time",
    "saved_at_year_10000": "saved_at 1e+300 is not a time",
    "class_true": "class must be an integer, not true",
    "version_as_string": "the version must be an integer, not '1'",
    "integer_400_digits": "track is a 400-digit number",
    "elevation_string": "keyframe 1: elevation must be a number, not 'up'",
    "negative_track": "track -1 is out of range",
    "negative_distance": "negative distance -2",
    "distance_infinity": "impossible distance inf",
    # structure
    "wrong_version": "is a version 2 autosave; this SELD Studio reads version 1",
    "missing_keys": "lacks labels, format, classes, saved_at",
    "events_not_a_list": "events must be a list, not an object",
    "event_not_an_object": "event #1 is 'an event', not an object",
    "event_lacks_fields": "event #1 lacks track, start, end, keyframes",
    "keyframe_outside_event": "keyframe 1: frame 25 is outside the event [10, 20)",
    "keyframes_unsorted": "keyframe 2: frame 12 does not come after the previous keyframe's 15",
    "keyframe_wrong_shape": "keyframe 1 must be [frame, azimuth, elevation, distance or null]",
    "keyframes_empty": "keyframes must be a non-empty list",
    "end_before_start": "end 10 is not after start 20",
    "duplicate_key": "has the key 'seld_autosave' twice",
    "huge_format_string": "format 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… (20000 characters) is longer than 4096",
    "unknown_format": "format 'dcase1999' is not a label format",
    "relative_recording": "recording 'foa_dev/scene.wav' is not an absolute path",
    "nul_in_labels": "holds a NUL character",
    "lone_surrogate_recording": "lone surrogate",
    "class_names_repeated": "class_names: class set 'dcase2020' names the class 'dog' twice",
    "class_names_not_a_list": "class_names must be a list",
    "custom_class_outside_names": "class index 2 is not in mine (2 classes)",
    "not_json": "is not valid JSON (line 1, column 2",
    "json_list": "its JSON is a list of 3, not an object",
    "json_string": "not a SELD Studio autosave file",
    "something_else": 'no "seld_autosave" version',
    # bytes
    "empty": "is empty",
    "whitespace_only": "is empty",
    "utf16": "is not UTF-8 text",
    "utf16_no_bom": "is not UTF-8 text",
    "latin1": "the byte at offset 63 is not valid UTF-8",
    "binary_junk": "is not UTF-8 text",
    # pointers
    "pointer_to_itself": "points to itself",
    "pointer_to_missing_folder": "whose folder is not there",
    "pointer_to_non_autosave": "points to '/etc/passwd', which is not an autosave file",
    "pointer_relative": "which is not an absolute path",
    "pointer_path_number": "the pointer's path must be a string, not 12",
    "pointer_version_9": "version 9 autosave pointer",
    "pointer_to_damaged": "is not valid JSON",
    "loop_a": "another autosave pointer",
    "loop_b": "another autosave pointer",
    "chain_1": "another autosave pointer",
    "chain_2": "another autosave pointer",
    "chain_3": "another autosave pointer",
    "chain_4": "another autosave pointer",
}
# file stem -> (events restored, the refusal of the others)
PARTIAL = {"duplicate_ids": (1, "event #2 (id 4): the id is taken by event #1")}
# file stem -> events restored (good files the damaged ones point to)
GOOD = {"chain_5": 2, "chain_target": 2}


@pytest.fixture
def corpus(tmp_path) -> Path:
    """The corpus copied into an index folder, ``@DIR@`` replaced by that folder."""
    folder = tmp_path / "index"
    folder.mkdir()
    here = json.dumps(str(folder))[1:-1].encode()
    for p in CORPUS_DIR.iterdir():
        (folder / p.name).write_bytes(p.read_bytes().replace(b"@DIR@", here))
    return folder


@contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging the suite) if the block takes longer than ``seconds``."""

    def expired(_signum, _frame):
        raise TimeoutError(f"took longer than {seconds} s (a hang)")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_every_corpus_file_has_its_expected_refusal():
    stems = {p.name[: -len(SUFFIX)] for p in CORPUS_DIR.iterdir()}
    assert all(p.name.endswith(SUFFIX) for p in CORPUS_DIR.iterdir())
    assert stems == set(DAMAGED) | set(PARTIAL) | set(GOOD)


@pytest.mark.parametrize("stem", sorted(DAMAGED))
def test_a_damaged_autosave_is_refused_by_name(corpus, stem):
    path = corpus / f"{stem}{SUFFIX}"
    before = path.read_bytes()
    with deadline(20), pytest.raises(LabelError) as info:
        read_autosave(path)
    message = str(info.value)
    assert DAMAGED[stem] in message
    assert str(path) in message  # the file is named (for a pointer: also the sidecar it points to)
    assert len(message) < 600  # a huge field is never echoed whole
    assert path.read_bytes() == before  # and nothing is changed or deleted


@pytest.mark.parametrize("stem", sorted(PARTIAL))
def test_damaged_events_are_refused_by_name_and_the_others_restored(corpus, stem):
    n_good, refusal = PARTIAL[stem]
    saved = read_autosave(corpus / f"{stem}{SUFFIX}")
    assert len(saved.annotation) == n_good and saved.n_refused == saved.n_events - n_good
    assert any(refusal in m for m in saved.refused)


def test_pending_autosaves_reads_the_whole_corpus_without_raising_or_deleting(corpus):
    before = {p.name: p.read_bytes() for p in corpus.iterdir()}
    with deadline(30):
        found, damaged = pending_autosaves(corpus)
    # the chain's end and the file it points to are one autosave, found once
    assert sorted(a.path.name for a in found) == sorted([f"chain_target{SUFFIX}", f"duplicate_ids{SUFFIX}"])
    chain = next(a for a in found if a.path.name.startswith("chain"))
    assert chain.entry == corpus / f"chain_5{SUFFIX}" and len(chain.annotation) == GOOD["chain_5"]
    assert len(damaged) == len(DAMAGED)
    for stem, expected in DAMAGED.items():
        mine = [m for m in damaged if f"{corpus / stem}{SUFFIX}" in m and expected in m]
        assert mine, stem
    assert all(m.startswith(str(corpus)) for m in damaged)  # every message begins with the file
    assert {p.name: p.read_bytes() for p in corpus.iterdir()} == before


def test_pointers_name_both_the_entry_and_the_sidecar(corpus):
    with pytest.raises(LabelError) as info:
        read_autosave(corpus / f"pointer_to_damaged{SUFFIX}")
    err = info.value
    assert err.path == str(corpus / f"not_json{SUFFIX}")  # the damaged file
    assert f"the autosave index entry {corpus / f'pointer_to_damaged{SUFFIX}'} points to it" in err.problem


# --------------------------------------------------------------------------- file system oddities


def test_folders_pipes_devices_links_and_huge_files_are_refused_without_a_hang(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    (index / f"a_folder{SUFFIX}").mkdir()
    os.mkfifo(index / f"a_pipe{SUFFIX}")  # opening it for reading would block without O_NONBLOCK
    (index / f"a_device{SUFFIX}").symlink_to("/dev/zero")  # endless bytes
    (index / f"a_loop{SUFFIX}").symlink_to(index / f"a_loop{SUFFIX}")
    with open(index / f"huge{SUFFIX}", "wb") as fh:  # sparse: 1 GiB that is never read
        fh.truncate(2**30)
    sidecars = tmp_path / "data"
    sidecars.mkdir()
    (sidecars / f"folder{SUFFIX}").mkdir()
    os.mkfifo(sidecars / f"pipe{SUFFIX}")
    for name in ("folder", "pipe"):
        (index / f"to_{name}{SUFFIX}").write_text(
            json.dumps({"seld_autosave_pointer": 1, "path": str(sidecars / f"{name}{SUFFIX}")})
        )
    t0 = time.monotonic()
    with deadline(20):
        found, damaged = pending_autosaves(index)
    assert time.monotonic() - t0 < 5
    assert found == []
    text = "\n".join(damaged)
    assert len(damaged) == 7
    assert f"{index / f'a_folder{SUFFIX}'}: is a folder" in text
    assert f"{index / f'a_pipe{SUFFIX}'}: is not a regular file" in text
    assert f"{index / f'a_device{SUFFIX}'}: is not a regular file" in text
    assert f"{index / f'a_loop{SUFFIX}'}: cannot be read" in text
    assert f"{index / f'huge{SUFFIX}'}: is 1073741824 bytes, larger than an autosave may be" in text
    assert (
        f"{sidecars / f'folder{SUFFIX}'}: is a folder" in text and f"to_folder{SUFFIX} points to it" in text
    )
    assert f"{sidecars / f'pipe{SUFFIX}'}: is not a regular file" in text
    assert (sidecars / f"folder{SUFFIX}").is_dir() and (index / f"huge{SUFFIX}").stat().st_size == 2**30


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_autosave_is_reported(tmp_path):
    p = tmp_path / f"locked{SUFFIX}"
    p.write_text("{}")
    p.chmod(0)
    found, damaged = pending_autosaves(tmp_path)
    assert found == [] and damaged == [f"{p}: cannot be read (Permission denied)"]


def test_a_missing_or_unreadable_index_folder_is_no_error(tmp_path):
    assert pending_autosaves(tmp_path / "missing") == ([], [])
    (tmp_path / "file").write_text("x")
    assert pending_autosaves(tmp_path / "file") == ([], [])
    assert pending_autosaves("bad\0name") == ([], [])


# --------------------------------------------------------------------------- bounds


def _doc_json(events, recording="/nonexistent-seld-test/scene.wav", **extra) -> str:
    data = {
        "seld_autosave": 1,
        "recording": recording,
        "labels": None,
        "format": "dcase2020",
        "classes": "dcase2020",
        "saved_at": 1_700_000_000.0,
        "events": events,
    }
    data.update(extra)
    return json.dumps(data)


def _ev(event_id, start, end, cls=1, az=20.0):
    return {
        "id": event_id,
        "class": cls,
        "track": 0,
        "start": start,
        "end": end,
        "keyframes": [[start, az, 0.0, None]],
    }


def test_events_must_end_inside_the_recording_when_its_length_can_be_read(tmp_path):
    wav = tmp_path / "scene.wav"
    sf.write(wav, np.zeros((24000 * 4, 4), np.float32), 24000, subtype="PCM_16")  # 4.0 s: 40 frames
    p = tmp_path / f"scene{SUFFIX}"
    p.write_text(_doc_json([_ev(1, 0, 40), _ev(2, 30, 41, cls=2)], recording=str(wav)))
    saved = read_autosave(p)
    assert saved.n_frames == 40
    assert [e.id for e in saved.annotation.events] == [1]
    assert saved.refused == (
        "event #2 (id 2): crash at 3.0-4.1 s (track 0): ends after the recording (4.0 s)",
    )


def test_without_the_recording_an_event_may_span_24_hours_at_most(tmp_path):
    p = tmp_path / f"scene{SUFFIX}"
    limit = autosave.MAX_EVENT_FRAMES
    p.write_text(_doc_json([_ev(1, 0, limit), _ev(2, 0, limit + 1, cls=2)]))
    saved = read_autosave(p)
    assert saved.n_frames is None and [e.end for e in saved.annotation.events] == [864000]
    assert "end 864001 is past 864000 frames (24 hours)" in saved.refused[0]


def test_all_events_together_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(autosave, "MAX_TOTAL_FRAMES", 25)
    p = tmp_path / f"scene{SUFFIX}"
    p.write_text(_doc_json([_ev(1, 0, 10), _ev(2, 10, 20), _ev(3, 20, 30), _ev(4, 30, 35)]))
    saved = read_autosave(p)
    assert [e.id for e in saved.annotation.events] == [1, 2, 4]  # 10 + 10 + 5 frames
    assert saved.refused == ("event #3 (id 3): the events together would span more than 25 frames",)


def test_a_file_over_the_size_cap_is_not_read_and_not_written(tmp_path, monkeypatch):
    p = tmp_path / f"scene{SUFFIX}"
    text = _doc_json([_ev(1, 0, 10)])
    p.write_text(text)
    monkeypatch.setattr(autosave, "MAX_FILE_BYTES", len(text) - 1)
    with pytest.raises(
        LabelError, match=rf"is {len(text)} bytes, larger than an autosave may be \({len(text) - 1} bytes\)"
    ):
        read_autosave(p)
    doc = Annotation([AnnotationEvent(1, 1, 0, 0, 10, (Keyframe(0, 1.0, 2.0),))])
    monkeypatch.setattr(autosave, "MAX_FILE_BYTES", 100)
    with pytest.raises(LabelError, match="too large to autosave"):
        write_autosave(tmp_path / "index", tmp_path / "rec.wav", doc, DCASE2020)
    assert not (tmp_path / f"rec{SUFFIX}").exists()


def test_many_damaged_events_are_counted_and_the_first_ones_described(tmp_path):
    events = [_ev(1, 0, 10)] + [_ev(i, 0, 10, cls=50) for i in range(2, 203)]
    p = tmp_path / f"scene{SUFFIX}"
    p.write_text(_doc_json(events))
    saved = read_autosave(p)
    assert len(saved.annotation) == 1 and saved.n_refused == 201 and saved.n_events == 202
    assert len(saved.refused) == autosave.MAX_REFUSED_MESSAGES
    assert saved.refused[0].startswith("event #2 (id 2): class 50")


# --------------------------------------------------------------------------- class sets


def test_a_custom_class_set_is_kept_and_checked(tmp_path):
    classes = custom(["dog", "cat", "bird"], "pets")
    doc = Annotation(
        [
            AnnotationEvent(1, 2, 0, 5, 9, (Keyframe(5, 10.0, 0.0),)),
            AnnotationEvent(2, 0, 0, 0, 4, (Keyframe(0, -10.0, 5.0, 120.0),)),
        ],
        fmt="dcase2024",
    )
    path = write_autosave(tmp_path / "index", tmp_path / "rec.wav", doc, classes)
    saved = read_autosave(path)
    assert saved.class_set == classes and saved.classes == "pets"
    assert saved.annotation.snapshot() == doc.snapshot() and saved.refused == ()
    data = json.loads(path.read_text())
    data["events"][0]["class"] = 3  # no fourth class in "pets"
    path.write_text(json.dumps(data))
    saved = read_autosave(path)
    assert [e.id for e in saved.annotation.events] == [2]
    assert "class index 3 is not in pets (3 classes)" in saved.refused[0]


def test_an_older_autosave_of_an_unknown_class_set_still_restores(tmp_path):
    p = tmp_path / f"scene{SUFFIX}"
    p.write_text(
        _doc_json([_ev(1, 0, 10, cls=40)], classes="pets")
    )  # no class_names: written before they were kept
    saved = read_autosave(p)
    assert saved.class_set is None and [e.cls for e in saved.annotation.events] == [40]


# --------------------------------------------------------------------------- removing never loses work


def _autosave_of(tmp_path, events=None) -> tuple[Path, Path, Path]:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    index = tmp_path / "index"
    doc = Annotation(events or [AnnotationEvent(1, 1, 0, 0, 10, (Keyframe(0, 1.0, 2.0),))])
    doc.path = str(data / "scene.csv")
    sidecar = write_autosave(index, data / "scene.wav", doc, DCASE2020)
    return index, data, sidecar


def test_remove_deletes_a_good_autosave_and_keeps_a_damaged_one_aside(tmp_path):
    index, data, sidecar = _autosave_of(tmp_path)
    assert remove_autosave(index, data / "scene.wav", data / "scene.csv") == []
    assert not sidecar.exists() and list(index.iterdir()) == []

    index, data, sidecar = _autosave_of(tmp_path)
    good = json.loads(sidecar.read_text())
    broken = json.dumps(good).replace('"class": 1', '"class": 99')  # a restore would refuse it
    sidecar.write_text(broken)
    (kept,) = remove_autosave(index, data / "scene.wav", data / "scene.csv")
    assert not sidecar.exists() and list(index.iterdir()) == []  # the pointer holds no work
    assert kept.parent == data and kept.name.startswith("scene" + KEPT_INFIX) and kept.suffix == ".json"
    assert kept.read_text() == broken
    assert pending_autosaves(index) == ([], []) and pending_autosaves(data) == ([], [])  # never offered again


def test_remove_never_touches_what_a_damaged_pointer_names(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    important = tmp_path / "labels.csv"
    important.write_text("1,2,0,10,20\n")
    folder = tmp_path / f"folder{SUFFIX}"
    folder.mkdir()
    recording = tmp_path / "rec.wav"
    entry = autosave.index_path(index, recording)
    for target in (important, folder):
        entry.write_text(json.dumps({"seld_autosave_pointer": 1, "path": str(target)}))
        remove_autosave(index, recording)
        assert not entry.exists()  # the pointer itself holds no work
    assert important.read_text() == "1,2,0,10,20\n" and folder.is_dir()


def test_keep_aside_never_overwrites(tmp_path):
    names = []
    for _ in range(3):
        p = tmp_path / f"scene{SUFFIX}"
        p.write_text(f"copy {len(names)}")
        names.append(keep_aside(p))
    assert len(set(names)) == 3 and [n.read_text() for n in names] == ["copy 0", "copy 1", "copy 2"]
    assert not (tmp_path / f"scene{SUFFIX}").exists()


def test_a_pointer_to_a_gone_sidecar_in_a_folder_still_there_is_dropped_but_one_to_a_missing_folder_is_kept(
    tmp_path,
):
    index, data, sidecar = _autosave_of(tmp_path)
    sidecar.unlink()
    assert pending_autosaves(index) == ([], []) and list(index.iterdir()) == []
    index, data, sidecar = _autosave_of(tmp_path)
    (entry,) = index.iterdir()
    sidecar.unlink()
    data.rmdir()  # a drive not mounted
    found, damaged = pending_autosaves(index)
    assert found == [] and len(damaged) == 1 and damaged[0].startswith(f"{entry}: points to {sidecar}")
    assert entry.exists()


# --------------------------------------------------------------------------- property: never raises, never trusts

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)

_BASE = json.loads(
    _doc_json(
        [
            {
                "id": 3,
                "class": 1,
                "track": 0,
                "start": 2,
                "end": 9,
                "keyframes": [[2, 20.0, 0.0, None], [6, -40.0, 10.0, None]],
            },
            {"id": 5, "class": 4, "track": 1, "start": 0, "end": 4, "keyframes": [[1, 170.0, -5.0, 2.5]]},
        ]
    )
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


_ALL_PATHS = list(_paths(_BASE))[1:]


def _replace(node, path, value):
    if len(path) == 1:
        node[path[0]] = value
        return
    _replace(node[path[0]], path[1:], value)


def _check_trustworthy(saved):
    if saved.class_set is None:  # an unknown set name and no class names: indices only >= 0
        with pytest.raises(SeldError):
            get_class_set(saved.classes)
    ids = [e.id for e in saved.annotation.events]
    assert len(ids) == len(set(ids))
    for e in saved.annotation.events:
        assert event_problems(e, saved.class_set) == []
        assert 0 <= e.start < e.end <= autosave.MAX_EVENT_FRAMES
        assert all(math.isfinite(v) for k in e.keyframes for v in (k.azimuth, k.elevation))
        e.to_event()  # the per-frame conversion works and is bounded
    assert len(saved.annotation) + saved.n_refused == saved.n_events


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.lists(st.tuples(st.sampled_from(_ALL_PATHS), _VALUES), min_size=1, max_size=3),
)
def test_any_field_replaced_by_any_value_is_refused_or_checked(tmp_path, changes):
    data = json.loads(json.dumps(_BASE))
    for path, value in changes:
        try:
            _replace(data, path, value)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change removed the place
    p = tmp_path / f"fuzz{SUFFIX}"
    p.write_text(json.dumps(data))
    try:
        saved = read_autosave(p)
    except LabelError as err:
        assert str(err).startswith(f"{p}: ")
        return
    _check_trustworthy(saved)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.none() | st.integers(min_value=0, max_value=10_000),
    junk=st.binary(max_size=20) | st.sampled_from([b" ", b"\n", b"0", b"-", b"e9", b"\\"]),
    at=st.integers(min_value=0),
)
def test_cut_or_spliced_bytes_are_refused_or_checked(tmp_path, cut, junk, at):
    raw = json.dumps(_BASE, indent=1).encode()
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    i = at % (len(raw) + 1)
    raw = raw[:i] + junk + raw[i:]
    p = tmp_path / f"fuzz{SUFFIX}"
    p.write_bytes(raw)
    try:
        saved = read_autosave(p)
    except LabelError as err:
        assert str(err).startswith(f"{p}: ")
        return
    _check_trustworthy(saved)
    found, damaged = pending_autosaves(tmp_path)
    assert len(found) + len(damaged) == 1
