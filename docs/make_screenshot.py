"""Take the documentation's screenshots of the main window with the bundled demo, under Xvfb.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb .venv/bin/python docs/make_screenshot.py

Writes ``docs/images/main_window.png`` (review: the demo with its reference labels and,
when a model is bundled, its predictions) and ``docs/images/annotation.png`` (edit mode
with a moving event selected: its keyframes on the tracks and the sphere, the Event panel).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from core.io.resources import demo_recording_path
    from seldgui.main_window import MainWindow

    out = ROOT / "docs" / "images" / "main_window.png"
    annotation_out = out.with_name("annotation.png")
    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1400, 800)
    window.show()
    demo = demo_recording_path()
    if demo is None:
        print("no demo recording is bundled", file=sys.stderr)
        return 1
    window.open_path(demo, fmt="foa")
    from core.io.resources import bundled_model_path

    waited = [0]
    ran = [bundled_model_path("foa") is None]  # nothing to run without a bundled model

    def shoot() -> None:
        if window.session.spectrogram is None and waited[0] < 100:
            waited[0] += 1
            QTimer.singleShot(100, shoot)
            return
        if not ran[0]:  # F5: the bundled model's predictions over the reference
            ran[0] = True
            window.run_model()
        if window.session.predictions is None and bundled_model_path("foa") is not None and waited[0] < 600:
            waited[0] += 1
            QTimer.singleShot(100, shoot)
            return
        window.session.set_playhead(24.4)  # a moment with two overlapping, moving events
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        print(out)
        # edit mode: select the moving event under the playhead
        window.session.set_editing(True)
        frame = window.session.playhead_frame
        active = [e for e in window.session.annotation.events if e.start <= frame < e.end]
        moving = [e for e in active if not e.stationary] or active
        if moving:
            window.session.set_selection([moving[0].id])
        app.processEvents()
        window.grab().save(str(annotation_out))
        print(annotation_out)
        window.annotation.stack.setClean()
        app.quit()

    QTimer.singleShot(300, shoot)
    app.exec()
    return 0 if out.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
