"""Table cells that sort by a value of their own (numbers as numbers, kinds in their order)."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem

SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class SortItem(QTableWidgetItem):
    """A read-only cell showing ``text`` and sorting by ``key`` (NaN and ``None`` sort last ascending)."""

    def __init__(self, text: str, key: Any = None):
        super().__init__(text)
        self.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
        if key is None:
            key = text
        self.setData(SORT_ROLE, key)

    def sort_key(self) -> tuple:
        key = self.data(SORT_ROLE)
        if isinstance(key, float) and math.isnan(key):
            return (1, 0.0)
        if isinstance(key, int | float):
            return (0, float(key))
        return (0, str(key))

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, SortItem):
            return self.sort_key() < other.sort_key()
        return super().__lt__(other)


def number(value: float | None, digits: int = 3, suffix: str = "") -> SortItem:
    """A number cell (``None``/NaN: "n/a", sorted after every number ascending)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        item = SortItem("n/a", math.nan)
    else:
        item = SortItem(f"{value:.{digits}f}{suffix}", float(value))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def class_name(classes: Any, cls: int | None) -> str:
    """The name of class ``cls`` in ``classes`` (a class set), else its index."""
    if cls is None:
        return "–"
    try:
        return str(classes[cls])
    except (TypeError, IndexError, KeyError):
        return str(cls)
