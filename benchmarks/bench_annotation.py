"""Annotation edits in the window: how long one edit takes from the undo stack to every view.

A drag sends one edit per mouse move, so an edit must reach every view well within the
interface's 100 ms budget. Builds labels with ``--events`` events (a third of them
moving, every frame a keyframe as a label file read exactly gives), opens them in the main
window (offscreen), and prints the median and worst time of

* a move of one event (the core edit + the session's per-frame events + every view),
* the same through the undo stack's merge (one drag step),
* the core alone (edit apply + revert, no views),

with the time to open the labels (reading them into keyframes) as a reference.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_annotation.py [--events 300] [--repeats 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_labels(n_events: int, seed: int = 0):
    from core.labels.table import LabelRow, LabelTable

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_events):
        cls = int(rng.integers(0, 14))
        start = int(rng.integers(0, 36000))
        n = int(rng.integers(5, 60))
        az0, el = float(rng.uniform(-180, 180)), float(rng.uniform(-40, 40))
        speed = float(rng.choice([0.0, 0.0, 2.0]))  # degrees per frame
        for f in range(n):
            az = (az0 + speed * f + 180) % 360 - 180
            rows.append(LabelRow(start + f, cls, i % 3, round(az), round(el)))
    return LabelTable(rows)


def timed(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times), max(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=40)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from core.annotation import edits as ed
    from core.annotation.document import Annotation
    from core.io.audio import Recording
    from seldgui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    table = make_labels(args.events)
    t0 = time.perf_counter()
    doc = Annotation.from_table(table)
    read_ms = 1000 * (time.perf_counter() - t0)
    n_keys = sum(len(e.keyframes) for e in doc.events)
    print(
        f"labels: {len(doc)} events, {len(table)} rows, {n_keys} keyframes; read into keyframes in {read_ms:.0f} ms"
    )

    window = MainWindow()
    window.resize(1400, 800)
    window.show()
    rec = Recording(np.zeros((4, 24000 * 3600), np.float32), 24000, "foa", "bench.wav", 24000)
    window.session.set_recording(rec)
    window.session.set_reference(table)
    app.processEvents()
    session, controller = window.session, window.annotation
    target = session.annotation.events[len(session.annotation) // 2].id
    session.set_selection([target])
    session.set_editing(True)

    def window_edit() -> None:
        controller.push(ed.move_events(session.annotation, [target], 1))
        app.processEvents()

    key = object()

    def drag_step() -> None:
        controller.push(ed.move_events(session.annotation, [target], 1, merge_key=key))
        app.processEvents()

    core_doc = Annotation.from_table(table)
    core_target = core_doc.events[len(core_doc) // 2].id

    def core_edit() -> None:
        edit = ed.move_events(core_doc, [core_target], 1)
        edit.apply(core_doc)
        edit.revert(core_doc)

    for name, fn in (
        ("one edit, every view", window_edit),
        ("one drag step (merged)", drag_step),
        ("core only (apply+revert)", core_edit),
    ):
        med, worst = timed(fn, args.repeats)
        print(f"{name:<28} median {med:7.1f} ms   worst {worst:7.1f} ms")
    controller.stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
