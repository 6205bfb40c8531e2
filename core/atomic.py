"""Atomic writes for files the user owns: temporary file, flush, fsync, rename.

A crash or kill in the middle of a write leaves the previous file intact and no
half-written file behind under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from core.errors import SeldError


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically.

    On any exception inside the block the temporary file is removed and ``path`` is left
    untouched.
    """
    path = Path(path)
    if "b" in mode:
        encoding = None
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise SeldError("the folder to write into does not exist", directory)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise SeldError(f"cannot write here: {err.strerror}", path) from None
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline="" if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)
