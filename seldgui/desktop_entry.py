"""``seldgui --install-desktop-entry``: put SELD Studio in a Linux desktop's application menu.

A wheel installs no system files, so this copies, for the current user,

- the desktop entry into ``$XDG_DATA_HOME/applications/seld-studio.desktop`` (with ``Exec=``
  and ``TryExec=`` naming the running ``seldgui``: by name when that one is the one on
  ``PATH``, else by absolute path, else ``python -m seldgui.app``), and
- the icons into ``$XDG_DATA_HOME/icons/hicolor/<N>x<N>/apps/seld-studio.png`` (and
  ``scalable/apps/seld-studio.svg``),

then refreshes the desktop's caches (``update-desktop-database``, and
``gtk-update-icon-cache`` where the icon folder already has a cache) when those tools exist.
``$XDG_DATA_HOME`` defaults to ``~/.local/share``.

The entry lists WAV and FLAC MIME types: the desktop *offers* SELD Studio for them ("Open
with"); it does not become their default application.

The installed entry starts with :data:`MARKER` and lists the icon files installed with it and
their checksums, so that a later install replaces only our own files and
``--uninstall-desktop-entry`` removes exactly them. A different file of someone else's at a
target is never overwritten or removed: the install stops (before writing anything) with a
:class:`DesktopEntryError` naming it.

No Qt here: the functions take the data folder as a parameter, so tests use a temporary one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.common.atomic import atomic_write_bytes
from core.common.errors import SeldError
from core.io.resources import (
    DESKTOP_ENTRY,
    ICON_NAME,
    desktop_entry_path,
    icon_paths,
    icon_svg_path,
    icon_theme_relpath,
)

MARKER = "# Installed by seldgui --install-desktop-entry"
"""The first line of a desktop entry we wrote: only such a file is ours to replace or remove."""
_FILE_PREFIX = "# Installed file: "
"""A comment line of our entry naming one icon installed with it: ``<relative path> sha256:<hex>``."""
LAUNCHER = "seldgui"
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


class DesktopEntryError(SeldError):
    """The desktop entry cannot be installed or removed (a file in the way, files missing)."""


@dataclass
class Outcome:
    """What an install or uninstall did: files written / removed, left alone, tools run."""

    changed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    """Uninstall: files that were ours once but have been changed since (left in place)."""
    tools: list[str] = field(default_factory=list)


def default_data_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` when set to an absolute path (as the XDG spec requires), else ``~/.local/share``."""
    env = os.environ if environ is None else environ
    value = env.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def launcher_command(
    argv0: str | None = None, executable: str | None = None, search_path: str | None = None
) -> list[str]:
    """The command line that starts this SELD Studio, for ``Exec=`` (before ``%F``).

    ``["seldgui"]`` when the launcher running now (``argv0``, else the one beside the Python
    interpreter ``executable``) is the ``seldgui`` found on ``search_path`` (default ``$PATH``);
    its absolute path when another or none is found there; ``[executable, "-m", "seldgui.app"]``
    when no launcher file is known (run as ``python -m seldgui.app``). In a frozen bundle,
    ``executable`` is the bundle's own ``seld-studio`` program: its absolute path.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    if getattr(sys, "frozen", False):
        return [str(Path(executable).absolute())]
    candidates = []
    if argv0 and Path(argv0).name.startswith(LAUNCHER) and not argv0.endswith(".py"):
        candidates.append(Path(argv0))
    if executable:
        candidates.append(Path(executable).parent / LAUNCHER)
    for candidate in candidates:
        path = Path(shutil.which(str(candidate)) or candidate)
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        path = path.absolute()  # not resolved: a venv's bin/ link must keep pointing into the venv
        on_path = shutil.which(LAUNCHER, path=search_path)
        if on_path is not None and _same_file(on_path, path):
            return [LAUNCHER]
        return [str(path)]
    return [str(Path(executable).absolute()), "-m", "seldgui.app"]


def _escape_string(value: str) -> str:
    """A desktop entry string value: backslash, newline, tab, carriage return escaped."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def _exec_argument(arg: str) -> str:
    """One ``Exec=`` argument, quoted as the Desktop Entry spec says (before string escaping)."""
    arg = arg.replace("%", "%%")
    if not arg or any(c in _EXEC_RESERVED for c in arg):
        arg = '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'
    return arg


