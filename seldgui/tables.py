"""The read-only tables of the Batch and Train pages: one way to make them."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget


def read_only_table(
    columns: Sequence[str], *, select_rows: bool = True, single: bool = False, stretch_last: bool = False
) -> QTableWidget:
    """A table of ``columns`` the user reads and selects in but does not edit.

    Columns fit their contents; ``stretch_last``: the last one (a text column) takes the width
    left, else numbers stay beside their names. ``select_rows``: a click selects the row;
    ``single``: one row at a time.
    """
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    if select_rows:
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if single:
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(stretch_last)
    return table
