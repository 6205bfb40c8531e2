"""Atomic writes for files the user owns: temporary file, flush, fsync, rename.

Readers see the old file or the new one, never half of one: a crash or kill in the
middle of a write leaves the previous file intact and no partial file under the final
name. The temporary file sits in the same folder (so the rename is atomic), keeps the old
file's permission bits, and the folder is fsynced after the rename (POSIX, best effort).
All functions raise ``OSError``; callers wrap it into a :class:`~core.common.errors.SeldError`
that names their file.

Temporary files and what a killed writer leaves
-----------------------------------------------
The temporary file of ``name`` is ``.{name}.{host}-{pid}-{random}.tmp``: hidden, beside
the target, ``host`` 8 hex digits naming the machine, boot and process namespace that wrote it,
``pid`` the writing process, ``random`` 8 hex digits. A writer killed before its rename
(SIGKILL, power loss) cannot remove it, so every write of ``name`` first removes the
*stale* temporaries of exactly this pattern for exactly this name (:func:`remove_stale_temporaries`):

* one written on this machine, since its last boot, in this process namespace, by a
  process that no longer exists (POSIX; checked with signal 0), at once;
* any other one (a live process, which may be a reused pid; another machine on a network
  folder; an older ``.{name}.{12 hex}.tmp`` of earlier versions) only once it has not been
  written to for :data:`STALE_AFTER_S` seconds. A live writer's temporary is written to as
  the data goes out, so only a writer stalled that long could lose its file (its rename then
  fails with an ``OSError``, which its caller reports); nothing is ever lost silently.

Nothing else is touched: not other files' temporaries, not dotfiles of other programs,
not folders or symbolic links that happen to match the pattern.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from core.common.processes import MACHINE_KEY, process_gone

STALE_AFTER_S = 3600.0
"""A temporary file not written to for this long is a leftover, whoever made it."""

_TEMP_SUFFIX = ".tmp"


def temporary_name(name: str, pid: int | None = None) -> str:
    """A fresh temporary file name for target ``name`` (by this process, or ``pid``)."""
    return f".{name}.{MACHINE_KEY}-{os.getpid() if pid is None else pid}-{secrets.token_hex(4)}{_TEMP_SUFFIX}"


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        r"\."
        + re.escape(name)
        + r"\.(?:(?P<host>[0-9a-f]{8})-(?P<pid>[1-9][0-9]{0,9})-[0-9a-f]{8}|[0-9a-f]{12})"
        + re.escape(_TEMP_SUFFIX)
    )


def remove_stale_temporaries(path: str | os.PathLike[str], now: float | None = None) -> list[Path]:
    """Remove the stale temporary files of target ``path`` (see the module doc); return them.

    Never raises: a temporary that cannot be inspected or removed is left where it is.
    """
    target = Path(path)
    folder, name = target.parent, target.name
    pattern = _pattern(name)
    prefix = f".{name}."
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        m = pattern.fullmatch(entry.name)
        if m is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        ours_here = m.group("host") == MACHINE_KEY
        gone = ours_here and process_gone(int(m.group("pid")))
        if gone or age > STALE_AFTER_S:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / temporary_name(name)
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


def _replace(tmp: Path, target: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
    os.replace(tmp, target)


@contextlib.contextmanager
def _replacing(path: str | os.PathLike[str]) -> Iterator[tuple[int, Path]]:
    """A new temporary file beside ``path``: ``(open descriptor, its path)``. The block writes it
    and closes the descriptor; when the block ends normally the file replaces ``path``, on any
    exception it is removed and ``path`` is left untouched. Stale temporaries go first."""
    target = Path(path)
    folder = target.parent
    remove_stale_temporaries(target)
    fd, tmp = _create_temp(folder, target.name)
    try:
        yield fd, tmp
        _replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; when the block ends normally it replaces ``path``.

    On any exception inside the block the temporary file is removed and ``path`` is left
    untouched. ``mode`` is ``"w"`` (text, ``newline=""``) or ``"wb"``. Stale temporaries of
    ``path`` that killed writers left are removed first.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open mode must be 'w' or 'wb', not {mode!r}")
    with _replacing(path) as (fd, _tmp):
        handle: IO = (
            os.fdopen(fd, "wb") if mode == "wb" else os.fdopen(fd, "w", encoding=encoding, newline="")
        )
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path`` for writers that take a file name; it replaces ``path`` after.

    For libraries that write by name (``safetensors.torch.save_file(tensors, str(tmp))``):
    the block writes the file at the yielded path (it exists, empty); when the block ends
    normally the file is fsynced and renamed over ``path``, on an exception it is removed.
    The name follows this module's pattern, so a killed writer's leftover is cleaned up
    by the next write like any other.
    """
    with _replacing(path) as (fd, tmp):
        os.close(fd)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (written byte for byte, no newline translation)."""
    atomic_write_bytes(path, text.encode(encoding))
