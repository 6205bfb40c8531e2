"""Frame-wise SED/DOA targets and their inverse, events_from_outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.common.errors import LabelError
from core.labels.classes import STARSS23
from core.labels.dcase_csv import format_labels, parse_labels, read_labels
from core.labels.table import LabelRow, LabelTable
from core.labels.targets import (
    azel_to_xyz,
    events_from_outputs,
    frame_targets,
    sed_doa_from_xyz,
    xyz_from_sed_doa,
    xyz_to_azel,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
STARSS_FILE = REAL / "dcase_seld" / "starss22" / "metadata_dev" / "dev-train-sony" / "fold3_room21_mix001.csv"

C = 4  # classes in the hand-made cases


def _xyz(doa: np.ndarray, t: int, c: int) -> tuple[float, float, float]:
    return float(doa[t, c]), float(doa[t, C + c]), float(doa[t, 2 * C + c])


def test_direction_conversions():
    np.testing.assert_allclose(azel_to_xyz(90, 0), [0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(azel_to_xyz(180, 0), [-1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(azel_to_xyz(0, -90), [0, 0, -1], atol=1e-15)
    np.testing.assert_allclose(
        azel_to_xyz([-90, 45], [0, 0]), [[0, -1, 0], [0.5**0.5, 0.5**0.5, 0]], atol=1e-15
    )
    az, el = xyz_to_azel(np.array([[0.0, -2.0, 2.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(az, [-90, 180, 0])
    np.testing.assert_allclose(el, [45, 0, 0])


def test_frame_targets_hand_made_values():
    table = parse_labels(
        "0,1,0,90,0\n"  # class 1 left: y = 1
        "2,0,0,0,0\n"  # class 0 front: x = 1
        "2,3,0,180,90\n"  # class 3 straight up: z = 1
        "3,2,0,-90,-30\n"  # class 2 right, 30 deg down
        "9,0,0,10,10\n"  # at/after n_frames: ignored
    )
    sed, doa = frame_targets(table, n_frames=5, n_classes=C)
    assert sed.shape == (5, C) and doa.shape == (5, 3 * C)
    assert sed.dtype == np.float32 and doa.dtype == np.float32
    expected_sed = np.zeros((5, C), np.float32)
    expected_sed[0, 1] = expected_sed[2, 0] = expected_sed[2, 3] = expected_sed[3, 2] = 1
    np.testing.assert_array_equal(sed, expected_sed)
    np.testing.assert_allclose(_xyz(doa, 0, 1), (0, 1, 0), atol=1e-7)
    np.testing.assert_allclose(_xyz(doa, 2, 0), (1, 0, 0), atol=1e-7)
    np.testing.assert_allclose(_xyz(doa, 2, 3), (0, 0, 1), atol=1e-7)
    np.testing.assert_allclose(_xyz(doa, 3, 2), (0, -np.cos(np.pi / 6), -0.5), atol=1e-7)
    # Inactive (frame, class) cells are exactly zero.
    active = np.tile(sed, (1, 3)).astype(bool)
    assert np.all(doa[~active] == 0)
    assert np.count_nonzero(sed) == 4


def test_two_instances_of_a_class_use_the_lowest_track():
    # Frame 1 has class 2 twice. The higher track comes first in the file and the lower one last,
    # so neither "first row" nor "last row" (the DCASE 2020 baseline) would give this answer.
    rows = [
        LabelRow(1, 2, 3, 0.0, 0.0),  # track 3: front
        LabelRow(1, 2, 1, 90.0, 0.0),  # track 1: left  <- lowest track, wins
        LabelRow(1, 2, 2, -90.0, 0.0),  # track 2: right
    ]
    sed, doa = frame_targets(rows, n_frames=2, n_classes=C)
    assert sed[1, 2] == 1 and np.count_nonzero(sed) == 1
    np.testing.assert_allclose(_xyz(doa, 1, 2), (0, 1, 0), atol=1e-7)
    # Order independent: any permutation gives the same targets.
    for perm in ([2, 1, 0], [1, 0, 2], [0, 2, 1]):
        _, doa2 = frame_targets([rows[i] for i in perm], n_frames=2, n_classes=C)
        np.testing.assert_array_equal(doa2, doa)
    # The same track listed twice: the earlier row in the file wins.
    dup = [LabelRow(0, 0, 0, 0.0, 90.0), LabelRow(0, 0, 0, 0.0, -90.0)]
    _, doa3 = frame_targets(dup, n_frames=1, n_classes=C)
    np.testing.assert_allclose(_xyz(doa3, 0, 0), (0, 0, 1), atol=1e-7)


def test_frame_targets_edge_cases():
    sed, doa = frame_targets(LabelTable(), n_frames=3, n_classes=C)
    assert sed.shape == (3, C) and not sed.any() and doa.shape == (3, 3 * C) and not doa.any()
    sed, doa = frame_targets([LabelRow(7, 0, 0, 0.0, 0.0)], n_frames=3, n_classes=C)
    assert not sed.any()
    with pytest.raises(LabelError, match=r"^x\.csv: class 4 \(frame 1\) does not fit 4 classes \(0-3\)"):
        frame_targets(LabelTable([LabelRow(1, 4, 0, 0.0, 0.0)], path="x.csv"), n_frames=3, n_classes=C)
    with pytest.raises(ValueError):
        frame_targets([], n_frames=3, n_classes=0)


def test_cartesian_rows_give_the_same_targets_as_polar():
    polar = parse_labels("0,0,0,45,0\n1,1,0,-135,30\n")
    cart = parse_labels(format_labels(polar, fmt="dcase2020-xyz"), fmt="dcase2020-xyz")  # no z < 0: named
    assert cart.fmt == "dcase2020-xyz"
    for a, b in zip(frame_targets(polar, 2, C), frame_targets(cart, 2, C), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-7)


def test_events_from_outputs_inverts_frame_targets():
    text = "0,1,0,90,0\n1,0,0,-45,20\n1,3,0,180,-10\n3,2,0,12.5,-60\n"
    table = parse_labels(text)
    sed, doa = frame_targets(table, n_frames=5, n_classes=C)
    events = events_from_outputs(sed, doa, threshold=0.5)
    assert events.fmt == "dcase2020"
    assert [(r.frame, r.cls, r.track) for r in events] == [(r.frame, r.cls, 0) for r in table]
    # -180 and 180 are the same direction; arctan2 of float32 vectors may give either.
    for got, want in zip(events, table, strict=True):
        d_az = (got.azimuth - want.azimuth + 180) % 360 - 180
        assert abs(d_az) < 1e-4 and abs(got.elevation - want.elevation) < 1e-4
        assert isinstance(got.azimuth, float)
    assert format_labels(events) == "0,1,0,90,0\n1,0,0,-45,20\n1,3,0,180,-10\n3,2,0,12.5,-60\n"


def test_events_from_outputs_threshold_and_scaled_vectors():
    sed = np.array([[0.2, 0.9], [0.5, 0.51]], np.float32)
    doa = np.zeros((2, 6), np.float32)
    doa[0, 1], doa[0, 3] = 3.0, 3.0  # class 1 at frame 0: (3, 3, 0) -> azimuth 45
    doa[1, 1], doa[1, 5] = 0.0, -0.4  # class 1 at frame 1: (0, 0, -0.4) -> elevation -90
    events = events_from_outputs(sed, doa, threshold=0.5)
    assert [(r.frame, r.cls) for r in events] == [(0, 1), (1, 1)]  # 0.5 is not above 0.5
    assert events.rows[0].azimuth == pytest.approx(45) and events.rows[0].elevation == 0
    assert events.rows[1].elevation == pytest.approx(-90)
    cart = events_from_outputs(sed, doa, fmt="dcase2020-xyz")
    assert cart.rows[0].xyz == pytest.approx((0.5**0.5, 0.5**0.5, 0.0))
    assert format_labels(cart) == "0,1,0,0.70710678,0.70710678,0\n1,1,0,0,0,-1\n"
    dist = events_from_outputs(sed, doa, fmt="dcase2024", distance=np.full((2, 2), 150.0))
    assert format_labels(dist) == "0,1,0,45,0,150\n1,1,0,0,-90,150\n"
    with pytest.raises(ValueError, match="needs a distance"):
        events_from_outputs(sed, doa, fmt="dcase2024")
    with pytest.raises(ValueError, match="shape"):
        events_from_outputs(sed, doa[:, :4])
    assert len(events_from_outputs(np.zeros((0, 2)), np.zeros((0, 6)))) == 0


def test_accdoa_helpers():
    sed = np.array([[1.0, 0.0], [0.25, 1.0]], np.float32)
    doa = np.zeros((2, 6), np.float32)
    doa[0, 0] = 1.0  # class 0 front
    doa[1, 0], doa[1, 5] = 1.0, 1.0  # class 0 front, class 1 up
    xyz = xyz_from_sed_doa(sed, doa)
    np.testing.assert_allclose(xyz[1], [0.25, 0, 0, 0, 0, 1])
    activity, unit = sed_doa_from_xyz(xyz)
    np.testing.assert_allclose(activity, [[1, 0], [0.25, 1]])
    np.testing.assert_allclose(unit, doa)
    assert activity.dtype == np.float32 and unit.dtype == np.float32


def test_real_starss_targets_match_the_rows():
    if not STARSS_FILE.is_file():
        pytest.skip(f"real STARSS22 metadata not found at {STARSS_FILE}")
    table = read_labels(STARSS_FILE, classes=STARSS23)
    sed, doa = frame_targets(table, table.n_frames, len(STARSS23))
    pairs = {(r.frame, r.cls) for r in table}
    assert int(sed.sum()) == len(pairs)
    np.testing.assert_allclose(np.linalg.norm(doa.reshape(len(sed), 3, -1), axis=1), sed, atol=1e-6)
    events = events_from_outputs(sed, doa)
    assert {(r.frame, r.cls) for r in events} == pairs
