"""Property-based tests (hypothesis) of the label reader/writer and of ``seld score``'s refusals.

* Round trip: any valid table written in a format reads back equal within the written
  decimals (polar values 4 decimals, Cartesian components 8).
* Never guess: a valid file of one 6-column format, read without a format, is read as that
  format or refused with a message that asks for the format, never read as the other one.
* Refusal: one bad row (a class past the scored set, a negative, non-integer or non-finite
  value, an angle out of range, junk) in a valid file is refused with a ``LabelError`` naming
  that line, and by ``seld score`` with ``seld: error: <file>, line N: ...`` and exit status 2.
* Robustness: any text or bytes make a table or a ``LabelError``, nothing else.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.cli import main
from core.common.errors import LabelError
from core.labels.dcase_csv import (
    CARTESIAN_DECIMALS,
    FORMATS,
    POLAR_DECIMALS,
    AmbiguousFormatError,
    format_labels,
    parse_labels,
    read_labels,
    write_labels,
)
from core.labels.table import LabelRow, LabelTable

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLI = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

POLAR_TOL = 0.5 * 10**-POLAR_DECIMALS + 1e-9
"""Largest difference after a polar write/read: half the last written decimal (+ float error)."""
CARTESIAN_TOL_RT = 0.5 * 10**-CARTESIAN_DECIMALS + 1e-12

indices = st.integers(0, 2**31 - 1)
small = st.integers(0, 20)
azimuths = st.floats(-180, 180, allow_nan=False)
elevations = st.floats(-90, 90, allow_nan=False)
distances = st.floats(0, 1e6, allow_nan=False)
components = st.floats(-1, 1, allow_nan=False)


@st.composite
def vectors(draw) -> tuple[float, float, float]:
    """A Cartesian direction (components in [-1, 1]) that is not zero once written with 8 decimals."""
    v = (draw(components), draw(components), draw(components))
    assume(max(abs(c) for c in v) >= 1e-6)
    return v


@st.composite
def label_rows(draw, fmt: str) -> LabelRow:
    spec = FORMATS[fmt]
    frame, cls, track = draw(st.one_of(small, indices)), draw(st.one_of(small, indices)), draw(small)
    distance = draw(distances) if spec.has_distance else None
    if spec.cartesian:
        xyz = draw(vectors())
        return LabelRow(frame, cls, track, 0.0, 0.0, distance, xyz)
    return LabelRow(frame, cls, track, draw(azimuths), draw(elevations), distance)


def tables(fmt: str, min_size: int = 0) -> st.SearchStrategy[LabelTable]:
    return st.lists(label_rows(fmt), min_size=min_size, max_size=12).map(
        lambda rows: LabelTable(rows, fmt=fmt)
    )


def assert_same_within_decimals(back: LabelTable, table: LabelTable, fmt: str) -> None:
    spec = FORMATS[fmt]
    assert back.fmt == fmt and len(back) == len(table)
    for got, want in zip(back.rows, table.rows, strict=True):
        assert (got.frame, got.cls, got.track) == (want.frame, want.cls, want.track)
        if spec.cartesian:
            assert got.xyz is not None and want.xyz is not None
            for a, b in zip(got.xyz, want.xyz, strict=True):
                assert abs(a - b) <= CARTESIAN_TOL_RT
        else:
            assert abs(got.azimuth - want.azimuth) <= POLAR_TOL
            assert abs(got.elevation - want.elevation) <= POLAR_TOL
        if spec.has_distance:
            assert want.distance is not None and got.distance is not None
            assert abs(got.distance - want.distance) <= POLAR_TOL
        else:
            assert got.distance is None


# ----------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@FAST
@given(data=st.data())
def test_round_trip_within_the_written_decimals(fmt, data):
    table = data.draw(tables(fmt))
    text = format_labels(table)
    back = parse_labels(text, fmt=fmt)
    assert_same_within_decimals(back, table, fmt)
    # the lines of the text are the rows, in order
    assert [r.line for r in back] == list(range(1, len(table) + 1))
    # and writing what was read gives the same text again (the decimals are stable)
    assert format_labels(back) == text


@settings(max_examples=20, deadline=None)
@given(table=tables("dcase2024-xyz", min_size=1))
def test_round_trip_through_a_file(table):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "labels.csv"
        write_labels(table, path)
        back = read_labels(path)  # 7 columns: no format needed
    assert_same_within_decimals(back, table, "dcase2024-xyz")


@pytest.mark.parametrize(("fmt", "other"), [("dcase2020-xyz", "dcase2024"), ("dcase2024", "dcase2020-xyz")])
@FAST
@given(data=st.data())
def test_six_columns_are_never_read_as_the_other_format(fmt, other, data):
    table = data.draw(tables(fmt, min_size=1))
    text = format_labels(table)
    try:
        back = parse_labels(text, path="six.csv")
    except AmbiguousFormatError as err:
        assert fmt in err.candidates
        return
    except LabelError as err:
        # refused: the rows do not settle the format, and the message says how it was taken and
        # how to name the format
        assert f"fmt={fmt!r}" in str(err) and other in str(err), str(err)
        return
    assert back.fmt == fmt, f"a valid {fmt} file was read as {back.fmt}"
    assert_same_within_decimals(back, table, fmt)


@FAST
@given(table=tables("dcase2020-xyz", min_size=1), index=st.integers(0, 11))
def test_a_negative_z_settles_cartesian(table, index):
    rows = list(table.rows)
    r = rows[index % len(rows)]
    assert r.xyz is not None
    rows[index % len(rows)] = LabelRow(r.frame, r.cls, r.track, 0.0, 0.0, None, (r.xyz[0], r.xyz[1], -0.5))
    assert parse_labels(format_labels(LabelTable(rows, fmt="dcase2020-xyz"))).fmt == "dcase2020-xyz"


@FAST
@given(table=tables("dcase2024", min_size=1), far=st.floats(1.01, 1e5))
def test_distances_past_one_settle_polar(table, far):
    rows = [
        LabelRow(r.frame, r.cls, r.track, r.azimuth, r.elevation, max(r.distance or 0, far)) for r in table
    ]
    assert parse_labels(format_labels(LabelTable(rows, fmt="dcase2024"))).fmt == "dcase2024"


# ----------------------------------------------------------------------------- refusals

N_CLASSES = 14  # what seld score scores under dcase2020 when --classes is not given


def _field(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


BAD_FIELDS = {
    # column -> strategy of bad field texts (each one breaks a rule of 5-column polar files)
    "frame": st.one_of(
        st.integers(-(2**40), -1).map(str),
        st.floats(0.01, 1e6).filter(lambda v: not v.is_integer()).map(_field),
        st.integers(2**31, 2**60).map(str),
        st.sampled_from(["nan", "inf", "-inf", "1e400", "", "x", "1_0", "0x1f", "12a"]),
    ),
    "class": st.one_of(
        st.integers(N_CLASSES, 2**31 - 1).map(str),
        st.integers(2**31, 2**63).map(str),
        st.integers(-(2**31), -1).map(str),
        st.floats(0.01, 13.99).filter(lambda v: not v.is_integer()).map(_field),
        st.sampled_from(["NaN", "Infinity", "", "class", "\u0663"]),
    ),
    "track": st.one_of(
        st.integers(-100, -1).map(str),
        st.floats(0.01, 100).filter(lambda v: not v.is_integer()).map(_field),
        st.sampled_from(["nan", "-inf", ""]),
    ),
    "azimuth": st.one_of(
        st.floats(180.0001, 1e300).map(_field),
        st.floats(-1e300, -180.0001).map(_field),
        st.sampled_from(["nan", "inf", "1e999", "", "north", "1.2.3", "--5"]),
    ),
    "elevation": st.one_of(
        st.floats(90.0001, 1e300).map(_field),
        st.floats(-1e300, -90.0001).map(_field),
        st.sampled_from(["nan", "-inf", "", "up"]),
    ),
}
COLUMNS = ("frame", "class", "track", "azimuth", "elevation")


@st.composite
def files_with_one_bad_row(draw) -> tuple[str, int, str]:
    """(text, 1-based line of the bad row, its bad column) of a 5-column polar file."""
    rows = draw(st.lists(label_rows("dcase2020"), min_size=1, max_size=10))
    rows = [LabelRow(r.frame, r.cls % N_CLASSES, r.track, r.azimuth, r.elevation) for r in rows]
    lines = format_labels(rows, fmt="dcase2020").splitlines()
    index = draw(st.integers(0, len(lines) - 1))
    column = draw(st.sampled_from(COLUMNS))
    fields = lines[index].split(",")
    fields[COLUMNS.index(column)] = draw(BAD_FIELDS[column])
    lines[index] = ",".join(fields)
    blank = draw(st.booleans())  # a blank line before the bad row shifts its line number
    if blank:
        lines.insert(index, "")
    return "\n".join(lines) + "\n", index + 1 + blank, column


@settings(max_examples=150, deadline=None)
@given(case=files_with_one_bad_row())
def test_one_bad_row_is_refused_at_its_line(case):
    text, line, column = case
    with pytest.raises(LabelError) as err:
        parse_labels(text, classes=N_CLASSES, path="p.csv")
    assert err.value.line == line, str(err.value)
    message = str(err.value)
    assert message.startswith(f"p.csv, line {line}: {column}"), message
    assert len(message) < 400


@CLI
@given(case=files_with_one_bad_row(), side=st.sampled_from(["ref", "pred"]))
def test_seld_score_refuses_one_bad_row_with_file_and_line(case, side):
    text, line, column = case
    good = "0,1,0,10,20\n1,1,0,10,20\n"
    with tempfile.TemporaryDirectory() as folder:
        ref, pred = Path(folder) / "ref.csv", Path(folder) / "pred.csv"
        ref.write_text(text if side == "ref" else good, encoding="utf-8")
        pred.write_text(text if side == "pred" else good, encoding="utf-8")
        err = io.StringIO()
        out = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            status = main(["score", str(ref), str(pred), "--json"])
        bad = ref if side == "ref" else pred
    assert status == 2 and out.getvalue() == ""
    assert err.getvalue().startswith(f"seld: error: {bad}, line {line}: {column}"), err.getvalue()


# ----------------------------------------------------------------------------- robustness

number_like = st.text(alphabet="0123456789.-+eE, \t\r\nnaifNAIF\ufeff", max_size=200)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=300), number_like))
def test_any_text_gives_a_table_or_a_label_error(text):
    try:
        table = parse_labels(text, classes=N_CLASSES)
    except LabelError as err:
        assert err.line is None or err.line >= 1
        assert len(str(err)) < 600
        return
    for row in table:
        assert 0 <= row.frame < 2**31 and 0 <= row.cls < N_CLASSES and row.track >= 0
        assert math.isfinite(row.azimuth) and math.isfinite(row.elevation)
        assert -180 <= row.azimuth <= 180 and -90 <= row.elevation <= 90


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=300))
def test_any_bytes_give_a_table_or_a_label_error(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        path.write_bytes(raw)
        try:
            read_labels(path)
        except LabelError as err:
            assert err.path == str(path)
