"""ONNX export of a model package, and running an exported model with onnxruntime.

The export uses PyTorch's legacy TorchScript exporter (``torch.onnx.export(...,
dynamo=False)``), opset 17, with dynamic batch and time axes:

* input ``"features"``: float32 ``(B, C, T, 64)``, normalised features, T a multiple of 5;
* outputs ``"sed"`` ``(B, T/5, K)`` and ``"doa"`` ``(B, T/5, 3K)`` (layout [x.., y.., z..]).

:class:`OnnxModel` (running a graph) needs onnxruntime only: torch and onnx are imported by
the export functions, never by importing this module, so that a cached graph
(:mod:`core.packages.onnx_cache`) starts without them.

The package metadata JSON (:class:`core.packages.schema.PackageMeta`: classes, format, feature
scaler, threshold, ...) is embedded in the ONNX model's ``metadata_props`` under the key
:data:`core.packages.schema.PACKAGE_KEY`, so an ``.onnx`` file is self-describing and
:class:`OnnxModel` can run inference from it alone.
"""

from __future__ import annotations

import copy
import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.common.errors import ModelError, SeldError
from core.dsp.features import FeatureScaler
from core.packages.schema import PACKAGE_KEY, PackageMeta

if TYPE_CHECKING:  # torch (and onnx) are imported by the export only: running a graph needs onnxruntime alone
    from torch import nn

    from core.packages.runtime import LoadedModel

DEFAULT_OPSET = 17
INPUT_NAME = "features"
OUTPUT_NAMES = ("sed", "doa")
ONNX_BACKEND_DEVICES = ("auto", "cpu", "cuda")


def _model_and_meta(
    loaded_or_model: LoadedModel | nn.Module, meta: PackageMeta | None
) -> tuple[nn.Module, PackageMeta | None]:
    from torch import nn

    from core.packages.runtime import LoadedModel

    if isinstance(loaded_or_model, LoadedModel):
        return loaded_or_model.model, meta or loaded_or_model.meta
    if isinstance(loaded_or_model, nn.Module):
        return loaded_or_model, meta
    raise TypeError(f"expected a LoadedModel or an nn.Module, not {type(loaded_or_model).__name__}")


