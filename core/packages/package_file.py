"""Writing and reading package files: the safetensors header, the metadata, the tensor table.

The header is read and checked by hand before safetensors sees the file (its length field,
its JSON, every tensor's dtype, shape and byte range), so a damaged file is named for what
is wrong with it and nothing is allocated by what it claims. Writing is atomic. Nothing here
ever unpickles."""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.common.errors import ModelError
from core.packages.schema import (
    MAX_JSON_DEPTH,
    PACKAGE_KEY,
    JsonTooDeep,
    PackageMeta,
    json_loads_bounded,
    show_value,
)

if TYPE_CHECKING:  # torch is needed to write a package, not to read its header
    import torch
    from torch import nn

_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


# --------------------------------------------------------------------------- writing


WEIGHT_DTYPES = ("float32", "float16")
"""The weight types a package may be written with (:func:`save_package`)."""


def _state_tensors(model: nn.Module, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in model.state_dict().items():
        t = value.detach().to("cpu")
        if t.is_floating_point():
            t = t.to(dtype)
        out[key] = t.contiguous()
    return out


def save_package(
    path: str | os.PathLike[str], model: nn.Module, meta: PackageMeta, weights: str = "float32"
) -> None:
    """Write ``model``'s weights and ``meta`` as one safetensors package, atomically.

    ``weights="float16"`` halves the file (bundled models); loading casts back to float32,
    so such a package runs exactly like a float32 one holding the rounded weights.
    """
    if weights not in WEIGHT_DTYPES:
        raise ModelError(f"weights must be one of {', '.join(WEIGHT_DTYPES)}, not {weights!r}")
    import torch
    from safetensors.torch import save

    from core.common.atomic import atomic_write_bytes

    checked = PackageMeta.from_dict(meta.to_dict(), path)
    if checked.model_name != getattr(model, "name", checked.model_name):
        raise ModelError(f"the metadata names model {checked.model_name!r} but the model is {model.name!r}")
    data = save(_state_tensors(model, getattr(torch, weights)), metadata={PACKAGE_KEY: checked.to_json()})
    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        raise ModelError(f"cannot write the model package: {err.strerror or err}", path) from None


# --------------------------------------------------------------------------- reading


def check_path(path: str | os.PathLike[str]) -> str:
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ModelError("model file not found", p)
    if os.path.isdir(p):
        raise ModelError("is a folder, not a model file", p)
    return p


_ONNX_SECOND_FIELDS = frozenset(b"\x12\x1a\x22\x28\x32\x3a\x42\x72")
"""Protobuf tags that follow ``ir_version`` in an ONNX ModelProto: producer name / version,
domain, model version, doc string, graph, opset import, metadata."""


def _looks_like_onnx(head: bytes, path: str) -> bool:
    """An ``.onnx`` name, or the first bytes of an ONNX ModelProto (``ir_version`` 1-31, then a known field)."""
    if path.lower().endswith(".onnx"):
        return True
    return len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] < 32 and head[2] in _ONNX_SECOND_FIELDS


def _kind_of(head: bytes, path: str = "") -> str | None:
    """A guess at what a non-safetensors file is, from its first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (such as a PyTorch checkpoint written by torch.save)"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (such as an old-style PyTorch checkpoint)"
    if _looks_like_onnx(head, path):
        return "an ONNX model (pass it as a .onnx file; it runs with the ONNX backend)"
    if head.startswith((b"\x89HDF", b"\x93NUMPY")):
        return "an HDF5 or NumPy file"
    if head.strip() and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return None


@dataclass(frozen=True)
class _Layout:
    """Where a safetensors file's parts lie: the header, and the data section after it."""

    header: dict[str, Any]
    data_start: int
    data_len: int


def _not_a_package(head: bytes, path: str, size: int) -> ModelError:
    kind = _kind_of(head, path)
    short = f"; the file has only {size} bytes" if size < 9 else ""
    what = (
        f"it looks like {kind}"
        if kind
        else f"its first bytes are not a safetensors header (an 8-byte length, then a JSON object{short})"
    )
    return ModelError(
        f"is not a SELD Studio model package: a package is a .safetensors file, and {what}", path
    )


