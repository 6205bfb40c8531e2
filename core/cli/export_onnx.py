"""``seld export-onnx --model PACKAGE --out model.onnx``: a self-describing ONNX model of a package."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.common.errors import SeldError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-onnx",
        help="export a model package to ONNX (for onnxruntime and other runtimes)",
        description="Export the network of a model package to ONNX (opset 17, legacy TorchScript exporter) "
        "with dynamic batch and time axes: input 'features' (batch, channels, frames, 64) of normalised "
        "features, outputs 'sed' (batch, frames/5, classes) and 'doa' (batch, frames/5, 3 x classes). The "
        "package metadata (classes, format, feature scaler, threshold) is embedded in the file's "
        "metadata_props, so `seld infer --model model.onnx` can use it alone. The export is checked against "
        "torch on a random input.",
    )
    p.add_argument(
        "--model", type=Path, required=True, metavar="PACKAGE", help="model package (.safetensors)"
    )
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="output .onnx file")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from core.packages.onnx_export import OnnxModel, export_onnx
    from core.packages.runtime import load_package

    if args.out.suffix.lower() != ".onnx":
        raise SeldError("the output file must end in .onnx", args.out)
    loaded = load_package(args.model, device="cpu")
    export_onnx(loaded, args.out, opset=args.opset)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, loaded.meta.in_channels, 300, 64)).astype(np.float32)
    ref = loaded.run(x)
    got = OnnxModel(args.out, device="cpu").run(x)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, got, strict=True))
    if not diff <= 1e-4:
        raise SeldError(f"the exported model differs from torch by {diff:.2e} (more than 1e-4)", args.out)
    size_mb = args.out.stat().st_size / 1e6
    print(
        f"{args.out}: {loaded.meta.describe()}, opset {args.opset}, {size_mb:.1f} MB; "
        f"onnxruntime vs torch max abs difference {diff:.1e}",
        file=sys.stderr,
    )
    return 0
