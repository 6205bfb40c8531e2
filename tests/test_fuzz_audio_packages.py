"""A fuzz corpus of malformed recordings and model packages: each is refused cleanly.

``tests/fuzz/audio/`` holds damaged or absurd audio files (impossible header lengths,
channel counts and rates, loud or non-finite float samples, garbage named as audio) and
``tests/fuzz/packages/`` damaged model packages (corrupted safetensors headers, truncated
tensor data, unusable feature scalers, metadata that is malformed, nested too deeply or
claims a huge model, garbage ONNX files). Every file is a few KB at most; large claims are
made by patching header bytes. :data:`AUDIO_CASES` and :data:`PACKAGE_CASES` give each
file's expected refusal (a substring of the message); the tests run every file through
the library and through ``seld features`` / ``seld infer`` / ``seld export-onnx`` and
check exit status 2, ``seld: error: <file>: <problem>`` and no traceback, no output file,
no hang (an alarm stops a run after 60 s).

The corpus is made by :func:`build_corpus` (``python -m tests.test_fuzz_audio_packages``
rewrites it); two valid files (``valid_*``) are the controls that show the refusals come
from the damage, not from the base file.
"""

from __future__ import annotations

import io
import json
import math
import signal
import struct
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.cli import main
from core.common.errors import AudioError, ModelError, SeldError

FUZZ = Path(__file__).resolve().parent / "fuzz"
AUDIO = FUZZ / "audio"
PACKAGES = FUZZ / "packages"
MAX_CORPUS_FILE_BYTES = 16 * 1024

# --------------------------------------------------------------------------- expectations

AUDIO_CASES: dict[str, str | tuple[str, ...]] = {
    # impossible lengths: nothing may be allocated by the claim
    "flac_total_samples_huge.flac": "its FLAC header declares 68719476735 frames (795.4 hours) but the audio ends",
    "flac_total_samples_unknown.flac": "its FLAC header does not state the length of the audio",
    "flac_truncated.flac": "truncated",
    "wav_data_size_beyond_file.wav": "is truncated: its header declares 268435455 frames",
    "rf64_ds64_claims_2_57_frames.wav": "is truncated: its header declares 144115188075855872 frames",
    # absurd header fields
    "wav_0_channels.wav": "is a damaged or truncated WAV file",
    "wav_65535_channels.wav": "is a damaged or truncated WAV file",
    "wav_rate_0.wav": "is a damaged or truncated WAV file",
    "wav_rate_4ghz.wav": "is a damaged or truncated WAV file",
    "wav_fmt_chunk_size_huge.wav": "is a damaged or truncated WAV file",
    "wav_rate_8000.wav": "unsupported sample rate of 8000 Hz",
    "wav_stereo.wav": "has 2 channels; a SELD recording needs 4",
    "wav_no_frames.wav": "contains no audio (0 frames)",
    # samples
    "wav_float_1e18.wav": "has 1 sample beyond ±1000; the first is 1e+18 at 0.001 s (channel 3)",
    "wav_float_int16_values.wav": "has 192 samples beyond ±1000; the first is 3.277e+04 at 0.000 s (channel 1)",
    # (a streamed read also says which block it decoded: "... between 0.000 s and 0.002 s; ...")
    "wav_float_nan.wav": (
        "contains 1 non-finite sample (1 NaN, 0 Inf)",
        "the first is at 0.001 s (channel 2)",
    ),
    "wav_float_inf.wav": (
        "contains 1 non-finite sample (0 NaN, 1 Inf)",
        "the first is at 0.001 s (channel 4)",
    ),
    # not audio
    "text_named.wav": "is not a readable audio file",
    "empty.wav": "is empty (0 bytes), not an audio file",
    "riff_header_only.wav": "is a damaged or truncated WAV file",
    "ogg_garbage.ogg": "is a damaged or truncated OGG file",
    "flac_garbage.flac": "is a damaged or truncated FLAC file",
}
VALID_AUDIO = "valid_foa.wav"

