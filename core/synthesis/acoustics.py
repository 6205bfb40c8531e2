"""Frequency-dependent room acoustics: octave bands, wall materials, air absorption, directivity.

Octave bands
------------
Seven octave bands centred at 125, 250, 500, 1000, 2000, 4000 and 8000 Hz. A quantity given
per band (an absorption coefficient, a reflection gain) becomes a frequency response through
the **band weights** :func:`band_weights`: on ``x = log2(f / 125 Hz)`` neighbouring bands
cross-fade with ``cos²``/``sin²`` over 1/3 octave around their common edge (0.5 at the
edge), the lowest band holds below 125 Hz and the highest above 8 kHz, so the weights are
non-negative, zero-phase and **sum to exactly one** at every frequency (flat band values
give a flat response).

Materials
---------
Octave-band absorption coefficients of real surfaces, from the materials database of
pyroomacoustics (MIT licence, ``pyroomacoustics/data/materials.json``), whose values are
those of M. Vorländer, *Auralization* (Springer, 2008), Appendix A. Only materials with all
seven bands are used. :func:`draw_materials` draws a floor, a ceiling and a material per
wall.

Air absorption
--------------
ISO 9613-1:1993, eq. (3)-(5): the attenuation ``alpha`` (dB/m) of pure tones at 20 °C,
50 % relative humidity and 101.325 kPa, evaluated at the band centres (at 20 °C / 50 %:
4.7 dB/km at 1 kHz, 9.9 dB/km at 2 kHz, 105 dB/km at 8 kHz; tested against the standard's
table). A path of length ``d`` gets the amplitude factor ``10^(-alpha d / 20)``; the
reverberation time gets the ``4 m V`` term of Eyring's formula with the energy coefficient
``m = alpha / (10 log10 e)`` (1/m).

Directivity
-----------
Human voices (speech, scream) are directional, more so at high frequencies (Chu & Warnock,
*Detailed directivity of sound fields around human talkers*, NRC 2002; Monson et al., JASA
2012: front-to-back differences of about 1-2 dB below 500 Hz, 5-6 dB at 1-2 kHz, 10 dB and
more at 4-8 kHz). They get a first-order pattern per band, amplitude
``D_b(θ) = (1 - a_b) + a_b cos θ`` (``θ`` from the source's facing direction; 1 on axis)
with the front-to-back ratio :data:`VOICE_FRONT_BACK_DB`; every other class is omnidirectional.
The facing direction is random (azimuth uniform, elevation within ±30°).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "BAND_CENTRES_HZ",
    "CEILINGS",
    "FACADES",
    "FLOORS",
    "GROUNDS",
    "MATERIALS",
    "N_BANDS",
    "OPEN",
    "VOICE_FRONT_BACK_DB",
    "WALLS",
    "Directivity",
    "air_absorption_db_per_m",
    "band_weights",
    "draw_materials",
    "draw_open_air_materials",
    "miki_ground_absorption",
    "source_directivity",
]

BAND_CENTRES_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
"""Centres of the seven octave bands (Hz)."""
N_BANDS = len(BAND_CENTRES_HZ)
MID_BANDS = (2, 3)
"""The 500 Hz and 1 kHz bands: their mean RT60 is a room's broadband ``rt60``."""

# Vorländer, Auralization (2008), App. A, via pyroomacoustics materials.json (MIT).
MATERIALS: dict[str, tuple[float, ...]] = {
    "hard_surface": (0.02, 0.02, 0.03, 0.03, 0.04, 0.05, 0.05),
    "brickwork": (0.01, 0.02, 0.02, 0.03, 0.03, 0.04, 0.04),
    "rough_concrete": (0.02, 0.03, 0.03, 0.03, 0.04, 0.07, 0.07),
    "brick_wall_rough": (0.03, 0.03, 0.03, 0.04, 0.05, 0.07, 0.07),
    "limestone_wall": (0.02, 0.02, 0.03, 0.04, 0.05, 0.05, 0.05),
    "ceramic_tiles": (0.01, 0.01, 0.01, 0.02, 0.02, 0.02, 0.02),
    "concrete_floor": (0.01, 0.03, 0.05, 0.02, 0.02, 0.02, 0.02),
    "marble_floor": (0.01, 0.01, 0.01, 0.02, 0.02, 0.02, 0.02),
    "plasterboard": (0.15, 0.10, 0.06, 0.04, 0.04, 0.05, 0.05),
    "wooden_lining": (0.27, 0.23, 0.22, 0.15, 0.10, 0.07, 0.06),
    "glass_window": (0.10, 0.05, 0.04, 0.03, 0.03, 0.03, 0.03),
    "wooden_door": (0.14, 0.10, 0.06, 0.08, 0.10, 0.10, 0.10),
    "wood_16mm": (0.18, 0.12, 0.10, 0.09, 0.08, 0.07, 0.07),
    "carpet_cotton": (0.07, 0.31, 0.49, 0.81, 0.66, 0.54, 0.48),
    "carpet_6mm_closed_cell_foam": (0.03, 0.09, 0.25, 0.31, 0.33, 0.44, 0.44),
    "carpet_tufted_9m": (0.08, 0.08, 0.30, 0.60, 0.75, 0.80, 0.80),
    "felt_5mm": (0.02, 0.02, 0.05, 0.15, 0.30, 0.40, 0.40),
    "curtains_velvet": (0.05, 0.12, 0.35, 0.45, 0.38, 0.36, 0.36),
    "rockwool_50mm_40kgm3": (0.23, 0.59, 0.86, 0.86, 0.86, 0.86, 0.86),
}
"""Octave-band (125 Hz-8 kHz) energy absorption coefficients of real surfaces."""


