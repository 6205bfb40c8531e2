"""Reading SELD recordings: WAV, FLAC and OGG through soundfile, resampled to 24 kHz.

Conventions
-----------
* Samples are ``float32`` with **channels first**: shape ``(channels, samples)``.
  Integer PCM is scaled the way soundfile/libsndfile reads it as float: int16 by
  1/32768 (so 16384 -> 0.5 and -32768 -> -1.0 exactly), int24/int32 by 1/2**23 and
  1/2**31. Float files are passed through unchanged.
* A SELD recording has exactly **4 channels** and a declared format:

  - ``"foa"``: first-order Ambisonics, AmbiX = ACN order **W, Y, Z, X**, **SN3D**
    (see :mod:`core.spatial.ambisonics`; FuMa files are converted with ``convention="fuma"``);
  - ``"mic"``: the DCASE tetrahedral array, channels **M1..M4**, radius 4.2 cm
    (see :mod:`core.spatial.mic_array`).

  The format is inferred from DCASE folder names in the path (a folder named ``foa``
  or ``mic`` or starting with ``foa_`` / ``mic_``, e.g. ``foa_dev``, ``mic_eval``; the
  folder nearest the file wins); an explicit ``fmt=`` always overrides it.
* Recordings are analysed at :data:`TARGET_RATE` = 24000 Hz (the DCASE 2020 rate).
  Files at another rate between :data:`MIN_RATE` (16 kHz) and :data:`MAX_RATE`
  (192 kHz) are resampled with libsoxr (python-soxr) at quality **"VHQ"** (28-bit
  precision, linear phase), both for whole files and streamed blocks. Rates below
  16 kHz are refused: such a file cannot hold the 8–12 kHz band that a 24 kHz analysis
  expects, so upsampling it would silently give a wrong (band-limited) result.
* Times are in seconds; sample indices of the block reader are at 24 kHz, counted
  from the start of the file.
* Nothing is allocated by a header's claim: a WAV's data chunk size is checked against the
  file, a compressed file's claimed length is checked by seeking to its last frame when it
  is opened, and whole files are decoded chunk by chunk into a buffer that grows with what
  really decodes.
* Samples of a SELD recording (:func:`load_recording`, :func:`iter_blocks`) must be finite
  and within :data:`MAX_SAMPLE_MAGNITUDE` (1000, i.e. 60 dB above full scale ±1.0); see
  there for why.

Every problem with a file raises :class:`~core.common.errors.AudioError` whose message is
``"<file>: <problem>"``. Invalid argument values (a negative time, an unknown
``fmt`` string) raise :class:`ValueError`.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from core.common.errors import AudioError
from core.spatial.ambisonics import CONVENTIONS, FOA_CHANNELS, ambix_to_fuma, fuma_to_ambix
from core.spatial.mic_array import (
    MIC_CAPSULES_DEG,
    MIC_CHANNELS,
    MIC_RADIUS_M,
    mic_capsule_positions,
    mic_capsule_unit_vectors,
)

__all__ = [
    "CONVENTIONS",
    "FOA_CHANNELS",
    "FORMATS",
    "MAX_RATE",
    "MAX_SAMPLE_MAGNITUDE",
    "MIC_CAPSULES_DEG",
    "MIC_CHANNELS",
    "MIC_RADIUS_M",
    "MIN_RATE",
    "RESAMPLE_QUALITY",
    "SELD_CHANNELS",
    "TARGET_RATE",
    "AudioInfo",
    "Recording",
    "ambix_to_fuma",
    "check_recording",
    "fuma_to_ambix",
    "infer_format",
    "iter_blocks",
    "load_recording",
    "mic_capsule_positions",
    "mic_capsule_unit_vectors",
    "probe",
    "read_audio",
    "read_segment",
    "resolve_format",
    "sample_index",
]

TARGET_RATE = 24000
"""Sample rate (Hz) every recording is analysed at."""
MIN_RATE = 16000
"""Lowest accepted file sample rate (Hz); lower rates are refused."""
MAX_RATE = 192000
"""Highest accepted file sample rate (Hz)."""
RESAMPLE_QUALITY = "VHQ"
"""libsoxr quality recipe used for all resampling (28-bit, linear phase)."""
SELD_CHANNELS = 4
"""Channel count of a SELD recording (FOA W,Y,Z,X or MIC M1..M4)."""
FORMATS: tuple[str, ...] = ("foa", "mic")
"""Recording formats."""
MAX_SAMPLE_MAGNITUDE = 1000.0
"""Largest accepted ``|sample|`` of a SELD recording (float files; integer PCM never exceeds 1.0).