PACKAGE_CASES: dict[str, str] = {
    # the feature scaler (refused when the package is loaded, by either backend)
    "scaler_mean_nan.safetensors": "the feature scaler's 'mean' holds NaN at channel 1, band 1",
    "scaler_mean_inf.safetensors": "the feature scaler's 'mean' holds an infinite value at channel 3, band 5",
    "scaler_mean_1e300.safetensors": "the feature scaler's 'mean' holds 1e+300 at channel 7, band 64",
    "scaler_var_1e300.safetensors": "the feature scaler's 'var' holds 1e+300 at channel 2, band 2",
    "scaler_var_1e-300.safetensors": "the feature scaler's 'var' holds 1e-300 at channel 1, band 1",
    "scaler_var_negative.safetensors": "the feature scaler's 'var' holds -1 at channel 1, band 2",
    "scaler_shape_6x64.safetensors": "the feature scaler's 'mean' must be 7 lists of 64 numbers",
    "scaler_strings.safetensors": "the feature scaler's 'var' holds '1' at channel 1, band 1; numbers are expected",
    "scaler_count_0.safetensors": "the feature scaler's 'count' must be a positive integer, not 0",
    "scaler_missing_var.safetensors": "the feature scaler has no 'var'",
    "onnx_scaler_nan.onnx": "the feature scaler's 'var' holds NaN at channel 4, band 10",
    # the safetensors header
    "header_length_huge.safetensors": "its header length field says 1099511627776 bytes but only",
    "header_length_short.safetensors": "header is not valid JSON",
    "header_not_utf8.safetensors": "header is not UTF-8 text",
    "header_nested_deeply.safetensors": "its header JSON is nested too deeply",
    "header_is_a_list.safetensors": "its first bytes are not a safetensors header (an 8-byte length, then a JSON object)",
    # the tensor section
    "tensors_truncated.safetensors": "the data section, which has only",
    "tensors_overlap.safetensors": "the tensors' bytes overlap",
    "tensor_shape_wrong.safetensors": "has shape (1, 7, 3, 2) but the model needs (1, 7, 3, 3)",
    "tensor_missing.safetensors": "the weights do not match the architecture",
    "tensor_dtype_unknown.safetensors": "has the unknown dtype 'Q7'",
    "weights_nan.safetensors": "contains NaN or infinite values",
    # the package metadata
    "meta_not_json.safetensors": "malformed SELD Studio metadata: not valid JSON",
    "meta_nested_deeply.safetensors": "malformed SELD Studio metadata: the JSON is nested too deeply",
    "meta_not_a_string.safetensors": "malformed SELD Studio metadata: a string is expected",
    "meta_missing_fields.safetensors": "missing fields 'classes', 'scaler'",
    "meta_classes_twice.safetensors": "the class 'Dog' is listed twice",
    "meta_threshold_nan.safetensors": "'threshold' must be a number between 0 and 1, not nan",
    "meta_rotations_list.safetensors": "'rotations' must be an integer, not [4]",
    "meta_format_version_huge.safetensors": "was written by a newer SELD Studio",
    "meta_n_mels_128.safetensors": "model_args n_mels 128 differs from the 64 mel bands",
    "meta_negative_size.safetensors": "the model arguments do not fit 'crnn_attention'",
    "meta_claims_huge_model.safetensors": "has shape (1, 7, 3, 3) but the model needs (1000000, 7, 3, 3)",
    "plain_safetensors.safetensors": "plain safetensors file without SELD Studio metadata",
    # not a package
    "onnx_renamed.safetensors": "it looks like an ONNX model",
    "zip_renamed.safetensors": "it looks like a zip archive",
    "text_renamed.safetensors": "it looks like a text file",
    "empty.safetensors": "its first bytes are not a safetensors header",
    "onnx_garbage.onnx": "is not a usable ONNX model",
}
VALID_PACKAGE = "valid_tiny.safetensors"

# --------------------------------------------------------------------------- building the corpus

TINY_ARGS = {"conv_filters": [1, 1, 1, 1, 1, 1], "gru_hidden": 1, "d_k": 1, "fc_size": 1}


