"""A user's own PyTorch checkpoint (``.pt`` / ``.pth``), opened without unpickling.

Only ``torch.load(weights_only=True)`` is used, which refuses any pickled Python object
other than tensors and plain containers."""

from __future__ import annotations

import os
import struct
from typing import Any

import torch

from core.common.errors import ModelError
from core.packages.package_file import check_path

# --------------------------------------------------------------------------- user checkpoints

_STATE_KEYS = ("state_dict", "model_state_dict", "model", "weights")


def load_torch_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of a PyTorch ``.pt`` / ``.pth`` checkpoint, loaded without unpickling code.

    Goes only through ``torch.load(path, weights_only=True, map_location="cpu")``; a file
    holding any other pickled Python object is refused with a :class:`ModelError`. Accepts
    a state dict or a dict holding one under ``state_dict`` / ``model_state_dict`` /
    ``model`` / ``weights``; a ``module.`` prefix (DataParallel) is removed.
    """
    p = check_path(path)
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
