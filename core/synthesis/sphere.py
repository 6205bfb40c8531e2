"""Scattering by the Eigenmike's rigid sphere: capsule responses, FIR tables and diffuse coherence.

The DCASE MIC format is four capsules of an Eigenmike em32, flush-mounted on a rigid
sphere of radius ``a`` = 4.2 cm (:mod:`core.spatial.mic_array`). A plane wave arriving
from the unit direction ``u`` (the direction *towards* the source) is heard by a capsule
at the unit direction ``c`` on the sphere with the transfer function (the standard
spherical-harmonic solution; Rafaely, *Fundamentals of Spherical Array Processing*,
2015, eq. 2.62; Williams, *Fourier Acoustics*, 1999, eq. 6.186)::

    S(γ, k) = Σ_n (2n + 1) b_n(ka) P_n(cos γ),      cos γ = u · c,
    b_n(ka) = i^(n-1) / ((ka)^2 h_n^(2)'(ka))

referenced to the pressure the wave would have at the sphere centre without the sphere.
Sign convention: transfer functions are in the convention of the DFT used everywhere in
the code (``X(f) = Σ x[t] e^{-iωt}``, so a delay ``τ`` is ``e^{-iωτ}``); in that convention
the free-field (open sphere) capsule is ``e^{+ika cos γ} = Σ (2n + 1) i^n j_n(ka) P_n``
(a capsule facing the wave hears it earlier). The rigid-sphere ``b_n`` follows from
``i^n (j_n - j_n'/h_n' h_n)`` at the surface and the Wronskian
``j_n y_n' - j_n' y_n = 1/x^2``. (The physics form with the time factor ``e^{-iωt}`` is the
complex conjugate: ``(1/(ka)^2) Σ (2n+1) i^(n+1) P_n(cos Θ) / h_n^(1)'(ka)`` with ``Θ`` the
angle between the capsule and the *propagation* direction, ``cos Θ = -cos γ``.)

* Low frequency (``ka << 1``): ``b_0 → 1``, ``b_1 → i ka / 2``: gain 1 and the capsule's
  projection delay ``a cos γ / c`` times **3/2** (the free field has ``i ka / 3``).
* High frequency: the capsule facing the wave sees +6 dB (pressure doubling at a rigid
  surface), the far side a shadow with creeping-wave ripples.
* The series is truncated at ``n <= ceil(e ka) + 10`` (the terms fall off
  super-exponentially once ``n > e ka / 2``); up to 12 kHz (``ka = 9.2``) that is at most
  ``n = 36``, and the error is below 1e-9 (checked against ``n = 60`` in the tests).

The modal strengths are written with :mod:`scipy.special` (spherical Bessel functions)
rather than taken from ``spharpy``: a dozen lines, no extra dependency, and the
conventions are pinned by the tests here.

FIR table
---------
:func:`sphere_fir_table` samples ``S`` on a grid of ``γ`` (0.25° steps, 0-180°) and of
fractional delays (1/128 sample) and turns each into a 48-tap FIR filter: the exact
response times ``e^{-iω(D + φ)}`` (``D`` = :data:`FIR_CENTRE` = 20 samples of bulk delay,
``φ`` the fraction), a raised-cosine roll-off from 10.5 to 12 kHz (the band edge), an
inverse FFT of 1024 points and a window flat over taps 4-43 with cosine ends. A path
whose centre delay is ``τ`` samples gets the kernel of ``frac(τ)`` placed at
``floor(τ) - D``. Accuracy against the analytic formula (tested): within 0.1 dB and 1°
up to 10 kHz at the grid points; the nearest-neighbour look-up adds at most 0.13° of
direction (< 0.7° of phase at 10 kHz) and 1/256 sample of delay.

Capsule mismatch
----------------
Real capsules differ slightly. A room (:class:`~core.synthesis.room.Room`, drawn by
:func:`~core.synthesis.room.random_room` from the room's seed) carries per capsule a gain
``g`` (dB, normal with σ 0.5 dB, clipped to ±1 dB), a delay ``τ`` (uniform ±2 µs: ±7° of
phase at 10 kHz) and a high-frequency sensitivity tilt ``s`` (uniform ±0.5 dB at 12 kHz).
:func:`apply_capsule_mismatch` filters the whole MIC signal (events, tails and ambient
noise) with ``10^((g + s (f / 12 kHz)^2) / 20) e^{-iωτ}``. Ideal rooms (``Room(...)``,
``Room.from_rt60``, ``Room.anechoic``) have none.

Diffuse field
-------------
In an isotropic field the capsule cross-spectra follow from the addition theorem of the
Legendre polynomials: ``E[M_i M_j*] = Σ_n (2n + 1) |b_n|^2 P_n(c_i · c_j)`` (the diffuse-field
power response ``Σ (2n+1)|b_n|^2`` on the diagonal: 1 at low frequency, rising to about
+2.6 dB at 12 kHz), and with the SN3D FOA channels of the same field
``E[W M_c*] = conj(b_0)`` and ``E[D M_c*] = conj(b_1) c_D`` (``D`` = Y, Z, X; ``c_D`` the
capsule's unit-vector component). For the free-field sphere these reduce to ``j0(k d_ij)``,
``j0(ka)`` and ``-i j1(ka) c_D``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.special

from core.spatial.mic_array import MIC_RADIUS_M, mic_capsule_unit_vectors
from core.synthesis.room import SPEED_OF_SOUND, Room

__all__ = [
    "FIR_CENTRE",
    "apply_capsule_mismatch",
    "capsule_mismatch_response",
    "FIR_TAPS",
    "diffuse_sphere_covariance",
    "modal_strength",
    "sphere_fir_table",
    "sphere_kernels",
    "sphere_response",
]

FS = 24000
FIR_TAPS = 48
"""Length of the per-path, per-capsule sphere filters."""
FIR_CENTRE = 20
"""Bulk delay (taps) of the sphere filters: the sphere centre's arrival is at tap 20."""
GAMMA_STEPS = 720
"""γ grid: 0..180° in 0.25° steps (721 entries)."""
FRAC_STEPS = 128
"""Fractional-delay grid of the sphere filters (1/128 sample; 129 entries)."""
_FIR_NFFT = 1024
_ROLLOFF_HZ = (10500.0, 12000.0)
_FLAT_TAPS = (4, 43)


