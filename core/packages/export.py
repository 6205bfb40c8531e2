"""Exporting a model: a package copied out of a run (with its chosen threshold), and its ONNX file.

:func:`export_package` writes a run's ``best.safetensors`` (or any package) to a file of the
user's, optionally with the detection threshold chosen on the validation folds
(:func:`core.inference.threshold.choose_threshold`) and what it was chosen on stored in its
metadata. :func:`export_onnx` is ``seld export-onnx``: the package's network as ONNX (opset 17,
the package metadata embedded), checked against torch on a random input *before* the file is
written. Both refuse to replace an existing file unless ``overwrite=True`` (a
:class:`~core.common.errors.SeldError` saying it exists), and write atomically: a reader sees
the old file or the new one, never a part.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.common.errors import ModelError, SeldError
from core.packages.onnx_export import DEFAULT_OPSET
from core.packages.schema import PackageMeta

__all__ = ["ONNX_TOLERANCE", "OnnxExport", "export_onnx", "export_package"]

ONNX_TOLERANCE = 1e-4
"""The largest difference between onnxruntime's outputs and torch's that an export may have."""


def _refuse_existing(path: Path, overwrite: bool, what: str) -> None:
    if path.is_dir():
        raise SeldError(f"is a folder; the {what} needs a file name", path)
    if path.exists() and not overwrite:
        raise SeldError(
            f"already exists; the {what} was not written (choose another name, or overwrite it)", path
        )
    if not path.parent.is_dir():
        raise SeldError(f"the folder {path.parent} does not exist", path)


def export_package(
    source: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    metrics: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> PackageMeta:
    """Write the package ``source`` (a run's ``best.safetensors``) to ``out_path``; returns the written metadata.

    ``threshold`` replaces the package's detection threshold (in (0, 1)); ``metrics`` is merged
    into the metadata's ``metrics`` (e.g. what the threshold was chosen on). The weights are
    written as they are (float32 or float16). ``out_path`` must end in ``.safetensors`` and
    must not exist unless ``overwrite`` (writing a package over itself needs it too).
    """
    from core.packages.package_file import read_layout, save_package
    from core.packages.runtime import load_package

    out = Path(out_path)
    if out.suffix.lower() != ".safetensors":
        raise SeldError("a model package file must end in .safetensors", out)
    _refuse_existing(out, overwrite, "model package")
    if threshold is not None and not 0.0 < float(threshold) < 1.0:
        raise SeldError(f"the detection threshold must be between 0 and 1, not {threshold}")
    loaded = load_package(source, device="cpu")
    meta = loaded.meta
    if threshold is not None:
        meta.threshold = float(threshold)
    if metrics:
        meta.metrics = {**(meta.metrics or {}), **metrics}
    header = read_layout(str(source)).header
    dtypes = {entry.get("dtype") for key, entry in header.items() if key != "__metadata__"}
    weights = "float16" if "F16" in dtypes and "F32" not in dtypes else "float32"  # as they were
    save_package(out, loaded.model, meta, weights=weights)
    return meta


@dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote: the file, the package's metadata, the opset, its size and the largest
    difference between onnxruntime's and torch's outputs on the check input."""

    path: Path
    meta: PackageMeta
    opset: int
    size_bytes: int
    max_abs_diff: float


def export_onnx(
    package_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    opset: int = DEFAULT_OPSET,
) -> OnnxExport:
    """``seld export-onnx``: the package's network as an ONNX file (see the module docstring).

    The export is run by onnxruntime and by torch on the same random input (2 x 300 frames);
    a difference over :data:`ONNX_TOLERANCE` is a :class:`ModelError` and nothing is written.
    ``out_path`` must end in ``.onnx`` and must not exist unless ``overwrite``.
    """
    import numpy as np

    from core.common.atomic import atomic_write_bytes
    from core.packages.onnx_export import OnnxModel, onnx_bytes
    from core.packages.runtime import load_package

    out = Path(out_path)
    if out.suffix.lower() != ".onnx":
        raise SeldError("the output file must end in .onnx", out)
    _refuse_existing(out, overwrite, "ONNX model")
    loaded = load_package(package_path, device="cpu")
    data = onnx_bytes(loaded, opset=opset)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, loaded.meta.in_channels, 300, 64)).astype(np.float32)
    ref = loaded.run(x)
    got = OnnxModel(data, device="cpu").run(x)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, got, strict=True))
    if not diff <= ONNX_TOLERANCE:
        raise ModelError(
            f"the exported model differs from torch by {diff:.2e} (more than {ONNX_TOLERANCE:g}); not written",
            out,
        )
    try:
        atomic_write_bytes(out, data)
    except OSError as err:
        raise ModelError(f"cannot write the ONNX model: {err.strerror or err}", out) from None
    return OnnxExport(out, loaded.meta, opset, len(data), diff)
