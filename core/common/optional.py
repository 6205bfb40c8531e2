"""PyTorch as an optional part: a clear refusal, not a traceback, where it is missing.

SELD Studio's Python package requires torch, but its lean desktop bundle is built without it
(``make package-lean``): reviewing recordings and running the bundled models through their
shipped ONNX graphs need no torch; training, evaluating, exporting a model package and a
package without a cached graph do. :func:`require_torch` turns the missing import into a
:class:`~core.common.errors.SeldError` that says what needs torch and where to get it.
"""

from __future__ import annotations

import importlib.util
import os

from core.common.errors import SeldError
from core.common.processes import is_frozen

TORCH_MISSING_HINT_BUNDLE = (
    "this SELD Studio bundle was built without PyTorch (the lean bundle); use the full bundle, or "
    "SELD Studio's Python package (the wheel) with torch installed"
)
TORCH_MISSING_HINT_PYTHON = "install PyTorch in this Python environment (see SELD Studio's README)"


def torch_available() -> bool:
    """Whether torch can be imported here (found, not imported: no 2 s import)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def may_have_gpu() -> bool:
    """Whether torch could find a GPU here, judged without importing torch (which takes ~2 s).

    ``False`` only when this machine surely has none torch could use: no NVIDIA driver and no
    ROCm device on Linux, no ``nvcuda.dll`` on Windows, an Intel Mac, or
    ``CUDA_VISIBLE_DEVICES`` empty (not on macOS). ``True`` means: ask torch.
    """
    import platform
    import sys

    if sys.platform == "darwin":
        return platform.machine() == "arm64"  # Apple's Metal (MPS)
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if sys.platform.startswith("linux"):
        return any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/nvidia0", "/dev/kfd"))
    if sys.platform == "win32":
        root = os.environ.get("SystemRoot", r"C:\Windows")
        return os.path.exists(os.path.join(root, "System32", "nvcuda.dll"))
    return True


def cpu_only_devices() -> list[str] | None:
    """``["auto", "cpu"]`` when the device choices are known without torch (torch missing, or
    surely no GPU here: :func:`may_have_gpu`), else ``None`` (ask torch)."""
    if not torch_available() or not may_have_gpu():
        return ["auto", "cpu"]
    return None


def torch_missing_message(what: str = "this") -> str:
    """``"<what> needs PyTorch, which is not available: <where to get it>"``."""
    hint = TORCH_MISSING_HINT_BUNDLE if is_frozen() else TORCH_MISSING_HINT_PYTHON
    return f"{what} needs PyTorch, which is not available here: {hint}"


def is_torch_missing(err: BaseException) -> bool:
    """Whether ``err`` is the import of torch (or one of its modules) failing for want of torch."""
    name = getattr(err, "name", None) or ""
    return isinstance(err, ModuleNotFoundError) and (name == "torch" or name.startswith("torch."))


def require_torch(what: str = "this") -> None:
    """Raise a :class:`SeldError` (:func:`torch_missing_message`) when torch cannot be imported."""
    if not torch_available():
        raise SeldError(torch_missing_message(what))