def onnx_bytes(
    loaded_or_model: LoadedModel | nn.Module, *, meta: PackageMeta | None = None, opset: int = DEFAULT_OPSET
) -> bytes:
    """The serialised ONNX model (metadata embedded when known) of a package or a model.

    The model is exported from a CPU copy in eval mode; the original is left untouched.
    """
    import onnx
    import torch

    model, meta = _model_and_meta(loaded_or_model, meta)
    work = copy.deepcopy(model).to("cpu").eval()
    in_channels = meta.in_channels if meta is not None else int(getattr(work, "in_channels", 7))
    n_mels = int(getattr(work, "config", {}).get("n_mels", 64))
    example = torch.zeros(1, in_channels, 100, n_mels)
    buf = io.BytesIO()
    axes = {INPUT_NAME: {0: "batch", 2: "frames"}}
    axes.update({name: {0: "batch", 1: "label_frames"} for name in OUTPUT_NAMES})
    with warnings.catch_warnings():
        # the legacy exporter is chosen on purpose; its deprecation and tracer notes are noise here
        warnings.simplefilter("ignore")
        torch.onnx.export(
            work,
            (example,),
            buf,  # type: ignore[arg-type]  # a file object is accepted; the stubs say path only
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load_model_from_string(buf.getvalue())
    props = {
        "seld_studio_format": "1",
        "seld_studio_inputs": f"{INPUT_NAME} (batch, {in_channels}, frames, {n_mels})",
    }
    if meta is not None:
        props[PACKAGE_KEY] = meta.to_json()
    else:
        props["seld_studio_model"] = getattr(work, "name", type(work).__name__)
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "seld-studio"
    return proto.SerializeToString()


def export_onnx(
    loaded_or_model: LoadedModel | nn.Module,
    out_path: str | os.PathLike[str],
    opset: int = DEFAULT_OPSET,
    *,
    meta: PackageMeta | None = None,
) -> Path:
    """Export a package's model (or a bare model) to ``out_path`` (written atomically).

    A :class:`~core.packages.runtime.LoadedModel` carries its metadata into the file; for a bare
    ``nn.Module`` give ``meta`` to make the file usable by :class:`OnnxModel`.
    """
    from core.common.atomic import atomic_write_bytes

    data = onnx_bytes(loaded_or_model, meta=meta, opset=opset)
    try:
        atomic_write_bytes(out_path, data)
    except OSError as err:
        raise ModelError(f"cannot write the ONNX model: {err.strerror or err}", out_path) from None
    return Path(out_path)


def _providers(device: str | None) -> tuple[list[str], str]:
    import onnxruntime as ort

    key = (device or "auto").strip().lower()
    available = ort.get_available_providers()
    has_cuda = "CUDAExecutionProvider" in available
    if key == "auto":
        key = "cuda" if has_cuda else "cpu"
    if key == "cpu":
        return ["CPUExecutionProvider"], "cpu"
    if key == "cuda" or key.startswith("cuda:"):
        if not has_cuda:
            raise SeldError(
                f"device {device!r} was requested for the ONNX backend but this onnxruntime has no CUDA "
                f"provider (available: {', '.join(available)}); install onnxruntime-gpu or use --device cpu"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"], key
    raise SeldError(f"the ONNX backend runs on cpu or cuda, not {device!r}; use the torch backend for it")


class OnnxModel:
    """An exported SELD model run by onnxruntime, with the same :meth:`run` as a LoadedModel.

    ``source`` is an ``.onnx`` path or the serialised model bytes. ``meta`` overrides the
    embedded metadata (needed when the file has none). ``threads`` sets onnxruntime's
    ``intra_op_num_threads`` (``None``: its default, one per physical core). All graph
    optimisations are enabled.
    """

    backend = "onnx"
    cache_status: str | None = None
    """How a package's graph was got (:func:`core.packages.onnx_cache.open_cached_onnx`): shipped, hit, miss, rebuilt."""

    def __init__(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        device: str | None = "cpu",
        threads: int | None = None,
        meta: PackageMeta | None = None,
    ):
        import onnxruntime as ort

        self.path: str | None = None if isinstance(source, bytes) else os.fspath(source)
        if self.path is not None:
            if not os.path.isfile(self.path):
                raise ModelError("ONNX model file not found", self.path)
        providers, self.device = _providers(device)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads is not None:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                source if isinstance(source, bytes) else self.path, options, providers=providers
            )
        except Exception as err:  # onnxruntime raises its own pybind exception types
            raise ModelError(f"is not a usable ONNX model ({str(err).strip()[:300]})", self.path) from None
        names_in = [i.name for i in self.session.get_inputs()]
        names_out = [o.name for o in self.session.get_outputs()]
        if names_in != [INPUT_NAME] or names_out != list(OUTPUT_NAMES):
            raise ModelError(
                f"is not a SELD Studio ONNX model: inputs {names_in}, outputs {names_out} (expected "
                f"[{INPUT_NAME!r}] and {list(OUTPUT_NAMES)})",
                self.path,
            )
        if meta is None:
            text = self.session.get_modelmeta().custom_metadata_map.get(PACKAGE_KEY)
            if text is None:
                raise ModelError(
                    f"is an ONNX model without SELD Studio metadata (no {PACKAGE_KEY!r} entry in its "
                    "metadata_props); export it with `seld export-onnx` from a model package",
                    self.path,
                )
            meta = PackageMeta.from_json(text, self.path)
        self.meta = meta
        self.scaler = FeatureScaler.from_dict(meta.scaler)
        shape = self.session.get_inputs()[0].shape
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != meta.in_channels):
            raise ModelError(
                f"the ONNX input {shape} does not take the {meta.in_channels} feature channels its metadata "
                "declares",
                self.path,
            )

    @classmethod
    def from_package(
        cls, loaded: LoadedModel, *, device: str | None = "cpu", threads: int | None = None
    ) -> OnnxModel:
        """Export ``loaded`` in memory (about 0.2 s for the paper's model) and open it."""
        model = cls(onnx_bytes(loaded), device=device, threads=threads)
        model.path = loaded.path
        return model

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised features ``(B, C, T, 64)`` float32 -> ``(sed (B, T/5, K), doa (B, T/5, 3K))``."""
        x = np.ascontiguousarray(batch, dtype=np.float32)
        try:
            sed, doa = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: x})
        except Exception as err:  # onnxruntime's own exception types: the graph does not take this input
            text = str(err).strip()
            raise ModelError(
                f"the ONNX model failed on a batch of shape {x.shape} ({text[:300]})", self.path
            ) from None
        return sed, doa


def read_onnx_meta(path: str | os.PathLike[str]) -> PackageMeta:
    """The package metadata embedded in an exported ``.onnx`` file."""
    import onnx

    p = os.fspath(path)
    if not os.path.isfile(p):
        raise ModelError("ONNX model file not found", p)
    try:
        proto = onnx.load(p, load_external_data=False)
    except Exception as err:  # protobuf's DecodeError and friends
        raise ModelError(f"is not a readable ONNX model ({type(err).__name__})", p) from None
    props: dict[str, Any] = {e.key: e.value for e in proto.metadata_props}
    if PACKAGE_KEY not in props:
        raise ModelError(f"is an ONNX model without SELD Studio metadata (no {PACKAGE_KEY!r} entry)", p)
    return PackageMeta.from_json(props[PACKAGE_KEY], p)
