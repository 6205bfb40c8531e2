"""A package's model, built and ready to run: :class:`LoadedModel` and :func:`load_package`.

The declared architecture is built on PyTorch's meta device first and compared with the
file's tensor table, so a package that claims a huge model allocates nothing; then the
weights are loaded into the real model (eval mode, on the chosen device)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from core.common.errors import ModelError
from core.dsp.features import FeatureScaler
from core.packages.devices import resolve_device
from core.packages.package_file import check_path, meta_of_header, read_layout, tensor_table
from core.packages.schema import PackageMeta, show_value


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
            parts.append(f"{len(missing)} missing (e.g. {show_value(missing[0])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {show_value(unexpected[0])})")
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
            f"the model arguments do not fit {meta.model_name!r}: {show_value(err, 200)}", path
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

    p = check_path(path)
    layout = read_layout(p)
    meta = meta_of_header(layout.header, p)
    table = tensor_table(layout, p)
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
        raise ModelError(f"is a damaged safetensors file: {show_value(err, 300)}", p) from None
    model = build_from_meta(meta, p)
    apply_weights(model, tensors, p)
    model.eval()
    loaded = LoadedModel(model=model, meta=meta, scaler=FeatureScaler.from_dict(meta.scaler), path=p)
    return loaded.to(device)
