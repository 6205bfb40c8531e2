"""Training segments, the deterministic sampler, SpecAugment and evaluation clips (core.data.training_data)."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest
import torch

from core.common.errors import SeldError
from core.data.dataset import discover, select_folds
from core.data.feature_cache import FeatureCache, fit_scaler, load_targets
from core.data.training_data import (
    BatchSpecSampler,
    SegmentSampler,
    SegmentSpec,
    SpecAugment,
    TrainSegments,
    batches_for_one_pass,
    make_loader,
    merge_segments,
    segment_batches,
)
from core.spatial.rotations import Rotation
from core.training.config import DataConfig
from tests.fixtures_data import make_tiny_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Six 3 s FOA clips (150 feature frames, 30 label frames) in folds 1-3, cached."""
    tmp = tmp_path_factory.mktemp("training_data")
    items = discover(make_tiny_dataset(tmp / "ds", seconds=3.0), "foa")
    cache = FeatureCache(tmp / "cache")
    cache.ensure(items, "foa")
    return cache, items


# --------------------------------------------------------------------------- sampler


def _flat(batches):
    return [spec for batch in batches for spec in batch]


def test_sampler_is_a_function_of_seed_and_epoch():
    lengths = [3000, 3000, 1500, 400]
    make = lambda **kw: SegmentSampler(lengths, 600, 8, 5, seed=kw.pop("seed", 7), **kw)  # noqa: E731
    a = make().epoch_batches(3)
    assert len(a) == 5 and all(len(b) == 8 for b in a)
    assert make().epoch_batches(3) == a
    fresh = make()
    fresh.epoch_batches(0)  # earlier epochs having run changes nothing
    assert fresh.epoch_batches(3) == a
    assert make().epoch_batches(4) != a
    assert make(seed=8).epoch_batches(3) != a
    assert make().epoch_batches(3, start_batch=2) == a[2:]
    assert make().epoch_batches(3, start_batch=5) == []
    # batches do not depend on how many batches an epoch has
    longer = SegmentSampler(lengths, 600, 8, 9, seed=7).epoch_batches(3)
    assert longer[:5] == a
    specs = _flat(a)
    assert len({s.aug_seed for s in specs}) == len(specs)
    for s in specs:
        assert s.start % 5 == 0 and 0 <= s.start <= max(0, lengths[s.item] - 600)
        assert s.item in range(4)
    assert all(s.start == 0 for s in specs if s.item == 3)  # shorter than a segment


def test_sampler_draws_recordings_by_length_and_starts_uniformly():
    sampler = SegmentSampler([1000, 3000], 500, 64, 100, seed=0)
    specs = _flat(sampler.epoch_batches(0))
    counts = Counter(s.item for s in specs)
    assert counts[1] / len(specs) == pytest.approx(0.75, abs=0.02)
    starts = Counter(s.start for s in specs if s.item == 0)  # 101 admissible starts 0, 5, .., 500
    assert set(starts) <= set(range(0, 501, 5)) and min(starts) == 0 and max(starts) == 500
    assert len(starts) > 90


def test_ddp_shares_are_disjoint_and_cover_the_global_batch():
    lengths = [3000] * 10
    single = SegmentSampler(lengths, 600, 12, 4, seed=3)
    ranks = [SegmentSampler(lengths, 600, 12, 4, seed=3, rank=r, world_size=4) for r in range(4)]
    for epoch in (0, 5):
        full = single.epoch_batches(epoch)
        shares = [r.epoch_batches(epoch) for r in ranks]
        for k in range(4):
            parts = [shares[r][k] for r in range(4)]
            assert all(len(p) == 3 for p in parts)
            assert [s for p in parts for s in p] == full[k]
            seeds = [s.aug_seed for p in parts for s in p]
            assert len(set(seeds)) == 12
    assert ranks[2].local_batch_size == 3
    with pytest.raises(SeldError, match="batch size 10 must be a positive multiple of the 4 processes"):
        SegmentSampler(lengths, 600, 10, 4, seed=0, rank=0, world_size=4)
    with pytest.raises(SeldError, match="rank 4 is not in 0 .. world_size - 1 = 3"):
        SegmentSampler(lengths, 600, 12, 4, seed=0, rank=4, world_size=4)
    with pytest.raises(SeldError, match="segment_frames must be a positive multiple of 5"):
        SegmentSampler(lengths, 602, 12, 4, seed=0)
    with pytest.raises(SeldError, match="seed must be a non-negative integer, not -1"):
        SegmentSampler(lengths, 600, 12, 4, seed=-1)
    with pytest.raises(SeldError, match="no training recordings"):
        SegmentSampler([], 600, 12, 4, seed=0)


