"""The metrics CSV: overall, per-class and per-file scores in one file (``seld score --csv``, ``seld eval --csv``).

One writer for the command line and the GUI, so a file exported from either has the same
columns (:data:`CSV_COLUMNS`) and numbers. The first row is the overall scores (``scope``
``overall``, ``name`` ``all``): for the ``dcase2020`` metric micro-averaged over the files, as
the official scorer does; then one row per class (``scope`` ``class``, with ``class``, the class
index) and one per file (``scope`` ``file``, with ``n_frames``, the file's length in label
frames). The file is written atomically.
"""

from __future__ import annotations

import csv
import os
from typing import Any

from core.common.errors import SeldError
from core.metrics.seld import SeldScores

__all__ = ["CSV_COLUMNS", "report_rows", "write_csv_report"]

CSV_COLUMNS = (
    "scope", "name", "ER", "F", "LE", "LR", "SELD",
    "Nref", "Nsys", "TP", "FP", "FN", "FP_spatial", "S", "D", "I", "DE_TP", "DE_FN", "DE_sum",
    "class", "n_frames",
)  # fmt: skip
"""Columns of the metrics CSV, in order."""


def report_rows(scores: SeldScores) -> list[dict[str, Any]]:
    """The rows of the metrics CSV as dictionaries by column (a cell that does not apply is absent)."""

    def row(scope: str, name: str, item: Any, **extra: Any) -> dict[str, Any]:
        values = {k: getattr(item, k, "") for k in CSV_COLUMNS[2:19]}
        return {"scope": scope, "name": name, **values, **extra}

    rows = [row("overall", "all", scores)]
    for c in scores.per_class:
        rows.append(row("class", c.name or str(c.cls), c, **{"class": c.cls}))
    for f in scores.per_file:
        rows.append(row("file", f.name, f, n_frames=f.n_frames))
    return rows


def write_csv_report(scores: SeldScores, path: str | os.PathLike[str]) -> None:
    """Write overall, per-class and per-file rows to ``path`` atomically (a :class:`SeldError` if it cannot)."""
    from core.common.atomic import atomic_open

    try:
        with atomic_open(path, "w") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
            writer.writeheader()
            writer.writerows(report_rows(scores))
    except OSError as err:
        raise SeldError(f"cannot write the CSV report: {err.strerror or err}", path) from err
