"""Frequency-dependent rooms: materials, octave-band RT60, air absorption, directivity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from core.spatial.directions import azel_to_xyz
from core.synthesis.acoustics import (
    BAND_CENTRES_HZ,
    FACADES,
    GROUNDS,
    MATERIALS,
    VOICE_FRONT_BACK_DB,
    Directivity,
    air_absorption_db_per_m,
    band_weights,
    miki_ground_absorption,
    voice_order,
)
from core.synthesis.room import Room, image_band_gains, image_sources, open_air_room, random_room
from core.synthesis.spatial import _sinc_taps, early_rir, room_impulse_response, tail_rir
from core.synthesis.sphere import FIR_TAPS, sphere_kernels

FS = 24000
C = 343.0


def _schroeder_rt60(h: np.ndarray, lo_db: float = -5.0, hi_db: float = -35.0) -> float:
    energy = np.cumsum((h**2)[::-1])[::-1]
    edc = 10 * np.log10(energy / energy[0] + 1e-300)
    i0, i1 = int(np.argmax(edc <= lo_db)), int(np.argmax(edc <= hi_db))
    slope = np.polyfit(np.arange(i0, i1) / FS, edc[i0:i1], 1)[0]
    return -60.0 / slope


def _band(x: np.ndarray, b: int) -> np.ndarray:
    """Band ``b`` of ``x`` by the synthesizer's zero-phase band weights (1/3-octave crossovers)."""
    n = x.size + 4096
    spec = np.fft.rfft(x, n) * band_weights(np.fft.rfftfreq(n, 1 / FS))[b]
    return np.fft.irfft(spec, n)[: x.size]


def _octave(x: np.ndarray, centre: float) -> np.ndarray:
    hi = min(centre * 2**0.5, 0.95 * FS / 2)
    sos = scipy.signal.butter(4, [centre / 2**0.5, hi], btype="bandpass", fs=FS, output="sos")
    return scipy.signal.sosfilt(sos, x)


def test_materials_and_iso_9613_air_absorption():
    assert all(len(v) == 7 and all(0 < a < 1 for a in v) for v in MATERIALS.values())
    # ISO 9613-1 Table 1, 20 °C, 50 % RH (dB/km): 1 kHz 4.66, 2 kHz 9.86, 4 kHz 29.7, 8 kHz 105
    got = air_absorption_db_per_m(np.array([1000.0, 2000.0, 4000.0, 8000.0])) * 1000
    assert got == pytest.approx([4.66, 9.86, 29.7, 105.0], rel=0.02)
    w = band_weights(np.linspace(0, 12000, 997))
    assert np.allclose(w.sum(axis=0), 1.0) and np.all(w >= 0)


def test_random_rooms_keep_the_mid_band_rt60_and_have_band_rt60s():
    for seed in range(20):
        room = random_room(np.random.default_rng(seed))
        assert len(room.materials) == 6
        rt = room.band_rt60
        assert np.mean(rt[2:4]) == pytest.approx(room.rt60, rel=1e-6)
        assert np.allclose(rt, room.band_eyring_rt60(), rtol=1e-6)  # the scale factor is 1


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_band_t30_of_rendered_rirs_matches_eyring_per_band(seed):
    room = random_room(np.random.default_rng(seed))
    src = np.asarray(room.receiver) + 2.0 * azel_to_xyz(40.0, 10.0)
    h = room_impulse_response(room, src, np.random.default_rng(7))
    for b in range(2, 7):  # 500 Hz-8 kHz (125/250 Hz: leakage of a much longer neighbouring band)
        for channel in (0, 4):
            t20 = _schroeder_rt60(_band(h[channel], b), -5.0, -25.0)
            assert t20 == pytest.approx(room.band_rt60[b], rel=0.2), (seed, b, channel)


