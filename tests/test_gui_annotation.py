"""Annotation in the window: drag to create, move and resize; set directions on the map,
sphere and tracks; undo/redo; save and reload; validation; autosave recovery; prompts."""

from __future__ import annotations

from pathlib import Path
from tempfile import mkdtemp

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")

from tests.qt_helpers import (  # noqa: E402
    mouse_drag,
    refuse_to_ask,
    wait_for_layout,
    wait_until_settled,
    widget_point,
)

pytestmark = pytest.mark.qt

LABELS = "10,1,0,30,0\n11,1,0,32,0\n12,1,0,34,0\n20,4,0,-170,10\n21,4,0,175,10\n"


def _make_recording(tmp_path, labels: str | None = LABELS):
    folder = tmp_path / "foa_dev"
    folder.mkdir(exist_ok=True)
    audio = folder / "scene.wav"
    sf.write(audio, np.zeros((24000 * 4, 4), np.float32), 24000, subtype="PCM_16")
    (tmp_path / "metadata_dev").mkdir(exist_ok=True)
    if labels is not None:
        (tmp_path / "metadata_dev" / "scene.csv").write_text(labels)
    return audio


def _open_window(qtbot, monkeypatch, audio, errors=None, settings_file=None):
    from PySide6.QtWidgets import QMessageBox

    from seldgui import main_window
    from seldgui.settings import Settings

    sink = errors if errors is not None else []
    monkeypatch.setattr(main_window, "show_error", lambda _w, title, msg: sink.append((title, msg)))
    monkeypatch.setattr("seldgui.errors.show_error", lambda _w, title, msg: sink.append((title, msg)))
    # pytest-qt closes the windows at teardown: unsaved test edits are discarded, not asked about
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Discard)
    store = settings_file or (audio.parent.parent if audio is not None else Path(mkdtemp())) / "settings.ini"
    win = main_window.MainWindow(settings=Settings.at(store))
    win.loader.ask_format = refuse_to_ask
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    if audio is not None:
        win.open_path(audio)
        qtbot.waitUntil(lambda: win.session.recording is not None, timeout=10000)
    return win


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    win = _open_window(qtbot, monkeypatch, _make_recording(tmp_path))
    win.session.set_view_range(0, 4)
    return win


def _lane_drag(win, points):
    plot = win.lanes_view.plot
    mouse_drag(plot, plot.getPlotItem().getViewBox(), points)


def test_dragging_in_a_lane_creates_one_event_in_one_undo_step(window):
    window.session.set_editing(True)
    before = window.annotation.stack.count()
    _lane_drag(window, [(0.52, 6.5), (1.0, 6.5), (1.48, 6.5)])
    created = [e for e in window.session.annotation.events if e.cls == 6]
    assert len(created) == 1
    e = created[0]
    assert (e.start, e.end, e.track) == (5, 15, 0)
    assert window.session.selected_ids == {e.id}
    assert window.annotation.stack.count() == before + 1  # the whole drag is one step
    assert window.isWindowModified()
    window.annotation.stack.undo()
    assert not [x for x in window.session.annotation.events if x.cls == 6]
    assert not window.isWindowModified()
    window.annotation.stack.redo()
    assert [(x.start, x.end) for x in window.session.annotation.events if x.cls == 6] == [(5, 15)]
    # the lanes draw it
    assert any(abs(b.rect().left() - 0.5) < 1e-6 for b in window.lanes_view.reference_items)


def test_a_new_event_points_where_playback_listens(window):
    window.session.pick_direction(-75.0, 12.0)  # outside edit mode: listen there
    window.session.set_editing(True)
    _lane_drag(window, [(2.5, 7.5), (3.5, 7.5)])
    (new,) = [e for e in window.session.annotation.events if e.cls == 7]
    assert new.direction_at(new.start) == (-75.0, 12.0)


def test_without_edit_mode_a_drag_pans_and_changes_nothing(window):
    _lane_drag(window, [(0.5, 6.5), (1.5, 6.5)])
    assert len(window.session.annotation) == 2 and window.annotation.stack.count() == 0


