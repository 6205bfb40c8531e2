"""Batch inference speed: 20 one-minute FOA recordings, in one process, against ``seld infer``.

Writes ``--files`` (20) synthetic FOA recordings of ``--seconds`` (60) each into a temporary
``foa_eval`` folder (16-bit WAV, low noise with tone bursts: the speed does not depend on
the content), then measures, in one run and for each test-time rotation setting
(``--rotations 1`` and the bundled model's own, 16 for FOA):

* **batch (in-process)**: the bundled FOA model opened once (``open_model``, timed apart), then
  :func:`core.inference.batch.run_batch` over the folder, writing the CSVs: the GUI's batch;
* **seld infer (one process)**: one ``seld infer FOLDER --format foa --out DIR`` call over the
  same folder in a fresh process, timed from start to exit (interpreter start, imports,
  model start-up, the batch, the writes);
* **seld infer per file**: one ``seld infer`` call on one recording, as a batch of separate
  calls would pay it for every file (the start-up a batch must not pay per file).

Each time is reported as seconds per minute of audio, wall clock and CPU (all threads of the
process, or of the ``seld infer`` child: less sensitive to other load on the machine), the median
of ``--repeat`` rounds that alternate the order of the two ways; the ratio is ``seld infer``'s
wall time over the in-process batch's (model load not included). The load average before and
after is printed: other work on the machine inflates the wall times. The CSVs written by both
ways are compared and must be identical. Backend and device are the CLI's defaults (``--backend auto``: onnxruntime
on the CPU, torch on a GPU) unless given; threads are torch's/onnxruntime's defaults (all cores).

    python benchmarks/bench_batch.py [--files 20] [--seconds 60] [--rotations 1 16] [--repeat 1] [--device auto]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_inference import synthetic_scene  # noqa: E402

from core.common.progress import run_job  # noqa: E402
from core.data.recordings import collect_recordings  # noqa: E402
from core.inference.batch import run_batch  # noqa: E402
from core.inference.predict import open_model  # noqa: E402
from core.io.resources import bundled_model_path  # noqa: E402
from core.spatial.rotations import chosen_rotations  # noqa: E402


def write_recordings(folder: Path, n: int, seconds: float) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        path = folder / f"clip{i:02d}.wav"
        sf.write(path, synthetic_scene(seconds, seed=i), 24000, subtype="PCM_16")
        paths.append(path)
    return paths


def seld_command() -> list[str]:
    """The installed ``seld`` program beside this interpreter, else ``python -m core.cli``."""
    script = Path(sys.executable).with_name("seld")
    return [str(script)] if script.exists() else [sys.executable, "-m", "core.cli"]


def timed_infer(
    inputs: list[Path], out: Path, rotations: int, args: argparse.Namespace
) -> tuple[float, float]:
    """Wall and CPU seconds of one ``seld infer`` process (start to exit)."""
    cmd = [*seld_command(), "infer", *map(str, inputs), "--format", "foa", "--out", str(out)]
    cmd += ["--rotations", str(rotations), "--device", args.device, "--backend", args.backend]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed_batch(model, recordings: list[Path], out: Path, rotations: int) -> tuple[float, float]:
    """Wall and CPU seconds of :func:`run_batch` over ``recordings`` in this process."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_job(run_batch(model, recordings, out_dir=out, rotations=rotations))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert len(result.done) == len(recordings) and not result.failed
    return wall, cpu


def same_outputs(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rotations", type=int, nargs="+", default=None, help="default: 1 and the package's")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per setting (median reported)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    args = parser.parse_args()

    model_path = bundled_model_path("foa")
    if model_path is None:
        raise SystemExit("no bundled FOA model is installed")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "foa_eval"
        print(f"writing {args.files} FOA recordings of {args.seconds:.0f} s ...", flush=True)
        write_recordings(folder, args.files, args.seconds)
        recordings = collect_recordings([folder])
        minutes = args.files * args.seconds / 60
        import onnxruntime  # noqa: F401 - imported before the clock: the load column is the model's own
        import torch  # noqa: F401

        rows = []
        load_before = os.getloadavg()
        for n_rot in args.rotations or [1, None]:
            t0 = time.perf_counter()
            model = open_model(model_path, backend=args.backend, device=args.device)
            load_s = time.perf_counter() - t0
            rot = len(chosen_rotations(model.meta, n_rot))
            batch, infer = [], []
            same = True
            for i in range(args.repeat):
                out_a, out_b = Path(tmp) / f"batch{rot}-{i}", Path(tmp) / f"infer{rot}-{i}"
                if i % 2 == 0:
                    batch.append(timed_batch(model, recordings, out_a, rot))
                    infer.append(timed_infer([folder], out_b, rot, args))
                else:
                    infer.append(timed_infer([folder], out_b, rot, args))
                    batch.append(timed_batch(model, recordings, out_a, rot))
                same = same and same_outputs(out_a, out_b)
                shutil.rmtree(out_a)
                shutil.rmtree(out_b)
            single_s, _ = timed_infer(recordings[:1], Path(tmp) / "single", rot, args)
            shutil.rmtree(Path(tmp) / "single")

            def median(pairs: list[tuple[float, float]], k: int) -> float:
                return statistics.median(p[k] for p in pairs)

            rows.append(
                (
                    rot,
                    model.backend,
                    load_s,
                    median(batch, 0),
                    median(batch, 1),
                    median(infer, 0),
                    median(infer, 1),
                )
                + (single_s, same)
            )
        load_after = os.getloadavg()

    print()
    print(
        f"{args.files} FOA recordings of {args.seconds:.0f} s ({minutes:.1f} min of audio), bundled model, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, device {args.device}; median of "
        f"{args.repeat} round(s); load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    head = (
        f"{'rotations':>9} {'backend':>8} {'model load s':>12} {'batch s/min':>12} {'(CPU)':>7} "
        f"{'seld infer s/min':>16} {'(CPU)':>7} {'ratio':>6} {'per-file call s':>15} {'same CSVs':>9}"
    )
    print(head)
    print("-" * len(head))
    for rot, backend, load_s, batch_s, batch_cpu, infer_s, infer_cpu, single_s, same in rows:
        print(
            f"{rot:>9} {backend:>8} {load_s:>12.2f} {batch_s / minutes:>12.3f} {batch_cpu / minutes:>7.3f} "
            f"{infer_s / minutes:>16.3f} {infer_cpu / minutes:>7.3f} {infer_s / batch_s:>6.2f} {single_s:>15.2f} "
            f"{'yes' if same else 'NO':>9}"
        )
    print(
        "\nbatch s/min: run_batch in one process, the model opened once (its load apart); seld infer s/min: one "
        "`seld infer` process over the folder, start to exit; (CPU): CPU seconds of all threads per minute of "
        "audio; ratio: seld infer / batch, wall; per-file call s: one `seld infer` process on one "
        f"{args.seconds:.0f} s recording (what each file would cost as separate calls)."
    )


if __name__ == "__main__":
    main()