def test_flat_materials_without_air_reproduce_the_frequency_independent_rir():
    room = Room((6.0, 5.0, 3.0), (0.19, 0.36, 0.51, 0.3, 0.25, 0.4), (2.6, 2.4, 1.3), rt60=0.4, air=False)
    src = np.array([[4.0, 3.1, 1.7]])
    h = early_rir(room, src)[0]
    # the old renderer: beta / d times the sinc (FOA) or the sphere filter (MIC) at each path's delay
    pos, gains = image_sources(room, src)
    vec = pos[0] - np.asarray(room.receiver)
    dist = np.linalg.norm(vec, axis=-1)
    u = vec / dist[:, None]
    ref = np.zeros_like(h)
    start, taps = _sinc_taps(dist * FS / C)
    foa = np.stack([np.ones(len(u)), u[:, 1], u[:, 2], u[:, 0]], axis=1)
    caps = np.array([azel_to_xyz(a, e) for a, e in ((45, 35), (-45, -35), (135, -35), (-135, 35))])
    start_m, taps_m = sphere_kernels(u @ caps.T, np.repeat((dist * FS / C)[:, None], 4, axis=1))
    for k in range(len(u)):
        g = gains[k] / dist[k]
        ref[:4, start[k] : start[k] + 32] += g * foa[k][:, None] * taps[k]
        for c in range(4):
            ref[4 + c, start_m[k, c] : start_m[k, c] + FIR_TAPS] += g * taps_m[k, c]
    assert np.max(np.abs(h - ref)) < 1e-6 * np.max(np.abs(ref))
    # and the tail of a flat room without air decays at rt60 in every band
    assert np.allclose(room.band_rt60, 0.4)


def test_air_absorption_of_a_long_direct_path_at_8_khz():
    room = Room.anechoic(size=120.0)
    free = Room(room.size, room.absorption, room.receiver, rt60=0.0, max_order=0, air=False)
    d = 50.0
    src = (np.asarray(room.receiver) + d * azel_to_xyz(0.0, 0.0))[None]
    h, h0 = early_rir(room, src)[0, 0], early_rir(free, src)[0, 0]
    f = np.fft.rfftfreq(8192, 1 / FS)
    ratio_db = 20 * np.log10(np.abs(np.fft.rfft(h, 8192)) / np.abs(np.fft.rfft(h0, 8192)))
    at8k = ratio_db[np.argmin(np.abs(f - 8000.0))]
    expected = -d * air_absorption_db_per_m(8000.0)  # 5.3 dB
    assert at8k == pytest.approx(expected, abs=0.25)
    assert abs(ratio_db[np.argmin(np.abs(f - 500.0))]) < 0.3


def test_directivity_front_to_back_difference_at_high_frequency():
    room = Room.anechoic(size=30.0)
    src = (np.asarray(room.receiver) + 3.0 * azel_to_xyz(0.0, 0.0))[None]
    towards = Directivity(voice_order(), (-1.0, 0.0, 0.0))  # facing the array
    away = Directivity(voice_order(), (1.0, 0.0, 0.0))
    f = np.fft.rfftfreq(8192, 1 / FS)
    spec = [np.abs(np.fft.rfft(early_rir(room, src, directivity=d)[0, 0], 8192)) for d in (towards, away)]
    for b in (5, 6):  # 4 and 8 kHz
        k = np.argmin(np.abs(f - BAND_CENTRES_HZ[b]))
        assert 20 * np.log10(spec[0][k] / spec[1][k]) == pytest.approx(VOICE_FRONT_BACK_DB[b], abs=0.5)
    omni = np.abs(np.fft.rfft(early_rir(room, src)[0, 0], 8192))
    k = np.argmin(np.abs(f - 8000.0))
    assert spec[0][k] == pytest.approx(omni[k], rel=0.01)  # on axis: gain 1


