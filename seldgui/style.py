"""Colours and styles shared by the views (one place, so lanes, tracks and sphere agree)."""

from __future__ import annotations

# 20 distinguishable colours (Tableau 20 order, strong shades first), cycled per class index.
PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
    "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip

PLAYHEAD_COLOR = "#ffffff"
SELECTION_COLOR = "#ffffff"  # outline of selected events


def class_color(index: int) -> str:
    """The colour of class ``index`` in every view."""
    return PALETTE[index % len(PALETTE)]
