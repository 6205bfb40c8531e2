"""Atomic writes for files the user owns: temporary file, flush, fsync, rename.

Readers see the old file or the new one, never half of one: a crash or kill in the
middle of a write leaves the previous file intact and no partial file under the final
name. The temporary file sits in the same folder (so the rename is atomic), keeps the old
file's permission bits, and the folder is fsynced after the rename (POSIX, best effort).
All functions raise ``OSError``; callers wrap it into a :class:`~core.errors.SeldError`
that names their file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp  # the umask applies, like for a normal file
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file in {folder}")


def _fsync_folder(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; when the block ends normally it replaces ``path``.

    On any exception inside the block the temporary file is removed and ``path`` is left
    untouched. ``mode`` is ``"w"`` (text, ``newline=""``) or ``"wb"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', not {mode!r}")
    target = Path(path)
    folder = target.parent
    fd, tmp = _create_temp(folder, target.name)
    try:
        if mode == "wb":
            handle = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding=encoding, newline="")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (written byte for byte, no newline translation)."""
    atomic_write_bytes(path, text.encode(encoding))
