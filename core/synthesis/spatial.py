"""Spatial rendering of scenes to FOA (AmbiX) and MIC (tetrahedral array) signals.

Every sound reaches the array along *paths*: the direct sound and the image sources of a
shoebox room (:mod:`core.synthesis.room`) up to its ``max_order``, followed by a diffuse
late tail. One scene is rendered once, jointly for both formats, so that the FOA and the
MIC file of a mix hold the same events in the same room (and the same noise field).

Physics
-------
* **Paths.** A path from an (image) source at distance ``d`` has the delay ``d / c``
  (``c`` = 343 m/s) and the amplitude ``beta / d`` (spherical spreading; ``beta`` the
  product of the wall reflection coefficients, frequency independent; 1 m gives gain 1).
* **FOA** (AmbiX, ACN order W, Y, Z, X, SN3D): each path is encoded as a plane wave from
  its own direction ``(a, e)`` seen from the array centre:
  ``W = s, Y = s cos e sin a, Z = s sin e, X = s cos e cos a``.
* **MIC**: four capsules of an Eigenmike em32 on a **rigid sphere** of radius 4.2 cm at the
  DCASE tetrahedron (:func:`core.spatial.mic_array.mic_capsule_unit_vectors`). Each path
  reaches capsule ``c`` through the rigid-sphere scattering filter of the angle ``γ``
  between its arrival direction and the capsule (:mod:`core.synthesis.sphere`: a FIR table
  over ``γ`` and the fractional delay), placed at the path's delay to the sphere centre
  with the gain ``beta / d`` (far-field approximation per image source). The capsules'
  gain/delay/tilt mismatch of the room is applied to the whole MIC signal at the end.
* **Fractional delays** are Kaiser-windowed sinc kernels (32 taps, beta 8, unit DC gain):
  flat within 0.01 dB and with a group-delay error below 0.01 sample up to 10 kHz
  (fractions rounded to 1/4096 sample).
* **Late tail**: from the first reflection on, a diffuse field (below) whose energy
  envelope decays as ``exp(-13.8 t / RT60)`` (60 dB per RT60), with total energy
  :meth:`~core.synthesis.room.Room.reverberant_energy` and a raised-cosine fade-in up to the
  arrival of the nearest image of order ``max_order + 1`` (where the explicit image
  sources stop being complete). The tail is white (frequency-independent decay; no air
  absorption) and is ``1.2 RT60`` long after the direct sound (-72 dB).
* **Diffuse fields** (tail and ambient noise) are generated with the exact second-order
  statistics of an isotropic field, jointly for the 8 channels FOA + MIC: for each
  frequency the 8x8 covariance has FOA block ``diag(1, 1/3, 1/3, 1/3)`` (SN3D), MIC block
  ``Σ_n (2n+1) |b_n|^2 P_n(cos γ_ij)`` (rigid-sphere modal strengths ``b_n``, angle ``γ_ij``
  between capsules) and cross terms ``E[W M_c*] = conj(b_0)``,
  ``E[D_a M_c*] = conj(b_1) u_ca`` (``D_a`` = Y, Z, X; ``u_c`` the capsule's unit vector). Noise is drawn per 16384-point
  frequency block through the Cholesky factor of that matrix at every bin, and the blocks
  are cross-faded (power-complementary sine/cosine ramps of 1024 samples).
* **Moving sources** are rendered in blocks of 20 ms hop (Hann windows of 40 ms, which
  sum to one): each block is convolved with the direct + early RIR of the source position
  at the block centre; the diffuse tail (independent of direction) is convolved once.
* **Ambient noise** (:mod:`core.synthesis.noise`): a diffuse field of the recipe
  ``scene.noise`` (spectrum and slow envelope common to all channels) plus the unlabelled
  ``scene.noise_sources``, ``scene.snr_db`` below the events' level, measured as the mean
  power of the rendered W channel over the samples of all label frames with at least one
  event (after the tilt) vs the noise's W power over the whole mix.
* **Tilt**: ``scene.tilt_db_oct`` (:func:`core.synthesis.noise.apply_tilt`), the same filter
  on every channel.
* **Level**: the mix is scaled so that the W channel's RMS over the active label frames
  is ``scene.level_dbfs``, unless that would put an FOA peak above -3 dBFS (then the peak is at
  -3 dBFS); MIC gets the same gain (its peaks are within a few % of the FOA ones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal
import scipy.special

from core.common.progress import CancelFn, check_cancel
from core.spatial.mic_array import mic_capsule_unit_vectors
from core.synthesis.acoustics import Directivity, band_air_absorption, band_weights, source_directivity
from core.synthesis.noise import (
    apply_tilt,
    draw_noise_params,
    mono_noise,
    noise_envelope,
    noise_spectrum,
    tilt_gain_db,
)
from core.synthesis.room import SPEED_OF_SOUND, Room, image_band_gains, image_orders, image_sources
from core.synthesis.scene import SAMPLE_RATE, Scene, SceneEvent, Trajectory
from core.synthesis.sphere import (
    FIR_CENTRE,
    FIR_TAPS,
    apply_capsule_mismatch,
    diffuse_sphere_covariance,
    sphere_kernels,
)

__all__ = [
    "BLOCK_HOP",
    "EVENT_LEVEL_DBFS",
    "PEAK_LIMIT",
    "diffuse_covariance",
    "diffuse_noise",
    "early_rir",
    "foa_gains",
    "level_gain",
    "noise_freqs",
    "render_event",
    "render_scene",
    "room_impulse_response",
    "tail_rir",
]

FS = SAMPLE_RATE
BLOCK_HOP = 480
"""Hop (samples, 20 ms) of the block-wise rendering of moving sources."""
EVENT_LEVEL_DBFS = -30.0
"""RMS level of the W channel over the active label frames of a rendered mix (dBFS)."""
PEAK_LIMIT = 10 ** (-3 / 20)
"""Highest FOA peak of a rendered mix (-3 dBFS); a mix whose events would peak higher is turned down."""
_HALF = 16  # half length of the fractional-delay kernel
_KAISER_BETA = 8.0
_FRAC_STEPS = 4096  # fractional-delay resolution of the kernel table
_DIFF_NFFT = 16384  # diffuse-noise block
_DIFF_OVERLAP = 1024  # cross-fade between noise blocks
_DIFF_REG = 1e-6  # relative diagonal loading of the diffuse covariance (uncorrelated -60 dB)
_BLOCK_CHUNK = 64  # moving-source blocks processed at once
_BAND_HALF = 32  # half length of the per-path band filters (65 taps)
_KF = 128  # FFT size of the per-path kernels (fractional delay or sphere filter * band filter)
_PAD = _BAND_HALF + FIR_CENTRE  # leading samples of the internal early RIRs (pre-ringing of near paths)


# --------------------------------------------------------------------------- paths


def foa_gains(u: np.ndarray) -> np.ndarray:
    """AmbiX/SN3D gains ``(..., 4)`` (W, Y, Z, X) of plane waves from unit vectors ``u (..., 3)``."""
    u = np.asarray(u, dtype=np.float64)
    return np.stack([np.ones(u.shape[:-1]), u[..., 1], u[..., 2], u[..., 0]], axis=-1)


@lru_cache(maxsize=1)
def _sinc_table() -> np.ndarray:
    """Kernels ``(_FRAC_STEPS + 1, 32)`` for fractional delays ``i / _FRAC_STEPS`` (unit DC gain)."""
    frac = np.arange(_FRAC_STEPS + 1) / _FRAC_STEPS
    x = (np.arange(2 * _HALF) - _HALF + 1)[None, :] - frac[:, None]
    win = scipy.special.i0(_KAISER_BETA * np.sqrt(np.clip(1.0 - (x / _HALF) ** 2, 0.0, 1.0)))
    taps = np.sinc(x) * win
    taps /= taps.sum(axis=1, keepdims=True)
    taps.setflags(write=False)
    return taps


def _sinc_taps(delay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Windowed-sinc fractional delays: first tap index ``(...)`` and taps ``(..., 32)``.

    The fraction is rounded to 1/4096 sample (a table look-up; 0.01 µs at 24 kHz).
    """
    steps = np.rint(np.asarray(delay, dtype=np.float64) * _FRAC_STEPS).astype(np.int64)
    whole, frac = np.divmod(steps, _FRAC_STEPS)
    return whole - _HALF + 1, _sinc_table()[frac]


