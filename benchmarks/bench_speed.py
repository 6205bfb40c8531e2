"""Inference modes against the network's compute floor, in one run: fp32 floor, default (fast),
test-time rotation sets (accurate), int8; and the start-up of ``seld infer`` on a short file.

One process, ``--threads`` CPU threads (default 2: onnxruntime ``intra_op_num_threads``), the
bundled FOA model (``resources/models/foa_crnn.safetensors``) run by onnxruntime from its
cached graph, on a synthetic FOA recording (noise with louder bursts) of ``--minutes``.
Timed as the median of ``--repeat`` interleaved rounds after a warm-up:

* ``floor fp32``: the network alone on the recording's normalised 2 s segments (batches of
  16, the fp32 graph): what a minute of audio cannot cost less than in fp32;
* ``default``: ``predict`` + ``prediction_to_table`` with no options (what ``seld infer`` and
  the app's F5 do): features, 1 rotation, network, thresholds;
* ``rotations N`` (4, 8, 16 = accurate for FOA): the same with that test-time rotation set, on
  the first ``--rotation-minutes`` of the recording (reported per minute and as the
  ratio to the default measured on the same excerpt);
* with ``--int8 CALIB_DIR``: an int8 graph (:mod:`core.inference.quantize`, calibrated on the
  ``.wav`` files of ``CALIB_DIR``, synthetic training scenes) timed as ``floor int8`` (network
  alone) and ``default int8`` (whole run);
* with ``--data ROOT --folds N``: SELD (DCASE 2020) of fp32 default, int8 and accurate on
  those folds (``seld eval``'s scoring), side by side;
* ``--startup``: ``seld infer`` on a 1 s file in fresh processes, with a cold cache (the graph
  is exported: torch) and a warm one (no torch), median of ``--repeat``.

    python benchmarks/bench_speed.py [--minutes 10] [--repeat 5] [--int8 /tmp/calib/foa_dev]
        [--data /tmp/testfold --folds 7] [--startup]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.inference.predict import (  # noqa: E402
    _segment_batches,
    file_features,
    open_model,
    predict,
    prediction_to_table,
)
from core.io.resources import bundled_model_path  # noqa: E402


def synthetic_scene(seconds: float, seed: int = 0) -> np.ndarray:
    """``(N, 4)`` noise with louder bursts, 24 kHz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 24000)
    x = 0.01 * rng.standard_normal((n, 4)).astype(np.float32)
    for _ in range(max(1, int(seconds / 2))):
        s = int(rng.integers(0, max(1, n - 12000)))
        x[s : s + 12000] += 0.2 * rng.standard_normal((12000, 4)).astype(np.float32)
    return np.clip(x, -1, 1)


def interleaved(tasks: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in tasks}
    for fn in tasks.values():  # warm-up
        fn()
    for _ in range(repeat):
        for name, fn in tasks.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def network_only(model, segments: np.ndarray) -> Callable[[], None]:
    def run() -> None:
        for b0 in range(0, segments.shape[0], 16):
            model.run(segments[b0 : b0 + 16])

    return run


def whole(model, path: Path, rotations: int | str | None = None) -> Callable[[], object]:
    return lambda: prediction_to_table(predict(model, path, rotations=rotations))


def startup(rec: Path, out: Path, repeat: int) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(out / "xdg")}
    cmd = [sys.executable, "-m", "core.cli", "infer", str(rec), "--format", "foa", "--out", str(out / "o")]

    def once() -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - t0

    cold = once()
    warm = [once() for _ in range(repeat)]
    print(f"\nstart-up, seld infer on a 1 s file (whole process): cold cache {cold:.2f} s (exports: torch), "
          f"warm cache median {statistics.median(warm):.2f} s (min {min(warm):.2f})")  # fmt: skip