def test_batch_spec_sampler_and_one_pass():
    sampler = SegmentSampler([3000, 2000], 600, 4, 6, seed=1)
    bs = BatchSpecSampler(sampler)
    assert list(bs) == sampler.epoch_batches(0) and len(bs) == 6
    bs.set_epoch(2, start_batch=4)
    assert list(bs) == sampler.epoch_batches(2, 4) and len(bs) == 2
    assert batches_for_one_pass([3000] * 400, 600, 64) == 32  # DCASE 2020 folds 3-6
    assert batches_for_one_pass([150], 600, 64) == 1


# --------------------------------------------------------------------------- segments


def test_train_segments_shapes_normalisation_and_targets(data):
    cache, items = data
    item = items[0]
    scaler = fit_scaler(cache, [item], "foa")
    ds = TrainSegments.from_items(cache, [item], "foa", scaler, "dcase2020", 150)
    assert ds.lengths == [150] and len(ds) == 1
    x, sed, doa = ds[SegmentSpec(0, 0, 123)]
    assert x.dtype == sed.dtype == doa.dtype == torch.float32
    assert x.shape == (7, 150, 64) and sed.shape == (30, 14) and doa.shape == (30, 42)
    # the whole clip, normalised by a scaler fitted on it alone: zero mean, unit variance
    np.testing.assert_allclose(x.mean(dim=1).numpy(), 0, atol=2e-5)
    std = x.std(dim=1, unbiased=False).numpy()
    assert np.all((np.abs(std - 1) < 1e-4) | (std < 1e-6))
    feats = cache.features(item, "foa")
    np.testing.assert_array_equal(x.numpy(), scaler.transform(feats))
    sed_ref, doa_ref = load_targets(item, 30, "dcase2020")
    np.testing.assert_array_equal(sed.numpy(), sed_ref)
    np.testing.assert_array_equal(doa.numpy(), doa_ref)
    assert sed.sum() > 0

    # a later segment, and one running past the end of the clip (zero-padded)
    ds100 = TrainSegments.from_items(cache, [item], "foa", scaler, "dcase2020", 100)
    x, sed, doa = ds100[SegmentSpec(0, 50, 0)]
    np.testing.assert_array_equal(x.numpy(), scaler.transform(feats[:, 50:150]))
    np.testing.assert_array_equal(sed.numpy(), sed_ref[10:30])
    ds200 = TrainSegments.from_items(cache, [item], "foa", scaler, "dcase2020", 200)
    x, sed, doa = ds200[SegmentSpec(0, 0, 0)]
    assert x.shape == (7, 200, 64) and sed.shape == (40, 14)
    np.testing.assert_array_equal(x[:, :150].numpy(), scaler.transform(feats))
    assert not x[:, 150:].any() and not sed[30:].any() and not doa[30:].any()
    np.testing.assert_array_equal(sed[:30].numpy(), sed_ref)


