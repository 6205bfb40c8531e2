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
* **MIC**: four **omnidirectional capsules in free field** at the DCASE tetrahedron
  positions (radius 4.2 cm, :func:`core.spatial.mic_array.mic_capsule_positions`); each path has
  its exact per-capsule distance, so delay and ``1/d`` gain differ per capsule. Capsule
  directivity and the scattering of the Eigenmike's rigid sphere are **not** modelled
  (an open-sphere array).
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
  ``j0(k d_ij)`` (capsule spacing ``d_ij``) and cross terms ``E[W M_c*] = j0(k r)``,
  ``E[D_a M_c*] = -j j1(k r) p_ca / r`` (``D_a`` = Y, Z, X). Noise is drawn per 16384-point
  frequency block through the Cholesky factor of that matrix at every bin, and the blocks
  are cross-faded (power-complementary sine/cosine ramps of 1024 samples).
* **Moving sources** are rendered in blocks of 20 ms hop (Hann windows of 40 ms, which
  sum to one): each block is convolved with the direct + early RIR of the source position
  at the block centre; the diffuse tail (independent of direction) is convolved once.
* **Ambient noise**: a pink (1/f above 50 Hz) isotropic diffuse field at ``scene.snr_db``
  below the events' level, measured as the mean power of the rendered W channel over the
  samples of all label frames with at least one event.
