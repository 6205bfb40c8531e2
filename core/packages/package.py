"""Model packages: one ``.safetensors`` file holding the weights and everything needed to use them.

A package is a standard safetensors file (https://github.com/huggingface/safetensors):
the model's ``state_dict`` tensors (floating point ones stored as float32) and, in the
header's string metadata under the single key :data:`PACKAGE_KEY`, a JSON object
(:class:`PackageMeta`) with the model name and constructor arguments, the class list,
the recording format, the feature definition, the fitted feature scaler, the detection
threshold, the training configuration, the metrics at the kept epoch, library versions
and the creation time. ``docs/MODEL_PACKAGES.md`` describes the format.

Nothing here ever unpickles: packages are safetensors (plain bytes + JSON), and a user's
PyTorch ``.pt`` / ``.pth`` checkpoint is only opened through
``torch.load(weights_only=True)`` (:func:`load_torch_checkpoint`), which refuses any
pickled Python object other than tensors and plain containers.

Every problem is a :class:`~core.common.errors.ModelError` naming the file.
"""

from __future__ import annotations

import json
import math
import os
import platform
import reprlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch
from torch import nn

from core.common.errors import ModelError, SeldError, quote_field
from core.dsp.features import FEATURE_CHANNELS, FeatureScaler, FeatureSettings
from core.labels.classes import ClassSet, custom, get_class_set, snake_id
from core.packages.devices import resolve_device
from core.spatial.rotations import rotation_set

PACKAGE_KEY = "seld_studio_package"
"""Key of the safetensors header metadata entry that holds the package JSON."""

FORMAT_VERSION = 1
"""Package format version written by this SELD Studio (it reads versions 1 .. this)."""

_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
_REQUIRED = ("model_name", "model_args", "classes", "class_set", "fmt", "in_channels", "features", "scaler")

SCALER_MAX_ABS_MEAN = 1e3
"""Largest accepted ``|mean|`` of a package's feature scaler.

Every DCASE 2020 feature value lies within about ±100: log-mel levels between -100 dB (the
1e-10 power floor) and about +100 dB (the loudest accepted input, samples of ±1000, see
:data:`core.io.audio.MAX_SAMPLE_MAGNITUDE`), intensity vectors and GCC-PHAT within ±1. A mean
ten times beyond that cannot come from fitting features."""
SCALER_MAX_VAR = 1e6
"""Largest accepted scaler variance: values within ±100 have a variance of at most 1e4 (100x margin)."""
SCALER_MIN_VAR = 1e-12
"""Smallest accepted positive scaler variance (0 means "leave the band unscaled").

A standard deviation below 1e-6 is below the float32 resolution of the log-mel features it
would divide (about 1e-5 near 100 dB). With these three bounds a finite feature (within
±100) always normalises to a finite float32 value (at most about 1.1e9 in magnitude)."""


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 20
_REPR.maxlist = _REPR.maxdict = 4
_REPR.maxlevel = 2


def _show(value: object, limit: int = 40) -> str:
    """A user's value for a message, never long: strings via :func:`quote_field`, others abbreviated."""
    if isinstance(value, str):
        return quote_field(value, limit)
    if isinstance(value, BaseException):  # a library's message, unquoted, cut
        text = str(value).strip()
        return text if len(text) <= limit else text[:limit] + "…"
    text = _REPR.repr(value)
    return text if len(text) <= 2 * limit else text[: 2 * limit] + "…"


MAX_JSON_DEPTH = 64
"""Deepest nesting accepted in a header or the package JSON (a real package nests about 5 deep)."""


class _TooDeep(Exception):
    pass


