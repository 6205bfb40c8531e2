"""Take the documentation's screenshots of the main window with the bundled demo, under Xvfb.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python docs/make_screenshot.py

Writes, with settings of its own (never the user's), so that the window has the size of a
first start (most of the 1600x1000 screen):

* ``docs/images/main_window.png``: review at that size: the demo with its reference labels
  and, when a model is bundled, its predictions;
* ``docs/images/main_window_maximised.png``: the same, maximised;
* ``docs/images/annotation.png``: edit mode with a moving event selected: its keyframes on
  the tracks and the sphere, the Event panel.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from core.io.resources import bundled_model_path, demo_recording_path
    from seldgui.main_window import MainWindow
    from seldgui.settings import Settings

    images = ROOT / "docs" / "images"
    out = images / "main_window.png"
    app = QApplication(sys.argv[:1])
    window = MainWindow(settings=Settings.at(Path(tempfile.mkdtemp()) / "settings.ini"))
    window.show()
    demo = demo_recording_path()
    if demo is None:
        print("no demo recording is bundled", file=sys.stderr)
        return 1
    window.open_path(demo, fmt="foa")
    waited = [0]
    normal = []  # the first-start geometry, for the annotation shot
    ran = [bundled_model_path("foa") is None]  # nothing to run without a bundled model

    def later(step) -> None:
        waited[0] += 1
        QTimer.singleShot(100, step)

    def save(path: Path) -> None:
        app.processEvents()
        window.grab().save(str(path))
        print(path, window.width(), "x", window.height())

    def shoot() -> None:
        if (window.session.spectrogram is None or window.busy) and waited[0] < 300:
            return later(shoot)
        if not ran[0]:  # F5: the bundled model's predictions over the reference
            ran[0] = True
            window.run_model()
        if window.runner.running and waited[0] < 3000:
            return later(shoot)
        window.session.set_playhead(24.4)  # a moment with two overlapping, moving events
        images.mkdir(parents=True, exist_ok=True)
        save(out)
        normal.append(window.geometry())
        window.showMaximized()
        QTimer.singleShot(1500, shoot_maximised)

    def shoot_maximised() -> None:
        screen = window.screen().availableGeometry()
        if window.size() != screen.size():  # no window manager (bare Xvfb): fill the screen by hand
            window.setGeometry(screen)
            return QTimer.singleShot(1500, shoot_maximised)
        save(out.with_name("main_window_maximised.png"))
        window.showNormal()
        window.setGeometry(normal[0])
        QTimer.singleShot(1000, shoot_annotation)

    def shoot_annotation() -> None:
        # edit mode: select the moving event under the playhead
        window.session.set_editing(True)
        frame = window.session.playhead_frame
        active = [e for e in window.session.annotation.events if e.start <= frame < e.end]
        moving = [e for e in active if not e.stationary] or active
        if moving:
            window.session.set_selection([moving[0].id])
        save(out.with_name("annotation.png"))
        window.annotation.stack.setClean()
        app.quit()

    QTimer.singleShot(300, shoot)
    app.exec()
    return 0 if out.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
