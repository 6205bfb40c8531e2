"""The model package's metadata: what a package says about its model (:class:`PackageMeta`).

A package is a standard safetensors file (https://github.com/huggingface/safetensors): the
model's ``state_dict`` tensors and, in the header's string metadata under the single key
:data:`PACKAGE_KEY`, a JSON object (:class:`PackageMeta`) with the model name and
constructor arguments, the class list, the recording format, the feature definition, the
fitted feature scaler, the detection threshold, the training configuration, the metrics at
the kept epoch, library versions and the creation time. ``docs/MODEL_PACKAGES.md``
describes the format. This module validates that JSON (every field, the scaler's values)
and checks a package against data (:func:`check_compatible`). Every problem is a
:class:`~core.common.errors.ModelError` naming the file."""

from __future__ import annotations

import json
import os
import platform
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from core.common.errors import ModelError, SeldError, quote_field
from core.dsp.features import FEATURE_CHANNELS, FeatureScaler, FeatureSettings
from core.labels.classes import ClassSet, custom, get_class_set, snake_id
from core.spatial.rotations import rotation_set

if TYPE_CHECKING:  # torch is imported only where a model is built or exported (not to run ONNX)
    from torch import nn

PACKAGE_KEY = "seld_studio_package"
"""Key of the safetensors header metadata entry that holds the package JSON."""

FORMAT_VERSION = 1
"""Package format version written by this SELD Studio (it reads versions 1 .. this)."""

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


def show_value(value: object, limit: int = 40) -> str:
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


class JsonTooDeep(Exception):
    pass


def json_loads_bounded(text: str) -> Any:
    """``json.loads`` that refuses (:class:`JsonTooDeep`) nesting beyond :data:`MAX_JSON_DEPTH`,
    whether the parser's own recursion limit is hit first or not (it differs between Pythons)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep from None
    except json.JSONDecodeError:
        raise
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise json.JSONDecodeError(str(err).split(":")[0], text, 0) from None
    stack = [(value, 1)]
    while stack:  # iterative: no recursion however deep
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise JsonTooDeep
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


def library_versions() -> dict[str, str]:
    """Versions of SELD Studio, torch, numpy and Python, recorded in every package."""
    import torch

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
            data = json_loads_bounded(text)
        except json.JSONDecodeError as err:
            raise ModelError(
                f"malformed SELD Studio metadata: not valid JSON ({err.msg} at character {err.pos} of "
                f"{len(text)})",
                path,
            ) from None
        except JsonTooDeep:
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
            raise bad(f"'format_version' must be a positive integer, not {show_value(version)}")
        if version > FORMAT_VERSION:
            raise ModelError(
                f"was written by a newer SELD Studio (package format {show_value(version)}; this version reads "
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
            raise bad(f"'model_name' must be a non-empty string, not {show_value(name)}")
        if not isinstance(args, dict):
            raise bad("'model_args' must be a JSON object")
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise bad("'classes' must be a non-empty list of class names")
        ids = [snake_id(c) for c in classes]
        if not all(ids):
            raise bad(f"class {ids.index('')} has an empty name")
        if len(set(ids)) != len(ids):
            dup = next(i for i, k in enumerate(ids) if k in ids[:i])
            raise bad(f"the class {show_value(classes[dup])} is listed twice")
        class_set = data["class_set"]
        if not isinstance(class_set, str):
            raise bad("'class_set' must be a string")
        fmt = data["fmt"]
        if not isinstance(fmt, str) or fmt not in FEATURE_CHANNELS:
            raise bad(f"'fmt' must be 'foa' or 'mic', not {show_value(fmt)}")
        channels = data["in_channels"]
        if isinstance(channels, bool) or not isinstance(channels, int) or channels != FEATURE_CHANNELS[fmt]:
            raise bad(
                f"'in_channels' is {show_value(channels)} but {fmt.upper()} features have {FEATURE_CHANNELS[fmt]}"
            )
        if args.get("in_channels", channels) != channels:
            raise bad(
                f"model_args in_channels {show_value(args['in_channels'])} differs from in_channels {channels}"
            )
        if args.get("n_classes", len(classes)) != len(classes):
            raise bad(
                f"model_args n_classes {show_value(args['n_classes'])} differs from the {len(classes)} classes "
                "listed"
            )
        if not isinstance(data["features"], dict):
            raise bad("'features' must be a JSON object")
        defaults = FeatureSettings().to_dict()
        for key, value in data["features"].items():  # compared here so a message never echoes a huge value
            if key in defaults and (type(value) is not type(defaults[key]) or value != defaults[key]):
                raise bad(
                    f"unsupported feature settings: {key} is {show_value(value)}; only the DCASE 2020 definition "
                    f"{defaults} is implemented"
                )
        try:
            FeatureSettings.from_dict(data["features"])
        except SeldError as err:
            raise ModelError(f"malformed SELD Studio metadata: {err.problem}", path) from None
        n_mels = FeatureSettings().n_mels  # from_dict accepts only the DCASE 2020 definition
        if args.get("n_mels", n_mels) != n_mels:
            raise bad(
                f"model_args n_mels {show_value(args['n_mels'])} differs from the {n_mels} mel bands of the features"
            )
        _check_scaler(data["scaler"], (channels, n_mels), bad)
        threshold = data.get("threshold", 0.5)
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 < threshold < 1  # NaN fails too
        ):
            raise bad(f"'threshold' must be a number between 0 and 1, not {show_value(threshold)}")
        rotations = data.get("rotations", 1)
        if not isinstance(rotations, int):  # (True is refused by rotation_set, naming the choices)
            raise bad(f"'rotations' must be an integer, not {show_value(rotations)}")
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
                    f"the feature scaler's {key!r} holds {show_value(v)} at channel {r + 1}, band {c + 1}; "
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
        raise bad(f"the feature scaler's 'count' must be a positive integer, not {show_value(count)}")


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


def package_fields() -> tuple[str, ...]:
    """Names of the :class:`PackageMeta` fields, in order (for documentation and tests)."""
    return tuple(f.name for f in fields(PackageMeta))
