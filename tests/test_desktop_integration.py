"""Desktop integration: the application icon, the freedesktop desktop entry, installing both for
a user (``seldgui --install-desktop-entry``) and the window icon."""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from core.io.resources import (
    ICON_NAME,
    ICON_SIZES,
    desktop_entry_path,
    icon_paths,
    icon_svg_path,
    icon_theme_relpath,
)
from seldgui import desktop_entry as de

REPO = Path(__file__).resolve().parents[1]
ICONS = REPO / "resources" / "icons"
SVG = ICONS / "seld-studio.svg"
ENTRY = REPO / "resources" / "desktop" / "seld-studio.desktop"
MIME_TYPES = {"audio/x-wav", "audio/wav", "audio/vnd.wave", "audio/flac", "audio/x-flac"}


def _render_script():
    spec = importlib.util.spec_from_file_location("render_icons", REPO / "packaging" / "render_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry_keys(text: str) -> dict[str, str]:
    """The keys of the ``[Desktop Entry]`` group (the file has no other group)."""
    keys = {}
    group = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            group = line.strip()
            continue
        assert group == "[Desktop Entry]", line
        key, _, value = line.partition("=")
        keys[key.strip()] = value.strip()
    return keys


def _validate(path: Path) -> subprocess.CompletedProcess:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    return subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)


