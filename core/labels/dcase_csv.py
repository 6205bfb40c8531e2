"""Read and write DCASE SELD metadata CSV files (DCASE 2020-2024 Task 3).

All formats have no header and one row per active source per 100 ms label frame:

============== ================================================ =====================================
format name    columns                                          where
============== ================================================ =====================================
dcase2020      ``frame,class,track,azimuth,elevation``          TAU-NIGENS 2020 / 2021
dcase2022      ``frame,class,source,azimuth,elevation``         STARSS22 / STARSS23 (same layout)
dcase2024      ``frame,class,source,azimuth,elevation,distance`` STARSS23 with distance (DCASE 2024)
dcase2020-xyz  ``frame,class,track,x,y,z``                      Cartesian direction vectors
dcase2024-xyz  ``frame,class,track,x,y,z,distance``             Cartesian with distance
============== ================================================ =====================================

Conventions
-----------
* ``frame``, ``class`` and ``track`` are non-negative integers ("12" and "12.0" are both
  accepted); the class is an index into a :class:`~core.labels.classes.ClassSet`.
* Azimuth and elevation are degrees: azimuth in [-180, 180], 0 = front (+x), positive =
  counter-clockwise (left); elevation in [-90, 90], positive = up.
* Cartesian rows keep their vector in :attr:`LabelRow.xyz` (as read, not re-normalised)
  and also get azimuth/elevation computed exactly as the official DCASE 2020 code does:
  ``azimuth = arctan2(y, x) * 180 / pi``, ``elevation = arctan2(z, sqrt(x^2 + y^2)) * 180 / pi``
  (float64). Each component must lie in [-1, 1] (model outputs need not be unit length)
  and the vector must not be of zero length.
* ``distance`` is kept in the file's unit (DCASE 2024 metadata: centimetres) and must be >= 0.

Format detection (when ``fmt`` is not given) goes by the column count: 5 columns ->
``dcase2020`` (``dcase2022`` has the same layout; pass ``fmt="dcase2022"`` to label a table
as such), 7 -> ``dcase2024-xyz``. Six columns are either Cartesian ``dcase2020-xyz``
(``x,y,z``) or polar ``dcase2024`` (``azimuth,elevation,distance``); the file's rows decide,
all of them, and the reader refuses rather than guesses. Of the last three values of a row:

* it *fits Cartesian* when each value lies in [-1, 1] (up to :data:`CARTESIAN_TOL` for
  printing and normalisation error) and they are not all zero (model outputs need not be
  unit vectors);
* it *fits polar* when |azimuth| <= 180, |elevation| <= 90 and distance >= 0;
* it is *outside the unit box* when some value lies outside [-1, 1] (beyond the tolerance):
  something only a polar row can hold.

Then, in this order:

1. every row fits polar, none fits Cartesian and at least one is outside the unit box ->
   ``dcase2024``;
2. every row fits Cartesian and at least one does not fit polar (a negative z) ->
   ``dcase2020-xyz``;
3. every row fits both -> ambiguous: :class:`AmbiguousFormatError`, asking for ``fmt``;
4. otherwise no reading fits every row and the file is refused: read as Cartesian when at
   least as many rows fit Cartesian as lie outside the unit box, else as polar, the first
   row that breaks that reading is reported with its line and column, and the message says
   how the columns were taken. (A polar reading whose only trouble is rows that also fit
   Cartesian is reported as ambiguous at the first such row.)

So a Cartesian file with one zero vector or one component of 1.02 is refused at that line,
never read as polar. An explicit ``fmt`` always wins, and its values are range-checked
(Cartesian components in [-1, 1] whether the format was given or detected). Every row must
have the same number of columns.

Numbers are plain ASCII decimals (``12``, ``-0.5``, ``1e-3``, ``12.0``); ``nan``, ``inf``,
values that overflow to infinity (``1e400``), hexadecimal, digit group underscores and
non-ASCII digits are refused. ``classes`` bounds the class index by a class set or a class
count (:class:`ClassIndexError`); indices are below 2**31 in any case. Messages quote a
user's field cut to 40 characters (:func:`core.common.errors.quote_field`).

Reading tolerates blank lines, ``\\n``, ``\\r\\n`` or ``\\r`` line ends, a UTF-8 byte-order
mark and whitespace around fields. Every problem is a :class:`~core.common.errors.LabelError`
naming the file and the 1-based line; nothing is silently dropped and valid rows keep
their file order (and their line in :attr:`LabelRow.line`). An empty file is a valid,
empty table (a recording without events).

Writing is atomic (temporary file in the same folder, flush + fsync, ``os.replace``).
Polar values are written compactly (``12,3,0,-40,10``; non-integers with at most 4
decimals, trailing zeros dropped), Cartesian components with up to 8 decimals.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.common.atomic import atomic_write_text
from core.common.errors import LabelError, quote_field
from core.labels.classes import ClassSet, get_class_set
from core.labels.table import LabelRow, LabelTable
from core.spatial.directions import azel_to_xyz, xyz_to_azel

__all__ = [
    "CARTESIAN_TOL",
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_INDEX",
    "AmbiguousFormatError",
    "ClassIndexError",
    "ColumnCountError",
    "LabelFormat",
    "atomic_write_text",
    "format_labels",
    "parse_labels",
    "read_labels",
    "write_labels",
]

CARTESIAN_TOL = 1e-3
"""How far outside [-1, 1] a Cartesian component may lie (printing and normalisation error)."""

MAX_INDEX = 2**31
"""Frame, class and track indices must be below this (they are stored as 32-bit integers elsewhere)."""

MAX_FILE_BYTES = 100 * 2**20
"""The largest label file read (100 MiB, about four million rows)."""

POLAR_DECIMALS = 4
CARTESIAN_DECIMALS = 8


class AmbiguousFormatError(LabelError):
    """A 6-column file whose rows read as Cartesian ``dcase2020-xyz`` and as polar ``dcase2024``.

    ``reason`` says why, without the advice on how to name the format; ``candidates`` are
    the format names that fit.
    """

    def __init__(self, reason: str, path: str | None, line: int | None, candidates: tuple[str, ...]):
        self.reason = reason
        self.candidates = candidates
        names = " or ".join(f"fmt={c!r}" for c in candidates)
        super().__init__(f"{reason}; name the format: {names} (seld score: --label-format)", path, line)

    def __reduce__(self):  # picklable (errors may cross process boundaries)
        return type(self), (self.reason, self.path, self.line, self.candidates)


class ClassIndexError(LabelError):
    """A class index outside the class set or class count the file is read with."""


class ColumnCountError(LabelError):
    """A row with a column count that no format, the given format or the file's first row has."""