def _json_loads(text: str) -> Any:
    """``json.loads`` that refuses (:class:`_TooDeep`) nesting beyond :data:`MAX_JSON_DEPTH`,
    whether the parser's own recursion limit is hit first or not (it differs between Pythons)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _TooDeep from None
    except json.JSONDecodeError:
        raise
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise json.JSONDecodeError(str(err).split(":")[0], text, 0) from None
    stack = [(value, 1)]
    while stack:  # iterative: no recursion however deep
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _TooDeep
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


def library_versions() -> dict[str, str]:
    """Versions of SELD Studio, torch, numpy and Python, recorded in every package."""
    from core import __version__

    return {
        "seld-studio": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class PackageMeta:
    """What a model package says about its model (the JSON in the safetensors header).

    ``model_args`` are the keyword arguments of :func:`core.nn.model.build_model`;
    ``classes`` the class names in output order; ``fmt`` ``"foa"`` or ``"mic"``;
    ``features`` a :meth:`FeatureSettings.to_dict`; ``scaler`` a :meth:`FeatureScaler.to_dict`;
    ``training`` the training configuration and ``metrics`` the scores at the kept epoch
    (JSON objects or ``None``). ``rotations`` is the test-time rotation set inference uses
    by default (1: none; 4, 8 or 16 for FOA models, 4 or 8 for MIC, :mod:`core.spatial.rotations`).
    """

    model_name: str
    model_args: dict[str, Any]
    classes: tuple[str, ...]
    class_set: str
    fmt: str
    in_channels: int
    features: dict[str, Any]
    scaler: dict[str, Any]
    threshold: float = 0.5
    rotations: int = 1
    training: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    versions: dict[str, str] = field(default_factory=library_versions)
    created: str = field(default_factory=_now)
    format_version: int = FORMAT_VERSION

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_set_obj(self) -> ClassSet:
        """The classes as a :class:`ClassSet` (the known set of that name when the names agree)."""
        try:
            known = get_class_set(self.class_set)
            if tuple(known.names) == tuple(self.classes):
                return known
        except SeldError:
            pass
        return custom(self.classes, self.class_set or "custom")

    def describe(self) -> str:
        """A short human description: ``"crnn_attention, 14 classes (dcase2020), FOA"``."""
        return f"{self.model_name}, {self.n_classes} classes ({self.class_set}), {self.fmt.upper()}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str, path: str | os.PathLike[str] | None = None) -> PackageMeta:
        """Parse and check the package JSON; :class:`ModelError` (naming ``path``) if malformed."""
        if not isinstance(text, str):
            raise ModelError(
                f"malformed SELD Studio metadata: a string is expected, not {type(text).__name__}", path
            )
        try:
            data = _json_loads(text)
        except json.JSONDecodeError as err:
            raise ModelError(
                f"malformed SELD Studio metadata: not valid JSON ({err.msg} at character {err.pos} of "
                f"{len(text)})",
                path,
            ) from None
        except _TooDeep:
            raise ModelError(
                f"malformed SELD Studio metadata: the JSON is nested too deeply (more than {MAX_JSON_DEPTH} levels)",
                path,
            ) from None
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Any, path: str | os.PathLike[str] | None = None) -> PackageMeta:
        """Check every field of a decoded package JSON object; :class:`ModelError` if malformed."""

        def bad(problem: str) -> ModelError:
            return ModelError(f"malformed SELD Studio metadata: {problem}", path)

        if not isinstance(data, dict):
            raise bad(f"expected a JSON object, found {type(data).__name__}")
        version = data.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise bad(f"'format_version' must be a positive integer, not {_show(version)}")
        if version > FORMAT_VERSION:
            raise ModelError(
                f"was written by a newer SELD Studio (package format {_show(version)}; this version reads "
                f"formats up to {FORMAT_VERSION}); update SELD Studio to use it",
                path,
            )
        missing = [k for k in _REQUIRED if k not in data]
        if missing:
            raise bad(
                "missing field" + ("s " if len(missing) > 1 else " ") + ", ".join(repr(k) for k in missing)
            )
        name, args, classes = data["model_name"], data["model_args"], data["classes"]
        if not isinstance(name, str) or not name:
            raise bad(f"'model_name' must be a non-empty string, not {_show(name)}")
        if not isinstance(args, dict):
            raise bad("'model_args' must be a JSON object")
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise bad("'classes' must be a non-empty list of class names")
        ids = [snake_id(c) for c in classes]
        if not all(ids):
            raise bad(f"class {ids.index('')} has an empty name")
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            dup = next(i for i, k in enumerate(ids) if k in seen or seen.add(k))
            raise bad(f"the class {_show(classes[dup])} is listed twice")
        class_set = data["class_set"]
        if not isinstance(class_set, str):
            raise bad("'class_set' must be a string")
        fmt = data["fmt"]
        if not isinstance(fmt, str) or fmt not in FEATURE_CHANNELS:
            raise bad(f"'fmt' must be 'foa' or 'mic', not {_show(fmt)}")
        channels = data["in_channels"]
        if isinstance(channels, bool) or not isinstance(channels, int) or channels != FEATURE_CHANNELS[fmt]:
            raise bad(
                f"'in_channels' is {_show(channels)} but {fmt.upper()} features have {FEATURE_CHANNELS[fmt]}"
            )
        if args.get("in_channels", channels) != channels:
            raise bad(
                f"model_args in_channels {_show(args['in_channels'])} differs from in_channels {channels}"
            )
        if args.get("n_classes", len(classes)) != len(classes):
            raise bad(
                f"model_args n_classes {_show(args['n_classes'])} differs from the {len(classes)} classes "
                "listed"
            )
        if not isinstance(data["features"], dict):
            raise bad("'features' must be a JSON object")
        defaults = FeatureSettings().to_dict()
        for key, value in data["features"].items():  # compared here so a message never echoes a huge value
            if key in defaults and (type(value) is not type(defaults[key]) or value != defaults[key]):
                raise bad(
                    f"unsupported feature settings: {key} is {_show(value)}; only the DCASE 2020 definition "
                    f"{defaults} is implemented"
                )
        try:
            FeatureSettings.from_dict(data["features"])
        except SeldError as err:
            raise ModelError(f"malformed SELD Studio metadata: {err.problem}", path) from None
        n_mels = FeatureSettings().n_mels  # from_dict accepts only the DCASE 2020 definition
        if args.get("n_mels", n_mels) != n_mels:
            raise bad(
                f"model_args n_mels {_show(args['n_mels'])} differs from the {n_mels} mel bands of the features"
            )
        _check_scaler(data["scaler"], (channels, n_mels), bad)
        threshold = data.get("threshold", 0.5)
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 < threshold < 1  # NaN fails too
        ):
            raise bad(f"'threshold' must be a number between 0 and 1, not {_show(threshold)}")
        rotations = data.get("rotations", 1)
        if not isinstance(rotations, int):  # (True is refused by rotation_set, naming the choices)
            raise bad(f"'rotations' must be an integer, not {_show(rotations)}")
        try:
            rotation_set(rotations, fmt)
        except SeldError as err:
            raise bad(f"'rotations': {err.problem}") from None
        for key in ("training", "metrics"):
            if data.get(key) is not None and not isinstance(data[key], dict):
                raise bad(f"{key!r} must be a JSON object or null")
        versions = data.get("versions", {})
        if not isinstance(versions, dict):
            raise bad("'versions' must be a JSON object")
        created = data.get("created", "")
        if not isinstance(created, str):
            raise bad("'created' must be a string")
        return cls(
            model_name=name,
            model_args=dict(args),
            classes=tuple(classes),
            class_set=class_set,
            fmt=fmt,
            in_channels=int(channels),
            features=dict(data["features"]),
            scaler=dict(data["scaler"]),
            threshold=float(threshold),
            rotations=int(rotations),
            training=data.get("training"),
            metrics=data.get("metrics"),
            versions={str(k): str(v) for k, v in versions.items()},
            created=created,
            format_version=version,
        )


def _number_grid(value: Any, key: str, shape: tuple[int, int], bad) -> np.ndarray:
    """A scaler's ``mean`` / ``var``: exactly ``shape`` nested lists of JSON numbers, as float64."""
    rows, cols = shape
    if (
        not isinstance(value, list)
        or len(value) != rows
        or not all(isinstance(row, list) and len(row) == cols for row in value)
    ):
        got = f"a list of {len(value)}" if isinstance(value, list) else f"a {type(value).__name__}"
        raise bad(
            f"the feature scaler's {key!r} must be {rows} lists of {cols} numbers (one per feature channel "
            f"and mel band), not {got}"
        )
    for r, row in enumerate(value):
        for c, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise bad(
                    f"the feature scaler's {key!r} holds {_show(v)} at channel {r + 1}, band {c + 1}; "
                    "numbers are expected"
                )
    return np.array(value, dtype=np.float64)  # ints beyond float64 become inf, refused next


