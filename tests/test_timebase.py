"""The one rounding rule between seconds and frames."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.common.timebase import FEATURE_HOP_S, frame_at, frame_centre, frame_start, nearest_boundary


@pytest.mark.parametrize(
    ("seconds", "frame"),
    [(0.0, 0), (0.05, 0), (0.0999, 0), (0.1, 1), (0.3, 3), (0.7, 7), (2.9, 29), (-1.0, 0)],
)
def test_frame_at_is_the_frame_containing_the_time_even_for_inexact_decimals(seconds, frame):
    assert frame_at(seconds) == frame  # 0.3 / 0.1 is 2.9999999999999996 in binary: still frame 3


@pytest.mark.parametrize(
    ("seconds", "boundary"), [(0.0, 0), (0.149, 1), (0.15, 2), (0.25, 3), (0.35, 4), (-0.2, 0)]
)
def test_nearest_boundary_rounds_halves_up_never_to_even(seconds, boundary):
    assert nearest_boundary(seconds) == boundary  # round(2.5) would be 2: halves go up here


def test_the_feature_grid():
    assert frame_at(0.06, FEATURE_HOP_S) == 3 and frame_start(3, FEATURE_HOP_S) == pytest.approx(0.06)


@given(st.integers(min_value=0, max_value=10**7))
def test_a_frame_start_and_centre_map_back_to_that_frame(frame):
    assert frame_at(frame_start(frame)) == frame
    assert frame_at(frame_centre(frame)) == frame
    assert nearest_boundary(frame_start(frame)) == frame
