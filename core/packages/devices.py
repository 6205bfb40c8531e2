"""Choosing the torch device a model runs on: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``.

``"auto"`` picks CUDA when a CUDA device is usable, then Apple's Metal (MPS), then the CPU.
An explicitly requested device that this machine does not have is a
:class:`~core.common.errors.SeldError` naming what is available, never a silent fallback.
"""

from __future__ import annotations

import torch

from core.common.errors import SeldError

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
"""Device names offered on command lines (``cuda:N`` is accepted too)."""


def mps_available() -> bool:
    """Whether Apple's Metal backend is built into torch and usable on this machine."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """The device names usable here, e.g. ``["cpu", "cuda:0", "cuda:1"]``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if mps_available():
        names.append("mps")
    return names


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """The :class:`torch.device` for ``name``.

    ``None`` or ``"auto"``: CUDA if available, then MPS, then CPU. ``"cuda"`` / ``"cuda:N"``
    / ``"mps"`` must exist on this machine (:class:`SeldError` otherwise).
    """
    if isinstance(name, torch.device):
        name = str(name)
    key = "auto" if name is None else str(name).strip().lower()
    if key == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if key == "cpu":
        return torch.device("cpu")
    have = ", ".join(available_devices())
    if key == "mps":
        if not mps_available():
            raise SeldError(f"device 'mps' (Apple Metal) is not available on this machine; available: {have}")
        return torch.device("mps")
    if key == "cuda" or key.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise SeldError(
                f"device {name!r} was requested but no CUDA GPU is usable here (torch "
                f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); available: {have}"
            )
        if key == "cuda":
            return torch.device("cuda")
        index_text = key.partition(":")[2]
        if not index_text.isdigit():
            raise SeldError(f"malformed device {name!r}; expected cuda or cuda:N")
        index = int(index_text)
        if index >= torch.cuda.device_count():
            raise SeldError(f"device {name!r} does not exist; available: {have}")
        return torch.device("cuda", index)
    raise SeldError(f"unknown device {name!r}; expected one of auto, cpu, cuda, cuda:N, mps")
