"""Resumable training state without pickle: tensors in safetensors, the rest in JSON.

A ``last`` checkpoint of a run is two files beside the ``last.safetensors`` model package:

* ``last.state.safetensors``: the optimizer's tensors (``optim.<param index>.<name>``), the
  CPU random generator state (``rng.cpu``), each CUDA device's (``rng.cuda.<i>``) and the
  gradient scaler's scale;
* ``last.state.json``: the optimizer's parameter groups and scalar state, the loop position
  (epoch, batch in the epoch, global step), the best validation score so far and the
  elapsed time.

Together with the weights they make a resumed run continue bit for bit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from core.atomic import atomic_write_text
from core.errors import SeldError


@dataclass
class LoopState:
    epoch: int = 0  # the epoch in progress (or next to run)
    batch_in_epoch: int = 0  # batches of that epoch already done
    step: int = 0  # optimizer steps done in the whole run
    best_seld: float = float("inf")
    best_epoch: int = -1
    elapsed_s: float = 0.0
    epoch_loss_sum: float = 0.0  # training loss summed over the batches done in this epoch

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["best_seld"] = None if self.best_seld == float("inf") else self.best_seld
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoopState:
        best = d.get("best_seld")
        return cls(
            epoch=int(d["epoch"]),
            batch_in_epoch=int(d["batch_in_epoch"]),
            step=int(d["step"]),
            best_seld=float("inf") if best is None else float(best),
            best_epoch=int(d.get("best_epoch", -1)),
            elapsed_s=float(d.get("elapsed_s", 0.0)),
            epoch_loss_sum=float(d.get("epoch_loss_sum", 0.0)),
        )


def file_digest(path: str | Path) -> str:
    """BLAKE2b digest of a file's bytes (ties the checkpoint's files together)."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_training_state(
    prefix: Path,
    optimizer: torch.optim.Optimizer,
    loop: LoopState,
    scaler: torch.amp.GradScaler | None = None,
    weights: Path | None = None,
) -> None:
    """Write ``<prefix>.state.safetensors`` and ``<prefix>.state.json`` (JSON last: it marks completeness).

    The JSON records the digests of the tensor file and of ``weights`` (the model package
    written just before), so that a run killed between the writes is detected on resume
    instead of continuing from mismatched files.
    """
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    opt = optimizer.state_dict()
    for index, state in opt["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    scaler_state = scaler.state_dict() if scaler is not None and scaler.is_enabled() else None
    tensor_path = Path(f"{prefix}.state.safetensors")
    tmp = tensor_path.with_name(tensor_path.name + ".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(tensor_path)
    meta = {
        "format_version": 1,
        "param_groups": opt["param_groups"],
        "optim_scalars": scalars,
        "loop": loop.to_dict(),
        "grad_scaler": scaler_state,
        "state_digest": file_digest(tensor_path),
        "weights_digest": file_digest(weights) if weights is not None else None,
    }
    atomic_write_text(f"{prefix}.state.json", json.dumps(meta, indent=1))


def load_training_state(
    prefix: Path,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None = None,
    restore_rng: bool = True,
    weights: Path | None = None,
) -> LoopState:
    """Restore what :func:`save_training_state` wrote into ``optimizer`` (and RNGs); return the loop state.

    Raises :class:`SeldError` when the files do not belong together (a run killed while
    writing its checkpoint).
    """
    json_path = Path(f"{prefix}.state.json")
    tensor_path = Path(f"{prefix}.state.safetensors")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        for key, path in (("state_digest", tensor_path), ("weights_digest", weights)):
            if meta.get(key) and path is not None and file_digest(path) != meta[key]:
                raise SeldError(
                    f"the checkpoint is inconsistent: {Path(path).name} does not belong to this state "
                    "(the run was probably killed while saving); it cannot be resumed exactly",
                    json_path,
                )
        tensors = load_file(str(tensor_path))
    except FileNotFoundError as err:
        raise SeldError("the run's training state is missing; it cannot be resumed", err.filename) from None
    except SeldError:
        raise
    except (json.JSONDecodeError, OSError, Exception) as err:  # safetensors raises its own errors
        raise SeldError(
            f"the run's training state is damaged ({err}); it cannot be resumed", json_path
        ) from None
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, values in meta.get("optim_scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    if scaler is not None and meta.get("grad_scaler"):
        scaler.load_state_dict(meta["grad_scaler"])
    if restore_rng:
        torch.set_rng_state(tensors["rng.cpu"])
        if torch.cuda.is_available():
            cuda_states = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
            if len(cuda_states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda_states)
    return LoopState.from_dict(meta["loop"])