Full scale is ±1.0. A float file may go beyond it (headroom, physical units such as pascals:
140 dB SPL is 200 Pa), but not by more than 60 dB: a value beyond ±1000 is not a recording
at any plausible level but a file written in the wrong units (integer sample values stored
as float, ±32767 or ±2**31) or garbage. Such values are refused rather than analysed: the
features' float32 arithmetic overflows beyond about ±7e6 (the intensity vectors silently
become 0, and NaN from about ±4e16), and even below that the log-mel levels would be tens
of dB away from anything a model was trained on."""

_CHANNELS_HINT = "a SELD recording needs 4 (FOA W,Y,Z,X or MIC M1..M4)"
# Extra input read before/after a streamed segment so the resampler's filter sees the
# same neighbourhood as when resampling the whole file (VHQ needs < 10 ms).
_STREAM_MARGIN_S = 0.02
# Frames decoded per read call (~0.34 s at 48 kHz): bounds the memory of streamed reads.
_CHUNK_FRAMES = 16384
# libsndfile's frame count when a header does not state the length (FLAC total samples 0).
_UNKNOWN_FRAMES = 2**62
# A whole-file read allocates the claimed length up front only up to this many bytes (or 16
# times the file's size, if more); beyond that the buffer grows with what really decodes.
_TRUSTED_ALLOCATION = 256 * 1024 * 1024


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`probe` learns from a file's header, without decoding the audio.

    ``subtype`` is libsndfile's sample encoding (``"PCM_16"``, ``"FLOAT"``,
    ``"VORBIS"``, ...), ``container`` its file format (``"WAV"``, ``"FLAC"``, ``"OGG"``, ...).
    """

    path: str
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    subtype: str
    container: str


