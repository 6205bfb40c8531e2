"""``seldgui [FILES...]``: start the SELD Studio window.

Heavy libraries (torch) are not imported here; the window appears first.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="seldgui", description="SELD Studio: review spatial recordings.")
    p.add_argument("files", nargs="*", type=Path, help="recordings to open (the first is shown)")
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("foa", "foa-fuma", "mic"),
        default=None,
        help="recording format: FOA AmbiX, FOA FuMa or MIC (default: from DCASE folder names, "
        "the folder's remembered choice, else you are asked)",
    )
    desktop = p.add_mutually_exclusive_group()
    desktop.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add SELD Studio to your desktop's application menu (and offer it for WAV/FLAC files) "
        "for this user: a desktop entry and icons under $XDG_DATA_HOME (~/.local/share), then exit",
    )
    desktop.add_argument(
        "--uninstall-desktop-entry",
        action="store_true",
        help="remove what --install-desktop-entry installed, then exit",
    )
    return p.parse_args(argv)


APPLICATION_NAME = "SELD Studio"
"""Qt's application name; on X11 also the class part of every window's WM_CLASS (the desktop
entry's ``StartupWMClass``)."""
DESKTOP_FILE_NAME = "seld-studio"
"""The desktop entry's name without ``.desktop``: the Wayland app id, matched to the entry."""


def apply_app_identity(app) -> None:
    """Name the application, tie its windows to the desktop entry and give them the icon.

    The icon holds every bundled PNG size (``core.io.resources.icon_paths``), so the window
    manager, task bar and switcher each pick a sharp one; no icon is set when none is installed.
    """
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QIcon

    from core.io.resources import icon_paths

    app.setApplicationName(APPLICATION_NAME)
    app.setOrganizationName(APPLICATION_NAME)
    app.setDesktopFileName(DESKTOP_FILE_NAME)
    icon = QIcon()
    for size, path in icon_paths().items():
        icon.addFile(str(path), QSize(size, size))
    if not icon.isNull():
        app.setWindowIcon(icon)


def show_window(window) -> None:
    """Show ``window`` at once and draw its OpenGL sphere just after it is on screen.

    The sphere's first draw (shaders, the labels' glyphs) is made inside ``show()`` and takes
    about 0.8 s with a software OpenGL (Mesa llvmpipe), holding the whole window back; its
    widget is shown on the event loop's first turn instead, as the rest of the window is up.
    """
    from PySide6.QtCore import QTimer

    native = getattr(getattr(getattr(window, "direction_view", None), "canvas", None), "native", None)
    if native is None or native.isHidden():
        window.show()
        return
    native.hide()
    window.show()
    QTimer.singleShot(0, native.show)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        from seldgui.desktop_entry import run_from_command_line

        return run_from_command_line("install" if args.install_desktop_entry else "uninstall")
    from PySide6.QtWidgets import QApplication

    from seldgui.errors import install_excepthook
    from seldgui.main_window import MainWindow

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_app_identity(app)
    window = MainWindow()
    install_excepthook(window)
    show_window(window)
    if window.offer_restore():  # labels a crash left unsaved come first
        pass
    elif args.files:
        window.open_path(args.files[0], fmt=args.fmt)
    else:
        from core.io.resources import demo_recording_path

        demo = demo_recording_path()
        if demo is not None:
            window.open_path(demo, fmt="foa")
    code = app.exec()
    # tear the window down while Qt and Python are both alive (PySide6 and pyqtgraph
    # objects destroyed during interpreter finalization can crash it)
    window.deleteLater()
    app.processEvents()
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().clear()  # drop queued work; let running work end first
    QThreadPool.globalInstance().waitForDone(10000)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
