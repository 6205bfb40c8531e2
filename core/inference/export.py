"""Exporting a batch's predictions: one DCASE label CSV per recording, in the format the user picks.

:func:`export_predictions` writes ``<out_dir>/<name>.csv`` for every recording (``name`` is the
recording's file stem) in one of :data:`EXPORT_FORMATS`:

* ``"dcase2020"``: ``frame,class,track,azimuth,elevation`` (DCASE 2020 / 2021);
* ``"dcase2022"``: ``frame,class,source,azimuth,elevation`` (DCASE 2022 / 2023; the same
  columns, the source index is the row's track, 0 for the model's rows);
* ``"dcase2024"``: ``frame,class,source,azimuth,elevation,distance`` (DCASE 2024). The
  model predicts no distance, and this format requires one: rows without a distance are
  refused unless ``distance=`` gives a placeholder, written in every such row (in the
  file's unit, centimetres in DCASE 2024 metadata), so a file never claims a distance the
  user did not choose. Rows that carry a distance keep it.

Polar values are written as every label file here (at most 4 decimals). The scorers ignore
the track/source column and the distance, so the three formats score the same.

Nothing is overwritten without asking: when any target exists, the export is refused
before anything is written, with a :class:`~core.common.errors.SeldError` listing what
exists (:func:`existing_outputs` says it beforehand, for a dialog); ``overwrite=True``
replaces them. Every file is formatted (and checked) first, then each is written
atomically (:mod:`core.common.atomic`); when writing one fails, the files this export had
created are removed again and the error names the file, so a failed or refused export
leaves no half-written folder (files it replaced with ``overwrite=True`` stay replaced).

:func:`as_exported` is a table as it reads back from its exported file: scoring it gives
exactly what ``seld score`` gives on the exported folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.common.errors import SeldError
from core.inference.batch import FileResult, prepare_output_folder
from core.labels.table import LabelRow, LabelTable

__all__ = ["EXPORT_FORMATS", "as_exported", "existing_outputs", "export_predictions", "export_targets"]

EXPORT_FORMATS: dict[str, str] = {
    "dcase2020": "DCASE 2020/2021 (frame, class, track, azimuth, elevation)",
    "dcase2022": "DCASE 2022/2023 (frame, class, source, azimuth, elevation)",
    "dcase2024": "DCASE 2024 (frame, class, source, azimuth, elevation, distance)",
}
"""The formats a batch can be exported in, with a description for a menu."""

_MAX_LISTED = 10

Predictions = Sequence[FileResult] | Mapping[str, LabelTable]
"""A batch's results, or predicted tables by recording name (file stem)."""


def _named_tables(results: Predictions) -> list[tuple[str, LabelTable]]:
    if isinstance(results, Mapping):
        return [(str(name), table) for name, table in results.items()]
    return [(r.name, r.table) for r in results]


def export_targets(results: Predictions, out_dir: str | os.PathLike[str]) -> list[Path]:
    """The file each recording is exported to, ``<out_dir>/<name>.csv``, in order.

    Two recordings of one name (from different folders) are refused: they would write one file.
    """
    seen: dict[str, str] = {}
    targets = []
    for name, _ in _named_tables(results):
        if not name or name in (".", "..") or "/" in name or os.sep in name:
            raise SeldError(f"{name!r} cannot name an exported prediction file", out_dir)
        key = os.path.normcase(name)
        if key in seen:
            raise SeldError(
                f"two recordings are named {name!r}: both would be exported to {name}.csv; export them "
                "into different folders",
                out_dir,
            )
        seen[key] = name
        targets.append(Path(out_dir) / f"{name}.csv")
    return targets


def existing_outputs(results: Predictions, out_dir: str | os.PathLike[str]) -> list[Path]:
    """The targets of :func:`export_targets` that exist already (what an export would overwrite)."""
    return [p for p in export_targets(results, out_dir) if os.path.lexists(p)]


def _check_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise SeldError(f"cannot export predictions as {fmt!r}; the formats are {', '.join(EXPORT_FORMATS)}")


