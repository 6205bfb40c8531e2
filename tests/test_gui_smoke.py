"""The minimal window: open a recording (call, drop), see its spectrogram, errors as dialogs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")
from tests.qt_helpers import drop_paths  # noqa: E402

pytestmark = pytest.mark.qt


@pytest.fixture
def window(qtbot, monkeypatch):
    from seldgui import main_window

    dialogs: list[tuple[str, str]] = []
    monkeypatch.setattr(main_window, "show_error", lambda parent, title, msg: dialogs.append((title, msg)))
    win = main_window.MainWindow()
    win.dialogs = dialogs
    qtbot.addWidget(win)
    win.show()
    return win


def _foa_file(path, seconds=2.0):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((int(24000 * seconds), 4)) * 0.05).astype(np.float32)
    sf.write(path, x, 24000, subtype="PCM_16")
    return path


def test_open_shows_the_spectrogram_of_the_recording(window, qtbot, tmp_path):
    (tmp_path / "foa_dev").mkdir()
    path = _foa_file(tmp_path / "foa_dev" / "clip.wav")
    window.open_path(path)
    qtbot.waitUntil(lambda: window.session.spectrogram is not None, timeout=10000)
    img = window.spectrogram_view.image.image
    assert img.shape == (64, 100)  # 64 mel bands x ceil(48000 / 480) frames
    assert window.session.recording.fmt == "foa"
    assert "clip.wav" in window.windowTitle()


def test_dropping_a_file_opens_it(window, qtbot, tmp_path):
    (tmp_path / "mic_eval").mkdir()
    path = _foa_file(tmp_path / "mic_eval" / "drop.flac", seconds=1.0)
    drop_paths(window, path)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=10000)
    assert window.session.recording.fmt == "mic"
    assert window.spectrogram_view.image.image.shape == (64, 50)


def test_a_corrupt_file_gives_a_dialog_and_keeps_the_open_recording(window, qtbot, tmp_path):
    (tmp_path / "foa_dev").mkdir()
    good = _foa_file(tmp_path / "foa_dev" / "good.wav")
    window.open_path(good)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=10000)
    bad = tmp_path / "foa_dev" / "broken.wav"
    bad.write_bytes(b"this is not audio at all" * 10)
    window.open_path(bad)
    qtbot.waitUntil(lambda: len(window.dialogs) > 0, timeout=10000)
    title, message = window.dialogs[0]
    assert "broken.wav" in message
    assert window.session.recording.path.endswith("good.wav")


def test_dropping_a_dcase_folder_fills_the_file_list_and_opens_by_double_click(window, qtbot, tmp_path):
    from tests.fixtures_data import make_tiny_dataset

    root = make_tiny_dataset(tmp_path / "data", "mic", folds=(1, 2), clips_per_fold=1, seconds=1.0)
    drop_paths(window, root)
    tree = window.file_panel.tree
    assert tree.topLevelItemCount() == 2 and not window.files_dock.isHidden()
    item = tree.topLevelItem(1)
    assert (item.text(0), item.text(1), item.text(2), item.text(3)) == (
        "fold2_room1_mix001_ov1",
        "MIC",
        "2",
        "yes",
    )
    tree.itemActivated.emit(item, 0)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=10000)
    assert window.session.recording.fmt == "mic" and window.session.reference is not None


def test_the_format_control_overrides_the_folder_and_recent_files_are_kept(window, qtbot, tmp_path):
    (tmp_path / "foa_dev").mkdir()
    path = _foa_file(tmp_path / "foa_dev" / "clip.wav", seconds=1.0)
    window.format_box.setCurrentText("MIC")
    window.open_path(path)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=10000)
    assert window.session.recording.fmt == "mic"
    assert window._recent()[0] == str(path)
    assert [a.text() for a in window.recent_menu.actions()][0] == str(path)


def test_a_long_recording_opens_lazily_with_an_overview_and_plays(window, qtbot, tmp_path, monkeypatch):
    from core.dsp import overview

    monkeypatch.setattr(overview, "LONG_RECORDING_S", 5.0)  # treat a 12 s file as long
    (tmp_path / "foa_dev").mkdir()
    path = _foa_file(tmp_path / "foa_dev" / "long.wav", seconds=12.0)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=10000)
    rec = window.session.recording
    assert getattr(rec, "lazy", False) and rec.duration_s == pytest.approx(12.0)
    # the quick overview first, then the exact max-pooled one from the background
    qtbot.waitUntil(
        lambda: window.session.spectrogram is not None and window.session.spectrogram.db.shape[1] == 64,
        timeout=10000,
    )
    window.toggle_play()
    block = window.player.signal.block(24000, 100)
    assert block.shape == (100,) and np.abs(block).max() > 0
    window.toggle_play()
    window.map_view.set_energy_enabled(True)
    window.session.set_playhead(6.0)
    assert window.map_view.energy.image is not None


def test_zooming_into_a_long_recording_draws_an_exact_detail(window, qtbot, tmp_path, monkeypatch):
    from core.dsp import overview

    monkeypatch.setattr(overview, "LONG_RECORDING_S", 5.0)
    (tmp_path / "foa_dev").mkdir()
    path = _foa_file(tmp_path / "foa_dev" / "long.wav", seconds=12.0)
    window.open_path(path)
    # the first spectrogram resets the view to the whole recording: zoom only after it is shown
    qtbot.waitUntil(lambda: window.session.spectrogram is not None, timeout=20000)
    view = window.spectrogram_view
    view.plot.setXRange(2.0, 4.0, padding=0)

    def detail_left() -> float | None:
        if view.detail.image is None:
            return None
        return view.detail.mapRectToParent(view.detail.boundingRect()).left()

    qtbot.waitUntil(lambda: detail_left() is not None, timeout=20000)
    assert view.detail.image.shape[0] == 64
    assert detail_left() == pytest.approx(2.0, abs=0.03)
