"""Label rows <-> events: grouping by class and track, round trip, gaps, directions."""

from __future__ import annotations

import numpy as np
import pytest

from core.labels.dcase_csv import parse_labels
from core.labels.events import Event, active_at, events_from_table, table_from_events
from core.labels.table import LabelRow, LabelTable

CSV = """\
10,3,0,30,0
11,3,0,32,1
12,3,0,34,2
11,3,1,-90,10
12,3,1,-90,10
20,5,0,0,0
22,5,0,10,0
"""


def test_rows_group_into_events_by_class_track_and_contiguity():
    events = events_from_table(parse_labels(CSV))
    summary = [(e.cls, e.track, e.start, e.end) for e in events]
    assert summary == [(3, 0, 10, 13), (3, 1, 11, 13), (5, 0, 20, 21), (5, 0, 22, 23)]
    first = events[0]
    assert first.onset_s == pytest.approx(1.0) and first.offset_s == pytest.approx(1.3)
    np.testing.assert_array_equal(first.azimuth, [30, 32, 34])
    assert first.moving and not events[1].moving


def _tuples(table):
    return sorted((r.frame, r.cls, r.track, r.azimuth, r.elevation) for r in table.rows)


def test_events_round_trip_to_the_same_rows():
    table = parse_labels(CSV)
    back = table_from_events(events_from_table(table))
    assert _tuples(back) == _tuples(table)
    assert [r.frame for r in back.rows] == sorted(r.frame for r in back.rows)


def test_real_starss_file_round_trips(real_data):
    from core.labels.dcase_csv import read_labels

    path = next((real_data / "dcase_seld" / "starss22" / "metadata_dev" / "dev-train-sony").glob("*.csv"))
    table = read_labels(path, classes="starss")
    events = events_from_table(table)
    assert 0 < len(events) < len(table)
    assert _tuples(table_from_events(events)) == _tuples(table)


def test_a_small_gap_can_be_bridged_holding_the_direction():
    events = events_from_table(parse_labels(CSV), max_gap=1)
    fives = [e for e in events if e.cls == 5]
    assert len(fives) == 1 and (fives[0].start, fives[0].end) == (20, 23)
    np.testing.assert_array_equal(fives[0].azimuth, [0, 0, 10])


def test_active_at_gives_each_events_direction_at_a_frame():
    events = events_from_table(parse_labels(CSV))
    active = active_at(events, 11)
    assert [(e.cls, e.track, az, el) for e, az, el in active] == [(3, 0, 32.0, 1.0), (3, 1, -90.0, 10.0)]
    assert active_at(events, 15) == []


def test_event_validation():
    with pytest.raises(ValueError, match="at least one frame"):
        Event(1, 0, 5, 5, np.array([]), np.array([]))
    with pytest.raises(ValueError, match="directions"):
        Event(1, 0, 5, 7, np.array([0.0]), np.array([0.0]))
    table = LabelTable(
        [LabelRow(3, 1, 0, 10.0, 5.0, distance=150.0), LabelRow(4, 1, 0, 12.0, 5.0, distance=140.0)]
    )
    (event,) = events_from_table(table)
    np.testing.assert_array_equal(event.distance, [150.0, 140.0])
    assert [r.distance for r in table_from_events([event]).rows] == [150.0, 140.0]
