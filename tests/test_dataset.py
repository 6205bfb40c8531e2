"""Dataset discovery (core.data.dataset) and the shared tiny dataset fixture (tests/fixtures_data.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.common.errors import SeldError
from core.data.dataset import EVAL_FOLD, DatasetItem, discover, fold_of, select_folds
from core.io.audio import load_recording
from core.labels.dcase_csv import read_labels
from core.spatial.mic_array import mic_capsule_positions
from tests.fixtures_data import (
    NOISE_RMS,
    SPEED_OF_SOUND,
    TONE_AMPLITUDE,
    class_frequency,
    make_tiny_dataset,
    tiny_scene,
)


def _touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- discovery


def test_discover_flat_dcase2020_layout(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", folds=(2, 1, 3), clips_per_fold=2, seconds=1.0)
    items = discover(root, "foa")
    assert [it.name for it in items] == [f"fold{f}_room1_mix00{k}_ov1" for f in (1, 2, 3) for k in (1, 2)]
    assert [it.fold for it in items] == [1, 1, 2, 2, 3, 3]
    first = items[0]
    assert first == DatasetItem(
        name="fold1_room1_mix001_ov1",
        fold=1,
        audio=root.resolve() / "foa_dev" / "fold1_room1_mix001_ov1.wav",
        labels=root.resolve() / "metadata_dev" / "fold1_room1_mix001_ov1.csv",
        fmt="foa",
    )
    assert all(it.audio.is_file() and it.labels is not None and it.labels.is_file() for it in items)


def test_discover_starss_sub_folders_skips_hidden_and_non_audio(tmp_path):
    root = tmp_path / "starss"
    _touch(root / "mic_dev" / "dev-train-sony" / "fold3_room21_mix001.wav")
    _touch(root / "mic_dev" / "dev-test-tau" / "fold4_room2_mix010.FLAC")
    _touch(root / "mic_dev" / "dev-train-sony" / "._fold3_room21_mix001.wav")  # macOS resource fork
    _touch(root / "mic_dev" / ".trash" / "fold9_room1_mix001.wav")
    _touch(root / "mic_dev" / "dev-train-sony" / "notes.txt")
    _touch(root / "metadata_dev" / "dev-train-sony" / "fold3_room21_mix001.csv")
    _touch(root / "metadata_dev" / "dev-test-tau" / "fold4_room2_mix010.csv")
    items = discover(root, "mic")
    assert [(it.name, it.fold) for it in items] == [("fold3_room21_mix001", 3), ("fold4_room2_mix010", 4)]
    assert items[0].labels == root / "metadata_dev" / "dev-train-sony" / "fold3_room21_mix001.csv"
    assert items[1].audio.name == "fold4_room2_mix010.FLAC"
    assert items[1].labels == root / "metadata_dev" / "dev-test-tau" / "fold4_room2_mix010.csv"
    assert all(it.fmt == "mic" for it in items)


def test_discover_eval_folder_labels_optional(tmp_path):
    root = tmp_path / "ds"
    _touch(root / "foa_dev" / "fold1_room1_mix001_ov1.wav")
    _touch(root / "metadata_dev" / "fold1_room1_mix001_ov1.csv")
    _touch(root / "foa_eval" / "mix001.wav")
    _touch(root / "foa_eval" / "mix002.wav")
    _touch(root / "metadata_eval" / "mix002.csv")
    items = discover(root, "foa")
    assert [(it.name, it.fold) for it in items] == [
        ("fold1_room1_mix001_ov1", 1),
        ("mix001", EVAL_FOLD),
        ("mix002", EVAL_FOLD),
    ]
    assert items[1].labels is None
    assert items[2].labels == root / "metadata_eval" / "mix002.csv"
    assert [it.name for it in discover(root, "foa", include_eval=False)] == ["fold1_room1_mix001_ov1"]
    # an evaluation set alone (no labels at all) is fine too
    only_eval = tmp_path / "eval_only"
    _touch(only_eval / "foa_eval" / "mix001.wav")
    assert [(it.name, it.labels) for it in discover(only_eval, "foa")] == [("mix001", None)]


def test_discover_missing_labels(tmp_path):
    root = tmp_path / "ds"
    wav = _touch(root / "foa_dev" / "fold2_room1_mix003_ov2.wav")
    _touch(root / "foa_dev" / "fold2_room1_mix001_ov1.wav")
    _touch(root / "metadata_dev" / "fold2_room1_mix001_ov1.csv")
    with pytest.raises(SeldError) as err:
        discover(root, "foa")
    assert err.value.path == str(wav)
    expected = root / "metadata_dev" / "fold2_room1_mix003_ov2.csv"
    assert str(err.value) == f"{wav}: the recording has no label file (expected {expected})"
    items = discover(root, "foa", require_labels=False)
    assert [it.labels is None for it in items] == [False, True]


def test_discover_missing_metadata_folder(tmp_path):
    root = tmp_path / "ds"
    _touch(root / "foa_dev" / "fold1_a.wav")
    _touch(root / "foa_dev" / "fold1_b.wav")
    with pytest.raises(SeldError, match=r"no metadata_dev folder beside foa_dev: the label files of the 2 "):
        discover(root, "foa")
    assert [it.labels for it in discover(root, "foa", require_labels=False)] == [None, None]


def test_discover_errors(tmp_path):
    with pytest.raises(SeldError) as err:
        discover(tmp_path / "nowhere", "foa")
    assert str(err.value) == f"{tmp_path / 'nowhere'}: dataset folder not found"

    a_file = _touch(tmp_path / "file.wav")
    with pytest.raises(SeldError, match="is a file, not a dataset folder"):
        discover(a_file, "foa")

    with pytest.raises(SeldError, match="unknown recording format 'ambix'"):
        discover(tmp_path, "ambix")

    mic_only = tmp_path / "mic_only"
    _touch(mic_only / "mic_dev" / "fold1_x.wav")
    _touch(mic_only / "metadata_dev" / "fold1_x.csv")
    with pytest.raises(SeldError) as err:
        discover(mic_only, "foa")
    assert err.value.path == str(mic_only)
    assert "no foa_dev or foa_eval folder for FOA recordings" in err.value.problem
    assert err.value.problem.endswith("its folders are: metadata_dev, mic_dev")
    with pytest.raises(SeldError, match="no foa_dev folder for FOA"):
        discover(mic_only, "foa", include_eval=False)
    with pytest.raises(SeldError, match="it has no sub-folders"):
        discover(_touch(tmp_path / "bare" / "x.txt").parent, "mic")

    no_fold = tmp_path / "no_fold"
    bad = _touch(no_fold / "foa_dev" / "room1_mix001_ov1.wav")
    with pytest.raises(SeldError) as err:
        discover(no_fold, "foa")
    assert err.value.path == str(bad)
    assert "does not start with fold<N>_" in err.value.problem

    empty = tmp_path / "empty"
    (empty / "foa_dev").mkdir(parents=True)
    _touch(empty / "foa_dev" / "readme.txt")
    with pytest.raises(SeldError, match=r"foa_dev hold\(s\) no recordings \(.wav, .flac, .ogg files\)"):
        discover(empty, "foa")

    dup = tmp_path / "dup"
    _touch(dup / "foa_dev" / "a" / "fold1_x.wav")
    _touch(dup / "foa_dev" / "b" / "fold1_x.wav")
    with pytest.raises(SeldError, match="two recordings are named 'fold1_x'"):
        discover(dup, "foa", require_labels=False)


def test_discover_a_plain_folder_and_where_labels_are(tmp_path):
    from core.data.dataset import dataset_layout, label_path
    from tests.fixtures_data import make_plain_dataset

    root, assigned = make_plain_dataset(tmp_path / "plain", folds=(1, 2), clips_per_fold=1, seconds=0.5)
    items = discover(root, "foa")
    assert dataset_layout(root) == "plain"
    assert [(it.audio.relative_to(root.resolve()).as_posix(), it.fold) for it in items] == sorted(
        assigned.items()
    )
    assert all(it.labels == label_path(root, it.audio) == it.audio.with_suffix(".csv") for it in items)
    assert (
        label_path(tmp_path, tmp_path / "foa_dev" / "fold1_a.wav")
        == tmp_path / "metadata_dev" / "fold1_a.csv"
    )
    starss = tmp_path / "mic_eval" / "dev-test-tau" / "mix001.flac"
    assert label_path(tmp_path, starss) == tmp_path / "metadata_eval" / "dev-test-tau" / "mix001.csv"


def test_fold_of():
    assert fold_of("fold12_room3_mix001") == 12
    assert fold_of("mix001") is None
    assert fold_of("fold_x") is None


def test_select_folds(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", folds=(1, 2, 3, 5), clips_per_fold=1, seconds=0.5)
    items = discover(root, "foa")
    assert [it.fold for it in select_folds(items, [3, 1])] == [1, 3]  # dataset order
    assert select_folds(items, []) == []
    with pytest.raises(SeldError) as err:
        select_folds(items, [2, 4, 6])
    assert err.value.problem == "folds 4, 6 have no recordings; the dataset has folds 1, 2, 3, 5"
    assert err.value.path == str(root.resolve() / "foa_dev")
    with pytest.raises(SeldError, match="fold 7 has no recordings; the dataset has folds none"):
        select_folds([], [7])


def test_discover_real_starss22_layout(real_data):
    items = discover(real_data / "dcase_seld" / "starss22", "mic")
    assert [(it.name, it.fold) for it in items] == [("fold3_room21_mix001", 3)]
    assert items[0].labels is not None and items[0].labels.parent.name == "dev-train-sony"
    assert len(read_labels(items[0].labels, classes="starss23")) > 0


# --------------------------------------------------------------------------- the tiny dataset fixture


def _event_samples(event, margin=0.05):
    a = int((event.start / 10 + margin) * 24000)
    b = int((event.stop / 10 - margin) * 24000)
    return a, b


def test_fixture_labels_match_scenes(tmp_path):
    root = make_tiny_dataset(tmp_path, folds=(1,), clips_per_fold=2, seconds=3.0, n_classes=5, seed=3)
    make_tiny_dataset(tmp_path, fmt="mic", folds=(1,), clips_per_fold=2, seconds=3.0, n_classes=5, seed=3)
    items = discover(root, "foa")
    assert len(items) == 2 and len(discover(root, "mic")) == 2
    for clip, item in enumerate(items, start=1):
        events = tiny_scene(3, 1, clip, 30, 5)
        assert events, "every clip has at least one event"
        table = read_labels(item.labels, classes="dcase2020")
        expected = {(f, e.cls, e.azimuth, e.elevation) for e in events for f in range(e.start, e.stop)}
        assert {(r.frame, r.cls, r.azimuth, r.elevation) for r in table} == expected
        assert all(0 <= r.cls < 5 and r.track == 0 for r in table)
        rec = load_recording(item.audio)
        assert rec.samples.shape == (4, 72000) and rec.sample_rate == 24000


def test_fixture_foa_audio_agrees_with_labels(tmp_path):
    """Each event's intensity vector points to its labelled direction; its tone is its class's."""
    root = make_tiny_dataset(tmp_path, folds=(2,), clips_per_fold=1, seconds=3.0, seed=1)
    item = discover(root, "foa")[0]
    w, y, z, x = load_recording(item.audio).samples.astype(np.float64)
    events = tiny_scene(1, 2, 1, 30, 14)
    for event in events:
        a, b = _event_samples(event)
        intensity = np.array([np.mean(w[a:b] * x[a:b]), np.mean(w[a:b] * y[a:b]), np.mean(w[a:b] * z[a:b])])
        az = np.degrees(np.arctan2(intensity[1], intensity[0]))
        el = np.degrees(np.arctan2(intensity[2], np.hypot(intensity[0], intensity[1])))
        assert abs((az - event.azimuth + 180) % 360 - 180) < 1.0
        assert abs(el - event.elevation) < 1.0
        spectrum = np.abs(np.fft.rfft(w[a:b] * np.hanning(b - a)))
        peak_hz = np.argmax(spectrum) * 24000 / (b - a)
        assert abs(peak_hz - class_frequency(event.cls)) < 24000 / (b - a) * 1.5
        assert np.sqrt(np.mean(w[a:b] ** 2)) == pytest.approx(TONE_AMPLITUDE / np.sqrt(2), rel=0.02)
    gap = w[: events[0].start * 2400] if events[0].start else w[events[0].stop * 2400 + 2400 :][:1200]
    assert np.sqrt(np.mean(gap**2)) == pytest.approx(NOISE_RMS, rel=0.2)


def test_fixture_mic_delays_agree_with_labels(tmp_path):
    """Phase differences between capsules at the tone frequency match the plane-wave delays."""
    root = make_tiny_dataset(tmp_path, fmt="mic", folds=(1,), clips_per_fold=1, seconds=3.0, seed=2)
    samples = load_recording(discover(root, "mic")[0].audio).samples.astype(np.float64)
    positions = mic_capsule_positions()
    for event in tiny_scene(2, 1, 1, 30, 14):
        a, b = _event_samples(event)
        f = class_frequency(event.cls)
        probe = np.exp(-2j * np.pi * f * np.arange(a, b) / 24000)
        phases = samples[:, a:b] @ probe
        az, el = np.radians(event.azimuth), np.radians(event.elevation)
        u = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        advance = positions @ u / SPEED_OF_SOUND
        measured = np.angle(phases[1:] / phases[0])
        expected = 2 * np.pi * f * (advance[1:] - advance[0])
        np.testing.assert_allclose(np.angle(np.exp(1j * (measured - expected))), 0, atol=0.02)
