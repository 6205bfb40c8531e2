"""Exact rotations and reflections of a recorded sound field, on DCASE features.

The maps are the signed permutations ``M`` of the axes that keep z in place: azimuth
``φ -> ±φ + k·90°`` and elevation ``θ -> ±θ`` (2 x 4 x 2 = 16 maps). A map is written
``(swap, signs)``: new ``(x, y, z)`` = ``signs * (y, x, z)`` if ``swap`` else
``signs * (x, y, z)``. Turning a scene by ``M`` turns everything in it (direct sound,
reflections, reverberation, noise), so the result is again a physically valid scene, and
its recording can be computed from the original one (Mazzon, Yasuda, Koizumi and Harada,
"First order Ambisonics domain spatial augmentation for DNN-based direction of arrival
estimation", DCASE 2019):

* **FOA** (all 16 maps). X, Y and Z of an AmbiX signal are linear in the direction of
  every wave, so ``[X', Y', Z'] = M [X, Y, Z]`` and W is unchanged. On the DCASE 2020
  features: the log-mel spectra of X and Y are exchanged or not (a sign does not change a
  magnitude; the 80 dB floor is per channel), W's and Z's stay, and the intensity vectors
  ``Re(conj(W)·[X, Y, Z]) / |I|`` are permuted and sign-flipped like the direction.
  Exact.
* **MIC** (8 maps: those with ``sx·sy·sz = +1``, which carry the tetrahedron M1 (45°, 35°),
  M2 (-45°, -35°), M3 (135°, -35°), M4 (-135°, 35°) onto itself). The array turned by
  ``M`` is the same array with its capsules relabelled, so the recording of the turned
  scene is the original recording with its channels permuted (capsule directivity and the
  sphere's scattering are symmetric under these maps too). On the features: the four
  log-mel channels are permuted, and so are the six GCC-PHAT pairs, each reversed in lag
  where the permutation swaps its two capsules. Exact, except for one bin of a reversed
  pair: its lag -32 would be the original lag +32, which the features do not keep
  (lags -32..31); it repeats lag -31. The physical delays are within ±5 samples.

Two uses:

* training (``data.rotate_augment``): each segment is turned by a random map, features and
  DOA targets together (:mod:`core.data.training_data`);
* inference (``rotations`` of a model package, ``--rotations`` of ``seld infer`` and
  ``seld eval``): the recording is run through the network turned by each map of a set,
  each DOA output is turned back by the inverse map, and the SED and DOA outputs are
  averaged (test-time augmentation). :data:`ROTATION_SETS` lists the sets; each is a group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.common.errors import SeldError

__all__ = ["ROTATION_SETS", "Rotation", "chosen_rotations", "rotation_set"]

# capsule sign patterns (sign x, sign y, sign z) of M1..M4 (see core.spatial.mic_array)
_CAPSULE_SIGNS = ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1))
# the GCC-PHAT pairs of core.dsp.features, in channel order
_MIC_PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


@dataclass(frozen=True)
class Rotation:
    """One map (see the module docstring); the default is the identity."""

    swap: bool = False
    signs: tuple[int, int, int] = (1, 1, 1)

    # FOA feature channels: 0 W, 1 Y, 2 Z, 3 X log-mel; 4 IVx, 5 IVy, 6 IVz
    _LOGMEL_OF_AXIS = (3, 1, 2)
    _IV_OF_AXIS = (4, 5, 6)

    @staticmethod
    def all(fmt: str = "foa") -> list[Rotation]:
        """The maps that apply to ``fmt``, the identity first: 16 for FOA, 8 for MIC."""
        maps = [
            Rotation(swap, (sx, sy, sz))
            for swap in (False, True)
            for sx in (1, -1)
            for sy in (1, -1)
            for sz in (1, -1)
        ]
        return maps if fmt == "foa" else [r for r in maps if r.keeps_the_tetrahedron]

    @classmethod
    def draw(cls, rng: np.random.Generator, fmt: str = "foa") -> Rotation:
        """A map drawn uniformly from :meth:`all` of ``fmt``."""
        maps = cls.all(fmt)
        return maps[int(rng.integers(0, len(maps)))]

    @property
    def keeps_the_tetrahedron(self) -> bool:
        """Whether the MIC array is carried onto itself (``sx·sy·sz = +1``)."""
        return self.signs[0] * self.signs[1] * self.signs[2] == 1

    @property
    def source_axes(self) -> tuple[int, int, int]:
        """For each new axis (x, y, z), the old axis it comes from."""
        return (1, 0, 2) if self.swap else (0, 1, 2)

    def inverse(self) -> Rotation:
        """The map that undoes this one."""
        p = self.source_axes  # an involution: its own inverse permutation
        return Rotation(self.swap, (self.signs[p[0]], self.signs[p[1]], self.signs[p[2]]))

    def apply_to_xyz(self, xyz: np.ndarray) -> np.ndarray:
        """Map directions ``(..., 3)`` (x, y, z last)."""
        xyz = np.asarray(xyz)
        return xyz[..., list(self.source_axes)] * np.asarray(self.signs, dtype=xyz.dtype)

    @property
    def capsule_sources(self) -> tuple[int, int, int, int]:
        """MIC: for each capsule of the turned recording, the original capsule it is.

        The turned scene reaches capsule ``p`` as the original reaches ``M^-1 p``.
        """
        if not self.keeps_the_tetrahedron:
            raise SeldError(f"{self} does not carry the MIC tetrahedron onto itself")
        back = self.inverse()
        out = []
        for signs in _CAPSULE_SIGNS:
            target = tuple(int(v) for v in back.apply_to_xyz(np.asarray(signs)))
            out.append(_CAPSULE_SIGNS.index(target))
        return tuple(out)  # type: ignore[return-value]

    def apply_to_features(self, feats: np.ndarray) -> np.ndarray:
        """The features ``(7 or 10, T, F)`` of the turned scene (a new float32 array)."""
        if feats.shape[0] == 7:
            return self._foa(feats)
        if feats.shape[0] == 10:
            return self._mic(feats)
        raise SeldError(f"rotation needs FOA (7) or MIC (10) feature channels, not {feats.shape[0]}")

    def _foa(self, feats: np.ndarray) -> np.ndarray:
        out = np.empty(feats.shape, dtype=np.float32)
        out[0] = feats[0]
        for new, old in enumerate(self.source_axes):
            out[self._LOGMEL_OF_AXIS[new]] = feats[self._LOGMEL_OF_AXIS[old]]
            out[self._IV_OF_AXIS[new]] = feats[self._IV_OF_AXIS[old]]
            if self.signs[new] < 0:
                np.negative(out[self._IV_OF_AXIS[new]], out=out[self._IV_OF_AXIS[new]])
        return out

    def _mic(self, feats: np.ndarray) -> np.ndarray:
        src = self.capsule_sources
        out = np.empty(feats.shape, dtype=np.float32)
        out[:4] = feats[list(src)]
        for k, (a, b) in enumerate(_MIC_PAIRS):
            pa, pb = src[a], src[b]
            if pa < pb:
                out[4 + k] = feats[4 + _MIC_PAIRS.index((pa, pb))]
            else:  # the pair runs the other way: lag l becomes -l (index i -> 64 - i)
                old = feats[4 + _MIC_PAIRS.index((pb, pa))]
                out[4 + k, ..., 1:] = old[..., :0:-1]
                out[4 + k, ..., 0] = out[4 + k, ..., 1]  # lag -32 is not kept: repeat lag -31
        return out

    def apply_to_doa(self, doa: np.ndarray) -> np.ndarray:
        """DOA values ``(T, 3K)`` in the ``[x.., y.., z..]`` layout of :mod:`core.labels.targets`, mapped like directions."""
        t, width = doa.shape
        k = width // 3
        blocks = np.asarray(doa).reshape(t, 3, k)
        out = blocks[:, list(self.source_axes)] * np.asarray(self.signs, dtype=doa.dtype)[None, :, None]
        return np.ascontiguousarray(out.reshape(t, width))


ROTATION_SETS: dict[str, dict[int, tuple[Rotation, ...]]] = {
    "foa": {
        1: (Rotation(),),
        # azimuth + 0, 90, 180, 270 degrees: (x, y) -> (x, y), (-y, x), (-x, -y), (y, -x)
        4: (
            Rotation(False, (1, 1, 1)),
            Rotation(True, (-1, 1, 1)),
            Rotation(False, (-1, -1, 1)),
            Rotation(True, (1, -1, 1)),
        ),
        8: tuple(r for r in Rotation.all("foa") if r.signs[2] == 1),
        16: tuple(Rotation.all("foa")),
    },
    "mic": {
        1: (Rotation(),),
        4: tuple(r for r in Rotation.all("mic") if not r.swap),  # half-turns about x, y and z
        8: tuple(Rotation.all("mic")),
    },
}
"""Test-time rotation sets by format and size. FOA: 4 (azimuth turns by 90°), 8 (those and
their mirror images, elevation kept), 16 (also elevation mirrored). MIC: 4 (half-turns
about the x, y and z axes), 8 (all maps that keep the tetrahedron)."""


def rotation_set(n: int, fmt: str = "foa") -> tuple[Rotation, ...]:
    """The set of ``n`` maps for test-time rotation of ``fmt``; :class:`SeldError` names what is wrong."""
    sets = ROTATION_SETS.get(fmt)
    if sets is None:
        raise SeldError(f"no rotations for the format {fmt!r}")
    if isinstance(n, bool) or n not in sets:
        raise SeldError(f"rotations for {fmt.upper()} must be one of {', '.join(map(str, sets))}, not {n!r}")
    return sets[n]


def chosen_rotations(meta, requested: int | None = None) -> tuple[Rotation, ...]:
    """The set to run a model with: ``requested``, or the package's ``rotations`` when ``None``.

    ``meta`` is the model's :class:`~core.packages.schema.PackageMeta` (its ``fmt`` and ``rotations``).
    """
    return rotation_set(meta.rotations if requested is None else requested, meta.fmt)