def _n_max(ka: float) -> int:
    return int(math.ceil(math.e * ka)) + 10


def modal_strength(ka: np.ndarray, n_max: int | None = None) -> np.ndarray:
    """Rigid-sphere modal strengths ``b_n(ka)`` ``(..., n_max + 1)`` (see the module docstring).

    ``ka = 0`` gives the limit ``(1, 0, 0, ...)``. Orders above ``ceil(e ka) + 10`` of
    each ``ka`` are set to zero (negligible, and their Hankel functions overflow).
    """
    ka = np.asarray(ka, dtype=np.float64)
    top = _n_max(float(np.max(ka, initial=0.0))) if n_max is None else n_max
    n = np.arange(top + 1)
    x = np.maximum(ka, 1e-6)[..., None]
    keep = n <= np.ceil(math.e * x) + 10
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        dh2 = scipy.special.spherical_jn(n, x, derivative=True) - 1j * scipy.special.spherical_yn(
            n, x, derivative=True
        )
        b = (1j ** (n - 1)) / (x**2 * dh2)
    b = np.where(keep & np.isfinite(b), b, 0.0)
    zero = ka[..., None] * np.ones(n.shape) == 0
    b = np.where(zero, (n == 0).astype(np.float64), b)
    return b


def sphere_response(
    cos_gamma: np.ndarray, freqs_hz: np.ndarray, radius: float = MIC_RADIUS_M, n_max: int | None = None
) -> np.ndarray:
    """``S(γ, f)`` ``(G, F)`` of capsules at ``cos γ (G,)`` to plane waves at ``freqs_hz (F,)``."""
    cos_gamma = np.asarray(cos_gamma, dtype=np.float64).reshape(-1)
    ka = 2.0 * np.pi * np.asarray(freqs_hz, dtype=np.float64).reshape(-1) * radius / SPEED_OF_SOUND
    b = modal_strength(ka, n_max)  # (F, N)
    n = np.arange(b.shape[-1])
    legendre = scipy.special.eval_legendre(n[:, None], cos_gamma[None, :])  # (N, G)
    return (legendre.T * (2 * n + 1)) @ b.T


@lru_cache(maxsize=1)
def sphere_fir_table() -> np.ndarray:
    """FIR filters ``(GAMMA_STEPS + 1, FRAC_STEPS + 1, FIR_TAPS)`` float32 (see the module docstring).

    Entry ``[g, j]`` is the capsule response at ``γ = g * 180° / GAMMA_STEPS`` delayed by
    ``FIR_CENTRE + j / FRAC_STEPS`` samples. Computed once per process (about a second).
    """
    freqs = scipy.fft.rfftfreq(_FIR_NFFT, 1.0 / FS)
    gamma = np.linspace(0.0, np.pi, GAMMA_STEPS + 1)
    resp = sphere_response(np.cos(gamma), freqs)  # (G, F)
    lo, hi = _ROLLOFF_HZ
    roll = np.clip((hi - freqs) / (hi - lo), 0.0, 1.0)
    roll = 0.5 - 0.5 * np.cos(np.pi * roll)
    resp *= roll
    t = np.arange(FIR_TAPS)
    window = np.ones(FIR_TAPS)
    a, b = _FLAT_TAPS
    window[:a] = np.sin(0.5 * np.pi * (t[:a] + 1) / (a + 1)) ** 2
    window[b + 1 :] = np.sin(0.5 * np.pi * (FIR_TAPS - t[b + 1 :]) / (FIR_TAPS - b)) ** 2
    frac = np.arange(FRAC_STEPS + 1) / FRAC_STEPS
    shift = np.exp(-2j * np.pi * freqs[None, :] * (FIR_CENTRE + frac[:, None]) / FS)  # (J, F)
    table = np.empty((GAMMA_STEPS + 1, FRAC_STEPS + 1, FIR_TAPS), dtype=np.float32)
    for g0 in range(0, GAMMA_STEPS + 1, 64):
        spec = resp[g0 : g0 + 64, None, :] * shift[None]
        taps = scipy.fft.irfft(spec, _FIR_NFFT, axis=-1)[..., :FIR_TAPS] * window
        table[g0 : g0 + 64] = taps
    table.setflags(write=False)
    return table


