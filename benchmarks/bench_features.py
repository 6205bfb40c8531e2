"""Feature extraction speed: SELD Studio vs. a plain per-channel librosa implementation.

Writes a 60 s FOA and a 60 s MIC file (16-bit WAV, 24 kHz, a synthetic scene of noise
bursts and tones) into a temporary folder, then for each prints the seconds per minute of
audio of

* ``core``: ``core.dsp.features.extract_features`` (the array already loaded),
* ``core+read``: reading the file with ``core.io.audio.load_recording`` plus the above,
* ``librosa``: ``tests/librosa_reference.py`` (librosa.stft per channel, np.dot with the mel
  bank, per-pair np.fft.irfft), the way the DCASE baseline computes the same features,

measured in this one run (median of ``--repeat`` runs after one warm-up), and the ratio.
Targets on the 2-core development machine: FOA <= 0.09 s and MIC <= 0.25 s per minute.

    python benchmarks/bench_features.py [--repeat 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.dsp.features import extract_features  # noqa: E402
from core.io.audio import load_recording  # noqa: E402
from tests.librosa_reference import reference_features  # noqa: E402

TARGETS = {"foa": 0.09, "mic": 0.25}


def synthetic_scene(seconds: float = 60.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(24000 * seconds)
    t = np.arange(n) / 24000
    x = rng.standard_normal((4, n)) * 0.003
    for _ in range(40):
        start = rng.integers(0, n - 24000)
        length = int(rng.integers(2400, 24000))
        f0 = rng.uniform(200, 4000)
        burst = 0.2 * np.sin(2 * np.pi * f0 * t[:length]) * np.hanning(length)
        gains = rng.uniform(-1, 1, 4)
        x[:, start : start + length] += gains[:, None] * burst
    return np.clip(x, -1, 1).astype(np.float32)


def timed(fn, repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument(
        "--threads", type=int, default=2, help="threads for core (frame ranges computed in parallel)"
    )
    args = ap.parse_args()
    audio = synthetic_scene()
    minutes = audio.shape[1] / 24000 / 60
    print(f"60 s synthetic scene, {args.repeat} runs each (median), core threads = {args.threads}")
    print(
        f"{'format':6} {'core s/min':>11} {'core+read':>10} {'librosa s/min':>14} {'speed-up':>9} {'target':>7}"
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("foa", "mic"):
            folder = Path(tmp) / f"{fmt}_dev"
            folder.mkdir()
            path = folder / "bench.wav"
            sf.write(path, audio.T, 24000, subtype="PCM_16")
            rec = load_recording(path)
            ours = timed(
                lambda rec=rec, fmt=fmt: extract_features(rec.samples, fmt, workers=args.threads), args.repeat
            )
            with_read = timed(
                lambda path=path, fmt=fmt: extract_features(
                    load_recording(path).samples, fmt, workers=args.threads
                ),
                args.repeat,
            )
            ref = timed(
                lambda rec=rec, fmt=fmt: reference_features(rec.samples, fmt), max(2, args.repeat // 3)
            )
            diff = np.abs(extract_features(rec.samples, fmt) - reference_features(rec.samples, fmt)).max()
            target = TARGETS[fmt]
            ok &= ours / minutes <= target
            print(
                f"{fmt:6} {ours / minutes:11.3f} {with_read / minutes:10.3f} {ref / minutes:14.3f} "
                f"{ref / ours:8.1f}x {target:7.2f}   (max |core - librosa| = {diff:.2e})"
            )
    print("targets met" if ok else "targets NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