def _assert_valid(path: Path) -> None:
    out = _validate(path)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    bad = [line for line in report.splitlines() if ": error:" in line or ": warning:" in line]
    assert not bad, report


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _launcher(folder: Path) -> Path:
    """An executable file named like the launcher, in ``folder`` (as a venv's ``bin/seldgui``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "seldgui"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


# --------------------------------------------------------------------------- the icon


def test_the_rendered_sizes_are_the_ones_the_app_looks_for():
    assert tuple(_render_script().SIZES) == ICON_SIZES
    assert sorted(icon_paths()) == list(ICON_SIZES)
    for size, path in icon_paths().items():
        assert path.as_posix().endswith(f"icons/{icon_theme_relpath(size)}")
    assert icon_svg_path() is not None and icon_svg_path().read_bytes() == SVG.read_bytes()


@pytest.mark.parametrize("size", ICON_SIZES)
def test_every_png_is_square_of_its_size_transparent_at_the_corner_opaque_in_the_middle(size):
    from PySide6.QtGui import QImage

    path = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
    assert path.is_file(), path
    image = QImage(str(path))
    assert not image.isNull()
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel()
    assert image.depth() == 32  # 8 bits per channel
    for x, y in ((0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)):
        assert image.pixelColor(x, y).alpha() == 0, (size, x, y)
    assert image.pixelColor(size // 2, size // 2).alpha() == 255
    # the square itself is opaque, not just the middle pixel
    assert image.pixelColor(size // 2, size // 8).alpha() == 255
    assert image.pixelColor(size // 8, size // 2).alpha() == 255


def test_the_icon_folder_stays_small():
    total = sum(p.stat().st_size for p in ICONS.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < 150_000, total


def test_the_svg_is_well_formed_and_renders_and_the_pngs_are_rendered_from_it():
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    root = ET.parse(SVG).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 512 512"
    assert not list(root.iter("{http://www.w3.org/2000/svg}text"))  # no text in an icon
    assert (ICONS / "hicolor" / "scalable" / "apps" / "seld-studio.svg").read_bytes() == SVG.read_bytes()

    renderer = QSvgRenderer(str(SVG))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == renderer.defaultSize().height() == 512

    script = _render_script()
    for size in (16, 64):
        fresh = script.render(size)
        assert fresh.width() == size
        opaque = sum(fresh.pixelColor(x, y).alpha() == 255 for x in range(size) for y in range(size))
        assert opaque > 0.6 * size * size  # the rounded square fills most of it
        stored = QImage(str(ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"))
        stored = stored.convertToFormat(fresh.format())
        diff = [
            abs(a - b)
            for x in range(size)
            for y in range(size)
            for a, b in zip(fresh.pixelColor(x, y).getRgb(), stored.pixelColor(x, y).getRgb(), strict=True)
        ]
        # the committed PNGs are the current SVG's (re-run render_icons.py after editing it)
        assert sum(diff) / len(diff) < 2.0 and max(diff) < 64, (size, sum(diff) / len(diff), max(diff))


def test_render_icons_writes_every_size_and_the_scalable_copy(tmp_path):
    from PySide6.QtGui import QImage

    assert _render_script().main(tmp_path) == 0
    for size in ICON_SIZES:
        image = QImage(str(tmp_path / icon_theme_relpath(size)))
        assert (image.width(), image.height()) == (size, size)
    assert (tmp_path / icon_theme_relpath(None)).read_bytes() == SVG.read_bytes()


# --------------------------------------------------------------------------- the desktop entry


def test_the_desktop_entry_passes_desktop_file_validate():
    _assert_valid(ENTRY)


def test_the_desktop_entry_offers_wav_and_flac_and_opens_the_files_it_is_given():
    assert desktop_entry_path() is not None and desktop_entry_path().read_bytes() == ENTRY.read_bytes()
    keys = _entry_keys(ENTRY.read_text(encoding="utf-8"))
    assert keys["Type"] == "Application"
    assert keys["Name"] == "SELD Studio"
    assert keys["GenericName"] == "Spatial sound event analysis"
    assert set(keys["MimeType"].rstrip(";").split(";")) == MIME_TYPES
    assert keys["Exec"] == "seldgui %F" and keys["TryExec"] == "seldgui"
    assert keys["Icon"] == ICON_NAME
    assert keys["Terminal"] == "false" and keys["StartupNotify"] == "true"
    assert set(keys["Categories"].rstrip(";").split(";")) >= {"AudioVideo", "Audio"}
    assert keys["Keywords"].endswith(";")
    # what Qt puts in WM_CLASS's class part, and the Wayland app id / desktop file name
    from seldgui.app import APPLICATION_NAME, DESKTOP_FILE_NAME

    assert keys["StartupWMClass"] == APPLICATION_NAME
    assert ENTRY.name == f"{DESKTOP_FILE_NAME}.desktop"
    # the marker belongs only in installed copies (a user's own copy of the file is not ours)
    assert de.MARKER not in ENTRY.read_text(encoding="utf-8")


def test_the_wheel_takes_the_icons_and_the_desktop_entry():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "seld_resources"
    ]
    wanted = [ENTRY, SVG, *ICONS.glob("hicolor/*/apps/*")]
    assert len(wanted) == 2 + len(ICON_SIZES) + 1
    for path in wanted:
        rel = path.relative_to(REPO / "resources").as_posix()
        assert any(fnmatch.fnmatchcase(rel, p) for p in patterns), rel
    assert not (ICONS / "render_icons.py").exists()  # tools stay out of the data package


# --------------------------------------------------------------------------- the launcher in Exec=


def test_the_launcher_is_named_when_it_is_the_one_on_path_else_given_by_absolute_path(tmp_path):
    launcher = _launcher(tmp_path / "venv dir" / "bin")
    python = str(launcher.parent / "python")
    assert de.launcher_command(str(launcher), python, search_path=str(launcher.parent)) == ["seldgui"]
    assert de.launcher_command(str(launcher), python, search_path="") == [str(launcher)]
    other = _launcher(tmp_path / "elsewhere")
    assert de.launcher_command(str(launcher), python, search_path=str(other.parent)) == [str(launcher)]
    # started as `python -m seldgui.app`: the launcher beside the interpreter, else python -m
    assert de.launcher_command(str(REPO / "seldgui" / "app.py"), python, search_path="") == [str(launcher)]
    lone_python = str(tmp_path / "no-launcher" / "python3")
    assert de.launcher_command("app.py", lone_python, search_path="") == [lone_python, "-m", "seldgui.app"]


def test_in_a_frozen_bundle_the_launcher_is_the_bundles_own_program(monkeypatch, tmp_path):
    import sys

    program = tmp_path / "SELD Studio" / "seld-studio"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(program))
    assert de.launcher_command("seld-studio", search_path="") == [str(program)]
    assert de.exec_value(de.launcher_command()) == f'"{program}" %F'


def test_exec_arguments_are_quoted_as_the_spec_says():
    assert de.exec_value(["seldgui"]) == "seldgui %F"
    assert de.exec_value(["/opt/my apps/seldgui"]) == '"/opt/my apps/seldgui" %F'
    # inside quotes: \" \` \$ \\ ; then the string value's own escaping doubles the backslashes
    assert de.exec_value(['/a"b$c']) == '"/a\\\\"b\\\\$c" %F'
    assert de.exec_value(["/100%/seldgui"]) == "/100%%/seldgui %F"
    assert de.exec_value(["/usr/bin/python3", "-m", "seldgui.app"]) == "/usr/bin/python3 -m seldgui.app %F"


def test_the_data_home_follows_xdg_data_home():
    assert de.default_data_home({"XDG_DATA_HOME": "/x/data"}) == Path("/x/data")
    assert de.default_data_home({"XDG_DATA_HOME": "relative"}) == Path.home() / ".local" / "share"
    assert de.default_data_home({}) == Path.home() / ".local" / "share"


# --------------------------------------------------------------------------- installing for a user


def test_install_writes_the_entry_and_every_icon_and_installing_again_changes_nothing(tmp_path):
    home = tmp_path / "data"
    launcher = _launcher(tmp_path / "my venv" / "bin")
    command = de.launcher_command(str(launcher), str(launcher.parent / "python"), search_path="")
    assert command == [str(launcher)]  # not on PATH: the absolute path

    outcome = de.install(home, command, refresh=False)
    entry = home / "applications" / "seld-studio.desktop"
    assert outcome.changed[-1] == entry and len(outcome.changed) == len(ICON_SIZES) + 2
    text = entry.read_text(encoding="utf-8")
    assert text.splitlines()[0] == de.MARKER == "# Installed by seldgui --install-desktop-entry"
    keys = _entry_keys(text)
    assert keys["Exec"] == f'"{launcher}" %F'
    assert keys["TryExec"] == str(launcher)
    assert set(keys["MimeType"].rstrip(";").split(";")) == MIME_TYPES
    template = _entry_keys(ENTRY.read_text(encoding="utf-8"))
    assert {k: v for k, v in keys.items() if k not in ("Exec", "TryExec")} == {
        k: v for k, v in template.items() if k not in ("Exec", "TryExec")
    }
    for size, path in icon_paths().items():
        assert (home / "icons" / icon_theme_relpath(size)).read_bytes() == path.read_bytes()
    assert (home / "icons" / icon_theme_relpath(None)).read_bytes() == SVG.read_bytes()
    _assert_valid(entry)

    before = {p: p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file()}
    snapshot = _tree(home)
    again = de.install(home, command, refresh=False)
    assert again.changed == [] and len(again.unchanged) == len(ICON_SIZES) + 2
    assert _tree(home) == snapshot
    assert {p: p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file()} == before


def test_a_launcher_on_path_is_written_by_name(tmp_path):
    home = tmp_path / "data"
    de.install(home, ["seldgui"], refresh=False)
    keys = _entry_keys((home / "applications" / "seld-studio.desktop").read_text(encoding="utf-8"))
    assert keys["Exec"] == "seldgui %F" and keys["TryExec"] == "seldgui"


def test_a_new_launcher_replaces_our_own_entry(tmp_path):
    home = tmp_path / "data"
    de.install(home, ["seldgui"], refresh=False)
    outcome = de.install(home, ["/opt/seld/bin/seldgui"], refresh=False)
    entry = home / "applications" / "seld-studio.desktop"
    assert outcome.changed == [entry]
    assert _entry_keys(entry.read_text(encoding="utf-8"))["Exec"] == "/opt/seld/bin/seldgui %F"


def test_uninstall_removes_exactly_our_files(tmp_path):
    home = tmp_path / "data"
    foreign = {
        "applications/other-app.desktop": b"[Desktop Entry]\nType=Application\nName=Other\nExec=other\n",
        "icons/hicolor/48x48/apps/other-app.png": b"not ours",
        "icons/hicolor/scalable/apps/other-app.svg": b"<svg/>",
    }
    for rel, data in foreign.items():
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_bytes(data)
    de.install(home, ["seldgui"], refresh=False)
    assert len(_tree(home)) == len(foreign) + len(ICON_SIZES) + 2

    outcome = de.uninstall(home, refresh=False)
    assert len(outcome.changed) == len(ICON_SIZES) + 2 and outcome.kept == []
    assert _tree(home) == foreign
    # nothing left to remove: a second uninstall does nothing
    assert de.uninstall(home, refresh=False).changed == []
    assert _tree(home) == foreign


def test_an_icon_changed_after_installing_is_kept_by_uninstall(tmp_path):
    home = tmp_path / "data"
    de.install(home, ["seldgui"], refresh=False)
    changed = home / "icons" / icon_theme_relpath(48)
    changed.write_bytes(b"the user's own drawing")
    # an install does not overwrite it either: it is no longer the file we wrote
    with pytest.raises(de.DesktopEntryError, match=str(changed)):
        de.install(home, ["/elsewhere/seldgui"], refresh=False)
    outcome = de.uninstall(home, refresh=False)
    assert outcome.kept == [changed]
    assert _tree(home) == {f"icons/{icon_theme_relpath(48)}": b"the user's own drawing"}


def test_someone_elses_entry_is_refused_and_left_untouched(tmp_path):
    home = tmp_path / "data"
    theirs = home / "applications" / "seld-studio.desktop"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("[Desktop Entry]\nType=Application\nName=SELD Studio (mine)\nExec=/home/me/seld %F\n")
    before = _tree(home)
    with pytest.raises(de.DesktopEntryError) as err:
        de.install(home, ["seldgui"], refresh=False)
    assert str(theirs) in str(err.value) and "does not overwrite" in str(err.value)
    assert _tree(home) == before  # nothing written, not even the icons
    with pytest.raises(de.DesktopEntryError, match=str(theirs)):
        de.uninstall(home, refresh=False)
    assert _tree(home) == before


def test_someone_elses_icon_is_refused_and_left_untouched(tmp_path):
    home = tmp_path / "data"
    theirs = home / "icons" / icon_theme_relpath(256)
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"an icon of their own")
    with pytest.raises(de.DesktopEntryError, match=str(theirs)):
        de.install(home, ["seldgui"], refresh=False)
    assert _tree(home) == {f"icons/{icon_theme_relpath(256)}": b"an icon of their own"}
    # without an entry of ours, uninstall removes only icons identical to the bundled ones
    assert de.uninstall(home, refresh=False).changed == []
    assert theirs.read_bytes() == b"an icon of their own"


def test_the_command_line_flags_install_and_uninstall_without_opening_a_window(tmp_path, monkeypatch, capsys):
    from seldgui import app

    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    assert app.main(["--install-desktop-entry"]) == 0
    entry = home / "applications" / "seld-studio.desktop"
    assert entry.is_file() and entry.read_text(encoding="utf-8").startswith(de.MARKER)
    out = capsys.readouterr().out
    assert str(entry) in out and "default applications are unchanged" in out
    assert all((home / "icons" / icon_theme_relpath(s)).is_file() for s in ICON_SIZES)
    keys = _entry_keys(entry.read_text(encoding="utf-8"))
    assert keys["Exec"].endswith(" %F") and (keys["TryExec"] == "seldgui" or os.path.isabs(keys["TryExec"]))

    assert app.main(["--uninstall-desktop-entry"]) == 0
    assert not entry.exists()
    assert not [p for p in (home / "icons").rglob("*") if p.is_file() and p.name.startswith(ICON_NAME)]

    entry.write_text("[Desktop Entry]\nType=Application\nName=Mine\nExec=mine\n")
    assert app.main(["--install-desktop-entry"]) == 1
    assert str(entry) in capsys.readouterr().err
    assert entry.read_text() == "[Desktop Entry]\nType=Application\nName=Mine\nExec=mine\n"
    with pytest.raises(SystemExit):
        app.main(["--install-desktop-entry", "--uninstall-desktop-entry"])


# --------------------------------------------------------------------------- the window icon


@pytest.mark.qt
def test_the_application_gets_its_icon_in_every_size_and_its_desktop_file_name(qapp):
    from PySide6.QtCore import QSize

    from seldgui.app import apply_app_identity

    saved = (qapp.applicationName(), qapp.organizationName(), qapp.desktopFileName(), qapp.windowIcon())
    try:
        apply_app_identity(qapp)
        icon = qapp.windowIcon()
        assert not icon.isNull()
        assert {s.width() for s in icon.availableSizes()} == set(ICON_SIZES)
        for size in (16, 32, 256):
            pixmap = icon.pixmap(QSize(size, size))
            assert (pixmap.width(), pixmap.height()) == (size, size)
        assert qapp.applicationName() == "SELD Studio"
        assert qapp.desktopFileName() == "seld-studio"
    finally:
        qapp.setApplicationName(saved[0])
        qapp.setOrganizationName(saved[1])
        qapp.setDesktopFileName(saved[2])
        qapp.setWindowIcon(saved[3])
