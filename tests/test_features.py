"""DCASE 2020 features: against a per-channel librosa reference and against physics."""

from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import SeldError
from core.dsp.features import (
    FeatureScaler,
    FeatureSettings,
    extract_features,
    mel_filterbank,
    n_frames,
    stft,
)
from tests.librosa_reference import reference_features

RNG = np.random.default_rng(1234)


def _noise(n: int, scale: float = 0.1) -> np.ndarray:
    return (RNG.standard_normal((4, n)) * scale).astype(np.float32)


def test_mel_filterbank_is_librosas_slaney_bank():
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank()
    ref = librosa.filters.mel(sr=24000, n_fft=1024, n_mels=64).T
    assert ours.shape == (513, 64)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-8)
    # area normalisation: each triangle is scaled by 2 / (f_{i+2} - f_i), so its area in Hz is 1
    df = 24000 / 1024
    np.testing.assert_allclose(ours[:, 10:].sum(axis=0) * df, 1.0, rtol=0.03)


@pytest.mark.parametrize("n", [480, 481, 1000, 24000, 24001, 72_000 - 1])
def test_frame_count_is_ceil_n_over_hop(n):
    assert n_frames(n) == -(-n // 480)
    assert extract_features(_noise(n), "foa").shape == (7, -(-n // 480), 64)
    assert extract_features(_noise(n), "mic").shape == (10, -(-n // 480), 64)


@pytest.mark.parametrize("fmt", ["foa", "mic"])
def test_features_match_librosa_reference_on_noise(fmt):
    x = _noise(3 * 24000 + 123)
    ours = extract_features(x, fmt)
    ref = reference_features(x, fmt)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    # float32 rounding of the mel power (~1e-7 relative, 4e-7 dB) and of float32 outputs; the
    # official extractor agrees with this reference to the same margins (docs/FEATURES.md)
    assert np.abs(ours[:4] - ref[:4]).max() < 1e-4  # dB
    assert np.abs(ours[4:] - ref[4:]).max() < 1e-6


@pytest.mark.parametrize("fmt", ["foa", "mic"])
def test_features_match_librosa_reference_on_real_recording(real_data, fmt):
    import soundfile as sf

    path = real_data / "dcase_seld" / "tau2020_nigens" / f"{fmt}_dev" / "fold1_room1_mix001_ov1.wav"
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == 24000
    ours = extract_features(x.T, fmt)
    ref = reference_features(x.T, fmt)
    assert ours.shape == (7 if fmt == "foa" else 10, 50, 64)
    assert np.abs(ours[:4] - ref[:4]).max() < 1e-4
    assert np.abs(ours[4:] - ref[4:]).max() < 1e-6


def test_features_match_reference_with_large_dynamic_range():
    # a loud low tone and a very quiet broadband floor: float32 STFTs would lose the floor's
    # intensity directions; the float64 path must not.
    t = np.arange(2 * 24000) / 24000
    tone = 0.8 * np.sin(2 * np.pi * 220 * t)
    floor = RNG.standard_normal((4, t.size)) * 1e-5
    x = floor + np.stack([tone, 0.5 * tone, 0.1 * tone, 0.7 * tone])
    ours = extract_features(x, "foa")
    ref = reference_features(x, "foa")
    assert np.abs(ours[:4] - ref[:4]).max() < 1e-4
    assert np.abs(ours[4:] - ref[4:]).max() < 1e-6


@pytest.mark.parametrize("fmt", ["foa", "mic"])
def test_the_official_dc_offset_is_part_of_the_definition(fmt):
    # The official extractor reads int16 audio as x / 32768 + 1e-8. On a quiet recording (white
    # noise of 30 LSB rms: ~-61 dBFS) that offset moves mel band 0 by ~1e-3 dB, ten times our
    # tolerance: the features must equal the reference WITH the offset, and differ from the one
    # without it.
    x = np.round(RNG.standard_normal((4, 3 * 24000)) * 30) / 32768
    x = x.astype(np.float32)  # int16 values, as a 16-bit file reads
    ours = extract_features(x, fmt)
    with_offset = reference_features(x, fmt)
    without = reference_features(x, fmt, dc_offset=0.0)
    assert np.abs(ours[:4] - with_offset[:4]).max() < 1e-4  # dB, as above
    assert np.abs(ours[4:] - with_offset[4:]).max() < 1e-6
    assert np.abs(ours[:4, :, 0] - without[:4, :, 0]).max() > 5e-4  # the offset's own effect


def test_stft_magnitude_matches_librosa():
    librosa = pytest.importorskip("librosa")
    x = _noise(10_000)
    ours = stft(x)
    ref = librosa.stft(
        x[1].astype(np.float64), n_fft=1024, hop_length=480, win_length=960, pad_mode="reflect"
    )
    ref = ref[:, : n_frames(x.shape[1])].T
    np.testing.assert_allclose(np.abs(ours[1]), np.abs(ref), atol=1e-9)


def test_foa_intensity_points_at_a_plane_wave():
    # AmbiX/SN3D plane wave from azimuth 90 deg (left), elevation 0: W = s, Y = s, Z = 0, X = 0
    s = RNG.standard_normal(24000)
    azi, ele = np.deg2rad(90.0), 0.0
    x = np.stack([s, s * np.cos(ele) * np.sin(azi), s * np.sin(ele), s * np.cos(ele) * np.cos(azi)])
    f = extract_features(x, "foa")
    band_weight = mel_filterbank().sum(axis=0)  # a unit vector in every bin projects to this
    np.testing.assert_allclose(f[5, 5:-5], np.broadcast_to(band_weight, f[5, 5:-5].shape), rtol=1e-5)
    assert np.abs(f[4]).max() < 1e-5 and np.abs(f[6]).max() < 1e-5
    # elevation 30 deg, azimuth -45 deg: the three components follow the direction cosines
    azi, ele = np.deg2rad(-45.0), np.deg2rad(30.0)
    x = np.stack([s, s * np.cos(ele) * np.sin(azi), s * np.sin(ele), s * np.cos(ele) * np.cos(azi)])
    f = extract_features(x, "foa")
    ratio = f[4:, 5:-5].mean(axis=(1, 2)) / band_weight.mean()
    np.testing.assert_allclose(
        ratio, [np.cos(ele) * np.cos(azi), np.cos(ele) * np.sin(azi), np.sin(ele)], atol=1e-5
    )


def test_gcc_peak_is_at_the_delay_positive_when_second_channel_is_later():
    s = RNG.standard_normal(24000 + 20)
    delays = [0, 5, -7, 3]  # samples of delay of each capsule
    x = np.stack([s[10 - d : 10 - d + 24000] for d in delays])
    f = extract_features(x, "mic")
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    for k, (m, n) in enumerate(pairs):
        peak_index = int(np.bincount(f[4 + k, 3:-3].argmax(axis=1)).argmax())
        assert peak_index - 32 == delays[n] - delays[m], (m, n)


def test_logmel_floor_is_80db_below_the_channel_maximum():
    x = _noise(24000)
    x[:, 12000:] = 0.0  # digital silence in the second half
    f = extract_features(x, "foa")
    for ch in range(4):
        assert f[ch].min() == pytest.approx(f[ch].max() - 80.0, abs=1e-4)


def test_features_reject_bad_input():
    with pytest.raises(SeldError, match="4"):
        extract_features(_noise(1000)[:2], "foa")
    with pytest.raises(SeldError, match="format"):
        extract_features(_noise(1000), "stereo")
    bad = _noise(1000)
    bad[0, 10] = np.nan
    with pytest.raises(SeldError, match="NaN"):
        extract_features(bad, "mic")
    with pytest.raises(SeldError, match="empty"):
        extract_features(np.zeros((4, 0), np.float32), "foa")
    loud = _noise(1000) * 1e18  # finite, but the float32 intensity products would overflow to NaN
    with pytest.raises(SeldError, match=r"magnitude \d\.?\d*e\+1[78], beyond the 1e\+06"):
        extract_features(loud, "foa")
    assert np.isfinite(extract_features(_noise(24000) * 1e5, "foa")).all()  # loud but safe


def test_progress_is_reported_up_to_one():
    seen: list[float] = []
    extract_features(_noise(24000 * 5), "foa", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 1


def test_scaler_partial_fit_equals_full_fit_and_standardises():
    feats = [extract_features(_noise(n), "foa") for n in (5000, 12000, 30000)]
    scaler = FeatureScaler()
    for f in feats:
        scaler.partial_fit(f)
    whole = np.concatenate(feats, axis=1).astype(np.float64)
    np.testing.assert_allclose(scaler.mean, whole.mean(axis=1), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(scaler.std, whole.std(axis=1), rtol=1e-8)
    z = scaler.transform(np.concatenate(feats, axis=1))
    np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=1), 1.0, atol=1e-4)
    again = FeatureScaler.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(again.transform(feats[0]), scaler.transform(feats[0]))
    with pytest.raises(SeldError, match="do not fit"):
        scaler.transform(extract_features(_noise(5000), "mic"))


def test_feature_settings_round_trip_and_refuse_other_definitions():
    s = FeatureSettings()
    assert FeatureSettings.from_dict(s.to_dict()) == s
    with pytest.raises(SeldError, match="unsupported"):
        FeatureSettings.from_dict({**s.to_dict(), "hop": 240})
