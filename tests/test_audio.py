"""Tests of core.io.audio / core.spatial.ambisonics / core.spatial.mic_array: reading, resampling, streaming, errors."""

from __future__ import annotations

import builtins
import dataclasses
import math
import os
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from core.common.errors import AudioError
from core.io import audio
from core.io.audio import (
    MIC_CAPSULES_DEG,
    MIC_RADIUS_M,
    RESAMPLE_QUALITY,
    TARGET_RATE,
    AudioInfo,
    infer_format,
    iter_blocks,
    load_recording,
    probe,
    read_audio,
    read_segment,
    resolve_format,
)
from core.spatial.ambisonics import ambix_to_fuma, foa_plane_wave_gains, fuma_to_ambix
from core.spatial.mic_array import mic_capsule_positions, mic_capsule_unit_vectors

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def _write(path: Path, data: np.ndarray, sr: int, subtype: str | None = None, fmt: str | None = None) -> Path:
    """Write channels-first ``data`` (C, N) to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.ascontiguousarray(np.asarray(data).T), sr, subtype=subtype, format=fmt)
    return path


def _noise(channels: int, frames: int, seed: int = 0, scale: float = 0.2) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((channels, frames)) * scale).astype(np.float32)


def _reference_24k(path: Path) -> np.ndarray:
    """The whole file read by soundfile and resampled at once: the block reader's reference."""
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if sr != TARGET_RATE:
        x = soxr.resample(x, sr, TARGET_RATE, quality=RESAMPLE_QUALITY)
    return np.ascontiguousarray(x.T)


def _problem(excinfo: pytest.ExceptionInfo[AudioError], path: Path) -> str:
    """Assert the message starts with the file name and return the problem text."""
    msg = str(excinfo.value)
    assert msg.startswith(f"{path}: "), msg
    assert excinfo.value.path == str(path)
    return excinfo.value.problem


# --------------------------------------------------------------------------- reading


def test_int16_scaling_is_exact(tmp_path: Path) -> None:
    pcm = np.array([[16384, -32768, 0, 32767, -16384, 1]], dtype=np.int16).repeat(4, axis=0)
    p = _write(tmp_path / "foa_dev" / "a.wav", pcm, 24000, "PCM_16")
    x, sr = read_audio(p)
    assert sr == 24000 and x.dtype == np.float32 and x.shape == (4, 6)
    assert x[0, 0] == 0.5 and x[0, 1] == -1.0 and x[0, 2] == 0.0
    assert x[0, 3] == np.float32(32767 / 32768) and x[0, 5] == np.float32(1 / 32768)
    rec = load_recording(p)
    assert rec.samples[2, 0] == 0.5 and rec.samples[3, 1] == -1.0


def test_read_audio_any_channel_count_no_resampling(tmp_path: Path) -> None:
    data = _noise(2, 4410)
    p = _write(tmp_path / "stereo.flac", data, 44100, "PCM_24")
    x, sr = read_audio(p)
    assert sr == 44100 and x.shape == (2, 4410) and x.flags.c_contiguous
    np.testing.assert_allclose(x, data, atol=2e-7)


def test_flac_24k_in_mic_folder(tmp_path: Path) -> None:
    data = _noise(4, 12000)
    p = _write(tmp_path / "mic_dev" / "dev-train" / "x.flac", data, 24000, "PCM_24")
    rec = load_recording(p)
    assert rec.fmt == "mic" and rec.sample_rate == 24000 and rec.original_rate == 24000
    assert rec.samples.shape == (4, 12000) and rec.samples.dtype == np.float32
    assert rec.channel_names == ("M1", "M2", "M3", "M4") and rec.duration_s == pytest.approx(0.5)
    np.testing.assert_allclose(rec.samples, data, atol=2e-7)