def miki_ground_absorption(flow_resistivity: float) -> tuple[float, ...]:
    """Octave-band normal-incidence absorption of a semi-infinite porous ground (Miki's model).

    Miki (1990), the modified Delany-Bazley model: characteristic impedance
    ``Z / (rho c) = 1 + 0.0699 X - 0.107 j X`` with ``X = (f / sigma)^-0.632`` (``sigma`` the
    flow resistivity in Pa s/m^2); reflection ``R = (Z - 1) / (Z + 1)``, absorption
    ``1 - |R|^2`` at the band centres. Typical flow resistivities (Embleton, Piercy & Daigle
    1983; Attenborough et al. 2007): grassland about 100-300 kPa s/m^2, compacted soil about
    1000-2000, asphalt far above (a hard surface).
    """
    f = np.asarray(BAND_CENTRES_HZ, dtype=np.float64)
    x = (f / float(flow_resistivity)) ** -0.632
    z = 1.0 + 0.0699 * x - 0.107j * x
    r = (z - 1.0) / (z + 1.0)
    return tuple(round(float(v), 3) for v in 1.0 - np.abs(r) ** 2)


MATERIALS.update(
    {
        "ground_grass": miki_ground_absorption(200e3),
        "ground_soil": miki_ground_absorption(1000e3),
    }
)
"""Grounds of open-air scenes: porous grounds by :func:`miki_ground_absorption` (200 and 1000 kPa s/m^2)."""
OPEN = "open"
"""The "material" of a side of an open-air scene without a surface: it absorbs everything."""
FLOORS = (
    "concrete_floor",
    "marble_floor",
    "wood_16mm",
    "ceramic_tiles",
    "carpet_cotton",
    "carpet_6mm_closed_cell_foam",
    "carpet_tufted_9m",
    "felt_5mm",
)
CEILINGS = ("plasterboard", "rough_concrete", "hard_surface", "wooden_lining", "rockwool_50mm_40kgm3")
WALLS = (
    "hard_surface",
    "brickwork",
    "rough_concrete",
    "brick_wall_rough",
    "limestone_wall",
    "plasterboard",
    "wooden_lining",
    "glass_window",
    "wooden_door",
    "ceramic_tiles",
    "curtains_velvet",
)

GROUNDS = ("hard_surface", "rough_concrete", "ground_grass", "ground_soil")
"""Grounds of open-air scenes: paving or asphalt (hard), concrete, grass, compacted soil."""
FACADES = ("brickwork", "brick_wall_rough", "limestone_wall", "rough_concrete", "glass_window")
"""Building facades of open-air scenes."""

_CROSSOVER_OCT = 1.0 / 6.0  # half width (octaves) of the cos²/sin² crossovers at the band edges
VOICE_FRONT_BACK_DB = (0.5, 1.0, 2.0, 4.0, 6.0, 9.0, 12.0)
"""Front-to-back level difference (dB) per octave band of the voice pattern."""
_VOICE_WORDS = ("speech", "scream", "speak", "voice", "talk", "shout", "sing")


def draw_materials(rng: np.random.Generator) -> tuple[str, ...]:
    """Material names of the walls ``x=0, x=Lx, y=0, y=Ly, z=0 (floor), z=Lz (ceiling)``."""
    walls = [WALLS[int(i)] for i in rng.integers(0, len(WALLS), size=4)]
    floor = FLOORS[int(rng.integers(0, len(FLOORS)))]
    ceiling = CEILINGS[int(rng.integers(0, len(CEILINGS)))]
    return (*walls, floor, ceiling)