def test_spec_augment_masks(data):
    cache, items = data
    scaler = fit_scaler(cache, items, "foa")
    augment = SpecAugment(time_masks=2, time_mask_width=30, freq_masks=2, freq_mask_width=8)
    plain = TrainSegments.from_items(cache, items, "foa", scaler, "dcase2020", 100)
    masked = TrainSegments.from_items(cache, items, "foa", scaler, "dcase2020", 100, augment)
    spec = SegmentSpec(2, 25, 2024)
    x0, sed0, doa0 = plain[spec]
    x1, sed1, doa1 = masked[spec]
    # the mask is exactly what SpecAugment draws from the spec's seed
    mask = np.ones((1, 100, 64), np.float32)
    augment.apply(mask, np.random.default_rng(2024))
    np.testing.assert_array_equal(x1.numpy(), x0.numpy() * mask)
    time_masked = np.flatnonzero(mask[0].max(axis=1) == 0)
    band_masked = np.flatnonzero(mask[0].max(axis=0) == 0)
    assert time_masked.size > 0 and band_masked.size > 0
    assert time_masked.size <= 60 and band_masked.size <= 16
    assert not x1[:, time_masked].any() and not x1[:, :, band_masked].any()
    assert torch.equal(sed1, sed0) and torch.equal(doa1, doa0)  # targets are not masked
    assert torch.equal(masked[spec][0], x1)  # same seed, same masks
    assert not torch.equal(masked[SegmentSpec(2, 25, 2025)][0], x1)
    config = DataConfig(time_masks=1, time_mask_width=5, freq_masks=3, freq_mask_width=2)
    assert SpecAugment.from_config(config) == SpecAugment(1, 5, 3, 2)
    assert SpecAugment.from_config(DataConfig(spec_augment=False)) is None


