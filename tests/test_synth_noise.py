"""Ambient noise recipes, SNR, gain and equalisation tilt of synthesised mixes (core.synthesis.noise)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from core.synthesis.noise import NOISE_TYPES, apply_tilt, noise_envelope, noise_spectrum, tilt_gain_db
from core.synthesis.room import Room
from core.synthesis.scene import EventSpec, NoiseSource, Trajectory, scene_from_specs
from core.synthesis.spatial import _ambient_noise, diffuse_covariance, render_scene
from core.synthesis.writer import SynthConfig, synthesize_dataset

FS = 24000


def _field(kind: str, seconds: float = 20.0, seed: int = 0, tilt: float = 0.0, sources=()) -> np.ndarray:
    """The ambient noise (8, n) of a scene without events, W power 1."""
    scene = scene_from_specs(
        Room.from_rt60((6.0, 5.0, 3.0), 0.4), [], seconds, noise=kind, tilt_db_oct=tilt, noise_sources=sources
    )
    noise, _ = _ambient_noise(scene, np.random.default_rng(seed), True, 1.0)
    return noise


def _psd(x: np.ndarray, nperseg: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    return scipy.signal.welch(x, FS, nperseg=nperseg)


def _slope_db_per_octave(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    sel = (f >= lo) & (f <= hi)
    return float(np.polyfit(np.log2(f[sel]), 10 * np.log10(p[sel]), 1)[0])


def test_pink_and_brown_have_their_slopes():
    # tolerance: ±0.3 dB/octave on a least-squares fit over 100 Hz-6.4 kHz (20 s of noise)
    for kind, slope in (("pink", -3.0), ("brown", -6.0)):
        x = _field(kind)[0]
        f, p = _psd(x)
        assert _slope_db_per_octave(f, p, 100, 6400) == pytest.approx(slope, abs=0.3), kind
        f, p = _psd(x, nperseg=32768)
        assert p[(f > 2) & (f < 10)].mean() < 1e-2 * p[(f > 40) & (f < 60)].mean()  # nothing below 20 Hz


def test_hvac_has_mains_hum_harmonics_over_a_tilted_fan_floor():
    x = _field("hvac", seconds=30.0, seed=3)
    f, p = _psd(x[0], nperseg=32768)  # 0.73 Hz bins
    report: dict = {}
    scene = scene_from_specs(Room.anechoic(), [], 1.0, noise="hvac", noise_seed=0)
    _ambient_noise(scene, np.random.default_rng(3), True, 1.0)
    noise, report = _ambient_noise(scene, np.random.default_rng(3), True, 1.0)
    f0 = report["hum_hz"]
    assert f0 in (50.0, 60.0)
    for k in (1, 2, 3, 4):
        peak = p[np.abs(f - k * f0) <= 1.5].max()
        floor = np.median(p[(np.abs(f - k * f0) >= 6) & (np.abs(f - k * f0) <= 20)])
        assert 10 * np.log10(peak / floor) > 8.0, k
    other = 60.0 if f0 == 50.0 else 50.0  # the other mains frequency has no line (avoid common multiples)
    for k in (1, 3) if f0 == 50.0 else (1, 2):
        peak = p[np.abs(f - k * other) <= 1.5].max()
        floor = np.median(p[(np.abs(f - k * other) >= 6) & (np.abs(f - k * other) <= 20)])
        assert 10 * np.log10(peak / floor) < 4.0
    fan = _slope_db_per_octave(*_psd(x[0]), 1000, 8000)
    assert -5.5 < fan < -2.5  # alpha 1-1.6: -3 to -4.8 dB/octave


def _modulation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Modulation spectrum of the 10 ms power envelope (normalised to mean 1)."""
    env = np.mean(x[: x.size // 240 * 240].reshape(-1, 240) ** 2, axis=1)
    env = env / env.mean() - 1.0
    return scipy.signal.welch(env, 100.0, nperseg=512)


def test_babble_has_a_speech_spectrum_and_syllabic_modulation():
    x = _field("babble", seconds=30.0, seed=5)[0]
    f, p = _psd(x)
    peak_f = f[np.argmax(np.where(f > 50, p, 0))]
    assert 150 <= peak_f <= 700  # long-term speech spectrum peaks at a few hundred Hz
    assert -9.0 < _slope_db_per_octave(f, p, 1000, 6000) < -6.0
    assert p[(f > 40) & (f < 70)].mean() < 0.1 * p.max()  # little energy below the voice's f0
    fm, pm = _modulation(x)
    fp, pp = _modulation(_field("pink", seconds=30.0, seed=5)[0])
    syll = (fm >= 2) & (fm <= 8)
    assert pm[syll].mean() > 5 * pp[syll].mean()  # strongly modulated where pink noise is not
    assert pm[syll].mean() > 3 * pm[(fm >= 20) & (fm <= 40)].mean()  # at syllabic rates
    assert 2.0 <= fm[np.argmax(np.where(fm > 1.5, pm, 0))] <= 8.0  # above the utterance on/off rate


def test_traffic_and_wind_are_low_frequency_and_fluctuate():
    for kind in ("traffic", "wind"):
        x = _field(kind, seconds=30.0, seed=2)[0]
        f, p = _psd(x)
        assert p[f < 500].sum() > 0.9 * p.sum(), kind
        frames = 10 * np.log10(np.mean(x[: x.size // 2400 * 2400].reshape(-1, 2400) ** 2, axis=1))
        assert frames.std() > 1.0, kind  # slow level changes (pass-bys, gusts) of several dB


def test_surf_is_broadband_with_breakers_that_rise_fast_and_decay_slowly():
    x = _field("surf", seconds=60.0, seed=6)[0]
    f, p = _psd(x)
    slope = _slope_db_per_octave(f, p, 1500, 8000)
    assert -5.5 < slope < -1.5  # gamma 0.4-0.8 above f_c 300-800 Hz: -2.4 to -4.8 dB/octave, asymptotically
    assert p[f > 500].sum() > 0.3 * p.sum()  # broadband, unlike traffic and wind
    assert p[(f > 5) & (f < 20)].mean() < 1e-2 * p[(f > 100) & (f < 200)].mean()  # high-passed at 40 Hz
    env = noise_envelope("surf", 60 * FS, np.random.default_rng(2), {"breakers_per_min": 8.0, "floor": 0.2})
    assert env is not None and env.mean() == pytest.approx(1.0, rel=1e-9)
    frames = env[::240]  # 10 ms
    assert frames.max() > 3.0 * frames.min()  # breakers rise well above the floor
    d = np.diff(frames)
    big = np.abs(d) > 1e-4
    rising, falling = d[big & (d > 0)], d[big & (d < 0)]
    # rises of 0.3-1 s against decays of 1.5-4 s: the level goes up much faster than it comes down
    assert rising.mean() > 2.0 * -falling.mean() and falling.size > 2 * rising.size


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_every_noise_type_has_the_diffuse_coherence(kind):
    x = _field(kind, seconds=60.0, seed=1)
    f, spec = scipy.signal.stft(x, FS, nperseg=1024)[::2]  # (8, F, T)
    cov = np.einsum("iet,jet->eij", spec, spec.conj()) / spec.shape[-1]
    power = np.real(np.diagonal(cov, axis1=1, axis2=2))
    want = diffuse_covariance(f)
    wpow = np.real(np.diagonal(want, axis1=1, axis2=2))
    # octave bands where the recipe has energy (wind and traffic: low frequencies only)
    for fc in (100.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0):
        band = (f >= fc / 1.41) & (f <= fc * 1.41)
        if kind == "hvac" and fc < 1000:  # the hum lines (~1.5 Hz wide: ~90 looks per minute) vary ±0.1
            continue
        if noise_spectrum(kind, np.array([fc]))[0] < 1e-6 * noise_spectrum(kind, np.array([100.0]))[0]:
            continue
        got = cov[band] / np.sqrt(power[band][:, :, None] * power[band][:, None, :])
        ref = want[band] / np.sqrt(wpow[band][:, :, None] * wpow[band][:, None, :])
        # estimation error of 60 s: ~0.02; the slow envelopes (gusts, pass-bys) weigh few frames heavily
        tol = 0.05 if kind in ("pink", "brown", "babble") else 0.08
        assert np.allclose(got.mean(axis=0), ref.mean(axis=0), atol=tol), (kind, fc)


def _event_scene(snr: float, kind: str, tilt: float = 0.0, sources=(), level: float = -30.0, room=None):
    rng = np.random.default_rng(4)
    clip = rng.standard_normal(int(1.5 * FS)) * np.hanning(int(1.5 * FS))
    specs = [
        EventSpec(clip, 1.0, Trajectory(40.0, 10.0, 1.5)),
        EventSpec(clip, 3.0, Trajectory(-100.0, 0, 2.0)),
    ]
    room = room or Room.from_rt60((6.0, 5.0, 3.0), 0.3)
    return scene_from_specs(
        room,
        specs,
        5.0,
        snr_db=snr,
        noise_seed=9,
        noise=kind,
        tilt_db_oct=tilt,
        noise_sources=sources,
        level_dbfs=level,
    )


@pytest.mark.parametrize("kind", ["pink", "babble", "hvac", "wind"])
def test_the_rendered_snr_is_the_drawn_one(kind):
    source = (NoiseSource(Trajectory(120.0, 20.0, 1.5), 0.4),)
    for snr, tilt, sources in ((6.0, 0.0, ()), (17.5, 1.5, source), (30.0, -2.0, source)):
        mix = render_scene(_event_scene(snr, kind, tilt, sources))
        clean = render_scene(_event_scene(float("inf"), kind, tilt, sources))
        scene = _event_scene(snr, kind, tilt, sources)
        active = np.repeat(scene.activity() > 0, 2400)
        w, w0 = mix["foa"][0].astype(np.float64), clean["foa"][0].astype(np.float64)
        noise = w - w0  # the same events (the noise is drawn after them), the same gain (no peak limit)
        measured = 10 * np.log10(np.mean(w0[active] ** 2) / np.mean(noise**2))
        assert measured == pytest.approx(snr, abs=0.05), (kind, snr)
        assert 10 * np.log10(np.mean(w0[active] ** 2)) == pytest.approx(-30.0, abs=0.05)


def test_the_tilt_is_one_filter_for_every_channel():
    flat = render_scene(_event_scene(float("inf"), "pink", 0.0, room=Room.anechoic()))
    tilted = render_scene(_event_scene(float("inf"), "pink", 2.5, room=Room.anechoic()))
    x = np.concatenate([flat["foa"], flat["mic"]]).astype(np.float64)
    y = np.concatenate([tilted["foa"], tilted["mic"]]).astype(np.float64)
    fx, fy = np.fft.rfft(x), np.fft.rfft(y)
    f = np.fft.rfftfreq(x.shape[1], 1 / FS)
    band = (f > 150) & (f < 9000)
    ratio = fy[:, band] / fx[:, band]  # (8, F): the filter seen by each channel
    h = np.median(np.abs(ratio[0]) / 10 ** (tilt_gain_db(f[band], 2.5) / 20))  # the level change
    strong = np.abs(fx[:, band]) > 0.05 * np.abs(fx[:, band]).max(axis=1, keepdims=True)
    for c in range(8):
        rel = ratio[c][strong[c]] / ratio[0][strong[c]]
        assert np.median(np.abs(rel - 1)) < 0.01, c  # the same complex response on every channel
        gain_db = 20 * np.log10(np.abs(ratio[c][strong[c]]) / h)
        want = tilt_gain_db(f[band][strong[c]], 2.5)
        assert np.median(np.abs(gain_db - want)) < 0.2, c
    # the spectral ratio between channels (the spatial cues) is unchanged
    assert np.allclose(
        fy[1, band][strong[1]] / fy[0, band][strong[1]],
        fx[1, band][strong[1]] / fx[0, band][strong[1]],
        rtol=0.05,
        atol=0.02,
    )


def test_apply_tilt_is_zero_phase_and_has_the_designed_response():
    x = np.zeros((2, 8192))
    x[:, 4096] = 1.0
    y = apply_tilt(x, -3.0)
    assert np.array_equal(y[0], y[1])
    assert np.allclose(
        y[0, 4096 - 500 : 4096], y[0, 4097 : 4097 + 500][::-1], atol=1e-12
    )  # symmetric about 0
    f = np.fft.rfftfreq(8192, 1 / FS)
    got = 20 * np.log10(np.abs(np.fft.rfft(y[0])))
    band = (f > 80) & (f < 11000)
    assert np.max(np.abs(got[band] - tilt_gain_db(f[band], -3.0))) < 0.3


def test_gain_range_peak_rule_records_and_determinism(tmp_path):
    config = SynthConfig(folds=(1,), clips_per_fold=6, duration_s=3.0, seed=5, noise_source_probability=0.5)
    synthesize_dataset(tmp_path / "a", config)
    info = json.loads((tmp_path / "a" / "synth_info.json").read_text())
    kinds = set()
    for mix in info["mixes"]:
        assert -12.0 <= mix["gain_db"] <= 12.0 and 6.0 <= mix["snr_db"] <= 30.0
        assert -2.0 <= mix["tilt_db_oct"] <= 2.0
        assert mix["level_dbfs"] <= -30.0 + mix["gain_db"] + 1e-3
        assert mix["peak_limited"] == (mix["level_dbfs"] < -30.0 + mix["gain_db"] - 1e-3)
        kinds.add(mix["noise"]["noise"])
        for fmt in ("foa", "mic"):
            x, _ = sf.read(str(tmp_path / "a" / f"{fmt}_dev" / f"{mix['name']}.wav"))
            assert np.abs(x).max() <= (10 ** (-3 / 20) + 1 / 32768 if fmt == "foa" else 0.75)
    assert kinds <= set(NOISE_TYPES) and len(kinds) >= 3
    synthesize_dataset(tmp_path / "b", config)
    for p in sorted((tmp_path / "a").rglob("*.*")):
        assert p.read_bytes() == (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes(), p


def test_foa_alone_is_the_foa_of_foa_plus_mic_and_noise_sources_are_not_labelled():
    source = (NoiseSource(Trajectory(60.0, 30.0, 1.2), 0.5),)
    for kind in NOISE_TYPES:
        scene = _event_scene(10.0, kind, 1.0, source)
        assert np.array_equal(render_scene(scene, ("foa",))["foa"], render_scene(scene)["foa"]), kind
    with_src, without = _event_scene(10.0, "hvac", 0.0, source), _event_scene(10.0, "hvac", 0.0)
    assert list(with_src.labels()) == list(without.labels())