@lru_cache(maxsize=1)
def _band_fir_spectra() -> np.ndarray:
    """Spectra ``(N_BANDS, _KF // 2 + 1)`` of the per-path band filters (65 taps, linear phase, centre tap 32).

    Each is the band weight of :func:`core.synthesis.acoustics.band_weights` (zero phase,
    from a 4096-point grid) windowed to ``2 _BAND_HALF + 1`` taps (Hann); the top band is
    ``delta - sum(others)`` so that the seven filters sum to a pure delay of
    ``_BAND_HALF`` samples exactly.
    """
    grid = 4096
    w = band_weights(scipy.fft.rfftfreq(grid, 1.0 / FS))
    imp = np.roll(scipy.fft.irfft(w, grid, axis=-1), _BAND_HALF, axis=-1)[:, : 2 * _BAND_HALF + 1]
    imp *= np.hanning(2 * _BAND_HALF + 3)[1:-1]
    imp[-1] = -imp[:-1].sum(axis=0)
    imp[-1, _BAND_HALF] += 1.0
    out = scipy.fft.rfft(imp, _KF, axis=-1)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1)
def _sinc_spectra() -> np.ndarray:
    """Spectra ``(_FRAC_STEPS + 1, _KF // 2 + 1)`` of the fractional-delay kernels."""
    out = scipy.fft.rfft(_sinc_table(), _KF, axis=-1)
    out.setflags(write=False)
    return out


