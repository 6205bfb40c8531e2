"""Sound-field rotations (core.spatial.rotations): exact on FOA and MIC features, and test-time rotation in inference."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from core.cli import main
from core.common.errors import ModelError, SeldError
from core.inference.predict import predict
from core.io.audio import Recording
from core.packages.package_file import read_package_meta
from core.packages.runtime import load_package
from core.spatial.rotations import ROTATION_SETS, Rotation, rotation_set
from tests.test_inference import write_scene
from tests.test_package import _rewrite_meta, tiny_package


def _rotate_audio(audio: np.ndarray, rot: Rotation) -> np.ndarray:
    """The same rotation done on the AmbiX signals (W, Y, Z, X): the reference for the features."""
    xyz = audio[[3, 1, 2]]  # X, Y, Z
    new = np.stack([rot.signs[i] * xyz[rot.source_axes[i]] for i in range(3)])
    return np.stack([audio[0], new[1], new[2], new[0]])


def _unit(az_deg: float, el_deg: float) -> np.ndarray:
    az, el = np.radians(az_deg), np.radians(el_deg)
    return np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def test_foa_rotations_are_the_16_azimuth_elevation_maps():
    rotations = Rotation.all()
    assert len(set(rotations)) == 16 and rotations[0] == Rotation()
    az, el = 30.0, 20.0
    got = {tuple(np.round(rot.apply_to_xyz(_unit(az, el)), 9)) for rot in rotations}
    expected = {
        tuple(np.round(_unit(sign_az * az + k * 90.0, sign_el * el), 9))
        for sign_az in (1, -1)
        for k in range(4)
        for sign_el in (1, -1)
    }
    assert got == expected
    # one named case: swap x/y, then negate the new x: azimuth + 90 degrees
    np.testing.assert_allclose(
        Rotation(True, (-1, 1, 1)).apply_to_xyz(_unit(az, el)), _unit(120.0, 20.0), atol=1e-12
    )
    draws = Counter(Rotation.draw(np.random.default_rng([s, 1])) for s in range(800))
    assert set(draws) == set(rotations) and min(draws.values()) > 25


def test_foa_rotation_of_the_features_is_the_features_of_the_rotated_scene():
    from core.dsp.features import extract_features
    from core.spatial.ambisonics import foa_plane_wave_gains

    rng = np.random.default_rng(3)
    n = 24000
    audio = np.zeros((4, n))
    for az, el in ((40.0, 10.0), (-100.0, -30.0)):  # two sources with different spectra
        s = np.convolve(rng.standard_normal(n), rng.standard_normal(8), mode="same")
        audio += foa_plane_wave_gains(az, el)[:, None] * s
    audio += 0.05 * rng.standard_normal((4, n))  # and some uncorrelated noise
    feats = extract_features(audio, "foa")
    for rot in (
        Rotation(True, (-1, 1, 1)),
        Rotation(False, (1, -1, -1)),
        Rotation(True, (-1, -1, 1)),
    ):
        reference = extract_features(_rotate_audio(audio, rot), "foa")
        np.testing.assert_allclose(rot.apply_to_features(feats), reference, atol=2e-5)
    assert not np.allclose(Rotation(True, (-1, 1, 1)).apply_to_features(feats), feats, atol=1e-2)
    with pytest.raises(SeldError, match=r"FOA \(7\) or MIC \(10\) feature channels, not 4"):
        Rotation().apply_to_features(np.zeros((4, 5, 64), np.float32))


def test_every_map_has_an_inverse_and_the_sets_are_groups():
    v = np.random.default_rng(0).standard_normal((5, 3))
    for rot in Rotation.all():
        np.testing.assert_array_equal(rot.inverse().apply_to_xyz(rot.apply_to_xyz(v)), v)
        np.testing.assert_array_equal(rot.apply_to_xyz(rot.inverse().apply_to_xyz(v)), v)
    assert sorted(ROTATION_SETS["foa"]) == [1, 4, 8, 16] and sorted(ROTATION_SETS["mic"]) == [1, 4, 8]
    for fmt, sets in ROTATION_SETS.items():
        for n, maps in sets.items():
            assert len(set(maps)) == n and maps[0] == Rotation()
            # closed under composition: turning by a then b is again a map of the set
            for a in maps:
                for b in maps:
                    composed = b.apply_to_xyz(a.apply_to_xyz(np.eye(3)))
                    assert any(np.array_equal(composed, c.apply_to_xyz(np.eye(3))) for c in maps), (fmt, n)
    assert all(r.signs[2] == 1 for r in ROTATION_SETS["foa"][8])  # elevation kept
    assert {tuple(np.round(r.apply_to_xyz(_unit(10.0, 5.0)), 9)) for r in ROTATION_SETS["foa"][4]} == {
        tuple(np.round(_unit(10.0 + k * 90.0, 5.0), 9)) for k in range(4)
    }
    with pytest.raises(SeldError, match="rotations for FOA must be one of 1, 4, 8, 16, not 3"):
        rotation_set(3)
    with pytest.raises(SeldError, match="rotations for MIC must be one of 1, 4, 8, not 16"):
        rotation_set(16, "mic")
    assert rotation_set(1, "mic") == (Rotation(),)
    assert all(r.keeps_the_tetrahedron for r in Rotation.all("mic")) and len(Rotation.all("mic")) == 8


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tiny_package(tmp_path_factory.mktemp("rot"))[0]
    return path, load_package(path)


@pytest.fixture(scope="module")
def scene():
    """Two seconds (one segment) of two sources and noise, rendered as FOA (W, Y, Z, X)."""
    from core.spatial.ambisonics import foa_plane_wave_gains

    rng = np.random.default_rng(7)
    n = 2 * 24000
    audio = 0.02 * rng.standard_normal((4, n))
    for az, el, start in ((60.0, 20.0, 0), (-150.0, -10.0, n // 3)):
        burst = np.zeros(n)
        burst[start : start + n // 2] = np.sin(np.arange(n // 2) * rng.uniform(0.05, 0.3)) * 0.4
        audio += foa_plane_wave_gains(az, el)[:, None] * burst
    return audio


def _rec(audio: np.ndarray) -> Recording:
    return Recording(
        samples=audio.astype(np.float32), sample_rate=24000, fmt="foa", path="", original_rate=24000
    )


def _doa_xyz(doa: np.ndarray) -> np.ndarray:
    """``(T, 3K)`` -> ``(T, K, 3)``."""
    t, width = doa.shape
    return doa.reshape(t, 3, width // 3).transpose(0, 2, 1)


def test_test_time_rotation_averages_the_turned_runs(tiny, scene):
    _, model = tiny
    rec = _rec(scene)
    plain = predict(model, rec, rotations=1)
    assert plain.rotations == 1
    turned_runs = []
    for rot in ROTATION_SETS["foa"][4]:
        p = predict(model, _rec(_rotate_audio(scene, rot)), rotations=1)
        turned_runs.append((p.sed, rot.inverse().apply_to_doa(p.doa)))
    tta = predict(model, rec, rotations=4)
    assert tta.rotations == 4 and tta.sed.shape == plain.sed.shape
    np.testing.assert_allclose(tta.sed, np.mean([s for s, _ in turned_runs], axis=0), atol=1e-4)
    np.testing.assert_allclose(tta.doa, np.mean([d for _, d in turned_runs], axis=0), atol=1e-4)
    assert np.abs(tta.doa - plain.doa).max() > 1e-2  # a random network is not rotation-equivariant


@pytest.mark.parametrize(("n", "which"), [(4, 1), (8, 1), (16, 15)])
def test_averaging_over_a_group_makes_the_prediction_equivariant(tiny, scene, n, which):
    """Turning the recording by a map of the set turns the averaged directions and leaves detection alone."""
    _, model = tiny
    base = predict(model, _rec(scene), rotations=n)
    plain = predict(model, _rec(scene), rotations=1)
    for rot in (ROTATION_SETS["foa"][n][which],):  # a turn, a mirror image, a mirror with elevation flipped
        audio = _rotate_audio(scene, rot)
        got = predict(model, _rec(audio), rotations=n)
        np.testing.assert_allclose(got.sed, base.sed, atol=1e-4)
        np.testing.assert_allclose(_doa_xyz(got.doa), rot.apply_to_xyz(_doa_xyz(base.doa)), atol=1e-4)
        one = predict(model, _rec(audio), rotations=1)
        assert np.abs(_doa_xyz(one.doa) - rot.apply_to_xyz(_doa_xyz(plain.doa))).max() > 1e-2


def test_the_package_carries_its_rotations(tiny, tmp_path):
    path, model = tiny
    assert model.meta.rotations == 1
    out = tmp_path / "rot8.safetensors"
    _rewrite_meta(path, out, lambda d: d.update(rotations=8))
    loaded = load_package(out)
    assert loaded.meta.rotations == 8
    rec = tmp_path / "foa" / "r.wav"
    write_scene(rec, 2.0)
    assert predict(loaded, rec).rotations == 1  # the default is fast: no test-time rotation
    accurate = predict(loaded, rec, rotations="accurate")  # the package's set
    assert accurate.rotations == 8
    np.testing.assert_allclose(accurate.sed, predict(loaded, rec, rotations=8).sed, atol=1e-6)
    assert predict(loaded, rec, rotations=1).rotations == 1
    with pytest.raises(SeldError, match="rotations must be a number or 'accurate'"):
        predict(loaded, rec, rotations="slow")
    for bad, message in ((3, "rotations for FOA must be one of"), (True, "rotations for FOA must be one of")):
        _rewrite_meta(path, tmp_path / "bad.safetensors", lambda d, b=bad: d.update(rotations=b))
        with pytest.raises(ModelError, match=f"'rotations': {message}"):
            read_package_meta(tmp_path / "bad.safetensors")
    mic = tiny_package(tmp_path, fmt="mic", name="mic.safetensors")[0]
    _rewrite_meta(mic, tmp_path / "mic16.safetensors", lambda d: d.update(rotations=16))
    with pytest.raises(ModelError, match="rotations for MIC must be one of 1, 4, 8, not 16"):
        read_package_meta(tmp_path / "mic16.safetensors")


def test_cli_rotations(tiny, tmp_path, capsys):
    path, _ = tiny
    write_scene(tmp_path / "foa" / "a.wav", 2.0)
    assert main(["infer", str(tmp_path / "foa"), "--model", str(path), "--out", str(tmp_path / "o1")]) == 0
    assert "no test-time rotation" in capsys.readouterr().err
    argv = ["infer", str(tmp_path / "foa"), "--model", str(path), "--out", str(tmp_path / "o4")]
    assert main([*argv, "--rotations", "4"]) == 0
    assert "4 test-time rotations" in capsys.readouterr().err
    assert (tmp_path / "o4" / "a.csv").read_text() != ""
    mic = tiny_package(tmp_path, fmt="mic", name="mic.safetensors")[0]
    write_scene(tmp_path / "mic_dev" / "m.wav", 1.0)
    argv = ["infer", str(tmp_path / "mic_dev"), "--model", str(mic), "--out", str(tmp_path / "om")]
    assert main([*argv, "--rotations", "16"]) == 2
    assert "rotations for MIC must be one of 1, 4, 8, not 16" in capsys.readouterr().err
    assert not (tmp_path / "om" / "m.csv").exists()
    assert main([*argv, "--rotations", "8"]) == 0
    assert "8 test-time rotations" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--rotations", "3"])


# --------------------------------------------------------------------------- MIC


def _plane_wave_at_capsules(signal: np.ndarray, az: float, el: float) -> np.ndarray:
    """A far-field plane wave from (az, el) at the four capsules, with exact (fractional) delays."""
    from core.spatial.mic_array import mic_capsule_positions

    d = _unit(az, el)
    delays = -(mic_capsule_positions() @ d) / 343.0  # a capsule nearer the source hears it earlier
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(len(signal), 1 / 24000)
    return np.stack([np.fft.irfft(spectrum * np.exp(-2j * np.pi * freqs * t), n=len(signal)) for t in delays])


def test_mic_maps_carry_the_array_onto_itself():
    from core.spatial.mic_array import mic_capsule_unit_vectors

    caps = mic_capsule_unit_vectors()
    for rot in Rotation.all("mic"):
        src = rot.capsule_sources
        assert sorted(src) == [0, 1, 2, 3]
        # the map takes original capsule src[i] to capsule i
        np.testing.assert_allclose(rot.apply_to_xyz(caps[list(src)]), caps, atol=1e-12)
    for rot in Rotation.all("foa"):
        if not rot.keeps_the_tetrahedron:
            with pytest.raises(SeldError, match="does not carry the MIC tetrahedron"):
                _ = rot.capsule_sources
    # a turned plane wave is heard as the original with the capsules relabelled
    signal = np.random.default_rng(1).standard_normal(4800)
    for rot in Rotation.all("mic"):
        x, y, z = rot.apply_to_xyz(_unit(70.0, 25.0))
        turned_az, turned_el = np.degrees(np.arctan2(y, x)), np.degrees(np.arcsin(z))
        original = _plane_wave_at_capsules(signal, 70.0, 25.0)
        turned = _plane_wave_at_capsules(signal, turned_az, turned_el)
        np.testing.assert_allclose(turned, original[list(rot.capsule_sources)], atol=1e-9)


def test_mic_rotation_of_the_features_is_the_features_of_the_relabelled_recording():
    from core.dsp.features import extract_features

    rng = np.random.default_rng(4)
    n = 24000
    audio = 0.02 * rng.standard_normal((4, n))
    for az, el in ((30.0, 20.0), (-120.0, -15.0)):
        audio += _plane_wave_at_capsules(
            np.convolve(rng.standard_normal(n), rng.standard_normal(6), "same"), az, el
        )
    feats = extract_features(audio, "mic")
    for rot in Rotation.all("mic")[1:]:
        reference = extract_features(audio[list(rot.capsule_sources)], "mic")
        got = rot.apply_to_features(feats)
        # exact except lag -32 of a pair that runs the other way (not kept by the features)
        np.testing.assert_allclose(got[..., 1:], reference[..., 1:], atol=2e-5)
        np.testing.assert_allclose(got[:4], reference[:4], atol=2e-5)
        # and the GCC peaks (the delays, within +-5 samples) are where the turned scene has them
        np.testing.assert_array_equal(
            got[4:, :, 27:38].mean(axis=1).argmax(-1), reference[4:, :, 27:38].mean(axis=1).argmax(-1)
        )
    assert not np.allclose(Rotation.all("mic")[1].apply_to_features(feats), feats, atol=1e-2)


def test_mic_test_time_rotation_is_equivariant(tmp_path):
    path = tiny_package(tmp_path, fmt="mic", name="mic.safetensors")[0]
    model = load_package(path)
    rng = np.random.default_rng(9)
    audio = 0.02 * rng.standard_normal((4, 48000)) + _plane_wave_at_capsules(
        np.sin(np.arange(48000) * 0.1) * 0.3, 40.0, 10.0
    )

    def rec(x):
        return Recording(
            samples=x.astype(np.float32), sample_rate=24000, fmt="mic", path="", original_rate=24000
        )

    base = predict(model, rec(audio), rotations=8)
    rot = Rotation(True, (1, 1, 1))  # azimuth -> 90 - azimuth
    got = predict(model, rec(audio[list(rot.capsule_sources)]), rotations=8)
    np.testing.assert_allclose(got.sed, base.sed, atol=2e-3)
    np.testing.assert_allclose(_doa_xyz(got.doa), rot.apply_to_xyz(_doa_xyz(base.doa)), atol=2e-3)
