"""Model-free direction maps: FOA intensity histogram and MIC SRP-PHAT point at a source."""

from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import SeldError
from core.dsp.energy_map import energy_map, foa_energy_map, mic_srp_map
from core.spatial.mic_array import mic_capsule_positions


def _angular(a1, e1, a2, e2):
    a1, e1, a2, e2 = map(np.deg2rad, (a1, e1, a2, e2))
    c = np.sin(e1) * np.sin(e2) + np.cos(e1) * np.cos(e2) * np.cos(a1 - a2)
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


@pytest.mark.parametrize(("az", "el"), [(0, 0), (90, 30), (-135, -20), (170, 45)])
def test_foa_map_peaks_at_a_plane_waves_direction(az, el):
    rng = np.random.default_rng(1)
    s = rng.standard_normal(24000)
    a, e = np.deg2rad(az), np.deg2rad(el)
    foa = np.stack([s, s * np.cos(e) * np.sin(a), s * np.sin(e), s * np.cos(e) * np.cos(a)])
    foa += rng.standard_normal(foa.shape) * 0.01
    m = foa_energy_map(foa, 0.5)
    assert m.values.shape == (36, 72) and m.values.max() == 1.0
    assert _angular(*m.peak(), az, el) < 6  # 5-degree bins


def _mic_plane_wave(az, el, n=24000, up=16):
    """Capsule signals of a far-field plane wave (fractional delays by FFT phase shift)."""
    rng = np.random.default_rng(2)
    s = rng.standard_normal(n)
    a, e = np.deg2rad(az), np.deg2rad(el)
    u = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    delays = -(mic_capsule_positions() @ u) / 343.0 * 24000  # samples, relative to the centre
    spec = np.fft.rfft(s)
    f = np.fft.rfftfreq(n)
    return np.stack([np.fft.irfft(spec * np.exp(-2j * np.pi * f * d), n=n) for d in delays])


@pytest.mark.parametrize(("az", "el"), [(0, 0), (60, 20), (-100, -10), (150, 30)])
def test_mic_srp_peaks_near_the_source(az, el):
    m = mic_srp_map(_mic_plane_wave(az, el), 0.5)
    # a 4.2 cm array resolves directions coarsely: within 15 degrees
    assert _angular(*m.peak(), az, el) < 15


def test_energy_map_dispatch_and_errors():
    x = np.zeros((4, 2400))
    with pytest.raises(SeldError, match="format"):
        energy_map(x, "stereo", 0.05)
    with pytest.raises(SeldError, match="4-channel"):
        foa_energy_map(np.zeros((2, 2400)), 0.05)
    with pytest.raises(SeldError, match="no audio"):
        foa_energy_map(x, 10.0)
