"""Training throughput of the paper's CRNN: steps/s and samples/s for batch 64 x T = 600.

Measures the full training step (forward, homogeneous MSE loss, backward, Adam) on random
normalised features, the way the trainer runs it, on the CPU (``--threads``) and on CUDA
when present (with and without bf16 autocast). Data loading is excluded (see the trainer's
loader); the figure is the network's ceiling.

    python benchmarks/bench_training.py [--batch 64] [--frames 600] [--steps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.nn.losses import seld_loss  # noqa: E402
from core.nn.model import SeldCRNN  # noqa: E402


def bench(device: str, batch: int, frames: int, steps: int, amp: bool) -> tuple[float, float]:
    torch.manual_seed(0)
    model = SeldCRNN(7, 14).to(device, memory_format=torch.channels_last).train()  # as the trainer
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    x = torch.randn(batch, 7, frames, 64, device=device).contiguous(memory_format=torch.channels_last)
    sed = (torch.rand(batch, frames // 5, 14, device=device) > 0.8).float()
    doa = torch.randn(batch, frames // 5, 42, device=device).clamp(-1, 1) * sed.repeat(1, 1, 3)

    def step() -> None:
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=amp):
            s, d = model(x)
        loss, _ = seld_loss(s, d, sed, doa)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    times = []
    for _ in range(steps):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    return 1.0 / t, batch / t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"training step, batch {args.batch} x T = {args.frames} (7 x {args.frames} x 64 FOA features), median of {args.steps}"
    )
    runs = [("cpu", False)]
    if torch.cuda.is_available():
        runs += [("cuda", False), ("cuda", True)]
    for device, amp in runs:
        steps_s, samples_s = bench(device, args.batch, args.frames, args.steps, amp)
        name = f"{device}{' bf16' if amp else ''}"
        extra = (
            f" ({torch.get_num_threads()} threads)"
            if device == "cpu"
            else f" ({torch.cuda.get_device_name()})"
        )
        print(f"{name:10} {steps_s:8.3f} steps/s {samples_s:9.1f} samples/s{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