def _check_scaler(scaler: Any, shape: tuple[int, int], bad) -> None:
    """Refuse a feature scaler that cannot normalise features into finite, meaningful values.

    ``mean`` and ``var`` must be ``shape`` grids of finite numbers with
    ``|mean| <= SCALER_MAX_ABS_MEAN`` and ``var`` 0 or within
    ``[SCALER_MIN_VAR, SCALER_MAX_VAR]``; ``count`` a positive integer.
    """
    if not isinstance(scaler, dict):
        raise bad("'scaler' must be a JSON object with 'mean', 'var' and 'count'")
    missing = [k for k in ("mean", "var", "count") if k not in scaler]
    if missing:
        raise bad("the feature scaler has no " + " and no ".join(repr(k) for k in missing))
    mean = _number_grid(scaler["mean"], "mean", shape, bad)
    var = _number_grid(scaler["var"], "var", shape, bad)
    limits = (
        f"a scaler needs finite values, |mean| <= {SCALER_MAX_ABS_MEAN:g} and var 0 or within "
        f"[{SCALER_MIN_VAR:g}, {SCALER_MAX_VAR:g}] (features lie within about ±100)"
    )
    for key, values, wrong in (
        ("mean", mean, ~(np.abs(mean) <= SCALER_MAX_ABS_MEAN)),
        ("var", var, ~((var == 0) | ((var >= SCALER_MIN_VAR) & (var <= SCALER_MAX_VAR)))),
    ):
        if wrong.any():
            r, c = (int(i) for i in np.argwhere(wrong)[0])
            v = float(values[r, c])
            what = "NaN" if v != v else ("an infinite value" if np.isinf(v) else f"{v:.4g}")
            raise bad(
                f"the feature scaler's {key!r} holds {what} at channel {r + 1}, band {c + 1} "
                f"({int(wrong.sum())} value{'s' if wrong.sum() != 1 else ''} out of range); {limits}"
            )
    count = scaler["count"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise bad(f"the feature scaler's 'count' must be a positive integer, not {_show(count)}")


def make_meta(
    model: nn.Module,
    *,
    fmt: str,
    classes: ClassSet | Sequence[str],
    scaler: FeatureScaler,
    class_set: str | None = None,
    threshold: float = 0.5,
    training: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> PackageMeta:
    """The :class:`PackageMeta` of a model built by :func:`core.nn.model.build_model`.

    ``model`` must have ``name`` and ``config`` (constructor arguments) attributes, as
    :class:`core.nn.model.SeldCRNN` has.
    """
    config = getattr(model, "config", None)
    name = getattr(model, "name", None)
    if not isinstance(config, dict) or not isinstance(name, str):
        raise ModelError("the model has no 'name' and 'config' (build it with core.nn.model.build_model)")
    if isinstance(classes, ClassSet):
        names, set_name = tuple(classes.names), classes.name
    else:
        names, set_name = tuple(str(c) for c in classes), "custom"
    meta = PackageMeta(
        model_name=name,
        model_args=json.loads(json.dumps(config)),
        classes=names,
        class_set=class_set or set_name,
        fmt=fmt,
        in_channels=FEATURE_CHANNELS.get(fmt, -1),
        features=FeatureSettings().to_dict(),
        scaler=scaler.to_dict(),
        threshold=float(threshold),
        training=dict(training) if training is not None else None,
        metrics=dict(metrics) if metrics is not None else None,
    )
    return PackageMeta.from_dict(meta.to_dict())  # the same checks as when loading


# --------------------------------------------------------------------------- writing


WEIGHT_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def _state_tensors(model: nn.Module, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
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
    from safetensors.torch import save

    from core.common.atomic import atomic_write_bytes

    checked = PackageMeta.from_dict(meta.to_dict(), path)
    if checked.model_name != getattr(model, "name", checked.model_name):
        raise ModelError(f"the metadata names model {checked.model_name!r} but the model is {model.name!r}")
    data = save(_state_tensors(model, WEIGHT_DTYPES[weights]), metadata={PACKAGE_KEY: checked.to_json()})
    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        raise ModelError(f"cannot write the model package: {err.strerror or err}", path) from None


# --------------------------------------------------------------------------- reading


def _check_path(path: str | os.PathLike[str]) -> str:
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


def _read_layout(path: str) -> _Layout:
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
        header = _json_loads(text)
    except json.JSONDecodeError as err:
        hint = " (is its header length field wrong?)" if err.pos >= len(text.rstrip()) else ""
        raise ModelError(
            f"is a damaged safetensors file: its {n}-byte header is not valid JSON ({err.msg} at character "
            f"{err.pos}){hint}",
            path,
        ) from None
    except _TooDeep:
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
    return _read_layout(path).header


def read_package_meta(path: str | os.PathLike[str]) -> PackageMeta:
    """The :class:`PackageMeta` of a package, reading only the file's header."""
    p = _check_path(path)
    return _meta_of(_read_layout(p).header, p)


def _meta_of(header: dict[str, Any], p: str) -> PackageMeta:
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or PACKAGE_KEY not in meta:
        raise ModelError(
            f"is a plain safetensors file without SELD Studio metadata (no {PACKAGE_KEY!r} entry in its "
            "header): it holds weights but not the model, classes, format and feature scaler needed to "
            "use them; train with SELD Studio or write it with core.packages.package.save_package",
            p,
        )
    return PackageMeta.from_json(meta[PACKAGE_KEY], p)


_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}  # fmt: skip
_FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})


