"""``seld features``: writes the unnormalised feature array; bad input exits 2 with a message."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import soundfile as sf

from core.cli import main
from core.features import extract_features


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
    np.testing.assert_array_equal(feats, extract_features(x.T, "foa"))
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


def test_seld_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "core.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("features", "score"):
        assert command in out.stdout
