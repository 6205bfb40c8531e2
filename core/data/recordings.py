"""Finding recordings in folders: the one walker that the dataset, the file list and ``seld infer`` use.

A recording is a file whose extension is one of :data:`AUDIO_EXTENSIONS` (any case). Names
starting with ``.`` (hidden files, macOS ``._`` resource forks, ``.seld_cache``) are skipped,
files and folders alike, at any depth. Folders are walked depth first, each folder's
files before its sub-folders, both sorted by name, so the order never depends on the file
system.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.common.errors import SeldError

__all__ = ["AUDIO_EXTENSIONS", "collect_recordings", "is_recording_name", "walk_recordings"]

AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg")
"""File extensions taken as recordings (compared case-insensitively)."""


def is_recording_name(name: str) -> bool:
    """Whether a file name is a recording's: not hidden, an audio extension in any case."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def walk_recordings(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """The recordings under ``folder`` (recursively, hidden names skipped), in a fixed order."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if is_recording_name(name):
                yield Path(dirpath) / name


def collect_recordings(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The recordings named in ``inputs`` or found in its folders, in order, each once (resolved).

    A file named directly is taken whatever its extension (its reader says what is wrong
    with it); a folder must hold at least one recording. A missing path or a folder without
    recordings is a :class:`SeldError` naming it.
    """
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            matches = list(walk_recordings(item))
            if not matches:
                raise SeldError(f"no recordings ({', '.join(AUDIO_EXTENSIONS)} files) in this folder", item)
            found.extend(matches)
        elif item.exists():
            found.append(item)
        else:
            raise SeldError("no such file or folder", item)
    return list(dict.fromkeys(p.resolve() for p in found))
