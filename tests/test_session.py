"""The Qt-free session model: state changes and the signals views observe."""

from __future__ import annotations

import numpy as np

from core.io.audio import Recording
from core.labels.dcase_csv import parse_labels
from core.session.session import Session


def _recording(seconds=3.0):
    return Recording(np.zeros((4, int(24000 * seconds)), np.float32), 24000, "foa", "x.wav", 24000)


def test_opening_a_recording_resets_labels_playhead_and_view():
    s = Session()
    seen = []
    for name in (
        "recording_changed",
        "reference_changed",
        "predictions_changed",
        "playhead_changed",
        "view_range_changed",
    ):
        getattr(s, name).connect(lambda value, name=name: seen.append(name))
    s.set_recording(_recording(2.0))
    s.set_reference(parse_labels("3,1,0,10,0\n4,1,0,12,0\n"))
    s.set_playhead(1.0)
    assert len(s.reference_events) == 1 and s.playhead_s == 1.0
    seen.clear()
    s.set_recording(_recording(5.0))
    assert s.reference_events == [] and s.predicted_events == [] and s.playhead_s == 0.0
    assert s.view_range == (0.0, 5.0)
    assert seen == [
        "recording_changed",
        "reference_changed",
        "predictions_changed",
        "playhead_changed",
        "view_range_changed",
    ]


def test_playhead_is_clamped_and_only_changes_emit():
    s = Session()
    s.set_recording(_recording(3.0))
    values = []
    s.playhead_changed.connect(values.append)
    s.set_playhead(10.0)
    s.set_playhead(10.0)
    s.set_playhead(-1.0)
    assert values == [3.0, 0.0]


def test_active_directions_at_the_playhead_from_reference_and_predictions():
    s = Session()
    s.set_recording(_recording(3.0))
    s.set_reference(parse_labels("10,2,0,45,10\n11,2,0,47,10\n"))
    s.set_predictions(parse_labels("11,2,0,50,5\n11,7,0,-120,0\n"))
    s.set_playhead(1.05)  # label frame 10
    assert [(d.event.cls, d.azimuth, d.predicted) for d in s.active_directions()] == [(2, 45.0, False)]
    s.set_playhead(1.15)  # frame 11
    got = [(d.event.cls, d.azimuth, d.elevation, d.predicted) for d in s.active_directions()]
    assert got == [(2, 47.0, 10.0, False), (2, 50.0, 5.0, True), (7, -120.0, 0.0, True)]
    assert s.playhead_frame == 11


def test_view_range_is_ordered():
    s = Session()
    got = []
    s.view_range_changed.connect(got.append)
    s.set_view_range(5.0, 2.0)
    assert s.view_range == (2.0, 5.0) and got == [(2.0, 5.0)]
    s.set_view_range(2.0, 5.0)
    assert got == [(2.0, 5.0)]  # no change, no signal


def test_the_view_range_stays_inside_the_recording_and_keeps_its_width():
    s = Session()
    s.set_recording(_recording(10.0))
    assert s.view_range == (0.0, 10.0)
    s.set_view_range(-2.0, 3.0)  # panned past the start
    assert s.view_range == (0.0, 5.0)
    s.set_view_range(8.0, 12.0)  # past the end
    assert s.view_range == (6.0, 10.0)
    s.set_view_range(-5.0, 50.0)  # zoomed out too far
    assert s.view_range == (0.0, 10.0)


def test_the_energy_map_is_one_value_cleared_with_the_recording():
    from core.dsp.energy_map import foa_energy_map

    s = Session()
    s.set_recording(_recording(1.0))
    seen = []
    s.energy_changed.connect(seen.append)
    m = foa_energy_map(np.random.default_rng(0).standard_normal((4, 24000)), 0.5)
    s.set_energy_map(m)
    s.set_energy_map(m)
    assert s.energy_map is m and seen == [m]
    s.set_recording(_recording(2.0))
    assert s.energy_map is None and seen == [m, None]


def test_a_highlight_is_one_value_shown_with_playhead_and_range_and_cleared_by_a_new_recording():
    import pytest

    from core.session.session import Highlight

    s = Session()
    s.set_recording(_recording(30.0))
    seen = []
    s.highlight_changed.connect(seen.append)
    h = Highlight(12.0, 13.5, cls=3, pred_cls=5, ref_direction=(30.0, 10.0), pred_direction=(40.0, 5.0))
    assert h.middle_s == 12.75
    s.show_highlight(h)
    assert s.highlight is h and seen == [h]
    assert s.playhead_s == 12.0
    start, end = s.view_range
    assert start < 12.0 and end > 13.5 and end - start == 8.0
    s.set_highlight(
        Highlight(12.0, 13.5, cls=3, pred_cls=5, ref_direction=(30.0, 10.0), pred_direction=(40.0, 5.0))
    )
    assert seen == [h]  # an equal highlight is no change
    # a long span gets its margins; near the end the range stays inside the recording
    s.show_highlight(Highlight(20.0, 29.0, cls=1))
    assert s.view_range == (17.0, 30.0)
    with pytest.raises(ValueError):
        s.set_highlight(Highlight(31.0, 32.0))  # after the recording's end: another recording's
    with pytest.raises(ValueError):
        Highlight(5.0, 4.0)
    s.set_recording(_recording(5.0))
    assert s.highlight is None and seen[-1] is None
    s.set_highlight(None)
    assert len(seen) == 3  # none -> none: no signal