* **Level**: the mix is scaled so that the W channel's RMS over the active label frames
  is -30 dBFS, unless that would put an FOA peak above -3 dBFS (then the peak is at
  -3 dBFS); MIC gets the same gain (its peaks are within a few % of the FOA ones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.special

from core.common.progress import CancelFn, check_cancel
from core.spatial.mic_array import mic_capsule_positions
from core.synthesis.room import SPEED_OF_SOUND, Room, image_orders, image_sources
from core.synthesis.scene import SAMPLE_RATE, Scene, SceneEvent, Trajectory

__all__ = [
    "BLOCK_HOP",
    "EVENT_LEVEL_DBFS",
    "PEAK_LIMIT",
    "diffuse_covariance",
    "diffuse_noise",
    "early_rir",
    "foa_gains",
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


def _path_geometry(room: Room, sources: np.ndarray, mic: bool) -> tuple[np.ndarray, ...]:
    """Delays (samples) and channel weights of all paths of source positions ``(B, 3)``.

    Returns ``foa_delay (B, K)``, ``foa_weight (B, K, 4)`` and, with ``mic``,
    ``mic_delay (B, K, 4)``, ``mic_weight (B, K, 4)``.
    """
    pos, gains = image_sources(room, sources)
    rx = np.asarray(room.receiver, dtype=np.float64)
    vec = pos - rx
    dist = np.linalg.norm(vec, axis=-1)
    foa_delay = dist * (FS / SPEED_OF_SOUND)
    foa_weight = (gains / dist)[..., None] * foa_gains(vec / dist[..., None])
    if not mic:
        return foa_delay, foa_weight
    caps = rx + mic_capsule_positions()
    dm = np.linalg.norm(pos[..., None, :] - caps, axis=-1)
    return foa_delay, foa_weight, dm * (FS / SPEED_OF_SOUND), gains[:, None] / dm


def _early_length(room: Room, sources: np.ndarray) -> int:
    pos, _ = image_sources(room, sources)
    dist = np.linalg.norm(pos - np.asarray(room.receiver), axis=-1)
    return int(math.ceil(dist.max() * FS / SPEED_OF_SOUND)) + _HALF + 8  # + capsule offsets (< 3 samples)


def early_rir(room: Room, sources: np.ndarray, mic: bool = True, length: int | None = None) -> np.ndarray:
    """Direct sound + image sources: RIRs ``(B, C, length)`` of source positions ``(B, 3)``.

    ``C`` is 8 (FOA W, Y, Z, X then MIC M1..M4) with ``mic``, else 4. Sample 0 is the
    emission time. ``length`` defaults to just past the latest path.
    """
    sources = np.atleast_2d(np.asarray(sources, dtype=np.float64))
    geo = _path_geometry(room, sources, mic)
    if length is None:
        length = _early_length(room, sources)
    n_ch = 8 if mic else 4
    n_blocks = sources.shape[0]
    base = (np.arange(n_blocks) * n_ch)[:, None, None, None]
    t = np.arange(2 * _HALF)
    start, taps = _sinc_taps(geo[0])  # (B, K), (B, K, T)
    if start.min() < 0 or start.max() + 2 * _HALF > length:
        raise ValueError("a path falls outside the RIR (source closer than 0.25 m, or length too short)")
    ch = np.arange(4)[None, None, :, None]
    idx = [((base + ch) * length + start[:, :, None, None] + t).ravel()]
    val = [(geo[1][..., None] * taps[:, :, None, :]).ravel()]
    if mic:
        start_m, taps_m = _sinc_taps(geo[2])  # (B, K, 4), (B, K, 4, T)
        if start_m.min() < 0 or start_m.max() + 2 * _HALF > length:
            raise ValueError("a path falls outside the RIR")
        idx.append(((base + 4 + ch) * length + start_m[..., None] + t).ravel())
        val.append((geo[3][..., None] * taps_m).ravel())
    flat = np.bincount(np.concatenate(idx), np.concatenate(val), minlength=n_blocks * n_ch * length)
    return flat.reshape(n_blocks, n_ch, length)


# --------------------------------------------------------------------------- diffuse fields


def diffuse_covariance(freqs_hz: np.ndarray) -> np.ndarray:
    """Covariance ``(F, 8, 8)`` of FOA (W, Y, Z, X) + MIC (M1..M4) in an isotropic diffuse field.

    Normalised to a unit-power pressure field (``W`` and each capsule have variance 1);
    see the module docstring for the entries.
    """
    k = 2.0 * np.pi * np.asarray(freqs_hz, dtype=np.float64) / SPEED_OF_SOUND
    caps = mic_capsule_positions()
    r = np.linalg.norm(caps, axis=1)
    cov = np.zeros(k.shape + (8, 8), dtype=np.complex128)
    cov[..., 0, 0] = 1.0
    for a in (1, 2, 3):
        cov[..., a, a] = 1.0 / 3.0
    d = np.linalg.norm(caps[:, None, :] - caps[None, :, :], axis=-1)
    cov[..., 4:, 4:] = scipy.special.spherical_jn(0, k[..., None, None] * d)
    axis_of = {1: 1, 2: 2, 3: 0}  # Y, Z, X -> y, z, x
    for c in range(4):
        kr = k * r[c]
        cov[..., 0, 4 + c] = scipy.special.spherical_jn(0, kr)
        j1 = scipy.special.spherical_jn(1, kr)
        for a, axis in axis_of.items():
            cov[..., a, 4 + c] = -1j * j1 * caps[c, axis] / r[c]
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


@lru_cache(maxsize=2)
def _spectral_weights(pink: bool) -> np.ndarray:
    freqs = scipy.fft.rfftfreq(_DIFF_NFFT, 1.0 / FS)
    if pink:
        w = np.where(freqs >= 20.0, 1.0 / np.sqrt(np.maximum(freqs, 50.0)), 0.0)
    else:
        w = np.ones_like(freqs)
    w[0] = w[-1] = 0.0
    # unit variance of W after the inverse FFT (each bin has E|z|^2 = 1)
    w *= _DIFF_NFFT / math.sqrt(2.0 * np.sum(w**2))
    w.setflags(write=False)
    return w


@lru_cache(maxsize=1)
def _crossfade_window() -> np.ndarray:
    """Block window: sine fade-in and cosine fade-out over the overlap (squares sum to one)."""
    w = np.ones(_DIFF_NFFT)
    ramp = np.sin(0.5 * np.pi * (np.arange(_DIFF_OVERLAP) + 0.5) / _DIFF_OVERLAP)
    w[:_DIFF_OVERLAP] = ramp
    w[-_DIFF_OVERLAP:] = ramp[::-1]
    w.setflags(write=False)
    return w


def diffuse_noise(n: int, rng: np.random.Generator, pink: bool = False, mic: bool = True) -> np.ndarray:
    """``n`` samples of isotropic diffuse noise: ``(8, n)`` FOA + MIC, or ``(4, n)`` FOA only.

    W (and each capsule) has unit variance; white or pink (1/f above 50 Hz). Drawn in
    blocks of 16384 samples (exact covariance at every FFT bin) cross-faded over 1024
    samples with power-complementary windows. The random numbers drawn are the same with
    and without ``mic`` (so the FOA rows are identical).
    """
    n_ch = 8 if mic else 4
    if n <= 0:
        return np.zeros((n_ch, 0))
    factor = _diffuse_factor()
    weights = _spectral_weights(pink)
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


def tail_rir(room: Room, source: np.ndarray, rng: np.random.Generator, mic: bool = True) -> np.ndarray:
    """The diffuse late tail ``(C, L)`` of a source at ``source (3,)``; sample 0 is the emission.

    ``(C, 0)`` for a room without reverberation (``rt60 == 0``). See the module docstring.
    """
    n_ch = 8 if mic else 4
    energy = room.reverberant_energy()
    if energy <= 0:
        return np.zeros((n_ch, 0))
    src = np.asarray(source, dtype=np.float64)
    t_dir = float(np.linalg.norm(src - np.asarray(room.receiver))) / SPEED_OF_SOUND
    t_first, t_mix = _mixing_time(room, src)
    t_mix = max(t_mix, t_first + 0.002)
    decay = 6.0 * math.log(10.0) / room.rt60  # energy decay rate (1/s)
    start = int(math.floor(t_first * FS))
    stop = int(math.ceil((t_dir + 1.2 * room.rt60) * FS))
    t = np.arange(start, stop) / FS
    ramp = np.sin(0.5 * np.pi * np.clip((t - t_first) / (t_mix - t_first), 0.0, 1.0)) ** 2
    env = np.sqrt(energy * decay / FS * np.exp(-decay * (t - t_dir))) * ramp
    out = np.zeros((n_ch, stop))
    out[:, start:] = diffuse_noise(stop - start, rng, pink=False, mic=mic) * env
    return out


def room_impulse_response(
    room: Room, source: np.ndarray, rng: np.random.Generator, mic: bool = True
) -> np.ndarray:
    """Full RIR ``(C, L)`` (direct + image sources + diffuse tail) of a stationary source."""
    src = np.asarray(source, dtype=np.float64).reshape(3)
    early = early_rir(room, src[None], mic)[0]
    tail = tail_rir(room, src, rng, mic)
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


def _render_moving_early(x: np.ndarray, traj: Trajectory, room: Room, mic: bool) -> np.ndarray:
    """Block-wise (20 ms hop, Hann 40 ms) direct + early rendering of a moving source: ``(C, n + ...)``."""
    hop = BLOCK_HOP
    n = x.shape[-1]
    n_blocks = -(-n // hop) + 1
    centres = np.arange(n_blocks) * hop  # block b covers samples [b*hop - hop, b*hop + hop)
    positions = traj.position(room, centres / FS)
    length = _early_length(room, positions)
    padded = np.zeros((n_blocks + 1) * hop)
    padded[hop : hop + n] = x
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(2 * hop) / (2 * hop))
    n_seg = 2 * hop + length - 1
    m = -(-n_seg // hop)
    nfft = scipy.fft.next_fast_len(m * hop, real=True)
    n_ch = 8 if mic else 4
    out = np.zeros((n_ch, n_blocks + m, hop))
    frames = padded.reshape(-1, hop)
    for b0 in range(0, n_blocks, _BLOCK_CHUNK):
        nb = min(_BLOCK_CHUNK, n_blocks - b0)
        seg = np.concatenate([frames[b0 : b0 + nb], frames[b0 + 1 : b0 + nb + 1]], axis=1) * window
        h = early_rir(room, positions[b0 : b0 + nb], mic, length)
        spec = scipy.fft.rfft(h, nfft, axis=-1) * scipy.fft.rfft(seg, nfft, axis=-1)[:, None, :]
        y = scipy.fft.irfft(spec, nfft, axis=-1)[..., : m * hop].reshape(nb, n_ch, m, hop)
        for j in range(m):
            out[:, b0 + j : b0 + j + nb] += y[:, :, j].transpose(1, 0, 2)
    return out.reshape(n_ch, -1)[:, hop : hop + n + length - 1]


def render_event(event: SceneEvent, room: Room, rng: np.random.Generator, mic: bool = True) -> np.ndarray:
    """The event as heard by the array: ``(C, n)`` from its onset (C = 8 FOA + MIC, or 4 FOA)."""
    x = np.asarray(event.samples, dtype=np.float64).reshape(-1)
    traj = event.trajectory
    start = traj.position(room, 0.0)
    tail = tail_rir(room, start, rng, mic)
    if not traj.moving:
        early = early_rir(room, start[None], mic)[0]
        rir = np.zeros((early.shape[0], max(early.shape[1], tail.shape[1])))
        rir[:, : early.shape[1]] += early
        rir[:, : tail.shape[1]] += tail
        return _fft_convolve(x, rir)
    y = _render_moving_early(x, traj, room, mic)
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


def render_scene(
    scene: Scene, formats: Sequence[str] = ("foa", "mic"), cancel: CancelFn | None = None
) -> dict[str, np.ndarray]:
    """Render ``scene`` to float32 ``(4, n_samples)`` arrays, one per format (``"foa"``, ``"mic"``).

    Deterministic for a given scene (its ``noise_seed`` drives the tails and the ambient
    noise); the FOA output does not depend on whether MIC is rendered too. ``cancel`` is
    polled between events (raises :class:`~core.common.progress.Cancelled`).
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
    active = _active_samples(scene)
    power = float(np.mean(buf[0, active] ** 2)) if active.any() else 0.0
    if power <= 0.0:
        power = 1e-4
    if math.isfinite(scene.snr_db):
        buf += diffuse_noise(n, rng, pink=True, mic=mic) * math.sqrt(power * 10 ** (-scene.snr_db / 10))
    gain = 10 ** (EVENT_LEVEL_DBFS / 20) / math.sqrt(power)
    peak = float(np.max(np.abs(buf[:4]))) if n else 0.0
    if peak * gain > PEAK_LIMIT:
        gain = PEAK_LIMIT / peak
    out: dict[str, np.ndarray] = {}
    if "foa" in formats:
        out["foa"] = (buf[:4] * gain).astype(np.float32)
    if mic:
        out["mic"] = (buf[4:] * gain).astype(np.float32)
    return out
