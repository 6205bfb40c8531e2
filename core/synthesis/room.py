"""Shoebox rooms for scene synthesis: geometry, wall absorption, RT60 and image sources.

Coordinates
-----------
A room is the box ``[0, Lx] x [0, Ly] x [0, Lz]`` in metres. The microphone array (the
receiver) sits at :attr:`Room.receiver` with its axes aligned to the room's: azimuth is
counter-clockwise from +x (+90° = +y, "left"), elevation is positive towards +z (up), as
everywhere in SELD Studio (:mod:`core.spatial.ambisonics`).

Acoustics
---------
Each of the six walls (order ``x=0, x=Lx, y=0, y=Ly, z=0, z=Lz``) has energy absorption
coefficients ``alpha_b`` in the seven octave bands 125 Hz-8 kHz
(:attr:`Room.band_absorption`; pressure reflection ``beta_b = sqrt(1 - alpha_b)``) and a
broadband ``alpha`` (:attr:`Room.absorption`, the mean of its 500 Hz and 1 kHz bands).
Rooms built by hand without bands are flat (every band = ``alpha``). Sound in the room is
also absorbed by the air (ISO 9613-1, 20 °C, 50 % RH; :mod:`core.synthesis.acoustics`)
unless ``air=False``. Per band, Eyring's formula with air absorption
``RT60_b = 0.161 V / (-S ln(1 - alpha_mean,b) + 4 m_b V)`` gives the decay of the diffuse
tail; :func:`random_room` draws real materials (floor, ceiling, four walls) and scales
their absorption so that the mean of the 500 Hz and 1 kHz band RT60s is the drawn
``rt60``, so that the image sources (early part) and the statistical diffuse tail (late
part, see :mod:`core.synthesis.spatial`) describe the same room.
:meth:`Room.band_reverberant_energy` is the diffuse-field energy of the room's impulse
response per band relative to the direct sound at 1 m, from Sabine/Eyring theory.

Image sources (Allen & Berkley 1979): along each axis an image index ``a`` in ``-N..N``
means ``|a|`` reflections on that axis's two walls; an image of total order
``|a| + |b| + |c| <= max_order`` is kept. :func:`image_sources` returns their positions
and their reflection gains (the product of the walls' ``beta``); the ``1/r`` spreading
and the delay are applied by the renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from core.synthesis.acoustics import (
    MATERIALS,
    MID_BANDS,
    N_BANDS,
    OPEN,
    band_air_absorption,
    draw_materials,
    draw_open_air_materials,
)

__all__ = [
    "DEFAULT_MAX_ORDER",
    "SPEED_OF_SOUND",
    "Room",
    "image_band_gains",
    "image_orders",
    "image_sources",
    "max_distance",
    "open_air_room",
    "random_room",
    "scale_materials",
]

SPEED_OF_SOUND = 343.0
"""Speed of sound in m/s (air at about 20 °C)."""
DEFAULT_MAX_ORDER = 3
"""Highest image-source order rendered explicitly (later reflections are the diffuse tail)."""
_SABINE = 0.161  # s/m: 24 ln(10) / c
WALL_MARGIN_M = 0.25
"""Minimum distance of a source from any wall, in metres."""


@dataclass(frozen=True)
class Room:
    """A shoebox room with a receiver position and a late-reverberation time.

    ``size`` is ``(Lx, Ly, Lz)`` in metres; ``absorption`` the energy absorption coefficients
    of the walls ``x=0, x=Lx, y=0, y=Ly, z=0, z=Lz`` (0 = rigid, 1 = anechoic); ``receiver``
    the array centre; ``rt60`` the reverberation time (s) of the diffuse tail (0 = no tail);
    ``max_order`` the highest image-source order (0 = direct sound only).
    ``capsule_gain_db``, ``capsule_delay_us`` and ``capsule_tilt_db`` are the MIC capsules'
    (M1..M4) gain, delay and high-frequency sensitivity mismatch of the array used in this
    room (:func:`core.synthesis.sphere.apply_capsule_mismatch`; zeros: ideal capsules).
    """

    size: tuple[float, float, float]
    absorption: tuple[float, float, float, float, float, float]
    receiver: tuple[float, float, float]
    rt60: float
    max_order: int = DEFAULT_MAX_ORDER
    name: str = field(default="", compare=False)
    capsule_gain_db: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    capsule_delay_us: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    capsule_tilt_db: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    band_absorption: tuple[tuple[float, ...], ...] | None = None
    """Per wall (6) the absorption in the 7 octave bands 125 Hz-8 kHz; ``None``: flat (``absorption``)."""
    air: bool = True
    """Air absorption (ISO 9613-1, 20 °C, 50 % RH) on the paths and in the tail's band RT60s."""
    materials: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if len(self.size) != 3 or min(self.size) <= 0:
            raise ValueError(f"room size must be three positive lengths, not {self.size}")
        if len(self.absorption) != 6 or not all(0.0 <= a <= 1.0 for a in self.absorption):
            raise ValueError(f"room absorption must be six coefficients in [0, 1], not {self.absorption}")
        rx = np.asarray(self.receiver, dtype=np.float64)
        if rx.shape != (3,) or np.any(rx <= 0) or np.any(rx >= np.asarray(self.size)):
            raise ValueError(f"the receiver {self.receiver} is not inside the room {self.size}")
        for values in (self.capsule_gain_db, self.capsule_delay_us, self.capsule_tilt_db):
            if len(values) != 4:
                raise ValueError("capsule mismatch needs four values (M1..M4)")
        if self.band_absorption is not None:
            bands = np.asarray(self.band_absorption, dtype=np.float64)
            if bands.shape != (6, N_BANDS) or np.any(bands < 0) or np.any(bands > 1):
                raise ValueError("band absorption must be 6 walls x 7 bands of coefficients in [0, 1]")
        if self.rt60 < 0 or self.max_order < 0:
            raise ValueError("rt60 and max_order must not be negative")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def anechoic(cls, size: float = 20.0) -> Room:
        """A free field: direct sound only, no reflections, no tail (receiver at the centre of a big box)."""
        half = size / 2
        return cls((size, size, size), (1.0,) * 6, (half, half, half), rt60=0.0, max_order=0, name="anechoic")

    @classmethod
    def from_rt60(
        cls,
        size: tuple[float, float, float],
        rt60: float,
        receiver: tuple[float, float, float] | None = None,
        max_order: int = DEFAULT_MAX_ORDER,
        name: str = "",
    ) -> Room:
        """A room with the same absorption on every wall, chosen by Eyring's formula for ``rt60``."""
        alpha = eyring_absorption(size, rt60)
        rx = receiver if receiver is not None else (size[0] / 2, size[1] / 2, min(1.3, size[2] / 2))
        dims = (float(size[0]), float(size[1]), float(size[2]))
        at = (float(rx[0]), float(rx[1]), float(rx[2]))
        return cls(dims, (alpha,) * 6, at, rt60=rt60, max_order=max_order, name=name)

    # ------------------------------------------------------------------ properties

    @property
    def volume(self) -> float:
        """Volume in m³."""
        return float(np.prod(self.size))

    @property
    def surface(self) -> float:
        """Total wall area in m²."""
        lx, ly, lz = self.size
        return 2.0 * (lx * ly + lx * lz + ly * lz)

    @property
    def wall_areas(self) -> np.ndarray:
        """Areas ``(6,)`` of the walls in the order of :attr:`absorption`."""
        lx, ly, lz = self.size
        return np.array([ly * lz, ly * lz, lx * lz, lx * lz, lx * ly, lx * ly])

    @property
    def mean_absorption(self) -> float:
        """Area-weighted mean absorption coefficient."""
        return float(np.dot(self.wall_areas, self.absorption) / self.surface)

    @property
    def reflection(self) -> np.ndarray:
        """Pressure reflection coefficients ``beta = sqrt(1 - alpha)`` of the six walls."""
        return np.sqrt(1.0 - np.asarray(self.absorption, dtype=np.float64))

    @property
    def eyring_rt60(self) -> float:
        """RT60 that Eyring's formula gives for the walls' absorption (``inf`` for rigid walls)."""
        a = self.mean_absorption
        if a <= 0:
            return math.inf
        if a >= 1:
            return 0.0
        return _SABINE * self.volume / (-self.surface * math.log(1.0 - a))

    @property
    def band_alpha(self) -> np.ndarray:
        """Absorption ``(6, N_BANDS)`` of the walls per octave band (flat rooms: ``absorption`` in every band)."""
        if self.band_absorption is None:
            return np.repeat(np.asarray(self.absorption, dtype=np.float64)[:, None], N_BANDS, axis=1)
        return np.asarray(self.band_absorption, dtype=np.float64)

    @property
    def band_reflection(self) -> np.ndarray:
        """Pressure reflection coefficients ``(6, N_BANDS)`` of the walls per band."""
        return np.sqrt(1.0 - self.band_alpha)

    @property
    def band_mean_absorption(self) -> np.ndarray:
        """Area-weighted mean absorption per band ``(N_BANDS,)``."""
        return self.wall_areas @ self.band_alpha / self.surface

    def band_eyring_rt60(self) -> np.ndarray:
        """Eyring RT60 per band with the air term ``4 m V`` (``m`` = ISO 9613-1 energy coefficient, 1/m)."""
        a = np.clip(self.band_mean_absorption, 0.0, 1.0 - 1e-12)
        air = 4.0 * band_air_absorption() / (10.0 * math.log10(math.e)) * self.volume if self.air else 0.0
        denom = -self.surface * np.log1p(-a) + air
        with np.errstate(divide="ignore"):
            return np.where(denom > 0, _SABINE * self.volume / np.maximum(denom, 1e-300), np.inf)

    @property
    def band_rt60(self) -> np.ndarray:
        """RT60 of the diffuse tail per band ``(N_BANDS,)``.

        The band Eyring RT60s scaled so that the mean of the 500 Hz and 1 kHz bands is
        :attr:`rt60` (for :func:`random_room` the scale is 1; a flat room without air
        absorption has ``rt60`` in every band). Zeros without a tail.
        """
        if self.rt60 <= 0:
            return np.zeros(N_BANDS)
        ey = self.band_eyring_rt60()
        mid = float(np.mean(ey[list(MID_BANDS)]))
        if not math.isfinite(mid) or mid <= 0:
            return np.full(N_BANDS, self.rt60)
        return self.rt60 * ey / mid

    def band_reverberant_energy(self) -> np.ndarray:
        """:meth:`reverberant_energy` per band ``(N_BANDS,)``: ``16 pi (1 - alpha_b) RT60_b / (0.161 V)``."""
        rt = self.band_rt60
        return 16.0 * math.pi * (1.0 - self.band_mean_absorption) * rt / (_SABINE * self.volume)

    def reverberant_energy(self) -> float:
        """Energy of the diffuse reverberation relative to the direct sound at 1 m.

        Statistical room acoustics: the reverberant energy of a point source is that of
        its direct sound at the critical distance ``r_c = sqrt(A / (16 pi))`` times
        ``(1 - alpha_mean)``, with the equivalent absorption area ``A = 0.161 V / RT60``.
        So ``E_rev = 16 pi (1 - alpha_mean) RT60 / (0.161 V)`` (0 without a tail).
        """
        if self.rt60 <= 0:
            return 0.0
        area = _SABINE * self.volume / self.rt60
        return 16.0 * math.pi * (1.0 - self.mean_absorption) / area

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly description (for the dataset's ``synth_info.json``)."""
        return {
            "name": self.name,
            "size_m": [round(v, 4) for v in self.size],
            "absorption": [round(v, 4) for v in self.absorption],
            "receiver_m": [round(v, 4) for v in self.receiver],
            "rt60_s": round(self.rt60, 4),
            "band_rt60_s": [round(float(v), 4) for v in self.band_rt60],
            "band_absorption": [[round(float(v), 4) for v in row] for row in self.band_alpha],
            "materials": list(self.materials),
            "air_absorption": self.air,
            "max_order": self.max_order,
            "capsule_gain_db": [round(v, 3) for v in self.capsule_gain_db],
            "capsule_delay_us": [round(v, 3) for v in self.capsule_delay_us],
            "capsule_tilt_db": [round(v, 3) for v in self.capsule_tilt_db],
        }


def eyring_absorption(size: tuple[float, float, float], rt60: float) -> float:
    """Mean absorption coefficient that gives ``rt60`` by Eyring's formula in a box of ``size``."""
    if rt60 <= 0:
        return 1.0
    lx, ly, lz = size
    volume = lx * ly * lz
    surface = 2.0 * (lx * ly + lx * lz + ly * lz)
    return float(1.0 - math.exp(-_SABINE * volume / (surface * rt60)))


def random_room(
    rng: np.random.Generator,
    size_range: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = (
        (4.0, 10.0),
        (4.0, 10.0),
        (2.5, 4.0),
    ),
    rt60_range: tuple[float, float] = (0.2, 0.8),
    max_order: int = DEFAULT_MAX_ORDER,
    name: str = "",
) -> Room:
    """A random shoebox room: size, RT60, wall materials and receiver position.

    The size is uniform in ``size_range``, the RT60 uniform in ``rt60_range``. The floor,
    the ceiling and each of the four walls get a real material
    (:func:`core.synthesis.acoustics.draw_materials`), whose octave-band absorption is
    scaled by one factor (clipped to 0.99) so that the mean of the 500 Hz and 1 kHz band
    RT60s (Eyring with air absorption) is the drawn RT60 (:func:`scale_materials`). The receiver is within ±20 % of the room's centre
    horizontally and 1.1–1.5 m above the floor (never closer than 1.35 m to the ceiling
    minus the wall margin), so that sources 1 m away fit in every direction. The MIC
    capsules get a random mismatch (gain N(0, 0.5 dB) clipped to ±1 dB, delay ±2 µs,
    high-frequency tilt ±0.5 dB; drawn last, so the geometry is that of earlier versions).
    """
    size = tuple(float(rng.uniform(lo, hi)) for lo, hi in size_range)
    rt60 = float(rng.uniform(*rt60_range))
    lx, ly, lz = size
    names = draw_materials(rng)
    bands = scale_materials(size, np.array([MATERIALS[m] for m in names]), rt60)  # type: ignore[arg-type]
    alpha = bands[:, list(MID_BANDS)].mean(axis=1)
    rx = (
        lx * float(rng.uniform(0.3, 0.7)),
        ly * float(rng.uniform(0.3, 0.7)),
        float(min(rng.uniform(1.1, 1.5), lz - 1.0 - WALL_MARGIN_M)),
    )
    return Room(
        size,  # type: ignore[arg-type]
        tuple(float(a) for a in alpha),  # type: ignore[arg-type]
        rx,
        rt60=rt60,
        max_order=max_order,
        name=name,
        band_absorption=tuple(tuple(float(v) for v in row) for row in bands),
        materials=names,
        **_capsule_mismatch(rng),  # type: ignore[arg-type]
    )


def _capsule_mismatch(rng: np.random.Generator) -> dict[str, tuple[float, ...]]:
    gain_db = np.clip(rng.normal(0.0, 0.5, size=4), -1.0, 1.0)
    delay_us = rng.uniform(-2.0, 2.0, size=4)
    tilt_db = rng.uniform(-0.5, 0.5, size=4)
    return {
        "capsule_gain_db": tuple(float(v) for v in gain_db),
        "capsule_delay_us": tuple(float(v) for v in delay_us),
        "capsule_tilt_db": tuple(float(v) for v in tilt_db),
    }


OPEN_AIR_SIZE_M = (60.0, 60.0, 30.0)
"""The box an open-air scene is computed in: its open sides absorb everything."""
OPEN_AIR_ORDER = 2
"""Image order of open-air scenes: the ground, the facade, and the ground-facade path."""


def open_air_room(rng: np.random.Generator, facade_probability: float = 0.5, name: str = "") -> Room:
    """An open-air scene: a ground, perhaps one building facade, no other surface and no tail.

    The ground is paving, concrete, grass or compacted soil
    (:data:`core.synthesis.acoustics.GROUNDS`); with probability ``facade_probability`` a
    facade (:data:`~core.synthesis.acoustics.FACADES`) stands 2-10 m from the receiver, at
    ``x=0``. The other sides of the :data:`OPEN_AIR_SIZE_M` box are open (absorption 1,
    so their images have gain 0). Image sources to order 2 (ground, facade, ground-facade),
    air absorption, no diffuse tail (``rt60 = 0``): a dry, high direct-to-reverberant scene,
    as outdoors. The receiver is 1.2-1.8 m above the ground; the MIC capsule mismatch is
    drawn as in :func:`random_room`.
    """
    facade = bool(rng.random() < facade_probability)
    names = draw_open_air_materials(rng, facade)
    lx, ly, lz = OPEN_AIR_SIZE_M
    rx = (float(rng.uniform(2.0, 10.0)) if facade else lx / 2, ly / 2, float(rng.uniform(1.2, 1.8)))
    bands = np.array([(1.0,) * N_BANDS if m == OPEN else MATERIALS[m] for m in names], dtype=np.float64)
    alpha = bands[:, list(MID_BANDS)].mean(axis=1)
    return Room(
        OPEN_AIR_SIZE_M,
        tuple(float(a) for a in alpha),  # type: ignore[arg-type]
        rx,
        rt60=0.0,
        max_order=OPEN_AIR_ORDER,
        name=name,
        band_absorption=tuple(tuple(float(v) for v in row) for row in bands),
        materials=names,
        **_capsule_mismatch(rng),  # type: ignore[arg-type]
    )


def scale_materials(
    size: tuple[float, float, float], bands: np.ndarray, rt60: float, air: bool = True
) -> np.ndarray:
    """Absorption ``(6, N_BANDS)`` = ``min(s * bands, 0.99)`` with ``s`` such that the mid-band (500 Hz, 1 kHz) mean Eyring RT60 is ``rt60``.

    Bisection on ``log s`` (the RT60 falls monotonically with ``s``); if even ``s`` at its
    bounds (1/100-100) cannot reach ``rt60`` the nearest bound is used.
    """
    probe = Room(size, (0.5,) * 6, tuple(v / 2 for v in size), rt60=1.0, air=air)  # type: ignore[arg-type]

    def mid_rt60(scale: float) -> float:
        alpha = np.clip(scale * bands, 0.0, 0.99)
        a = probe.wall_areas @ alpha / probe.surface
        air_term = 4.0 * band_air_absorption() / (10.0 * math.log10(math.e)) * probe.volume if air else 0.0
        rt = _SABINE * probe.volume / (-probe.surface * np.log1p(-a) + air_term)
        return float(np.mean(rt[list(MID_BANDS)]))

    lo, hi = math.log(0.01), math.log(100.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if mid_rt60(math.exp(mid)) > rt60:
            lo = mid
        else:
            hi = mid
    return np.clip(math.exp(0.5 * (lo + hi)) * bands, 0.0, 0.99)


# --------------------------------------------------------------------------- image sources


@lru_cache(maxsize=8)
def image_orders(max_order: int) -> np.ndarray:
    """Integer image indices ``(K, 3)`` with ``|a| + |b| + |c| <= max_order``; row 0 is ``(0, 0, 0)``."""
    r = np.arange(-max_order, max_order + 1)
    a, b, c = np.meshgrid(r, r, r, indexing="ij")
    idx = np.stack([a.ravel(), b.ravel(), c.ravel()], axis=1)
    idx = idx[np.abs(idx).sum(axis=1) <= max_order]
    order = np.abs(idx).sum(axis=1)
    idx = idx[np.lexsort((idx[:, 2], idx[:, 1], idx[:, 0], order))]
    idx.setflags(write=False)
    return idx


@lru_cache(maxsize=32)
def _image_band_gains(band_reflection: tuple[tuple[float, ...], ...], max_order: int) -> np.ndarray:
    idx = image_orders(max_order)
    q = np.mod(idx, 2)
    n = (idx + q) // 2
    beta = np.asarray(band_reflection, dtype=np.float64).reshape(3, 2, -1)  # (axis, wall, band)
    hits0 = np.abs(n - q)[..., None]
    hits1 = np.abs(n)[..., None]
    out = np.prod(beta[None, :, 0] ** hits0 * beta[None, :, 1] ** hits1, axis=1)
    out.setflags(write=False)
    return out


def image_band_gains(room: Room, max_order: int | None = None) -> np.ndarray:
    """Wall reflection gains ``(K, N_BANDS)`` of the images of :func:`image_orders` per octave band.

    The band analogue of the ``gains`` of :func:`image_sources` (the product of the band
    reflection coefficients of the walls each image's path hits; independent of the
    source position).
    """
    key = tuple(tuple(float(v) for v in row) for row in room.band_reflection)
    return _image_band_gains(key, room.max_order if max_order is None else max_order)


def image_sources(
    room: Room, source: np.ndarray, max_order: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Image-source positions and reflection gains of source position(s) ``(..., 3)``.

    Returns ``positions (..., K, 3)`` and ``gains (K,)`` (the product of the reflection
    coefficients of the walls each image's path hits; the direct sound is index 0 with gain
    1), for the images up to ``max_order`` (default: the room's). An index ``a`` on an axis of length ``L`` is the image at ``2 n L + (1 - 2 q) x``
    with ``q = a mod 2``, ``n = (a + q) / 2``, reflected ``|n - q|`` times on the wall at 0 and
    ``|n|`` times on the wall at ``L``.
    """
    idx = image_orders(room.max_order if max_order is None else max_order)
    q = np.mod(idx, 2)
    n = (idx + q) // 2
    size = np.asarray(room.size, dtype=np.float64)
    src = np.asarray(source, dtype=np.float64)[..., None, :]
    positions = 2.0 * n * size + (1 - 2 * q) * src
    beta = room.reflection.reshape(3, 2)  # (axis, wall at 0 / wall at L)
    hits0 = np.abs(n - q)
    hits1 = np.abs(n)
    gains = np.prod(beta[:, 0] ** hits0 * beta[:, 1] ** hits1, axis=1)
    return positions, gains


def max_distance(room: Room, directions: np.ndarray, margin: float = WALL_MARGIN_M) -> np.ndarray:
    """Longest distance from the receiver along unit vectors ``(..., 3)`` that stays ``margin`` inside the walls."""
    d = np.asarray(directions, dtype=np.float64)
    rx = np.asarray(room.receiver, dtype=np.float64)
    lo = rx - margin
    hi = np.asarray(room.size, dtype=np.float64) - margin - rx
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d > 0, hi / d, np.where(d < 0, lo / -d, np.inf))
    return np.maximum(np.min(t, axis=-1), 0.0)
