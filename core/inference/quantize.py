"""An int8 ONNX graph of a model package: onnxruntime static quantization, calibrated on recordings.

:func:`quantize_package` takes the package's fp32 graph (:mod:`core.packages.onnx_cache`),
runs it on the normalised 2 s segments of calibration recordings to find each activation's
range (``quantize_static``, MinMax calibration) and writes a QDQ graph with int8 weights
(per output channel) and uint8 activations for the convolutions and matrix products (the
GRU and the output layers stay fp32). The package metadata stays embedded, so the result is
an ``.onnx`` model that ``seld infer --model`` and the app open like any exported one.

Calibrate on *training* material (synthetic scenes, ``seld synth``), never on the data the
result is scored on. The int8 graph is not a default anywhere: ``benchmarks/bench_speed.py``
measures its speed and its SELD error against fp32 (docs/results.md, "Speed").
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from core.common.errors import ModelError

OP_TYPES = ("Conv", "MatMul", "Gemm")
"""The operators quantized; everything else runs in fp32."""


def calibration_batches(
    package: str | os.PathLike[str],
    recordings: Sequence[str | os.PathLike[str]],
    *,
    max_segments: int = 64,
    batch_segments: int = 8,
) -> Iterator[np.ndarray]:
    """Normalised segment batches ``(B, C, 100, 64)`` of ``recordings``, as inference feeds them."""
    from core.dsp.features import FeatureScaler
    from core.inference.predict import _segment_batches, file_features
    from core.packages.package_file import read_package_meta

    meta = read_package_meta(package)
    scaler = FeatureScaler.from_dict(meta.scaler)
    segments = []
    for rec in recordings:
        segments.append(_segment_batches(scaler.transform(file_features(rec, meta.fmt))))
    if not segments:
        raise ModelError("no calibration recordings", os.fspath(package))
    x = np.concatenate(segments)[:max_segments]
    for b0 in range(0, x.shape[0], batch_segments):
        yield np.ascontiguousarray(x[b0 : b0 + batch_segments], dtype=np.float32)


def quantize_package(
    package: str | os.PathLike[str],
    recordings: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    max_segments: int = 64,
) -> Path:
    """Write the int8 ONNX graph of ``package`` calibrated on ``recordings`` to ``out_path`` (atomically)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from core.common.atomic import atomic_write_bytes
    from core.packages.onnx_cache import cached_onnx_bytes
    from core.packages.onnx_export import INPUT_NAME

    graph, _ = cached_onnx_bytes(package)
    batches = list(calibration_batches(package, recordings, max_segments=max_segments))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._it, None)
            return None if batch is None else {INPUT_NAME: batch}

    with tempfile.TemporaryDirectory(prefix="seld-quant-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        prep = Path(tmp) / "prep.onnx"
        int8 = Path(tmp) / "int8.onnx"
        fp32.write_bytes(graph)
        quant_pre_process(str(fp32), str(prep), skip_symbolic_shape=True)
        quantize_static(
            str(prep),
            str(int8),
            Reader(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(OP_TYPES),
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        atomic_write_bytes(out_path, _with_metadata(int8.read_bytes(), graph))
    return Path(out_path)


def _with_metadata(quantized: bytes, original: bytes) -> bytes:
    """The quantized graph with the original's ``metadata_props`` (the package metadata) kept."""
    import onnx

    q = onnx.load_model_from_string(quantized)
    o = onnx.load_model_from_string(original)
    have = {p.key for p in q.metadata_props}
    for prop in o.metadata_props:
        if prop.key not in have:
            entry = q.metadata_props.add()
            entry.key, entry.value = prop.key, prop.value
    entry = q.metadata_props.add()
    entry.key, entry.value = "seld_studio_quantized", "int8 static (QDQ, per-channel weights, MinMax)"
    return q.SerializeToString()
