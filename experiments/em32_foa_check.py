"""How far first-order Ambisonics encoded from a rigid-sphere em32 departs from plane-wave FOA.

TAU-NIGENS and STARSS made their FOA format from the 32 capsules of an Eigenmike em32 (a
rigid sphere of 4.2 cm): a spherical-harmonic transform of the capsule signals and radial
(modal) equalisation. `seld synth` encodes each path as an ideal plane wave instead
(docs/SYNTHESIS.md). This script measures, with no noise and no regularisation (the best
case for the encoder), what the em32 route changes per frequency: a plane wave from each of
2,000 directions is "recorded" by the 32 capsules (:func:`core.synthesis.sphere.sphere_response`),
encoded by least squares to spherical harmonics up to order 4 (25 coefficients from 32
capsules), equalised by the order-0 and order-1 modal strengths, and compared with the
plane-wave FOA of the same direction:

* the direction error of the active intensity ``Re{W* (X, Y, Z)}`` (what the model's
  intensity-vector features see), mean and 95th percentile over the directions;
* the level error of W, in dB, mean and largest.

    python experiments/em32_foa_check.py

The capsule directions are the em32's published ones (mh acoustics, em32 manual; capsules
6, 10, 22 and 26 are the DCASE MIC tetrahedron, as in core/spatial/mic_array.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.special import sph_harm_y

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.synthesis.sphere import MIC_RADIUS_M, SPEED_OF_SOUND, modal_strength, sphere_response  # noqa: E402

# (colatitude, azimuth) in degrees, capsules 1-32
EM32 = [
    (69, 0), (90, 32), (111, 0), (90, 328), (32, 0), (55, 45), (90, 69), (125, 45),
    (148, 0), (125, 315), (90, 291), (55, 315), (21, 91), (58, 90), (121, 90), (159, 89),
    (69, 180), (90, 212), (111, 180), (90, 148), (32, 180), (55, 225), (90, 249), (125, 225),
    (148, 180), (125, 135), (90, 111), (55, 135), (21, 269), (58, 270), (122, 270), (159, 271),
]  # fmt: skip
ORDER = 4


def unit(colat: np.ndarray, az: np.ndarray) -> np.ndarray:
    return np.stack([np.sin(colat) * np.cos(az), np.sin(colat) * np.sin(az), np.cos(colat)], axis=-1)


def real_sh(order: int, colat: np.ndarray, az: np.ndarray) -> np.ndarray:
    """Orthonormal real spherical harmonics ``(len(colat), (order + 1)^2)``, ACN order."""
    cols = []
    for n in range(order + 1):
        for m in range(-n, n + 1):
            y = sph_harm_y(n, abs(m), colat, az)
            if m > 0:
                cols.append(np.sqrt(2) * (-1) ** m * y.real)
            elif m < 0:
                cols.append(np.sqrt(2) * (-1) ** m * y.imag)
            else:
                cols.append(y.real)
    return np.stack(cols, axis=-1)


def main() -> int:
    caps = np.radians(np.array(EM32, dtype=float))
    c = unit(caps[:, 0], caps[:, 1])  # (32, 3)
    if np.linalg.norm(c[5] - unit(np.radians(55), np.radians(45))) > 1e-9:
        raise SystemExit("capsule table misread")
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2000, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    colat, az = np.arccos(u[:, 2]), np.arctan2(u[:, 1], u[:, 0])
    encoder = np.linalg.pinv(real_sh(ORDER, caps[:, 0], caps[:, 1]))  # (25, 32)
    y1 = real_sh(1, colat, az)  # the plane wave's own order-0/1 coefficients (ACN: W, Y, Z, X)
    print("  f (kHz)   direction error mean / 95th pct (deg)   W level error mean / max (dB)")
    for f in (250, 500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 11000, 12000):
        ka = 2 * np.pi * f * MIC_RADIUS_M / SPEED_OF_SOUND
        b = modal_strength(np.array([ka]))[0]
        p = sphere_response((u @ c.T).reshape(-1), np.array([f])).reshape(len(u), 32)  # (D, 32)
        a = p @ encoder.T  # (D, 25): 4 pi b_n Y_nm(u) plus aliasing of orders > 4
        w = a[:, 0] / (4 * np.pi * b[0])
        v = a[:, 1:4] / (4 * np.pi * b[1])  # ACN 1, 2, 3 = Y, Z, X
        intensity = np.real(np.conj(w)[:, None] * v)[:, [2, 0, 1]]  # -> x, y, z
        est = intensity / np.linalg.norm(intensity, axis=1, keepdims=True)
        err = np.degrees(np.arccos(np.clip(np.sum(est * u, axis=1), -1, 1)))
        level = 20 * np.log10(np.abs(w) / np.abs(y1[:, 0]))
        print(
            f"  {f / 1000:6.2f}   {err.mean():8.2f} / {np.percentile(err, 95):6.2f}"
            f"                     {np.abs(level).mean():6.2f} / {np.abs(level).max():6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