def test_tail_is_deterministic_and_directive_sources_have_less_reverb():
    room = random_room(np.random.default_rng(2))
    src = np.asarray(room.receiver) + 1.5 * azel_to_xyz(10.0, 0.0)
    a = tail_rir(room, src, np.random.default_rng(3))
    assert np.array_equal(a, tail_rir(room, src, np.random.default_rng(3)))
    d = tail_rir(room, src, np.random.default_rng(3), directivity=Directivity(voice_order(), (1.0, 0.0, 0.0)))
    hi_a, hi_d = (np.sum(_octave(x[0], 4000.0) ** 2) for x in (a, d))
    power = Directivity(voice_order(), (1.0, 0.0, 0.0)).diffuse_power()[5]
    assert hi_d / hi_a == pytest.approx(power, rel=0.1)


def test_miki_ground_absorption_matches_the_model_by_hand():
    # Miki (1990) at 1 kHz, sigma = 200 kPa s/m^2: X = (1000 / 2e5)^-0.632 = 28.50,
    # Z = 1 + 1.992 - 3.050j, |R|^2 = ((1.992)^2 + 3.050^2) / ((2.992)^2 + 3.050^2) = 0.525
    grass = miki_ground_absorption(200e3)
    assert grass[3] == pytest.approx(0.475, abs=0.002)  # stored to 3 decimals
    assert all(np.diff(grass) > 0)  # porous ground absorbs more at high frequency
    soil = miki_ground_absorption(1000e3)
    assert all(np.less(soil, grass))  # a denser ground absorbs less in every band
    assert MATERIALS["ground_grass"] == grass and MATERIALS["ground_soil"] == soil


def test_open_air_rooms_are_a_ground_and_perhaps_a_facade_without_a_tail():
    facades = 0
    for seed in range(40):
        room = open_air_room(np.random.default_rng(seed))
        ground, facade = room.materials[4], room.materials[0]
        assert ground in GROUNDS and set(room.materials[1:4] + room.materials[5:]) == {"open"}
        assert room.rt60 == 0.0 and not np.any(room.band_rt60) and room.reverberant_energy() == 0.0
        assert 1.2 <= room.receiver[2] <= 1.8
        paths = int(np.count_nonzero(image_band_gains(room).max(axis=1) > 0))
        if facade == "open":
            assert paths == 2  # direct + ground
        else:
            facades += 1
            assert facade in FACADES and 2.0 <= room.receiver[0] <= 10.0
            assert paths == 4  # direct, ground, facade, facade-ground
    assert 10 <= facades <= 30  # half of them, drawn (binomial 40 x 0.5: 10-30 is beyond 3 sigma)


def test_open_air_rir_is_the_direct_sound_and_the_ground_reflection_only():
    room = next(
        r
        for r in (open_air_room(np.random.default_rng(s)) for s in range(200))
        if r.materials[0] == "open" and r.materials[4] == "hard_surface"
    )
    rx = np.asarray(room.receiver)
    src = rx + 2.0 * azel_to_xyz(40.0, 10.0)
    h = room_impulse_response(room, src, np.random.default_rng(0), mic=False)
    image = src * np.array([1.0, 1.0, -1.0])  # mirrored in the ground z = 0
    d0, d1 = 2.0, float(np.linalg.norm(image - rx))
    assert h.shape[1] < d1 / C * FS + 80  # nothing after the ground reflection: no tail
    w = h[0]
    n0, n1 = int(round(d0 / C * FS)), int(round(d1 / C * FS))
    assert abs(int(np.argmax(np.abs(w[: (n0 + n1) // 2]))) - n0) <= 1
    assert abs(int(np.argmax(np.abs(w[(n0 + n1) // 2 :]))) + (n0 + n1) // 2 - n1) <= 1
    e0 = np.sum(w[n0 - 40 : n0 + 40] ** 2)
    e1 = np.sum(w[n1 - 40 : n1 + 40] ** 2)
    # spherical spreading and the ground's reflection: (1 - alpha) (d0 / d1)^2, alpha of a hard
    # surface 0.02-0.05 across the bands; 10 % for that spread and the windows' truncation
    expected = (1.0 - 0.035) * (d0 / d1) ** 2
    assert e1 / e0 == pytest.approx(expected, rel=0.1)