def _with_distance(table: LabelTable, fmt: str, distance: float | None, target: Path) -> LabelTable:
    """``table`` ready for ``fmt``: for dcase2024, rows without a distance get the placeholder."""
    if fmt != "dcase2024" or all(r.distance is not None for r in table.rows):
        return table
    if distance is None:
        raise SeldError(
            "the model predicts no source distance, and the DCASE 2024 format requires one in every row; "
            "give a placeholder distance to write (e.g. 0), or export as dcase2020 or dcase2022",
            target,
        )
    if not distance >= 0 or distance == float("inf"):
        raise SeldError(f"the placeholder distance must be a finite number >= 0, not {distance!r}", target)
    rows = [
        r
        if r.distance is not None
        else LabelRow(r.frame, r.cls, r.track, r.azimuth, r.elevation, float(distance), r.xyz, r.line)
        for r in table.rows
    ]
    return LabelTable(rows, fmt=fmt, path=table.path)


def _refuse_existing(existing: list[Path], n_targets: int, out_dir: Path) -> None:
    names = ", ".join(p.name for p in existing[:_MAX_LISTED])
    more = f" and {len(existing) - _MAX_LISTED} more" if len(existing) > _MAX_LISTED else ""
    raise SeldError(
        f"{len(existing)} of the {n_targets} prediction files exist already ({names}{more}); nothing was "
        "written: choose another folder, or allow overwriting them",
        out_dir,
    )


def export_predictions(
    results: Predictions,
    out_dir: str | os.PathLike[str],
    fmt: str = "dcase2020",
    *,
    overwrite: bool = False,
    distance: float | None = None,
) -> list[Path]:
    """Write every recording's predicted rows to ``<out_dir>/<name>.csv`` in ``fmt``; return the files.

    ``results`` are a batch's :class:`~core.inference.batch.FileResult` items (the failed
    recordings have none: nothing is written for them) or predicted tables by recording name.
    ``fmt`` is one of :data:`EXPORT_FORMATS`; ``distance`` is the placeholder written in
    DCASE 2024 rows without a distance (without it such rows are refused). ``out_dir`` is
    created when missing. When a target exists and ``overwrite`` is False, nothing is
    written and a :class:`SeldError` lists the existing files. See the module docstring for
    atomicity.
    """
    from core.labels.dcase_csv import format_labels

    _check_format(fmt)
    out = Path(out_dir)
    targets = export_targets(results, out)
    texts = []
    for (_, table), target in zip(_named_tables(results), targets, strict=True):
        try:
            texts.append(format_labels(_with_distance(table, fmt, distance, target), fmt))
        except SeldError as err:
            raise SeldError(f"cannot export the predictions: {err.problem}", target) from None
    if out.exists() and not out.is_dir():
        raise SeldError("is a file, not a folder to export predictions into", out)
    existing = [p for p in targets if os.path.lexists(p)]
    if existing and not overwrite:
        _refuse_existing(existing, len(targets), out)
    prepare_output_folder(out)
    return _write_all(targets, texts, {p for p in targets if os.path.lexists(p)})


def _write_all(targets: list[Path], texts: list[str], existed: set[Path]) -> list[Path]:
    """Write each text atomically; on a failure remove the files this call created and raise."""
    from core.common.atomic import atomic_write_text

    written: list[Path] = []
    for target, text in zip(targets, texts, strict=True):
        try:
            atomic_write_text(target, text)
        except OSError as err:
            for done in written:  # files it replaced (overwrite=True) cannot be restored
                if done not in existed:
                    with contextlib.suppress(OSError):
                        done.unlink()
            problem = f"cannot write the prediction file: {err.strerror or err}"
            if written:
                n = len(written)
                problem += f"; removed again the {n} file{'s' if n != 1 else ''} this export wrote before it"
            raise SeldError(problem, target) from None
        written.append(target)
    return written


def as_exported(table: LabelTable, fmt: str = "dcase2020") -> LabelTable:
    """``table`` as it reads back from a file exported in ``fmt`` (values rounded as written).

    Score this, not the prediction in memory, to get to the last bit what ``seld score``
    gives on the exported files (polar values are written with at most 4 decimals).
    Distances play no part in scoring, so a dcase2024 export scores as dcase2020.
    """
    from core.labels.dcase_csv import format_labels, parse_labels

    _check_format(fmt)
    written = "dcase2020" if fmt == "dcase2024" else fmt
    return parse_labels(format_labels(table, written), path=table.path, fmt=written)