def exec_value(command: Sequence[str]) -> str:
    """The ``Exec=`` value for ``command`` followed by ``%F`` (the files to open)."""
    return _escape_string(" ".join(_exec_argument(a) for a in command)) + " %F"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _bundled_icons() -> dict[str, bytes]:
    """The icon files to install, by path relative to ``<data home>/icons``."""
    files = {icon_theme_relpath(size): path.read_bytes() for size, path in sorted(icon_paths().items())}
    svg = icon_svg_path()
    if svg is not None:
        files[icon_theme_relpath(None)] = svg.read_bytes()
    if not files:
        raise DesktopEntryError("no application icons are installed with SELD Studio (seld_resources/icons)")
    return files


def entry_text(template: str, command: Sequence[str], icons: Mapping[str, bytes]) -> str:
    """The desktop entry we install: ``template`` with our marker, ``Exec=``/``TryExec=`` for
    ``command`` and a comment line per installed icon (its path under ``icons/`` and checksum)."""
    lines = [MARKER]
    lines += [f"{_FILE_PREFIX}icons/{rel} {_digest(data)}" for rel, data in sorted(icons.items())]
    try_exec = command[0]
    for line in template.splitlines():
        if line.startswith(MARKER) or line.startswith(_FILE_PREFIX):
            continue
        key = line.split("=", 1)[0].strip()
        if key == "Exec":
            line = f"Exec={exec_value(command)}"
        elif key == "TryExec":
            line = f"TryExec={_escape_string(try_exec)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _recorded_files(text: str) -> dict[str, str]:
    """The files (relative to the data home) and checksums an entry of ours says it installed."""
    files = {}
    for line in text.splitlines():
        if line.startswith(_FILE_PREFIX):
            rel, _, digest = line[len(_FILE_PREFIX) :].rpartition(" ")
            parts = Path(rel).parts
            if digest.startswith("sha256:") and parts[:1] == ("icons",) and ".." not in parts:
                files[rel] = digest
    return files


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def entry_target(data_home: Path) -> Path:
    """Where the desktop entry goes under ``data_home``."""
    return data_home / "applications" / DESKTOP_ENTRY


def _ours(entry: bytes | None) -> dict[str, str] | None:
    """The files an installed entry of ours recorded, or ``None`` when ``entry`` is not ours."""
    if entry is None:
        return None
    text = entry.decode("utf-8", errors="replace")
    if not text.startswith(MARKER):
        return None
    return _recorded_files(text)


def plan_install(data_home: Path, command: Sequence[str] | None = None) -> dict[Path, bytes]:
    """Every file the install writes (absolute path: content), the entry last."""
    template_path = desktop_entry_path()
    if template_path is None:
        raise DesktopEntryError("no desktop entry is installed with SELD Studio (seld_resources/desktop)")
    icons = _bundled_icons()
    command = launcher_command() if command is None else list(command)
    plan: dict[Path, bytes] = {data_home / "icons" / rel: data for rel, data in icons.items()}
    text = entry_text(template_path.read_text(encoding="utf-8"), command, icons)
    plan[entry_target(data_home)] = text.encode("utf-8")
    return plan


def _check_no_foreign_files(data_home: Path, plan: Mapping[Path, bytes]) -> None:
    entry = entry_target(data_home)
    recorded = _ours(_read(entry)) or {}
    for target, data in plan.items():
        current = _read(target)
        if current is None or current == data:
            continue
        if target == entry:
            if _ours(current) is not None:
                continue
        else:
            rel = target.relative_to(data_home).as_posix()
            if recorded.get(rel) == _digest(current):
                continue  # an icon an earlier install of ours wrote, unchanged since
        raise DesktopEntryError(
            "a different file of someone else's is already there; SELD Studio does not overwrite it. "
            "Move it away (or delete it) and install again",
            target,
        )


