"""Listing the recordings of any folder for the GUI's file list (DCASE layouts understood).

A DCASE dataset root (``foa_*``/``mic_*`` with ``metadata_*``) lists its recordings with
their format, fold and label file; any other folder lists its audio files (recursively),
with the format inferred from folder names where possible and a label file when a
``<name>.csv`` sits beside the recording.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

from core.common.errors import SeldError
from core.data.dataset import discover, fold_of
from core.data.recordings import walk_recordings
from core.io.audio import infer_format

MAX_FILES = 5000


@dataclass(frozen=True)
class BrowseEntry:
    """One recording in a folder listing."""

    path: Path
    fmt: str | None
    fold: int | None
    labels: Path | None

    @property
    def name(self) -> str:
        return self.path.stem


def browse(folder: str | os.PathLike[str]) -> list[BrowseEntry]:
    """The recordings under ``folder``, sorted by (format, name); at most :data:`MAX_FILES`."""
    root = Path(folder)
    if not root.is_dir():
        raise SeldError("is not a folder", root)
    entries: list[BrowseEntry] = []
    is_dcase = any(p.is_dir() and p.name.split("_")[0] in ("foa", "mic") for p in root.iterdir())
    if is_dcase:
        for fmt in ("foa", "mic"):
            try:
                items = discover(root, fmt, require_labels=False)
            except SeldError:
                continue
            entries += [BrowseEntry(it.audio, fmt, it.fold, it.labels) for it in items]
    if not entries:
        for path in itertools.islice(walk_recordings(root), MAX_FILES):
            labels = path.with_suffix(".csv")
            entries.append(
                BrowseEntry(
                    path, infer_format(path), fold_of(path.stem), labels if labels.is_file() else None
                )
            )
    entries.sort(key=lambda e: (e.fmt or "", e.name))
    return entries[:MAX_FILES]
