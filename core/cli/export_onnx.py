"""``seld export-onnx --model PACKAGE --out model.onnx``: a self-describing ONNX model of a package."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-onnx",
        help="export a model package to ONNX (for onnxruntime and other runtimes)",
        description="Export the network of a model package to ONNX (opset 17, legacy TorchScript exporter) "
        "with dynamic batch and time axes: input 'features' (batch, channels, frames, 64) of normalised "
        "features, outputs 'sed' (batch, frames/5, classes) and 'doa' (batch, frames/5, 3 x classes). The "
        "package metadata (classes, format, feature scaler, threshold) is embedded in the file's "
        "metadata_props, so `seld infer --model model.onnx` can use it alone. The export is checked against "
        "torch on a random input before the file is written; an existing file is replaced only with "
        "--overwrite.",
    )
    p.add_argument(
        "--model", type=Path, required=True, metavar="PACKAGE", help="model package (.safetensors)"
    )
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="output .onnx file")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists (default: refuse)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.packages.export import export_onnx

    done = export_onnx(args.model, args.out, overwrite=args.overwrite, opset=args.opset)
    print(
        f"{done.path}: {done.meta.describe()}, opset {done.opset}, {done.size_bytes / 1e6:.1f} MB; "
        f"onnxruntime vs torch max abs difference {done.max_abs_diff:.1e}",
        file=sys.stderr,
    )
    return 0