def _path_geometry(
    room: Room, sources: np.ndarray, mic: bool, directivity: Directivity | None = None
) -> tuple[np.ndarray, ...]:
    """Delays (samples), directions and band gains of all paths of source positions ``(B, 3)``.

    Returns ``delay (B, K)`` (to the array centre), ``foa_weight (B, K, 4)`` (the plane-wave
    FOA gains of the arrival direction), ``band_gain (B, K, N_BANDS)`` (wall reflections
    per band, ``1 / d``, ISO 9613-1 air absorption ``10^(-alpha_b d / 20)`` and the source
    directivity toward the emission direction, mirrored for image sources) and, with
    ``mic``, ``cos_gamma (B, K, 4)`` (cosine between each arrival direction and each
    capsule, for the rigid-sphere filters).
    """
    order = room.max_order
    keep = _audible_images(room)
    pos = image_sources(room, sources)[0][..., keep, :]
    rx = np.asarray(room.receiver, dtype=np.float64)
    vec = pos - rx
    dist = np.linalg.norm(vec, axis=-1)
    delay = dist * (FS / SPEED_OF_SOUND)
    u = vec / dist[..., None]
    gain = image_band_gains(room, order)[keep][None] / dist[..., None]  # (B, K, N_BANDS)
    if room.air:
        gain = gain * 10.0 ** (-band_air_absorption() * dist[..., None] / 20.0)
    if directivity is not None:
        mirror = 1 - 2 * np.mod(image_orders(order)[keep], 2)  # (K, 3): image sources emit mirrored
        cos_theta = -(u * mirror) @ np.asarray(directivity.facing, dtype=np.float64)
        gain = gain * directivity.gains(cos_theta)
    if not mic:
        return delay, foa_gains(u), gain
    return delay, foa_gains(u), gain, u @ mic_capsule_unit_vectors().T


def _audible_images(room: Room) -> np.ndarray:
    """Which images of :func:`image_sources` reach the receiver: those off fully absorbing sides
    (an open-air scene's) have gain 0 and are left out (all of them are kept in a closed room)."""
    return np.asarray(image_band_gains(room).max(axis=1) > 0.0)


def _early_length(room: Room, sources: np.ndarray) -> int:
    pos = image_sources(room, sources)[0][..., _audible_images(room), :]
    dist = np.linalg.norm(pos - np.asarray(room.receiver), axis=-1)
    # + the tail of the sphere filters (FIR_TAPS - FIR_CENTRE > _HALF) and of the band filters
    return int(math.ceil(dist.max() * FS / SPEED_OF_SOUND)) + FIR_TAPS - FIR_CENTRE + _BAND_HALF + 2