def seld_scores(
    model_paths: dict[str, tuple[str, int | str | None]], data: Path, folds: list[int], threads: int
) -> None:
    from core.common.progress import run_job
    from core.inference.evaluate import evaluate_model, labelled_fold_items

    print(f"\nSELD (DCASE 2020, micro) on {data}, fold(s) {folds}:")
    print(f"{'mode':<22} {'ER':>7} {'F':>7} {'LE':>7} {'LR':>7} {'SELD':>7}")
    for name, (path, rotations) in model_paths.items():
        model = open_model(path, device="cpu", threads=threads)
        items = labelled_fold_items(data, model.meta.fmt, folds)
        s = run_job(evaluate_model(model, items, rotations=rotations))
        print(f"{name:<22} {s.ER:7.4f} {s.F:7.4f} {s.LE:7.2f} {s.LR:7.4f} {s.SELD:7.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rotation-minutes", type=float, default=1.0)
    ap.add_argument("--rotations", type=int, nargs="*", default=[4, 8, 16])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--int8", type=Path, default=None, metavar="CALIB_DIR")
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--folds", type=lambda t: [int(f) for f in t.split(",")], default=[7])
    ap.add_argument("--startup", action="store_true")
    args = ap.parse_args()

    package = bundled_model_path("foa")
    if package is None:
        sys.exit("no bundled FOA model")
    with tempfile.TemporaryDirectory(prefix="seld-speed-") as tmp:
        folder = Path(tmp) / "foa"
        folder.mkdir()
        rec = folder / "long.wav"
        sf.write(rec, synthetic_scene(args.minutes * 60), 24000, subtype="PCM_16")
        short = folder / "excerpt.wav"
        sf.write(short, synthetic_scene(args.rotation_minutes * 60, seed=1), 24000, subtype="PCM_16")
        fp32 = open_model(package, backend="onnx", device="cpu", threads=args.threads)
        scaler = fp32.scaler
        segments = _segment_batches(scaler.transform(file_features(rec, "foa")))
        tasks: dict[str, Callable[[], object]] = {
            "floor fp32": network_only(fp32, segments),
            "default": whole(fp32, rec),
        }
        int8_path = None
        if args.int8 is not None:
            from core.inference.quantize import quantize_package

            int8_path = Path(tmp) / "foa_int8.onnx"
            quantize_package(package, sorted(args.int8.glob("*.wav")), int8_path)
            int8 = open_model(int8_path, device="cpu", threads=args.threads)
            tasks["floor int8"] = network_only(int8, segments)
            tasks["default int8"] = whole(int8, rec)
        times = interleaved(tasks, args.repeat)
        minutes = args.minutes
        floor = statistics.median(times["floor fp32"])
        print(f"bundled FOA model, onnxruntime, {args.threads} threads, {minutes:g} min of FOA, median of "
              f"{args.repeat} rounds")  # fmt: skip
        print(f"{'mode':<16} {'s total':>8} {'s/min':>7} {'x floor':>8}")
        for name, ts in times.items():
            med = statistics.median(ts)
            print(f"{name:<16} {med:8.3f} {med / minutes:7.3f} {med / floor:8.2f}")

        rot_tasks: dict[str, Callable[[], object]] = {"rotations 1": whole(fp32, short)}
        for n in args.rotations:
            rot_tasks[f"rotations {n}"] = whole(fp32, short, rotations=n)
        rtimes = interleaved(rot_tasks, max(1, args.repeat // 2))
        one = statistics.median(rtimes["rotations 1"])
        per_min_floor = floor / minutes
        print(f"\ntest-time rotations on {args.rotation_minutes:g} min (accurate = 16 for FOA):")
        print(f"{'mode':<16} {'s/min':>7} {'x default':>10} {'x floor':>8}")
        for name, ts in rtimes.items():
            med = statistics.median(ts) / args.rotation_minutes
            print(
                f"{name:<16} {med:7.3f} {med * args.rotation_minutes / one:10.2f} {med / per_min_floor:8.2f}"
            )

        if args.data is not None:
            modes: dict[str, tuple[str, int | str | None]] = {"fp32 default": (str(package), None)}
            if int8_path is not None:
                modes["int8 default"] = (str(int8_path), None)
            modes["fp32 accurate (16)"] = (str(package), "accurate")
            seld_scores(modes, args.data, args.folds, args.threads)
        if args.startup:
            one_s = folder / "one.wav"
            sf.write(one_s, synthetic_scene(1.0, seed=2), 24000, subtype="PCM_16")
            startup(one_s, Path(tmp), args.repeat)


if __name__ == "__main__":
    main()
