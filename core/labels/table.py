"""In-memory SELD labels: the rows of a DCASE metadata CSV.

A :class:`LabelTable` is what every label reader returns and every writer, scorer and
view consumes. Directions are always held in degrees (azimuth counter-clockwise from
the front +x axis, elevation up); rows read from a Cartesian file also keep their
original unit vector in ``xyz`` so that they can be written back unchanged.

Frames are DCASE label frames of 100 ms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from core.common.timebase import LABEL_HOP_S

__all__ = ["LABEL_HOP_S", "LabelRow", "LabelTable"]


@dataclass(frozen=True)
class LabelRow:
    """One row of a DCASE SELD metadata file: one active source in one 100 ms frame.

    ``line`` is the 1-based line the row was read from (``None`` for rows made in memory);
    it is only used in messages and takes no part in comparisons.
    """

    frame: int
    cls: int
    track: int
    azimuth: float
    elevation: float
    distance: float | None = None
    xyz: tuple[float, float, float] | None = None
    line: int | None = field(default=None, compare=False, repr=False)


@dataclass
class LabelTable:
    """All rows of one label file (or one model output), in file order.

    ``fmt`` names the on-disk format the rows came from or should be written in
    (see :data:`core.labels.dcase_csv.FORMATS`); ``path`` is where they came from, if anywhere.
    """

    rows: list[LabelRow] = field(default_factory=list)
    fmt: str = "dcase2020"
    path: str | None = None

    def __iter__(self) -> Iterator[LabelRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_frames(self) -> int:
        """One past the last labelled frame (0 for an empty table)."""
        return max((r.frame for r in self.rows), default=-1) + 1

    def by_frame(self) -> dict[int, list[LabelRow]]:
        """Rows grouped by frame index, frames in ascending order."""
        out: dict[int, list[LabelRow]] = {}
        for row in sorted(self.rows, key=lambda r: r.frame):
            out.setdefault(row.frame, []).append(row)
        return out