def test_dragging_an_event_moves_it_and_its_edge_resizes_it(window):
    window.session.set_editing(True)
    baby = next(e for e in window.session.annotation.events if e.cls == 1)  # frames 10-13
    _lane_drag(window, [(1.15, 1.5), (1.65, 1.5)])  # grab the middle, 0.5 s later
    moved = window.session.annotation[baby.id]
    assert (moved.start, moved.end) == (15, 18)
    assert [k.frame for k in moved.keyframes] == [k.frame + 5 for k in baby.keyframes]
    _lane_drag(window, [(1.8, 1.5), (2.5, 1.5)])  # the right edge, out to 2.5 s
    resized = window.session.annotation[baby.id]
    assert (resized.start, resized.end) == (15, 25)
    assert window.annotation.stack.count() == 2
    window.annotation.stack.undo()
    window.annotation.stack.undo()
    assert window.session.annotation[baby.id] == baby


def test_ctrl_click_adds_to_the_selection_and_delete_removes_both(window, qtbot):
    from PySide6.QtCore import Qt

    window.session.set_editing(True)
    plot = window.lanes_view.plot
    vb = plot.getPlotItem().getViewBox()
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_point(plot, vb, 1.1, 1.5))
    qtbot.mouseClick(
        plot.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ControlModifier,
        pos=widget_point(plot, vb, 2.05, 4.5),
    )
    assert len(window.session.selected_ids) == 2
    window.named_actions["delete"].trigger()
    assert len(window.session.annotation) == 0
    window.annotation.stack.undo()
    assert len(window.session.annotation) == 2


def test_a_drag_on_the_spectrogram_creates_an_event_of_the_chosen_class(window):
    window.session.set_editing(True)
    window.labels_bar.class_box.setCurrentIndex(8)
    plot = window.spectrogram_view.plot
    mouse_drag(plot, plot.getPlotItem().getViewBox(), [(2.5, 3000.0), (3.5, 3000.0)])
    (new,) = [e for e in window.session.annotation.events if e.cls == 8]
    assert (new.start, new.end) == (25, 35)


def _select_and_seek(window, cls, seconds):
    event = next(e for e in window.session.annotation.events if e.cls == cls)
    window.session.set_selection([event.id])
    window.session.set_playhead(seconds)
    return event


def test_clicking_and_dragging_on_the_map_sets_the_direction_at_the_playhead(window, qtbot):
    from PySide6.QtCore import Qt

    window.session.set_editing(True)
    event = _select_and_seek(window, 1, 1.15)  # a moving event: frames 10-12
    view = window.map_view
    window.direction_tabs.setCurrentWidget(view)
    qtbot.waitExposed(view)
    vb = view.plot.getPlotItem().getViewBox()
    wait_for_layout(qtbot, view.plot, vb)  # pyqtgraph lays out lazily: pixel positions are valid after it
    qtbot.mouseClick(
        view.plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_point(view.plot, vb, 60.0, 20.0)
    )
    changed = window.session.annotation[event.id]
    az, el = changed.direction_at(11)
    assert az == pytest.approx(60.0, abs=3) and el == pytest.approx(20.0, abs=3)
    assert changed.keyframe_at(11) is not None  # a moving event gets a keyframe there
    assert window.session.listen_direction is None  # editing does not steer playback
    steps = window.annotation.stack.count()
    mouse_drag(view.plot, vb, [(60.0, 20.0), (0.0, 0.0), (-45.0, -30.0)])
    assert window.annotation.stack.count() == steps + 1
    az, el = window.session.annotation[event.id].direction_at(11)
    assert az == pytest.approx(-45.0, abs=3) and el == pytest.approx(-30.0, abs=3)
    assert len(view.keyframes.data) == len(window.session.annotation[event.id].keyframes)


def test_clicking_a_track_sets_azimuth_or_elevation(window, qtbot):
    from PySide6.QtCore import Qt

    window.session.set_editing(True)
    event = _select_and_seek(window, 4, 2.0)  # stationary-ish event, frames 20-21
    tracks = window.tracks_view
    gv = tracks.layout_widget
    for plot, value in ((tracks.azimuth_plot, 100.0), (tracks.elevation_plot, -40.0)):
        vb = plot.getViewBox()
        qtbot.mouseClick(gv.viewport(), Qt.MouseButton.LeftButton, pos=widget_point(gv, vb, 2.05, value))
    az, el = window.session.annotation[event.id].direction_at(20)
    assert az == pytest.approx(100.0, abs=4) and el == pytest.approx(-40.0, abs=3)


