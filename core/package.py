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

Every problem is a :class:`~core.errors.ModelError` naming the file.
"""

from __future__ import annotations

import json
import os
import platform
import struct
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch
from torch import nn

from core.classes import ClassSet, custom, get_class_set, snake_id
from core.devices import resolve_device
from core.errors import ModelError, SeldError
from core.features import FEATURE_CHANNELS, FeatureScaler, FeatureSettings
from core.rotations import rotation_set

PACKAGE_KEY = "seld_studio_package"
"""Key of the safetensors header metadata entry that holds the package JSON."""

FORMAT_VERSION = 1
"""Package format version written by this SELD Studio (it reads versions 1 .. this)."""

_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
_REQUIRED = ("model_name", "model_args", "classes", "class_set", "fmt", "in_channels", "features", "scaler")


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

    ``model_args`` are the keyword arguments of :func:`core.model.build_model`;
    ``classes`` the class names in output order; ``fmt`` ``"foa"`` or ``"mic"``;
    ``features`` a :meth:`FeatureSettings.to_dict`; ``scaler`` a :meth:`FeatureScaler.to_dict`;
    ``training`` the training configuration and ``metrics`` the scores at the kept epoch
    (JSON objects or ``None``). ``rotations`` is the test-time rotation set inference uses
    by default (1: none; 4, 8 or 16 for FOA models, 4 or 8 for MIC, :mod:`core.rotations`).
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
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as err:
            raise ModelError(f"malformed SELD Studio metadata: not valid JSON ({err})", path) from None
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
            raise bad(f"'format_version' must be a positive integer, not {version!r}")
        if version > FORMAT_VERSION:
            raise ModelError(
                f"was written by a newer SELD Studio (package format {version}; this version reads "
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
            raise bad(f"'model_name' must be a non-empty string, not {name!r}")
        if not isinstance(args, dict):
            raise bad("'model_args' must be a JSON object")
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise bad("'classes' must be a non-empty list of class names")
        class_set = data["class_set"]
        if not isinstance(class_set, str):
            raise bad("'class_set' must be a string")
        fmt = data["fmt"]
        if fmt not in FEATURE_CHANNELS:
            raise bad(f"'fmt' must be 'foa' or 'mic', not {fmt!r}")
        channels = data["in_channels"]
        if channels != FEATURE_CHANNELS[fmt] or isinstance(channels, bool):
            raise bad(
                f"'in_channels' is {channels!r} but {fmt.upper()} features have {FEATURE_CHANNELS[fmt]}"
            )
        if args.get("in_channels", channels) != channels:
            raise bad(f"model_args in_channels {args['in_channels']!r} differs from in_channels {channels}")
        if args.get("n_classes", len(classes)) != len(classes):
            raise bad(
                f"model_args n_classes {args['n_classes']!r} differs from the {len(classes)} classes listed"
            )
        if not isinstance(data["features"], dict):
            raise bad("'features' must be a JSON object")
        try:
            FeatureSettings.from_dict(data["features"])
            scaler = FeatureScaler.from_dict(data["scaler"] if isinstance(data["scaler"], dict) else {})
        except SeldError as err:
            raise ModelError(f"malformed SELD Studio metadata: {err.problem}", path) from None
        n_mels = int(data["features"].get("n_mels", FeatureSettings().n_mels))
        if scaler.mean is not None and scaler.mean.shape != (channels, n_mels):
            raise bad(f"the scaler is for {scaler.mean.shape} features, not ({channels}, {n_mels})")
        threshold = data.get("threshold", 0.5)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
            raise bad(f"'threshold' must be a number between 0 and 1, not {threshold!r}")
        rotations = data.get("rotations", 1)
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
    """The :class:`PackageMeta` of a model built by :func:`core.model.build_model`.

    ``model`` must have ``name`` and ``config`` (constructor arguments) attributes, as
    :class:`core.model.SeldCRNN` has.
    """
    config = getattr(model, "config", None)
    name = getattr(model, "name", None)
    if not isinstance(config, dict) or not isinstance(name, str):
        raise ModelError("the model has no 'name' and 'config' (build it with core.model.build_model)")
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

    from core.atomic import atomic_write_bytes

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


def _kind_of(head: bytes) -> str | None:
    """A guess at what a non-safetensors file is, from its first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (such as a PyTorch checkpoint written by torch.save)"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (such as an old-style PyTorch checkpoint)"
    if head.startswith(b"\x08") and len(head) > 1 and head[1] < 16:
        return "possibly an ONNX model (open it with the ONNX backend)"
    if head.startswith((b"\x89HDF", b"\x93NUMPY")):
        return "an HDF5 or NumPy file"
    if head.strip() and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return None


