"""First-order Ambisonics (FOA) channel conventions.

SELD Studio holds every FOA signal in **AmbiX**: ACN channel order **W, Y, Z, X** with
**SN3D** normalisation (the DCASE 2019–2024 FOA format). Directions follow the DCASE
convention: azimuth in degrees counter-clockwise from the front (+x), so +90° is left
(+y); elevation in degrees, positive up (+z).

A plane wave from (azimuth φ, elevation θ) with unit pressure gives the SN3D gains::

    W = 1,  Y = sin φ cos θ,  Z = sin θ,  X = cos φ cos θ

The older **FuMa** (Furse–Malham) convention orders the channels **W, X, Y, Z** and scales
W by 1/√2 (X, Y, Z are the same as SN3D at first order), so::

    W_ambix = √2 · W_fuma,   Y_ambix = Y_fuma,   Z_ambix = Z_fuma,   X_ambix = X_fuma

All functions take channels on the **first** axis: shape ``(4, ...)``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

FOA_CHANNELS: tuple[str, ...] = ("W", "Y", "Z", "X")
"""AmbiX (ACN) channel order used everywhere in SELD Studio."""

FUMA_CHANNELS: tuple[str, ...] = ("W", "X", "Y", "Z")
"""FuMa channel order (W scaled by 1/√2)."""

CONVENTIONS: tuple[str, ...] = ("ambix", "fuma")
"""FOA channel conventions a reader accepts (``convention=`` argument)."""

_SQRT2 = math.sqrt(2.0)


def _as_foa(x: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim < 1 or arr.shape[0] != 4:
        raise ValueError(f"{what} expects 4 channels on the first axis, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def fuma_to_ambix(x: ArrayLike) -> np.ndarray:
    """Convert FuMa FOA (W, X, Y, Z; W·1/√2) to AmbiX (W, Y, Z, X; SN3D).

    ``x`` has shape ``(4, ...)``; a new array of the same shape is returned (floating
    input keeps its dtype, integer input becomes float64).
    """
    f = _as_foa(x, "fuma_to_ambix")
    out = np.empty_like(f)
    out[0] = f[0] * f.dtype.type(_SQRT2)
    out[1] = f[2]  # Y
    out[2] = f[3]  # Z
    out[3] = f[1]  # X
    return out


def ambix_to_fuma(x: ArrayLike) -> np.ndarray:
    """Convert AmbiX FOA (W, Y, Z, X; SN3D) to FuMa (W, X, Y, Z; W·1/√2).

    The exact inverse of :func:`fuma_to_ambix`; ``x`` has shape ``(4, ...)``.
    """
    a = _as_foa(x, "ambix_to_fuma")
    out = np.empty_like(a)
    out[0] = a[0] / a.dtype.type(_SQRT2)
    out[1] = a[3]  # X
    out[2] = a[1]  # Y
    out[3] = a[2]  # Z
    return out


def foa_plane_wave_gains(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """AmbiX/SN3D gains ``(4,)`` (W, Y, Z, X) of a unit plane wave from the given direction.

    Azimuth counter-clockwise from the front (+90° = left), elevation up, in degrees.
    """
    az = math.radians(azimuth_deg)
    el = math.radians(elevation_deg)
    return np.array(
        [1.0, math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)],
        dtype=np.float64,
    )
