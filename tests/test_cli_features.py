"""``seld features``: writes the unnormalised feature array; bad input exits 2 with a message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.cli import main
from core.dsp.features import extract_features
from tests.feature_checks import assert_same_features

REPO = Path(__file__).resolve().parents[1]


def _write(path, channels=4, seconds=1.5):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((int(24000 * seconds), channels)) * 0.1).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, 24000, subtype="PCM_16")
    return path


def test_features_infers_format_from_dcase_folder_and_writes_npy(tmp_path, capsys):
    wav = _write(tmp_path / "foa_dev" / "fold1_room1_mix001_ov1.wav")
    out = tmp_path / "feat.npy"
    assert main(["features", str(wav), "--out", str(out)]) == 0
    feats = np.load(out)
    assert feats.shape == (7, 75, 64) and feats.dtype == np.float32
    x, _ = sf.read(wav, dtype="float32", always_2d=True)
    assert_same_features(feats, extract_features(x.T, "foa"))  # streamed vs whole file
    assert "foa features 7 x 75 frames" in capsys.readouterr().err


def test_features_format_flag_overrides_the_folder(tmp_path):
    wav = _write(tmp_path / "foa_dev" / "clip.flac")
    out = tmp_path / "mic.npy"
    assert main(["features", str(wav), "--format", "mic", "--out", str(out)]) == 0
    assert np.load(out).shape == (10, 75, 64)


def test_features_errors_name_the_file_and_problem(tmp_path, capsys):
    stereo = _write(tmp_path / "foa_dev" / "stereo.wav", channels=2)
    assert main(["features", str(stereo), "--out", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert "stereo.wav" in err and "2 channels" in err and "Traceback" not in err
    assert not (tmp_path / "x.npy").exists()

    nofmt = _write(tmp_path / "recordings" / "clip.wav")
    assert main(["features", str(nofmt), "--out", str(tmp_path / "y.npy")]) == 2
    assert "format" in capsys.readouterr().err

    assert main(["features", str(nofmt), "--format", "foa", "--out", str(tmp_path / "y.txt")]) == 2
    assert ".npy" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fmt", "sr", "seconds", "subtype"),
    [("foa", 24000, 75.3, "PCM_16"), ("mic", 44100, 62.0, "PCM_24"), ("foa", 48000, 3.1, "FLOAT")],
)
def test_features_are_those_of_the_whole_recording(tmp_path, fmt, sr, seconds, subtype):
    """The streamed reading path gives ``extract_features(load_recording(...))``.

    Both compute every frame from the same samples (the block reader's samples equal the whole
    file's, resampled or not), and flooring the log-mel levels after rounding them to float32
    equals rounding after flooring (rounding is monotone); the chunks' mel projections run on
    matrices of other shapes, so the values agree to float32 rounding
    (:func:`tests.feature_checks.assert_same_features`), not bit for bit on every processor.
    The 75 s file spans two chunks of 60 s, so the chunk seams are covered.
    """
    from core.io.audio import load_recording

    rng = np.random.default_rng(3)
    n = int(sr * seconds)
    x = 0.02 * rng.standard_normal((n, 4))
    x[n // 3 : n // 3 + sr] += 0.5 * np.sin(np.arange(sr) * 0.07)[:, None] * rng.uniform(-1, 1, 4)
    wav = (
        tmp_path / f"{fmt}_dev" / "long.flac" if subtype == "PCM_24" else tmp_path / f"{fmt}_dev" / "long.wav"
    )
    wav.parent.mkdir(parents=True)
    sf.write(wav, np.clip(x, -1, 1), sr, subtype=subtype)
    out = tmp_path / "feat.npy"
    assert main(["features", str(wav), "--out", str(out)]) == 0
    got = np.load(out)
    expected = extract_features(load_recording(wav).samples, fmt)
    assert got.shape == expected.shape == ({"foa": 7, "mic": 10}[fmt], -(-round(seconds * 24000) // 480), 64)
    assert_same_features(got, expected)


def test_features_refuse_what_infer_refuses(tmp_path, capsys):
    """A FLAC whose header claims 2**36 frames (1 TiB as float32): a clean refusal, no allocation."""
    flac = tmp_path / "foa_dev" / "claim.flac"
    _write(flac)
    raw = bytearray(flac.read_bytes())
    word = int.from_bytes(raw[18:26], "big")
    raw[18:26] = (word | ((1 << 36) - 1)).to_bytes(8, "big")
    flac.write_bytes(bytes(raw))
    out = tmp_path / "x.npy"
    assert main(["features", str(flac), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"seld: error: {flac}: is truncated or its header is corrupt: its FLAC header declares "
    )
    assert "Traceback" not in err and not out.exists()

    loud = tmp_path / "foa_dev" / "loud.wav"
    x = np.zeros((2400, 4), np.float32)
    x[1200, 3] = 1e18
    sf.write(loud, x, 24000, subtype="FLOAT")
    assert main(["features", str(loud), "--out", str(out)]) == 2
    assert "has 1 sample beyond ±1000; the first is 1e+18 at 0.050 s (channel 4)" in capsys.readouterr().err
    assert not out.exists()


def test_seld_features_does_not_import_torch(tmp_path):
    # nor scipy.fft (~0.45 s): one thread's FFTs are numpy's, the same pocketfft
    wav = _write(tmp_path / "foa_dev" / "a.wav", seconds=0.5)
    code = (
        "import sys; from core.cli import main; "
        f"rc = main(['features', {str(wav)!r}, '--out', {str(tmp_path / 'a.npy')!r}]); "
        "print(rc, 'torch' in sys.modules, 'scipy.fft' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO))
    assert out.stdout.split() == ["0", "False", "False"], out.stderr


def test_seld_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "core.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("features", "score"):
        assert command in out.stdout
