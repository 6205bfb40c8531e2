"""Export the bundled models' ONNX graphs for a desktop bundle (``make package`` runs this).

    build/bundle-venv/bin/python packaging/export_shipped_onnx.py build/shipped-onnx

For each bundled model package (``seld_resources/models/*.safetensors``, as installed in the
Python that runs this), the graph is exported with torch, checked against torch on a random
input (the tolerance of ``seld export-onnx``) and written to OUT as an entry of the user's ONNX
cache, in its layout and under its name (:func:`core.packages.onnx_cache.entry_path`: the
package's sha256, the opset, the cache layout version and the SELD Studio version). The
PyInstaller spec puts those entries beside the packages in the bundle, where
:func:`core.packages.onnx_cache.open_cached_onnx` finds them first: the bundled models run
with onnxruntime alone, without torch (and so in the lean bundle too). OUT is emptied first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="the folder to write the entries to (emptied first)")
    args = p.parse_args(argv)

    import numpy as np

    from core import __version__
    from core.io.resources import MODEL_FILES, bundled_model_path
    from core.packages import onnx_cache
    from core.packages.export import ONNX_TOLERANCE
    from core.packages.onnx_export import OnnxModel, onnx_bytes
    from core.packages.runtime import load_package

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"*{onnx_cache.SUFFIX}"):
        old.unlink()
    written = 0
    for fmt in MODEL_FILES:
        package = bundled_model_path(fmt)
        if package is None:
            print(f"export_shipped_onnx: no bundled {fmt.upper()} model installed; skipped")
            continue
        t0 = time.monotonic()
        digest = onnx_cache.package_digest(package)
        loaded = load_package(package, device="cpu")
        graph = onnx_bytes(loaded)
        x = np.random.default_rng(0).standard_normal((2, loaded.meta.in_channels, 300, 64)).astype(np.float32)
        ref = loaded.run(x)
        got = OnnxModel(graph, device="cpu").run(x)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, got, strict=True))
        if not diff <= ONNX_TOLERANCE:
            print(
                f"export_shipped_onnx: {package.name}: onnxruntime differs from torch by {diff:.2e}",
                file=sys.stderr,
            )
            return 1
        entry = onnx_cache.entry_path(digest, folder=out)
        entry.write_bytes(onnx_cache._pack(graph))
        if onnx_cache._read_entry(entry) != graph:
            print(f"export_shipped_onnx: {entry}: did not read back whole", file=sys.stderr)
            return 1
        written += 1
        print(
            f"export_shipped_onnx: {package.name} -> {entry.name} ({entry.stat().st_size / 1e6:.1f} MB, "
            f"max |onnx - torch| {diff:.1e}, {time.monotonic() - t0:.1f} s)"
        )
    if not written:
        print("export_shipped_onnx: no bundled model to export", file=sys.stderr)
        return 1
    print(f"export_shipped_onnx: {written} graph(s) for SELD Studio {__version__} in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
