"""Read and write DCASE SELD metadata CSV files (DCASE 2020-2024 Task 3).

All formats have no header and one row per active source per 100 ms label frame:

============== ================================================ =====================================
format name    columns                                          where
============== ================================================ =====================================
dcase2020      ``frame,class,track,azimuth,elevation``          TAU-NIGENS 2020 / 2021
dcase2022      ``frame,class,source,azimuth,elevation``         STARSS22 / STARSS23 (same layout)
dcase2024      ``frame,class,source,azimuth,elevation,distance`` STARSS23 with distance (DCASE 2024)
dcase2020-xyz  ``frame,class,track,x,y,z``                      Cartesian unit vectors
dcase2024-xyz  ``frame,class,track,x,y,z,distance``             Cartesian with distance
============== ================================================ =====================================

Conventions
-----------
* ``frame``, ``class`` and ``track`` are non-negative integers ("12" and "12.0" are both
  accepted); the class is an index into a :class:`~core.classes.ClassSet`.
* Azimuth and elevation are degrees: azimuth in [-180, 180], 0 = front (+x), positive =
  counter-clockwise (left); elevation in [-90, 90], positive = up.
* Cartesian rows keep their vector in :attr:`LabelRow.xyz` (as read, not re-normalised)
  and also get azimuth/elevation computed exactly as the official DCASE 2020 code does:
  ``azimuth = arctan2(y, x) * 180 / pi``, ``elevation = arctan2(z, sqrt(x^2 + y^2)) * 180 / pi``
  (float64). The vector must not be of zero length.
* ``distance`` is kept in the file's unit (DCASE 2024 metadata: centimetres) and must be >= 0.

Format detection (when ``fmt`` is not given) goes by the column count of the first row:
5 columns -> ``dcase2020`` (``dcase2022`` has the same layout; pass ``fmt="dcase2022"`` to
label a table as such), 7 -> ``dcase2024-xyz``, and 6 columns, which are ambiguous, are
decided by content: the file is Cartesian (``dcase2020-xyz``) when *every* row's last three
values form a non-zero vector of norm <= 1 + :data:`CARTESIAN_NORM_TOL` (so each value lies
in [-1, 1] up to that tolerance); otherwise it is polar with distance (``dcase2024``).
Real DCASE 2024 files never look Cartesian (distances are in centimetres); a polar file
whose every row has |azimuth|, |elevation| and distance that small is misread, and a
zero vector makes a row polar - pass ``fmt`` in such cases. An explicit ``fmt`` always
wins. Every row must have the same number of columns.

Reading tolerates blank lines, a trailing newline, a UTF-8 byte-order mark and whitespace
around fields. Every problem is a :class:`~core.errors.LabelError` naming the file and the
1-based line; nothing is silently dropped and valid rows keep their file order. An empty
file is a valid, empty table (a recording without events).

Writing is atomic (temporary file in the same folder, flush + fsync, ``os.replace``).
Polar values are written compactly (``12,3,0,-40,10``; non-integers with at most 4
decimals, trailing zeros dropped), Cartesian components with up to 8 decimals.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic import atomic_write_text
from core.classes import ClassSet, get_class_set
from core.errors import LabelError
from core.labels import LabelRow, LabelTable

__all__ = [
    "CARTESIAN_NORM_TOL",
    "FORMATS",
    "LabelFormat",
    "atomic_write_text",
    "azel_to_xyz",
    "detect_format",
    "format_labels",
    "parse_labels",
    "read_labels",
    "write_labels",
    "xyz_to_azel",
]

CARTESIAN_NORM_TOL = 0.01
"""How far above 1 the norm of a 6-column row's (x, y, z) may be for the file to count as Cartesian."""

_MAX_INDEX = 2**31
POLAR_DECIMALS = 4
CARTESIAN_DECIMALS = 8


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
            "Cartesian DOA unit vectors",
            cartesian=True,
            has_distance=False,
        ),
        LabelFormat(
            "dcase2024-xyz",
            ("frame", "class", "track", "x", "y", "z", "distance"),
            "Cartesian DOA unit vectors with source distance",
            cartesian=True,
            has_distance=True,
        ),
    )
}
"""Every supported label format by name."""