def _run_tool(argv: Sequence[str], outcome: Outcome) -> None:
    """Run a desktop cache tool if it is installed; its absence or failure is not an error."""
    if shutil.which(argv[0]) is None:
        return
    try:
        subprocess.run(list(argv), check=False, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return
    outcome.tools.append(argv[0])


def _refresh_caches(data_home: Path, outcome: Outcome) -> None:
    applications = data_home / "applications"
    if applications.is_dir():
        _run_tool(["update-desktop-database", "-q", str(applications)], outcome)
    theme = data_home / "icons" / "hicolor"
    if theme.is_dir():
        try:
            os.utime(theme)  # the icon theme spec's signal that the folder changed
        except OSError:
            pass
        # a cache is refreshed, never created: a user folder without one is read directly, and a
        # cache nobody else keeps up to date would hide the icons other programs put there later
        if (theme / "icon-theme.cache").is_file():
            _run_tool(["gtk-update-icon-cache", "-q", "-f", "-t", str(theme)], outcome)


def install(
    data_home: Path | None = None, command: Sequence[str] | None = None, refresh: bool = True
) -> Outcome:
    """Install the desktop entry and icons under ``data_home`` (default :func:`default_data_home`).

    ``command`` is the launcher for ``Exec=`` (default :func:`launcher_command`). Installing
    again is harmless: unchanged files are left as they are. Raises :class:`DesktopEntryError`,
    before writing anything, when a different file that is not ours is at a target.
    """
    data_home = default_data_home() if data_home is None else Path(data_home)
    plan = plan_install(data_home, command)
    _check_no_foreign_files(data_home, plan)
    outcome = Outcome()
    for target, data in plan.items():  # the entry last: it appears in menus once its icons exist
        if _read(target) == data:
            outcome.unchanged.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, data)
        outcome.changed.append(target)
    if refresh and outcome.changed:
        _refresh_caches(data_home, outcome)
    return outcome


def uninstall(data_home: Path | None = None, refresh: bool = True) -> Outcome:
    """Remove the desktop entry and the icons an install of ours put under ``data_home``.

    Only our files go: the entry when it carries :data:`MARKER`, and the icons it recorded
    when they are still as we wrote them (without an entry of ours, icons identical to the
    bundled ones). Raises :class:`DesktopEntryError` when the entry there is someone else's.
    """
    data_home = default_data_home() if data_home is None else Path(data_home)
    entry = entry_target(data_home)
    current = _read(entry)
    recorded = _ours(current)
    if current is not None and recorded is None:
        raise DesktopEntryError(
            "this desktop entry was not installed by seldgui --install-desktop-entry; "
            "SELD Studio leaves it alone",
            entry,
        )
    if recorded is None:  # no entry: remove icons only where they are exactly the bundled ones
        try:
            recorded = {f"icons/{rel}": _digest(data) for rel, data in _bundled_icons().items()}
        except DesktopEntryError:
            recorded = {}
    outcome = Outcome()
    for rel, digest in sorted(recorded.items()):
        target = data_home / rel
        data = _read(target)
        if data is None:
            continue
        if _digest(data) != digest:
            outcome.kept.append(target)
            continue
        target.unlink()
        outcome.changed.append(target)
    if current is not None:
        entry.unlink()
        outcome.changed.append(entry)
    if refresh and outcome.changed:
        _refresh_caches(data_home, outcome)
    return outcome


def run_from_command_line(action: str, data_home: Path | None = None) -> int:
    """``seldgui --install-desktop-entry`` / ``--uninstall-desktop-entry``: do it, say what was done."""
    data_home = default_data_home() if data_home is None else data_home
    try:
        if action == "install":
            outcome = install(data_home)
        elif action == "uninstall":
            outcome = uninstall(data_home)
        else:
            raise ValueError(f"action must be 'install' or 'uninstall', not {action!r}")
    except (DesktopEntryError, OSError) as err:
        print(f"seldgui: {err}", file=sys.stderr)
        return 1
    entry = entry_target(data_home)
    if action == "install":
        state = "installed" if outcome.changed else "already installed, unchanged"
        print(f"SELD Studio desktop entry {state}: {entry}")
        print(f"icons ({ICON_NAME}): {data_home / 'icons' / 'hicolor'}")
        print(
            "WAV and FLAC files now offer SELD Studio under 'Open with'; your default applications are unchanged."
        )
    else:
        if not outcome.changed and not outcome.kept:
            print(f"no SELD Studio desktop entry to remove under {data_home}")
        for path in outcome.changed:
            print(f"removed {path}")
        for path in outcome.kept:
            print(f"kept {path} (changed since it was installed)")
    return 0
