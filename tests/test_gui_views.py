"""The time-axis views observe the session: lanes, direction tracks and one playhead."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")

pytestmark = pytest.mark.qt

from seldgui.views import timeline  # noqa: E402

LABELS = "10,1,0,30,0\n11,1,0,32,0\n12,1,0,34,0\n20,4,0,-170,10\n21,4,0,175,10\n11,1,1,-60,20\n"


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    from tests.qt_helpers import make_window

    win = make_window(qtbot, monkeypatch, tmp_path / "settings.ini")
    folder = tmp_path / "foa_dev"
    folder.mkdir()
    audio = folder / "scene.wav"
    sf.write(audio, np.zeros((24000 * 3, 4), np.float32), 24000, subtype="PCM_16")
    (tmp_path / "metadata_dev").mkdir()
    (tmp_path / "metadata_dev" / "scene.csv").write_text(LABELS)
    win.open_path(audio)
    qtbot.waitUntil(lambda: win.session.recording is not None, timeout=10000)
    return win


def test_reference_labels_beside_the_recording_fill_the_lanes_and_tracks(window):
    events = window.session.reference_events
    assert [(e.cls, e.track, e.start, e.end) for e in events] == [
        (1, 0, 10, 13),
        (1, 1, 11, 12),
        (4, 0, 20, 22),
    ]
    boxes = window.lanes_view.reference_items
    assert len(boxes) == 3
    rect = boxes[0].rect()
    assert rect.left() == pytest.approx(1.0) and rect.width() == pytest.approx(0.3)
    assert "crying baby" in boxes[0].toolTip() and "1.0–1.3 s" in boxes[0].toolTip()
    curves = window.tracks_view.curves
    assert {k for k in curves if k[0] == "reference"} == {
        ("reference", "azimuth", 1),
        ("reference", "elevation", 1),
        ("reference", "azimuth", 4),
        ("reference", "elevation", 4),
    }
    # the azimuth track of class 4 is broken at the -180/180 wrap instead of crossing the plot
    x, y = curves[("reference", "azimuth", 4)].getData()
    both_finite = ~np.isnan(y[:-1]) & ~np.isnan(y[1:])
    assert np.isnan(y).sum() == 2 and not (np.abs(np.diff(y))[both_finite] > 180).any()


def test_predictions_are_drawn_in_their_own_style(window):
    from core.labels.dcase_csv import parse_labels

    window.session.set_predictions(parse_labels("10,1,0,35,0\n11,1,0,36,0\n"))
    (pred,) = window.lanes_view.prediction_items
    (ref, *_) = window.lanes_view.reference_items
    assert pred.rect().height() < ref.rect().height()
    assert pred.brush().color().alpha() == 255 and ref.brush().color().alpha() < 255
    assert "prediction" in pred.toolTip()


def test_one_playhead_moves_in_every_view(window):
    window.session.set_playhead(1.25)
    lines = [window.spectrogram_view.playhead.line, window.lanes_view.playhead.line]
    lines += [p.line for p in window.tracks_view.playheads]
    assert [line.value() for line in lines] == [1.25] * 4


def test_clicking_a_view_moves_the_playhead(window, qtbot):
    from PySide6.QtCore import QPointF, Qt

    plot = window.lanes_view.plot
    vb = plot.getPlotItem().getViewBox()
    window.session.set_view_range(0, 3)
    scene_pos = vb.mapViewToScene(QPointF(2.0, 1.0))
    widget_pos = plot.mapFromScene(scene_pos)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_pos)
    assert window.session.playhead_s == pytest.approx(2.0, abs=0.05)
    assert window.tracks_view.playheads[0].line.value() == pytest.approx(2.0, abs=0.05)


def test_a_bad_label_file_keeps_the_current_labels(window, tmp_path, monkeypatch):
    from seldgui import main_window

    shown = []
    monkeypatch.setattr(main_window, "show_error", lambda parent, title, msg: shown.append(msg))
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n")
    window.open_labels(bad)
    assert shown and "bad.csv, line 1" in shown[0]
    assert len(window.session.reference_events) == 3


def test_the_direction_view_shows_the_directions_at_the_playhead(window):
    from core.labels.dcase_csv import parse_labels

    view = window.direction_view
    window.session.set_predictions(parse_labels("11,1,0,35,0\n11,6,0,-100,-20\n"))
    window.session.set_playhead(1.15)  # frame 11: references class 1 (tracks 0 and 1), predictions 1 and 6
    assert view.marker_count == (2, 2)
    window.session.set_playhead(2.05)  # frame 20: only the class-4 reference
    assert view.marker_count == (1, 0)
    window.session.set_playhead(2.9)
    assert view.marker_count == (0, 0)


def test_trails_fade_over_the_last_seconds():
    from core.io.audio import Recording
    from core.labels.dcase_csv import parse_labels
    from core.session.session import Session
    from seldgui.views.doa_common import TRAIL_S, markers_and_trails

    s = Session()
    s.set_recording(Recording(np.zeros((4, 240000), np.float32), 24000, "foa", "x.wav", 24000))
    s.set_reference(parse_labels("".join(f"{f},2,0,{f},0\n" for f in range(10, 40))))
    s.set_playhead(3.05)  # frame 30
    markers, (trail,) = markers_and_trails(s)
    assert [(m.cls, m.azimuth) for m in markers] == [(2, 30.0)]
    assert len(trail.azimuth) == int(TRAIL_S / 0.1) + 1 and trail.azimuth[-1] == 30.0
    assert trail.alpha[0] == 0.0 and trail.alpha[-1] == 1.0 and (np.diff(trail.alpha) > 0).all()


@pytest.mark.gl
def test_the_sphere_is_used_where_opengl_works(window):
    from seldgui.views.doa_sphere import DoaSphereView

    assert isinstance(window.direction_view, DoaSphereView)
    window.session.set_playhead(1.15)
    assert window.direction_view.marker_count == (2, 0)
    img = window.direction_view.canvas.render()
    assert img.shape[2] == 4 and img[..., :3].std() > 1  # something was drawn


def test_space_plays_and_the_playhead_follows(window, qtbot):
    from PySide6.QtWidgets import QApplication

    window.session.set_playhead(0.5)
    window.toggle_play()
    assert window.playback.playing
    qtbot.waitUntil(lambda: window.session.playhead_s > 0.7, timeout=5000)
    window.toggle_play()
    stopped_at = window.session.playhead_s
    assert not window.playback.playing and not window.playback.timer.isActive()  # nothing moves it now
    QApplication.processEvents()
    assert window.session.playhead_s == stopped_at


def test_clicking_the_map_steers_playback_to_that_direction(qtbot, monkeypatch):
    from PySide6.QtCore import QPointF, Qt

    from core.io.audio import Recording
    from core.session.session import Session
    from seldgui.views.doa_map import DoaMapView

    s = Session()
    s.set_recording(Recording(np.zeros((4, 24000), np.float32), 24000, "foa", "x.wav", 24000))
    view = DoaMapView(s)
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    vb = view.plot.getPlotItem().getViewBox()
    pos = view.plot.mapFromScene(vb.mapViewToScene(QPointF(90.0, 30.0)))
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    az, el = s.listen_direction
    assert az == pytest.approx(90.0, abs=3) and el == pytest.approx(30.0, abs=3)
    assert len(view.listen_marker.data) == 1


def test_the_window_steers_the_player_to_the_listen_direction(window):
    window.toggle_play()
    window.toggle_play()
    player = window.playback.player
    window.session.set_listen_direction((45.0, 10.0))
    assert player.signal.steer == (45.0, 10.0, "cardioid")
    window.view_bar.pattern_box.setCurrentText("hypercardioid")
    assert player.signal.steer[2] == "hypercardioid"
    assert window.settings.get("listen_pattern") == "hypercardioid"
    window.session.set_listen_direction(None)
    assert player.signal.steer is None


@pytest.mark.gl
def test_clicking_the_sphere_picks_the_point_under_the_mouse(window):
    view = window.direction_view
    w, h = view.canvas.size
    az, el = view.direction_at(w / 2, h / 2)
    # the camera sits behind the listener, looking front and slightly down: the centre of
    # the canvas shows the back of the sphere, above the horizon
    assert abs(abs(az) - 180) < 5 and 5 < el < 40


def _plane_wave_foa(az_deg: float, el_deg: float, seed: int) -> np.ndarray:
    s_ = np.random.default_rng(seed).standard_normal(24000 * 2)
    az, el = np.deg2rad(az_deg), np.deg2rad(el_deg)
    return np.stack([s_, s_ * np.cos(el) * np.sin(az), s_ * np.sin(el), s_ * np.cos(el) * np.cos(az)])


def test_the_energy_map_shows_where_the_energy_comes_from(qtbot, tmp_path):
    from core.io.audio import Recording
    from core.session.session import Session
    from seldgui.energy import EnergyLayer
    from seldgui.views.doa_map import DoaMapView

    session = Session()
    session.set_recording(
        Recording(_plane_wave_foa(-60, 20, 0).astype(np.float32), 24000, "foa", "x.wav", 24000)
    )
    view = DoaMapView(session)
    qtbot.addWidget(view)
    layer = EnergyLayer(session)
    layer.set_enabled(True)
    session.set_playhead(1.0)
    qtbot.waitUntil(lambda: view.energy.image is not None and not layer.busy, timeout=10000)
    img = view.energy.image
    assert img.shape == (36, 72)
    i_el, i_az = np.unravel_index(np.argmax(img), img.shape)
    assert abs((-180 + (i_az + 0.5) * 5) - (-60)) <= 5 and abs((-90 + (i_el + 0.5) * 5) - 20) <= 5
    layer.set_enabled(False)
    assert view.energy.image is None and session.energy_map is None


def test_the_energy_map_is_computed_once_per_playhead_position_off_the_gui_thread(window, qtbot, monkeypatch):
    import threading

    from core.dsp import energy_map

    calls = []
    real = energy_map.energy_map_at

    def counting(rec, t, **kwargs):
        calls.append((t, threading.current_thread() is threading.main_thread()))
        return real(rec, t, **kwargs)

    monkeypatch.setattr(energy_map, "energy_map_at", counting)
    window.energy_box.setChecked(True)
    qtbot.waitUntil(lambda: window.session.energy_map is not None and not window.energy.busy, timeout=10000)
    assert calls == [(0.0, False)]  # once, for the sphere and the map together, in the thread pool
    for t in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):  # playback ticks faster than maps are computed
        window.session.set_playhead(t)
    qtbot.waitUntil(lambda: not window.energy.busy and window.energy._wanted is None, timeout=10000)
    assert 2 <= len(calls) <= 7 and calls[-1] == (1.0, False)  # stale requests were folded
    shown = window.session.energy_map
    assert window.map_view.energy.image is not None
    np.testing.assert_array_equal(window.map_view.energy.image, shown.values.astype(np.float32))
    window.energy_box.setChecked(False)
    assert window.session.energy_map is None and window.map_view.energy.image is None


@pytest.mark.gl
def test_the_sphere_shows_the_energy_as_a_heat_layer(qtbot, tmp_path, monkeypatch):
    from seldgui import main_window

    foa = _plane_wave_foa(120, -30, 1).T
    path = tmp_path / "foa_source.wav"
    sf.write(path, 0.3 * foa / np.abs(foa).max(), 24000, subtype="PCM_16")
    monkeypatch.setattr(main_window, "show_error", lambda *a: None)
    from seldgui.settings import Settings

    win = main_window.MainWindow(settings=Settings.at(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.show()
    win.open_path(path, fmt="foa")
    qtbot.waitUntil(lambda: win.session.recording is not None, timeout=10000)
    sphere = win.direction_view
    assert sphere.kind == "sphere" and not sphere.energy.visible
    win.energy_box.setChecked(True)
    win.session.set_playhead(1.0)
    qtbot.waitUntil(lambda: sphere.energy.visible and not win.energy.busy, timeout=10000)
    assert win.direction_tabs.currentWidget() is sphere
    peak_az, peak_el = sphere.energy_peak
    assert abs(peak_az - 120) <= 5 and abs(peak_el - (-30)) <= 5
    win.energy_box.setChecked(False)
    assert not sphere.energy.visible


def test_the_overview_strip_marks_and_moves_the_visible_range(window, qtbot):
    strip = window.overview_strip
    window.spectrogram_view.plot.setXRange(1.0, 2.0, padding=0)  # as a zoom in one panel does
    assert window.session.view_range == pytest.approx((1.0, 2.0), abs=1e-9)
    assert strip.region.getRegion() == pytest.approx((1.0, 2.0), abs=1e-9)
    strip.region.setRegion((0.5, 1.0))  # dragging the region pans every time panel
    assert window.session.view_range == pytest.approx((0.5, 1.0), abs=1e-9)
    plots = [window.spectrogram_view.plot.getPlotItem(), window.lanes_view.plot.getPlotItem()]
    plots += [window.tracks_view.azimuth_plot, window.tracks_view.elevation_plot]
    for plot in plots:  # each follows the session's range: no panel is linked to another
        assert plot.getViewBox().viewRange()[0] == pytest.approx([0.5, 1.0], abs=1e-9)
        assert plot.getViewBox().linkedView(0) is None


def _global_x(widget, view_box, t: float) -> int:
    from PySide6.QtCore import QPointF

    return widget.mapToGlobal(widget.mapFromScene(view_box.mapViewToScene(QPointF(t, 0.0)))).x()


def test_every_time_panel_shows_the_same_span_pixel_for_pixel(window, qtbot):
    from tests.qt_helpers import wait_until_settled

    window.resize(1400, 900)
    end = window.session.duration_s
    panels = [
        (window.spectrogram_view.plot, window.spectrogram_view.plot.getPlotItem().getViewBox()),
        (window.lanes_view.plot, window.lanes_view.plot.getPlotItem().getViewBox()),
        (window.tracks_view.layout_widget, window.tracks_view.azimuth_plot.getViewBox()),
        (window.tracks_view.layout_widget, window.tracks_view.elevation_plot.getViewBox()),
        (
            window.overview_strip.plot,
            window.overview_strip.plot.getPlotItem().getViewBox(),
        ),  # whole recording
    ]

    def edges():
        return [(_global_x(w, vb, 0.0), _global_x(w, vb, end)) for w, vb in panels]

    wait_until_settled(qtbot, lambda: (window.width(), window.height(), *sum(edges(), ())))
    starts, stops = zip(*edges(), strict=True)
    assert window.session.view_range == (0.0, end)
    assert len(set(starts)) == 1 and len(set(stops)) == 1, edges()
    assert stops[0] - starts[0] > 300
    widths = {vb.parentItem().getAxis("left").width() for _, vb in panels[:4]}
    assert widths == {timeline.LEFT_AXIS_WIDTH}


def test_the_metrics_panel_scores_predictions_against_the_reference(window, tmp_path):
    from core.labels.dcase_csv import parse_labels

    panel = window.metrics_panel
    assert panel.scores is None
    window.session.set_predictions(window.session.reference)  # a perfect prediction
    assert panel.scores.ER == pytest.approx(0.0) and panel.scores.F == pytest.approx(1.0)
    assert "SELD 0.000" in panel.summary.text()
    window.session.set_predictions(parse_labels("10,1,0,30,0\n"))  # one of three segments' classes
    assert 0 < panel.scores.F < 1 and panel.table.rowCount() == 2  # classes 1 and 4
    cells = {panel.table.item(i, 0).text(): panel.table.item(i, 2).text() for i in range(2)}
    assert cells["crying baby"] == "0.0" and cells["running engine"] == "–"  # class 4: nothing matched
    out = tmp_path / "metrics.csv"
    panel.export_csv(out)
    rows = out.read_text().splitlines()
    assert rows[0].startswith("scope,name,ER,F,LE,LR,SELD") and rows[1].startswith("overall,all,")
    assert len(rows) == 2 + len(window.session.classes)


def test_an_unexpected_error_in_a_worker_is_logged_and_reported_briefly(window, monkeypatch, caplog):
    from seldgui import main_window

    shown = []
    monkeypatch.setattr(main_window, "show_error", lambda parent, title, msg: shown.append((title, msg)))
    window._on_crashed("Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero\n")
    assert shown == [("Unexpected error", "ZeroDivisionError: division by zero")]
    assert any("Traceback" in r.getMessage() for r in caplog.records if r.name == "seldgui")


def test_the_tracks_redraw_only_what_changed_and_follow_every_edit(window):
    from core.annotation import edits as ed

    curves = window.tracks_view.curves
    x_before, _ = curves[("reference", "azimuth", 4)].getData()
    baby_curve = curves[("reference", "azimuth", 1)]
    baby_data = baby_curve.getData()[0].copy()
    event = next(e for e in window.session.annotation.events if e.cls == 4)
    window.annotation.push(ed.move_events(window.session.annotation, [event.id], 5))
    x_after, _ = curves[("reference", "azimuth", 4)].getData()
    assert np.nanmin(x_after) == pytest.approx(np.nanmin(x_before) + 0.5)
    assert curves[("reference", "azimuth", 1)] is baby_curve
    np.testing.assert_array_equal(baby_curve.getData()[0], baby_data)
    window.annotation.push(ed.delete_events(window.session.annotation, [event.id]))
    assert ("reference", "azimuth", 4) not in curves
    window.annotation.stack.undo()
    assert ("reference", "azimuth", 4) in curves


def test_one_time_format_for_every_axis_and_readout():
    from seldgui.views.timeline import format_time, time_readout

    assert format_time(12.5, False, 1) == "12.5" and format_time(40.0, False, 0) == "40"
    assert format_time(65.26, True) == "0:01:05.3"
    assert format_time(59.96, True) == "0:01:00.0"  # rounded once, never "0:00:60.0"
    assert format_time(3725.0, True) == "1:02:05.0" and format_time(0.125, True, 3) == "0:00:00.125"
    assert format_time(-1.5, True) == "-0:00:01.5"
    assert time_readout(12.3456, 30.0) == "12.35 s" and time_readout(95.0, 95.0) == "0:01:35.0"
    assert time_readout(60.0, 60.0) == "60.00 s"  # a minute is not more than a minute


def test_time_axes_write_seconds_or_h_mm_ss_never_si_prefixes(qtbot):
    from core.io.audio import Recording
    from core.session.session import Session
    from seldgui.views.timeline import TimeAxisItem

    session = Session()
    axis = TimeAxisItem(session)
    session.set_recording(Recording(np.zeros((4, 24000 * 3), np.float32), 24000, "foa", "x.wav", 24000))
    assert axis.tickStrings([0.0, 1.0, 2.0], 1.0, 1.0) == ["0", "1", "2"]
    assert axis.tickStrings([0.5, 1.0], 1.0, 0.5) == ["0.5", "1.0"]
    assert axis.labelText == "time (s)"
    session.set_recording(Recording(np.zeros((4, 24000 * 3000), np.float32), 24000, "foa", "x.wav", 24000))
    assert axis.labelText == "time (h:mm:ss)" and not axis.autoSIPrefix
    assert axis.tickStrings([0.0, 600.0, 1200.0], 1.0, 600.0) == ["0:00:00.0", "0:10:00.0", "0:20:00.0"]
    (major, _), (minor, _) = axis.tickSpacing(0.0, 3000.0, 800)
    assert major == 600 and minor in (120, 300)  # whole minutes, not 500 or 1000 s


def test_every_time_panel_has_a_time_axis_of_one_format(window):
    from seldgui.views.timeline import TimeAxisItem

    plots = [window.spectrogram_view.plot.getPlotItem(), window.lanes_view.plot.getPlotItem()]
    plots += [window.tracks_view.azimuth_plot, window.tracks_view.elevation_plot]
    plots.append(window.overview_strip.plot.getPlotItem())
    for plot in plots:
        axis = plot.getAxis("bottom")
        assert isinstance(axis, TimeAxisItem) and not axis.long and not axis.autoSIPrefix


def test_class_names_never_overlap_in_the_lanes(qtbot):
    from PySide6.QtGui import QFontMetrics

    from core.session.session import Session
    from seldgui.views.event_lanes import EventLanesView
    from tests.qt_helpers import wait_until_settled

    view = EventLanesView(Session())
    qtbot.addWidget(view)
    view.show()
    axis = view.plot.getAxis("left")
    text_px = QFontMetrics(axis.font()).height()
    for height, thin in ((140, True), (700, False)):
        view.resize(600, height)
        wait_until_settled(qtbot, lambda: (view.width(), view.view_box.height()))
        lane_px = view.view_box.height() / 14
        named = [value for value, _text in axis._tickLevels[0]]
        gaps = np.diff(named)
        assert (gaps >= text_px / lane_px - 1e-9).all()  # no two names touch
        assert (len(named) < 14) == thin and named[0] == 0.5


def test_the_event_panel_writes_and_reads_times_as_the_axes_do(qtbot):
    from core.io.audio import Recording
    from core.session.session import Session
    from seldgui.views.timeline import TimeSpinBox, parse_time

    assert parse_time("12.5") == 12.5 and parse_time("1:05.3") == pytest.approx(65.3)
    assert parse_time("1:02:05.0") == 3725.0 and parse_time("7.5 s") == 7.5
    for bad in ("", "1:75", "a:b", "1:2:3:4"):
        with pytest.raises(ValueError):
            parse_time(bad)
    session = Session()
    box = TimeSpinBox(session)
    qtbot.addWidget(box)
    session.set_recording(Recording(np.zeros((4, 24000 * 3), np.float32), 24000, "foa", "x.wav", 24000))
    box.setValue(2.3)
    assert box.text() == "2.3 s"
    session.set_recording(Recording(np.zeros((4, 24000 * 100), np.float32), 24000, "foa", "x.wav", 24000))
    box.setValue(65.3)
    assert box.text() == "0:01:05.3"
    box.lineEdit().setText("0:01:30.5")
    box.interpretText()
    assert box.value() == pytest.approx(90.5)
