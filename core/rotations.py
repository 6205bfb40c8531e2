"""The 16 rotations and reflections of a first-order sound field, on DCASE FOA features.

X, Y and Z of an FOA (AmbiX) signal are linear in the direction of every wave that makes
it up. A signed permutation ``M`` of the axes that keeps z in place (azimuth
``φ -> ±φ + k·90°``, elevation ``θ -> ±θ``: 2 x 4 x 2 = 16 maps) therefore turns the
recording of a scene into the recording of the scene turned by ``M``, direct sound,
reflections, reverberation and noise alike, and the channels only move and change sign:
``[X', Y', Z'] = M [X, Y, Z]``, W unchanged (Mazzon, Yasuda, Koizumi and Harada, "First
order Ambisonics domain spatial augmentation for DNN-based direction of arrival
estimation", DCASE 2019).

The maps are exact on the DCASE 2020 features (:mod:`core.features`): the log-mel spectra of
X and Y are exchanged or not (a sign does not change a magnitude; the 80 dB floor is per
channel), W and Z keep theirs, and the intensity vectors ``Re(conj(W)·[X, Y, Z]) / |I|`` are
permuted and sign-flipped like the direction (``|I|`` does not change). A map is written
``(swap, signs)``: new ``(x, y, z)`` = ``signs * (y, x, z)`` if ``swap`` else ``signs * (x, y, z)``.

Two uses:

* training (``data.rotate_augment``): each segment is turned by a random map, features and
  DOA targets together (:mod:`core.training_data`);
* inference (``rotations`` of a model package, ``--rotations`` of ``seld infer`` and
  ``seld eval``): the recording is run through the network turned by each map of a set, each
  DOA output is turned back by the inverse map, and the SED and DOA outputs are averaged
  (test-time augmentation). :data:`ROTATION_SETS` lists the sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import SeldError

__all__ = ["ROTATION_SETS", "FoaRotation", "rotation_set"]


@dataclass(frozen=True)
class FoaRotation:
    """One of the 16 maps (see the module docstring); the default is the identity."""

    swap: bool = False
    signs: tuple[int, int, int] = (1, 1, 1)

    # FOA feature channels: 0 W, 1 Y, 2 Z, 3 X log-mel; 4 IVx, 5 IVy, 6 IVz
    _LOGMEL_OF_AXIS = (3, 1, 2)
    _IV_OF_AXIS = (4, 5, 6)

    @staticmethod
    def all() -> list[FoaRotation]:
        """The 16 maps, the identity first (swap, then the x, y, z signs; z flips alternate)."""
        return [
            FoaRotation(swap, (sx, sy, sz))
            for swap in (False, True)
            for sx in (1, -1)
            for sy in (1, -1)
            for sz in (1, -1)
        ]

    @classmethod
    def draw(cls, rng: np.random.Generator) -> FoaRotation:
        """A map drawn uniformly from :meth:`all`."""
        return cls.all()[int(rng.integers(0, 16))]

    @property
    def source_axes(self) -> tuple[int, int, int]:
        """For each new axis (x, y, z), the old axis it comes from."""
        return (1, 0, 2) if self.swap else (0, 1, 2)

    def inverse(self) -> FoaRotation:
        """The map that undoes this one."""
        p = self.source_axes  # an involution: its own inverse permutation
        return FoaRotation(self.swap, (self.signs[p[0]], self.signs[p[1]], self.signs[p[2]]))

    def apply_to_xyz(self, xyz: np.ndarray) -> np.ndarray:
        """Map directions ``(..., 3)`` (x, y, z last)."""
        xyz = np.asarray(xyz)
        return xyz[..., list(self.source_axes)] * np.asarray(self.signs, dtype=xyz.dtype)

    def apply_to_features(self, feats: np.ndarray) -> np.ndarray:
        """The features ``(7, T, F)`` of the turned scene (a new float32 array)."""
        if feats.shape[0] != 7:
            raise SeldError(
                f"FOA rotation needs the 7 FOA feature channels, not {feats.shape[0]} (MIC features?)"
            )
        out = np.empty(feats.shape, dtype=np.float32)
        out[0] = feats[0]
        for new, old in enumerate(self.source_axes):
            out[self._LOGMEL_OF_AXIS[new]] = feats[self._LOGMEL_OF_AXIS[old]]
            out[self._IV_OF_AXIS[new]] = feats[self._IV_OF_AXIS[old]]
            if self.signs[new] < 0:
                np.negative(out[self._IV_OF_AXIS[new]], out=out[self._IV_OF_AXIS[new]])
        return out

    def apply_to_doa(self, doa: np.ndarray) -> np.ndarray:
        """DOA values ``(T, 3K)`` in the ``[x.., y.., z..]`` layout of :mod:`core.targets`, mapped like directions."""
        t, width = doa.shape
        k = width // 3
        blocks = np.asarray(doa).reshape(t, 3, k)
        out = blocks[:, list(self.source_axes)] * np.asarray(self.signs, dtype=doa.dtype)[None, :, None]
        return np.ascontiguousarray(out.reshape(t, width))


def _proper_azimuth_turns() -> tuple[FoaRotation, ...]:
    # azimuth + 0, 90, 180, 270 degrees: (x, y) -> (x, y), (-y, x), (-x, -y), (y, -x)
    return (
        FoaRotation(False, (1, 1, 1)),
        FoaRotation(True, (-1, 1, 1)),
        FoaRotation(False, (-1, -1, 1)),
        FoaRotation(True, (1, -1, 1)),
    )


ROTATION_SETS: dict[int, tuple[FoaRotation, ...]] = {
    1: (FoaRotation(),),
    4: _proper_azimuth_turns(),
    8: tuple(r for r in FoaRotation.all() if r.signs[2] == 1),
    16: tuple(FoaRotation.all()),
}
"""Test-time rotation sets by size: 1 (none), 4 (azimuth turns by 90°), 8 (the azimuth
turns and mirror images, elevation kept), 16 (all, elevation also mirrored)."""


def rotation_set(n: int, fmt: str = "foa") -> tuple[FoaRotation, ...]:
    """The set of ``n`` maps for test-time rotation; :class:`SeldError` names what is wrong."""
    if isinstance(n, bool) or n not in ROTATION_SETS:
        raise SeldError(f"rotations must be one of {', '.join(map(str, ROTATION_SETS))}, not {n!r}")
    if n > 1 and fmt != "foa":
        raise SeldError(f"test-time rotations work on FOA recordings only, not {fmt.upper()}")
    return ROTATION_SETS[n]
