"""Files shipped with SELD Studio: the bundled model packages, the demo recording, the icons.

Bundled files live in the repository's top-level ``resources/`` folder, which installs as
the data package ``seld_resources`` (see ``pyproject.toml``)::

    resources/models/foa_crnn.safetensors     (the bundled FOA model package)
    resources/models/mic_crnn.safetensors     (MIC, if one is shipped)
    resources/demo/demo_foa.flac              (the demo recording)
    resources/icons/hicolor/<N>x<N>/apps/seld-studio.png   (the application icon, N px)
    resources/icons/seld-studio.svg           (the icon's source, also hicolor/scalable/apps/)
    resources/desktop/seld-studio.desktop     (the freedesktop desktop entry)

They are found through :mod:`importlib.resources`, so they work from a wheel, an editable
install or a source checkout alike (the checkout's folder is searched last, for running
from a source tree without installing). The functions return ``None`` while a file is
absent.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Iterator
from pathlib import Path

DATA_PACKAGE = "seld_resources"
MODEL_FILES = {"foa": "foa_crnn.safetensors", "mic": "mic_crnn.safetensors"}
DEMO_FILES = ("demo_foa.flac", "demo.flac", "demo_foa.wav", "demo.wav")
DEMO_FORMAT = "foa"
"""The format of the bundled demo recording (its folder, ``demo/``, does not name one)."""
ICON_NAME = "seld-studio"
"""The application icon's name in an icon theme (the desktop entry's ``Icon=``)."""
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
"""The pixel sizes the icon is rendered at (``packaging/render_icons.py``)."""
DESKTOP_ENTRY = "seld-studio.desktop"
"""The freedesktop desktop entry's file name."""

_CHECKOUT_RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def _roots() -> Iterator[Path]:
    """Folders that may hold bundled files, in search order."""
    try:
        data = importlib.resources.files(DATA_PACKAGE)
        if data.is_dir():
            yield Path(str(data))
    except (ModuleNotFoundError, TypeError, OSError):
        pass
    if _CHECKOUT_RESOURCES.is_dir():
        yield _CHECKOUT_RESOURCES


def _find(*relative: str) -> Path | None:
    for root in _roots():
        for rel in relative:
            candidate = root / rel
            if candidate.is_file():
                return candidate
    return None


def bundled_model_path(fmt: str = "foa") -> Path | None:
    """The bundled model package for ``fmt`` (``"foa"`` or ``"mic"``), or ``None`` if none is installed."""
    name = MODEL_FILES.get(fmt)
    if name is None:
        raise ValueError(f"fmt must be 'foa' or 'mic', not {fmt!r}")
    return _find(f"models/{name}")


def bundled_model_dirs() -> list[Path]:
    """The folders that hold the bundled model packages (``<root>/models``), in search order.

    A desktop bundle also ships its models' ONNX graphs there
    (:func:`core.packages.onnx_cache.shipped_onnx_bytes`).
    """
    return [root / "models" for root in _roots() if (root / "models").is_dir()]


def demo_recording_path() -> Path | None:
    """The bundled demo recording, or ``None`` if none is installed."""
    return _find(*(f"demo/{name}" for name in DEMO_FILES))


def bundled_recording_format(path: str | os.PathLike[str]) -> str | None:
    """:data:`DEMO_FORMAT` when ``path`` is the bundled demo recording (the same file), else ``None``.

    A recording's format is otherwise known only from a DCASE folder name or the user's
    declaration; the demo's is known because SELD Studio ships it.
    """
    demo = demo_recording_path()
    if demo is None:
        return None
    try:
        return DEMO_FORMAT if os.path.samefile(path, demo) else None
    except OSError:
        return None


def icon_theme_relpath(size: int | None) -> str:
    """Where the icon of ``size`` px (``None``: the scalable SVG) lies inside an icon theme folder."""
    if size is None:
        return f"hicolor/scalable/apps/{ICON_NAME}.svg"
    return f"hicolor/{size}x{size}/apps/{ICON_NAME}.png"


def icon_paths() -> dict[int, Path]:
    """The bundled PNG application icons by pixel size (only those installed; empty if none)."""
    found = {}
    for size in ICON_SIZES:
        path = _find(f"icons/{icon_theme_relpath(size)}")
        if path is not None:
            found[size] = path
    return found


def icon_svg_path() -> Path | None:
    """The application icon as SVG, or ``None`` if none is installed."""
    return _find(f"icons/{icon_theme_relpath(None)}", f"icons/{ICON_NAME}.svg")


def desktop_entry_path() -> Path | None:
    """The bundled freedesktop desktop entry (before installation for a user), or ``None``."""
    return _find(f"desktop/{DESKTOP_ENTRY}")