def test_ogg_48k_is_resampled(tmp_path: Path) -> None:
    t = np.arange(48000) / 48000
    data = np.stack([np.sin(2 * np.pi * 440 * t) * g for g in (0.5, 0.2, 0.1, 0.3)]).astype(np.float32)
    p = _write(tmp_path / "foa_eval" / "x.ogg", data, 48000, "VORBIS", "OGG")
    info = probe(p)
    assert (info.container, info.subtype, info.sample_rate, info.channels) == ("OGG", "VORBIS", 48000, 4)
    rec = load_recording(p)
    assert rec.fmt == "foa" and rec.original_rate == 48000 and rec.sample_rate == 24000
    assert rec.samples.shape == (4, 24000)
    ref = np.sin(2 * np.pi * 440 * np.arange(24000) / 24000) * 0.5
    assert np.abs(rec.samples[0, 2000:-2000] - ref[2000:-2000]).max() < 0.02  # lossy codec


def test_probe_does_not_decode_and_is_frozen(tmp_path: Path) -> None:
    p = _write(tmp_path / "x.wav", _noise(4, 36000), 48000, "PCM_24")
    info = probe(p)
    assert info == AudioInfo(str(p), 48000, 4, 36000, 0.75, "PCM_24", "WAV")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.frames = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("foa_dev/dev-train-sony/fold3_room21_mix001.wav", "foa"),
        ("data/mic_eval/x.wav", "mic"),
        ("foa/x.wav", "foa"),
        ("MIC/x.wav", "mic"),
        ("mic_dev/stuff/foa_dev/x.wav", "foa"),  # the folder nearest the file wins
        ("foamy/x.wav", None),
        ("recordings/foa_x.wav", None),  # file names do not count
        ("recordings/x.wav", None),
    ],
)
def test_infer_format(tmp_path: Path, rel: str, expected: str | None) -> None:
    assert infer_format(tmp_path / rel) == expected


def test_explicit_fmt_overrides_and_missing_fmt_is_explained(tmp_path: Path) -> None:
    p = _write(tmp_path / "foa_dev" / "x.wav", _noise(4, 240), 24000)
    assert load_recording(p, fmt="mic").fmt == "mic"
    q = _write(tmp_path / "plain" / "x.wav", _noise(4, 240), 24000)
    with pytest.raises(AudioError) as exc:
        load_recording(q)
    problem = _problem(exc, q)
    assert "format could not be inferred" in problem and "fmt='foa'" in problem and "fmt='mic'" in problem
    assert resolve_format(q, "foa") == "foa"
    with pytest.raises(ValueError):
        load_recording(q, fmt="hoa")


def test_fuma_ambix_conversion() -> None:
    fuma = np.array([1.0, 2.0, 3.0, 4.0])  # W, X, Y, Z
    np.testing.assert_allclose(fuma_to_ambix(fuma), [math.sqrt(2), 3.0, 4.0, 2.0])
    x = _noise(4, 100)
    np.testing.assert_allclose(ambix_to_fuma(fuma_to_ambix(x)), x, rtol=1e-6)
    assert fuma_to_ambix(x).dtype == np.float32
    # A FuMa-encoded plane wave becomes the AmbiX/SN3D gains of the same direction.
    az, el = math.radians(30), math.radians(-20)
    fuma_gains = [1 / math.sqrt(2), math.cos(az) * math.cos(el), math.sin(az) * math.cos(el), math.sin(el)]
    np.testing.assert_allclose(fuma_to_ambix(fuma_gains), foa_plane_wave_gains(30, -20), atol=1e-12)
    with pytest.raises(ValueError):
        fuma_to_ambix(np.zeros((3, 10)))


def test_load_fuma_file(tmp_path: Path) -> None:
    ambix = _noise(4, 2400, scale=0.1)
    p = _write(tmp_path / "foa_dev" / "fuma.wav", ambix_to_fuma(ambix), 24000, "FLOAT")
    rec = load_recording(p, convention="fuma")
    np.testing.assert_allclose(rec.samples, ambix, atol=1e-7)
    blocks = np.concatenate([b for _, b in iter_blocks(p, 0.03, convention="fuma")], axis=1)
    np.testing.assert_allclose(blocks, ambix, atol=1e-7)
    q = _write(tmp_path / "mic_dev" / "x.wav", ambix, 24000, "FLOAT")
    with pytest.raises(AudioError) as exc:
        load_recording(q, convention="fuma")
    assert "FOA recordings only" in _problem(exc, q)