def _early_rir_padded(
    room: Room, sources: np.ndarray, mic: bool, length: int, directivity: Directivity | None = None
) -> np.ndarray:
    """:func:`early_rir` with ``_PAD`` leading samples: ``(B, C, _PAD + length)``, emission at sample ``_PAD``.

    Each path's kernel is its fractional delay (FOA) or its rigid-sphere filter (MIC)
    convolved with the path's band filter ``sum_b g_b phi_b`` (65-tap linear phase, see
    :func:`_band_fir_spectra`), by 128-point FFTs of the kernels.
    """
    sources = np.atleast_2d(np.asarray(sources, dtype=np.float64))
    geo = _path_geometry(room, sources, mic, directivity)
    total = _PAD + length
    n_ch = 8 if mic else 4
    n_blocks = sources.shape[0]
    base = (np.arange(n_blocks) * n_ch)[:, None, None, None]
    band = geo[2] @ _band_fir_spectra()  # (B, K, F): the path's band filter
    steps = np.rint(geo[0] * _FRAC_STEPS).astype(np.int64)
    whole, frac = np.divmod(steps, _FRAC_STEPS)
    start = whole - _HALF + 1 - _BAND_HALF + _PAD  # (B, K)
    n_foa = 2 * _HALF + 2 * _BAND_HALF
    kern = scipy.fft.irfft(band * _sinc_spectra()[frac], _KF, axis=-1)[..., :n_foa]  # (B, K, T)
    if start.min() < 0 or start.max() + n_foa > total:
        raise ValueError("a path falls outside the RIR (length too short)")
    ch = np.arange(4)[None, None, :, None]
    idx = [((base + ch) * total + start[:, :, None, None] + np.arange(n_foa)).ravel()]
    val = [(geo[1][..., None] * kern[:, :, None, :]).ravel()]
    if mic:
        start_m, taps_m = sphere_kernels(geo[3], geo[0][..., None])  # (B, K, 4), (B, K, 4, FIR_TAPS)
        start_m = start_m - _BAND_HALF + _PAD
        n_mic = FIR_TAPS + 2 * _BAND_HALF
        spec_m = scipy.fft.rfft(taps_m, _KF, axis=-1) * band[:, :, None, :]
        kern_m = scipy.fft.irfft(spec_m, _KF, axis=-1)[..., :n_mic]
        if start_m.min() < 0 or start_m.max() + n_mic > total:
            raise ValueError("a path falls outside the RIR (length too short)")
        idx.append(((base + 4 + ch) * total + start_m[..., None] + np.arange(n_mic)).ravel())
        val.append(kern_m.ravel())
    flat = np.bincount(np.concatenate(idx), np.concatenate(val), minlength=n_blocks * n_ch * total)
    return flat.reshape(n_blocks, n_ch, total)


def early_rir(
    room: Room,
    sources: np.ndarray,
    mic: bool = True,
    length: int | None = None,
    directivity: Directivity | None = None,
) -> np.ndarray:
    """Direct sound + image sources: RIRs ``(B, C, length)`` of source positions ``(B, 3)``.

    ``C`` is 8 (FOA W, Y, Z, X then MIC M1..M4) with ``mic``, else 4. Sample 0 is the
    emission time. ``length`` defaults to just past the latest path. Each path is filtered
    by its octave-band gains (walls, air, ``directivity``; a 65-tap linear-phase filter,
    whose pre-ringing before the emission time is cut here for paths shorter than 0.7 m;
    the renderer keeps it). Each MIC path is the rigid-sphere filter of its arrival
    direction (:mod:`core.synthesis.sphere`) placed at the path's delay to the sphere
    centre (far-field approximation per path).
    """
    sources = np.atleast_2d(np.asarray(sources, dtype=np.float64))
    if length is None:
        length = _early_length(room, sources)
    return _early_rir_padded(room, sources, mic, length, directivity)[..., _PAD:]


# --------------------------------------------------------------------------- diffuse fields


def diffuse_covariance(freqs_hz: np.ndarray) -> np.ndarray:
    """Covariance ``(F, 8, 8)`` of FOA (W, Y, Z, X) + MIC (M1..M4) in an isotropic diffuse field.

    Normalised to a unit-power pressure field (``W`` has variance 1; each capsule the
    rigid sphere's diffuse-field power response, 1 at low frequency, +2.6 dB at 12 kHz);
    the MIC terms are :func:`core.synthesis.sphere.diffuse_sphere_covariance`.
    """
    freqs = np.asarray(freqs_hz, dtype=np.float64)
    cov = np.zeros(freqs.shape + (8, 8), dtype=np.complex128)
    cov[..., 0, 0] = 1.0
    for a in (1, 2, 3):
        cov[..., a, a] = 1.0 / 3.0
    mic_cov, w_cov, d_cov = diffuse_sphere_covariance(freqs.reshape(-1))
    cov[..., 4:, 4:] = mic_cov.reshape(freqs.shape + (4, 4))
    cov[..., 0, 4:] = w_cov.reshape(freqs.shape + (4,))
    cov[..., 1:4, 4:] = d_cov.reshape(freqs.shape + (3, 4))
    rows, cols = np.triu_indices(8, 1)
    cov[..., cols, rows] = np.conj(cov[..., rows, cols])
    return cov


@lru_cache(maxsize=1)
def _diffuse_factor() -> np.ndarray:
    """Cholesky factors ``(F, 8, 8)`` of the diffuse covariance at the noise FFT's bins."""
    freqs = scipy.fft.rfftfreq(_DIFF_NFFT, 1.0 / FS)
    cov = diffuse_covariance(freqs) + _DIFF_REG * np.eye(8)
    factor = np.linalg.cholesky(cov)
    factor.setflags(write=False)
    return factor


