"""Inference speed: one 60 s FOA recording through features + network + post-processing.

Runs in one process with 2 CPU threads (``torch.set_num_threads(2)``, onnxruntime
``intra_op_num_threads=2``) on the paper's CRNN at full size (random weights: the speed
does not depend on them). Writes a 60 s 16-bit FOA WAV into a temporary folder and prints,
as the median (and minimum) of ``--repeat`` interleaved rounds after a warm-up round, with
the ratio to torch eager measured in the same run:

* ``features``: reading the file and the DCASE 2020 features alone;
* per backend, the network alone on the 30 segments of 2 s, and the whole
  ``core.inference.predict.predict`` + ``prediction_to_table`` (the CLI's work per file):

  - ``torch eager``: ``torch.no_grad``, as trained;
  - ``torch inference_mode``: the same under ``torch.inference_mode`` (what ``LoadedModel.run`` does);
  - ``torch channels_last``: NHWC convolutions (oneDNN);
  - ``torch folded``: convolution + batch norm folded into one convolution, channels_last;
  - ``torch.compile``: inductor (only with ``--compile``; compiling takes a minute or more);
  - ``onnxruntime``: the exported ONNX model, all graph optimisations on.

Target: <= 0.25 s for the whole 60 s file. The network alone costs about 29 GFLOP per
minute of audio.

``--rotations 4 8 16`` also times the whole ``predict`` on onnxruntime with those test-time
rotation sets (``core.spatial.rotations``), with the ratio to no rotation measured in the same rounds.

``--long`` also writes a one-hour recording (~690 MB) and runs ``seld infer`` on it in a
fresh process (``--backend`` as given, default auto), printing the wall time and the peak
resident memory (``resource.getrusage``).

    python benchmarks/bench_inference.py [--repeat 7] [--threads 2] [--compile] [--rotations 4 8 16] [--long]
"""

from __future__ import annotations

import argparse
import copy
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.dsp.features import FeatureScaler, extract_features  # noqa: E402
from core.inference.predict import predict, prediction_to_table, single_threaded_blas  # noqa: E402
from core.labels.classes import DCASE2020  # noqa: E402
from core.nn.model import ConvBlock, build_model  # noqa: E402
from core.packages.onnx_export import OnnxModel, onnx_bytes  # noqa: E402
from core.packages.runtime import LoadedModel  # noqa: E402
from core.packages.schema import make_meta  # noqa: E402

TARGET_S = 0.25


def synthetic_scene(seconds: float, seed: int = 0) -> np.ndarray:
    """``(n, 4)`` float32: low noise with 40 tone bursts per minute at random gains per channel."""
    rng = np.random.default_rng(seed)
    n = int(24000 * seconds)
    x = (rng.standard_normal((n, 4)) * 0.003).astype(np.float32)
    t = np.arange(24000) / 24000
    for _ in range(int(40 * seconds / 60)):
        start = int(rng.integers(0, n - 24000))
        length = int(rng.integers(2400, 24000))
        burst = 0.2 * np.sin(2 * np.pi * rng.uniform(200, 4000) * t[:length]) * np.hanning(length)
        x[start : start + length] += rng.uniform(-1, 1, 4)[None, :] * burst[:, None].astype(np.float32)
    return np.clip(x, -1, 1)


