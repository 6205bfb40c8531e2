"""Overviews of long recordings: quick (seek) and exact max-pooled (streamed)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core.common.progress import Cancelled
from core.dsp.overview import pooled_overview, quick_overview
from core.dsp.spectrogram import channel_spectrogram


@pytest.fixture
def long_file(tmp_path):
    rng = np.random.default_rng(0)
    n = 24000 * 120  # two minutes
    x = (rng.standard_normal((4, n)) * 0.001).astype(np.float32)
    t = np.arange(2400) / 24000
    x[0, 24000 * 70 : 24000 * 70 + 2400] += 0.5 * np.sin(2 * np.pi * 3000 * t)  # a 100 ms beep at 70 s
    path = tmp_path / "foa_dev" / "long.wav"
    path.parent.mkdir()
    sf.write(path, x.T, 24000, subtype="PCM_16")
    return path, x


def test_pooled_overview_keeps_a_short_event_visible_and_equals_the_whole_file_max(long_file):
    path, x = long_file
    ov = pooled_overview(path, n_columns=240, block_seconds=7.3)  # blocks that do not align with frames
    assert ov.db.shape == (240, 64) and ov.exact and ov.column_s == pytest.approx(0.5)
    loud = ov.db.max(axis=1)
    assert int(np.argmax(loud)) == 140  # 70 s / 0.5 s
    assert loud[140] - np.median(loud) > 40
    # the same as max-pooling the whole file's display spectrogram, frame for frame
    whole = channel_spectrogram(sf.read(path, dtype="float32", always_2d=True)[0].T, 0, "logmel").db
    cols = (np.arange(whole.shape[0]) * 240) // whole.shape[0]
    ref = np.full((240, 64), -np.inf, np.float32)
    np.maximum.at(ref, cols, whole)
    np.testing.assert_allclose(ov.db, ref, atol=1e-3)


def test_quick_overview_reads_one_excerpt_per_column(long_file):
    path, _ = long_file
    ov = quick_overview(path, n_columns=120)
    assert ov.db.shape == (120, 64) and not ov.exact
    # the beep fills the excerpt of the column centred on it (column 70 spans 70-71 s)
    ov2 = quick_overview(path, n_columns=1200)
    assert int(np.argmax(ov2.db.max(axis=1))) == 700


def test_pooled_overview_reports_progress_and_can_be_cancelled(long_file):
    path, _ = long_file
    seen = []
    pooled_overview(path, n_columns=100, block_seconds=30, progress=lambda d, t, s: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and len(seen) == 4
    with pytest.raises(Cancelled):
        pooled_overview(path, n_columns=100, cancel=lambda: True)


def test_detail_of_a_span_equals_the_whole_file_spectrogram_there(long_file):
    from core.dsp.overview import detail_overview
    from core.io.recording import FileRecording

    path, _ = long_file
    rec = FileRecording(path, "foa")
    whole = channel_spectrogram(sf.read(path, dtype="float32", always_2d=True)[0].T, 0, "logmel").db
    d = detail_overview(rec, 69.5, 71.0, max_columns=10_000)  # frames 3475..3549
    assert d.db.shape == (75, 64)
    np.testing.assert_allclose(d.db, whole[3475:3550], atol=1e-3)
    start = detail_overview(rec, 0.0, 0.5, max_columns=10_000)  # the reflect padding at the start
    np.testing.assert_allclose(start.db, whole[:25], atol=1e-3)
    pooled = detail_overview(rec, 60.0, 80.0, max_columns=100)
    assert pooled.db.shape == (100, 64) and pooled.column_s == pytest.approx(0.2)