@dataclass(frozen=True)
class LabelFormat:
    """One on-disk DCASE label layout."""

    name: str
    columns: tuple[str, ...]
    description: str
    cartesian: bool
    has_distance: bool

    @property
    def n_columns(self) -> int:
        return len(self.columns)


FORMATS: dict[str, LabelFormat] = {
    f.name: f
    for f in (
        LabelFormat(
            "dcase2020",
            ("frame", "class", "track", "azimuth", "elevation"),
            "DCASE 2020/2021 (TAU-NIGENS): polar, degrees",
            cartesian=False,
            has_distance=False,
        ),
        LabelFormat(
            "dcase2022",
            ("frame", "class", "source", "azimuth", "elevation"),
            "DCASE 2022/2023 (STARSS22/23): polar, degrees; same layout as dcase2020",
            cartesian=False,
            has_distance=False,
        ),
        LabelFormat(
            "dcase2024",
            ("frame", "class", "source", "azimuth", "elevation", "distance"),
            "DCASE 2024 (STARSS23): polar, degrees, with source distance",
            cartesian=False,
            has_distance=True,
        ),
        LabelFormat(
            "dcase2020-xyz",
            ("frame", "class", "track", "x", "y", "z"),
            "Cartesian DOA vectors (components in [-1, 1])",
            cartesian=True,
            has_distance=False,
        ),
        LabelFormat(
            "dcase2024-xyz",
            ("frame", "class", "track", "x", "y", "z", "distance"),
            "Cartesian DOA vectors (components in [-1, 1]) with source distance",
            cartesian=True,
            has_distance=True,
        ),
    )
}
"""Every supported label format by name."""


# --------------------------------------------------------------------------- reading

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A plain ASCII decimal number (what DCASE label files hold); no backtracking on long fields."""

_PLAIN_TEXT = re.compile(r"[0-9eE.,+\- \t\r\n]*")
"""Text made only of these characters can be converted by numpy in one go (no nan, inf, _)."""

_NON_FINITE = {"nan", "inf", "infinity"}

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_ ()./#-]*")
"""What a header line's field looks like (``frame``, ``azimuth (deg)``)."""


