"""Render the application icon's PNGs from ``seld-studio.svg``: ``python packaging/render_icons.py``.

Writes ``hicolor/<N>x<N>/apps/seld-studio.png`` for every size in :data:`SIZES` and copies the
SVG to ``hicolor/scalable/apps/seld-studio.svg`` (the freedesktop icon theme layout, so the
``hicolor`` folder can be copied into ``$XDG_DATA_HOME/icons`` as it is). The SVG is drawn
with Qt's ``QSvgRenderer`` (antialiased) onto a transparent 8-bit RGBA image and saved with
the strongest PNG compression; the output depends only on the SVG and the Qt version.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "resources" / "icons"
SOURCE = HERE / "seld-studio.svg"
NAME = "seld-studio"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def png_path(size: int, root: Path = HERE) -> Path:
    """Where the ``size`` px PNG goes under ``root``."""
    return root / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"


def render(size: int, source: Path = SOURCE):
    """The icon as a ``size`` x ``size`` ``QImage`` (transparent where the SVG draws nothing)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise ValueError(f"{source}: not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)  # fully transparent
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    # 8 bits per channel, straight (not premultiplied) alpha: what a PNG stores
    return image.convertToFormat(QImage.Format.Format_RGBA8888)


def main(root: Path = HERE) -> int:
    for size in SIZES:
        out = png_path(size, root)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not render(size).save(str(out), "PNG", 0):  # quality 0: the most compression
            raise OSError(f"could not write {out}")
        print(f"{out.relative_to(root)}: {out.stat().st_size} bytes")
    scalable = root / "hicolor" / "scalable" / "apps" / f"{NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, scalable)
    print(f"{scalable.relative_to(root)}: copied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