def _wav(
    channels: int = 4,
    rate: int = 24000,
    bits: int = 16,
    tag: int = 1,
    data: bytes | None = None,
    data_size: int | None = None,
    fmt_size: int = 16,
) -> bytes:
    """A RIFF/WAVE file written field by field (any value, however absurd)."""
    align = (channels * ((bits + 7) // 8)) & 0xFFFF
    fmt = struct.pack("<HHIIHH", tag, channels, rate & 0xFFFFFFFF, (rate * align) & 0xFFFFFFFF, align, bits)
    data = bytes(48 * align) if data is None else data
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _sf_bytes(x: np.ndarray, rate: int, subtype: str, fmt: str) -> bytes:
    bio = io.BytesIO()
    sf.write(bio, x, rate, subtype=subtype, format=fmt)
    return bio.getvalue()


def _quiet(frames: int, channels: int = 4) -> np.ndarray:
    """A low, smooth, deterministic 4-channel signal that compresses to a few bytes per frame."""
    t = np.arange(frames)[:, None]
    return (0.01 * np.sin(2 * np.pi * 440 * t / 24000 + np.arange(channels))).astype(np.float32)


def _flac_with_total(total: int) -> bytes:
    """A small valid FLAC whose STREAMINFO total-samples field (36 bits at byte 21.5) says ``total``."""
    raw = bytearray(_sf_bytes(_quiet(480), 24000, "PCM_16", "FLAC"))
    assert raw[:4] == b"fLaC" and raw[4] & 0x7F == 0  # STREAMINFO first
    word = int.from_bytes(raw[18:26], "big")
    word = (word & ~((1 << 36) - 1)) | total
    raw[18:26] = word.to_bytes(8, "big")
    return bytes(raw)


def _float_wav(value: float, frame: int, channel: int, fill: float = 0.0) -> bytes:
    x = np.full((48, 4), fill, np.float32)
    x[frame, channel] = value
    return _sf_bytes(x, 24000, "FLOAT", "WAV")


def audio_corpus() -> dict[str, bytes]:
    rng = np.random.default_rng(13)
    good_flac = _sf_bytes(_quiet(4800), 24000, "PCM_16", "FLAC")
    fmt64 = struct.pack("<HHIIHH", 1, 4, 24000, 24000 * 8, 8, 16)
    ds64 = struct.pack("<QQQI", 0, 1 << 60, 1 << 57, 0)  # RIFF size, data size, sample count, table
    rf64_body = (
        b"WAVE"
        + b"ds64"
        + struct.pack("<I", len(ds64))
        + ds64
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt64
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
        + bytes(8 * 48)
    )
    return {
        VALID_AUDIO: _wav(data=(_quiet(480) * 32767).astype("<i2").tobytes()),
        "flac_total_samples_huge.flac": _flac_with_total((1 << 36) - 1),
        "flac_total_samples_unknown.flac": _flac_with_total(0),
        "flac_truncated.flac": good_flac[: len(good_flac) // 2],
        "wav_data_size_beyond_file.wav": _wav(data_size=0x7FFFFFFF),
        "rf64_ds64_claims_2_57_frames.wav": b"RF64" + struct.pack("<I", 0xFFFFFFFF) + rf64_body,
        "wav_0_channels.wav": _wav(channels=0, data=bytes(64)),
        "wav_65535_channels.wav": _wav(channels=65535, data=bytes(64)),
        "wav_rate_0.wav": _wav(rate=0),
        "wav_rate_4ghz.wav": _wav(rate=4_000_000_000),
        "wav_fmt_chunk_size_huge.wav": _wav(fmt_size=0xFFFFFFF0),
        "wav_rate_8000.wav": _wav(rate=8000),
        "wav_stereo.wav": _wav(channels=2),
        "wav_no_frames.wav": _wav(data=b""),
        "wav_float_1e18.wav": _float_wav(1e18, 24, 2),
        "wav_float_int16_values.wav": _float_wav(32767.0, 0, 0, fill=-32768.0),
        "wav_float_nan.wav": _float_wav(math.nan, 30, 1, fill=0.01),
        "wav_float_inf.wav": _float_wav(math.inf, 30, 3, fill=0.01),
        "text_named.wav": b"frame,class,track,azimuth,elevation\n0,1,0,30,0\n" * 8,
        "empty.wav": b"",
        "riff_header_only.wav": b"RIFF\x04\x00\x00\x00WAVE",
        "ogg_garbage.ogg": b"OggS\x00\x02" + rng.integers(0, 256, 250, dtype=np.uint8).tobytes(),
        "flac_garbage.flac": b"fLaC" + rng.integers(0, 256, 250, dtype=np.uint8).tobytes(),
    }


def _tiny_meta() -> dict:
    """The package JSON of the tiny valid model: one class, the scaler mean 0 and var 1."""
    from core.dsp.features import FeatureSettings

    args = {
        "in_channels": 7,
        "n_classes": 1,
        **TINY_ARGS,
        "dropout_conv": 0.5,
        "dropout_rnn": 0.1,
        "dropout_fc": 0.25,
        "n_mels": 64,
    }
    return {
        "format_version": 1,
        "model_name": "crnn_attention",
        "model_args": args,
        "classes": ["dog"],
        "class_set": "custom",
        "fmt": "foa",
        "in_channels": 7,
        "features": FeatureSettings().to_dict(),
        "scaler": {"mean": [[0] * 64 for _ in range(7)], "var": [[1] * 64 for _ in range(7)], "count": 1},
        "threshold": 0.5,
        "rotations": 1,
        "training": None,
        "metrics": None,
        "versions": {},
        "created": "2025-01-01T00:00:00+00:00",
    }


def _tiny_tensors() -> dict:
    import torch

    from core.nn.model import build_model

    torch.manual_seed(13)
    model = build_model("crnn_attention", in_channels=7, n_classes=1, **TINY_ARGS)
    return {
        k: v.detach().to(torch.float16 if v.is_floating_point() else v.dtype)
        for k, v in model.state_dict().items()
    }


def _package(meta: dict | str | None = None, tensors: dict | None = None, raw_meta: object = None) -> bytes:
    from safetensors.torch import save

    from core.packages.schema import PACKAGE_KEY

    meta = _tiny_meta() if meta is None else meta
    text = meta if isinstance(meta, str) else json.dumps(meta, allow_nan=True, separators=(",", ":"))
    metadata = {PACKAGE_KEY: text if raw_meta is None else raw_meta}
    return save(_tiny_tensors() if tensors is None else tensors, metadata=metadata)


def _edited(edit) -> bytes:
    meta = _tiny_meta()
    edit(meta)
    return _package(meta)


def _rewrite_header(raw: bytes, edit) -> bytes:
    """``raw`` with its JSON header changed by ``edit(header) -> header`` (length updated)."""
    n = struct.unpack("<Q", raw[:8])[0]
    header = edit(json.loads(raw[8 : 8 + n]))
    text = (header if isinstance(header, bytes) else json.dumps(header).encode()).ljust(8, b" ")
    return struct.pack("<Q", len(text)) + text + raw[8 + n :]


def _onnx_with_meta(meta: dict) -> bytes:
    import onnx

    from core.nn.model import build_model
    from core.packages.onnx_export import onnx_bytes
    from core.packages.schema import PACKAGE_KEY

    model = build_model("crnn_attention", in_channels=7, n_classes=1, **TINY_ARGS).eval()
    proto = onnx.load_model_from_string(onnx_bytes(model))
    entry = proto.metadata_props.add()
    entry.key, entry.value = PACKAGE_KEY, json.dumps(meta, allow_nan=True)
    return proto.SerializeToString()


def package_corpus() -> dict[str, bytes]:
    import torch

    rng = np.random.default_rng(7)
    valid = _package()

    def scaler(key, r, c, value):
        return lambda m: m["scaler"][key][r].__setitem__(c, value)

    def shaped(name, shape):
        t = _tiny_tensors()
        t[name] = torch.zeros(shape, dtype=torch.float16)
        return _package(tensors=t)

    def header_entry(edit):
        def run(header):
            edit(header)
            return header

        return run

    def overlap(header):
        entries = sorted(
            (k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0]
        )
        a, b = header[entries[1]]["data_offsets"]
        header[entries[1]]["data_offsets"] = [a - 2, b - 2]
        return header

    nan_weights = _tiny_tensors()
    nan_weights["sed.out.bias"] = torch.full_like(nan_weights["sed.out.bias"], float("nan"))
    missing = _tiny_tensors()
    missing.pop("gru.weight_hh_l0")
    onnx_meta = _tiny_meta()
    onnx_meta["scaler"]["var"][3][9] = math.nan
    n = struct.unpack("<Q", valid[:8])[0]
    onnx_head = b"\x08\x08\x12\x07pytorch\x1a\x052.13.0" + rng.integers(0, 256, 120, dtype=np.uint8).tobytes()
    return {
        VALID_PACKAGE: valid,
        "scaler_mean_nan.safetensors": _edited(scaler("mean", 0, 0, math.nan)),
        "scaler_mean_inf.safetensors": _edited(scaler("mean", 2, 4, -math.inf)),
        "scaler_mean_1e300.safetensors": _edited(scaler("mean", 6, 63, 1e300)),
        "scaler_var_1e300.safetensors": _edited(scaler("var", 1, 1, 1e300)),
        "scaler_var_1e-300.safetensors": _edited(scaler("var", 0, 0, 1e-300)),
        "scaler_var_negative.safetensors": _edited(scaler("var", 0, 1, -1)),
        "scaler_shape_6x64.safetensors": _edited(lambda m: m["scaler"]["mean"].pop()),
        "scaler_strings.safetensors": _edited(scaler("var", 0, 0, "1")),
        "scaler_count_0.safetensors": _edited(lambda m: m["scaler"].update(count=0)),
        "scaler_missing_var.safetensors": _edited(lambda m: m["scaler"].pop("var")),
        "onnx_scaler_nan.onnx": _onnx_with_meta(onnx_meta),
        "header_length_huge.safetensors": struct.pack("<Q", 1 << 40) + valid[8:],
        "header_length_short.safetensors": struct.pack("<Q", n - 40) + valid[8:],
        "header_not_utf8.safetensors": valid[:20] + b"\xff\xfe" + valid[22:],
        "header_nested_deeply.safetensors": _rewrite_header(
            valid, lambda h: json.dumps(h)[:-1].encode() + b', "x": ' + b"[" * 200 + b"]" * 200 + b"}"
        ),
        "header_is_a_list.safetensors": _rewrite_header(valid, lambda h: [h]),
        "tensors_truncated.safetensors": valid[:-64],
        "tensors_overlap.safetensors": _rewrite_header(valid, overlap),
        "tensor_shape_wrong.safetensors": shaped("convs.0.conv.weight", (1, 7, 3, 2)),
        "tensor_missing.safetensors": _package(tensors=missing),
        "tensor_dtype_unknown.safetensors": _rewrite_header(
            valid, header_entry(lambda h: h["sed.out.bias"].update(dtype="Q7"))
        ),
        "weights_nan.safetensors": _package(tensors=nan_weights),
        "meta_not_json.safetensors": _package("{'format_version': 1,"),
        "meta_nested_deeply.safetensors": _package("[" * 200 + "]" * 200),
        "meta_not_a_string.safetensors": _rewrite_header(
            valid, header_entry(lambda h: h["__metadata__"].update(seld_studio_package=7))
        ),
        "meta_missing_fields.safetensors": _edited(lambda m: (m.pop("classes"), m.pop("scaler"))),
        "meta_classes_twice.safetensors": _edited(
            lambda m: (m.update(classes=["dog", "Dog"]), m["model_args"].update(n_classes=2))
        ),
        "meta_threshold_nan.safetensors": _edited(lambda m: m.update(threshold=math.nan)),
        "meta_rotations_list.safetensors": _edited(lambda m: m.update(rotations=[4])),
        "meta_format_version_huge.safetensors": _edited(lambda m: m.update(format_version=10**30)),
        "meta_n_mels_128.safetensors": _edited(lambda m: m["model_args"].update(n_mels=128)),
        "meta_negative_size.safetensors": _edited(lambda m: m["model_args"].update(fc_size=-5)),
        "meta_claims_huge_model.safetensors": _edited(
            lambda m: m["model_args"].update(conv_filters=[10**6] * 6, gru_hidden=10**6)
        ),
        "plain_safetensors.safetensors": _rewrite_header(
            valid, header_entry(lambda h: h.pop("__metadata__"))
        ),
        "onnx_renamed.safetensors": onnx_head,
        "zip_renamed.safetensors": b"PK\x03\x04" + rng.integers(0, 256, 100, dtype=np.uint8).tobytes(),
        "text_renamed.safetensors": b"this is a README, not a model\n" * 4,
        "empty.safetensors": b"",
        "onnx_garbage.onnx": rng.integers(0, 256, 400, dtype=np.uint8).tobytes(),
    }


def build_corpus(root: Path = FUZZ) -> None:
    """Write the corpus under ``root`` (``audio/`` and ``packages/``)."""
    for folder, files in (("audio", audio_corpus()), ("packages", package_corpus())):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (root / folder / name).write_bytes(data)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def no_hang():
    """Fail (instead of hanging) when one case runs longer than 60 s."""

    def expire(signum, frame):
        raise TimeoutError("a fuzz case ran longer than 60 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _says(text: str, expected: str | tuple[str, ...]) -> None:
    for part in (expected,) if isinstance(expected, str) else expected:
        assert part in text, text


def _refused(capsys, argv: list[str], path: Path, expected: str | tuple[str, ...]) -> str:
    """Run ``seld argv``; it must exit 2 with ``seld: error: <path>: ...expected...`` and no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err, err
    line = next(line for line in err.splitlines() if line.startswith("seld: error: "))
    assert line.startswith(f"seld: error: {path}: "), line
    _says(line, expected)
    assert len(line) < 1000, f"the message is {len(line)} characters long"
    return line


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    from tests.test_package import tiny_package

    return tiny_package(tmp_path_factory.mktemp("fuzz_pkg"))[0]


# --------------------------------------------------------------------------- the corpus itself


def test_the_corpus_is_small_and_every_file_has_an_expectation():
    audio = {p.name for p in AUDIO.iterdir()}
    packages = {p.name for p in PACKAGES.iterdir()}
    assert audio == {*AUDIO_CASES, VALID_AUDIO}
    assert packages == {*PACKAGE_CASES, VALID_PACKAGE}
    sizes = {p.name: p.stat().st_size for p in [*AUDIO.iterdir(), *PACKAGES.iterdir()]}
    assert max(sizes.values()) <= MAX_CORPUS_FILE_BYTES, max(sizes.items(), key=lambda kv: kv[1])


def test_the_valid_controls_work(tmp_path, capsys):
    from core.inference.predict import open_model, predict

    wav = AUDIO / VALID_AUDIO
    assert main(["features", str(wav), "--format", "foa", "--out", str(tmp_path / "f.npy")]) == 0
    assert np.load(tmp_path / "f.npy").shape == (7, 1, 64)
    pkg = PACKAGES / VALID_PACKAGE
    for backend in ("torch", "onnx"):
        pred = predict(open_model(pkg, backend=backend, device="cpu"), wav, fmt="foa")
        assert pred.sed.shape == (1, 1) and np.isfinite(pred.sed).all()
    argv = ["infer", str(wav), "--format", "foa", "--model", str(pkg), "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    assert (tmp_path / "o" / "valid_foa.csv").is_file()
    capsys.readouterr()


# --------------------------------------------------------------------------- audio


@pytest.mark.parametrize("name", sorted(AUDIO_CASES))
def test_audio_is_refused_by_the_library(name):
    from core.io.audio import load_recording, read_segment

    path = AUDIO / name
    for read in (lambda: load_recording(path, fmt="foa"), lambda: read_segment(path, 0.0, 10.0, fmt="foa")):
        with pytest.raises(AudioError) as err:
            read()
        assert str(err.value).startswith(f"{path}: ")
        _says(err.value.problem, AUDIO_CASES[name])


@pytest.mark.parametrize("name", sorted(AUDIO_CASES))
def test_audio_is_refused_by_seld_features_and_seld_infer_alike(name, package, tmp_path, capsys):
    path = AUDIO / name
    out = tmp_path / "f.npy"
    features = _refused(
        capsys, ["features", str(path), "--format", "foa", "--out", str(out)], path, AUDIO_CASES[name]
    )
    assert not out.exists()
    argv = ["infer", str(path), "--format", "foa", "--model", str(package), "--backend", "torch"]
    infer = _refused(capsys, [*argv, "--out", str(tmp_path / "o")], path, AUDIO_CASES[name])
    assert not (tmp_path / "o" / f"{path.stem}.csv").exists()
    # one reading path: the same problem (a non-finite sample's message may differ in what was
    # decoded when it was found: the whole file or one block)
    if "non-finite" not in features:
        assert infer == features


def test_an_impossible_flac_length_allocates_nothing(tmp_path):
    """The header claims 2**36 frames (1 TiB as float32); reading must fail before any such allocation."""
    import tracemalloc

    from core.io.audio import probe

    path = AUDIO / "flac_total_samples_huge.flac"
    tracemalloc.start()
    try:
        with pytest.raises(AudioError):
            probe(path)
        assert main(["features", str(path), "--format", "foa", "--out", str(tmp_path / "x.npy")]) == 2
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.0f} MB allocated"


def test_a_loud_float_file_never_gives_an_empty_csv(package, tmp_path, capsys):
    """1e18 is finite: before, the features were NaN and `seld infer` wrote an empty CSV with exit 0."""
    x = 0.01 * np.random.default_rng(1).standard_normal((24000, 4))
    x[12000, 1] = 1e18
    path = tmp_path / "foa_dev" / "loud.wav"
    path.parent.mkdir()
    sf.write(path, x.astype(np.float32), 24000, subtype="FLOAT")
    line = _refused(capsys, ["infer", str(path), "--model", str(package), "--out", str(tmp_path)], path, "")
    assert "has 1 sample beyond ±1000; the first is 1e+18 at 0.500 s (channel 2)" in line
    assert not (tmp_path / "loud.csv").exists()
    # just inside the bound the file is read and analysed
    x[12000, 1] = 999.0
    sf.write(path, x.astype(np.float32), 24000, subtype="FLOAT")
    assert main(["infer", str(path), "--model", str(package), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "loud.csv").is_file()
    capsys.readouterr()


def test_a_wav_header_written_by_the_standard_library_is_valid_control(tmp_path):
    """The hand-written WAV builder agrees with Python's own writer (so the corpus damage is the only damage)."""
    bio = io.BytesIO()
    with wave.open(bio, "wb") as w:
        w.setnchannels(4)
        w.setsampwidth(2)
        w.setframerate(24000)
        w.writeframes(bytes(48 * 8))
    assert _wav() == bio.getvalue()


# --------------------------------------------------------------------------- packages


def _load_any(path: Path, backend: str):
    from core.inference.predict import open_model

    return open_model(path, backend=backend, device="cpu")


@pytest.mark.parametrize("name", sorted(PACKAGE_CASES))
def test_packages_are_refused_when_loaded(name):
    from core.packages.onnx_export import read_onnx_meta
    from core.packages.package_file import read_package_meta

    path = PACKAGES / name
    backends = ("onnx",) if name.endswith(".onnx") else ("torch", "onnx")
    for backend in backends:
        with pytest.raises(ModelError) as err:
            _load_any(path, backend)
        assert str(err.value).startswith(f"{path}: "), str(err.value)
        assert PACKAGE_CASES[name] in err.value.problem, err.value.problem
    # listing a package (header only) refuses what is wrong in the header and metadata
    read_meta = read_onnx_meta if name.endswith(".onnx") else read_package_meta
    header_only = not name.startswith(("tensor", "weights", "meta_negative", "meta_claims", "onnx_garbage"))
    if header_only:
        with pytest.raises(ModelError) as err:
            read_meta(path)
        assert PACKAGE_CASES[name] in err.value.problem, err.value.problem
    else:
        try:
            read_meta(path)
        except ModelError as err:  # an unreadable ONNX file: refused too, in its own words
            assert str(err).startswith(f"{path}: ")


@pytest.mark.parametrize("name", sorted(PACKAGE_CASES))
def test_packages_are_refused_by_seld_infer(name, tmp_path, capsys):
    wav = AUDIO / VALID_AUDIO
    argv = ["infer", str(wav), "--format", "foa", "--model", str(PACKAGES / name), "--out", str(tmp_path)]
    _refused(capsys, argv, PACKAGES / name, PACKAGE_CASES[name])
    assert not (tmp_path / "valid_foa.csv").exists()


@pytest.mark.parametrize("name", [n for n in sorted(PACKAGE_CASES) if n.endswith(".safetensors")])
def test_packages_are_refused_by_seld_export_onnx(name, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    argv = ["export-onnx", "--model", str(PACKAGES / name), "--out", str(out)]
    _refused(capsys, argv, PACKAGES / name, PACKAGE_CASES[name])
    assert not out.exists()


def test_a_huge_model_claim_allocates_nothing():
    """conv_filters and GRU sizes of 1e6 declare ~4e13 parameters (160 TB as float32); the
    architecture is checked against the file's tensors on the meta device."""
    import tracemalloc

    from core.packages.runtime import load_package

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ModelError, match="has shape"):
            load_package(PACKAGES / "meta_claims_huge_model.safetensors")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50e6 and time.perf_counter() - t0 < 20


def test_ten_megabytes_of_metadata_give_a_short_message(tmp_path):
    """A 10 MB model name (in a 10 MB header) is refused without echoing it."""
    from core.packages.package_file import read_package_meta

    meta = _tiny_meta()
    meta["model_name"] = ["x" * 1000] * 10_000
    path = tmp_path / "big.safetensors"
    path.write_bytes(_package(meta))
    assert path.stat().st_size > 10e6
    with pytest.raises(ModelError, match="'model_name' must be a non-empty string") as err:
        read_package_meta(path)
    assert len(str(err.value)) < 400


def test_a_scaler_within_the_bounds_is_accepted(tmp_path):
    """The bounds are not too tight: a scaler at the edges of what real features give loads."""
    from core.packages.runtime import load_package
    from core.packages.schema import SCALER_MAX_ABS_MEAN, SCALER_MAX_VAR, SCALER_MIN_VAR

    meta = _tiny_meta()
    meta["scaler"]["mean"][0][0] = -SCALER_MAX_ABS_MEAN
    meta["scaler"]["var"][0][0] = SCALER_MAX_VAR
    meta["scaler"]["var"][0][1] = SCALER_MIN_VAR
    meta["scaler"]["var"][0][2] = 0  # a band left unscaled
    path = tmp_path / "edge.safetensors"
    path.write_bytes(_package(meta))
    assert load_package(path).scaler.var[0, 1] == SCALER_MIN_VAR


def test_nan_outputs_are_refused_not_written(tmp_path, capsys):
    """A model whose network gives NaN (here: a wrapper) must fail, never write rows."""
    from core.inference.predict import open_model, predict

    model = open_model(PACKAGES / VALID_PACKAGE, backend="torch", device="cpu")
    real_run = model.run

    def nan_run(batch):
        sed, doa = real_run(batch)
        sed[0, 0, 0] = np.nan
        return sed, doa

    model.run = nan_run
    with pytest.raises(
        ModelError, match=r"the network produced 1 NaN or infinite detection \(sed\) outputs"
    ) as err:
        predict(model, AUDIO / VALID_AUDIO, fmt="foa")
    assert str(err.value).startswith(str(PACKAGES / VALID_PACKAGE))


def test_model_output_of_the_wrong_shape_is_refused():
    from core.inference.predict import open_model, predict

    model = open_model(PACKAGES / VALID_PACKAGE, backend="torch", device="cpu")
    real_run = model.run
    model.run = lambda batch: tuple(o[:, :, :0] for o in real_run(batch))
    with pytest.raises(ModelError, match=r"outputs have shapes sed \(1, 20, 0\)"):
        predict(model, AUDIO / VALID_AUDIO, fmt="foa")


@pytest.mark.parametrize("base", [VALID_AUDIO, "flac_truncated.flac", VALID_PACKAGE])
def test_random_damage_is_refused_or_read_never_crashes(base, tmp_path):
    """Inputs not in the corpus: 40 seeded random damages (bytes overwritten, length fields set to
    0 / 2**32-1 / random, bytes inserted, the file cut) of a valid file: each is read or refused
    with a SeldError, never another exception. (2600 such cases were run when this was written.)"""
    import random

    from core.inference.predict import open_model
    from core.io.audio import load_recording

    rng = random.Random(base)
    source = ((AUDIO if base.endswith((".wav", ".flac")) else PACKAGES) / base).read_bytes()
    for i in range(40):
        raw = bytearray(source)
        kind = i % 4
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                raw[rng.randrange(min(len(raw), 200))] = rng.randrange(256)
        elif kind == 1:
            pos = rng.randrange(min(len(raw), 120))
            raw[pos : pos + 4] = struct.pack("<I", rng.choice([0, 1, 0xFFFFFFFF, rng.randrange(2**32)]))
        elif kind == 2:
            pos = rng.randrange(len(raw))
            raw[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
        else:
            raw = raw[: rng.randrange(len(raw))]
        path = tmp_path / f"damaged{Path(base).suffix}"
        path.write_bytes(bytes(raw))
        try:
            if path.suffix == ".safetensors":
                open_model(path, backend="torch", device="cpu")
            else:
                load_recording(path, fmt="foa")
        except SeldError as err:
            assert str(err).startswith(f"{path}: ") and len(str(err)) < 1000, str(err)


if __name__ == "__main__":  # pragma: no cover - rewrites the corpus
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    build_corpus()
    print(f"wrote {FUZZ / 'audio'} and {FUZZ / 'packages'}")
