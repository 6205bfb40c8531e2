"""Rigid-sphere (Eigenmike em32) capsule model of the MIC format: formula, FIR table, diffuse field, mismatch."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import scipy.special

from core.spatial.directions import azel_to_xyz
from core.spatial.mic_array import MIC_CAPSULES_DEG, mic_capsule_unit_vectors
from core.synthesis.room import Room, random_room
from core.synthesis.scene import EventSpec, Trajectory, scene_from_specs
from core.synthesis.spatial import diffuse_noise, early_rir, render_scene
from core.synthesis.sphere import (
    FIR_CENTRE,
    FRAC_STEPS,
    GAMMA_STEPS,
    apply_capsule_mismatch,
    diffuse_sphere_covariance,
    modal_strength,
    sphere_fir_table,
    sphere_response,
)

FS = 24000
C = 343.0
A = 0.042


def _fibonacci(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    polar, turn = np.arccos(1 - 2 * i / n), np.pi * (1 + 5**0.5) * i
    return np.stack([np.sin(polar) * np.cos(turn), np.sin(polar) * np.sin(turn), np.cos(polar)], axis=1)


def test_the_series_reduces_to_the_textbook_forms():
    f = np.array([300.0, 3000.0, 11000.0])
    ka = 2 * np.pi * f * A / C
    cg = np.cos(np.radians([0.0, 40.0, 90.0, 140.0, 180.0]))
    # truncation at ceil(e ka) + 10 equals n = 60
    assert np.allclose(sphere_response(cg, f), sphere_response(cg, f, n_max=60), atol=1e-9)
    # b_n = i^n (j_n - j_n'/h_n' h_n) at the surface (h = h^(2) in the DFT's e^{+iwt} sign convention)
    n = np.arange(8)
    x = ka[:, None]
    h2 = scipy.special.spherical_jn(n, x) - 1j * scipy.special.spherical_yn(n, x)
    dh2 = scipy.special.spherical_jn(n, x, True) - 1j * scipy.special.spherical_yn(n, x, True)
    direct = 1j**n * (scipy.special.spherical_jn(n, x) - scipy.special.spherical_jn(n, x, True) / dh2 * h2)
    assert np.allclose(modal_strength(ka, 7), direct, atol=1e-12)
    # the free-field analogue i^n j_n sums to the plane wave exp(+i ka cos γ) (same sign convention)
    nn = np.arange(40)
    free = (scipy.special.eval_legendre(nn[:, None], cg) * (2 * nn + 1)[:, None]).T @ (
        1j**nn * scipy.special.spherical_jn(nn, ka[:, None])
    ).T
    assert np.allclose(free, np.exp(1j * np.outer(cg, ka)), atol=1e-10)


def test_low_frequency_limit_is_omni_with_three_halves_of_the_projection_delay():
    f = np.array([30.0])
    k = 2 * np.pi * f[0] / C
    for g in (0.0, 35.0, 70.0, 110.0, 180.0):
        s = sphere_response([np.cos(np.radians(g))], f)[0, 0]
        assert abs(s) == pytest.approx(1.0, abs=1e-3)
        if abs(np.cos(np.radians(g))) > 0.3:  # phase advance = 1.5 k a cos γ (free field: 1.0)
            assert np.angle(s) / (k * A * np.cos(np.radians(g))) == pytest.approx(1.5, abs=0.01)


def test_front_capsule_tends_to_pressure_doubling_and_the_back_is_shadowed():
    f = np.array([4000.0, 8000.0, 11000.0])
    front = 20 * np.log10(np.abs(sphere_response([1.0], f)[0]))
    assert np.all(np.diff(front) > 0) and front[-1] > 5.5 and front[-1] < 6.5  # -> +6 dB
    back = 20 * np.log10(np.abs(sphere_response(np.cos(np.radians(np.arange(110, 171, 5))), f)))
    assert np.all(back[:, 1:].mean(axis=0) < -2.0)  # shadow (the Poisson spot is right at 180°)
    spot = 20 * np.log10(np.abs(sphere_response([-1.0], f)[0]))
    assert np.all(spot > back.mean(axis=0))


def test_energy_and_reciprocity():
    u = _fibonacci(6000)
    caps = mic_capsule_unit_vectors()
    f = np.array([500.0, 3000.0, 9000.0])
    s = sphere_response(u @ caps[0], f)  # (directions, F)
    mic, w, d = diffuse_sphere_covariance(f)
    # diffuse-field power = mean |S|^2 over directions = Σ (2n+1)|b_n|^2 (Parseval / addition theorem)
    assert np.allclose(np.mean(np.abs(s) ** 2, axis=0), mic[:, 0, 0].real, rtol=2e-3)
    assert (
        np.all(np.diff(10 * np.log10(mic[:, 0, 0].real)) > 0)
        and 1.5 < 10 * np.log10(mic[-1, 0, 0].real) < 3.0
    )
    # coherence magnitude at most 1, and the W / dipole cross terms equal the directional averages
    coh = np.abs(mic) / np.sqrt(np.einsum("fii,fjj->fij", mic, mic).real)
    assert np.all(coh <= 1 + 1e-9)
    assert np.allclose(np.mean(np.conj(s), axis=0), w[:, 0], atol=2e-3)
    assert np.allclose(np.mean(u[:, 0, None] * np.conj(s), axis=0), d[:, 2, 0], atol=2e-3)
    # reciprocity / symmetry: swapping the source direction and the capsule direction gives the same S
    r = np.random.default_rng(0).standard_normal((2, 3))
    r /= np.linalg.norm(r, axis=1, keepdims=True)
    assert np.allclose(sphere_response([r[0] @ r[1]], f), sphere_response([r[1] @ r[0]], f))
    # a plane wave from each capsule's own direction gives every capsule the same response at γ = 0
    room = Room.anechoic(60.0)
    sources = np.asarray(room.receiver) + 20.0 * azel_to_xyz(*np.asarray(MIC_CAPSULES_DEG).T)
    h = early_rir(room, sources)[:, 4:]
    own = np.stack([h[c, c] for c in range(4)])
    assert np.allclose(own, own[0], atol=2e-4 * np.abs(own).max())


def test_fir_table_matches_the_formula():
    table = sphere_fir_table()
    assert table.shape == (GAMMA_STEPS + 1, FRAC_STEPS + 1, 48)
    freqs = np.fft.rfftfreq(4096, 1 / FS)
    band = (freqs >= 50) & (freqs <= 10000)
    worst_db = worst_deg = 0.0
    for g_deg in (0.0, 20.0, 45.0, 77.5, 90.0, 125.25, 160.0, 180.0):
        gi = int(round(g_deg * GAMMA_STEPS / 180))
        ref = sphere_response([np.cos(np.radians(g_deg))], freqs[band])[0]
        for j in (0, 31, 64, 128):
            h = np.fft.rfft(table[gi, j].astype(np.float64), 4096)[band]
            h *= np.exp(2j * np.pi * freqs[band] * (FIR_CENTRE + j / FRAC_STEPS) / FS)
            worst_db = max(worst_db, float(np.max(np.abs(20 * np.log10(np.abs(h / ref))))))
            worst_deg = max(worst_deg, float(np.degrees(np.max(np.abs(np.angle(h / ref))))))
    assert worst_db < 0.1 and worst_deg < 1.0, (worst_db, worst_deg)


def test_diffuse_noise_has_the_rigid_sphere_coherence():
    x = diffuse_noise(20 * FS, np.random.default_rng(3), pink=False)
    f, _ = scipy.signal.csd(x[4], x[4], fs=FS, nperseg=256)
    pick = [np.argmin(np.abs(f - v)) for v in (1000.0, 3000.0, 6000.0, 9000.0)]
    mic, w, _ = diffuse_sphere_covariance(f[pick])
    for i, j in ((0, 1), (0, 2), (1, 3)):
        _, sij = scipy.signal.csd(x[4 + i], x[4 + j], fs=FS, nperseg=256)
        _, sii = scipy.signal.csd(x[4 + i], x[4 + i], fs=FS, nperseg=256)
        _, sjj = scipy.signal.csd(x[4 + j], x[4 + j], fs=FS, nperseg=256)
        est = (sij / np.sqrt(sii * sjj)).real[pick]
        theory = mic[:, i, j].real / np.sqrt(mic[:, i, i].real * mic[:, j, j].real)
        assert np.allclose(est, theory, atol=0.04), (i, j, est, theory)
    # W - capsule cross-spectrum: conj(b_0) (scipy's csd(x, y) estimates E[conj(X) Y])
    _, s0 = scipy.signal.csd(x[4], x[0], fs=FS, nperseg=256)
    _, s00 = scipy.signal.csd(x[0], x[0], fs=FS, nperseg=256)
    assert np.allclose((s0 / s00)[pick], w[:, 0], atol=0.04)


def test_capsule_mismatch_is_small_deterministic_and_applied():
    rooms = [random_room(np.random.default_rng(s)) for s in range(30)]
    gains = np.array([r.capsule_gain_db for r in rooms])
    assert np.all(np.abs(gains) <= 1.0) and 0.3 < gains.std() < 0.7
    assert all(max(abs(v) for v in r.capsule_delay_us) <= 2.0 for r in rooms)
    assert random_room(np.random.default_rng(4)) == rooms[4]
    assert Room.from_rt60((6.0, 5.0, 3.0), 0.4).capsule_gain_db == (0.0,) * 4
    room = rooms[0]
    x = np.random.default_rng(1).standard_normal((4, FS))
    y = apply_capsule_mismatch(x, room)
    f, p_in = scipy.signal.welch(x, fs=FS, nperseg=512)
    _, p_out = scipy.signal.welch(y, fs=FS, nperseg=512)
    low = (f > 100) & (f < 1000)
    level = 10 * np.log10(p_out[:, low].mean(axis=1) / p_in[:, low].mean(axis=1))
    assert np.allclose(level, room.capsule_gain_db, atol=0.05)
    # the rendered MIC of a mismatched room differs from the ideal one by about the gains
    ideal = Room.from_rt60(room.size, room.rt60, receiver=room.receiver)
    mismatched = Room(
        ideal.size, ideal.absorption, ideal.receiver, ideal.rt60, capsule_gain_db=room.capsule_gain_db
    )
    spec = [
        EventSpec(
            0.1 * np.random.default_rng(2).standard_normal(FS).astype(np.float32), 0.2, Trajectory(30, 10, 2)
        )
    ]
    out = [
        render_scene(scene_from_specs(r, spec, 1.5, snr_db=float("inf"), noise_seed=1))["mic"]
        for r in (ideal, mismatched)
    ]
    ratio = 10 * np.log10(
        np.mean(out[1].astype(float) ** 2, axis=1) / np.mean(out[0].astype(float) ** 2, axis=1)
    )
    assert np.allclose(ratio, room.capsule_gain_db, atol=0.01)