def test_loader_batches_match_the_dataset_and_leave_global_rng_alone(data):
    cache, items = data
    train = select_folds(items, [2, 3])
    scaler = fit_scaler(cache, train, "foa")
    ds = TrainSegments.from_items(cache, train, "foa", scaler, "dcase2020", 100, SpecAugment())
    sampler = SegmentSampler(ds.lengths, 100, 4, 3, seed=5)
    batch_sampler = BatchSpecSampler(sampler)
    assert len(pickle.dumps(ds)) < 50_000  # features stay on disk: workers map them lazily
    loaders = {w: make_loader(ds, batch_sampler, workers=w, pin_memory=True) for w in (0, 2)}
    assert loaders[2].persistent_workers and not loaders[0].persistent_workers
    for epoch in (1, 0):
        batch_sampler.set_epoch(epoch)
        expected = [[ds[s] for s in batch] for batch in sampler.epoch_batches(epoch)]
        for workers, loader in loaders.items():
            state = torch.get_rng_state()
            got = list(loader)
            assert torch.equal(torch.get_rng_state(), state), workers
            assert len(got) == 3
            for (x, sed, doa), ref in zip(got, expected, strict=True):
                assert x.shape == (4, 7, 100, 64) and sed.shape == (4, 20, 14) and doa.shape == (4, 20, 42)
                assert torch.equal(x, torch.stack([r[0] for r in ref]))
                assert torch.equal(doa, torch.stack([r[2] for r in ref]))
    batch_sampler.set_epoch(1, start_batch=2)  # resume mid-epoch
    ((x, _, _),) = list(loaders[2])
    assert torch.equal(x, torch.stack([ds[s][0] for s in sampler.batch(1, 2)]))


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize("t", [250, 200, 37])
def test_segment_batches_and_merge_segments_round_trip(t):
    rng = np.random.default_rng(t)
    feats = rng.standard_normal((7, t, 64)).astype(np.float32)
    segs = segment_batches(feats, 100)
    n = -(-t // 100)
    assert segs.shape == (n, 7, 100, 64) and segs.dtype == np.float32
    joined = segs.transpose(1, 0, 2, 3).reshape(7, n * 100, 64)
    np.testing.assert_array_equal(joined[:, :t], feats)
    assert not joined[:, t:].any()
    segs = torch.from_numpy(segs)

    # a "model" mapping every 5 frames to one output frame, applied per segment, then merged
    def model(x):  # (N, C, S, F) -> (N, S/5, 3)
        pooled = x.reshape(x.shape[0], x.shape[1], -1, 5, x.shape[3]).mean(dim=(1, 3))
        return torch.stack([pooled.mean(-1), pooled.amax(-1), pooled[..., 0]], dim=-1)

    labels = -(-t // 5)
    merged = merge_segments(model(segs), labels)
    assert isinstance(merged, torch.Tensor) and merged.shape == (labels, 3)
    direct = model(torch.nn.functional.pad(torch.from_numpy(feats), (0, 0, 0, n * 100 - t))[None])[0]
    torch.testing.assert_close(merged, direct[:labels], rtol=0, atol=1e-6)
    as_numpy = merge_segments(model(segs).numpy(), labels)
    assert isinstance(as_numpy, np.ndarray) and as_numpy.shape == (labels, 3)
    with pytest.raises(ValueError, match="do not fit"):
        merge_segments(model(segs), n * 20 + 1)


# --------------------------------------------------------------------------- FOA rotation


def test_rotated_segments_move_features_and_doa_targets_together(data):
    cache, items = data
    scaler = fit_scaler(cache, items, "foa")
    plain = TrainSegments.from_items(cache, items, "foa", scaler, "dcase2020", 100)
    rotated = TrainSegments.from_items(cache, items, "foa", scaler, "dcase2020", 100, rotate=True)
    feats = np.load(cache.ensure([items[2]], "foa")[0])
    seen = set()
    for seed in range(40):
        spec = SegmentSpec(2, 25, seed)
        rot = Rotation.draw(np.random.default_rng([seed, 1]))
        seen.add(rot)
        x0, sed0, doa0 = plain[spec]
        x1, sed1, doa1 = rotated[spec]
        np.testing.assert_allclose(
            x1.numpy(), scaler.transform(rot.apply_to_features(feats[:, 25:125])), atol=1e-6
        )
        assert torch.equal(sed1, sed0)
        active = sed0.numpy() > 0
        k = sed0.shape[1]
        d0 = doa0.numpy().reshape(-1, 3, k).transpose(0, 2, 1)[active]  # (n, 3) unit vectors
        d1 = doa1.numpy().reshape(-1, 3, k).transpose(0, 2, 1)[active]
        assert len(d0) > 0
        np.testing.assert_allclose(d1, rot.apply_to_xyz(d0), atol=1e-6)
        assert torch.equal(rotated[spec][0], x1)  # same seed, same rotation
    assert len(seen) >= 12
    # SpecAugment masks do not depend on whether rotation is on
    masked = TrainSegments.from_items(cache, items, "foa", scaler, "dcase2020", 100, SpecAugment())
    both = TrainSegments.from_items(cache, items, "foa", scaler, "dcase2020", 100, SpecAugment(), rotate=True)
    spec = SegmentSpec(1, 0, 77)
    assert torch.equal(masked[spec][0] == 0, both[spec][0] == 0)
    # MIC segments draw from the 8 maps that keep the tetrahedron
    cache.ensure(items, "mic")
    mic_scaler = fit_scaler(cache, items, "mic")
    mic = TrainSegments.from_items(cache, items, "mic", mic_scaler, "dcase2020", 100, rotate=True)
    mic_feats = np.load(cache.ensure([items[2]], "mic")[0])
    mic_plain = TrainSegments.from_items(cache, items, "mic", mic_scaler, "dcase2020", 100)
    for seed in range(6):
        rot = Rotation.draw(np.random.default_rng([seed, 1]), "mic")
        assert rot.keeps_the_tetrahedron
        x, _, doa = mic[SegmentSpec(2, 25, seed)]
        np.testing.assert_allclose(
            x.numpy(), mic_scaler.transform(rot.apply_to_features(mic_feats[:, 25:125])), atol=1e-6
        )
        _, _, doa0 = mic_plain[SegmentSpec(2, 25, seed)]
        np.testing.assert_allclose(doa.numpy(), rot.apply_to_doa(doa0.numpy()), atol=1e-7)
