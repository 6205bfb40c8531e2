"""Average the weights of several snapshots of one training run into one package.

Weight averaging of checkpoints from the flat, constant-learning-rate part of one run (as in
stochastic weight averaging, Izmailov et al. 2018) often generalises better than any single
snapshot. The snapshots must be of the same run (same architecture, features and scaler);
the result keeps the metadata of the last one given. Floating-point tensors, the batch-norm
running statistics among them, are averaged; integer ones (``num_batches_tracked``) come
from the last snapshot. Whether the average is shipped is decided on validation data like
any snapshot (``ship.py --checkpoint``).

    python experiments/bundled_models/average_snapshots.py --out /work/runs/foa_v2c/avg.safetensors \\
        /work/runs/foa_v2c/snap_310.safetensors /work/runs/foa_v2c/snap_372.safetensors ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.packages.package_file import save_package  # noqa: E402
from core.packages.runtime import load_package  # noqa: E402


def average(paths: list[Path], out: Path) -> None:
    loaded = [load_package(p) for p in paths]
    last = loaded[-1]
    for other, path in zip(loaded, paths, strict=True):
        if other.meta.model_name != last.meta.model_name or other.meta.scaler != last.meta.scaler:
            raise SystemExit(
                f"{path}: not a snapshot of the same run as {paths[-1]} (model or scaler differs)"
            )
    states = [m.model.state_dict() for m in loaded]
    merged = {}
    for key, value in states[-1].items():
        if value.is_floating_point():
            merged[key] = sum(s[key].double() for s in states) / len(states)
            merged[key] = merged[key].to(value.dtype)
        else:
            merged[key] = value
    last.model.load_state_dict(merged)
    save_package(out, last.model, last.meta)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("snapshots", type=Path, nargs="+")
    args = p.parse_args()
    if len(args.snapshots) < 2:
        raise SystemExit("give at least two snapshots")
    average(args.snapshots, args.out)
    print(f"wrote the average of {len(args.snapshots)} snapshots to {args.out}")


if __name__ == "__main__":
    main()