@dataclass(eq=False)
class Recording:
    """A 4-channel SELD recording at 24 kHz, as returned by :func:`load_recording`.

    ``samples`` is float32 ``(4, N)``: FOA in AmbiX order W, Y, Z, X (SN3D) or MIC
    capsules M1..M4. ``original_rate`` is the file's own sample rate before resampling,
    ``convention`` the file's FOA convention (the samples are AmbiX either way).

    It reads like a recording that stays on disk (:class:`core.io.recording.FileRecording`):
    :meth:`read`, :meth:`read_samples` and :meth:`blocks` (the protocol
    :class:`core.io.recording.RecordingLike`).
    """

    samples: np.ndarray
    sample_rate: int
    fmt: str
    path: str
    original_rate: int
    convention: str = "ambix"

    @property
    def n_samples(self) -> int:
        """Number of samples per channel (at :attr:`sample_rate`)."""
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.n_samples / self.sample_rate

    @property
    def channel_names(self) -> tuple[str, ...]:
        """``("W", "Y", "Z", "X")`` for FOA, ``("M1", "M2", "M3", "M4")`` for MIC."""
        return FOA_CHANNELS if self.fmt == "foa" else MIC_CHANNELS

    def read_samples(self, start: int, n: int) -> np.ndarray:
        """``(4, n)`` samples from sample ``start`` (zeros past the end; a view inside)."""
        start, n = max(0, int(start)), max(0, int(n))
        if start + n <= self.n_samples:
            return self.samples[:, start : start + n]
        out = np.zeros((self.samples.shape[0], n), np.float32)
        part = self.samples[:, start : start + n]
        out[:, : part.shape[1]] = part
        return out

    def read(self, start_s: float, stop_s: float) -> np.ndarray:
        """Samples ``(4, n)`` between two times (clamped to the recording), as :func:`read_segment`."""
        k0 = min(sample_index(max(0.0, start_s)), self.n_samples)
        k1 = min(max(sample_index(max(0.0, stop_s)), k0), self.n_samples)
        return self.samples[:, k0:k1]

    def blocks(
        self, block_seconds: float = 1.0, start_s: float = 0.0, stop_s: float | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(start_sample, (4, n))`` blocks of ``[start_s, stop_s)``, as :func:`iter_blocks`."""
        k0 = min(sample_index(start_s), self.n_samples)
        k1 = self.n_samples if stop_s is None else min(sample_index(stop_s), self.n_samples)
        step = max(1, sample_index(block_seconds))
        for k in range(k0, k1, step):
            yield k, self.samples[:, k : min(k + step, k1)]


def sample_index(seconds: float) -> int:
    """The 24 kHz sample at ``seconds`` (halves up), as every reader rounds."""
    return math.floor(seconds * TARGET_RATE + 0.5)


# --------------------------------------------------------------------------- format


def infer_format(path: str | os.PathLike[str]) -> str | None:
    """The format named by a DCASE folder in ``path``: ``"foa"``, ``"mic"`` or ``None``.

    Only folders count (not the file name): one named ``foa``/``mic`` or starting with
    ``foa_``/``mic_`` (case-insensitive). The folder nearest the file wins. Relative
    paths are made absolute first (symbolic links are not followed).
    """
    parts = Path(os.path.abspath(os.fspath(path))).parent.parts
    for part in reversed(parts):
        low = part.lower()
        for fmt in FORMATS:
            if low == fmt or low.startswith(fmt + "_"):
                return fmt
    return None


def resolve_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The declared ``fmt`` if given, else the one inferred from the path; :class:`AudioError` if neither."""
    if fmt is not None:
        _check_fmt_arg(fmt)
        return fmt
    inferred = infer_format(path)
    if inferred is None:
        raise AudioError(
            "the recording format could not be inferred: no folder in its path is named "
            "foa/mic or starts with foa_/mic_ (as in DCASE foa_dev, mic_eval); declare it with "
            "fmt='foa' (Ambisonics, AmbiX W,Y,Z,X SN3D) or fmt='mic' (tetrahedral array M1..M4)",
            path,
        )
    return inferred


def _check_fmt_arg(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS} or None, not {fmt!r}")


def _check_convention(convention: str, fmt: str, path: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, not {convention!r}")
    if convention == "fuma" and fmt != "foa":
        raise AudioError(
            f"convention 'fuma' applies to FOA recordings only, but this recording is {fmt!r}", path
        )


# --------------------------------------------------------------------------- checks


def _check_file(path: str | os.PathLike[str]) -> str:
    """Existence, type and permission checks before libsndfile sees the file."""
    p = os.fspath(path)
    if not os.path.lexists(p):
        raise AudioError("file not found", p)
    if not os.path.exists(p):
        raise AudioError("file not found (broken symbolic link)", p)
    if os.path.isdir(p):
        raise AudioError("is a directory, not an audio file", p)
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except PermissionError:
        raise AudioError("permission denied: the file cannot be read", p) from None
    except OSError as err:
        raise AudioError(f"cannot be read ({err.strerror or err})", p) from None
    if os.path.getsize(p) == 0:
        raise AudioError("is empty (0 bytes), not an audio file", p)
    return p


def _open(p: str) -> sf.SoundFile:
    try:
        return sf.SoundFile(p)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as err:
        detail = getattr(err, "error_string", None) or str(err)
        with open(p, "rb") as fh:
            head = fh.read(12)
        kind = None
        if head[:4] in (b"RIFF", b"RIFX", b"RF64") and head[8:12] == b"WAVE":
            kind = "WAV"
        elif head[:4] == b"fLaC":
            kind = "FLAC"
        elif head[:4] == b"OggS":
            kind = "OGG"
        if kind is not None:
            problem = f"is a damaged or truncated {kind} file (libsndfile: {detail})"
        else:
            problem = f"is not a readable audio file (libsndfile: {detail}); expected WAV, FLAC or OGG"
        raise AudioError(problem, p) from None


# Bytes per sample of the libsndfile subtypes whose WAV frames have a fixed size.
_SAMPLE_BYTES = {
    "PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8, "ULAW": 1, "ALAW": 1,
}  # fmt: skip


def _wav_declared_frames(p: str, frame_bytes: int | None = None) -> int | None:
    """Frame count the WAV/RF64 header's data chunk declares, or None if unknown.

    ``frame_bytes`` is the size of a frame as libsndfile decodes it (channels times the
    sample width of its subtype); without it the header's block align is used.
    """
    with open(p, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX", b"RF64"):
            return None
        endian = ">" if head[:4] == b"RIFX" else "<"
        pos, block_align, ds64_data = 12, 0, None
        while pos + 8 <= size:
            fh.seek(pos)
            cid, csize = struct.unpack(endian + "4sI", fh.read(8))
            if cid == b"ds64":
                body = fh.read(min(csize, 16))
                if len(body) == 16:
                    ds64_data = struct.unpack("<Q", body[8:16])[0]
            elif cid == b"fmt ":
                body = fh.read(min(csize, 16))
                if len(body) >= 14:
                    block_align = struct.unpack(endian + "H", body[12:14])[0]
            elif cid == b"data":
                declared = csize
                if head[:4] == b"RF64" and csize == 0xFFFFFFFF and ds64_data is not None:
                    declared = ds64_data
                width = frame_bytes or block_align
                if declared in (0, 0xFFFFFFFF) or width == 0:
                    return None  # streaming writers leave the size unset
                return declared // width
            pos += 8 + csize + (csize & 1)
    return None


_W64_DATA = b"data" + bytes.fromhex("f3acd3118cd100c04f8edb8a")  # as libsndfile writes it


def _other_declared_frames(p: str, container: str, frame_bytes: int | None) -> int | None:
    """Frame count the header of an AIFF, AU or W64 file declares (libsndfile clamps its own
    count to the file's size, so a truncated file would otherwise pass unnoticed), or None."""
    with open(p, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(24)
        if container == "AU" and head[:4] == b".snd" and len(head) >= 12 and frame_bytes:
            declared = struct.unpack(">I", head[8:12])[0]
            return None if declared == 0xFFFFFFFF else declared // frame_bytes
        if container == "AIFF" and head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
            pos = 12
            while pos + 8 <= size:
                fh.seek(pos)
                cid, csize = struct.unpack(">4sI", fh.read(8))
                if cid == b"COMM":
                    body = fh.read(6)
                    return struct.unpack(">I", body[2:6])[0] if len(body) == 6 else None
                pos += 8 + csize + (csize & 1)
        if container == "W64" and frame_bytes:
            pos = 40  # after the riff and wave GUIDs and the file size
            while pos + 24 <= size:
                fh.seek(pos)
                guid, csize = fh.read(16), struct.unpack("<Q", fh.read(8))[0]
                if guid == _W64_DATA:
                    return max(0, csize - 24) // frame_bytes
                if csize < 24:
                    return None
                pos += (csize + 7) // 8 * 8
    return None


def _duration_text(seconds: float) -> str:
    """``"1.000 s"``, or hours for the absurd lengths a corrupt header may claim."""
    if seconds < 1e6:
        return f"{seconds:.3f} s"
    return f"{seconds / 3600:.4g} hours"


def _claimed_length_reachable(f: sf.SoundFile, frames: int) -> bool:
    """Whether the last frame a header claims can be sought to and decoded (then rewinds)."""
    try:
        f.seek(frames - 1)
        ok = len(f.read(1, dtype="float32", always_2d=True)) == 1
        f.seek(0)
    except (sf.SoundFileError, RuntimeError, ValueError):
        return False
    return ok


def _open_checked(path: str | os.PathLike[str]) -> tuple[sf.SoundFile, AudioInfo]:
    """Open a file after all container-level checks; the caller closes it.

    The header's length is never taken on trust: a WAV's data chunk must fit in the file,
    a length that is not stated is refused, and for other containers (FLAC, OGG, ...) the
    claimed last frame must be reachable.
    """
    p = _check_file(path)
    f = _open(p)
    try:
        info = _checked_info(f, p)
    except BaseException:
        f.close()
        raise
    return f, info


def _checked_info(f: sf.SoundFile, p: str) -> AudioInfo:
    sr = int(f.samplerate)
    if sr <= 0:  # libsndfile refuses these itself; never divide by it
        raise AudioError(f"has an invalid sample rate of {sr} Hz in its header", p)
    info = AudioInfo(
        path=p,
        sample_rate=sr,
        channels=int(f.channels),
        frames=int(f.frames),
        duration_s=f.frames / sr,
        subtype=str(f.subtype),
        container=str(f.format),
    )
    if info.frames >= _UNKNOWN_FRAMES:
        raise AudioError(
            f"its {info.container} header does not state the length of the audio (as some streaming "
            "encoders write it); SELD Studio needs the length to read a file in blocks; re-encode it "
            "to a regular file (for example with `flac -f` or `ffmpeg -i IN OUT.flac`)",
            p,
        )
    width = _SAMPLE_BYTES.get(info.subtype)
    frame_bytes = width * info.channels if width else None
    if info.container in ("WAV", "WAVEX", "RF64", "AIFF", "AU", "W64"):
        if info.container in ("AIFF", "AU", "W64"):
            declared = _other_declared_frames(p, info.container, frame_bytes)
        else:
            declared = _wav_declared_frames(p, frame_bytes)
        if declared is not None and declared > info.frames:
            raise AudioError(
                f"is truncated: its header declares {declared} frames ({_duration_text(declared / sr)}) but the "
                f"file holds only {info.frames} frames ({_duration_text(info.frames / sr)})",
                p,
            )
    elif info.frames > 0 and not _claimed_length_reachable(f, info.frames):
        raise AudioError(
            f"is truncated or its header is corrupt: its {info.container} header declares {info.frames} frames "
            f"({_duration_text(info.duration_s)}) but the audio ends before that",
            p,
        )
    return info


def _require_audio(info: AudioInfo) -> None:
    if info.frames <= 0:
        raise AudioError("contains no audio (0 frames)", info.path)


def _require_seld(info: AudioInfo) -> None:
    """Channel count, sample rate and non-emptiness of a SELD recording."""
    if info.channels != SELD_CHANNELS:
        word = "channel" if info.channels == 1 else "channels"
        raise AudioError(f"has {info.channels} {word}; {_CHANNELS_HINT}", info.path)
    if not MIN_RATE <= info.sample_rate <= MAX_RATE:
        raise AudioError(
            f"has an unsupported sample rate of {info.sample_rate} Hz; SELD Studio reads "
            f"{MIN_RATE}–{MAX_RATE} Hz (recordings are analysed at {TARGET_RATE} Hz)",
            info.path,
        )
    _require_audio(info)


def _check_finite(x: np.ndarray, start_frame: int, sr: int, path: str, whole: bool) -> None:
    """Refuse NaN/Inf samples in ``x`` (frames, channels) whose first frame is ``start_frame``."""
    finite = np.isfinite(x)
    if finite.all():
        return
    bad = ~finite
    n_bad = int(bad.sum())
    n_nan = int(np.isnan(x).sum())
    row = int(np.flatnonzero(bad.any(axis=1))[0])
    ch = int(np.flatnonzero(bad[row])[0]) + 1
    t = (start_frame + row) / sr
    noun = "sample" if n_bad == 1 else "samples"
    where = "" if whole else f" between {start_frame / sr:.3f} s and {(start_frame + len(x)) / sr:.3f} s"
    raise AudioError(
        f"contains {n_bad} non-finite {noun} ({n_nan} NaN, {n_bad - n_nan} Inf){where}; "
        f"the first is at {t:.3f} s (channel {ch})",
        path,
    )


_PEAK_ROWS = 1 << 18  # frames per slice when measuring the peak of a whole file (bounded temporaries)


def _peak(x: np.ndarray) -> float:
    """``max |x|`` of a (frames, channels) array, NaN if it holds a NaN; in slices of bounded memory."""
    peak = 0.0
    for r in range(0, len(x), _PEAK_ROWS):
        part = x[r : r + _PEAK_ROWS]
        if part.size:
            m = float(np.max(np.abs(part)))  # NaN when the slice holds one
            if not m <= peak:
                peak = m
                if m != m:
                    return m
    return peak


def _check_samples(
    x: np.ndarray, start_frame: int, sr: int, path: str, whole: bool, bound: float = MAX_SAMPLE_MAGNITUDE
) -> None:
    """Refuse NaN/Inf samples and (for SELD recordings) samples beyond ``±bound``."""
    if _peak(x) <= bound:
        return
    _check_finite(x, start_frame, sr, path, whole)
    over = np.abs(x) > bound
    n_over = int(over.sum())
    row = int(np.flatnonzero(over.any(axis=1))[0])
    ch = int(np.flatnonzero(over[row])[0])
    noun = "sample" if n_over == 1 else "samples"
    raise AudioError(
        f"has {n_over} {noun} beyond ±{bound:g}; the first is {float(x[row, ch]):.4g} at "
        f"{(start_frame + row) / sr:.3f} s (channel {ch + 1}). Full scale is ±1.0 and a recording is "
        f"refused beyond ±{bound:g} (60 dB above full scale): such values are not a recording but a file "
        "in the wrong units (integer sample values stored as float?) or damaged; rescale it to ±1.0",
        path,
    )


def _read(f: sf.SoundFile, n: int, pos: int, info: AudioInfo, out: np.ndarray | None = None) -> np.ndarray:
    """Read exactly ``n`` frames at frame ``pos`` as float32 (n, channels), or raise.

    With ``out`` (a C-contiguous float32 (n, channels) array) the frames are read into it.
    """
    sr = info.sample_rate
    try:
        if out is None:
            x = f.read(n, dtype="float32", always_2d=True)
        else:
            x = f.read(dtype="float32", always_2d=True, out=out)
    except (sf.SoundFileError, RuntimeError) as err:
        detail = (getattr(err, "error_string", None) or str(err)).strip()
        detail = detail.removeprefix("Error : ")
        raise AudioError(
            f"is truncated or corrupt: decoding failed between {pos / sr:.3f} s and "
            f"{(pos + n) / sr:.3f} s of {_duration_text(info.duration_s)} (libsndfile: {detail})",
            info.path,
        ) from None
    if len(x) < n:
        got = pos + len(x)
        raise AudioError(
            f"is truncated: only {got} of {info.frames} frames ({got / sr:.3f} s of "
            f"{_duration_text(info.duration_s)}) could be read",
            info.path,
        )
    return x


def _read_all(f: sf.SoundFile, info: AudioInfo, bound: float) -> np.ndarray:
    """The whole file as float32 (frames, channels), decoded chunk by chunk; bad samples refused.

    The buffer is allocated for the claimed length only up to a size plausible for the
    file (:data:`_TRUSTED_ALLOCATION`, or 16 times the file's size); beyond that it grows
    (doubling) with what really decodes, so a header that lies never allocates by its claim.
    """
    nch, claim = info.channels, info.frames
    trusted = max(_TRUSTED_ALLOCATION, 16 * os.path.getsize(info.path)) // (4 * nch)
    x = np.empty((min(claim, trusted), nch), dtype=np.float32)
    pos = 0
    while pos < claim:
        n = min(_CHUNK_FRAMES, claim - pos)
        if pos + n > len(x):
            grown = np.empty((min(claim, max(2 * len(x), pos + n)), nch), dtype=np.float32)
            grown[:pos] = x[:pos]
            x = grown
        _read(f, n, pos, info, out=x[pos : pos + n])
        pos += n
    _check_samples(x, 0, info.sample_rate, info.path, whole=True, bound=bound)
    return x


def _resampled_length(frames: int, sr: int) -> int:
    """Samples at 24 kHz of a file with ``frames`` at ``sr`` (libsoxr rounds half up)."""
    if sr == TARGET_RATE:
        return frames
    return (2 * frames * TARGET_RATE + sr) // (2 * sr)


def _channels_first(x: np.ndarray, convention: str) -> np.ndarray:
    out = np.ascontiguousarray(x.T, dtype=np.float32)
    return fuma_to_ambix(out) if convention == "fuma" else out


# --------------------------------------------------------------------------- readers


def probe(path: str | os.PathLike[str]) -> AudioInfo:
    """Header facts of an audio file, without decoding it.

    Raises :class:`AudioError` if the file is missing, a directory, unreadable, not
    audio, or a WAV whose header declares more frames than the file holds (truncated).
    An empty (0-frame) file is reported, not refused: ``frames == 0``.
    """
    f, info = _open_checked(path)
    f.close()
    return info


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode a whole file at its own rate: ``(samples float32 (C, N), sample_rate)``.

    Any channel count and rate; no resampling, no format. Refuses empty, truncated or
    undecodable files and NaN/Inf samples with an :class:`AudioError` (no bound on the
    magnitude of finite samples: that applies to SELD recordings only).
    """
    f, info = _open_checked(path)
    with f:
        _require_audio(info)
        x = _read_all(f, info, bound=math.inf)
    return np.ascontiguousarray(x.T), info.sample_rate


def load_recording(
    path: str | os.PathLike[str], fmt: str | None = None, convention: str = "ambix"
) -> Recording:
    """Load a whole 4-channel SELD recording, resampled to 24 kHz.

    ``fmt`` (``"foa"`` or ``"mic"``) overrides the format inferred from the path.
    ``convention="fuma"`` declares a FuMa FOA file (W, X, Y, Z; W·1/√2); it is converted
    to AmbiX W, Y, Z, X SN3D. The result always holds AmbiX FOA or MIC M1..M4.
    For long files prefer :func:`iter_blocks` / :func:`read_segment`.
    """
    if fmt is not None:
        _check_fmt_arg(fmt)
    f, info = _open_checked(path)
    with f:
        _require_seld(info)
        fmt_ = resolve_format(info.path, fmt)
        _check_convention(convention, fmt_, info.path)
        x = _read_all(f, info, bound=MAX_SAMPLE_MAGNITUDE)
    sr = info.sample_rate
    if sr != TARGET_RATE:
        x = soxr.resample(x, sr, TARGET_RATE, quality=RESAMPLE_QUALITY)
    return Recording(
        samples=_channels_first(x, convention),
        sample_rate=TARGET_RATE,
        fmt=fmt_,
        path=info.path,
        original_rate=sr,
        convention=convention,
    )


def check_recording(
    path: str | os.PathLike[str], fmt: str | None = None, convention: str = "ambix"
) -> tuple[AudioInfo, str]:
    """Every check of a SELD recording that needs no decoding: ``(header facts, format)``.

    The file (existence, container, a header length that the file can hold), 4 channels,
    the sample rate, at least one frame, and the format (``fmt`` or the path's). Raises
    :class:`AudioError`; the same checks as :func:`load_recording` and :func:`iter_blocks`
    make before reading.
    """
    if fmt is not None:
        _check_fmt_arg(fmt)
    f, info = _open_checked(path)
    f.close()
    _require_seld(info)
    fmt_ = resolve_format(info.path, fmt)
    _check_convention(convention, fmt_, info.path)
    return info, fmt_


def iter_blocks(
    path: str | os.PathLike[str],
    block_seconds: float = 1.0,
    start_s: float = 0.0,
    stop_s: float | None = None,
    fmt: str | None = None,
    convention: str = "ambix",
) -> Iterator[tuple[int, np.ndarray]]:
    """Stream a SELD recording in blocks at 24 kHz without decoding it whole.

    Yields ``(start_sample, block)``: ``start_sample`` is the index at 24 kHz of the
    block's first sample counted from the start of the file, ``block`` is float32
    ``(4, n)`` with ``n = round(block_seconds * 24000)`` (the last block may be shorter).
    The blocks of ``[start_s, stop_s)`` (``stop_s`` clamped to the end of the file;
    nothing when ``start_s`` is past the end) concatenated equal the same span of the
    whole file resampled at once (to float32 rounding). The file is opened with a seek to
    just before ``start_s`` and decoded in chunks of 16384 frames, resampled by a
    streaming libsoxr resampler; memory stays at about two blocks (the one being filled
    and the one last yielded, which the caller owns) plus one chunk.

    The file, its channel count, rate and format are checked when this is called (an
    :class:`AudioError` is raised at once); decoding problems (truncation), NaN/Inf
    samples and samples beyond :data:`MAX_SAMPLE_MAGNITUDE` raise :class:`AudioError` from the iteration, as soon as the chunk holding
    them is decoded (which may be before the block preceding them is yielded).
    """
    if not block_seconds > 0:
        raise ValueError(f"block_seconds must be positive, not {block_seconds}")
    if start_s < 0 or (stop_s is not None and stop_s < start_s):
        raise ValueError(f"need 0 <= start_s <= stop_s, got start_s={start_s}, stop_s={stop_s}")
    info, fmt_ = check_recording(path, fmt, convention)
    total = _resampled_length(info.frames, info.sample_rate)
    k0 = min(sample_index(start_s), total)
    k1 = total if stop_s is None else min(sample_index(stop_s), total)
    block = max(1, sample_index(block_seconds))
    return _blocks(info, k0, k1, block, convention)


def _blocks(
    info: AudioInfo, k0: int, k1: int, block: int, convention: str
) -> Iterator[tuple[int, np.ndarray]]:
    """Output samples [k0, k1) at 24 kHz in blocks of ``block``; see :func:`iter_blocks`."""
    if k0 >= k1:
        return
    sr, p, nch = info.sample_rate, info.path, info.channels
    stream: soxr.ResampleStream | None = None
    if sr == TARGET_RATE:
        s0, skip, end_in = k0, 0, k1
    else:
        # Start on an input frame that falls exactly on the 24 kHz grid of the whole file,
        # a margin before k0, and read a margin past k1, so that the streamed output
        # equals resampling the whole file at once.
        g = math.gcd(sr, TARGET_RATE)
        step_in, step_out = sr // g, TARGET_RATE // g
        margin = math.ceil(_STREAM_MARGIN_S * sr)
        s0 = max(0, (k0 * sr - margin * TARGET_RATE) // (TARGET_RATE * step_in)) * step_in
        skip = k0 - (s0 // step_in) * step_out
        end_in = min(info.frames, -(-k1 * sr // TARGET_RATE) + margin)
        stream = soxr.ResampleStream(sr, TARGET_RATE, nch, dtype="float32", quality=RESAMPLE_QUALITY)
    with _open(p) as f:
        f.seek(s0)
        pos_in, out_pos, fill = s0, k0, 0
        buf = np.empty((nch, min(block, k1 - k0)), dtype=np.float32)
        while out_pos < k1 and pos_in < end_in:
            n = min(_CHUNK_FRAMES, end_in - pos_in)
            x = _read(f, n, pos_in, info)
            _check_samples(x, pos_in, sr, p, whole=False)
            pos_in += n
            y = x if stream is None else stream.resample_chunk(x, last=pos_in >= end_in)
            if skip:
                drop = min(skip, len(y))
                y, skip = y[drop:], skip - drop
            i = 0
            while i < len(y) and out_pos < k1:
                take = min(len(y) - i, buf.shape[1] - fill)
                buf[:, fill : fill + take] = y[i : i + take].T
                fill += take
                i += take
                if fill == buf.shape[1]:
                    yield out_pos, fuma_to_ambix(buf) if convention == "fuma" else buf
                    out_pos += fill
                    fill = 0
                    buf = np.empty((nch, min(block, max(k1 - out_pos, 1))), dtype=np.float32)
        if fill:  # the resampler gave a sample or so fewer than the nominal length
            tail = np.ascontiguousarray(buf[:, :fill])
            yield out_pos, fuma_to_ambix(tail) if convention == "fuma" else tail


def read_segment(
    path: str | os.PathLike[str],
    start_s: float,
    stop_s: float,
    fmt: str | None = None,
    convention: str = "ambix",
) -> np.ndarray:
    """Random access: float32 ``(4, n)`` at 24 kHz of ``[start_s, stop_s)`` seconds.

    Seeks to the segment (only a few milliseconds around it are decoded).
    ``stop_s`` is clamped to the end of the file; a start past the end gives ``(4, 0)``.
    Samples are those of the whole file resampled at once, from index
    ``round(start_s * 24000)``. Same checks and errors as :func:`iter_blocks`.
    """
    span = max(stop_s - start_s, 1.0 / TARGET_RATE)
    parts = [b for _, b in iter_blocks(path, span, start_s, stop_s, fmt=fmt, convention=convention)]
    if not parts:
        return np.zeros((SELD_CHANNELS, 0), dtype=np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
