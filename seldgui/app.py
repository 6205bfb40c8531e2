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
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    from PySide6.QtWidgets import QApplication

    from seldgui.errors import install_excepthook
    from seldgui.main_window import MainWindow

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SELD Studio")
    app.setOrganizationName("SELD Studio")
    window = MainWindow()
    install_excepthook(window)
    window.show()
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