def _resolve_format(fmt: str | None, path: str | None) -> LabelFormat | None:
    if fmt is None:
        return None
    try:
        return FORMATS[fmt]
    except (KeyError, TypeError):
        raise LabelError(
            f"unknown label format {quote_field(fmt)} (known: {', '.join(FORMATS)})", path
        ) from None


def _class_limit(classes: ClassSet | str | int | None) -> tuple[int, str] | None:
    """``(count, description)`` of the class bound, or ``None`` for no bound but 2**31."""
    if classes is None:
        return None
    if isinstance(classes, str):
        classes = get_class_set(classes)
    if isinstance(classes, ClassSet):
        return len(classes), f"the class set {quote_field(classes.name)}"
    if isinstance(classes, bool) or not isinstance(classes, int | np.integer) or classes < 1:
        raise LabelError(f"the class count must be a positive integer, not {quote_field(classes)}")
    return int(classes), f"the {int(classes)} scored classes"


def _split_lines(text: str, path: str | None, spec: LabelFormat | None) -> tuple[list[int], list[list[str]]]:
    """Non-blank lines as stripped fields, with their 1-based line numbers; checks the column count."""
    line_numbers: list[int] = []
    rows: list[list[str]] = []
    expected = spec.n_columns if spec else None
    first_line = 0
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        n = len(fields)
        found = f"found {n} column{'s' if n != 1 else ''}"
        if expected is None:
            if n not in (5, 6, 7):
                raise ColumnCountError(
                    f"{found}; a DCASE SELD label row has 5, 6 or 7 "
                    "(frame,class,track,azimuth,elevation[,distance] or frame,class,track,x,y,z[,distance])",
                    path,
                    number,
                )
            expected, first_line = n, number
        elif n != expected:
            if spec is not None:
                problem = f"{found} but format {spec.name!r} ({','.join(spec.columns)}) has {expected}"
            else:
                problem = (
                    f"{found} but line {first_line} has {expected}; "
                    "every row of a label file must have the same columns"
                )
            raise ColumnCountError(problem, path, number)
        line_numbers.append(number)
        rows.append(fields)
    return line_numbers, rows


def _provisional_columns(n_cols: int) -> tuple[str, ...]:
    """Column names for messages before the format is known (6 columns are still ambiguous)."""
    if n_cols == 5:
        return FORMATS["dcase2020"].columns
    if n_cols == 7:
        return FORMATS["dcase2024-xyz"].columns
    return ("frame", "class", "track", "column 4", "column 5", "column 6")[:n_cols]


def _field_problem(text: str, name: str) -> str | None:
    """Why ``text`` is not a usable number for column ``name`` (``None`` when it is)."""
    if not text:
        return f"{name} is empty"
    if text.lstrip("+-").lower() in _NON_FINITE:
        return f"{name} {quote_field(text)} is not a finite number"
    if not _NUMBER.fullmatch(text):
        return f"{name} {quote_field(text)} is not a number"
    if not np.isfinite(float(text)):
        return f"{name} {quote_field(text)} is too large (not a finite number)"
    return None


def _to_floats(
    text: str, rows: list[list[str]], lines: list[int], columns: tuple[str, ...], path: str | None
) -> np.ndarray:
    if _PLAIN_TEXT.fullmatch(text):
        try:
            values = np.asarray(rows, dtype=np.float64)
        except ValueError:
            values = None
        if values is not None and np.all(np.isfinite(values)):
            return values
    for fields, number in zip(rows, lines, strict=True):  # slow path: find the first bad field
        for col, field_text in enumerate(fields):
            problem = _field_problem(field_text, columns[col])
            if problem is not None:
                if number == lines[0] and problem.endswith("is not a number") and _WORD.fullmatch(field_text):
                    problem += " (DCASE label files have no header line)"
                raise LabelError(problem, path, number)
    return np.asarray(rows, dtype=np.float64)


_Check = tuple[np.ndarray, int, str]
"""(rows that break a rule, column, message with ``{name}`` and ``{text}``)."""


def _head_checks(values: np.ndarray, limit: tuple[int, str] | None) -> list[_Check]:
    """The frame, class and track rules (the same in every format), in column order."""
    checks: list[_Check] = []
    for col in range(3):
        v = values[:, col]
        checks += [
            (v != np.floor(v), col, "{name} {text} is not an integer"),
            (v < 0, col, "{name} {text} is negative"),
            (v >= MAX_INDEX, col, f"{{name}} {{text}} is too large (indices are below {MAX_INDEX})"),
        ]
        if col == 1 and limit is not None:
            count, what = limit
            what = what.replace("{", "{{").replace("}", "}}")
            checks.append((v >= count, 1, f"{{name}} {{text}} is outside {what} (0-{count - 1})"))
    return checks


