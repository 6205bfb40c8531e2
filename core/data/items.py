"""What a dataset is made of: its items (one recording each), formats, splits and fold names.

Shared by the DCASE/STARSS discovery (:mod:`core.data.dataset`) and the plain-folder dataset
file (:mod:`core.data.dataset_file`), so that neither imports the other's layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EVAL_FOLD", "FORMATS", "SPLITS", "DatasetItem", "fold_of"]

FORMATS: tuple[str, ...] = ("foa", "mic")
"""Recording formats, as in :mod:`core.io.audio`."""
EVAL_FOLD = 0
"""Fold given to evaluation recordings whose name has no ``fold<N>_`` prefix."""
SPLITS: tuple[str, ...] = ("dev", "eval")
"""The DCASE splits: ``<fmt>_dev`` / ``metadata_dev`` and ``<fmt>_eval`` / ``metadata_eval``."""

_FOLD_RE = re.compile(r"^fold(\d+)_")


@dataclass(frozen=True)
class DatasetItem:
    """One recording of a dataset.

    ``name`` is the file stem, ``fold`` its fold (DCASE: from the name; :data:`EVAL_FOLD` for
    unnumbered evaluation files; a plain folder: from its dataset file), ``audio`` and
    ``labels`` absolute paths (``labels`` is ``None`` when the recording has no label file),
    ``fmt`` ``"foa"`` or ``"mic"``.
    """

    name: str
    fold: int
    audio: Path
    labels: Path | None
    fmt: str


def fold_of(name: str) -> int | None:
    """The fold ``N`` of a file stem ``fold<N>_...``, or ``None``."""
    match = _FOLD_RE.match(name)
    return int(match.group(1)) if match else None