def test_digit_keys_delete_and_keyframe_shortcuts(window, qtbot):
    from PySide6.QtCore import Qt

    window.session.set_editing(True)
    event = _select_and_seek(window, 1, 1.1)
    window.activateWindow()  # window shortcuts need the active window (under Xvfb too)
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_8)  # class index 7
    assert window.session.annotation[event.id].cls == 7 and window.annotation.current_class == 7
    assert window.labels_bar.class_box.currentIndex() == 7
    n_keys = len(window.session.annotation[event.id].keyframes)
    window.session.set_playhead(1.25)
    qtbot.keyClick(window, Qt.Key.Key_K)
    assert len(window.session.annotation[event.id].keyframes) in (n_keys, n_keys + 1)
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    assert event.id not in window.session.annotation
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert event.id in window.session.annotation


def test_save_and_reload_give_the_identical_file(window, tmp_path, qtbot):
    window.session.set_editing(True)
    _lane_drag(window, [(0.5, 6.5), (1.5, 6.5)])
    (new,) = [e for e in window.session.annotation.events if e.cls == 6]
    window.session.set_selection([new.id])
    window.session.set_playhead(0.7)
    window.session.pick_direction(-100.0, 25.0)
    out = tmp_path / "saved.csv"
    assert window.annotation.save(out, "dcase2022")
    assert not window.isWindowModified()
    text = out.read_text()
    assert "5,6,0,-100,25\n" in text
    window.open_labels(out)
    assert window.session.annotation.fmt == "dcase2022" or window.session.annotation.path == str(out)
    assert window.annotation.save(tmp_path / "again.csv", "dcase2022")
    assert (tmp_path / "again.csv").read_text() == text


def test_validation_stops_a_save_and_selects_the_events_at_fault(qtbot, monkeypatch, tmp_path):
    from core.annotation import edits as ed

    errors = []
    window = _open_window(qtbot, monkeypatch, _make_recording(tmp_path), errors)

    doc = window.session.annotation
    window.annotation.push(ed.create_event(doc, 1, 11, 15))  # overlaps the crying baby: track 1
    clash = next(e for e in doc.events if e.cls == 1 and e.track == 1)
    window.annotation.push(ed.set_track(doc, clash.id, 0))
    out = tmp_path / "bad.csv"
    assert not window.annotation.save(out, "dcase2020")
    assert not out.exists()
    assert len(window.session.selected_ids) == 2 and clash.id in window.session.selected_ids
    assert errors and "same class on the same track" in errors[-1][1]


def test_autosave_is_offered_after_a_crash_and_restores_the_work(qtbot, monkeypatch, tmp_path):
    audio = _make_recording(tmp_path)
    first = _open_window(qtbot, monkeypatch, audio)
    first.session.set_editing(True)
    first.session.set_view_range(0, 4)
    _lane_drag(first, [(0.5, 9.5), (2.0, 9.5)])
    saved_path = first.annotation.autosave_now()
    assert saved_path is not None and saved_path.is_file()
    expected = first.session.annotation.snapshot()
    first.annotation.autosave_dir = tmp_path / "elsewhere"  # the "crashed" window writes no more
    first.annotation.stack.setClean()

    second = _open_window(qtbot, monkeypatch, None)
    asked = []
    assert second.offer_restore(lambda saved: asked.append(saved) or "restore")
    qtbot.waitUntil(lambda: len(second.session.annotation) == len(expected), timeout=10000)
    assert second.session.annotation.snapshot() == expected
    assert second.isWindowModified() and len(asked) == 1
    assert second.annotation.save(tmp_path / "restored.csv", "dcase2020")
    assert not saved_path.exists()  # saving removes the autosave
    assert not second.offer_restore(lambda saved: "restore")


def test_closing_with_unsaved_changes_asks_first(window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window.session.set_editing(True)
    _lane_drag(window, [(0.5, 6.5), (1.5, 6.5)])
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Cancel)
    assert not window.close()
    assert window.isVisible()
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Discard)
    assert window.close()


def test_accepting_predictions_turns_them_into_labels(window):
    from core.labels.dcase_csv import parse_labels

    window.session.set_predictions(parse_labels("".join(f"{f},9,0,45,0\n" for f in range(30, 36))))
    added = window.annotation.accept_predictions("all")
    assert added == 1
    (new,) = [e for e in window.session.annotation.events if e.cls == 9]
    assert (new.start, new.end) == (30, 36) and new.stationary
    window.annotation.stack.undo()
    assert not [e for e in window.session.annotation.events if e.cls == 9]