def _tensor_table(layout: _Layout, path: str) -> dict[str, tuple[tuple[int, ...], bool]]:
    """``name -> (shape, is floating point)`` of every tensor the header lists, after checking
    that each lies inside the file and that together they fill the data section exactly."""
    table: dict[str, tuple[tuple[int, ...], bool]] = {}
    spans = []
    for name, entry in layout.header.items():
        if name == "__metadata__":
            continue
        where = f"tensor {_show(name)}"
        if not isinstance(entry, dict):
            raise ModelError(
                f"is a damaged safetensors file: the header entry of {where} is not an object", path
            )
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in _DTYPE_BYTES:
            raise ModelError(
                f"is a damaged safetensors file: {where} has the unknown dtype {_show(dtype)}", path
            )
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise ModelError(
                f"is a damaged safetensors file: {where} has the invalid shape {_show(shape)}", path
            )
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            raise ModelError(
                f"is a damaged safetensors file: {where} has invalid data_offsets {_show(offsets)}",
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
                f"byte {min(a, end)} of the data section (tensor {_show(name)})",
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


def _compare_to_architecture(
    expected: Mapping[str, tuple[tuple[int, ...], bool]],
    got: Mapping[str, tuple[tuple[int, ...], bool]],
    arch: str,
    path: str | None,
) -> None:
    """Names, shapes and kinds (floating point or not) of the tensors against the model's."""
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {_show(missing[0])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {_show(unexpected[0])})")
        raise ModelError(f"the weights do not match the architecture ({arch}): " + ", ".join(parts), path)
    for key, (shape, is_float) in expected.items():
        t_shape, t_float = got[key]
        if t_shape != shape:
            raise ModelError(
                f"the weights do not match the architecture ({arch}): {key!r} has shape "
                f"{t_shape} but the model needs {shape}",
                path,
            )
        if t_float != is_float:
            kind = "floating point" if is_float else "integer"
            raise ModelError(f"weight {key!r} has the wrong type: the model needs {kind} values", path)


def _signature(tensors: Mapping[str, torch.Tensor]) -> dict[str, tuple[tuple[int, ...], bool]]:
    return {k: (tuple(v.shape), v.is_floating_point()) for k, v in tensors.items()}


def apply_weights(model: nn.Module, tensors: Mapping[str, torch.Tensor], path: str | None = None) -> None:
    """Load ``tensors`` into ``model`` strictly; a :class:`ModelError` names any key that does not fit."""
    expected = model.state_dict()
    arch = f"{getattr(model, 'name', type(model).__name__)} as declared"
    _compare_to_architecture(_signature(expected), _signature(tensors), arch, path)
    for key in expected:
        t = tensors[key]
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelError(f"weight {key!r} contains NaN or infinite values", path)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()}, strict=True)