def test_mic_geometry() -> None:
    assert MIC_RADIUS_M == 0.042
    assert MIC_CAPSULES_DEG == ((45.0, 35.0), (-45.0, -35.0), (135.0, -35.0), (-135.0, 35.0))
    u = mic_capsule_unit_vectors()
    assert u.shape == (4, 3)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0)
    c = math.cos(math.radians(35))
    np.testing.assert_allclose(
        u[0], [c * math.cos(math.pi / 4), c * math.sin(math.pi / 4), math.sin(math.radians(35))]
    )
    assert u[0, 1] > 0 and u[1, 1] < 0  # +azimuth is to the left (+y)
    pos = mic_capsule_positions()
    np.testing.assert_allclose(np.linalg.norm(pos, axis=1), 0.042)
    np.testing.assert_allclose(pos.sum(axis=0), 0.0, atol=1e-12)  # centred tetrahedron
    d = [np.linalg.norm(pos[i] - pos[j]) for i in range(4) for j in range(i + 1, 4)]
    assert max(d) - min(d) < 0.001  # nearly regular (35° vs the exact 35.26°)


# --------------------------------------------------------------------------- blocks


@pytest.mark.parametrize("sr", [44100, 24000])
def test_blocks_equal_whole_file(tmp_path: Path, sr: int) -> None:
    frames = int(2.37 * sr) + 3
    p = _write(tmp_path / "foa_dev" / f"x{sr}.wav", _noise(4, frames, seed=sr), sr, "PCM_16")
    ref = _reference_24k(p)
    assert ref.shape[1] == audio._resampled_length(frames, sr)
    got = list(iter_blocks(p, block_seconds=0.5))
    starts = [s for s, _ in got]
    assert starts == list(range(0, ref.shape[1], 12000))
    assert all(b.shape == (4, 12000) and b.dtype == np.float32 for _, b in got[:-1])
    whole = np.concatenate([b for _, b in got], axis=1)
    assert whole.shape == ref.shape
    assert np.abs(whole - ref).max() < 1e-5
    # a span in the middle, and random access
    mid = list(iter_blocks(p, block_seconds=0.25, start_s=0.61, stop_s=1.93))
    k0, k1 = round(0.61 * 24000), round(1.93 * 24000)
    assert mid[0][0] == k0
    span = np.concatenate([b for _, b in mid], axis=1)
    assert span.shape == (4, k1 - k0) and np.abs(span - ref[:, k0:k1]).max() < 1e-5
    seg = read_segment(p, 1.234, 1.5)
    k0 = round(1.234 * 24000)
    assert seg.shape == (4, 6384) and np.abs(seg - ref[:, k0 : k0 + 6384]).max() < 1e-5
    assert read_segment(p, 2.0, 99.0).shape == (4, ref.shape[1] - 48000)  # clamped to the end
    assert read_segment(p, 50.0, 60.0).shape == (4, 0)
    with pytest.raises(ValueError):
        read_segment(p, 2.0, 1.0)


def test_read_segment_seeks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _write(tmp_path / "mic_dev" / "long.wav", _noise(4, 20 * 48000), 48000, "PCM_16")
    frames_read: list[int] = []
    real_read = sf.SoundFile.read

    def counting_read(self: sf.SoundFile, frames: int = -1, *args: object, **kwargs: object) -> np.ndarray:
        out = real_read(self, frames, *args, **kwargs)
        frames_read.append(len(out))
        return out

    monkeypatch.setattr(sf.SoundFile, "read", counting_read)
    seg = read_segment(p, 18.0, 18.5)
    assert seg.shape == (4, 12000)
    assert sum(frames_read) < 0.6 * 48000  # the segment plus margins, not the 18 s before it


