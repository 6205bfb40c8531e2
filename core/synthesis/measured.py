"""Measured room responses: scenes rendered through a user's multichannel impulse responses.

Instead of a simulated room, a set of **measured** responses of one room, each from a known
direction to a 4-channel array in one of the DCASE formats (FOA AmbiX or MIC), as the
DCASE 2024 generator (SpatialScaper) renders with TAU-SRIR DB and METU SPARG.

Where the responses come from
-----------------------------
* a **SOFA** file (AES69; read with `sofar`, the maintained reader): the
  ``SingleRoomSRIR``/``SingleRoomMIMOSRIR``/``GeneralFIR`` style, ``Data.IR`` of shape
  ``(M, R, N)`` with ``R = 4`` receivers (the array's channels, in the format's order),
  ``Data.SamplingRate`` and one ``SourcePosition`` per measurement, taken relative to
  ``ListenerPosition`` (spherical in degrees and metres, or cartesian in metres);
* a **folder of WAV files** with a direction table ``responses.csv``::

      file,azimuth,elevation,distance
      ir_000.wav,0,0,1.5
      ir_001.wav,20,0,1.5

  (a header row; ``distance`` optional; azimuth counter-clockwise from the front, elevation
  up, degrees; each file 4 channels).

Every response is resampled to 24 kHz (libsoxr, as recordings are) and the set is refused,
naming the file (and the line of the table), when something does not fit: a channel count
other than 4, a direction out of range, a response that is silent or not finite, a
missing file, responses of different lengths (padded to the longest: allowed).

Rendering
---------
A source may move. Its direction is taken every **100 ms** (the DCASE label frame) and
**snapped to the nearest measured direction** (great-circle distance);
:func:`render_through` then convolves the signal with the response of each 100 ms block,
cross-fading between consecutive responses with **amplitude-complementary raised-cosine**
ramps of ``crossfade`` samples centred on the block boundary. The windows sum to exactly one,
so a source that stays on one measured position is rendered exactly as one convolution, and
two responses of the same coherent signal add without a dip in level where they overlap. Runs of blocks on the same position are one segment.
The labels of such an event are the snapped (measured) directions: the label says where the
sound was rendered from.

A recorded **ambience** of the same room and format (:func:`read_ambience`) can serve as the
background: a 4-channel file, looped (with a cross-fade at the loop point) or cut to length
from a random start.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal

from core.common.errors import SeldError
from core.common.progress import CancelFn, check_cancel
from core.spatial.directions import azel_to_xyz, xyz_to_azel
from core.synthesis.scene import Scene, Trajectory

__all__ = [
    "BLOCK_S",
    "DIRECTION_TABLE",
    "MeasuredPath",
    "MeasuredResponses",
    "read_ambience",
    "read_responses",
    "render_measured_scene",
    "render_through",
    "snap_directions",
    "snap_scene",
]

SAMPLE_RATE = 24000
"""The rate responses are brought to (Hz): the scenes' rate."""
BLOCK_S = 0.1
"""A moving source snaps to the nearest measured direction every this many seconds (one label frame)."""
DEFAULT_CROSSFADE = 480
"""Samples (20 ms) of the cross-fade between the responses of consecutive blocks."""
DIRECTION_TABLE = "responses.csv"
"""The direction table of a folder of WAV responses."""
FORMATS = ("foa", "mic")


@dataclass(frozen=True, eq=False)
class MeasuredResponses:
    """Measured impulse responses of one room: ``irs (N, 4, L)`` float32 at 24 kHz, one per direction.

    ``azimuth``/``elevation`` (degrees) and ``distance`` (metres; NaN when not known) are
    the measured source positions seen from the array; ``fmt`` is the array's format.
    """

    fmt: str
    azimuth: np.ndarray
    elevation: np.ndarray
    distance: np.ndarray
    irs: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.irs.shape[0])

    @property
    def length(self) -> int:
        """Samples of each response."""
        return int(self.irs.shape[-1])

    def unit_vectors(self) -> np.ndarray:
        return azel_to_xyz(self.azimuth, self.elevation)

    def nearest(self, azimuth: np.ndarray | float, elevation: np.ndarray | float) -> np.ndarray:
        """Index of the measured direction nearest (great circle) to each given direction."""
        u = azel_to_xyz(np.asarray(azimuth, dtype=np.float64), np.asarray(elevation, dtype=np.float64))
        cos = u @ self.unit_vectors().T
        return np.asarray(np.argmax(cos, axis=-1))


