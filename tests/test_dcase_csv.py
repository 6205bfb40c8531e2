"""DCASE label CSV reading/writing: formats, detection, validation, atomic writes, real files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from core.common.errors import LabelError, SeldError
from core.labels import dcase_csv
from core.labels.classes import DCASE2020, DCASE2021, STARSS23, custom, get_class_set
from core.labels.dcase_csv import (
    FORMATS,
    AmbiguousFormatError,
    ClassIndexError,
    ColumnCountError,
    format_labels,
    parse_labels,
    read_labels,
    write_labels,
)
from core.labels.table import LabelRow, LabelTable

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
    # the negative z of the first row settles the format (no polar distance is negative)
    table = parse_labels("4,2,1,0,-0.5,-0.5\n4,3,0,-1,0,0\n")
    assert table.fmt == "dcase2020-xyz"
    first, second = table.rows
    assert first.xyz == (0.0, -0.5, -0.5)
    assert first.azimuth == np.arctan2(-0.5, 0.0) * 180 / np.pi == -90.0
    assert first.elevation == pytest.approx(-45.0, abs=1e-12)
    assert (second.azimuth, second.elevation) == (180.0, 0.0)
    assert (first.line, second.line) == (1, 2)


def test_polar_written_as_cartesian_and_back():
    table = LabelTable([LabelRow(0, 1, 0, 90.0, 0.0), LabelRow(1, 1, 0, 0.0, 45.0)])
    text = format_labels(table, fmt="dcase2020-xyz")
    assert text == "0,1,0,0,1,0\n1,1,0,0.70710678,0,0.70710678\n"
    # no z is negative and every value is within [-1, 1]: polar with distance fits too
    with pytest.raises(AmbiguousFormatError):
        parse_labels(text)
    back = parse_labels(text, fmt="dcase2020-xyz")
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


def test_six_columns_cartesian_when_a_row_has_a_negative_z():
    # every row fits Cartesian (values in [-1, 1], non-zero), the last cannot be polar (distance < 0)
    t = parse_labels("1,2,0,0.6,0,0.8\n2,2,0,-1,0,0\n3,2,0,0.1,0.2,-0.3\n")
    assert t.fmt == "dcase2020-xyz" and t.rows[0].xyz == (0.6, 0.0, 0.8) and t.rows[0].distance is None
    # model outputs need not be unit vectors: (1, 1, -1) has norm 1.73 and still fits
    assert parse_labels("1,2,0,1,1,-1\n").rows[0].xyz == (1.0, 1.0, -1.0)
    # printing error within CARTESIAN_TOL (1e-3) is tolerated
    assert parse_labels("1,2,0,1.0005,0,-0.0001\n").fmt == "dcase2020-xyz"


def test_six_columns_polar_when_no_row_fits_cartesian():
    t = parse_labels("3,2,0,30,-10,150\n4,2,0,0,0,0\n5,2,0,0.5,0,250\n")
    assert t.fmt == "dcase2024"
    assert [(r.azimuth, r.elevation, r.distance) for r in t] == [
        (30.0, -10.0, 150.0),
        (0.0, 0.0, 0.0),  # a zero triple is no Cartesian row, but a valid polar one
        (0.5, 0.0, 250.0),
    ]
    assert t.rows[0].xyz is None


def test_six_columns_that_fit_both_are_refused_as_ambiguous():
    text = "1,2,0,0.6,0,0.8\n\n2,2,0,-1,0,0\n"
    with pytest.raises(AmbiguousFormatError) as err:
        parse_labels(text, path="a.csv")
    assert err.value.line == 1 and err.value.candidates == ("dcase2020-xyz", "dcase2024")
    message = str(err.value)
    assert message.startswith("a.csv, line 1: the 6 columns read both as Cartesian")
    assert "fmt='dcase2020-xyz' or fmt='dcase2024'" in message and "--label-format" in message
    # unit vectors are no exception: a polar row "0,0,1" (front, distance 1) is a unit vector too
    with pytest.raises(AmbiguousFormatError):
        parse_labels("5,1,0,0,0,1\n")
    # the format settles it either way
    forced = parse_labels(text, fmt="dcase2024")
    assert forced.fmt == "dcase2024" and forced.rows[0].azimuth == 0.6 and forced.rows[0].distance == 0.8
    assert parse_labels(text, fmt="dcase2020-xyz").rows[1].xyz == (-1.0, 0.0, 0.0)


def _cartesian_lines(n: int, z: float = 0.0) -> list[str]:
    return [f"{f},1,0,{np.cos(f / 10):.6f},{np.sin(f / 10):.6f},{z}" for f in range(n)]


@pytest.mark.parametrize(
    ("bad_row", "problem"),
    [
        ("0,0,0", "the (x, y, z) vector has zero length"),
        ("1.02,0,0", "x '1.02' is outside [-1, 1]"),
        ("0,0.5,1.5", "z '1.5' is outside [-1, 1]"),
        ("360,0,0", "x '360' is outside [-1, 1]"),
    ],
)
def test_a_cartesian_file_with_one_bad_row_is_refused_at_that_row(bad_row, problem):
    # No z is negative, so every other row also fits polar; one row out of the unit box, or a zero
    # vector, must not turn the file polar (the reader used to do so silently).
    lines = _cartesian_lines(30)
    lines[11] = "11,1,0," + bad_row
    with pytest.raises(LabelError) as err:
        parse_labels("\n".join(lines) + "\n", path="p.csv")
    assert not isinstance(err.value, AmbiguousFormatError)
    assert err.value.line == 12
    assert str(err.value).startswith(f"p.csv, line 12: {problem} (6 columns taken as Cartesian dcase2020-xyz")
    assert "29 of 30 rows fit" in str(err.value)


def test_a_negative_z_is_not_reported_as_a_negative_distance():
    # The tester's case: Cartesian rows, a valid negative z on line 21 and a broken row on line 71.
    # The file is Cartesian (most rows fit it), so the error is at line 71, column x.
    lines = _cartesian_lines(80, z=0.25)
    lines[20] = "20,1,0,0.5,0.5,-0.7"
    lines[70] = "70,1,0,2,0,0.3"
    with pytest.raises(
        LabelError, match=r"^c\.csv, line 71: x '2' is outside \[-1, 1\] \(6 columns taken as Cartesian"
    ):
        parse_labels("\n".join(lines) + "\n", path="c.csv")
    # a polar file with a negative distance on line 21: distance, line 21
    polar = [f"{f},1,0,{f - 40},10,{100 + f}" for f in range(80)]
    polar[20] = "20,1,0,-20,10,-150"
    with pytest.raises(
        LabelError, match=r"^d\.csv, line 21: distance '-150' is negative \(6 columns taken as polar"
    ):
        parse_labels("\n".join(polar) + "\n", path="d.csv")


def test_a_polar_file_with_a_row_that_reads_cartesian_too_is_ambiguous_there():
    text = "0,1,0,30,10,150\n1,1,0,0.5,0.5,0.5\n2,1,0,40,10,160\n"
    with pytest.raises(AmbiguousFormatError) as err:
        parse_labels(text, path="m.csv")
    assert err.value.line == 2 and "2 of the 3 rows hold values outside [-1, 1]" in str(err.value)
    assert parse_labels(text, fmt="dcase2024").rows[1].distance == 0.5


def test_cartesian_values_are_range_checked_when_the_format_is_given():
    with pytest.raises(LabelError, match=r"^y\.csv, line 1: x '360' is outside \[-1, 1\]$"):
        parse_labels("0,1,0,360,0,0\n", fmt="dcase2020-xyz", path="y.csv")
    with pytest.raises(LabelError, match=r"x\.csv, line 2: y '-1.5' is outside \[-1, 1\]$"):
        parse_labels("0,1,0,1,0,0,100\n1,1,0,0,-1.5,0,100\n", path="x.csv")
    with pytest.raises(LabelError, match=r"^z\.csv, line 1: the \(x, y, z\) vector has zero length$"):
        parse_labels("0,1,0,0,0,0,100\n", path="z.csv")
    with pytest.raises(LabelError, match=r"^z\.csv, line 3: the \(x, y, z\) vector has zero length$"):
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
    # (text, fmt, classes, line, expected message after "bad.csv, line N: ")
    (
        "0,1,0,10,20\n0,1,0,10,20,30\n",
        None,
        None,
        2,
        "found 6 columns but line 1 has 5; every row of a label file must have the same columns",
    ),
    ("0,1,0,10\n", None, None, 1, "found 4 columns; a DCASE SELD label row has 5, 6 or 7"),
    ("0\n", None, None, 1, "found 1 column; a DCASE SELD label row has 5, 6 or 7"),
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
    ("0,1,0,10,-Infinity\n", None, None, 1, "elevation '-Infinity' is not a finite number"),
    ("0,1,0,0.5,inf,0\n", None, None, 1, "column 5 'inf' is not a finite number"),
    ("0,1,0,1e400,0\n", None, None, 1, "azimuth '1e400' is too large (not a finite number)"),
    ("0,1_0,0,10,20\n", None, None, 1, "class '1_0' is not a number"),
    ("0,1,0,0x10,20\n", None, None, 1, "azimuth '0x10' is not a number"),
    ("0,\u0661,0,10,20\n", None, None, 1, "class '\u0661' is not a number"),  # an Arabic-Indic one
    ("0,1,0,10,20\n1.5,1,0,10,20\n", None, None, 2, "frame '1.5' is not an integer"),
    ("0,1.5,0,10,20\n", None, None, 1, "class '1.5' is not an integer"),
    ("0,1,0.5,10,20\n", None, None, 1, "track '0.5' is not an integer"),
    ("0,1,0,10,20\n\n-1,1,0,10,20\n", None, None, 3, "frame '-1' is negative"),
    ("0,-2,0,10,20\n", None, None, 1, "class '-2' is negative"),
    ("0,1,-1,10,20\n", None, None, 1, "track '-1' is negative"),
    ("0,14,0,10,20\n", None, DCASE2020, 1, "class '14' is outside the class set 'dcase2020' (0-13)"),
    ("0,13,0,10,20\n", None, "starss", 1, "class '13' is outside the class set 'starss23' (0-12)"),
    ("0,1,0,10,20\n3,99,0,10,20\n", None, 14, 2, "class '99' is outside the 14 scored classes (0-13)"),
    ("0,1,0,10,20\n1,1,0,180.5,20\n", None, None, 2, "azimuth '180.5' is outside [-180, 180] degrees"),
    ("0,1,0,-181,20\n", None, None, 1, "azimuth '-181' is outside [-180, 180] degrees"),
    ("0,1,0,10,-90.01\n", None, None, 1, "elevation '-90.01' is outside [-90, 90] degrees"),
    ("0,1,0,10,20,-3\n", None, None, 1, "distance '-3' is negative (6 columns taken as polar dcase2024"),
    ("0,1,0,0.6,0,0.8,-1\n", None, None, 1, "distance '-1' is negative"),
    ("0,1,0,0,0,0,100\n", None, None, 1, "the (x, y, z) vector has zero length"),
    ("0,1,0,0.5,0,0,100\n1,1,0,1.2,0,0,100\n", None, None, 2, "x '1.2' is outside [-1, 1]"),
    (
        "4294967296,1,0,10,20\n",
        None,
        None,
        1,
        "frame '4294967296' is too large (indices are below 2147483648)",
    ),
    ("0,2147483648,0,10,20\n", None, None, 1, "class '2147483648' is too large"),
    ("0,1,0,10,20\n" + "1,1,0," + "7" * 10_000 + "x,0\n", None, None, 2, "azimuth '7777777777"),
]


@pytest.mark.parametrize(("text", "fmt", "classes", "line", "problem"), BAD)
def test_validation_errors_name_file_and_line(tmp_path, text, fmt, classes, line, problem):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LabelError) as err:
        read_labels(path, fmt=fmt, classes=classes)
    message = str(err.value)
    assert message.startswith(f"{path}, line {line}: {problem}"), message
    assert err.value.line == line and err.value.path == os.fspath(path)
    assert len(message) < len(os.fspath(path)) + 400  # a 10,000-character field is never echoed whole


def test_long_fields_are_cut_in_messages():
    with pytest.raises(LabelError) as err:
        parse_labels("0,1,0," + "7" * 10_000 + "x,0\n", path="l.csv")
    assert str(err.value) == "l.csv, line 1: azimuth '" + "7" * 40 + "'… (10001 characters) is not a number"


def test_class_errors_are_class_index_errors():
    with pytest.raises(ClassIndexError, match="class '20' is outside the 13 scored classes"):
        parse_labels("0,20,0,10,20\n", classes=13)
    with pytest.raises(LabelError, match="class count must be a positive integer"):
        parse_labels("0,1,0,10,20\n", classes=0)
    assert len(parse_labels("0,12,0,10,20\n", classes=13)) == 1


def test_first_bad_line_in_file_order_is_reported():
    # Line 2 breaks a later rule (elevation) than line 3 (frame); line 2 is still reported first.
    text = "0,1,0,10,20\n1,1,0,10,95\n-1,1,0,10,20\n"
    with pytest.raises(LabelError, match=r"^x\.csv, line 2: elevation '95'"):
        parse_labels(text, path="x.csv")
    # within a row, the first column that breaks a rule is named
    with pytest.raises(LabelError, match=r"^x\.csv, line 1: class '-1' is negative"):
        parse_labels("0,-1,0,500,95\n", path="x.csv")


def test_negative_class_is_an_error_without_a_class_set_but_large_is_fine():
    assert parse_labels("0,40,0,10,20\n").rows[0].cls == 40
    with pytest.raises(LabelError, match="class '-1' is negative"):
        parse_labels("0,-1,0,10,20\n")


def test_line_ends_and_rows_remember_their_lines():
    for text in ("0,1,0,10,20\r\n\r\n1,1,0,11,20\r\n", "0,1,0,10,20\r\r1,1,0,11,20\r"):
        t = parse_labels(text)
        assert [(r.frame, r.line) for r in t] == [(0, 1), (1, 3)]
    with pytest.raises(LabelError, match=r"^c\.csv, line 3: azimuth 'x' is not a number"):
        parse_labels("0,1,0,10,20\r1,1,0,10,20\r2,1,0,x,20\r", path="c.csv")
    # the line takes no part in comparisons
    assert parse_labels("\n0,1,0,10,20\n").rows == parse_labels("0,1,0,10,20\n").rows


def test_negative_zero_is_zero():
    row = parse_labels("-0,-0,-0,-0,-0\n").rows[0]
    assert (row.frame, row.cls, row.track, row.azimuth) == (0, 0, 0, 0.0)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(LabelError, match="label file not found"):
        read_labels(tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"0,1,0,10,20\n\xff\xfe\x00\x01")
    with pytest.raises(LabelError, match=r"line 2: not a text file"):
        read_labels(binary)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("0,1,0,10,20\n".encode("utf-16"))
    with pytest.raises(LabelError, match=r"line 1: the file is UTF-16 text"):
        read_labels(utf16)
    with pytest.raises(LabelError, match="is a folder"):
        read_labels(tmp_path)


def test_devices_pipes_and_huge_files_are_refused_without_reading(tmp_path, monkeypatch):
    with pytest.raises(LabelError, match="is not a regular file"):
        read_labels("/dev/zero")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(LabelError, match="is not a regular file"):
        read_labels(fifo)  # opening a pipe with no writer would block
    big = tmp_path / "big.csv"
    big.write_text("0,1,0,10,20\n" * 100)
    monkeypatch.setattr(dcase_csv, "MAX_FILE_BYTES", 1000)
    with pytest.raises(LabelError, match="is larger than"):
        read_labels(big)


def test_column_count_errors_have_their_own_type():
    with pytest.raises(ColumnCountError):
        parse_labels("0,1,0,10,20\n", fmt="dcase2024")
    with pytest.raises(ColumnCountError):
        parse_labels("0,1,0,10,20\n1,1,0,10\n")


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
    with pytest.raises(LabelError, match=r"fold1_room1_mix001\.csv, line \d+: class '11' is outside"):
        read_labels(TAU2021_CSV, classes=custom([f"c{i}" for i in range(9)]))
