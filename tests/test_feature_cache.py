"""The on-disk feature cache, the training-fold scaler and label targets (core.data.feature_cache)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

import core.data.feature_cache as fc
from core.common.errors import AudioError, SeldError
from core.common.progress import Cancelled
from core.data.dataset import DatasetItem, discover, select_folds
from core.data.feature_cache import FeatureCache, file_hash, fit_scaler, load_targets, n_label_frames
from core.dsp.features import FeatureScaler, extract_features
from core.io.audio import load_recording
from tests.fixtures_data import make_tiny_dataset, tiny_scene


@pytest.fixture
def tiny(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", folds=(1, 2, 3), clips_per_fold=2, seconds=2.0)
    return discover(root, "foa")


@pytest.fixture
def count_extract(monkeypatch):
    """Count the feature computations the cache makes."""
    calls: list[int] = []

    def counting(samples, fmt, **kwargs):
        calls.append(samples.shape[1])
        return extract_features(samples, fmt, **kwargs)

    monkeypatch.setattr(fc, "extract_features", counting)
    return calls


def _entry_files(cache_dir):
    return sorted(p.name for p in (cache_dir / "features").iterdir())


def test_features_equal_direct_extraction_and_are_memory_mapped(tmp_path, tiny):
    cache = FeatureCache(tmp_path / "cache")
    feats = cache.features(tiny[0], "foa")
    assert isinstance(feats, np.memmap) and feats.mode == "r"
    assert feats.dtype == np.float32 and feats.shape == (7, 100, 64)
    expected = extract_features(load_recording(tiny[0].audio).samples, "foa")
    np.testing.assert_array_equal(feats, expected)
    # a plain path works too and gives the same entry
    assert cache.path(str(tiny[0].audio), "foa") == cache.path(tiny[0], "foa")
    mic = cache.features(tiny[0].audio, "mic")  # a format is part of the key
    assert mic.shape == (10, 100, 64)
    names = _entry_files(tmp_path / "cache")
    assert len(names) == 4 and {n.split("-")[0] for n in names} == {"foa", "mic"}
    record = json.loads(cache.path(tiny[0], "foa").with_suffix(".json").read_text())
    assert record["shape"] == [7, 100, 64] and record["audio_hash"] == file_hash(tiny[0].audio)


def test_cache_hit_does_not_recompute(tmp_path, tiny, count_extract):
    cache_dir = tmp_path / "cache"
    progress: list[tuple[int, int, str]] = []
    paths = FeatureCache(cache_dir).ensure(tiny, "foa", progress=lambda *a: progress.append(a))
    assert len(count_extract) == len(tiny) == 6
    assert progress == [(k, 6, it.name) for k, it in enumerate(tiny, start=1)]
    assert FeatureCache(cache_dir).ensure(tiny, "foa") == paths  # a new instance: on-disk hit
    cache = FeatureCache(cache_dir)
    for item in tiny:
        cache.features(item, "foa")
    assert len(count_extract) == 6
    assert not [n for n in os.listdir(cache_dir / "features") if n.endswith(".tmp")]


def test_key_follows_file_content_and_settings(tmp_path, tiny, count_extract, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    item = tiny[0]
    key = cache.key(item, "foa")
    before = np.array(cache.features(item, "foa"))
    # same bytes at another path: same key
    copy = tmp_path / "elsewhere" / "copy.wav"
    copy.parent.mkdir()
    copy.write_bytes(item.audio.read_bytes())
    assert cache.key(copy, "foa") == key
    # new bytes (another recording, same size): new key and new features
    other = tiny[1].audio.read_bytes()
    assert len(other) == item.audio.stat().st_size
    item.audio.write_bytes(other)
    assert cache.key(item, "foa") != key
    after = cache.features(item, "foa")
    assert len(count_extract) == 2
    assert not np.array_equal(after, before)
    assert cache.key(item, "mic") != cache.key(item, "foa")
    # another feature definition: new key
    settings = dict(fc.FeatureSettings().to_dict(), hop=240)
    monkeypatch.setattr(fc.FeatureSettings, "to_dict", lambda self: settings)
    assert FeatureCache(tmp_path / "cache").key(item, "foa") != cache.key(item, "foa")


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "append", "drop_record", "bad_record"])
def test_damaged_entry_is_recomputed(tmp_path, tiny, count_extract, damage):
    cache_dir = tmp_path / "cache"
    item = tiny[2]
    npy = FeatureCache(cache_dir).path(item, "foa")
    good = np.load(npy)
    record = npy.with_suffix(".json")
    raw = npy.read_bytes()
    if damage == "truncate":
        npy.write_bytes(raw[: len(raw) - 1000])
    elif damage == "flip_byte":
        npy.write_bytes(raw[:-5000] + bytes([raw[-5000] ^ 0x40]) + raw[-4999:])
    elif damage == "append":
        npy.write_bytes(raw + b"\0" * 64)
    elif damage == "drop_record":
        record.unlink()
    else:
        record.write_text("{not json")
    feats = FeatureCache(cache_dir).features(item, "foa")
    assert len(count_extract) == 2
    np.testing.assert_array_equal(feats, good)
    assert npy.read_bytes() == raw and json.loads(record.read_text())["shape"] == [7, 100, 64]


def test_damage_is_noticed_by_a_live_instance(tmp_path, tiny, count_extract):
    cache = FeatureCache(tmp_path / "cache")
    npy = cache.path(tiny[0], "foa")
    raw = npy.read_bytes()
    npy.write_bytes(raw[:-5000] + bytes([raw[-5000] ^ 0x01]) + raw[-4999:])
    os.utime(npy, ns=(0, 0))  # a different mtime makes the instance verify again
    cache.features(tiny[0], "foa")
    assert len(count_extract) == 2 and npy.read_bytes() == raw


def test_remembered_audio_hashes(tmp_path, tiny, monkeypatch):
    hashed: list[str] = []

    def counting(path):
        hashed.append(os.path.basename(path))
        return file_hash(path)

    monkeypatch.setattr(fc, "file_hash", counting)
    FeatureCache(tmp_path / "cache").ensure(tiny, "foa")
    assert len(hashed) == 6
    # fresh files (changed within RACY_S of hashing) are hashed again by a new instance ...
    FeatureCache(tmp_path / "cache").ensure(tiny, "foa")
    assert len(hashed) == 12
    # ... while old ones are trusted
    monkeypatch.setattr(fc, "RACY_S", 0.0)
    FeatureCache(tmp_path / "cache").ensure(tiny, "foa")
    FeatureCache(tmp_path / "cache").ensure(tiny, "foa")
    assert len(hashed) == 12
    # a changed file status means hashing again
    os.utime(tiny[0].audio, ns=(1, 1))
    FeatureCache(tmp_path / "cache").ensure(tiny, "foa")
    assert hashed[12:] == [tiny[0].audio.name]


def test_ensure_cancel_keeps_finished_entries(tmp_path, tiny, count_extract):
    cache = FeatureCache(tmp_path / "cache")
    done: list[int] = []
    with pytest.raises(Cancelled):
        cache.ensure(tiny, "foa", progress=lambda d, t, n: done.append(d), cancel=lambda: len(done) >= 2)
    assert done == [1, 2] and len(count_extract) == 2
    cache.ensure(tiny, "foa")
    assert len(count_extract) == 6


def test_broken_audio_is_reported(tmp_path, tiny):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(tiny[0].audio.read_bytes()[:100])
    with pytest.raises(AudioError, match="broken.wav"):
        FeatureCache(tmp_path / "cache").features(broken, "foa")
    with pytest.raises(SeldError, match="file not found"):
        FeatureCache(tmp_path / "cache").features(tmp_path / "missing.wav", "foa")


def test_scaler_fitted_on_training_folds_only(tmp_path, tiny):
    cache = FeatureCache(tmp_path / "cache")
    train = select_folds(tiny, [2, 3])
    scaler = fit_scaler(cache, train, "foa")
    stacked = np.concatenate([np.asarray(cache.features(it, "foa"), np.float64) for it in train], axis=1)
    assert scaler.count == 400
    np.testing.assert_allclose(scaler.mean, stacked.mean(axis=1), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(scaler.var, stacked.var(axis=1), rtol=1e-9, atol=1e-9)
    everything = fit_scaler(cache, tiny, "foa")
    assert everything.count == 600
    assert np.abs(everything.mean - scaler.mean).max() > 0.1
    with pytest.raises(SeldError, match="no training recordings"):
        fit_scaler(cache, [], "foa")
    assert isinstance(scaler, FeatureScaler)


def test_load_targets(tiny):
    item = tiny[3]  # fold2 clip 2
    assert n_label_frames(100) == 20 and n_label_frames(101) == 21 and n_label_frames(3000) == 600
    sed, doa = load_targets(item, 20, "dcase2020")
    assert sed.shape == (20, 14) and doa.shape == (20, 42) and sed.dtype == np.float32
    expected = np.zeros((20, 14), np.float32)
    for e in tiny_scene(0, 2, 2, 20, 14):
        expected[e.start : e.stop, e.cls] = 1
        az, el = np.radians(e.azimuth), np.radians(e.elevation)
        np.testing.assert_allclose(
            doa[e.start, e.cls + 14 * np.arange(3)],
            [np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)],
            atol=1e-6,
        )
    np.testing.assert_array_equal(sed, expected)
    assert load_targets(item, 8, "dcase2020")[0].shape == (8, 14)
    unlabelled = DatasetItem("mix001", 0, item.audio, None, "foa")
    with pytest.raises(SeldError, match="has no label file"):
        load_targets(unlabelled, 20, "dcase2020")


def test_written_wav_is_16_bit(tiny):
    info = sf.info(tiny[0].audio)
    assert (info.samplerate, info.channels, info.subtype) == (24000, 4, "PCM_16")