def test_the_help_dialog_lists_the_shortcuts(window):
    from PySide6.QtGui import QAction

    from seldgui.dialogs import shortcut_rows

    rows = dict((text, keys) for keys, text in shortcut_rows(window.findChildren(QAction)))
    assert set(rows) >= {a.text().replace("&", "") for a in window.named_actions.values() if a.shortcuts()}
    assert rows["Add direction keyframe at the playhead"] == "K"
    assert rows["Undo"] == "Ctrl+Z" and "Del" in rows["Delete selected events"]
    assert rows["Set class: alarm"] == "1"


@pytest.mark.gl
def test_clicking_the_sphere_sets_the_direction_while_editing(window, qtbot):
    from PySide6.QtCore import QPoint, Qt

    view = window.direction_view
    window.direction_tabs.setCurrentWidget(view)
    qtbot.waitExposed(view)
    native = view.canvas.native
    wait_until_settled(qtbot, lambda: (native.width(), native.height()))
    window.session.set_editing(True)
    event = _select_and_seek(window, 4, 2.05)
    x, y = native.width() // 2, native.height() // 3
    target = view.direction_at(x, y)
    assert target is not None
    qtbot.mouseClick(native, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    az, el = window.session.annotation[event.id].direction_at(20)
    assert az == pytest.approx(target[0], abs=0.2) and el == pytest.approx(target[1], abs=0.2)
    assert window.session.listen_direction is None
    assert view.keyframes.visible  # the selected event's keyframes are drawn
    # a drag that starts on the selected marker moves it (the camera holds still)
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    camera = (view.view.camera.azimuth, view.view.camera.elevation)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    end = (x + 40, y + 60)
    steps = [(x, y)] + [(x + 40 * i / 10, y + 60 * i / 10) for i in range(1, 11)]
    for i, (px, py) in enumerate(steps):
        kind = QEvent.Type.MouseButtonPress if i == 0 else QEvent.Type.MouseMove
        ev = QMouseEvent(
            kind,
            QPointF(px, py),
            QPointF(native.mapToGlobal(QPoint(int(px), int(py)))),
            left if i == 0 else none,
            left,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(native, ev)
        QApplication.processEvents()
    release = QMouseEvent(
        QEvent.Type.MouseButtonRelease,
        QPointF(*end),
        QPointF(native.mapToGlobal(QPoint(*end))),
        left,
        none,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(native, release)
    QApplication.processEvents()
    moved_to = view.direction_at(*end)
    az, el = window.session.annotation[event.id].direction_at(20)
    assert az == pytest.approx(moved_to[0], abs=0.2) and el == pytest.approx(moved_to[1], abs=0.2)
    assert (view.view.camera.azimuth, view.view.camera.elevation) == camera
    assert view.view.camera.interactive


def test_the_inspector_edits_the_selected_event(window):
    inspector = window.inspector
    event = _select_and_seek(window, 4, 2.05)
    assert inspector.class_box.isEnabled() and inspector.class_box.currentIndex() == 4
    assert inspector.azimuth.value() == pytest.approx(-170.0)
    inspector.azimuth.setValue(20.0)
    inspector.elevation.setValue(-15.0)
    assert window.session.annotation[event.id].direction_at(20) == (20.0, -15.0)
    inspector.has_distance.setChecked(True)
    inspector.distance.setValue(250.0)
    assert window.session.annotation[event.id].distance_at(20) == 250.0
    inspector.offset.setValue(3.0)
    assert window.session.annotation[event.id].end == 30
    steps = window.annotation.stack.count()
    assert steps == 5
    for _ in range(steps):
        window.annotation.stack.undo()
    assert window.session.annotation[event.id] == event
    assert inspector.azimuth.value() == pytest.approx(-170.0)  # the panel follows undo
    window.session.set_selection(())
    assert not inspector.class_box.isEnabled()


def test_accepting_predictions_above_an_activity_threshold(window):
    from core.inference.predict import Prediction, prediction_to_table

    sed = np.zeros((40, 14), np.float32)
    doa = np.zeros((40, 42), np.float32)
    sed[10:20, 2] = 0.9  # confident
    sed[25:30, 5] = 0.55  # hesitant
    doa[:, 0:14] = 1.0  # x: front
    pred = Prediction(sed, doa, tuple(window.session.classes))
    window.session.set_predictions(prediction_to_table(pred), pred)
    assert window.annotation.accept_predictions("threshold", threshold=0.7) == 1
    (new,) = [e for e in window.session.annotation.events if e.cls == 2]
    assert (new.start, new.end) == (10, 20) and new.direction_at(10) == (0.0, 0.0)
    assert not [e for e in window.session.annotation.events if e.cls == 5]


def test_simultaneous_events_of_one_class_are_drawn_on_separate_track_rows(window):
    window.session.set_editing(True)
    _lane_drag(window, [(1.05, 1.5), (1.05, 1.5)])  # a click-like drag creates nothing
    assert len(window.session.annotation) == 2
    _lane_drag(window, [(1.5, 1.2), (2.5, 1.2)])  # 1.5-2.5 s: free time in the crying-baby lane
    _lane_drag(window, [(0.2, 1.2), (1.1, 1.2)])  # overlaps the first baby event: track 1
    babies = sorted((e for e in window.session.annotation.events if e.cls == 1), key=lambda e: e.start)
    assert [e.track for e in babies] == [1, 0, 0]
    rows = {b.event_id: b.rect() for b in window.lanes_view.reference_items}
    assert rows[babies[0].id].top() > rows[babies[1].id].top()  # track 1 below track 0
    assert rows[babies[0].id].height() == pytest.approx(0.45)


def test_a_stationary_event_takes_a_picked_direction_wherever_the_playhead_is(window):
    window.session.set_editing(True)
    event = _select_and_seek(window, 4, 3.5)  # the class-4 event is at 2.0-2.2 s (two keyframes)
    window.session.pick_direction(50.0, 5.0)
    assert window.session.annotation[event.id] == event  # moving: needs the playhead inside
    from core.annotation.edits import make_stationary

    window.annotation.push(make_stationary(window.session.annotation, event.id, 20))
    window.session.pick_direction(50.0, 5.0)
    assert window.session.annotation[event.id].direction_at(21) == (50.0, 5.0)


def test_s_splits_the_selected_event_at_the_playhead(window, qtbot):
    from PySide6.QtCore import Qt

    window.session.set_editing(True)
    event = _select_and_seek(window, 1, 1.1)  # frames 10-13
    window.session.set_playhead(1.2)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_S)
    parts = sorted((e for e in window.session.annotation.events if e.cls == 1), key=lambda e: e.start)
    assert [(p.start, p.end) for p in parts] == [(10, 12), (12, 13)]
    window.annotation.stack.undo()
    assert window.session.annotation[event.id] == event


def test_shift_drag_selects_the_events_a_rectangle_touches(window):
    from PySide6.QtCore import Qt

    window.session.set_editing(True)
    plot = window.lanes_view.plot
    vb = plot.getPlotItem().getViewBox()
    mouse_drag(plot, vb, [(0.5, 0.2), (2.1, 5.0)], modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert window.session.selected_ids == {e.id for e in window.session.annotation.events}
    assert len(window.session.annotation) == 2 and window.annotation.stack.count() == 0
    mouse_drag(plot, vb, [(0.5, 0.2), (1.5, 3.0)], modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert window.session.selected_ids == {e.id for e in window.session.annotation.events if e.cls == 1}
    assert not window.lanes_view.band.isVisible()


# --------------------------------------------------------------------------- damaged autosaves at start


def _corpus_into(folder, keep_good: bool):
    """The damaged-autosave corpus (tests/fuzz/autosave) copied into ``folder``."""
    import json

    from core.annotation.autosave import SUFFIX
    from tests.test_autosave_recovery import CORPUS_DIR, GOOD, PARTIAL

    folder.mkdir(parents=True, exist_ok=True)
    here = json.dumps(str(folder))[1:-1].encode()
    skipped = set() if keep_good else set(GOOD) | set(PARTIAL)
    for p in CORPUS_DIR.iterdir():
        if p.name[: -len(SUFFIX)] not in skipped:
            (folder / p.name).write_bytes(p.read_bytes().replace(b"@DIR@", here))
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_folder_of_damaged_autosaves_never_stops_the_start(qtbot, monkeypatch, tmp_path):
    from core.annotation.autosave import SUFFIX

    win = _open_window(qtbot, monkeypatch, None)
    win.annotation.autosave_dir = tmp_path / "index"
    before = _corpus_into(win.annotation.autosave_dir, keep_good=False)
    asked = []
    assert not win.offer_restore(lambda saved: asked.append(saved) or "restore")
    assert asked == []  # nothing trustworthy to offer
    shown, every = win.status_label.text(), win.status_label.toolTip().split("\n")
    assert shown.startswith(f"ignored {len(every)} damaged autosaves (hover to see all), first: ")
    assert len(every) > 40 and all(m.startswith(str(win.annotation.autosave_dir)) for m in every)
    assert SUFFIX in shown and shown.endswith("(the file is left as it is)")
    assert not win.offer_restore()  # the real dialog path too (nothing to ask)
    # with good autosaves among the damaged ones, the newest good one is offered; nothing is deleted
    before = _corpus_into(win.annotation.autosave_dir, keep_good=True)
    assert not win.offer_restore(lambda saved: asked.append(saved) or "later")
    assert [a.path.name for a in asked] == [f"chain_target{SUFFIX}"]
    assert {p.name: p.read_bytes() for p in win.annotation.autosave_dir.iterdir()} == before


def _partly_damaged_autosave(tmp_path):
    """An autosave of the 4 s test recording with two good events and two damaged ones."""
    import json

    from core.annotation.autosave import write_autosave
    from core.annotation.document import Annotation, AnnotationEvent, Keyframe
    from core.labels.classes import DCASE2020

    audio = _make_recording(tmp_path)
    index = tmp_path / "index"
    doc = Annotation(
        [
            AnnotationEvent(1, 3, 0, 5, 15, (Keyframe(5, 40.0, 10.0), Keyframe(14, 80.0, 0.0))),
            AnnotationEvent(2, 6, 1, 20, 30, (Keyframe(22, -30.0, 5.0),)),
        ]
    )
    doc.path = str(tmp_path / "metadata_dev" / "scene.csv")
    sidecar = write_autosave(index, audio, doc, DCASE2020)
    data = json.loads(sidecar.read_text())
    data["events"] += [
        {"id": 7, "class": 99, "track": 0, "start": 0, "end": 5, "keyframes": [[0, 0.0, 0.0, None]]},
        {"id": 8, "class": 2, "track": 0, "start": 35, "end": 45, "keyframes": [[35, 0.0, 0.0, None]]},
    ]
    sidecar.write_text(json.dumps(data, indent=1))
    return audio, index, sidecar, doc


def test_a_partly_damaged_autosave_restores_the_good_events_and_keeps_the_file(qtbot, monkeypatch, tmp_path):
    from core.annotation.autosave import KEPT_INFIX, read_autosave

    audio, index, sidecar, doc = _partly_damaged_autosave(tmp_path)
    original = sidecar.read_bytes()
    errors = []
    win = _open_window(qtbot, monkeypatch, None, errors)
    win.annotation.autosave_dir = index
    assert win.offer_restore(lambda saved: "restore")
    qtbot.waitUntil(lambda: len(win.session.annotation) == 2 and win.isWindowModified(), timeout=10000)
    assert win.session.annotation.snapshot() == doc.snapshot()
    (kept,) = [p for p in sidecar.parent.iterdir() if KEPT_INFIX in p.name]
    assert kept.read_bytes() == original  # everything the file held, refused events included
    title, message = errors[-1]
    assert title == "Some autosaved events were not restored"
    assert "2 of the 4 events in scene.seld-autosave.json are damaged" in message
    assert "event #3 (id 7): class 99" in message and "class index 99 is not in dcase2020" in message
    assert "event #4 (id 8): crash at 3.5-4.5 s (track 0): ends after the recording (4.0 s)" in message
    assert f"kept as {kept}" in message
    again = read_autosave(sidecar)  # the restored events are autosaved again at once
    assert again.n_refused == 0 and again.annotation.snapshot() == doc.snapshot()
    assert win.annotation.save(tmp_path / "restored.csv", "dcase2020")
    assert not sidecar.exists() and kept.read_bytes() == original  # saving never deletes the kept file
    assert win.offer_restore(lambda saved: "restore") is False


def test_discarding_a_partly_damaged_autosave_keeps_it_aside(qtbot, monkeypatch, tmp_path):
    from core.annotation.autosave import KEPT_INFIX

    audio, index, sidecar, doc = _partly_damaged_autosave(tmp_path)
    original = sidecar.read_bytes()
    win = _open_window(qtbot, monkeypatch, None)
    win.annotation.autosave_dir = index
    assert not win.offer_restore(lambda saved: "discard")
    assert not sidecar.exists() and list(index.iterdir()) == []
    (kept,) = [p for p in sidecar.parent.iterdir() if KEPT_INFIX in p.name]
    assert kept.read_bytes() == original
