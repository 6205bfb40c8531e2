"""Directions on the sphere, in the DCASE convention.

Azimuth and elevation are degrees: azimuth 0 is the front (+x), positive counter-clockwise
(to the left, +y); elevation positive up (+z). The unit vector of ``(azimuth, elevation)``
is ``(cos e cos a, cos e sin a, sin e)``; back from a vector (of any length) as the official
DCASE 2020 code computes it; the angle between two directions as the official scorers do.
Everything that turns angles into vectors or measures angles between directions uses this
module (labels, metrics, targets, annotation, synthesis, playback, the views).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def azel_to_xyz(azimuth_deg: np.ndarray | float, elevation_deg: np.ndarray | float) -> np.ndarray:
    """Unit vectors ``(..., 3)`` (float64) of DCASE directions in degrees.

    ``x = cos(ele) cos(azi)``, ``y = cos(ele) sin(azi)``, ``z = sin(ele)``.
    """
    azi = np.deg2rad(np.asarray(azimuth_deg, dtype=np.float64))
    ele = np.deg2rad(np.asarray(elevation_deg, dtype=np.float64))
    cos_ele = np.cos(ele)
    return np.stack([cos_ele * np.cos(azi), cos_ele * np.sin(azi), np.sin(ele)], axis=-1)


def xyz_to_azel(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation in degrees (float64) of vectors ``(..., 3)``, as DCASE 2020 computes them.

    ``azimuth = arctan2(y, x) * 180 / pi``, ``elevation = arctan2(z, sqrt(x^2 + y^2)) * 180 / pi``;
    the vectors need not be unit length (a zero vector gives 0, 0).
    """
    v = np.asarray(xyz, dtype=np.float64)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    azimuth = np.arctan2(y, x) * 180 / np.pi
    elevation = np.arctan2(z, np.sqrt(x**2 + y**2)) * 180 / np.pi
    return azimuth, elevation


def distance_rad(az1: Any, el1: Any, az2: Any, el2: Any) -> Any:
    """Great-circle distance in degrees between directions given in radians.

    Same operations in the same order as the official ``distance_between_spherical_
    coordinates_rad``; works on numpy scalars and arrays alike.
    """
    dist = np.sin(el1) * np.sin(el2) + np.cos(el1) * np.cos(el2) * np.cos(np.abs(az1 - az2))
    dist = np.clip(dist, -1, 1)
    return np.arccos(dist) * 180 / np.pi


def angular_distance(az1: Any, el1: Any, az2: Any, el2: Any) -> Any:
    """Angular distance in degrees between two directions given in degrees.

    Azimuth and elevation in degrees (scalars or broadcastable arrays); the result is a
    float64 scalar or array in [0, 180]. Degrees are converted with ``* np.pi / 180`` and
    the distance is ``arccos(clip(sin e1 sin e2 + cos e1 cos e2 cos|a1 - a2|, -1, 1))``
    in degrees, exactly as the official DCASE scorers compute it.
    """
    a1 = np.asarray(az1, dtype=np.float64) * np.pi / 180
    e1 = np.asarray(el1, dtype=np.float64) * np.pi / 180
    a2 = np.asarray(az2, dtype=np.float64) * np.pi / 180
    e2 = np.asarray(el2, dtype=np.float64) * np.pi / 180
    return distance_rad(a1, e1, a2, e2)


def wrap_azimuth(azimuth_deg: np.ndarray | float) -> np.ndarray:
    """Azimuth wrapped to [-180, 180)."""
    return np.mod(np.asarray(azimuth_deg, dtype=np.float64) + 180.0, 360.0) - 180.0