def build_from_meta(meta: PackageMeta, path: str | None = None) -> nn.Module:
    """A freshly initialised model of the architecture ``meta`` declares."""
    from core.nn.model import MODELS, build_model

    if meta.model_name not in MODELS:
        raise ModelError(
            f"unknown model {meta.model_name!r} (this SELD Studio knows: {', '.join(sorted(MODELS))}); "
            "the package may need a newer version",
            path,
        )
    try:
        return build_model(meta.model_name, **meta.model_args)
    except Exception as err:  # TypeError, ValueError, RuntimeError (negative sizes), OverflowError, ...
        raise ModelError(
            f"the model arguments do not fit {meta.model_name!r}: {_show(err, 200)}", path
        ) from None


@dataclass
class LoadedModel:
    """A package's model in eval mode, ready for inference, with its metadata and scaler.

    :meth:`run` is the backend-neutral interface that :mod:`core.inference.predict` uses (the
    ONNX runtime wrapper :class:`core.packages.onnx_export.OnnxModel` has the same one).
    """

    model: nn.Module
    meta: PackageMeta
    scaler: FeatureScaler
    path: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    backend = "torch"

    def to(self, device: str | torch.device | None) -> LoadedModel:
        """Move the model to ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ...); returns self."""
        self.device = resolve_device(device)
        self.model.to(self.device)
        return self

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised features ``(B, C, T, 64)`` float32 -> ``(sed (B, T/5, K), doa (B, T/5, 3K))``."""
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
            sed, doa = self.model(x)
            return sed.float().cpu().numpy(), doa.float().cpu().numpy()


def load_package(path: str | os.PathLike[str], device: str | torch.device | None = "cpu") -> LoadedModel:
    """Read a package: the model (eval mode, on ``device``), its metadata and its scaler."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = _check_path(path)
    layout = _read_layout(p)
    meta = _meta_of(layout.header, p)
    table = _tensor_table(layout, p)
    # the declared architecture is checked against the file's tensors on the meta device (no
    # memory), so constructor arguments claiming a huge model allocate nothing; the real model
    # is then no larger than the tensors the file really holds
    with torch.device("meta"):
        skeleton = build_from_meta(meta, p)
    _compare_to_architecture(_signature(skeleton.state_dict()), table, f"{meta.model_name} as declared", p)
    del skeleton
    try:
        tensors = load_file(p, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ModelError(f"is a damaged safetensors file: {_show(err, 300)}", p) from None
    model = build_from_meta(meta, p)
    apply_weights(model, tensors, p)
    model.eval()
    loaded = LoadedModel(model=model, meta=meta, scaler=FeatureScaler.from_dict(meta.scaler), path=p)
    return loaded.to(device)


# --------------------------------------------------------------------------- compatibility


def _class_names(classes: ClassSet | str | Sequence[str]) -> tuple[tuple[str, ...], str]:
    if isinstance(classes, ClassSet):
        return tuple(classes.names), classes.name
    if isinstance(classes, str):
        cs = get_class_set(classes)
        return tuple(cs.names), cs.name
    return tuple(str(c) for c in classes), "the data's list"


def check_compatible(
    meta: PackageMeta,
    fmt: str | None = None,
    n_channels: int | None = None,
    classes: ClassSet | str | Sequence[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
) -> None:
    """Raise :class:`ModelError` (naming ``path``) when the model cannot be used on this data.

    ``fmt`` is the recording format, ``n_channels`` the number of feature channels of the
    data, ``classes`` the data's class set (a :class:`ClassSet`, its name or the names).
    """
    where = f"the model ({meta.describe()})"
    if fmt is not None and fmt != meta.fmt:
        raise ModelError(
            f"{where} was trained on {meta.fmt.upper()} recordings ({meta.in_channels} input channels) "
            f"but this recording is {fmt.upper()}",
            path,
        )
    if n_channels is not None and n_channels != meta.in_channels:
        raise ModelError(
            f"{where} takes {meta.in_channels} input feature channels but the data has {n_channels}", path
        )
    if classes is None:
        return
    names, label = _class_names(classes)
    mine = [snake_id(c) for c in meta.classes]
    theirs = [snake_id(c) for c in names]
    if mine == theirs:
        return
    only_model = [c for c, k in zip(meta.classes, mine, strict=True) if k not in theirs]
    only_data = [c for c, k in zip(names, theirs, strict=True) if k not in mine]
    if not only_model and not only_data:
        i = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b)
        raise ModelError(
            f"{where} has the classes of {label} in a different order: class {i} is "
            f"{meta.classes[i]!r} in the model but {names[i]!r} in the data",
            path,
        )
    parts = []
    if only_model:
        parts.append("only in the model: " + ", ".join(repr(c) for c in only_model))
    if only_data:
        parts.append("only in the data: " + ", ".join(repr(c) for c in only_data))
    raise ModelError(
        f"class list mismatch: {where} does not know the classes of {label} ({len(names)} classes); "
        + "; ".join(parts),
        path,
    )


# --------------------------------------------------------------------------- user checkpoints

_STATE_KEYS = ("state_dict", "model_state_dict", "model", "weights")


def load_torch_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of a PyTorch ``.pt`` / ``.pth`` checkpoint, loaded without unpickling code.

    Goes only through ``torch.load(path, weights_only=True, map_location="cpu")``; a file
    holding any other pickled Python object is refused with a :class:`ModelError`. Accepts
    a state dict or a dict holding one under ``state_dict`` / ``model_state_dict`` /
    ``model`` / ``weights``; a ``module.`` prefix (DataParallel) is removed.
    """
    p = _check_path(path)
    try:
        obj = torch.load(p, weights_only=True, map_location="cpu")
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, struct.error) as err:
        raise ModelError(f"is not a readable PyTorch checkpoint ({type(err).__name__}: {err})", p) from None
    except Exception:  # the weights-only loader refused a pickled object (UnpicklingError)
        raise ModelError(
            "refused: the file contains pickled Python objects, which SELD Studio never unpickles "
            "(unpickling can run arbitrary code); export the weights as safetensors "
            "(safetensors.torch.save_file(model.state_dict(), 'weights.safetensors'))",
            p,
        ) from None
    state: Any = obj
    if isinstance(obj, dict) and not _all_tensors(obj):
        state = next((obj[k] for k in _STATE_KEYS if isinstance(obj.get(k), dict)), None)
    if not isinstance(state, dict) or not state or not _all_tensors(state):
        raise ModelError("holds no state dict (a mapping of names to tensors)", p)
    prefix = "module."
    if all(k.startswith(prefix) for k in state):
        state = {k[len(prefix) :]: v for k, v in state.items()}
    return dict(state)


def _all_tensors(d: dict) -> bool:
    return all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in d.items())


def package_fields() -> tuple[str, ...]:
    """Names of the :class:`PackageMeta` fields, in order (for documentation and tests)."""
    return tuple(f.name for f in fields(PackageMeta))


__all__ = [
    "FORMAT_VERSION",
    "PACKAGE_KEY",
    "LoadedModel",
    "PackageMeta",
    "apply_weights",
    "build_from_meta",
    "check_compatible",
    "library_versions",
    "load_package",
    "load_torch_checkpoint",
    "make_meta",
    "package_fields",
    "read_package_meta",
    "save_package",
]
