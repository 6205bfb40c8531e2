"""Playback: virtual microphones on FOA plane waves, the transport clock, silent output."""

from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import SeldError
from core.session.playback import PlaybackSignal, Player, SilentOutput, virtual_microphone


def _plane_wave(az, el, n=1000):
    s = np.random.default_rng(0).standard_normal(n)
    a, e = np.deg2rad(az), np.deg2rad(el)
    return np.stack([s, s * np.cos(e) * np.sin(a), s * np.sin(e), s * np.cos(e) * np.cos(a)]).astype(
        np.float32
    ), s


@pytest.mark.parametrize(
    ("pattern", "behind", "side"), [("cardioid", 0.0, 0.5), ("hypercardioid", -0.5, 0.25), ("omni", 1.0, 1.0)]
)
def test_virtual_microphone_gains_follow_the_first_order_pattern(pattern, behind, side):
    foa, s = _plane_wave(30, 20)
    np.testing.assert_allclose(virtual_microphone(foa, 30, 20, pattern), s, atol=1e-5)  # on axis: gain 1
    np.testing.assert_allclose(virtual_microphone(foa, -150, -20, pattern), behind * s, atol=1e-5)
    # 90 degrees off axis: only the omni part remains
    side_foa, side_s = _plane_wave(90, 0)
    np.testing.assert_allclose(virtual_microphone(side_foa, 0, 0, pattern), side * side_s, atol=1e-5)


def test_signal_blocks_switch_between_channel_and_direction():
    foa, s = _plane_wave(-90, 0)
    sig = PlaybackSignal(foa, "foa")
    np.testing.assert_allclose(sig.block(10, 5), s[10:15], atol=1e-6)  # W by default
    sig.listen_to(90, 0, "cardioid")  # opposite to the source: the cardioid's null
    assert np.abs(sig.block(0, 1000)).max() < 1e-5
    tail = sig.block(995, 10)
    assert tail.shape == (10,) and (tail[5:] == 0).all()
    sig.listen_to_channel(1)
    np.testing.assert_allclose(sig.block(0, 3), foa[1, :3])
    with pytest.raises(SeldError, match="FOA"):
        PlaybackSignal(foa, "mic").listen_to(0, 0)
    with pytest.raises(SeldError, match="pattern"):
        sig.listen_to(0, 0, "shotgun")


def test_player_position_follows_the_clock_and_stops_at_the_end():
    now = [100.0]
    player = Player(
        PlaybackSignal(np.zeros((4, 24000 * 3), np.float32), "foa"), SilentOutput(), clock=lambda: now[0]
    )
    player.play(1.0)
    now[0] += 0.5
    assert player.position() == pytest.approx(1.5)
    player.pause()
    now[0] += 10
    assert player.position() == pytest.approx(1.5) and not player.playing
    player.seek(2.5)
    player.play()
    now[0] += 2.0
    assert player.position() == pytest.approx(3.0) and not player.playing
    player.play()  # from the end: starts again at 0
    assert player.position() == pytest.approx(0.0)


def test_player_pulls_consecutive_blocks():
    x = np.arange(48000, dtype=np.float32)[None].repeat(4, axis=0) / 48000
    player = Player(PlaybackSignal(x, "mic"), SilentOutput(), clock=lambda: 0.0)
    player.play(0.5)
    a, b = player._pull(100), player._pull(100)
    np.testing.assert_allclose(np.concatenate([a, b]), x[0, 12000:12200])