# --------------------------------------------------------------------------- directions


def azel_to_xyz(azimuth_deg: np.ndarray | float, elevation_deg: np.ndarray | float) -> np.ndarray:
    """Unit vectors ``(..., 3)`` (float64) of DCASE directions in degrees.

    ``x = cos(ele) cos(azi)``, ``y = cos(ele) sin(azi)``, ``z = sin(ele)``.
    """
    azi = np.deg2rad(np.asarray(azimuth_deg, dtype=np.float64))
    ele = np.deg2rad(np.asarray(elevation_deg, dtype=np.float64))
    cos_ele = np.cos(ele)
    return np.stack([cos_ele * np.cos(azi), cos_ele * np.sin(azi), np.sin(ele)], axis=-1)


def xyz_to_azel(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation in degrees (float64) of vectors ``(..., 3)``, as DCASE 2020 computes them.

    ``azimuth = arctan2(y, x) * 180 / pi``, ``elevation = arctan2(z, sqrt(x^2 + y^2)) * 180 / pi``;
    the vectors need not be unit length (a zero vector gives 0, 0).
    """
    v = np.asarray(xyz, dtype=np.float64)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    azimuth = np.arctan2(y, x) * 180 / np.pi
    elevation = np.arctan2(z, np.sqrt(x**2 + y**2)) * 180 / np.pi
    return azimuth, elevation


# --------------------------------------------------------------------------- reading


def _resolve_format(fmt: str | None, path: str | None) -> LabelFormat | None:
    if fmt is None:
        return None
    try:
        return FORMATS[fmt]
    except KeyError:
        raise LabelError(f"unknown label format {fmt!r} (known: {', '.join(FORMATS)})", path) from None


def _resolve_classes(classes: ClassSet | str | None) -> ClassSet | None:
    if classes is None or isinstance(classes, ClassSet):
        return classes
    return get_class_set(classes)


def detect_format(values: np.ndarray) -> str:
    """Format name for a float array ``(rows, columns)`` of a label file (rules in the module docstring)."""
    n_cols = values.shape[1]
    if n_cols == 5:
        return "dcase2020"
    if n_cols == 7:
        return "dcase2024-xyz"
    if n_cols == 6:
        norm = np.linalg.norm(values[:, 3:6], axis=1)
        is_cartesian = bool(np.all((norm > 0) & (norm <= 1 + CARTESIAN_NORM_TOL)))
        return "dcase2020-xyz" if is_cartesian else "dcase2024"
    raise ValueError(f"no DCASE label format has {n_cols} columns")


def _split_lines(text: str, path: str | None, spec: LabelFormat | None) -> tuple[list[int], list[list[str]]]:
    """Non-blank lines as stripped fields, with their 1-based line numbers; checks the column count."""
    line_numbers: list[int] = []
    rows: list[list[str]] = []
    expected = spec.n_columns if spec else None
    first_line = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if expected is None:
            if len(fields) not in (5, 6, 7):
                raise LabelError(
                    f"found {len(fields)} columns; a DCASE SELD label row has 5, 6 or 7 "
                    "(frame,class,track,azimuth,elevation[,distance] or frame,class,track,x,y,z[,distance])",
                    path,
                    number,
                )
            expected, first_line = len(fields), number
        elif len(fields) != expected:
            if spec is not None:
                problem = f"found {len(fields)} columns but format {spec.name!r} ({','.join(spec.columns)}) has {expected}"
            else:
                problem = (
                    f"found {len(fields)} columns but line {first_line} has {expected}; "
                    "every row of a label file must have the same columns"
                )
            raise LabelError(problem, path, number)
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


def _to_floats(
    rows: list[list[str]], lines: list[int], columns: tuple[str, ...], path: str | None
) -> np.ndarray:
    try:
        values = np.asarray(rows, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)):
        return values
    parsed: list[list[float]] = []
    for fields, number in zip(rows, lines, strict=True):  # slow path: find the first bad field
        parsed.append([])
        for col, text in enumerate(fields):
            name = columns[col]
            try:
                value = float(text)
            except ValueError:
                hint = " (DCASE label files have no header line)" if number == lines[0] else ""
                what = "is empty" if not text else f"{text!r} is not a number"
                raise LabelError(f"{name} {what}{hint}", path, number) from None
            if not np.isfinite(value):
                raise LabelError(f"{name} {text!r} is not a finite number", path, number)
            parsed[-1].append(value)
    return np.asarray(parsed, dtype=np.float64)


def _validate(
    values: np.ndarray,
    fields: list[list[str]],
    lines: list[int],
    spec: LabelFormat,
    classes: ClassSet | None,
    path: str | None,
) -> None:
    """Raise a LabelError for the first (in file order) row that breaks a rule."""
    cols = spec.columns
    frame, cls, track = values[:, 0], values[:, 1], values[:, 2]
    checks: list[tuple[np.ndarray, int, str]] = [
        (frame != np.floor(frame), 0, "{name} {text!r} is not an integer"),
        (cls != np.floor(cls), 1, "{name} {text!r} is not an integer"),
        (track != np.floor(track), 2, "{name} {text!r} is not an integer"),
        (frame < 0, 0, "{name} {text} is negative"),
        (cls < 0, 1, "{name} {text} is negative"),
        (track < 0, 2, "{name} {text} is negative"),
        (frame >= _MAX_INDEX, 0, "{name} {text} is too large"),
        (cls >= _MAX_INDEX, 1, "{name} {text} is too large"),
        (track >= _MAX_INDEX, 2, "{name} {text} is too large"),
    ]
    if classes is not None:
        checks.append(
            (
                cls >= len(classes),
                1,
                "{name} {text} is outside the class set "
                + repr(classes.name).replace("{", "{{").replace("}", "}}")
                + f" (0-{len(classes) - 1})",
            )
        )
    if spec.cartesian:
        zero = np.all(values[:, 3:6] == 0, axis=1)
        checks.append((zero, 3, "the (x, y, z) vector has zero length"))
    else:
        checks.append((np.abs(values[:, 3]) > 180, 3, "{name} {text} is outside [-180, 180] degrees"))
        checks.append((np.abs(values[:, 4]) > 90, 4, "{name} {text} is outside [-90, 90] degrees"))
    if spec.has_distance:
        checks.append((values[:, -1] < 0, len(cols) - 1, "{name} {text} is negative"))
    bad = np.zeros(len(values), dtype=bool)
    for mask, _, _ in checks:
        bad |= mask
    if not bad.any():
        return
    row = int(np.argmax(bad))
    for mask, col, message in checks:
        if mask[row]:
            raise LabelError(message.format(name=cols[col], text=fields[row][col]), path, lines[row])


def parse_labels(
    text: str,
    fmt: str | None = None,
    classes: ClassSet | str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> LabelTable:
    """Parse the text of a DCASE label file (see the module docstring for formats and rules).

    ``fmt`` forces a format (a key of :data:`FORMATS`); ``classes`` (a class set or its name)
    bounds the class index; ``path`` is only used in error messages and stored on the table.
    """
    path_str = os.fspath(path) if path is not None else None
    spec = _resolve_format(fmt, path_str)
    class_set = _resolve_classes(classes)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines, fields = _split_lines(text, path_str, spec)
    if not lines:
        return LabelTable([], fmt=spec.name if spec else "dcase2020", path=path_str)
    values = _to_floats(
        fields, lines, spec.columns if spec else _provisional_columns(len(fields[0])), path_str
    )
    if spec is None:
        spec = FORMATS[detect_format(values)]
    _validate(values, fields, lines, spec, class_set, path_str)

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
        LabelRow(f, c, t, a, e, d, v)
        for f, c, t, a, e, d, v in zip(
            frames, cls, tracks, azimuth, elevation, distance, vectors, strict=True
        )
    ]
    return LabelTable(rows, fmt=spec.name, path=path_str)


def read_labels(
    path: str | os.PathLike[str], fmt: str | None = None, classes: ClassSet | str | None = None
) -> LabelTable:
    """Read a DCASE label CSV file; see :func:`parse_labels`."""
    path_str = os.fspath(path)
    try:
        raw = Path(path_str).read_bytes()
    except FileNotFoundError:
        raise LabelError("label file not found", path_str) from None
    except OSError as err:
        raise LabelError(f"cannot read the label file: {err.strerror or err}", path_str) from err
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
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