# --------------------------------------------------------------------------- reading


def _check_fmt(fmt: str) -> None:
    if fmt not in FORMATS:
        raise SeldError(f"unknown format {fmt!r}: measured responses are 'foa' or 'mic'")


def _resample(x: np.ndarray, sr: float, path: Path) -> np.ndarray:
    """``x (C, N)`` at ``sr`` to 24 kHz float32."""
    import soxr

    if not math.isfinite(sr) or sr <= 0:
        raise SeldError(f"the sampling rate {sr} is not a rate", path)
    if sr != SAMPLE_RATE:
        x = soxr.resample(np.ascontiguousarray(x.T), sr, SAMPLE_RATE, quality="VHQ").T
    return np.ascontiguousarray(x, dtype=np.float32)


def _stack(irs: list[np.ndarray]) -> np.ndarray:
    length = max(ir.shape[-1] for ir in irs)
    out = np.zeros((len(irs), 4, length), dtype=np.float32)
    for i, ir in enumerate(irs):
        out[i, :, : ir.shape[-1]] = ir
    return out


def _check_response(ir: np.ndarray, where: str, path: Path, line: int | None = None) -> None:
    if ir.ndim != 2 or ir.shape[0] != 4:
        n = ir.shape[0] if ir.ndim == 2 else ir.ndim
        raise SeldError(f"{where} has {n} channels; a response of the array must have 4", path, line)
    if not np.isfinite(ir).all():
        raise SeldError(f"{where} holds values that are not finite", path, line)
    if not np.any(ir):
        raise SeldError(f"{where} is silent (all zeros)", path, line)


def _check_direction(az: float, el: float, path: Path, line: int | None, where: str) -> None:
    if not (math.isfinite(az) and -360.0 <= az <= 360.0):
        raise SeldError(f"{where}: azimuth {az} is not in [-360, 360] degrees", path, line)
    if not (math.isfinite(el) and -90.0 <= el <= 90.0):
        raise SeldError(f"{where}: elevation {el} is not in [-90, 90] degrees", path, line)


def read_responses(path: str | os.PathLike[str], fmt: str) -> MeasuredResponses:
    """Measured responses from a SOFA file or a folder of WAV files with ``responses.csv`` (module docstring)."""
    _check_fmt(fmt)
    p = Path(path)
    if p.is_dir():
        return _read_wav_folder(p, fmt)
    if p.suffix.lower() == ".sofa":
        return _read_sofa(p, fmt)
    if not p.exists():
        raise SeldError("no such file or folder of measured responses", p)
    raise SeldError("measured responses are a .sofa file or a folder with responses.csv", p)


def _read_sofa(path: Path, fmt: str) -> MeasuredResponses:
    try:
        import sofar
    except ImportError:  # pragma: no cover - sofar is a dependency
        raise SeldError("reading SOFA files needs the sofar package (pip install sofar)", path) from None
    try:
        sofa = sofar.read_sofa(str(path), verify=False, verbose=False)
    except Exception as err:  # noqa: BLE001 - netCDF/HDF5 errors of a damaged file
        raise SeldError(f"cannot be read as a SOFA file ({err})", path) from None
    data = np.asarray(getattr(sofa, "Data_IR", np.empty(0)), dtype=np.float64)
    if data.ndim != 3 or data.shape[0] < 1:
        raise SeldError(f"Data.IR has shape {data.shape}; expected (measurements, 4, samples)", path)
    if data.shape[1] != 4:
        raise SeldError(
            f"Data.IR has {data.shape[1]} receivers; a response of the array has 4 channels", path
        )
    sr = float(np.asarray(sofa.Data_SamplingRate).ravel()[0])
    sources = _positions(sofa, "SourcePosition", data.shape[0], path)
    listener = _positions(sofa, "ListenerPosition", data.shape[0], path)
    rel = sources - listener
    dist = np.linalg.norm(rel, axis=-1)
    if np.any(dist <= 0):
        raise SeldError("a source position coincides with the listener position", path)
    az, el = xyz_to_azel(rel / dist[:, None])
    irs = []
    for m in range(data.shape[0]):
        ir = _resample(data[m], sr, path)
        _check_response(ir, f"measurement {m + 1}", path)
        irs.append(ir)
    return MeasuredResponses(
        fmt=fmt,
        azimuth=np.asarray(az, dtype=np.float64),
        elevation=np.asarray(el, dtype=np.float64),
        distance=dist,
        irs=_stack(irs),
        source=str(path),
    )