def draw_open_air_materials(rng: np.random.Generator, facade: bool) -> tuple[str, ...]:
    """Materials of an open-air scene in the wall order of :func:`draw_materials`: a ground,
    optionally a facade at ``x=0``, everything else :data:`OPEN`."""
    ground = GROUNDS[int(rng.integers(0, len(GROUNDS)))]
    wall = FACADES[int(rng.integers(0, len(FACADES)))] if facade else OPEN
    return (wall, OPEN, OPEN, OPEN, ground, OPEN)


def air_absorption_db_per_m(
    freqs_hz: np.ndarray | float,
    temperature_c: float = 20.0,
    humidity_pct: float = 50.0,
    pressure_kpa: float = 101.325,
) -> np.ndarray:
    """Pure-tone air attenuation (dB/m) by ISO 9613-1:1993 eq. (3)-(5)."""
    f = np.asarray(freqs_hz, dtype=np.float64)
    t = temperature_c + 273.15
    t0, t01, pr = 293.15, 273.16, 101.325
    pa = pressure_kpa / pr
    psat = 10.0 ** (-6.8346 * (t01 / t) ** 1.261 + 4.6151)
    h = humidity_pct * psat / pa
    fro = pa * (24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h))
    frn = pa * (t / t0) ** -0.5 * (9.0 + 280.0 * h * math.exp(-4.170 * ((t / t0) ** (-1.0 / 3.0) - 1.0)))
    return (
        8.686
        * f**2
        * (
            1.84e-11 / pa * (t / t0) ** 0.5
            + (t / t0) ** -2.5
            * (
                0.01275 * math.exp(-2239.1 / t) / (fro + f**2 / fro)
                + 0.1068 * math.exp(-3352.0 / t) / (frn + f**2 / frn)
            )
        )
    )


@lru_cache(maxsize=1)
def band_air_absorption() -> np.ndarray:
    """Air attenuation (dB/m) at the band centres ``(N_BANDS,)`` (20 °C, 50 % RH)."""
    out = air_absorption_db_per_m(np.asarray(BAND_CENTRES_HZ))
    out.setflags(write=False)
    return out


def band_weights(freqs_hz: np.ndarray) -> np.ndarray:
    """Zero-phase band weights ``(N_BANDS, F)`` at ``freqs_hz``: non-negative, summing to one (see above)."""
    f = np.asarray(freqs_hz, dtype=np.float64).reshape(-1)
    x = np.log2(np.maximum(f, 1e-3) / BAND_CENTRES_HZ[0])
    edges = np.arange(N_BANDS - 1) + 0.5  # octave edges between neighbouring bands
    s = np.clip((x[None, :] - edges[:, None]) / (2.0 * _CROSSOVER_OCT) + 0.5, 0.0, 1.0)
    upper = np.concatenate([np.ones((1, f.size)), np.sin(0.5 * np.pi * s) ** 2, np.zeros((1, f.size))])
    return upper[:-1] - upper[1:]


@dataclass(frozen=True)
class Directivity:
    """A first-order source pattern per band: ``D_b(θ) = (1 - a_b) + a_b cos θ`` around ``facing`` (unit vector)."""

    order: tuple[float, ...]
    facing: tuple[float, float, float]

    def gains(self, cos_theta: np.ndarray) -> np.ndarray:
        """Amplitude gains ``(..., N_BANDS)`` for cosines ``(...)`` of the emission angle."""
        a = np.asarray(self.order, dtype=np.float64)
        return (1.0 - a) + a * np.asarray(cos_theta, dtype=np.float64)[..., None]

    def diffuse_power(self) -> np.ndarray:
        """Mean of ``D_b²`` over all directions ``(N_BANDS,)`` (1 for omni): scales the diffuse tail."""
        a = np.asarray(self.order, dtype=np.float64)
        return (1.0 - a) ** 2 + a**2 / 3.0


def voice_order() -> tuple[float, ...]:
    """The pattern orders ``a_b`` of :data:`VOICE_FRONT_BACK_DB`: rear gain ``1 - 2 a = 10^(-FB/20)``."""
    return tuple(0.5 * (1.0 - 10.0 ** (-fb / 20.0)) for fb in VOICE_FRONT_BACK_DB)


def source_directivity(class_name: str, rng: np.random.Generator) -> Directivity | None:
    """The directivity of an event of ``class_name`` (``None``: omni; voices draw a random facing from ``rng``)."""
    name = class_name.lower()
    if not any(w in name for w in _VOICE_WORDS):
        return None
    az = float(rng.uniform(-np.pi, np.pi))
    el = float(np.radians(rng.uniform(-30.0, 30.0)))
    facing = (math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el))
    return Directivity(voice_order(), facing)