def _read_header(path: str) -> dict[str, Any]:
    """The JSON header of a safetensors file, read without touching the tensor data."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            raw = fh.read(n) if 2 <= n <= min(_MAX_HEADER, size - 8) else b""
    except OSError as err:
        raise ModelError(f"cannot be read ({err.strerror or err})", path) from None
    header: Any = None
    if raw[:1] == b"{":
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            header = None
    if not isinstance(header, dict):
        kind = _kind_of(head + raw[:24] if raw else head)
        what = f"it looks like {kind}" if kind else "its first bytes are not a safetensors header"
        raise ModelError(
            f"is not a SELD Studio model package: a package is a .safetensors file, and {what}", path
        )
    return header


def read_package_meta(path: str | os.PathLike[str]) -> PackageMeta:
    """The :class:`PackageMeta` of a package, reading only the file's header."""
    p = _check_path(path)
    header = _read_header(p)
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or PACKAGE_KEY not in meta:
        raise ModelError(
            f"is a plain safetensors file without SELD Studio metadata (no {PACKAGE_KEY!r} entry in its "
            "header): it holds weights but not the model, classes, format and feature scaler needed to "
            "use them; train with SELD Studio or write it with core.package.save_package",
            p,
        )
    return PackageMeta.from_json(meta[PACKAGE_KEY], p)


def apply_weights(model: nn.Module, tensors: Mapping[str, torch.Tensor], path: str | None = None) -> None:
    """Load ``tensors`` into ``model`` strictly; a :class:`ModelError` names any key that does not fit."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    arch = f"{getattr(model, 'name', type(model).__name__)} as declared"
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]!r})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]!r})")
        raise ModelError(f"the weights do not match the architecture ({arch}): " + ", ".join(parts), path)
    for key, ref in expected.items():
        t = tensors[key]
        if tuple(t.shape) != tuple(ref.shape):
            raise ModelError(
                f"the weights do not match the architecture ({arch}): {key!r} has shape "
                f"{tuple(t.shape)} but the model needs {tuple(ref.shape)}",
                path,
            )
        if t.is_floating_point() != ref.is_floating_point():
            raise ModelError(f"weight {key!r} has dtype {t.dtype}, expected {ref.dtype}", path)
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelError(f"weight {key!r} contains NaN or infinite values", path)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()}, strict=True)


def build_from_meta(meta: PackageMeta, path: str | None = None) -> nn.Module:
    """A freshly initialised model of the architecture ``meta`` declares."""
    from core.model import MODELS, build_model

    if meta.model_name not in MODELS:
        raise ModelError(
            f"unknown model {meta.model_name!r} (this SELD Studio knows: {', '.join(sorted(MODELS))}); "
            "the package may need a newer version",
            path,
        )
    try:
        return build_model(meta.model_name, **meta.model_args)
    except (TypeError, ValueError) as err:
        raise ModelError(f"the model arguments do not fit {meta.model_name!r}: {err}", path) from None


@dataclass
class LoadedModel:
    """A package's model in eval mode, ready for inference, with its metadata and scaler.

    :meth:`run` is the backend-neutral interface that :mod:`core.inference` uses (the
    ONNX runtime wrapper :class:`core.onnx_export.OnnxModel` has the same one).
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

    meta = read_package_meta(path)
    p = os.fspath(path)
    try:
        tensors = load_file(p, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ModelError(f"is a damaged safetensors file: {err}", p) from None
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
