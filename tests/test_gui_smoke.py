"""The minimal window: open a recording (call, drop), see its spectrogram, errors as dialogs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")
from tests.qt_helpers import drop_paths  # noqa: E402

pytestmark = pytest.mark.qt


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    from tests.qt_helpers import make_window

    return make_window(qtbot, monkeypatch, tmp_path / "settings.ini")


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
    window.view_bar.format_box.setCurrentText("MIC")
    window.open_path(path)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=10000)
    assert window.session.recording.fmt == "mic"
    assert window.settings.get("recent_files")[0] == str(path)
    assert [a.text() for a in window.recent_menu.actions()][0] == str(path)


def test_a_long_recording_opens_lazily_with_an_overview_and_plays(window, qtbot, tmp_path, monkeypatch):
    from core.io import recording
    from core.io.recording import FileRecording

    monkeypatch.setattr(recording, "LONG_RECORDING_S", 5.0)  # treat a 12 s file as long
    (tmp_path / "foa_dev").mkdir()
    path = _foa_file(tmp_path / "foa_dev" / "long.wav", seconds=12.0)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=10000)
    rec = window.session.recording
    assert isinstance(rec, FileRecording) and rec.duration_s == pytest.approx(12.0)
    # the quick overview first, then the exact max-pooled one from the background
    qtbot.waitUntil(lambda: not window.loader.busy, timeout=10000)
    spec = window.session.spectrogram
    assert spec.db.shape == (
        600,
        64,
    )  # the exact overview: one column per 20 ms frame (the quick one has 1600)
    window.toggle_play()
    block = window.playback.player.signal.block(24000, 100)
    assert block.shape == (100,) and np.abs(block).max() > 0
    window.toggle_play()
    window.energy_box.setChecked(True)
    window.session.set_playhead(6.0)
    qtbot.waitUntil(lambda: window.session.energy_map is not None and not window.energy.busy, timeout=10000)
    assert window.map_view.energy.image is not None


def test_zooming_into_a_long_recording_draws_an_exact_detail(window, qtbot, tmp_path, monkeypatch):
    from core.io import recording

    monkeypatch.setattr(recording, "LONG_RECORDING_S", 5.0)
    (tmp_path / "foa_dev").mkdir()
    path = _foa_file(tmp_path / "foa_dev" / "long.wav", seconds=12.0)
    window.open_path(path)
    # the first spectrogram resets the view to the whole recording: zoom only after it is shown
    qtbot.waitUntil(lambda: window.session.spectrogram is not None, timeout=20000)
    view = window.spectrogram_view
    window.session.set_view_range(2.0, 4.0)

    def detail_left() -> float | None:
        if view.detail.image is None:
            return None
        return view.detail.mapRectToParent(view.detail.boundingRect()).left()

    qtbot.waitUntil(lambda: detail_left() is not None, timeout=20000)
    assert view.detail.image.shape[0] == 64
    assert detail_left() == pytest.approx(2.0, abs=0.03)


def _plain_mic_file(path, seconds=2.0):
    """A MIC recording (the four capsules of a simulated room) in a folder with no DCASE name."""
    from core.synthesis.room import Room
    from core.synthesis.scene import EventSpec, Trajectory, scene_from_specs
    from core.synthesis.sources import generate
    from core.synthesis.spatial import render_scene

    rng = np.random.default_rng(2)
    spec = EventSpec(generate(4, rng)[:24000], 0.2, Trajectory(60.0, 10.0, 2.0))
    mic = render_scene(scene_from_specs(Room.from_rt60((6, 5, 3), 0.4), [spec], seconds), ("mic",))["mic"]
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, mic.T, 24000, subtype="FLOAT")
    return path


def test_an_ordinary_file_asks_for_its_format_with_a_guess_and_the_folder_remembers(window, qtbot, tmp_path):
    asked = []
    window.loader.ask_format = lambda path, guess: asked.append((path, guess)) or ("mic", True)
    first = _plain_mic_file(tmp_path / "my recordings" / "first.wav")
    second = _plain_mic_file(tmp_path / "my recordings" / "second.wav")
    window.open_path(first)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=20000)
    assert window.session.recording.fmt == "mic" and not window.dialogs
    ((path, guess),) = asked
    assert path == first and guess.fmt == "mic" and guess.probability > 0.95
    assert window.settings.folder_format(second) == "mic"
    drop_paths(window, second)  # the same folder: not asked again
    qtbot.waitUntil(lambda: window.session.recording.path == str(second), timeout=20000)
    assert len(asked) == 1 and window.session.recording.fmt == "mic"


def test_the_format_dialog_proposes_the_guess_and_fuma_opens_as_ambix(window, qtbot, tmp_path):
    from core.spatial.ambisonics import ambix_to_fuma
    from core.spatial.format_guess import FormatGuess
    from seldgui.dialogs import FormatDialog

    dialog = FormatDialog(tmp_path / "x" / "a.wav", FormatGuess("mic", 0.93, 0.01, 0.02, 0.1))
    qtbot.addWidget(dialog)
    assert dialog.buttons["mic"].isChecked() and "probably MIC (93 %)" in dialog.hint.text()
    dialog.buttons["foa-fuma"].setChecked(True)
    dialog.remember.setChecked(False)
    assert dialog.choice() == ("foa-fuma", False)
    rng = np.random.default_rng(4)
    s_ = rng.standard_normal(24000)
    ambix = np.stack([s_, 0.5 * s_, 0.1 * s_, -0.8 * s_]).astype(np.float32) * 0.1
    path = tmp_path / "takes" / "fuma.wav"
    path.parent.mkdir()
    sf.write(path, ambix_to_fuma(ambix).T, 24000, subtype="FLOAT")
    window.loader.ask_format = lambda p, guess: ("foa-fuma", False)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=20000)
    rec = window.session.recording
    assert (rec.fmt, rec.convention) == ("foa", "fuma")
    np.testing.assert_allclose(rec.read(0.0, 1.0), ambix, atol=1e-6)
    assert window.settings.folder_format(path) is None  # not remembered when asked not to
    assert "FOA (FuMa)" in window.status_label.text()


def test_cancelling_the_format_question_opens_nothing(window, qtbot, tmp_path):
    window.loader.ask_format = lambda path, guess: None
    path = _plain_mic_file(tmp_path / "plain" / "take.wav", 1.0)
    window.open_path(path)
    qtbot.waitUntil(lambda: not window.loader.busy, timeout=20000)
    assert window.session.recording is None and "was not opened" in window.status_label.text()
    assert window.time_panels.currentWidget() is window.time_panels.hint


def test_dcase_folders_decide_without_asking(window, qtbot, tmp_path):
    # (the window of these tests fails the test if it asks: tests.qt_helpers.refuse_to_ask)
    path = _plain_mic_file(tmp_path / "foa_dev" / "take.wav", 1.0)  # MIC samples in a foa_ folder
    window.open_path(path)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=20000)
    assert window.session.recording.fmt == "foa"  # the folder says so: nothing is guessed


def test_the_empty_window_shows_a_hint_instead_of_axes(window, qtbot, tmp_path):
    panels = window.time_panels
    assert panels.currentWidget() is panels.hint and panels.hint.isVisible()
    assert panels.hint.text() == "Drop a recording here, or File › Open"
    (tmp_path / "foa_dev").mkdir()
    window.open_path(_foa_file(tmp_path / "foa_dev" / "a.wav"))
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=10000)
    assert panels.currentWidget() is panels.splitter and not panels.hint.isVisible()


def test_every_background_job_is_counted_once_whatever_its_end(window, qtbot, tmp_path, monkeypatch):
    from core.dsp import overview

    (tmp_path / "foa_dev").mkdir()
    window.open_path(_foa_file(tmp_path / "foa_dev" / "a.wav"))
    qtbot.waitUntil(lambda: window.session.recording is not None and not window.loader.busy, timeout=10000)
    assert window.loader.jobs == 0

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in a view reload")

    monkeypatch.setattr(overview, "recording_spectrogram", broken)
    crashes = []
    window.loader.crashed.connect(crashes.append)
    window.view_bar.kind_box.setCurrentText("stft")
    assert window.loader.jobs == 1
    qtbot.waitUntil(lambda: bool(crashes), timeout=10000)
    assert window.loader.jobs == 0 and "ZeroDivisionError" in crashes[0]
    assert window.dialogs[-1] == ("Unexpected error", "ZeroDivisionError: a bug in a view reload")
    window.open_path(tmp_path / "missing.wav")  # a failed open: counted and uncounted too
    qtbot.waitUntil(lambda: len(window.dialogs) == 2, timeout=10000)
    assert window.loader.jobs == 0 and "missing.wav" in window.dialogs[-1][1]


def test_the_window_uses_most_of_the_screen_first_then_its_last_geometry(qtbot, tmp_path, monkeypatch):
    from seldgui import main_window
    from seldgui.settings import Settings

    monkeypatch.setattr(main_window, "show_error", lambda *a: None)
    store = tmp_path / "settings.ini"
    first = main_window.MainWindow(settings=Settings.at(store))
    qtbot.addWidget(first)
    screen = first.screen().availableGeometry()
    assert (first.width(), first.height()) == (int(0.9 * screen.width()), int(0.9 * screen.height()))
    first.resize(600, 500)  # (not shown: the offscreen screen is smaller than the laid-out window)
    first.move(30, 20)
    assert first.close()
    second = main_window.MainWindow(settings=Settings.at(store))
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (600, 500)


def test_garbage_is_collected_on_the_gui_thread_while_work_runs_in_the_pool(qtbot):
    """Collecting a Qt wrapper in a pool thread would destroy its object there (a deadlock with
    the GUI thread): while work runs, automatic collection is off and the GUI thread collects."""
    import gc
    import threading

    from PySide6.QtCore import QThreadPool

    from seldgui import workers

    assert QThreadPool.globalInstance().waitForDone(30000)  # nothing of earlier tests still runs
    assert gc.isenabled()
    release, seen = threading.Event(), []
    workers.submit(lambda: release.wait(10) and gc.isenabled(), seen.append)
    assert not gc.isenabled()  # off from the moment the work is handed over
    garbage = []
    garbage.append(garbage)  # a cycle: only the collector frees it
    gc.collect()
    before = gc.get_count()[0]
    for _ in range(gc.get_threshold()[0] + 10):
        garbage = [garbage]
        garbage.append(garbage)
    assert gc.get_count()[0] > before  # not collected automatically meanwhile
    qtbot.waitUntil(lambda: gc.get_count()[0] < before + 5, timeout=5000)  # the GUI thread's timer did
    release.set()
    qtbot.waitUntil(lambda: bool(seen), timeout=10000)
    assert seen == [False] and gc.isenabled()


def test_the_file_list_of_a_plain_folder_asks_too(window, qtbot, tmp_path):
    asked = []
    window.loader.ask_format = lambda path, guess: asked.append(guess) or ("mic", False)
    folder = tmp_path / "field"
    _plain_mic_file(folder / "take1.wav", 1.0)
    drop_paths(window, folder)
    item = window.file_panel.tree.topLevelItem(0)
    assert item.text(1) == "?"  # the folder does not say
    window.file_panel.tree.itemActivated.emit(item, 0)
    qtbot.waitUntil(lambda: window.session.recording is not None, timeout=20000)
    assert [g.fmt for g in asked] == ["mic"] and window.session.recording.fmt == "mic"
    assert window.settings.folder_format(folder / "take1.wav") is None  # "remember" was not ticked


def test_pages_beside_review_hide_the_review_docks_and_bring_them_back(window, qtbot):
    from PySide6.QtWidgets import QLabel

    assert [window.pages.tabText(i) for i in range(window.pages.count())] == ["Review", "Batch", "Train"]
    assert window.metrics_dock.isVisible() and not window.files_dock.isVisible()
    index = window.add_page("Other", QLabel("another page"))
    window.pages.setCurrentIndex(index)
    assert not window.metrics_dock.isVisible() and not window.event_dock.isVisible()
    window.pages.setCurrentIndex(0)
    assert window.metrics_dock.isVisible()  # shown again; the files dock, hidden before, stays hidden
    assert not window.files_dock.isVisible()


def test_a_model_chosen_on_the_train_page_is_the_one_f5_runs(window, qtbot, tmp_path):
    from tests.test_package import tiny_package

    path = tiny_package(tmp_path)[0]
    window.pages.setCurrentWidget(window.training_page)
    window.training_page.use_model_requested.emit(path)
    assert window.runner.model_path == path
    assert window.pages.currentWidget() is window.review_page


def test_closing_with_a_run_going_asks_the_train_page(window, monkeypatch):
    from PySide6.QtGui import QCloseEvent

    asked = []
    monkeypatch.setattr(window.training_page, "confirm_close", lambda: asked.append(1) or False)
    event = QCloseEvent()
    window.closeEvent(event)
    assert asked == [1] and not event.isAccepted()
    monkeypatch.setattr(window.training_page, "confirm_close", lambda: True)
    event = QCloseEvent()
    window.closeEvent(event)
    assert event.isAccepted()
