"""``seld synth``: dataset layout, file formats, labels, determinism and errors."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.cli import main
from core.common.errors import SeldError
from core.common.progress import Cancelled
from core.data.dataset import discover
from core.labels.dcase_csv import read_labels
from core.synthesis.writer import SynthConfig, parse_folds, room_for, synthesize_dataset

TINY = ["--folds", "1-2", "--clips-per-fold", "1", "--duration", "4"]
NAMES = ["fold1_room1_mix001_ov1", "fold2_room4_mix001_ov2"]


def _synth(out: Path, *extra: str) -> int:
    return main(["synth", "--out", str(out), *TINY, *extra])


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "ds"
    assert _synth(root, "--seed", "7") == 0
    return root


def test_tiny_dataset_has_the_dcase_layout_and_formats(tiny, capsys):
    for folder, ext in (("foa_dev", "wav"), ("mic_dev", "wav"), ("metadata_dev", "csv")):
        assert sorted(p.name for p in (tiny / folder).iterdir()) == [f"{n}.{ext}" for n in NAMES]
    for fmt in ("foa", "mic"):
        for name in NAMES:
            info = sf.info(str(tiny / f"{fmt}_dev" / f"{name}.wav"))
            assert (info.channels, info.samplerate, info.subtype, info.format) == (4, 24000, "PCM_16", "WAV")
            assert info.frames == 4 * 24000
            x, _ = sf.read(str(tiny / f"{fmt}_dev" / f"{name}.wav"))
            # the level is drawn per mix (-12..+12 dB around -30 dBFS RMS); FOA peaks stay below -3 dBFS
            assert 0.01 < np.abs(x).max() < (0.7080 if fmt == "foa" else 0.75)
    assert (tiny / "synth_info.json").is_file()


def test_labels_parse_and_the_dataset_is_discovered(tiny):
    for name in NAMES:
        table = read_labels(tiny / "metadata_dev" / f"{name}.csv", classes="dcase2020")
        assert table.fmt == "dcase2020" and len(table) > 0
        assert all(0 <= r.frame < 40 for r in table)
        assert all(-180 <= r.azimuth <= 180 and -45 <= r.elevation <= 45 for r in table)
        ov = int(name[-1])
        counts = np.bincount([r.frame for r in table])
        assert counts.max() <= ov
    for fmt in ("foa", "mic"):
        items = discover(tiny, fmt)
        assert [it.name for it in items] == NAMES
        assert [it.fold for it in items] == [1, 2]
        assert all(it.labels is not None and it.labels.is_file() for it in items)


def test_same_seed_same_bytes_and_refusal_to_overwrite(tiny, tmp_path, capsys):
    again = tmp_path / "again"
    assert _synth(again, "--seed", "7") == 0
    assert _digests(again) == _digests(tiny)
    err = capsys.readouterr().err
    assert "seld synth: mixes 1/2 (50%) fold1_room1_mix001_ov1" in err  # the renderer's plain lines
    assert "seld synth: mixes 2/2 (100%) fold2_room4_mix001_ov2" in err

    assert _synth(again, "--seed", "8") == 2
    assert "already holds a dataset" in capsys.readouterr().err
    assert _digests(again) == _digests(tiny)  # untouched

    assert _synth(again, "--seed", "8", "--overwrite") == 0
    changed, original = _digests(again), _digests(tiny)
    assert changed.keys() == original.keys()
    wav = "foa_dev/fold1_room1_mix001_ov1.wav"
    assert changed[wav] != original[wav]


def test_foa_only_with_own_sources(tmp_path):
    sources = tmp_path / "nigens"
    t = np.arange(24000) / 24000
    for folder, freq in (("alarm", 1000.0), ("dog", 300.0)):
        (sources / folder).mkdir(parents=True)
        tone = 0.3 * np.sin(2 * np.pi * freq * t) * np.hanning(t.size)
        sf.write(str(sources / folder / "clip1.wav"), tone, 24000)
    root = tmp_path / "own"
    assert _synth(root, "--formats", "foa", "--sources", str(sources), "--snr-db", "40") == 0
    assert not (root / "mic_dev").exists()
    classes = {r.cls for name in NAMES for r in read_labels(root / "metadata_dev" / f"{name}.csv")}
    assert classes and classes <= {0, 3}  # alarm, barking dog


def test_bad_sources_folder_is_a_clear_error(tmp_path, capsys):
    missing = tmp_path / "no_such_folder"
    assert _synth(tmp_path / "a", "--sources", str(missing)) == 2
    err = capsys.readouterr().err
    assert "seld: error:" in err and str(missing) in err and "not found" in err
    empty = tmp_path / "empty_sources"
    empty.mkdir()
    assert _synth(tmp_path / "b", "--sources", str(empty)) == 2
    assert "class sub-folders" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_bad_options_are_refused(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "x"), "--folds", "3-1"]) == 2
    assert "folds" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path / "x"), "--formats", "foa,binaural"]) == 2
    assert "binaural" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["synth", "--out", str(tmp_path / "x"), "--clips-per-fold", "0"])
    assert parse_folds("1-3,5") == (1, 2, 3, 5)


def test_progress_and_cancel_through_the_library(tmp_path):
    from core.synthesis.sources import SourceBank

    calls: list[tuple[int, int, str]] = []
    config = SynthConfig(formats=("foa",), folds=(1,), clips_per_fold=3, duration_s=2.0, seed=3)
    with pytest.raises(Cancelled):
        synthesize_dataset(
            tmp_path / "c",
            config,
            SourceBank.builtin(),
            progress=lambda d, n, name: calls.append((d, n, name)),
            cancel=lambda: len(calls) >= 1,
        )
    assert calls == [(1, 3, "fold1_room1_mix001_ov1")]
    assert sorted(p.name for p in (tmp_path / "c" / "foa_dev").iterdir()) == ["fold1_room1_mix001_ov1.wav"]


def test_noise_and_level_options_are_recorded_and_checked(tmp_path, capsys):
    import json

    root = tmp_path / "legacy"
    legacy = [
        "--noise",
        "pink",
        "--snr-db",
        "30",
        "--gain-db",
        "0",
        "--tilt-db-oct",
        "0",
        "--noise-sources",
        "0",
    ]
    assert _synth(root, *legacy) == 0
    info = json.loads((root / "synth_info.json").read_text())
    assert info["settings"]["snr_db"] == [30.0, 30.0] and info["settings"]["noise_types"] == ["pink"]
    for mix in info["mixes"]:  # the fixed noise and level of earlier versions
        assert mix["snr_db"] == 30.0 and mix["noise"] == {"noise": "pink"} and mix["noise_sources"] == []
        assert mix["gain_db"] == 0.0 and mix["tilt_db_oct"] == 0.0
        assert mix["level_dbfs"] == -30.0 or mix["peak_limited"]
    root = tmp_path / "ranged"
    assert (
        _synth(root, "--snr-db", "10:12", "--noise", "babble,wind", "--gain-db=-3:-1", "--tilt-db-oct=1:2")
        == 0
    )
    for mix in json.loads((root / "synth_info.json").read_text())["mixes"]:
        assert 10.0 <= mix["snr_db"] <= 12.0 and mix["noise"]["noise"] in ("babble", "wind")
        assert -3.0 <= mix["gain_db"] <= -1.0 and 1.0 <= mix["tilt_db_oct"] <= 2.0
    root = tmp_path / "quiet"
    assert _synth(root, "--snr-db", "inf") == 0
    assert all(m["snr_db"] == "inf" for m in json.loads((root / "synth_info.json").read_text())["mixes"])
    capsys.readouterr()
    for bad, word in (
        (["--snr-db", "30:6"], "SNR"),
        (["--snr-db", "loud"], "SNR"),
        (["--noise", "pink,rain"], "rain"),
        (["--gain-db=-50:0"], "gain"),
        (["--tilt-db-oct", "9"], "tilt"),
    ):
        assert _synth(tmp_path / "bad", *bad) == 2, bad
        assert word in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_open_air_share_is_drawn_per_room_recorded_and_checked(tmp_path, capsys):
    import json

    root = tmp_path / "outdoors"
    assert _synth(root, "--open-air", "1", "--noise", "surf") == 0
    info = json.loads((root / "synth_info.json").read_text())
    assert info["settings"]["open_air"] == 1.0
    for room in info["rooms"].values():
        assert room["rt60_s"] == 0.0 and room["max_order"] == 2
        assert room["materials"][4] in ("hard_surface", "rough_concrete", "ground_grass", "ground_soil")
    assert {mix["noise"]["noise"] for mix in info["mixes"]} == {"surf"}
    # the open-air draw has a stream of its own: without it the rooms are those of earlier versions
    config = SynthConfig(folds=(1, 2), rooms_per_fold=4)
    rooms = [room_for(config, f, s) for f in (1, 2) for s in range(4)]
    mixed = [room_for(replace(config, open_air=0.5), f, s) for f in (1, 2) for s in range(4)]
    assert all(r.rt60 > 0 for r in rooms)
    assert 0 < sum(m.rt60 == 0 for m in mixed) < len(mixed)
    assert all(m == r for m, r in zip(mixed, rooms, strict=True) if m.rt60 > 0)
    with pytest.raises(SystemExit):
        main(["synth", "--out", str(tmp_path / "x"), "--open-air", "1.5"])
    assert "--open-air: the probability must be 0-1" in capsys.readouterr().err
    with pytest.raises(SeldError, match="measured responses"):
        replace(config, open_air=0.5, rirs="responses.sofa", formats=("foa",)).validate()
