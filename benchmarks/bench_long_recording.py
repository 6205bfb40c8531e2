"""Long recordings in the review window: time to the first overview, peak memory, view updates.

Writes a one-hour 4-channel FOA file (16-bit WAV, 24 kHz, about 690 MB; ``--minutes`` to
change) into a temporary folder, then prints

* the time of :func:`core.dsp.overview.quick_overview` (what the window shows first; target:
  the overview of a one-hour recording within 1.5 s of opening),
* the time of the exact max-pooled :func:`core.dsp.overview.pooled_overview` (computed in the
  background) and the process's peak memory after it,
* the time of one direction-view update at the playhead (the equirectangular map; the
  vispy sphere too when an OpenGL display exists), median of 50.

    python benchmarks/bench_long_recording.py [--minutes 60] [--columns 1600]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.dsp.overview import pooled_overview, quick_overview  # noqa: E402


def write_long_file(path: Path, minutes: float) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", 24000, 4, subtype="PCM_16") as f:
        for _ in range(int(minutes)):
            x = rng.standard_normal((24000 * 60, 4)).astype(np.float32) * 0.01
            k = rng.integers(0, 24000 * 59)
            x[k : k + 2400, :] += 0.3  # a short event in every minute
            f.write(x)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_view_updates() -> None:
    try:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from core.io.audio import Recording
        from core.labels.dcase_csv import parse_labels
        from core.session.session import Session
        from seldgui.views.doa_map import DoaMapView
        from seldgui.views.doa_sphere import create_direction_view
    except ImportError as err:
        print(f"direction view: skipped ({err})")
        return
    app = QApplication.instance() or QApplication([])
    session = Session()
    session.set_recording(Recording(np.zeros((4, 24000 * 60), np.float32), 24000, "foa", "x.wav", 24000))
    rows = "".join(
        f"{f},{c},0,{(f * 7 + c * 40) % 360 - 180},{c * 5 - 30}\n" for f in range(600) for c in range(3)
    )
    session.set_reference(parse_labels(rows))
    for view in {DoaMapView(session), create_direction_view(session)}:
        view.resize(500, 400)
        view.show()
        app.processEvents()
        times = []
        for i in range(50):
            t0 = time.perf_counter()
            session.set_playhead(5.0 + i * 0.1)
            app.processEvents()
            times.append(time.perf_counter() - t0)
        print(f"direction view update ({view.kind}): {1000 * statistics.median(times):.1f} ms (median of 50)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--columns", type=int, default=1600)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "foa_dev" / "long.wav"
        path.parent.mkdir()
        t0 = time.perf_counter()
        write_long_file(path, args.minutes)
        print(
            f"wrote {args.minutes:.0f} min FOA ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s"
        )
        base = peak_rss_mib()
        t0 = time.perf_counter()
        quick = quick_overview(path, n_columns=args.columns)
        print(
            f"quick overview ({quick.db.shape[0]} columns): {time.perf_counter() - t0:.2f} s  (target 1.5 s)"
        )
        t0 = time.perf_counter()
        pooled = pooled_overview(path, n_columns=args.columns)
        dt = time.perf_counter() - t0
        print(
            f"exact max-pooled overview: {dt:.1f} s ({dt / args.minutes:.2f} s per minute); "
            f"peak RSS {peak_rss_mib():.0f} MiB (before: {base:.0f} MiB)"
        )
        hits = int((pooled.db.max(axis=1) > pooled.db.max(axis=1).min() + 20).sum())
        print(f"columns showing the one-per-minute short events: {hits} (expected about {int(args.minutes)})")
    time_view_updates()
    return 0


if __name__ == "__main__":
    sys.exit(main())
