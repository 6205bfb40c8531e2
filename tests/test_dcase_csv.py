"""DCASE label CSV reading/writing: formats, detection, validation, atomic writes, real files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from core.classes import DCASE2020, DCASE2021, STARSS23, custom, get_class_set
from core.dcase_csv import FORMATS, format_labels, parse_labels, read_labels, write_labels
from core.errors import LabelError, SeldError
from core.labels import LabelRow, LabelTable

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
STARSS22_META = REAL / "dcase_seld" / "starss22" / "metadata_dev"
TAU2021_CSV = REAL / "dcase_seld" / "tau2021_nigens" / "metadata_dev" / "dev-train" / "fold1_room1_mix001.csv"


# ----------------------------------------------------------------------------- class sets


def test_class_sets():
    assert len(DCASE2020) == 14 and DCASE2020[0] == "alarm" and DCASE2020[13] == "piano"
    assert DCASE2020.index("crying baby") == 1 == DCASE2020.index("Crying_Baby")
    assert DCASE2020.index("burning fire") == 7
    assert len(DCASE2021) == 12 and "running engine" not in DCASE2021
    assert len(STARSS23) == 13 and STARSS23[7] == "door open/close" and STARSS23.id(7) == "door_open_close"
    assert STARSS23.index("knock") == 12
    assert get_class_set("starss") is STARSS23 and get_class_set("DCASE2020") is DCASE2020
    mine = custom(["dog", "cat"])
    assert len(mine) == 2 and mine.index("cat") == 1
    with pytest.raises(SeldError, match="unknown class set 'foo'"):
        get_class_set("foo")
    with pytest.raises(SeldError, match="unknown class 'violin'"):
        STARSS23.index("violin")
    with pytest.raises(IndexError):
        STARSS23[13]
    with pytest.raises(SeldError, match="twice"):
        custom(["a b", "a_b"])


# ----------------------------------------------------------------------------- round trips

ROUND_TRIP_TEXT = {
    "dcase2020": "0,3,0,-40,10\n0,5,1,120.5,-12.25\n7,13,0,180,-90\n",
    "dcase2022": "12,1,1,-98,-16\n13,12,4,0,90\n",
    "dcase2024": "3,2,0,45,0,150\n3,2,1,-45,10.5,87.25\n",
    "dcase2020-xyz": "1,0,0,1,0,0\n1,4,1,0,-0.707107,0.707107\n2,4,0,0.5,0.5,-0.707107\n",
    "dcase2024-xyz": "1,0,0,0,1,0,2.5\n5,1,2,-0.6,0,0.8,300\n",
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_round_trip_every_format(tmp_path, fmt):
    text = ROUND_TRIP_TEXT[fmt]
    table = parse_labels(text, fmt=fmt)
    assert table.fmt == fmt and len(table) == text.count("\n")
    # Write -> read gives equal rows, and the written text is the compact original.
    out = tmp_path / f"{fmt}.csv"
    write_labels(table, out)
    assert out.read_text() == text
    again = read_labels(out, fmt=fmt)
    assert again.rows == table.rows and again.fmt == fmt and again.path == os.fspath(out)


def test_polar_values_are_written_compactly():
    rows = [
        LabelRow(12, 3, 0, -40.0, 10.0),
        LabelRow(13, 3, 0, 12.345678, -0.0),
        LabelRow(14, 3, 0, 1.5, 89.99999),
    ]
    assert format_labels(rows) == "12,3,0,-40,10\n13,3,0,12.3457,0\n14,3,0,1.5,90\n"
    assert format_labels([]) == ""


def test_cartesian_rows_get_dcase_angles_and_keep_xyz():
    table = parse_labels("4,2,1,0,-0.5,0.5\n4,3,0,-1,0,0\n")
    assert table.fmt == "dcase2020-xyz"
    first, second = table.rows
    assert first.xyz == (0.0, -0.5, 0.5)
    assert first.azimuth == np.arctan2(-0.5, 0.0) * 180 / np.pi == -90.0
    assert first.elevation == pytest.approx(45.0, abs=1e-12)
    assert (second.azimuth, second.elevation) == (180.0, 0.0)


def test_polar_written_as_cartesian_and_back():
    table = LabelTable([LabelRow(0, 1, 0, 90.0, 0.0), LabelRow(1, 1, 0, 0.0, 45.0)])
    text = format_labels(table, fmt="dcase2020-xyz")
    assert text == "0,1,0,0,1,0\n1,1,0,0.70710678,0,0.70710678\n"
    back = parse_labels(text)
    assert back.fmt == "dcase2020-xyz"
    assert [(r.azimuth, r.elevation) for r in back] == [(90.0, 0.0), (0.0, pytest.approx(45.0))]


def test_plain_rows_infer_the_format_and_missing_distance_is_an_error():
    with_xyz = [LabelRow(0, 0, 0, 0.0, 0.0, xyz=(1.0, 0.0, 0.0))]
    assert format_labels(with_xyz) == "0,0,0,1,0,0\n"
    with_distance = [LabelRow(0, 0, 0, 10.0, 0.0, distance=120.0)]
    assert format_labels(with_distance) == "0,0,0,10,0,120\n"
    assert format_labels(with_distance, fmt="dcase2022") == "0,0,0,10,0\n"
    with pytest.raises(
        LabelError, match=r"out\.csv: row 1 \(frame 0\): format 'dcase2024' needs a non-negative distance"
    ):
        write_labels([LabelRow(0, 0, 0, 10.0, 0.0)], "/nonexistent/out.csv", fmt="dcase2024")


# ----------------------------------------------------------------------------- detection


def test_detection_by_column_count():
    assert parse_labels("1,2,0,10,20\n").fmt == "dcase2020"
    assert parse_labels("1,2,0,0.6,0,0.8,250\n").fmt == "dcase2024-xyz"
    assert parse_labels("", fmt="dcase2024").fmt == "dcase2024"
    empty = parse_labels("")
    assert len(empty) == 0 and empty.fmt == "dcase2020" and empty.n_frames == 0
    assert len(parse_labels("\n\n  \n")) == 0


def test_six_columns_are_decided_by_content():
    cartesian = "1,2,0,0.6,0,0.8\n2,2,0,-1,0,0\n"
    t = parse_labels(cartesian)
    assert t.fmt == "dcase2020-xyz" and t.rows[0].xyz == (0.6, 0.0, 0.8) and t.rows[0].distance is None
    # One row whose triple cannot be a unit vector makes the whole file polar with distance.
    polar = cartesian + "3,2,0,30,-10,150\n"
    t = parse_labels(polar)
    assert t.fmt == "dcase2024"
    assert [(r.azimuth, r.elevation, r.distance) for r in t][2] == (30.0, -10.0, 150.0)
    assert t.rows[0].xyz is None and t.rows[0].distance == 0.8
    # A zero triple is no direction, so it reads as polar (azimuth 0, elevation 0, distance 0).
    assert parse_labels("1,2,0,0,0,0\n").fmt == "dcase2024"
    # The override settles the ambiguity either way.
    forced = parse_labels(cartesian, fmt="dcase2024")
    assert forced.fmt == "dcase2024" and forced.rows[0].azimuth == 0.6 and forced.rows[0].distance == 0.8
    with pytest.raises(LabelError, match="line 3: the \\(x, y, z\\) vector has zero length"):
        parse_labels("1,2,0,0.6,0,0.8\n\n1,2,0,0,0,0\n", fmt="dcase2020-xyz", path="z.csv")


def test_forced_format_must_match_the_columns():
    with pytest.raises(LabelError) as err:
        parse_labels("1,2,0,10,20\n", fmt="dcase2024", path="a.csv")
    assert str(err.value) == (
        "a.csv, line 1: found 5 columns but format 'dcase2024' "
        "(frame,class,source,azimuth,elevation,distance) has 6"
    )
    with pytest.raises(LabelError, match="unknown label format 'dcase1999'"):
        parse_labels("", fmt="dcase1999")


def test_whitespace_floats_and_blank_lines_are_tolerated():
    text = "\ufeff 10 , 3 ,0, 10.0 ,-20\r\n\r\n11.0,3,0,-12,7.50\r\n\n\n"
    t = parse_labels(text, classes=DCASE2020)
    assert [(r.frame, r.cls, r.track, r.azimuth, r.elevation) for r in t] == [
        (10, 3, 0, 10.0, -20.0),
        (11, 3, 0, -12.0, 7.5),
    ]
    assert all(type(r.frame) is int and type(r.azimuth) is float for r in t)


def test_rows_keep_file_order_and_nothing_is_dropped():
    text = "5,1,0,10,0\n2,1,0,20,0\n5,0,1,30,0\n5,0,0,40,0\n"
    t = parse_labels(text)
    assert [(r.frame, r.cls, r.track) for r in t] == [(5, 1, 0), (2, 1, 0), (5, 0, 1), (5, 0, 0)]


# ----------------------------------------------------------------------------- validation

BAD = [
    # (text, fmt, classes, expected message after "bad.csv, line N: ")
    (
        "0,1,0,10,20\n0,1,0,10,20,30\n",
        None,
        None,
        2,
        "found 6 columns but line 1 has 5; every row of a label file must have the same columns",
    ),
    ("0,1,0,10\n", None, None, 1, "found 4 columns; a DCASE SELD label row has 5, 6 or 7"),
    (
        "frame,class,track,azimuth,elevation\n",
        None,
        None,
        1,
        "frame 'frame' is not a number (DCASE label files have no header line)",
    ),
    ("0,1,0,10,20\n1,1,0,ten,20\n", "dcase2020", None, 2, "azimuth 'ten' is not a number"),
    ("0,1,0,10,20\n1,1,0,,20\n", "dcase2020", None, 2, "azimuth is empty"),
    ("0,1,0,nan,20\n", None, None, 1, "azimuth 'nan' is not a finite number"),
    ("0,1,0,0.5,inf,0\n", None, None, 1, "column 5 'inf' is not a finite number"),
    ("0,1,0,10,20\n1.5,1,0,10,20\n", None, None, 2, "frame '1.5' is not an integer"),
    ("0,1.5,0,10,20\n", None, None, 1, "class '1.5' is not an integer"),
    ("0,1,0.5,10,20\n", None, None, 1, "track '0.5' is not an integer"),
    ("0,1,0,10,20\n\n-1,1,0,10,20\n", None, None, 3, "frame -1 is negative"),
    ("0,-2,0,10,20\n", None, None, 1, "class -2 is negative"),
    ("0,1,-1,10,20\n", None, None, 1, "track -1 is negative"),
    ("0,14,0,10,20\n", None, DCASE2020, 1, "class 14 is outside the class set 'dcase2020' (0-13)"),
    ("0,13,0,10,20\n", None, "starss", 1, "class 13 is outside the class set 'starss23' (0-12)"),
    ("0,1,0,10,20\n1,1,0,180.5,20\n", None, None, 2, "azimuth 180.5 is outside [-180, 180] degrees"),
    ("0,1,0,-181,20\n", None, None, 1, "azimuth -181 is outside [-180, 180] degrees"),
    ("0,1,0,10,-90.01\n", None, None, 1, "elevation -90.01 is outside [-90, 90] degrees"),
    ("0,1,0,10,20,-3\n", None, None, 1, "distance -3 is negative"),
    ("0,1,0,0.6,0,0.8,-1\n", None, None, 1, "distance -1 is negative"),
    ("0,1,0,0,0,0,100\n", None, None, 1, "the (x, y, z) vector has zero length"),
    ("4294967296,1,0,10,20\n", None, None, 1, "frame 4294967296 is too large"),
]


@pytest.mark.parametrize(("text", "fmt", "classes", "line", "problem"), BAD)
def test_validation_errors_name_file_and_line(tmp_path, text, fmt, classes, line, problem):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(LabelError) as err:
        read_labels(path, fmt=fmt, classes=classes)
    message = str(err.value)
    assert message.startswith(f"{path}, line {line}: "), message
    assert problem in message, message
    assert err.value.line == line and err.value.path == os.fspath(path)


def test_first_bad_line_in_file_order_is_reported():
    # Line 2 breaks a later rule (elevation) than line 3 (frame); line 2 is still reported first.
    text = "0,1,0,10,20\n1,1,0,10,95\n-1,1,0,10,20\n"
    with pytest.raises(LabelError, match=r"^x\.csv, line 2: elevation 95"):
        parse_labels(text, path="x.csv")


def test_negative_class_is_an_error_without_a_class_set_but_large_is_fine():
    assert parse_labels("0,40,0,10,20\n").rows[0].cls == 40
    with pytest.raises(LabelError, match="class -1 is negative"):
        parse_labels("0,-1,0,10,20\n")


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(LabelError, match="label file not found"):
        read_labels(tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"0,1,0,10,20\n\xff\xfe\x00\x01")
    with pytest.raises(LabelError, match=r"line 2: not a text file"):
        read_labels(binary)


# ----------------------------------------------------------------------------- atomic writes


def test_atomic_write_keeps_the_old_file_when_replace_fails(tmp_path, monkeypatch):
    target = tmp_path / "labels.csv"
    target.write_text("1,2,0,10,20\n")
    new = [LabelRow(5, 6, 0, -30.0, 40.0)]

    def failing_replace(src, dst):
        assert Path(src).read_text() == "5,6,0,-30,40\n"  # the new text was fully written first
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(
        LabelError, match=r"labels\.csv: cannot write the label file: No space left on device"
    ):
        write_labels(new, target)
    assert target.read_text() == "1,2,0,10,20\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


def test_atomic_write_keeps_the_old_file_when_writing_breaks_midway(tmp_path, monkeypatch):
    target = tmp_path / "labels.csv"
    target.write_text("1,2,0,10,20\n")

    def failing_fsync(fd):
        raise KeyboardInterrupt  # not an OSError: still cleaned up, and propagated as is

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(KeyboardInterrupt):
        write_labels([LabelRow(5, 6, 0, -30.0, 40.0)], target)
    assert target.read_text() == "1,2,0,10,20\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


def test_bad_row_never_touches_the_file(tmp_path):
    target = tmp_path / "labels.csv"
    target.write_text("1,2,0,10,20\n")
    with pytest.raises(LabelError, match="row 2"):
        write_labels([LabelRow(0, 0, 0, 1.0, 2.0), LabelRow(1, 0, 0, math.nan, 2.0)], target)
    assert target.read_text() == "1,2,0,10,20\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


def test_write_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "labels.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    write_labels(LabelTable([LabelRow(0, 1, 2, 3.0, 4.0)]), target)
    assert target.read_text() == "0,1,2,3,4\n"
    assert target.stat().st_mode & 0o777 == 0o640
    write_labels([], target)
    assert target.read_text() == "" and len(read_labels(target)) == 0


# ----------------------------------------------------------------------------- real data


def _non_empty_line_count(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f.read().splitlines() if line.strip())


def _starss_files(prefix: str) -> list[Path]:
    if not STARSS22_META.is_dir():
        pytest.skip(f"real STARSS22 metadata not found at {STARSS22_META}")
    return sorted(p for d in STARSS22_META.glob(f"{prefix}*") for p in d.glob("*.csv"))


def _check_starss(files: list[Path]) -> dict[str, object]:
    total, classes, tracks, max_frame, max_per_frame = 0, set(), set(), 0, 0
    for path in files:
        table = read_labels(path, classes=STARSS23)
        assert table.fmt == "dcase2020" and table.path == os.fspath(path)
        assert len(table) == _non_empty_line_count(path)
        az = np.array([r.azimuth for r in table])
        el = np.array([r.elevation for r in table])
        assert np.all(np.abs(az) <= 180) and np.all(np.abs(el) <= 90)
        frames = np.array([r.frame for r in table])
        total += len(table)
        classes |= {r.cls for r in table}
        tracks |= {r.track for r in table}
        max_frame = max(max_frame, int(frames.max()))
        max_per_frame = max(max_per_frame, int(np.bincount(frames).max()))
    return {
        "rows": total,
        "classes": classes,
        "tracks": tracks,
        "max_frame": max_frame,
        "per_frame": max_per_frame,
    }


def test_real_starss22_dev_train():
    files = _starss_files("dev-train")
    assert len(files) == 67
    assert sum(1 for p in files if p.parent.name == "dev-train-sony") == 40
    stats = _check_starss(files)
    assert stats["rows"] == 118627 == sum(_non_empty_line_count(p) for p in files)
    assert stats["classes"] == set(range(13))
    assert stats["tracks"] == set(range(5))
    assert stats["max_frame"] == 3334
    assert stats["per_frame"] == 5


def test_real_starss22_dev_test():
    files = _starss_files("dev-test")
    assert len(files) == 54
    stats = _check_starss(files)
    assert stats["rows"] == sum(_non_empty_line_count(p) for p in files) == 104353
    assert stats["classes"] == set(range(13))
    assert stats["tracks"] == set(range(5))
    assert stats["max_frame"] == 3559
    assert stats["per_frame"] == 5


def test_real_starss22_round_trip_is_byte_identical(tmp_path):
    src = _starss_files("dev-train-sony")[0]
    out = tmp_path / src.name
    write_labels(read_labels(src, classes=STARSS23), out)
    assert out.read_bytes() == src.read_bytes()


def test_real_tau2021_file():
    if not TAU2021_CSV.is_file():
        pytest.skip(f"real TAU-NIGENS 2021 metadata not found at {TAU2021_CSV}")
    table = read_labels(TAU2021_CSV, classes=DCASE2021)
    assert len(table) == 1052 == _non_empty_line_count(TAU2021_CSV)
    frames = [r.frame for r in table]
    assert (min(frames), max(frames)) == (12, 599)
    assert {r.cls for r in table} == {0, 1, 2, 3, 4, 5, 6, 8, 11}
    assert min(r.azimuth for r in table) == -180 and max(r.azimuth for r in table) == 180
    assert min(r.elevation for r in table) == -30 and max(r.elevation for r in table) == 40
    assert max(np.bincount(frames)) == 3
    # The 14-class 2020 set also accepts it; a 9-class custom set does not.
    assert len(read_labels(TAU2021_CSV, classes=DCASE2020)) == 1052
    with pytest.raises(LabelError, match=r"fold1_room1_mix001\.csv, line \d+: class 11 is outside"):
        read_labels(TAU2021_CSV, classes=custom([f"c{i}" for i in range(9)]))