def test_block_memory_is_bounded(tmp_path: Path) -> None:
    sr, seconds = 44100, 30
    p = tmp_path / "foa_dev" / "long.wav"
    p.parent.mkdir()
    with sf.SoundFile(str(p), "w", sr, 4, "PCM_16") as f:
        for i in range(seconds):
            f.write(_noise(4, sr, seed=i).T)
    block_bytes = 4 * TARGET_RATE * 4  # one yielded 1-s block: float32 (4, 24000)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        n = 0
        for _, block in iter_blocks(p, block_seconds=1.0):
            n += block.shape[1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == seconds * TARGET_RATE
    assert peak < 5 * block_bytes, (
        f"peak {peak / 1e6:.1f} MB; whole file would be {seconds * block_bytes / 1e6:.0f} MB"
    )


def test_blocks_check_file_eagerly(tmp_path: Path) -> None:
    p = _write(tmp_path / "foa_dev" / "st.wav", _noise(2, 100), 24000)
    with pytest.raises(AudioError, match="has 2 channels"):
        iter_blocks(p)  # no iteration needed
    with pytest.raises(ValueError):
        iter_blocks(p, block_seconds=0)


# --------------------------------------------------------------------------- bad input


def test_not_audio(tmp_path: Path) -> None:
    p = tmp_path / "foa_dev" / "notes.wav"
    p.parent.mkdir()
    p.write_text("this is a text file, not audio\n" * 20)
    with pytest.raises(AudioError) as exc:
        load_recording(p)
    problem = _problem(exc, p)
    assert "not a readable audio file" in problem and "WAV, FLAC or OGG" in problem


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "x.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError) as exc:
        probe(p)
    assert "empty (0 bytes)" in _problem(exc, p)


def test_truncated_wav(tmp_path: Path) -> None:
    p = _write(tmp_path / "foa_dev" / "cut.wav", _noise(4, 48000), 48000, "PCM_16")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2 + 3])
    for call in (probe, load_recording, read_audio, iter_blocks):
        with pytest.raises(AudioError) as exc:
            call(p)
        problem = _problem(exc, p)
        assert problem.startswith("is truncated: its header declares 48000 frames (1.000 s)"), problem
    q = tmp_path / "head.wav"
    q.write_bytes(raw[:30])  # cut inside the header
    with pytest.raises(AudioError) as exc:
        probe(q)
    assert "damaged or truncated WAV file" in _problem(exc, q)


def test_truncated_flac(tmp_path: Path) -> None:
    p = _write(tmp_path / "mic_dev" / "cut.flac", _noise(4, 48000), 48000, "PCM_16")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(AudioError) as exc:
        load_recording(p)
    assert "truncated" in _problem(exc, p)
    with pytest.raises(AudioError, match="truncated"):
        for _ in iter_blocks(p, 0.1):
            pass


@pytest.mark.parametrize(("container", "subtype"), [("AIFF", "PCM_16"), ("AU", "FLOAT"), ("W64", "PCM_24")])
def test_truncated_aiff_au_w64(tmp_path: Path, container: str, subtype: str) -> None:
    """libsndfile clamps these formats' frame count to the file size; the header's own count is checked."""
    p = _write(tmp_path / "foa_dev" / f"x.{container.lower()}", _noise(4, 4800), 24000, subtype, container)
    assert load_recording(p).samples.shape == (4, 4800)
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(AudioError) as exc:
        load_recording(p)
    assert re.fullmatch(
        r"is truncated: its header declares 4800 frames \(0\.200 s\) but the file holds only 2\d{3} frames "
        r"\(0\.\d{3} s\)",
        _problem(exc, p),
    ), exc.value.problem


def test_empty_recording(tmp_path: Path) -> None:
    p = _write(tmp_path / "foa_dev" / "empty.wav", np.zeros((4, 0), np.float32), 24000)
    assert probe(p).frames == 0
    for call in (load_recording, read_audio, iter_blocks):
        with pytest.raises(AudioError) as exc:
            call(p)
        assert _problem(exc, p) == "contains no audio (0 frames)"


def test_wrong_channel_count(tmp_path: Path) -> None:
    p = _write(tmp_path / "foa_dev" / "stereo.wav", _noise(2, 240), 24000)
    with pytest.raises(AudioError) as exc:
        load_recording(p)
    assert _problem(exc, p) == "has 2 channels; a SELD recording needs 4 (FOA W,Y,Z,X or MIC M1..M4)"


