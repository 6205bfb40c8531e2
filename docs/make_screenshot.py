"""Take the README's screenshot of the main window with the bundled demo, under Xvfb.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python docs/make_screenshot.py

Writes ``docs/images/main_window.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from core.resources import demo_recording_path
    from seldgui.main_window import MainWindow

    out = ROOT / "docs" / "images" / "main_window.png"
    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1400, 800)
    window.show()
    demo = demo_recording_path()
    if demo is None:
        print("no demo recording is bundled", file=sys.stderr)
        return 1
    window.open_path(demo, fmt="foa")
    waited = [0]

    def shoot() -> None:
        if window.session.spectrogram is None and waited[0] < 100:
            waited[0] += 1
            QTimer.singleShot(100, shoot)
            return
        window.session.set_playhead(24.4)  # a moment with two overlapping, moving events
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        print(out)
        app.quit()

    QTimer.singleShot(300, shoot)
    app.exec()
    return 0 if out.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