def _positions(sofa, name: str, m: int, path: Path) -> np.ndarray:
    """A SOFA position variable as cartesian metres ``(M, 3)`` (spherical: degrees, degrees, metres)."""
    pos = np.atleast_2d(np.asarray(getattr(sofa, name), dtype=np.float64))
    if pos.shape[-1] != 3 or pos.shape[0] not in (1, m):
        raise SeldError(f"{name} has shape {pos.shape}; expected (1 or {m}, 3)", path)
    kind = str(getattr(sofa, f"{name}_Type", "cartesian")).lower()
    if kind.startswith("spherical"):
        pos = pos[:, 2:3] * azel_to_xyz(pos[:, 0], pos[:, 1])
    elif kind != "cartesian":
        raise SeldError(f"{name}_Type {kind!r} is not cartesian or spherical", path)
    return np.broadcast_to(pos, (m, 3))


def _read_wav_folder(folder: Path, fmt: str) -> MeasuredResponses:
    from core.io.audio import read_audio

    table = folder / DIRECTION_TABLE
    try:
        text = table.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SeldError(
            f"a folder of measured responses needs its direction table {DIRECTION_TABLE}", folder
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SeldError(f"cannot be read ({err})", table) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0][:3]] != ["file", "azimuth", "elevation"]:
        raise SeldError("the first line must be the header file,azimuth,elevation[,distance]", table, 1)
    with_distance = len(rows[0]) > 3 and rows[0][3].strip().lower() == "distance"
    azs, els, dists, irs = [], [], [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 3:
            raise SeldError("a row needs file, azimuth and elevation", table, line)
        name = row[0].strip()
        try:
            az, el = float(row[1]), float(row[2])
            dist = float(row[3]) if with_distance and len(row) > 3 and row[3].strip() else math.nan
        except ValueError:
            raise SeldError("azimuth, elevation and distance must be numbers", table, line) from None
        _check_direction(az, el, table, line, name)
        wav = folder / name
        if not wav.is_file():
            raise SeldError(f"{name} is listed but not in the folder", table, line)
        x, sr = read_audio(wav)
        ir = _resample(x, sr, wav)
        _check_response(ir, "the response", wav)
        azs.append(az)
        els.append(el)
        dists.append(dist)
        irs.append(ir)
    if not irs:
        raise SeldError("the direction table lists no response", table)
    return MeasuredResponses(
        fmt=fmt,
        azimuth=((np.asarray(azs) + 180.0) % 360.0) - 180.0,
        elevation=np.asarray(els, dtype=np.float64),
        distance=np.asarray(dists, dtype=np.float64),
        irs=_stack(irs),
        source=str(folder),
    )


# --------------------------------------------------------------------------- rendering


def snap_directions(
    responses: MeasuredResponses, azimuth: np.ndarray, elevation: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block: the index of the nearest measured direction, and that direction (azimuth, elevation)."""
    idx = responses.nearest(azimuth, elevation)
    return idx, responses.azimuth[idx], responses.elevation[idx]


def _segments(indices: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs ``(first_block, end_block, response)`` of consecutive blocks on the same response."""
    out: list[tuple[int, int, int]] = []
    start = 0
    for b in range(1, len(indices) + 1):
        if b == len(indices) or indices[b] != indices[start]:
            out.append((start, b, int(indices[start])))
            start = b
    return out


def _window(n: int, start: int, end: int, fade: int, first: bool, last: bool) -> np.ndarray:
    """1 on ``[start, end)``; raised-cosine ramps of ``fade`` samples centred on ``start`` and ``end``.

    The rising ramp of one segment and the falling ramp of the previous one sum to one.
    """
    w = np.zeros(n, dtype=np.float64)
    half = fade // 2
    lo = 0 if first else max(start - half, 0)
    hi = n if last else min(end + half, n)
    w[lo:hi] = 1.0
    if fade > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)  # rises 0 -> 1
        if not first:
            a = start - half
            seg = np.arange(a, a + fade)
            ok = (seg >= 0) & (seg < n)
            w[seg[ok]] = ramp[ok]
        if not last:
            a = end - half
            seg = np.arange(a, a + fade)
            ok = (seg >= 0) & (seg < n)
            w[seg[ok]] = 1.0 - ramp[ok]
    return w


def render_through(
    x: np.ndarray,
    responses: MeasuredResponses,
    indices: np.ndarray,
    block: int = int(BLOCK_S * SAMPLE_RATE),
    crossfade: int = DEFAULT_CROSSFADE,
    offset: int = 0,
) -> np.ndarray:
    """A mono signal ``x`` rendered through measured responses, block by block: ``(4, len(x) + L - 1)``.

    ``indices[b]`` is the response of block ``b``; sample 0 of ``x`` lies ``offset`` samples
    into block 0 (``0 <= offset < block``: an event that starts inside a label frame), so block
    ``b`` holds the samples ``[b * block - offset, (b + 1) * block - offset)``; the last entry
    also covers the samples after it. Between two different responses the signal is
    cross-faded over ``crossfade`` samples (< ``block``) centred on the boundary; the
    windows sum to one.
    """
    x = np.asarray(x, dtype=np.float64)
    indices = np.asarray(indices, dtype=np.int64).ravel()
    if indices.size == 0:
        raise ValueError("no block")
    if not 0 <= crossfade < block:
        raise ValueError("the cross-fade must be shorter than a block")
    if not 0 <= offset < block:
        raise ValueError("the offset must lie within the first block")
    n = x.shape[-1]
    out = np.zeros((4, n + responses.length - 1), dtype=np.float64)
    segments = _segments(indices)
    for k, (b0, b1, r) in enumerate(segments):
        first, last = k == 0, k == len(segments) - 1
        start, end = max(b0 * block - offset, 0), (n if last else b1 * block - offset)
        w = _window(n, start, end, crossfade, first, last)
        nz = np.flatnonzero(w)
        if nz.size == 0:
            continue
        lo, hi = int(nz[0]), int(nz[-1]) + 1
        piece = x[lo:hi] * w[lo:hi]
        y = scipy.signal.fftconvolve(piece[None, :], responses.irs[r].astype(np.float64), axes=-1)
        out[:, lo : lo + y.shape[-1]] += y
    return out


def read_ambience(
    path: str | os.PathLike[str], n: int, rng: np.random.Generator, crossfade: int = 2400
) -> np.ndarray:
    """``n`` samples ``(4, n)`` of a recorded 4-channel ambience (resampled to 24 kHz).

    A longer file is cut from a random start; a shorter one is looped with a raised-cosine
    cross-fade of ``crossfade`` samples at each seam (equal-power would change the level of
    correlated content; the ambience is one recording, so the seam is amplitude-complementary).
    """
    from core.io.audio import read_audio

    p = Path(path)
    x, sr = read_audio(p)
    if x.shape[0] != 4:
        raise SeldError(f"an ambience must have the array's 4 channels, not {x.shape[0]}", p)
    x = _resample(x, sr, p).astype(np.float64)
    m = x.shape[-1]
    if m >= n:
        start = int(rng.integers(0, m - n + 1))
        return x[:, start : start + n]
    fade = min(crossfade, m // 2)
    if fade < 1:
        raise SeldError("the ambience is too short to loop", p)
    step = m - fade
    out = np.zeros((4, n + m), dtype=np.float64)
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
    w = np.ones(m)
    w[:fade] = ramp
    w[-fade:] = 1.0 - ramp
    pos = 0
    first = True
    while pos < n:
        wi = w.copy()
        if first:
            wi[:fade] = 1.0
            first = False
        out[:, pos : pos + m] += x * wi
        pos += step
    return out[:, :n]


# --------------------------------------------------------------------------- scenes


@dataclass(frozen=True)
class MeasuredPath(Trajectory):
    """A trajectory snapped to measured directions, one per label frame of its event.

    ``frame_response[i]`` is the response used in label frame ``first_frame + i`` and
    ``frame_azimuth``/``frame_elevation`` its measured direction, which is also what the
    labels say (:meth:`direction`); the inherited fields keep the drawn trajectory's start.
    """

    first_frame: int = 0
    onset_s: float = 0.0
    frame_azimuth: tuple[float, ...] = ()
    frame_elevation: tuple[float, ...] = ()
    frame_response: tuple[int, ...] = ()

    @property
    def moving(self) -> bool:
        return len(set(self.frame_response)) > 1

    def direction(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        frame = np.floor((self.onset_s + np.asarray(t, dtype=np.float64)) / BLOCK_S + 1e-9).astype(np.int64)
        i = np.clip(frame - self.first_frame, 0, len(self.frame_response) - 1)
        return np.asarray(self.frame_azimuth)[i], np.asarray(self.frame_elevation)[i]

    def info(self) -> dict[str, object]:
        """What ``synth_info.json`` records: the measured response of each label frame."""
        return {"first_frame": self.first_frame, "responses": list(self.frame_response)}


def snap_scene(scene: Scene, responses: MeasuredResponses) -> Scene:
    """``scene`` with every event's path snapped, per label frame, to the nearest measured direction.

    Directional noise sources are dropped (the room is the measured one: there is no model
    of it to render them through).
    """
    from dataclasses import replace

    hop = int(round(BLOCK_S * SAMPLE_RATE))
    events = []
    for ev in scene.events:
        first = ev.onset // hop
        last = -(-(ev.onset + ev.n_samples) // hop) - 1
        frames = np.arange(first, last + 1)
        centre = (frames + 0.5) * BLOCK_S
        t = np.clip(centre - ev.onset_s, 0.0, ev.n_samples / SAMPLE_RATE)
        az, el = ev.trajectory.direction(t)
        idx, snapped_az, snapped_el = snap_directions(responses, np.atleast_1d(az), np.atleast_1d(el))
        tr = ev.trajectory
        path = MeasuredPath(
            azimuth_deg=tr.azimuth_deg,
            elevation_deg=tr.elevation_deg,
            distance_m=tr.distance_m,
            azimuth_speed=tr.azimuth_speed,
            elevation_speed=tr.elevation_speed,
            first_frame=int(first),
            onset_s=ev.onset_s,
            frame_azimuth=tuple(float(a) for a in snapped_az),
            frame_elevation=tuple(float(e) for e in snapped_el),
            frame_response=tuple(int(i) for i in idx),
        )
        events.append(replace(ev, trajectory=path))
    return replace(scene, events=tuple(events), noise_sources=())


def render_measured_scene(
    scene: Scene,
    responses: MeasuredResponses,
    ambience: str | os.PathLike[str] | None = None,
    cancel: CancelFn | None = None,
    report: dict[str, Any] | None = None,
) -> np.ndarray:
    """A snapped scene (:func:`snap_scene`) rendered through ``responses``: float32 ``(4, n)`` in their format.

    Events as :func:`render_through`; then the scene's tilt, the ambient noise at the scene's
    SNR (the recorded ``ambience`` when given, else the scene's synthetic diffuse noise for the
    format), the level and the -3 dBFS peak rule, all as :func:`core.synthesis.spatial.render_scene`
    does. The level is measured on W (FOA) or on the mean of the four capsules (MIC).
    """
    from core.synthesis.noise import apply_tilt
    from core.synthesis.spatial import _active_samples, _ambient_noise, level_gain

    hop = int(round(BLOCK_S * SAMPLE_RATE))
    rng = np.random.default_rng(scene.noise_seed)
    n = scene.n_samples
    buf = np.zeros((4, n))
    for ev in scene.events:
        check_cancel(cancel)
        path = ev.trajectory
        if not isinstance(path, MeasuredPath):
            raise ValueError("render_measured_scene needs a scene snapped by snap_scene")
        y = render_through(
            ev.samples,
            responses,
            np.asarray(path.frame_response),
            block=hop,
            offset=ev.onset - path.first_frame * hop,
        )
        stop = min(n, ev.onset + y.shape[1])
        if stop > ev.onset:
            buf[:, ev.onset : stop] += y[:, : stop - ev.onset]
    check_cancel(cancel)
    buf = apply_tilt(buf, scene.tilt_db_oct)

    def level(x: np.ndarray) -> float:
        return float(np.mean(x[0] ** 2)) if responses.fmt == "foa" else float(np.mean(x**2))

    active = _active_samples(scene)
    power = level(buf[:, active]) if active.any() else 0.0
    if power <= 0.0:
        power = 1e-4
    details: dict[str, Any] = {"noise": "none"}
    if math.isfinite(scene.snr_db):
        target = power * 10 ** (-scene.snr_db / 10)
        if ambience is not None:
            noise = read_ambience(ambience, n, rng)
            noise = apply_tilt(noise, scene.tilt_db_oct)
            details = {"noise": "recorded ambience", "file": str(ambience)}
        else:
            field, details = _ambient_noise(scene, rng, responses.fmt == "mic", 1.0)
            noise = field[4:] if responses.fmt == "mic" else field
        noise_power = level(noise)
        if noise_power > 0:
            buf += noise * math.sqrt(target / noise_power)
    gain = level_gain(buf, power, scene.level_dbfs, report, details)
    if report is not None:
        report["responses"] = responses.source
    return (buf * gain).astype(np.float32)