def test_nan_and_inf_samples(tmp_path: Path) -> None:
    data = _noise(4, 24000)
    data[2, 6000] = np.nan
    data[0, 12000] = np.nan
    data[1, 18000] = np.inf
    p = _write(tmp_path / "foa_dev" / "nan.wav", data, 24000, "FLOAT")
    with pytest.raises(AudioError) as exc:
        load_recording(p)
    assert (
        _problem(exc, p)
        == "contains 3 non-finite samples (2 NaN, 1 Inf); the first is at 0.250 s (channel 3)"
    )
    with pytest.raises(AudioError, match="NaN"):
        read_audio(p)
    with pytest.raises(AudioError) as exc:
        list(iter_blocks(p, 0.1))
    assert re.fullmatch(
        r"contains 2 non-finite samples \(2 NaN, 0 Inf\) between 0\.000 s and 0\.\d+ s; "
        r"the first is at 0\.250 s \(channel 3\)",
        _problem(exc, p),
    ), exc.value.problem
    # streamed at 48 kHz: blocks before the bad sample come through, the error names its time
    late = _noise(4, 4 * 48000)
    late[1, int(3.5 * 48000)] = np.inf
    q = _write(tmp_path / "foa_dev" / "inf48.wav", late, 48000, "FLOAT")
    blocks = iter_blocks(q, 1.0)
    assert [next(blocks)[0], next(blocks)[0]] == [0, 24000]
    with pytest.raises(AudioError) as exc:
        list(blocks)
    assert "contains 1 non-finite sample (0 NaN, 1 Inf)" in exc.value.problem
    assert exc.value.problem.endswith("the first is at 3.500 s (channel 2)")