def read_layout(path: str) -> _Layout:
    """The JSON header of a safetensors file and the extent of its data, without reading the data.

    The 8-byte little-endian header length is checked against the file before anything is
    read by it; a header that is not JSON is reported as such (and the file is called
    something else only when its first bytes say so).
    """
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(8 + 32)
            if len(head) < 9 or head[8:9] != b"{":
                raise _not_a_package(head, path, size)
            n = struct.unpack("<Q", head[:8])[0]
            if n > size - 8:
                raise ModelError(
                    f"is a damaged safetensors file: its header length field says {n} bytes but only "
                    f"{size - 8} bytes follow it (a corrupted length, or a truncated file)",
                    path,
                )
            if n > _MAX_HEADER:
                raise ModelError(
                    f"is a damaged safetensors file: its header length field says {n} bytes, more than the "
                    f"{_MAX_HEADER // (1024 * 1024)} MB safetensors allows",
                    path,
                )
            fh.seek(8)
            raw = fh.read(n)
    except OSError as err:
        raise ModelError(f"cannot be read ({err.strerror or err})", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelError(
            f"is a damaged safetensors file: its {n}-byte header is not UTF-8 text (byte {err.start})", path
        ) from None
    try:
        header = json_loads_bounded(text)
    except json.JSONDecodeError as err:
        hint = " (is its header length field wrong?)" if err.pos >= len(text.rstrip()) else ""
        raise ModelError(
            f"is a damaged safetensors file: its {n}-byte header is not valid JSON ({err.msg} at character "
            f"{err.pos}){hint}",
            path,
        ) from None
    except JsonTooDeep:
        raise ModelError(
            f"is a damaged safetensors file: its header JSON is nested too deeply (more than {MAX_JSON_DEPTH} levels)",
            path,
        ) from None
    if not isinstance(header, dict):
        raise ModelError(
            f"is a damaged safetensors file: its header is a JSON {type(header).__name__}, not an object",
            path,
        )
    return _Layout(header=header, data_start=8 + n, data_len=size - 8 - n)


def _read_header(path: str) -> dict[str, Any]:
    """The JSON header of a safetensors file, read without touching the tensor data."""
    return read_layout(path).header


def read_package_meta(path: str | os.PathLike[str]) -> PackageMeta:
    """The :class:`PackageMeta` of a package, reading only the file's header."""
    p = check_path(path)
    return meta_of_header(read_layout(p).header, p)


def meta_of_header(header: dict[str, Any], p: str) -> PackageMeta:
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or PACKAGE_KEY not in meta:
        raise ModelError(
            f"is a plain safetensors file without SELD Studio metadata (no {PACKAGE_KEY!r} entry in its "
            "header): it holds weights but not the model, classes, format and feature scaler needed to "
            "use them; train with SELD Studio or write it with core.packages.package_file.save_package",
            p,
        )
    return PackageMeta.from_json(meta[PACKAGE_KEY], p)


_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}  # fmt: skip
_FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})


def tensor_table(layout: _Layout, path: str) -> dict[str, tuple[tuple[int, ...], bool]]:
    """``name -> (shape, is floating point)`` of every tensor the header lists, after checking
    that each lies inside the file and that together they fill the data section exactly."""
    table: dict[str, tuple[tuple[int, ...], bool]] = {}
    spans = []
    for name, entry in layout.header.items():
        if name == "__metadata__":
            continue
        where = f"tensor {show_value(name)}"
        if not isinstance(entry, dict):
            raise ModelError(
                f"is a damaged safetensors file: the header entry of {where} is not an object", path
            )
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in _DTYPE_BYTES:
            raise ModelError(
                f"is a damaged safetensors file: {where} has the unknown dtype {show_value(dtype)}", path
            )
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise ModelError(
                f"is a damaged safetensors file: {where} has the invalid shape {show_value(shape)}", path
            )
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            raise ModelError(
                f"is a damaged safetensors file: {where} has invalid data_offsets {show_value(offsets)}",
                path,
            )
        a, b = offsets
        if not 0 <= a <= b <= layout.data_len:
            raise ModelError(
                f"is a damaged safetensors file: {where} lies at bytes {a}..{b} of the data section, which has "
                f"only {layout.data_len} bytes (a truncated file or a corrupted header)",
                path,
            )
        needed = math.prod(shape) * _DTYPE_BYTES[dtype]
        if b - a != needed:
            raise ModelError(
                f"is a damaged safetensors file: {where} of shape {tuple(shape)} ({dtype}) needs {needed} bytes "
                f"but the header gives it {b - a}",
                path,
            )
        table[name] = (tuple(shape), dtype in _FLOAT_DTYPES)
        spans.append((a, b, name))
    end = 0
    for a, b, name in sorted(spans):
        if a != end:
            raise ModelError(
                f"is a damaged safetensors file: the tensors' bytes {'overlap' if a < end else 'leave a gap'} at "
                f"byte {min(a, end)} of the data section (tensor {show_value(name)})",
                path,
            )
        end = b
    if end != layout.data_len:
        raise ModelError(
            f"is a damaged safetensors file: its tensors fill {end} bytes but the data section has "
            f"{layout.data_len}",
            path,
        )
    return table
