"""The malformed-label corpus in ``tests/fuzz/labels/``: each file and what ``seld score`` must do.

Every refusal is ``seld: error: <file>, line N: <problem>`` on stderr, nothing on stdout and
exit status 2, never a traceback; every accepted file is scored with the stated result.
Files named ``ref_*`` are scored as the reference against ``_empty.csv``; the others as the
prediction against ``_ref.csv`` (class 1 at azimuth 30, elevation 10 in frames 0-99, class 4
at azimuth -60 in frames 20-59: 14 class-segments). The corpus is kept byte for byte
(``.gitattributes``: no line-end conversion).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.cli import main

CORPUS = Path(__file__).parent / "fuzz" / "labels"
TOL = 1e-9


def _angle(az1: float, el1: float, az2: float, el2: float) -> float:
    a1, e1, a2, e2 = (math.radians(v) for v in (az1, el1, az2, el2))
    return math.degrees(
        math.acos(math.sin(e1) * math.sin(e2) + math.cos(e1) * math.cos(e2) * math.cos(a1 - a2))
    )


# 10 class-1 segments at 7.0 deg and 4 class-4 segments at 11.2 deg: all TP (dcase2020).
_LE_NORM = (10 * _angle(30, 10, 35, 5) + 4 * _angle(-60, 0, -50, -5)) / 14


@dataclass(frozen=True)
class Refused:
    line: int | None
    problem: str  # the message after "<file>, line N: " starts with this
    args: tuple[str, ...] = ()
    contains: str = ""


@dataclass(frozen=True)
class Scored:
    expected: dict[str, float] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    warning: str = ""  # "" means stderr must be empty
    seconds: float = 10.0


CASES: dict[str, Refused | Scored] = {
    # --- class index: bounded by the metric's class set unless --classes widens it
    "class_99.csv": Refused(
        3,
        "class '99' is outside the 13 scored classes (0-12); --metric dcase2022 scores 13",
        ("--metric", "dcase2022"),
    ),
    "class_int32_max.csv": Refused(2, "class '2147483647' is outside the 14 scored classes (0-13)"),
    "class_over_int32.csv": Refused(1, "class '99999999999' is too large"),
    "class_negative.csv": Refused(5, "class '-1' is negative"),
    "class_fraction.csv": Refused(1, "class '1.5' is not an integer"),
    "class_integral_float.csv": Scored({"SELD": 0, "Nref": 14, "TP": 14}),
    # --- frames
    "frame_fraction.csv": Refused(3, "frame '12.5' is not an integer"),
    "frame_negative.csv": Refused(1, "frame '-3' is negative"),
    "frame_over_int32.csv": Refused(141, "frame '2147483648' is too large"),
    "ref_frame_int32_max.csv": Scored(
        {"n_segments": 214748365, "Nref": 2, "FN": 2}, ("--metric", "dcase2022"), seconds=5
    ),
    "ref_frame_1e8.csv": Scored(
        {"n_segments": 10_000_000, "Nref": 1},
        ("--metric", "dcase2022"),
        "1 reference row at or past the clip end (frame 100000000; the last row is at frame 100000000) is not scored",
        seconds=5,
    ),
    "ref_rows_past_clip.csv": Scored(
        {"Nref": 0, "ER": 0},
        warning="251 reference rows at or past the clip end (frame 600; the last row is at frame 900) are not "
        "scored\nseld score: warning: dcase2020 clips are 600 frames (60 s) unless --frames says otherwise; if the "
        "clips are longer, give --frames N (--frames 901 scores every row here)",
    ),
    # --- numbers
    "nan_azimuth.csv": Refused(2, "azimuth 'nan' is not a finite number"),
    "inf_elevation.csv": Refused(1, "elevation 'inf' is not a finite number"),
    "overflow_1e400.csv": Refused(1, "azimuth '1e400' is too large (not a finite number)"),
    "empty_field.csv": Refused(1, "azimuth is empty"),
    "azimuth_181.csv": Refused(6, "azimuth '181' is outside [-180, 180] degrees"),
    "elevation_minus_91.csv": Refused(1, "elevation '-91' is outside [-90, 90] degrees"),
    "hex_number.csv": Refused(1, "azimuth '0x1e' is not a number"),
    "underscore_number.csv": Refused(1, "azimuth '3_0' is not a number"),
    "unicode_digits.csv": Refused(1, "class '\u0661' is not a number"),
    "inner_space.csv": Refused(1, "azimuth '3 0' is not a number"),
    "double_sign.csv": Refused(1, "azimuth '--30' is not a number"),
    "nul_byte.csv": Refused(1, "azimuth '3\\x000' is not a number"),
    "long_field.csv": Refused(1, "azimuth '" + "7" * 40 + "'… (10001 characters) is not a number"),
    "negative_zero.csv": Scored({"SELD": 0, "TP": 14}),
    "plus_sign_and_exponent.csv": Scored({"SELD": 0, "TP": 14}),
    # --- layout and encoding
    "mixed_columns.csv": Refused(3, "found 6 columns but line 1 has 5"),
    "four_columns.csv": Refused(1, "found 4 columns; a DCASE SELD label row has 5, 6 or 7"),
    "semicolons.csv": Refused(1, "found 1 column; a DCASE SELD label row has 5, 6 or 7"),
    "tabs.csv": Refused(1, "found 1 column"),
    "trailing_comma.csv": Refused(1, "column 6 is empty"),
    "header_line.csv": Refused(1, "frame 'frame' is not a number (DCASE label files have no header line)"),
    "binary_junk.csv": Refused(2, "not a text file (invalid UTF-8)"),
    "utf16.csv": Refused(1, "the file is UTF-16 text"),
    "bom.csv": Scored({"SELD": 0, "TP": 14}),
    "crlf.csv": Scored({"SELD": 0, "TP": 14}),
    "cr_only.csv": Scored({"SELD": 0, "TP": 14}),
    "blank_lines_only.csv": Scored({"ER": 1, "F": 0, "LE": 180, "LR": 0, "SELD": 1}),
    "_empty.csv": Scored({"ER": 1, "F": 0, "LE": 180, "LR": 0, "SELD": 1}),
    # --- six columns: Cartesian x,y,z or polar azimuth,elevation,distance, decided by all rows
    "xyz_zero_row.csv": Refused(
        7,
        "the (x, y, z) vector has zero length (6 columns taken as Cartesian dcase2020-xyz x,y,z, which 139 of 140",
    ),
    "xyz_component_1.02.csv": Refused(9, "x '1.02' is outside [-1, 1] (6 columns taken as Cartesian"),
    "xyz_x_360.csv": Refused(4, "x '360' is outside [-1, 1] (6 columns taken as Cartesian"),
    "xyz_norm_1.02_all_z_nonnegative.csv": Refused(
        1,
        "the 6 columns read both as Cartesian x,y,z (dcase2020-xyz) and as polar azimuth,elevation,distance "
        "(dcase2024) in every row",
        contains="name the format with --pred-format dcase2020-xyz or --pred-format dcase2024",
    ),
    # model outputs need not be unit vectors: class 4 rows have norm 1.018, and a negative z settles it
    "xyz_norm_1.02_with_negative_z.csv": Scored(
        {"ER": 0, "F": 1, "LR": 1, "LE": _LE_NORM, "SELD": _LE_NORM / 720}
    ),
    "xyz_negative_z_line_21.csv": Refused(71, "x '2' is outside [-1, 1] (6 columns taken as Cartesian"),
    "polar2024_negative_distance_line_21.csv": Refused(
        21, "distance '-150' is negative (6 columns taken as polar"
    ),
    "six_columns_all_zero.csv": Refused(
        1, "every row's last three values are 0", contains="name the format with --pred-format dcase2024"
    ),
    "xyz7_negative_distance.csv": Refused(6, "distance '-2' is negative"),
    "xyz7_y_out_of_range.csv": Refused(4, "y '-1.5' is outside [-1, 1]"),
}

# an explicit format does not skip the range check
EXTRA = [
    ("xyz_x_360.csv", Refused(4, "x '360' is outside [-1, 1]", ("--pred-format", "dcase2020-xyz"))),
    ("class_99.csv", Scored({"n_classes": 100, "I": 1}, ("--metric", "dcase2022", "--classes", "100"))),
    (
        "class_99.csv",
        Refused(3, "class '99' is outside the class set 'starss23' (0-12)", ("--classes", "starss")),
    ),
    ("xyz_norm_1.02_all_z_nonnegative.csv", Scored({"TP": 14}, ("--pred-format", "dcase2020-xyz"))),
]


def _run(name: str, case: Refused | Scored, capsys) -> tuple[int, str, str, float, Path]:
    path = CORPUS / name
    if name.startswith("ref_"):
        ref, pred = path, CORPUS / "_empty.csv"
    else:
        ref, pred = CORPUS / "_ref.csv", path
    start = time.perf_counter()
    status = main(["score", str(ref), str(pred), "--json", *case.args])
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    return status, out, err, elapsed, path


def _check(name: str, case: Refused | Scored, capsys) -> None:
    status, out, err, elapsed, path = _run(name, case, capsys)
    assert "Traceback" not in err
    if isinstance(case, Refused):
        assert status == 2 and out == "", (status, err)
        where = f"{path}, line {case.line}" if case.line is not None else f"{path}"
        assert err.startswith(f"seld: error: {where}: {case.problem}"), err
        assert case.contains in err and err.count("\n") == 1 and len(err) < 700, err
        return
    assert status == 0, err
    data = json.loads(out)
    for key, value in case.expected.items():
        assert data[key] == pytest.approx(value, abs=1e-6 if key in ("LE", "SELD") else TOL), key
    if case.warning:
        assert err.startswith(f"seld score: warning: {path.name}: {case.warning}"), err
    else:
        assert err == ""
    assert elapsed < case.seconds


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file(name, capsys):
    _check(name, CASES[name], capsys)


@pytest.mark.parametrize(("name", "case"), EXTRA, ids=[f"{n}{''.join(c.args)}" for n, c in EXTRA])
def test_corpus_file_with_options(name, case, capsys):
    _check(name, case, capsys)


def test_every_corpus_file_has_an_expectation():
    files = {p.name for p in CORPUS.iterdir() if p.suffix == ".csv"}
    assert files - {"_ref.csv"} == set(CASES)
    assert all(p.stat().st_size < 20_000 for p in CORPUS.iterdir())


def test_the_reference_scores_perfectly_against_itself(capsys):
    ref = str(CORPUS / "_ref.csv")
    assert main(["score", ref, ref, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["Nref"] == 14 and data["SELD"] == pytest.approx(0, abs=TOL)
