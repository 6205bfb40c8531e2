"""Which machine and process wrote a file, whether that process is gone, and how to start ``seld``.

Used to tell a leftover of a killed process (a temporary file, a run folder that says
"running") from the work of a live one; :func:`seld_command` is the command that starts this
SELD Studio's ``seld`` program (a training run's process).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
from pathlib import Path

SELD_EXECUTABLE = "seld.exe" if os.name == "nt" else "seld"
"""The ``seld`` program's file name in a frozen bundle (beside the GUI's executable)."""


def is_frozen() -> bool:
    """Whether this is a frozen bundle (PyInstaller sets ``sys.frozen``), not a Python with SELD Studio installed."""
    return bool(getattr(sys, "frozen", False))


def seld_command() -> list[str]:
    """The command line that starts this SELD Studio's ``seld`` program (arguments follow it).

    ``[sys.executable, "-m", "core.cli"]`` from a Python (a venv, a checkout); in a frozen
    bundle, where ``sys.executable`` is the bundle's own program and no Python is there to
    take ``-m``, the bundle's ``seld`` executable beside it: ``[<its folder>/seld]``.
    """
    if is_frozen():
        return [str(Path(sys.executable).resolve().parent / SELD_EXECUTABLE)]
    return [sys.executable, "-m", "core.cli"]


def _machine_key() -> str:
    """8 hex digits for this machine, boot and process namespace (a pid means something only there).

    The host name alone is not enough (two machines on a network folder may share a default
    name); Linux's boot id is unique per machine and boot, and the pid namespace tells
    containers apart.
    """
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    text = "\0".join(parts)
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


MACHINE_KEY = _machine_key()
"""This machine, boot and process namespace (8 hex digits): where a pid means something."""


def process_gone(pid: int) -> bool:
    """``True`` only when no process ``pid`` runs here (POSIX); unknown counts as alive.

    A zombie (a process that ended and that its parent has not yet reaped, as a killed
    trainer is for a moment) counts as gone: it does no more work.
    """
    if os.name != "posix":  # os.kill on Windows terminates: never probe there
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False  # exists (another user's), or cannot tell
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has ended but is not yet reaped (Linux ``/proc``; elsewhere ``False``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2 :].split()[:1]
    return state in (["Z"], ["X"])