def _cartesian_checks(values: np.ndarray) -> list[_Check]:
    xyz = values[:, 3:6]
    checks: list[_Check] = [
        (np.abs(xyz[:, i]) > 1 + CARTESIAN_TOL, 3 + i, "{name} {text} is outside [-1, 1]") for i in range(3)
    ]
    checks.append((np.all(xyz == 0, axis=1), 3, "the (x, y, z) vector has zero length"))
    return checks


def _polar_checks(values: np.ndarray) -> list[_Check]:
    return [
        (np.abs(values[:, 3]) > 180, 3, "{name} {text} is outside [-180, 180] degrees"),
        (np.abs(values[:, 4]) > 90, 4, "{name} {text} is outside [-90, 90] degrees"),
    ]


def _checks(values: np.ndarray, spec: LabelFormat, limit: tuple[int, str] | None) -> list[_Check]:
    """Every rule of ``spec``, in column order (cross-column rules last)."""
    checks = _head_checks(values, limit)
    tail = _cartesian_checks(values) if spec.cartesian else _polar_checks(values)
    checks += tail[:-1] if spec.cartesian else tail
    if spec.has_distance:
        checks.append((values[:, -1] < 0, spec.n_columns - 1, "{name} {text} is negative"))
    if spec.cartesian:
        checks.append(tail[-1])
    return checks


def _first_violation(checks: list[_Check], n_rows: int) -> tuple[int, int, str] | None:
    """``(row, column, message template)`` of the first broken rule in file order, then column order."""
    bad = np.zeros(n_rows, dtype=bool)
    for mask, _, _ in checks:
        bad |= mask
    if not bad.any():
        return None
    row = int(np.argmax(bad))
    col, message = min(((c, m) for mask, c, m in checks if mask[row]), key=lambda cm: cm[0])
    return row, col, message


def _raise_first(
    checks: list[_Check],
    fields: list[list[str]],
    lines: list[int],
    columns: tuple[str, ...],
    path: str | None,
    note: str = "",
) -> None:
    """Raise a LabelError (a ClassIndexError for the class bound) for the first broken rule."""
    found = _first_violation(checks, len(lines))
    if found is None:
        return
    row, col, message = found
    problem = message.format(name=columns[col], text=quote_field(fields[row][col]))
    if col >= 3 and note:
        problem += note
    kind = ClassIndexError if col == 1 and "is outside" in message else LabelError
    raise kind(problem, path, lines[row])


def _decide_six_columns(
    values: np.ndarray,
    fields: list[list[str]],
    lines: list[int],
    limit: tuple[int, str] | None,
    path: str | None,
) -> LabelFormat:
    """The format of a 6-column file from all its rows (rules in the module docstring)."""
    cart, polar = FORMATS["dcase2020-xyz"], FORMATS["dcase2024"]
    tail = values[:, 3:6]
    in_box = np.all(np.abs(tail) <= 1 + CARTESIAN_TOL, axis=1)
    fits_cart = in_box & np.any(tail != 0, axis=1)
    fits_polar = (np.abs(tail[:, 0]) <= 180) & (np.abs(tail[:, 1]) <= 90) & (tail[:, 2] >= 0)
    n, n_cart, n_outside = len(values), int(fits_cart.sum()), int((~in_box).sum())
    if fits_polar.all() and not fits_cart.any() and n_outside:
        return polar
    if fits_cart.all() and not fits_polar.all():
        return cart
    head = _head_checks(values, limit)
    if fits_cart.all():  # and fits_polar.all()
        _raise_first(head, fields, lines, cart.columns, path)
        raise AmbiguousFormatError(
            f"the 6 columns read both as Cartesian x,y,z (dcase2020-xyz) and as polar "
            f"azimuth,elevation,distance (dcase2024) in every row ({n} row{'s' if n != 1 else ''}: "
            "every value lies within [-1, 1] and no z/distance is negative)",
            path,
            lines[0],
            ("dcase2020-xyz", "dcase2024"),
        )
    if n_cart == 0 and n_outside == 0:  # every row is (0, 0, 0): fits polar only, but says nothing
        _raise_first(head, fields, lines, polar.columns, path)
        raise AmbiguousFormatError(
            "every row's last three values are 0: polar dcase2024 rows at azimuth 0, elevation 0, distance 0, "
            "or a Cartesian file without a single direction (zero vectors)",
            path,
            lines[0],
            ("dcase2024",),
        )
    if n_cart >= n_outside:
        note = (
            f" (6 columns taken as Cartesian dcase2020-xyz x,y,z, which {n_cart} of {n} rows fit; "
            "if the file is polar dcase2024, name the format: fmt='dcase2024', seld score --label-format)"
        )
        _raise_first(_checks(values, cart, limit), fields, lines, cart.columns, path, note)
    else:
        note = (
            f" (6 columns taken as polar dcase2024 azimuth,elevation,distance: {n_outside} of {n} rows "
            "hold values outside [-1, 1]; if the file is Cartesian dcase2020-xyz, name the format: "
            "fmt='dcase2020-xyz', seld score --label-format)"
        )
        _raise_first(_checks(values, polar, limit), fields, lines, polar.columns, path, note)
        row = int(np.argmax(fits_cart))
        raise AmbiguousFormatError(
            f"this row reads as a Cartesian x,y,z vector (every value within [-1, 1]) as well as polar "
            f"azimuth,elevation,distance, while {n_outside} of the {n} rows hold values outside [-1, 1] "
            "(polar dcase2024 only)",
            path,
            lines[row],
            ("dcase2024", "dcase2020-xyz"),
        )
    raise AssertionError("unreachable: a 6-column file is either decided or refused")  # pragma: no cover


