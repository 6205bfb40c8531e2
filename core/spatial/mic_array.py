"""Geometry of the DCASE "MIC" format: the tetrahedral sub-array of an Eigenmike em32.

The TAU / STARSS SELD datasets ship the MIC format as four omnidirectional capsules
(em32 capsules 6, 10, 26, 22) on a rigid sphere of radius 4.2 cm, in channel order
M1..M4 at (azimuth, elevation) in degrees::

    M1 (45, 35)   M2 (-45, -35)   M3 (135, -35)   M4 (-135, 35)

Directions follow the DCASE convention: azimuth counter-clockwise from the front
(+x), +90° = left (+y); elevation positive up (+z). Cartesian coordinates are
right-handed ``(x, y, z)`` with ``x = cos(el) cos(az)``, ``y = cos(el) sin(az)``,
``z = sin(el)``.
"""

from __future__ import annotations

import numpy as np

from core.spatial.directions import azel_to_xyz

MIC_RADIUS_M = 0.042
"""Radius of the Eigenmike em32 sphere, in metres."""

MIC_CAPSULES_DEG: tuple[tuple[float, float], ...] = (
    (45.0, 35.0),
    (-45.0, -35.0),
    (135.0, -35.0),
    (-135.0, 35.0),
)
"""(azimuth, elevation) in degrees of capsules M1, M2, M3, M4, in channel order."""

MIC_CHANNELS: tuple[str, ...] = ("M1", "M2", "M3", "M4")
"""Channel names of the MIC format, in file order."""


def mic_capsule_unit_vectors() -> np.ndarray:
    """Unit direction vectors of the four capsules, shape ``(4, 3)``, rows M1..M4, ``(x, y, z)``."""
    ang = np.asarray(MIC_CAPSULES_DEG, dtype=np.float64)
    return azel_to_xyz(ang[:, 0], ang[:, 1])


def mic_capsule_positions(radius_m: float = MIC_RADIUS_M) -> np.ndarray:
    """Cartesian capsule positions in metres, shape ``(4, 3)``, rows M1..M4, array centre at the origin."""
    return radius_m * mic_capsule_unit_vectors()
