"""Start a training run from a model package's weights (fine-tuning, warm start).

A user who trains on their own recordings rarely wants to start from random weights: the
bundled model (or one of their own) already knows the classes' sounds and how directions
show in the features. :func:`init_from_package` copies into a freshly built network every
weight of a package that fits it, by name:

* a tensor of the same name and shape is copied as is;
* the first convolution is copied for the input channels both formats share by meaning (all
  of them when the formats agree; only the four log-mel spectrograms between FOA and MIC,
  whose fifth to last channels are intensity vectors and GCC-PHAT);
* the output layers are copied row by row for the classes both class lists name (the SED
  output has one row per class; the DOA output three, x, y and z); the other classes keep
  their random initialisation;
* everything else (a different width, another architecture) keeps its initialisation and is
  named in the report; a layer is taken whole or not at all (no bias without its weight).

The package is read as safetensors + JSON only (never a pickle). Nothing fitting at all is an
error: it means the package is for another network.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from core.common.errors import ModelError

SPECTROGRAM_CHANNELS = 4
"""Both formats start with the log-mel spectrograms of their four channels."""

_FIRST_CONV = "convs.0.conv.weight"
_SED_OUT = ("sed.out.weight", "sed.out.bias")
_DOA_OUT = ("doa.out.weight", "doa.out.bias")


@dataclass
class InitReport:
    """What :func:`init_from_package` copied: tensor names, and why others were not."""

    path: str
    copied: list[str] = field(default_factory=list)
    partial: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        total = len(self.copied) + len(self.partial) + len(self.skipped)
        text = f"initialised from {self.path}: {len(self.copied)} of {total} tensors copied"
        if self.partial:
            text += "; in part: " + "; ".join(f"{k} ({v})" for k, v in self.partial.items())
        if self.skipped:
            text += "; kept random: " + "; ".join(f"{k} ({v})" for k, v in self.skipped.items())
        return text


def _read(path: str) -> tuple[dict[str, torch.Tensor], tuple[str, ...], str]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from core.packages.package_file import read_package_meta

    meta = read_package_meta(path)
    try:
        tensors = load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ModelError(f"is a damaged safetensors file: {err}", path) from None
    for key, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelError(f"weight {key!r} contains NaN or infinite values", path)
    return tensors, tuple(meta.classes), meta.fmt


def _class_rows(src: Sequence[str], dst: Sequence[str], per_class: int) -> tuple[list[int], list[int]]:
    """Row indices (source, destination) of the classes both lists name, for outputs laid out
    as ``per_class`` blocks of one row per class (SED: 1 block; DOA: x, y, z blocks)."""
    index = {name: i for i, name in enumerate(src)}
    pairs = [(index[name], j) for j, name in enumerate(dst) if name in index]
    rows_src = [b * len(src) + i for b in range(per_class) for i, _ in pairs]
    rows_dst = [b * len(dst) + j for b in range(per_class) for _, j in pairs]
    return rows_src, rows_dst


def init_from_package(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    fmt: str,
    classes: Sequence[str],
) -> InitReport:
    """Copy the weights of the package at ``path`` that fit ``model`` (built for ``fmt`` and
    ``classes``); returns what was copied. Raises :class:`ModelError` when nothing fits."""
    p = os.fspath(path)
    tensors, src_classes, src_fmt = _read(p)
    report = InitReport(path=p)
    state = model.state_dict()
    new: dict[str, torch.Tensor] = {}
    same_classes = tuple(src_classes) == tuple(classes)
    shared = [c for c in classes if c in src_classes]
    for key, ref in state.items():
        if key not in tensors:
            report.skipped[key] = "not in the package"
            continue
        t = tensors[key].to(ref.dtype)
        if key in _SED_OUT + _DOA_OUT and not same_classes:
            if not shared:
                report.skipped[key] = "no class in common"
                continue
            per = 1 if key in _SED_OUT else 3
            rows_src, rows_dst = _class_rows(src_classes, classes, per)
            if t.shape[0] != per * len(src_classes) or t.shape[1:] != ref.shape[1:]:
                report.skipped[key] = f"shape {tuple(t.shape)}, needs {tuple(ref.shape)}"
                continue
            out = ref.clone()
            out[rows_dst] = t[rows_src]
            new[key] = out
            report.partial[key] = f"{len(shared)} of {len(classes)} classes"
            continue
        if tuple(t.shape) == tuple(ref.shape):  # (the formats' first convolutions never match)
            new[key] = t
            report.copied.append(key)
            continue
        if (
            key == _FIRST_CONV
            and src_fmt != fmt
            and t.dim() == 4
            and t.shape[0] == ref.shape[0]
            and t.shape[2:] == ref.shape[2:]
        ):
            n = SPECTROGRAM_CHANNELS
            out = ref.clone()
            out[:, :n] = t[:, :n]
            new[key] = out
            report.partial[key] = f"{n} of {ref.shape[1]} input channels (the log-mel spectrograms)"
            continue
        report.skipped[key] = f"shape {tuple(t.shape)}, needs {tuple(ref.shape)}"
    # a layer is taken whole or not at all: a bias whose weight does not fit is no use alone
    for key in list(report.skipped):
        module = key.rpartition(".")[0]
        for other in [k for k in [*report.copied, *report.partial] if k.rpartition(".")[0] == module]:
            new.pop(other)
            if other in report.copied:
                report.copied.remove(other)
            else:
                del report.partial[other]
            report.skipped[other] = f"{key} does not fit"
    if not any(state[k].is_floating_point() for k in report.copied):  # counters alone do not count
        raise ModelError(
            "has no weight that fits this network (another architecture or width); "
            "train from random weights or choose a package of the same model",
            p,
        )
    model.load_state_dict({**state, **new}, strict=True)
    return report