def parse_labels(
    text: str,
    fmt: str | None = None,
    classes: ClassSet | str | int | None = None,
    path: str | os.PathLike[str] | None = None,
) -> LabelTable:
    """Parse the text of a DCASE label file (see the module docstring for formats and rules).

    ``fmt`` forces a format (a key of :data:`FORMATS`); ``classes`` (a class set, its name, or
    a class count) bounds the class index; ``path`` is only used in error messages and stored
    on the table.
    """
    path_str = os.fspath(path) if path is not None else None
    spec = _resolve_format(fmt, path_str)
    limit = _class_limit(classes)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines, fields = _split_lines(text, path_str, spec)
    if not lines:
        return LabelTable([], fmt=spec.name if spec else "dcase2020", path=path_str)
    n_cols = len(fields[0])
    columns = spec.columns if spec else _provisional_columns(n_cols)
    values = _to_floats(text, fields, lines, columns, path_str)
    if spec is None:
        if n_cols == 5:
            spec = FORMATS["dcase2020"]
        elif n_cols == 7:
            spec = FORMATS["dcase2024-xyz"]
        else:
            spec = _decide_six_columns(values, fields, lines, limit, path_str)
    _raise_first(_checks(values, spec, limit), fields, lines, spec.columns, path_str)

    ints = values[:, :3].astype(np.int64)
    frames, cls, tracks = ints[:, 0].tolist(), ints[:, 1].tolist(), ints[:, 2].tolist()
    distance: list[float | None] = values[:, -1].tolist() if spec.has_distance else [None] * len(lines)
    if spec.cartesian:
        xyz = values[:, 3:6]
        azimuth, elevation = (a.tolist() for a in xyz_to_azel(xyz))
        vectors: list[tuple[float, float, float] | None] = [tuple(v) for v in xyz.tolist()]
    else:
        azimuth, elevation = values[:, 3].tolist(), values[:, 4].tolist()
        vectors = [None] * len(lines)
    rows = [
        LabelRow(f, c, t, a, e, d, v, n)
        for f, c, t, a, e, d, v, n in zip(
            frames, cls, tracks, azimuth, elevation, distance, vectors, lines, strict=True
        )
    ]
    return LabelTable(rows, fmt=spec.name, path=path_str)