@pytest.mark.parametrize("sr", [8000, 12000, 200000])
def test_unsupported_rate(tmp_path: Path, sr: int) -> None:
    p = _write(tmp_path / "foa_dev" / f"r{sr}.wav", _noise(4, sr // 10), sr)
    with pytest.raises(AudioError) as exc:
        load_recording(p)
    problem = _problem(exc, p)
    assert f"unsupported sample rate of {sr} Hz" in problem and "16000–192000 Hz" in problem


def test_lowest_accepted_rate(tmp_path: Path) -> None:
    p = _write(tmp_path / "foa_dev" / "r16k.wav", _noise(4, 1600), 16000)
    rec = load_recording(p)
    assert rec.original_rate == 16000 and rec.samples.shape == (4, 2400)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "foa_dev" / "nope.wav"
    with pytest.raises(AudioError) as exc:
        load_recording(missing)
    assert _problem(exc, missing) == "file not found"
    with pytest.raises(AudioError) as exc:
        probe(tmp_path)
    assert _problem(exc, tmp_path) == "is a directory, not an audio file"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _write(tmp_path / "foa_dev" / "locked.wav", _noise(4, 240), 24000)
    p.chmod(0)
    try:
        if os.access(p, os.R_OK):  # running as root: permissions are not enforced, simulate
            real_open = builtins.open

            def denying_open(file: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
                if os.fspath(file) == str(p):  # type: ignore[arg-type]
                    raise PermissionError(13, "Permission denied", str(p))
                return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

            monkeypatch.setattr(audio, "open", denying_open, raising=False)
        with pytest.raises(AudioError) as exc:
            load_recording(p)
        assert _problem(exc, p) == "permission denied: the file cannot be read"
    finally:
        p.chmod(0o644)


# --------------------------------------------------------------------------- header claims, loud samples


def _flac_claiming(path: Path, total: int, frames: int = 4800) -> Path:
    """A valid 4-channel FLAC of ``frames`` whose STREAMINFO total-samples field says ``total``."""
    _write(path, _noise(4, frames, scale=0.05), 24000, "PCM_16")
    raw = bytearray(path.read_bytes())
    assert raw[:4] == b"fLaC" and raw[4] & 0x7F == 0  # STREAMINFO is the first block
    word = int.from_bytes(raw[18:26], "big")  # rate 20 bits, channels 3, bits 5, total samples 36
    assert word & ((1 << 36) - 1) == frames
    raw[18:26] = ((word & ~((1 << 36) - 1)) | total).to_bytes(8, "big")
    path.write_bytes(bytes(raw))
    return path


def test_an_impossible_flac_length_is_refused_before_any_allocation(tmp_path: Path) -> None:
    p = _flac_claiming(tmp_path / "foa_dev" / "huge.flac", (1 << 36) - 1)  # 2**36 frames: 1 TiB as float32
    for call in (probe, load_recording, read_audio, iter_blocks):
        with pytest.raises(AudioError) as exc:
            call(p)
        assert _problem(exc, p) == (
            "is truncated or its header is corrupt: its FLAC header declares 68719476735 frames "
            "(795.4 hours) but the audio ends before that"
        )
    unknown = _flac_claiming(tmp_path / "foa_dev" / "unknown.flac", 0)  # 0: "not stated" (streaming encoders)
    with pytest.raises(AudioError) as exc:
        load_recording(unknown)
    assert _problem(exc, unknown).startswith("its FLAC header does not state the length of the audio")
    # a true claim is read as before
    ok = _flac_claiming(tmp_path / "foa_dev" / "ok.flac", 4800)
    assert probe(ok).frames == 4800 and load_recording(ok).samples.shape == (4, 4800)


def test_whole_reads_grow_with_what_decodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the plausible size the buffer is not allocated by the claim but grown: same samples."""
    p = _write(tmp_path / "foa_dev" / "x.flac", _noise(4, 100_000, scale=0.1), 48000, "PCM_24")
    ref = load_recording(p).samples
    monkeypatch.setattr(audio, "_TRUSTED_ALLOCATION", 1000)  # 62 frames: grow 7 times
    monkeypatch.setattr(audio.os.path, "getsize", lambda path: 1)
    np.testing.assert_array_equal(load_recording(p).samples, ref)


def test_a_wav_is_measured_with_the_frame_size_libsndfile_reads(tmp_path: Path) -> None:
    """A block align that disagrees with the sample format is not mistaken for truncation."""
    p = _write(tmp_path / "foa_dev" / "x.wav", _noise(4, 480), 24000, "PCM_16")
    raw = bytearray(p.read_bytes())
    assert raw[32:34] == (8).to_bytes(2, "little")  # block align of 4 x 16 bits
    raw[32:34] = (6).to_bytes(2, "little")
    p.write_bytes(bytes(raw))
    assert probe(p).frames == 480 and load_recording(p).samples.shape == (4, 480)


@pytest.mark.parametrize(
    ("value", "allowed"), [(1.0, True), (999.5, True), (1000.0, True), (1000.5, False), (1e18, False)]
)
def test_float_samples_beyond_60_db_above_full_scale_are_refused(
    tmp_path: Path, value: float, allowed: bool
) -> None:
    data = _noise(4, 48000, scale=0.01)
    data[2, 36000] = -value
    p = _write(tmp_path / "foa_dev" / "loud.wav", data, 24000, "FLOAT")
    if allowed:
        assert load_recording(p).samples[2, 36000] == -value
        assert sum(b.shape[1] for _, b in iter_blocks(p)) == 48000
        return
    expected = f"has 1 sample beyond ±1000; the first is {-value:.4g} at 1.500 s (channel 3)"
    with pytest.raises(AudioError) as exc:
        load_recording(p)
    assert _problem(exc, p).startswith(expected + ". Full scale is ±1.0")
    with pytest.raises(AudioError) as exc:
        list(iter_blocks(p, 0.25))
    assert _problem(exc, p).startswith(expected)
    x, _ = read_audio(p)  # the generic reader (synthesis clips) has no bound: only SELD recordings
    assert x[2, 36000] == -value


def test_int16_values_stored_as_float_are_refused(tmp_path: Path) -> None:
    data = np.round(_noise(4, 2400, scale=0.3) * 32767)
    p = _write(tmp_path / "mic_dev" / "ints.wav", data, 24000, "FLOAT")
    with pytest.raises(AudioError) as exc:
        load_recording(p)
    problem = _problem(exc, p)
    n_over = int((np.abs(data) > 1000).sum())
    assert problem.startswith(f"has {n_over} samples beyond ±1000; the first is ")
    assert "integer sample values stored as float?" in problem


# --------------------------------------------------------------------------- real data


def _real(rel: str) -> Path:
    p = REAL / rel
    if not p.exists():
        pytest.skip(f"real test data not available: {p}")
    return p


@pytest.mark.parametrize(
    ("rel", "fmt"),
    [
        ("dcase_seld/tau2020_nigens/foa_dev/fold1_room1_mix001_ov1.wav", "foa"),
        ("dcase_seld/tau2020_nigens/mic_dev/fold1_room1_mix001_ov1.wav", "mic"),
        ("dcase_seld/tau2021_nigens/mic_dev/dev-train/fold1_room1_mix001.wav", "mic"),
        ("dcase_seld/starss22/mic_dev/dev-train-sony/fold3_room21_mix001.wav", "mic"),
    ],
)
def test_real_dcase_24k_pcm16(rel: str, fmt: str) -> None:
    p = _real(rel)
    info = probe(p)
    assert (info.channels, info.sample_rate, info.frames, info.subtype) == (4, 24000, 24000, "PCM_16")
    rec = load_recording(p)
    assert rec.fmt == fmt and rec.original_rate == 24000 and rec.samples.shape == (4, 24000)
    assert np.all(rec.samples * 32768 == np.round(rec.samples * 32768))  # untouched int16 / 32768
    assert 0 < np.abs(rec.samples).max() <= 1.0


def test_real_tau2019_float_and_48k() -> None:
    p = _real("dcase_seld/tau2019_kaggle_split_mic24k/0.0_split1_ir0_ov1_3.wav")
    info = probe(p)
    assert (info.channels, info.sample_rate, info.subtype) == (4, 24000, "FLOAT")
    assert info.duration_s == pytest.approx(1.0, abs=1e-3)
    assert load_recording(p, fmt="mic").samples.shape == (4, info.frames)
    for sub, fmt in (("foa_dev", "foa"), ("mic_dev", "mic")):
        q = _real(f"dcase_seld/tau2019/{sub}/split1_ir0_ov1_1.wav")
        rec = load_recording(q)
        assert rec.fmt == fmt and rec.original_rate == 48000 and rec.samples.shape == (4, 24000)


def test_real_eigenscape() -> None:
    p = _real("ambisonic_recordings/eigenscape/Beach.1_foa_acn_sn3d_WYZX.wav")
    info = probe(p)
    assert (info.channels, info.sample_rate, info.subtype) == (4, 48000, "PCM_24")
    assert info.duration_s == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(AudioError, match="could not be inferred"):
        load_recording(p)
    rec = load_recording(p, fmt="foa")
    assert rec.original_rate == 48000 and rec.samples.shape == (4, 24000)
    assert np.isfinite(rec.samples).all() and np.abs(rec.samples).max() > 0
    hoa = _real("ambisonic_recordings/eigenscape/Beach.1_hoa4_acn_sn3d_25ch.wav")
    assert probe(hoa).channels == 25
    with pytest.raises(AudioError) as exc:
        load_recording(hoa, fmt="foa")
    assert _problem(exc, hoa) == "has 25 channels; a SELD recording needs 4 (FOA W,Y,Z,X or MIC M1..M4)"


def test_real_jsambisonics_ogg_and_blocks() -> None:
    ogg = _real("ambisonic_recordings/jsambisonics/HOA3_rec4_01-08ch.ogg")
    info = probe(ogg)
    assert (info.container, info.subtype, info.channels, info.sample_rate) == ("OGG", "VORBIS", 8, 44100)
    assert info.duration_s == pytest.approx(8.659, abs=1e-3)
    with pytest.raises(AudioError) as exc:
        load_recording(ogg, fmt="foa")
    assert "has 8 channels; a SELD recording needs 4" in _problem(exc, ogg)
    x, sr = read_audio(ogg)
    assert sr == 44100 and x.shape == (8, info.frames) and np.isfinite(x).all()
    wav = _real("ambisonic_recordings/jsambisonics/HOA3_rec4_foa_acn_sn3d_WYZX_derived.wav")
    ref = _reference_24k(wav)
    assert ref.shape[1] == round(probe(wav).frames * 24000 / 44100) == 207823
    blocks = np.concatenate([b for _, b in iter_blocks(wav, block_seconds=2.0, fmt="foa")], axis=1)
    assert blocks.shape == ref.shape and np.abs(blocks - ref).max() < 1e-5


def test_real_marco_mic_rir() -> None:
    p = _real("rirs/3d_marco/plus90deg_3m_em32_tetra_MICformat_caps6-10-26-22.wav")
    rec = load_recording(p, fmt="mic")
    assert rec.original_rate == 48000 and rec.samples.shape == (4, 2400)
