"""Physics of the scene synthesizer: directions, delays, timing, reverberation, determinism."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.signal

from core.dsp.features import stft
from core.spatial.directions import azel_to_xyz as unit_vectors
from core.spatial.directions import xyz_to_azel
from core.spatial.mic_array import mic_capsule_unit_vectors
from core.synthesis.room import Room, image_orders, image_sources, random_room
from core.synthesis.scene import DISTANCE_RANGE_M, EventSpec, Trajectory, make_scene, scene_from_specs
from core.synthesis.spatial import (
    diffuse_covariance,
    diffuse_noise,
    render_scene,
    room_impulse_response,
)
from core.synthesis.sphere import sphere_response
from core.synthesis.writer import wav_bytes

FS = 24000
C = 343.0
DIRECTIONS = [(0.0, 0.0), (150.0, 30.0), (-150.0, -30.0), (60.0, -30.0), (-90.0, 30.0), (100.0, 10.0)]


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * FS))).astype(np.float32)


def _angle(az1, el1, az2, el2) -> np.ndarray:
    dot = np.sum(unit_vectors(az1, el1) * unit_vectors(az2, el2), axis=-1)
    return np.degrees(np.arccos(np.clip(dot, -1.0, 1.0)))


def _intensity_direction(spec: np.ndarray) -> tuple[float, float]:
    """Direction of the time-frequency summed active intensity Re(conj(W) [X, Y, Z]) of an FOA STFT slice."""
    iv = np.real(np.conj(spec[0])[None] * spec[1:]).sum(axis=(1, 2))  # Y, Z, X
    az, el = xyz_to_azel(np.array([iv[2], iv[0], iv[1]]))
    return float(az), float(el)


def _mild_room() -> Room:
    return Room.from_rt60((8.0, 7.0, 3.5), 0.2, receiver=(4.0, 3.5, 1.5))


@dataclass
class _Clip:
    samples: np.ndarray
    class_index: int
    class_name: str
    origin: str


class _NoiseBank:
    """A stand-in source bank: noise bursts of 0.5-6 s for 14 classes."""

    available_classes = tuple(range(14))

    def sample(self, class_index, rng, max_duration_s=None):
        seconds = rng.uniform(0.5, 6.0)
        if max_duration_s is not None:
            seconds = min(seconds, max_duration_s)
        x = (0.1 * rng.standard_normal(max(1, int(seconds * FS)))).astype(np.float32)
        return _Clip(x, class_index, f"class{class_index}", "noise")


# --------------------------------------------------------------------------- directions


@pytest.mark.parametrize("room_kind", ["anechoic", "mild"])
def test_stationary_direction_from_foa_intensity_is_within_3_degrees(room_kind):
    room = Room.anechoic() if room_kind == "anechoic" else _mild_room()
    distance = 1.5 if room_kind == "anechoic" else 1.0
    specs = [
        EventSpec(_noise(1.0, i), 0.5 + 1.5 * i, Trajectory(az, el, distance))
        for i, (az, el) in enumerate(DIRECTIONS)
    ]
    scene = scene_from_specs(room, specs, 10.0, snr_db=40.0, noise_seed=1)
    spec = stft(render_scene(scene, ("foa",))["foa"].astype(np.float64))
    labels = scene.labels(decimals=2).by_frame()
    for i, (az, el) in enumerate(DIRECTIONS):
        t0 = 0.5 + 1.5 * i
        est = _intensity_direction(spec[:, int(t0 * 50) + 1 : int((t0 + 1.0) * 50) - 1])
        (row,) = labels[int(t0 * 10) + 2]
        assert (row.azimuth, row.elevation) == pytest.approx((az, el))
        err = float(_angle(row.azimuth, row.elevation, *est))
        assert err < (0.1 if room_kind == "anechoic" else 3.0), (az, el, est, err)


def test_mic_inter_capsule_level_and_phase_follow_the_rigid_sphere():
    """Far-field noise sources: the rendered transfer M_b / M_a is S(γ_b) / S(γ_a) of the rigid sphere.

    (Replaces the free-field GCC-PHAT TDOA test: since the rigid sphere is modelled, the
    inter-capsule delays are frequency dependent, 3/2 of the free-field TDOA at low ka.)
    """
    room = Room.anechoic(size=60.0)  # far field: 20 m
    directions = DIRECTIONS + [(45.0, 35.0), (-135.0, 35.0)]
    specs = [
        EventSpec(_noise(0.5, i), 0.2 + 0.8 * i, Trajectory(az, el, 20.0))
        for i, (az, el) in enumerate(directions)
    ]
    scene = scene_from_specs(room, specs, 0.3 + 0.8 * len(directions), snr_db=float("inf"), noise_seed=2)
    mic = render_scene(scene, ("mic",))["mic"].astype(np.float64)
    caps = mic_capsule_unit_vectors()
    worst_db = worst_deg = 0.0
    for i, (az, el) in enumerate(directions):
        seg = mic[:, int((0.2 + 0.8 * i + 0.07) * FS) : int((0.2 + 0.8 * i + 0.5) * FS)]
        f, _ = scipy.signal.csd(seg[0], seg[0], fs=FS, nperseg=512)
        band = (f >= 200) & (f <= 10000)
        theory = sphere_response(caps @ unit_vectors(az, el), f[band])  # (4, F)
        for a in range(4):
            _, saa = scipy.signal.csd(seg[a], seg[a], fs=FS, nperseg=512)
            for b in range(4):
                if b == a:
                    continue
                _, sab = scipy.signal.csd(seg[a], seg[b], fs=FS, nperseg=512)  # E[conj(M_a) M_b]
                ratio = (sab / saa)[band] / (theory[b] / theory[a])
                worst_db = max(worst_db, float(np.max(np.abs(20 * np.log10(np.abs(ratio))))))
                worst_deg = max(worst_deg, float(np.degrees(np.max(np.abs(np.angle(ratio))))))
    assert worst_db < 0.3 and worst_deg < 3.0, (worst_db, worst_deg)  # table look-up + FIR, 2 capsules


def test_moving_source_direction_follows_its_label():
    for room, bound in ((Room.anechoic(), 1.0), (_mild_room(), 5.0)):
        for speed, drift in ((40.0, 2.0), (-20.0, 0.0)):
            traj = Trajectory(-170.0, 20.0, 1.5, speed, drift)
            scene = scene_from_specs(room, [EventSpec(_noise(4.0, 3), 0.5, traj)], 5.0, noise_seed=3)
            spec = stft(render_scene(scene, ("foa",))["foa"].astype(np.float64))
            rows = scene.labels(decimals=2).rows
            assert len(rows) == 40
            estimates = [_intensity_direction(spec[:, 5 * r.frame : 5 * r.frame + 5]) for r in rows]
            errors = [float(_angle(r.azimuth, r.elevation, *e)) for r, e in zip(rows, estimates, strict=True)]
            # the label moves by 4 degrees per frame at 40 deg/s: the estimate must track it
            assert np.median(errors) < bound, (room.name, speed, np.median(errors))
            first, last = rows[0], rows[-1]
            assert _angle(first.azimuth, first.elevation, last.azimuth, last.elevation) > 50


# --------------------------------------------------------------------------- timing and energy


def test_label_onsets_and_offsets_match_the_rendered_energy():
    onsets = [0.33, 1.87, 3.05, 4.51]
    lengths = [0.71, 0.9, 1.2, 0.27]
    specs = [
        EventSpec(_noise(n, i), t, Trajectory(30.0 * i, 10.0, 2.0))
        for i, (t, n) in enumerate(zip(onsets, lengths, strict=True))
    ]
    scene = scene_from_specs(Room.anechoic(), specs, 6.0, snr_db=float("inf"))
    w = render_scene(scene, ("foa",))["foa"][0].astype(np.float64)
    frame_energy = (w[: 60 * 2400].reshape(60, 2400) ** 2).sum(axis=1)
    active = frame_energy > frame_energy.max() * 1e-3
    edges = np.flatnonzero(np.diff(np.r_[0, active.astype(int), 0]))
    starts, stops = edges[0::2], edges[1::2] - 1
    labelled = sorted(scene.labels().by_frame())
    groups = np.split(np.array(labelled), np.flatnonzero(np.diff(labelled) > 1) + 1)
    assert len(groups) == len(starts) == 4
    for g, s0, s1 in zip(groups, starts, stops, strict=True):
        assert abs(g[0] - s0) <= 1 and abs(g[-1] - s1) <= 1


def _schroeder_rt60(h: np.ndarray, lo_db: float = -5.0, hi_db: float = -35.0) -> float:
    energy = np.cumsum((h**2)[::-1])[::-1]
    edc = 10 * np.log10(energy / energy[0] + 1e-300)
    i0, i1 = int(np.argmax(edc <= lo_db)), int(np.argmax(edc <= hi_db))
    slope = np.polyfit(np.arange(i0, i1) / FS, edc[i0:i1], 1)[0]
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.25, 0.5, 0.8])
def test_reverberation_time_of_a_rendered_rir_matches_the_chosen_rt60(rt60):
    """Measured in 500 Hz-1 kHz (the band the RT60 is defined in): since air absorption is
    modelled, the broadband decay of a white RIR is dominated by the faster 4-8 kHz bands."""
    sos = scipy.signal.butter(4, [354.0, 1414.0], btype="bandpass", fs=FS, output="sos")
    for size in ((4.0, 5.0, 2.5), (9.0, 8.0, 3.5)):
        room = Room.from_rt60(size, rt60)
        src = np.asarray(room.receiver) + 2.0 * unit_vectors(30.0, 10.0)
        h = room_impulse_response(room, src, np.random.default_rng(5))
        for channel in (0, 4):  # W and M1
            band = scipy.signal.sosfilt(sos, h[channel])
            assert _schroeder_rt60(band) == pytest.approx(rt60, rel=0.2)
            assert _schroeder_rt60(band, -5.0, -25.0) == pytest.approx(rt60, rel=0.2)


def test_random_rooms_are_within_the_ranges_and_consistent():
    for seed in range(20):
        room = random_room(np.random.default_rng(seed))
        lx, ly, lz = room.size
        assert 4 <= lx <= 10 and 4 <= ly <= 10 and 2.5 <= lz <= 4
        assert 0.2 <= room.rt60 <= 0.8
        assert room.eyring_rt60 == pytest.approx(room.rt60, rel=0.05)


def test_image_sources_mirror_the_source_in_the_walls():
    room = Room((5.0, 4.0, 3.0), (0.19, 0.36, 0.51, 0.64, 0.75, 0.84), (2.0, 2.0, 1.5), rt60=0.3)
    src = np.array([1.0, 3.0, 1.0])
    pos, gains = image_sources(room, src)
    assert pos.shape == (63, 3) and len(image_orders(2)) == 25
    beta = np.sqrt(1 - np.array(room.absorption))
    expected = {
        (-1.0, 3.0, 1.0): beta[0],  # wall x = 0
        (9.0, 3.0, 1.0): beta[1],  # wall x = 5
        (1.0, -3.0, 1.0): beta[2],
        (1.0, 5.0, 1.0): beta[3],
        (1.0, 3.0, -1.0): beta[4],
        (1.0, 3.0, 5.0): beta[5],
        (11.0, 3.0, 1.0): beta[0] * beta[1],  # x = 0 then x = 5
    }
    assert tuple(pos[0]) == (1.0, 3.0, 1.0) and gains[0] == 1.0
    for p, g in expected.items():
        k = int(np.flatnonzero(np.all(np.isclose(pos, p), axis=1))[0])
        assert gains[k] == pytest.approx(g)


# --------------------------------------------------------------------------- diffuse fields


def test_diffuse_covariance_equals_the_plane_wave_average():
    """The 8x8 covariance is the average over directions of the plane-wave responses (rigid-sphere MIC)."""
    n = 4000
    i = np.arange(n) + 0.5
    polar, turn = np.arccos(1 - 2 * i / n), np.pi * (1 + 5**0.5) * i
    u = np.stack([np.sin(polar) * np.cos(turn), np.sin(polar) * np.sin(turn), np.cos(polar)], axis=1)
    caps = mic_capsule_unit_vectors()
    for f in (200.0, 2000.0, 9000.0):
        steering = sphere_response((caps @ u.T).ravel(), np.array([f])).reshape(4, n)
        b = np.concatenate([np.stack([np.ones(n), u[:, 1], u[:, 2], u[:, 0]]), steering])
        assert np.allclose(b @ b.conj().T / n, diffuse_covariance(np.array([f]))[0], atol=2e-3)


def test_diffuse_noise_has_the_foa_diffuse_balance_and_is_format_independent():
    x = diffuse_noise(5 * FS, np.random.default_rng(0), pink=True)
    var = x.var(axis=1)
    assert var[0] == pytest.approx(1.0, rel=0.1)
    assert np.allclose(var[1:4] / var[0], 1 / 3, rtol=0.1)
    # each capsule: the rigid sphere's diffuse-field power response weighted by the pink spectrum
    freqs = np.fft.rfftfreq(16384, 1 / FS)
    pink = np.where(freqs >= 20.0, 1.0 / np.maximum(freqs, 50.0), 0.0)
    response = np.real(diffuse_covariance(freqs)[:, 4, 4])
    assert np.allclose(var[4:] / var[0], np.sum(pink * response) / np.sum(pink), rtol=0.1)
    corr = np.corrcoef(x[:4])
    assert np.all(np.abs(corr[np.triu_indices(4, 1)]) < 0.05)
    foa_only = diffuse_noise(5 * FS, np.random.default_rng(0), pink=True, mic=False)
    assert np.array_equal(foa_only, x[:4])
    spectrum = np.abs(np.fft.rfft(x[0])) ** 2
    freqs = np.fft.rfftfreq(x.shape[1], 1 / FS)
    low = spectrum[(freqs > 200) & (freqs < 400)].mean()
    high = spectrum[(freqs > 3200) & (freqs < 6400)].mean()
    assert 10 * np.log10(low / high) == pytest.approx(10 * np.log10(16.0), abs=1.5)  # 1/f


def test_foa_and_mic_hold_the_same_scene_and_the_snr_is_right():
    traj = Trajectory(70.0, -20.0, 2.0)
    scene = scene_from_specs(
        _mild_room(), [EventSpec(_noise(2.0, 4), 1.0, traj)], 4.0, snr_db=20.0, noise_seed=9
    )
    out = render_scene(scene)
    w, m = out["foa"][0].astype(np.float64), out["mic"].astype(np.float64).mean(axis=0)
    lp = np.fft.rfftfreq(w.size, 1 / FS) < 1000  # the capsules are 4.2 cm from the centre
    w_lp = np.fft.irfft(np.fft.rfft(w) * lp, w.size)
    m_lp = np.fft.irfft(np.fft.rfft(m) * lp, w.size)
    assert np.corrcoef(w_lp, m_lp)[0, 1] > 0.98
    event = np.mean(w[int(1.1 * FS) : int(2.9 * FS)] ** 2)
    quiet = np.mean(w[: int(0.9 * FS)] ** 2)
    assert 10 * np.log10(event / quiet) == pytest.approx(20.0, abs=1.5)
    active = np.repeat(scene.activity() > 0, 2400)
    assert 10 * np.log10(np.mean(w[active] ** 2)) == pytest.approx(-30.0, abs=0.1)
    assert np.max(np.abs(out["mic"])) < 0.75


# --------------------------------------------------------------------------- scenes


def _digest(scene) -> str:
    out = render_scene(scene)
    return hashlib.sha256(wav_bytes(out["foa"]) + wav_bytes(out["mic"])).hexdigest()


def test_same_seed_gives_the_same_bytes():
    room = random_room(np.random.default_rng(1))
    scenes = [make_scene(_NoiseBank(), room, np.random.default_rng(s), 8.0, ov=2) for s in (11, 11, 12)]
    digests = [_digest(s) for s in scenes]
    assert digests[0] == digests[1] != digests[2]
    foa_only = render_scene(scenes[0], ("foa",))["foa"]
    assert np.array_equal(foa_only, render_scene(scenes[0])["foa"])


@pytest.mark.parametrize("ov", [1, 2])
def test_scene_statistics_and_label_ranges(ov):
    moving = 0
    total = 0
    for seed in range(8):
        rng = np.random.default_rng(100 * ov + seed)
        room = random_room(rng)
        scene = make_scene(_NoiseBank(), room, rng, 60.0, ov=ov)
        activity = scene.activity()
        assert activity.max() == ov
        for ev in scene.events:
            total += 1
            moving += ev.trajectory.moving
            t = np.linspace(0, ev.n_samples / FS, 50)
            az, el = ev.trajectory.direction(t)
            assert np.all(np.abs(el) <= 45.0) and np.all((az >= -180) & (az < 180))
            assert 0.25 < ev.trajectory.distance_m <= DISTANCE_RANGE_M[1]
            pos = ev.trajectory.position(room, t)
            assert np.all(pos > 0.2) and np.all(pos < np.asarray(room.size) - 0.2)
            if ev.trajectory.moving:
                assert abs(ev.trajectory.azimuth_speed) in (10.0, 20.0, 40.0)
        table = scene.labels()
        assert len(table) > 0
        per_frame: dict[int, list] = {}
        for row in table:
            assert 0 <= row.frame < 600
            assert -180 <= row.azimuth <= 180 and -45 <= row.elevation <= 45
            assert isinstance(row.azimuth, int) and isinstance(row.elevation, int)
            per_frame.setdefault(row.frame, []).append(row)
        for rows in per_frame.values():
            assert len(rows) <= ov
            assert len({r.track for r in rows}) == len(rows) and len({r.cls for r in rows}) == len(rows)
    assert 0.25 < moving / total < 0.75