def read_labels(
    path: str | os.PathLike[str], fmt: str | None = None, classes: ClassSet | str | int | None = None
) -> LabelTable:
    """Read a DCASE label CSV file; see :func:`parse_labels`.

    Only regular files of at most :data:`MAX_FILE_BYTES` are read (a device, a pipe or a
    folder is refused at once, so reading never hangs or fills the memory).
    """
    path_str = os.fspath(path)
    try:
        info = os.stat(path_str)
        if stat.S_ISDIR(info.st_mode):
            raise LabelError("is a folder, not a label file", path_str)
        if not stat.S_ISREG(info.st_mode):
            raise LabelError(
                "is not a regular file (a device, pipe or socket), so not a label file", path_str
            )
        with open(path_str, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise LabelError("label file not found", path_str) from None
    except OSError as err:
        raise LabelError(f"cannot read the label file: {err.strerror or err}", path_str) from err
    except ValueError as err:  # e.g. a NUL character in the path
        raise LabelError(f"cannot read the label file: {err}", path_str) from None
    if len(raw) > MAX_FILE_BYTES:
        raise LabelError(
            f"is larger than {MAX_FILE_BYTES // 2**20} MiB, far more than any label file (millions of rows)",
            path_str,
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LabelError("the file is UTF-16 text; DCASE label files are plain (UTF-8) text", path_str, 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1
        raise LabelError("not a text file (invalid UTF-8)", path_str, line) from None
    return parse_labels(text, fmt=fmt, classes=classes, path=path_str)


# --------------------------------------------------------------------------- writing


def _compact(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _infer_format(rows: list[LabelRow]) -> str:
    cartesian = bool(rows) and all(r.xyz is not None for r in rows)
    distance = bool(rows) and all(r.distance is not None for r in rows)
    if cartesian:
        return "dcase2024-xyz" if distance else "dcase2020-xyz"
    return "dcase2024" if distance else "dcase2020"


def _format_row(row: LabelRow, spec: LabelFormat, index: int, path: str | None) -> str:
    def bad(problem: str) -> LabelError:
        return LabelError(f"row {index + 1} (frame {row.frame}): {problem}", path)

    head = (row.frame, row.cls, row.track)
    if any(int(v) != v or v < 0 for v in head):
        raise bad(f"frame, class and track must be non-negative integers, got {head}")
    parts = [str(int(v)) for v in head]
    if spec.cartesian:
        vec = row.xyz if row.xyz is not None else tuple(azel_to_xyz(row.azimuth, row.elevation).tolist())
        if not all(np.isfinite(vec)) or not any(vec):
            raise bad(f"cannot write the direction vector {vec}")
        parts += [_compact(float(v), CARTESIAN_DECIMALS) for v in vec]
    else:
        if not (np.isfinite(row.azimuth) and np.isfinite(row.elevation)):
            raise bad(f"cannot write the direction ({row.azimuth}, {row.elevation})")
        parts += [
            _compact(float(row.azimuth), POLAR_DECIMALS),
            _compact(float(row.elevation), POLAR_DECIMALS),
        ]
    if spec.has_distance:
        if row.distance is None or not np.isfinite(row.distance) or row.distance < 0:
            raise bad(f"format {spec.name!r} needs a non-negative distance, got {row.distance}")
        parts.append(_compact(float(row.distance), POLAR_DECIMALS))
    return ",".join(parts)


def _format(table_or_rows: LabelTable | Iterable[LabelRow], fmt: str | None, path: str | None) -> str:
    rows = list(table_or_rows.rows if isinstance(table_or_rows, LabelTable) else table_or_rows)
    if fmt is None:
        fmt = table_or_rows.fmt if isinstance(table_or_rows, LabelTable) else _infer_format(rows)
    spec = _resolve_format(fmt, path)
    assert spec is not None
    return "".join(_format_row(r, spec, i, path) + "\n" for i, r in enumerate(rows))


def format_labels(table_or_rows: LabelTable | Iterable[LabelRow], fmt: str | None = None) -> str:
    """The file text of some label rows, one ``\\n``-terminated line per row ("" when empty).

    The format is ``fmt``, else the table's ``fmt``; plain rows default to ``dcase2020``
    (``-xyz`` when every row has ``xyz``, the 2024 variant when every row has a distance).
    Writing a format without distance drops the distance; writing a Cartesian format from a
    polar row writes the unit vector of its azimuth/elevation.
    """
    return _format(table_or_rows, fmt, None)


def write_labels(
    table_or_rows: LabelTable | Iterable[LabelRow], path: str | os.PathLike[str], fmt: str | None = None
) -> None:
    """Write label rows to ``path`` atomically (format chosen as in :func:`format_labels`).

    Rows are checked and formatted before the disk is touched, so a bad row never leaves a
    partial file; I/O problems are raised as :class:`LabelError` naming ``path``.
    """
    path_str = os.fspath(path)
    text = _format(table_or_rows, fmt, path_str)
    try:
        atomic_write_text(path_str, text)
    except OSError as err:
        raise LabelError(f"cannot write the label file: {err.strerror or err}", path_str) from err