def fold_conv_bn(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with each ConvBlock's batch norm folded into its convolution."""
    folded = copy.deepcopy(model).eval()
    for block in folded.modules():
        if isinstance(block, ConvBlock):
            conv, bn = block.conv, block.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            with torch.no_grad():
                conv.weight.mul_(scale[:, None, None, None])
                conv.bias.copy_((conv.bias - bn.running_mean) * scale + bn.bias)
            block.bn = nn.Identity()
    return folded


class ChannelsLast(nn.Module):
    """Runs the wrapped model on NHWC input."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.inner = model.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor):
        return self.inner(x.contiguous(memory_format=torch.channels_last))


class NoGrad(LoadedModel):
    """A LoadedModel that runs under ``torch.no_grad`` instead of ``inference_mode`` (plain eager)."""

    def run(self, batch: np.ndarray):
        with torch.no_grad():
            sed, doa = self.model(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
            return sed.numpy(), doa.numpy()


def features_only(path: Path) -> np.ndarray:
    """Read the file and extract its features, as ``predict`` does (BLAS on one thread)."""
    from core.io.audio import load_recording

    with single_threaded_blas():
        return extract_features(load_recording(path).samples, "foa")


def interleaved(tasks: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Seconds of each task over ``repeat`` rounds that run every task once (after one warm-up round).

    Interleaving spreads any load from other processes over all tasks alike.
    """
    for fn in tasks.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(repeat):
        for name, fn in tasks.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def run_long(folder: Path, backend: str, threads: int) -> None:
    path = folder / "foa_long" / "hour.wav"
    path.parent.mkdir()
    print("writing a one-hour FOA recording ...", flush=True)
    with sf.SoundFile(path, "w", samplerate=24000, channels=4, subtype="PCM_16") as fh:
        for minute in range(60):
            fh.write(synthetic_scene(60.0, seed=minute))
    print(f"  {path.stat().st_size / 1e6:.0f} MB; running seld infer ...", flush=True)
    code = (
        "import resource, sys, time\n"
        "t0 = time.perf_counter()\n"
        "from core.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(f'BENCH wall {time.perf_counter() - t0:.1f} s, peak RSS {peak / 1024:.0f} MiB, rc {rc}')\n"
    )
    argv = [sys.executable, "-c", code, "infer", str(path), "--model", str(folder / "model.safetensors")]
    argv += ["--out", str(folder / "out"), "--backend", backend, "--threads", str(threads), "--device", "cpu"]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "%" not in ln]
    print("\n".join("  " + ln for ln in lines[-4:]))
    print(f"  whole process wall time {wall:.1f} s (1 h of audio, {backend} backend, {threads} threads)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    parser.add_argument("--long", action="store_true", help="also run seld infer on a one-hour recording")
    parser.add_argument("--long-backend", default="auto", choices=("auto", "torch", "onnx"))
    parser.add_argument(
        "--rotations",
        type=int,
        nargs="*",
        default=[],
        choices=(4, 8, 16),
        help="also time test-time rotations",
    )
    parser.add_argument(
        "--only-rotations", action="store_true", help="time onnxruntime only (with --rotations)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "foa" / "minute.wav"
        path.parent.mkdir()
        sf.write(path, synthetic_scene(60.0), 24000, subtype="PCM_16")
        from core.io.audio import load_recording

        feats = extract_features(load_recording(path).samples, "foa")
        scaler = FeatureScaler().partial_fit(feats)
        model = build_model("crnn_attention").eval()
        meta = make_meta(model, fmt="foa", classes=DCASE2020, scaler=scaler)
        if args.long:
            from core.packages.package_file import save_package

            save_package(folder / "model.safetensors", model, meta)
        segs = np.ascontiguousarray(
            scaler.transform(feats).reshape(7, 30, 100, 64).transpose(1, 0, 2, 3), dtype=np.float32
        )

        backends: dict[str, object] = (
            {}
            if args.only_rotations
            else {
                "torch eager": NoGrad(model=model, meta=meta, scaler=scaler),
                "torch inference_mode": LoadedModel(model=model, meta=meta, scaler=scaler),
                "torch channels_last": LoadedModel(
                    model=ChannelsLast(copy.deepcopy(model)), meta=meta, scaler=scaler
                ),
                "torch folded+cl": LoadedModel(
                    model=ChannelsLast(fold_conv_bn(model)), meta=meta, scaler=scaler
                ),
            }
        )
        if args.compile:
            t0 = time.perf_counter()
            compiled = torch.compile(copy.deepcopy(model))
            with torch.inference_mode():
                compiled(torch.from_numpy(segs[:16]))
                compiled(torch.from_numpy(segs[16:]))
            print(f"torch.compile: first calls took {time.perf_counter() - t0:.1f} s")
            backends["torch.compile"] = LoadedModel(model=compiled, meta=meta, scaler=scaler)
        t0 = time.perf_counter()
        backends["onnxruntime"] = OnnxModel(onnx_bytes(model, meta=meta), device="cpu", threads=args.threads)
        print(f"ONNX export + session: {time.perf_counter() - t0:.2f} s")

        onnx = backends["onnxruntime"]
        reference = NoGrad(model=model, meta=meta, scaler=scaler).run(segs)
        tasks: dict[str, Callable[[], object]] = {"features (read + extract)": lambda: features_only(path)}
        for n in args.rotations:
            tasks[f"rotations {n}"] = lambda n=n: prediction_to_table(predict(onnx, path, rotations=n))
        for name, backend in backends.items():
            tasks[f"{name}|net"] = lambda b=backend: (b.run(segs[:16]), b.run(segs[16:]))
            tasks[f"{name}|all"] = lambda b=backend: prediction_to_table(predict(b, path))
        times = interleaved(tasks, args.repeat)
        feat = times["features (read + extract)"]
        print(
            f"\n60 s FOA recording, {args.threads} threads; median (min) of {args.repeat} interleaved rounds"
        )
        print(f"{'features (read + extract)':<24} {statistics.median(feat):7.3f}s ({min(feat):.3f})")
        print(
            f"{'backend':<24} {'network':>16} {'ratio':>6} {'whole predict':>16} {'ratio':>6} {'max |diff|':>10}"
        )
        first = next(iter(backends))
        base_net = statistics.median(times[f"{first}|net"])
        base_all = statistics.median(times[f"{first}|all"])
        for name, backend in backends.items():
            out = backend.run(segs)  # type: ignore[attr-defined]
            diff = max(float(np.abs(a - b).max()) for a, b in zip(out, reference, strict=True))
            net, whole = times[f"{name}|net"], times[f"{name}|all"]
            t_net, t_all = statistics.median(net), statistics.median(whole)
            flag = "  <= target" if t_all <= TARGET_S else ""
            print(
                f"{name:<24} {t_net:7.3f}s ({min(net):.3f}) {base_net / t_net:5.2f}x "
                f"{t_all:7.3f}s ({min(whole):.3f}) {base_all / t_all:5.2f}x {diff:10.1e}{flag}"
            )
        if args.rotations:
            plain = statistics.median(times["onnxruntime|all"])
            print(
                f"\ntest-time rotations, whole predict on onnxruntime (ratio to no rotation, {plain:.3f} s):"
            )
            for n in args.rotations:
                t = times[f"rotations {n}"]
                print(
                    f"{n:>3} rotations {statistics.median(t):7.3f}s ({min(t):.3f}) {statistics.median(t) / plain:5.2f}x"
                )
        usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(peak RSS of this benchmark process: {usage:.0f} MiB)")
        if args.long:
            print()
            run_long(folder, args.long_backend, args.threads)


if __name__ == "__main__":
    main()
