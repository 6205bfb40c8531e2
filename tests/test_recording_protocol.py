"""One protocol for every open recording: in memory (Recording) or read on demand (FileRecording)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core.io.audio import Recording, load_recording
from core.io.recording import FileRecording, RecordingLike, open_recording


@pytest.fixture
def wav(tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (48000 * 3, 4)).astype(np.float32)
    path = tmp_path / "clip.wav"
    sf.write(path, x, 48000, subtype="FLOAT")  # resampled to 24 kHz when read
    return path


def test_both_kinds_read_the_same_samples_the_same_ways(wav):
    whole = load_recording(wav, fmt="foa")
    lazy = FileRecording(wav, "foa")
    for rec in (whole, lazy):
        assert isinstance(rec, RecordingLike)
    assert (lazy.n_samples, lazy.duration_s, lazy.channel_names) == (
        whole.n_samples,
        3.0,
        ("W", "Y", "Z", "X"),
    )
    np.testing.assert_allclose(lazy.read(1.25, 1.5), whole.read(1.25, 1.5), atol=1e-6)
    assert whole.read(1.25, 1.5).shape == (4, 6000)
    np.testing.assert_allclose(lazy.read_samples(71990, 20), whole.read_samples(71990, 20), atol=1e-6)
    assert (whole.read_samples(71990, 20)[:, 10:] == 0).all()  # zeros past the end
    blocks = [(k, b.shape[1]) for k, b in whole.blocks(1.0, 0.5, 2.2)]
    assert (
        blocks == [(k, b.shape[1]) for k, b in lazy.blocks(1.0, 0.5, 2.2)] == [(12000, 24000), (36000, 16800)]
    )


def test_a_fuma_file_reads_as_ambix_either_way(tmp_path):
    from core.spatial.ambisonics import ambix_to_fuma

    ambix = np.random.default_rng(1).uniform(-0.3, 0.3, (4, 24000)).astype(np.float32)
    path = tmp_path / "fuma.wav"
    sf.write(path, ambix_to_fuma(ambix).T, 24000, subtype="FLOAT")
    whole = load_recording(path, fmt="foa", convention="fuma")
    lazy = FileRecording(path, "foa", convention="fuma")
    assert whole.convention == lazy.convention == "fuma"
    np.testing.assert_allclose(whole.samples, ambix, atol=1e-6)
    np.testing.assert_allclose(lazy.read(0.0, 1.0), ambix, atol=1e-6)


def test_open_recording_keeps_long_files_on_disk(wav, monkeypatch):
    from core.io import recording

    assert isinstance(open_recording(wav, "mic"), Recording)
    monkeypatch.setattr(recording, "LONG_RECORDING_S", 2.0)
    rec = open_recording(wav, "mic")
    assert isinstance(rec, FileRecording) and rec.fmt == "mic"


def test_the_energy_map_and_the_spectrogram_are_the_same_for_both(wav):
    from core.dsp.energy_map import energy_map, energy_map_at
    from core.dsp.overview import recording_spectrogram

    whole, lazy = load_recording(wav, fmt="foa"), FileRecording(wav, "foa")
    a, b = energy_map_at(whole, 1.5), energy_map_at(lazy, 1.5)
    np.testing.assert_allclose(a.values, b.values, atol=1e-4)
    np.testing.assert_allclose(a.values, energy_map(whole.samples, "foa", 1.5).values, atol=1e-6)
    np.testing.assert_allclose(
        recording_spectrogram(lazy, 2).db, recording_spectrogram(whole, 2).db, atol=1e-3
    )