def sphere_kernels(cos_gamma: np.ndarray, delay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First tap index ``(...)`` and kernels ``(..., FIR_TAPS)`` of capsules at ``cos γ`` for centre delays (samples).

    Nearest neighbours in the table (0.25° of ``γ``, 1/128 sample of delay).
    """
    gamma = np.arccos(np.clip(np.asarray(cos_gamma, dtype=np.float64), -1.0, 1.0))
    gi = np.rint(gamma * (GAMMA_STEPS / np.pi)).astype(np.int64)
    steps = np.rint(np.asarray(delay, dtype=np.float64) * FRAC_STEPS).astype(np.int64)
    whole, frac = np.divmod(steps, FRAC_STEPS)
    return whole - FIR_CENTRE, sphere_fir_table()[gi, frac]


def diffuse_sphere_covariance(freqs_hz: np.ndarray, radius: float = MIC_RADIUS_M) -> tuple[np.ndarray, ...]:
    """Isotropic-field cross-spectra of the rigid-sphere capsules: ``(mic (F, 4, 4), w (F, 4), d (F, 3, 4))``.

    ``mic[f, i, j] = E[M_i M_j*]``, ``w[f, c] = E[W M_c*]``, ``d[f, a, c] = E[D_a M_c*]`` for the
    SN3D dipoles ``D = (Y, Z, X)`` of a unit-power pressure field.
    """
    ka = 2.0 * np.pi * np.asarray(freqs_hz, dtype=np.float64).reshape(-1) * radius / SPEED_OF_SOUND
    b = modal_strength(ka)  # (F, N)
    n = np.arange(b.shape[-1])
    caps = mic_capsule_unit_vectors()
    cos_ij = np.clip(caps @ caps.T, -1.0, 1.0)
    legendre = scipy.special.eval_legendre(n[:, None, None], cos_ij[None])  # (N, 4, 4)
    mic = np.einsum("fn,nij->fij", (2 * n + 1) * np.abs(b) ** 2, legendre).astype(np.complex128)
    w = np.repeat(np.conj(b[:, :1]), 4, axis=1)
    comp = caps[:, [1, 2, 0]].T  # (3, 4): y, z, x components of each capsule
    d = np.conj(b[:, 1])[:, None, None] * comp[None]
    return mic, w, d


def capsule_mismatch_response(room: Room, freqs_hz: np.ndarray) -> np.ndarray:
    """Transfer functions ``(4, F)`` of the capsules' gain/delay/tilt mismatch of ``room``."""
    f = np.asarray(freqs_hz, dtype=np.float64)
    gain = np.asarray(room.capsule_gain_db, dtype=np.float64)[:, None]
    tilt = np.asarray(room.capsule_tilt_db, dtype=np.float64)[:, None]
    delay = np.asarray(room.capsule_delay_us, dtype=np.float64)[:, None] * 1e-6
    db = gain + tilt * np.minimum(f / 12000.0, 1.0) ** 2
    return 10.0 ** (db / 20.0) * np.exp(-2j * np.pi * f * delay)


def apply_capsule_mismatch(mic: np.ndarray, room: Room) -> np.ndarray:
    """``mic (4, n)`` filtered by the capsule mismatch of ``room`` (unchanged if the room has none)."""
    if not any(room.capsule_gain_db) and not any(room.capsule_tilt_db) and not any(room.capsule_delay_us):
        return mic
    n = mic.shape[-1]
    nfft = scipy.fft.next_fast_len(n + 64, real=True)  # 64 samples of room for the (µs) delays
    spec = scipy.fft.rfft(mic, nfft, axis=-1)
    spec *= capsule_mismatch_response(room, scipy.fft.rfftfreq(nfft, 1.0 / FS))
    return scipy.fft.irfft(spec, nfft, axis=-1)[:, :n]