def noise_freqs() -> np.ndarray:
    """The frequencies (Hz) of the bins of :func:`diffuse_noise`'s blocks (``weights`` is given there)."""
    return scipy.fft.rfftfreq(_DIFF_NFFT, 1.0 / FS)


def _normalised_weights(amplitude: np.ndarray) -> np.ndarray:
    """Amplitude weights per bin scaled so that W has unit variance after the inverse FFT."""
    w = np.array(amplitude, dtype=np.float64)
    if w.shape != (_DIFF_NFFT // 2 + 1,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("diffuse-noise weights must be one finite, non-negative value per noise_freqs() bin")
    w[0] = w[-1] = 0.0
    total = float(np.sum(w**2))
    if total <= 0.0:
        raise ValueError("diffuse-noise weights are all zero")
    # unit variance of W after the inverse FFT (each bin has E|z|^2 = 1)
    w *= _DIFF_NFFT / math.sqrt(2.0 * total)
    w.setflags(write=False)
    return w


@lru_cache(maxsize=2)
def _spectral_weights(pink: bool) -> np.ndarray:
    freqs = noise_freqs()
    if pink:
        return _normalised_weights(np.where(freqs >= 20.0, 1.0 / np.sqrt(np.maximum(freqs, 50.0)), 0.0))
    return _normalised_weights(np.ones_like(freqs))


@lru_cache(maxsize=1)
def _crossfade_window() -> np.ndarray:
    """Block window: sine fade-in and cosine fade-out over the overlap (squares sum to one)."""
    w = np.ones(_DIFF_NFFT)
    ramp = np.sin(0.5 * np.pi * (np.arange(_DIFF_OVERLAP) + 0.5) / _DIFF_OVERLAP)
    w[:_DIFF_OVERLAP] = ramp
    w[-_DIFF_OVERLAP:] = ramp[::-1]
    w.setflags(write=False)
    return w


def diffuse_noise(
    n: int,
    rng: np.random.Generator,
    pink: bool = False,
    mic: bool = True,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` samples of isotropic diffuse noise: ``(8, n)`` FOA + MIC, or ``(4, n)`` FOA only.

    W (and each capsule) has unit variance; white or pink (1/f above 50 Hz), or with the
    amplitude spectrum ``weights`` (one value per bin of :func:`noise_freqs`, any scale). Drawn in
    blocks of 16384 samples (exact covariance at every FFT bin) cross-faded over 1024
    samples with power-complementary windows. The random numbers drawn are the same with
    and without ``mic`` (so the FOA rows are identical).
    """
    n_ch = 8 if mic else 4
    if n <= 0:
        return np.zeros((n_ch, 0))
    factor = _diffuse_factor()
    weights = _spectral_weights(pink) if weights is None else _normalised_weights(weights)
    window = _crossfade_window()
    hop = _DIFF_NFFT - _DIFF_OVERLAP
    n_blocks = -(-(n + _DIFF_OVERLAP) // hop)
    out = np.zeros((n_ch, n_blocks * hop + _DIFF_OVERLAP))
    diag = np.real(np.diagonal(factor[0, :4, :4]))  # the FOA block of the factor is diagonal and flat
    for b0 in range(0, n_blocks, 8):
        nb = min(8, n_blocks - b0)
        pairs = rng.standard_normal((8, nb, factor.shape[0], 2), dtype=np.float32)
        z = pairs.astype(np.float64).view(np.complex128)[..., 0] * (math.sqrt(0.5) * weights)  # (8, nb, F)
        spec = np.empty((n_ch,) + z.shape[1:], dtype=np.complex128)
        spec[:4] = z[:4] * diag[:, None, None]
        if mic:
            spec[4:] = np.einsum("fcj,jbf->cbf", factor[:, 4:, :], z, optimize=True)
        x = scipy.fft.irfft(spec, n=_DIFF_NFFT, axis=-1) * window  # (C, nb, N)
        for j in range(nb):
            at = (b0 + j) * hop
            out[:, at : at + _DIFF_NFFT] += x[:, j]
    return out[:, _DIFF_OVERLAP : _DIFF_OVERLAP + n]


def _mixing_time(room: Room, source: np.ndarray) -> tuple[float, float]:
    """Arrival times (s) of the first reflection and of the nearest image of order ``max_order + 1``."""
    rx = np.asarray(room.receiver, dtype=np.float64)
    order = room.max_order + 1
    pos, _ = image_sources(room, source, max_order=order)
    dist = np.linalg.norm(pos - rx, axis=-1)
    orders = np.abs(image_orders(order)).sum(axis=1)
    first = dist[orders == 1].min()
    return first / SPEED_OF_SOUND, dist[orders == order].min() / SPEED_OF_SOUND


def tail_rir(
    room: Room,
    source: np.ndarray,
    rng: np.random.Generator,
    mic: bool = True,
    directivity: Directivity | None = None,
) -> np.ndarray:
    """The diffuse late tail ``(C, L)`` of a source at ``source (3,)``; sample 0 is the emission.

    ``(C, 0)`` for a room without reverberation (``rt60 == 0``). One diffuse noise is split
    into the octave bands by the zero-phase weights of
    :func:`core.synthesis.acoustics.band_weights` (which sum to one) and each band gets its
    own envelope (band RT60 and energy :meth:`~core.synthesis.room.Room.band_reverberant_energy`,
    times the directivity's diffuse power). See the module docstring.
    """
    n_ch = 8 if mic else 4
    energy = room.band_reverberant_energy()
    if directivity is not None:
        energy = energy * directivity.diffuse_power()
    if room.rt60 <= 0 or not np.any(energy > 0):
        return np.zeros((n_ch, 0))
    rts = room.band_rt60
    src = np.asarray(source, dtype=np.float64)
    t_dir = float(np.linalg.norm(src - np.asarray(room.receiver))) / SPEED_OF_SOUND
    t_first, t_mix = _mixing_time(room, src)
    t_mix = max(t_mix, t_first + 0.002)
    start = int(math.floor(t_first * FS))
    stop = int(math.ceil((t_dir + 1.2 * float(rts.max())) * FS))
    t = np.arange(start, stop) / FS
    ramp = np.sin(0.5 * np.pi * np.clip((t - t_first) / (t_mix - t_first), 0.0, 1.0)) ** 2
    noise = diffuse_noise(stop - start, rng, pink=False, mic=mic)
    n = stop - start
    spec = scipy.fft.rfft(noise, n, axis=-1)
    weights = band_weights(scipy.fft.rfftfreq(n, 1.0 / FS))
    out = np.zeros((n_ch, stop))
    for b in range(weights.shape[0]):
        if energy[b] <= 0 or rts[b] <= 0:
            continue
        decay = 6.0 * math.log(10.0) / rts[b]  # energy decay rate (1/s)
        env = np.sqrt(energy[b] * decay / FS * np.exp(-decay * (t - t_dir))) * ramp
        out[:, start:] += scipy.fft.irfft(spec * weights[b], n, axis=-1) * env
    return out


def room_impulse_response(
    room: Room,
    source: np.ndarray,
    rng: np.random.Generator,
    mic: bool = True,
    directivity: Directivity | None = None,
) -> np.ndarray:
    """Full RIR ``(C, L)`` (direct + image sources + diffuse tail) of a stationary source."""
    src = np.asarray(source, dtype=np.float64).reshape(3)
    early = early_rir(room, src[None], mic, directivity=directivity)[0]
    tail = tail_rir(room, src, rng, mic, directivity)
    out = np.zeros((early.shape[0], max(early.shape[1], tail.shape[1])))
    out[:, : early.shape[1]] += early
    out[:, : tail.shape[1]] += tail
    return out


# --------------------------------------------------------------------------- rendering


def _fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Full linear convolution of a mono ``x (n,)`` with each row of ``h (C, L)``: ``(C, n + L - 1)``."""
    n_out = x.shape[-1] + h.shape[-1] - 1
    nfft = scipy.fft.next_fast_len(n_out, real=True)
    spec = scipy.fft.rfft(h, nfft, axis=-1) * scipy.fft.rfft(x, nfft)
    return scipy.fft.irfft(spec, nfft, axis=-1)[:, :n_out]


def _render_moving_early(
    x: np.ndarray, traj: Trajectory, room: Room, mic: bool, directivity: Directivity | None = None
) -> np.ndarray:
    """Block-wise (20 ms hop, Hann 40 ms) direct + early rendering of a moving source: ``(C, n + ...)``."""
    hop = BLOCK_HOP
    n = x.shape[-1]
    n_blocks = -(-n // hop) + 1
    centres = np.arange(n_blocks) * hop  # block b covers samples [b*hop - hop, b*hop + hop)
    positions = traj.position(room, centres / FS)
    length = _early_length(room, positions)
    total = _PAD + length
    padded = np.zeros((n_blocks + 1) * hop)
    padded[hop : hop + n] = x
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(2 * hop) / (2 * hop))
    n_seg = 2 * hop + total - 1
    m = -(-n_seg // hop)
    nfft = scipy.fft.next_fast_len(m * hop, real=True)
    n_ch = 8 if mic else 4
    out = np.zeros((n_ch, n_blocks + m, hop))
    frames = padded.reshape(-1, hop)
    for b0 in range(0, n_blocks, _BLOCK_CHUNK):
        nb = min(_BLOCK_CHUNK, n_blocks - b0)
        seg = np.concatenate([frames[b0 : b0 + nb], frames[b0 + 1 : b0 + nb + 1]], axis=1) * window
        h = _early_rir_padded(room, positions[b0 : b0 + nb], mic, length, directivity)
        spec = scipy.fft.rfft(h, nfft, axis=-1) * scipy.fft.rfft(seg, nfft, axis=-1)[:, None, :]
        y = scipy.fft.irfft(spec, nfft, axis=-1)[..., : m * hop].reshape(nb, n_ch, m, hop)
        for j in range(m):
            out[:, b0 + j : b0 + j + nb] += y[:, :, j].transpose(1, 0, 2)
    return out.reshape(n_ch, -1)[:, hop + _PAD : hop + _PAD + n + length - 1]


def render_event(event: SceneEvent, room: Room, rng: np.random.Generator, mic: bool = True) -> np.ndarray:
    """The event as heard by the array: ``(C, n)`` from its onset (C = 8 FOA + MIC, or 4 FOA).

    Voices (speech, scream) get a directional pattern with a random facing drawn from
    ``rng`` (:func:`core.synthesis.acoustics.source_directivity`); other classes are omni.
    """
    x = np.asarray(event.samples, dtype=np.float64).reshape(-1)
    traj = event.trajectory
    directivity = source_directivity(event.class_name, rng)
    start = traj.position(room, 0.0)
    tail = tail_rir(room, start, rng, mic, directivity)
    if not traj.moving:
        early = _early_rir_padded(room, start[None], mic, _early_length(room, start[None]), directivity)[0]
        rir = np.zeros((early.shape[0], max(early.shape[1], _PAD + tail.shape[1])))
        rir[:, : early.shape[1]] += early
        rir[:, _PAD : _PAD + tail.shape[1]] += tail
        return _fft_convolve(x, rir)[:, _PAD:]
    y = _render_moving_early(x, traj, room, mic, directivity)
    if tail.shape[1] == 0:
        return y
    yt = _fft_convolve(x, tail)
    out = np.zeros((y.shape[0], max(y.shape[1], yt.shape[1])))
    out[:, : y.shape[1]] += y
    out[:, : yt.shape[1]] += yt
    return out


def _active_samples(scene: Scene) -> np.ndarray:
    """Boolean ``(n_samples,)``: inside a label frame with at least one event."""
    per_frame = scene.activity() > 0
    hop = int(round(0.1 * FS))
    return np.repeat(per_frame, hop)[: scene.n_samples]


def _ambient_noise(
    scene: Scene, rng: np.random.Generator, mic: bool, power: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """The scene's ambient noise ``(C, n)`` (tilted), its W power ``power``, and what was drawn.

    A diffuse field of the recipe ``scene.noise`` (:mod:`core.synthesis.noise`) plus the
    directional ``scene.noise_sources`` (each playing its own draw of the recipe through the
    room), scaled so that each source has its ``share`` of the W power and the diffuse field
    the rest. The pink recipe draws exactly the noise of earlier versions.
    """
    n = scene.n_samples
    kind = scene.noise
    params = {} if kind == "pink" else draw_noise_params(kind, rng)
    diffuse_share = 1.0 - sum(src.share for src in scene.noise_sources)
    if not 0.0 <= diffuse_share <= 1.0:
        raise ValueError("the shares of the directional noise sources must add up to at most 1")
    out = np.zeros((8 if mic else 4, n))
    if diffuse_share > 0.0:
        if kind == "pink" and scene.tilt_db_oct == 0.0:
            field = diffuse_noise(n, rng, pink=True, mic=mic)
        else:
            freqs = noise_freqs()
            tilt = 10 ** (tilt_gain_db(freqs, scene.tilt_db_oct) / 20)
            amp = np.sqrt(noise_spectrum(kind, freqs, params)) * tilt
            field = diffuse_noise(n, rng, mic=mic, weights=amp)
        env = noise_envelope(kind, n, rng, params)
        if env is not None:
            field *= np.sqrt(env)
        p_field = float(np.mean(field[0] ** 2)) if n else 0.0
        if p_field > 0.0:
            out += field * math.sqrt(diffuse_share * power / p_field)
    for src in scene.noise_sources:
        x = mono_noise(kind, n, rng, params, scene.tilt_db_oct)
        pos = src.trajectory.position(scene.room, 0.0)
        rir = room_impulse_response(scene.room, pos, rng, mic)
        y = scipy.signal.oaconvolve(x[None, :], rir, axes=-1)[:, :n]
        p_src = float(np.mean(y[0] ** 2)) if n else 0.0
        if p_src > 0.0:
            out += y * math.sqrt(src.share * power / p_src)
    total = float(np.mean(out[0] ** 2)) if n else 0.0
    if scene.noise_sources and total > 0.0:  # the parts are not exactly uncorrelated over a finite mix
        out *= math.sqrt(power / total)
    return out, {"noise": kind, **params}


def level_gain(
    reference: np.ndarray,
    power: float,
    level_dbfs: float,
    report: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> float:
    """The gain that puts events of mean power ``power`` at ``level_dbfs``, unless a peak of
    ``reference`` would then exceed :data:`PEAK_LIMIT` (-3 dBFS): then the peak is at it.

    ``report`` receives ``details`` (what the noise stage drew), ``level_dbfs`` reached and
    ``peak_limited``.
    """
    gain = 10 ** (level_dbfs / 20) / math.sqrt(power)
    peak = float(np.max(np.abs(reference))) if reference.size else 0.0
    limited = peak * gain > PEAK_LIMIT
    if limited:
        gain = PEAK_LIMIT / peak
    if report is not None:
        report.update(details or {})
        report["level_dbfs"] = round(10 * math.log10(power * gain**2), 3)
        report["peak_limited"] = bool(limited)
    return gain


def render_scene(
    scene: Scene,
    formats: Sequence[str] = ("foa", "mic"),
    cancel: CancelFn | None = None,
    report: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Render ``scene`` to float32 ``(4, n_samples)`` arrays, one per format (``"foa"``, ``"mic"``).

    Deterministic for a given scene (its ``noise_seed`` drives the tails and the ambient
    noise); the FOA output does not depend on whether MIC is rendered too. ``cancel`` is
    polled between events (raises :class:`~core.common.progress.Cancelled`). A ``report``
    dict receives what the level and noise stage drew and applied (noise recipe and its
    parameters, ``level_dbfs`` reached, ``peak_limited``).
    """
    for fmt in formats:
        if fmt not in ("foa", "mic"):
            raise ValueError(f"unknown format {fmt!r}; expected 'foa' or 'mic'")
    mic = "mic" in formats
    rng = np.random.default_rng(scene.noise_seed)
    n = scene.n_samples
    buf = np.zeros((8 if mic else 4, n))
    for ev in scene.events:
        check_cancel(cancel)
        y = render_event(ev, scene.room, rng, mic)
        stop = min(n, ev.onset + y.shape[1])
        if stop > ev.onset:
            buf[:, ev.onset : stop] += y[:, : stop - ev.onset]
    check_cancel(cancel)
    buf = apply_tilt(buf, scene.tilt_db_oct)  # the recording chain's EQ: one filter for all channels
    active = _active_samples(scene)
    power = float(np.mean(buf[0, active] ** 2)) if active.any() else 0.0
    if power <= 0.0:
        power = 1e-4
    details: dict[str, Any] = {"noise": "none"}
    if math.isfinite(scene.snr_db):
        noise, details = _ambient_noise(scene, rng, mic, power * 10 ** (-scene.snr_db / 10))
        buf += noise
    if mic:  # the capsules' gain/phase mismatch filters everything they hear (sphere.py)
        buf[4:] = apply_capsule_mismatch(buf[4:], scene.room)
    gain = level_gain(buf[:4], power, scene.level_dbfs, report, details)
    out: dict[str, np.ndarray] = {}
    if "foa" in formats:
        out["foa"] = (buf[:4] * gain).astype(np.float32)
    if mic:
        # the sphere's pressure gain (up to +6 dB on the side facing a source) can put a capsule
        # above an FOA peak: the MIC file alone is then turned down to the same -3 dBFS limit (the
        # FOA file does not depend on whether MIC is rendered)
        mic_gain = gain
        mic_peak = float(np.max(np.abs(buf[4:]))) if n else 0.0
        if mic_peak * mic_gain > PEAK_LIMIT:
            mic_gain = PEAK_LIMIT / mic_peak
        if report is not None:
            report["mic_peak_limited_db"] = round(20 * math.log10(mic_gain / gain), 3)
        out["mic"] = (buf[4:] * mic_gain).astype(np.float32)
    return out
