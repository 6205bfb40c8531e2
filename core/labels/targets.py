"""Frame-wise training targets from label tables, and label tables from model outputs.

Layout (the DCASE 2020 baseline's):

* SED ``(T, C)`` float32: 1 where class ``c`` is active in label frame ``t``, else 0.
* DOA ``(T, 3C)`` float32: ``[x_0 .. x_{C-1}, y_0 .. y_{C-1}, z_0 .. z_{C-1}]`` with
  ``x = cos(ele) cos(azi)``, ``y = cos(ele) sin(azi)``, ``z = sin(ele)`` (unit vectors) for
  active classes and 0 for inactive ones.
* ACCDOA-style "xyz" outputs ``(T, 3C)`` use the same layout, with the vector length as
  the activity (see :func:`sed_doa_from_xyz`).

Frames are DCASE label frames of 100 ms (:data:`core.labels.table.LABEL_HOP_S`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from core.common.errors import LabelError
from core.labels.dcase_csv import FORMATS
from core.labels.table import LabelRow, LabelTable
from core.spatial.directions import azel_to_xyz, xyz_to_azel

__all__ = [
    "events_from_outputs",
    "frame_targets",
    "sed_doa_from_xyz",
    "xyz_from_sed_doa",
]


def frame_targets(
    table: LabelTable | Iterable[LabelRow], n_frames: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """SED ``(n_frames, n_classes)`` and DOA ``(n_frames, 3 n_classes)`` float32 targets of a label table.

    Rows at or past ``n_frames`` are ignored (the recording is shorter than its labels).

    Two instances of one class in one frame (two tracks / sources): the target has room for
    one direction per class, so the row with the **lowest track index** gives the DOA (ties -
    the same track listed twice - go to the row that comes first in the file). This does
    not depend on row order, unlike the DCASE 2020 baseline, which keeps whichever row it
    wrote last.

    Raises :class:`LabelError` for a class index outside ``0 .. n_classes - 1`` or a
    negative frame.
    """
    if n_frames < 0 or n_classes <= 0:
        raise ValueError(f"need n_frames >= 0 and n_classes > 0, got {n_frames}, {n_classes}")
    rows = list(table)
    path = table.path if isinstance(table, LabelTable) else None
    sed = np.zeros((n_frames, n_classes), dtype=np.float32)
    doa = np.zeros((n_frames, 3 * n_classes), dtype=np.float32)
    if not rows:
        return sed, doa

    count = len(rows)
    frame = np.fromiter((r.frame for r in rows), dtype=np.int64, count=count)
    cls = np.fromiter((r.cls for r in rows), dtype=np.int64, count=count)
    bad = (cls < 0) | (cls >= n_classes) | (frame < 0)
    if bad.any():
        r = rows[int(np.argmax(bad))]
        problem = (
            f"negative frame {r.frame}"
            if r.frame < 0
            else f"class {r.cls} (frame {r.frame}) does not fit {n_classes} classes (0-{n_classes - 1})"
        )
        raise LabelError(problem, path)

    keep = np.flatnonzero(frame < n_frames)
    if keep.size == 0:
        return sed, doa
    track = np.fromiter((r.track for r in rows), dtype=np.int64, count=count)[keep]
    frame, cls = frame[keep], cls[keep]
    # Sort by (frame, class, track, file position) and keep the first row of each (frame, class).
    order = np.lexsort((keep, track, cls, frame))
    key = frame[order] * n_classes + cls[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    chosen = order[first]
    picked = keep[chosen]
    azimuth = np.fromiter((rows[i].azimuth for i in picked), dtype=np.float64, count=picked.size)
    elevation = np.fromiter((rows[i].elevation for i in picked), dtype=np.float64, count=picked.size)
    vec = azel_to_xyz(azimuth, elevation)
    f, c = frame[chosen], cls[chosen]
    sed[f, c] = 1.0
    doa[f, c] = vec[:, 0]
    doa[f, n_classes + c] = vec[:, 1]
    doa[f, 2 * n_classes + c] = vec[:, 2]
    return sed, doa


def _split_doa(doa: np.ndarray, n_classes: int, name: str) -> np.ndarray:
    """``(T, 3C)`` in [x.., y.., z..] layout -> ``(T, C, 3)`` float64."""
    doa = np.asarray(doa, dtype=np.float64)
    if doa.ndim != 2 or doa.shape[1] != 3 * n_classes:
        raise ValueError(f"{name} must have shape (T, {3 * n_classes}), got {doa.shape}")
    return np.stack([doa[:, :n_classes], doa[:, n_classes : 2 * n_classes], doa[:, 2 * n_classes :]], axis=-1)


def sed_doa_from_xyz(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ACCDOA-style outputs ``(T, 3C)`` (layout as DOA) into activity and unit directions.

    Returns ``sed`` ``(T, C)`` = the length of each class vector and ``doa`` ``(T, 3C)`` = the
    vectors scaled to unit length (0 where the length is 0), both float32.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] % 3:
        raise ValueError(f"xyz must have shape (T, 3C), got {xyz.shape}")
    n_classes = xyz.shape[1] // 3
    vec = _split_doa(xyz, n_classes, "xyz")
    norm = np.linalg.norm(vec, axis=-1)
    unit = np.divide(vec, norm[..., None], out=np.zeros_like(vec), where=norm[..., None] > 0)
    doa = np.concatenate([unit[..., 0], unit[..., 1], unit[..., 2]], axis=1)
    return norm.astype(np.float32), doa.astype(np.float32)


def xyz_from_sed_doa(sed: np.ndarray, doa: np.ndarray) -> np.ndarray:
    """ACCDOA-style targets ``(T, 3C)`` float32: each DOA vector scaled by its class activity."""
    sed = np.asarray(sed, dtype=np.float32)
    doa = np.asarray(doa, dtype=np.float32)
    if sed.ndim != 2 or doa.shape != (sed.shape[0], 3 * sed.shape[1]):
        raise ValueError(f"sed (T, C) and doa (T, 3C) do not match: {sed.shape}, {doa.shape}")
    return doa * np.tile(sed, (1, 3))


def events_from_outputs(
    sed: np.ndarray,
    doa: np.ndarray,
    threshold: float = 0.5,
    fmt: str = "dcase2020",
    distance: np.ndarray | None = None,
) -> LabelTable:
    """Label rows of frame-wise model outputs: the inverse of :func:`frame_targets`.

    One row per (frame, class) with ``sed > threshold``, in frame then class order, track 0,
    azimuth/elevation in degrees from the DOA vector (``arctan2`` as in
    :func:`core.spatial.directions.xyz_to_azel`; the vector need not be unit length, a zero vector
    gives 0, 0). Angles are kept as floats; :func:`core.labels.dcase_csv.write_labels` formats them.
    For a Cartesian ``fmt`` the rows also carry the unit vector in ``xyz``; a format with
    distance needs ``distance`` ``(T, C)``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown label format {fmt!r} (known: {', '.join(FORMATS)})")
    spec = FORMATS[fmt]
    sed = np.asarray(sed)
    if sed.ndim != 2:
        raise ValueError(f"sed must have shape (T, C), got {sed.shape}")
    n_frames, n_classes = sed.shape
    vec = _split_doa(doa, n_classes, "doa")
    if vec.shape[0] != n_frames:
        raise ValueError(f"sed has {n_frames} frames but doa has {vec.shape[0]}")
    if spec.has_distance:
        if distance is None:
            raise ValueError(f"format {fmt!r} needs a distance array (T, C)")
        distance = np.asarray(distance, dtype=np.float64)
        if distance.shape != sed.shape:
            raise ValueError(f"distance must have shape {sed.shape}, got {distance.shape}")

    frames, classes = np.nonzero(sed > threshold)
    active = vec[frames, classes]
    azimuth, elevation = xyz_to_azel(active)
    dists: list[float | None] = (
        distance[frames, classes].tolist()
        if spec.has_distance and distance is not None
        else [None] * frames.size
    )
    vectors: list[tuple[float, float, float] | None] = [None] * frames.size
    if spec.cartesian:
        norm = np.linalg.norm(active, axis=1)
        vectors = [tuple((v / n).tolist()) if n > 0 else None for v, n in zip(active, norm, strict=True)]
    rows = [
        LabelRow(f, c, 0, a, e, d, v)
        for f, c, a, e, d, v in zip(
            frames.tolist(),
            classes.tolist(),
            azimuth.tolist(),
            elevation.tolist(),
            dists,
            vectors,
            strict=True,
        )
    ]
    return LabelTable(rows, fmt=fmt)
