"""Measured room responses (core.synthesis.measured): reading SOFA files and WAV folders, snapping
to the nearest measured direction, time-variant convolution with cross-fades, ambience."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from core.common.errors import SeldError
from core.synthesis.measured import (
    DIRECTION_TABLE,
    MeasuredResponses,
    read_ambience,
    read_responses,
    render_through,
    snap_directions,
)

FS = 24000


def _responses(n: int = 4, length: int = 64, seed: int = 0) -> MeasuredResponses:
    rng = np.random.default_rng(seed)
    irs = rng.standard_normal((n, 4, length)).astype(np.float32) * np.exp(-np.arange(length) / 10)
    az = np.linspace(-180, 180, n, endpoint=False)
    return MeasuredResponses("foa", az, np.zeros(n), np.full(n, 1.5), irs.astype(np.float32), "test")


def _write_folder(folder, rows, channels=4, sr=FS, header="file,azimuth,elevation,distance"):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [header]
    for i, (az, el) in enumerate(rows):
        ir = np.zeros((256, channels), dtype=np.float32)
        ir[10 + i, :] = 1.0 / (i + 1)
        sf.write(folder / f"ir_{i}.wav", ir, sr, subtype="FLOAT")
        lines.append(f"ir_{i}.wav,{az},{el},2")
    (folder / DIRECTION_TABLE).write_text("\n".join(lines) + "\n")
    return folder


# --------------------------------------------------------------------------- rendering


def test_one_position_is_exactly_one_convolution():
    """The windows sum to one: a source on one measured position gets the plain convolution."""
    r = _responses()
    x = np.random.default_rng(1).standard_normal(FS)
    y = render_through(x, r, np.full(10, 2))
    ref = scipy.signal.fftconvolve(x[None, :], r.irs[2].astype(np.float64), axes=-1)
    np.testing.assert_allclose(y, ref, atol=1e-9)  # FFT round-off only (float64, unit-scale data)


def test_a_moving_source_changes_response_at_each_block_with_a_complementary_crossfade():
    r = _responses()
    x = np.ones(3 * 2400)
    indices = np.array([0, 1, 3])
    fade = 480
    y = render_through(x, r, indices, block=2400, crossfade=fade)
    # well inside each block, the output is that block's response to a constant (its DC gain)
    for b, i in enumerate(indices):
        t = b * 2400 + 1200
        np.testing.assert_allclose(y[:, t], r.irs[i].astype(np.float64).sum(axis=-1), rtol=1e-9)
    # identical responses on both sides of a boundary: the cross-fade is invisible
    same = MeasuredResponses("foa", r.azimuth, r.elevation, r.distance, np.repeat(r.irs[:1], 4, 0), "same")
    np.testing.assert_allclose(
        render_through(x, same, indices, block=2400, crossfade=fade),
        scipy.signal.fftconvolve(x[None, :], same.irs[0].astype(np.float64), axes=-1),
        atol=1e-9,
    )


def test_snapping_picks_the_nearest_measured_direction_on_the_sphere():
    az = np.array([0.0, 90.0, 180.0, -90.0, 0.0])
    el = np.array([0.0, 0.0, 0.0, 0.0, 80.0])
    r = MeasuredResponses("mic", az, el, np.full(5, np.nan), np.ones((5, 4, 8), np.float32), "grid")
    idx, snapped_az, snapped_el = snap_directions(
        r, np.array([10.0, 170.0, -175.0, 5.0]), np.array([0, 0, 5, 70])
    )
    assert idx.tolist() == [0, 2, 2, 4]
    assert snapped_az.tolist() == [0.0, 180.0, 180.0, 0.0] and snapped_el.tolist() == [0, 0, 0, 80]
    # azimuth wraps: -179 is next to 180, not to -90
    assert r.nearest(-179.0, 0.0) == 2


# --------------------------------------------------------------------------- reading


def test_a_folder_of_wav_responses_with_its_direction_table(tmp_path):
    folder = _write_folder(tmp_path / "room", [(0, 0), (90, 10), (270, -20)])
    r = read_responses(folder, "foa")
    assert len(r) == 3 and r.irs.shape == (3, 4, 256)
    np.testing.assert_allclose(r.azimuth, [0, 90, -90])  # 270 wrapped
    np.testing.assert_allclose(r.elevation, [0, 10, -20])
    np.testing.assert_allclose(r.distance, [2, 2, 2])
    assert r.irs[1, 0, 11] == pytest.approx(0.5)


def test_responses_at_another_rate_are_resampled_to_24k(tmp_path):
    folder = _write_folder(tmp_path / "room48", [(0, 0)], sr=48000)
    r = read_responses(folder, "mic")
    assert r.irs.shape[-1] == 128  # 256 samples at 48 kHz
    # the impulse at 10/48000 s lands at sample 5 at 24 kHz
    assert int(np.argmax(np.abs(r.irs[0, 0]))) == 5


@pytest.mark.parametrize(
    "case, expected",
    [
        ("channels", "has 2 channels"),
        ("missing", "is listed but not in the folder"),
        ("elevation", "elevation 95.0 is not in [-90, 90]"),
        ("header", "the first line must be the header"),
        ("number", "must be numbers"),
        ("table", "needs its direction table"),
    ],
)
def test_a_bad_folder_is_refused_naming_the_file_and_line(tmp_path, case, expected):
    folder = tmp_path / case
    if case == "channels":
        _write_folder(folder, [(0, 0)], channels=2)
    else:
        _write_folder(folder, [(0, 0), (10, 0)])
    table = folder / DIRECTION_TABLE
    lines = table.read_text().splitlines()
    if case == "missing":
        (folder / "ir_1.wav").unlink()
    elif case == "elevation":
        lines[2] = "ir_1.wav,10,95,2"
    elif case == "header":
        lines[0] = "name,az,el"
    elif case == "number":
        lines[1] = "ir_0.wav,front,0,2"
    elif case == "table":
        table.unlink()
    if table.exists():
        table.write_text("\n".join(lines) + "\n")
    with pytest.raises(SeldError, match=expected.replace("[", r"\[").replace("]", r"\]")) as err:
        read_responses(folder, "foa")
    assert err.value.path is not None
    if case in ("missing", "elevation", "number"):
        assert err.value.line in (2, 3)


def test_a_sofa_file_of_measured_responses(tmp_path):
    sofar = pytest.importorskip("sofar")
    sofa = sofar.Sofa("GeneralFIR")
    m, n = 3, 200
    ir = np.zeros((m, 4, n))
    for i in range(m):
        ir[i, :, 20 + 2 * i] = 1.0
    sofa.Data_IR = ir
    sofa.Data_SamplingRate = 48000
    sofa.Data_Delay = np.zeros((1, 4))
    sofa.ListenerPosition = np.array([[1.0, 1.0, 1.5]])
    sofa.SourcePosition_Type, sofa.SourcePosition_Units = "cartesian", "metre"
    # sources in front, to the left and above the listener
    sofa.SourcePosition = np.array([[3.0, 1.0, 1.5], [1.0, 3.0, 1.5], [1.0, 1.0, 3.5]])
    sofa.EmitterPosition = np.zeros((1, 3))
    path = tmp_path / "room.sofa"
    sofar.write_sofa(str(path), sofa)
    r = read_responses(path, "foa")
    np.testing.assert_allclose(r.azimuth[:2], [0, 90], atol=1e-9)
    np.testing.assert_allclose(r.elevation, [0, 0, 90], atol=1e-9)
    np.testing.assert_allclose(r.distance, [2, 2, 2])
    assert r.irs.shape == (3, 4, 100)  # resampled from 48 kHz


def test_an_unreadable_sofa_file_is_refused_with_its_name(tmp_path):
    pytest.importorskip("sofar")
    path = tmp_path / "broken.sofa"
    path.write_bytes(b"not a netCDF file")
    with pytest.raises(SeldError, match="cannot be read as a SOFA file") as err:
        read_responses(path, "foa")
    assert err.value.path == str(path)


# --------------------------------------------------------------------------- ambience


def test_an_ambience_is_cut_or_looped_to_length(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((FS, 4)).astype(np.float32) * 0.1
    path = tmp_path / "amb.wav"
    sf.write(path, x, FS, subtype="FLOAT")
    cut = read_ambience(path, FS // 2, np.random.default_rng(1))
    assert cut.shape == (4, FS // 2)
    # a cut is a contiguous excerpt of the file
    start = int(np.argmin([np.abs(x[s : s + 10, 0] - cut[0, :10]).sum() for s in range(FS // 2 + 1)]))
    np.testing.assert_allclose(cut, x[start : start + FS // 2].T, atol=1e-7)
    looped = read_ambience(path, 3 * FS, np.random.default_rng(1))
    assert looped.shape == (4, 3 * FS)
    # away from the seams the loop repeats the file; the level stays the file's
    np.testing.assert_allclose(looped[:, 100:200], x[100:200].T, atol=1e-7)
    assert np.sqrt(np.mean(looped**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=0.05)


def test_an_ambience_of_the_wrong_channel_count_is_refused(tmp_path):
    path = tmp_path / "stereo.wav"
    sf.write(path, np.zeros((FS, 2), np.float32), FS)
    with pytest.raises(SeldError, match="4 channels, not 2"):
        read_ambience(path, 100, np.random.default_rng(0))


# --------------------------------------------------------------------------- seld synth --rirs


def _plane_wave_folder(folder, directions):
    """FOA responses that are exact plane waves (AmbiX SN3D gains) from ``directions``, delayed 20 samples."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["file,azimuth,elevation"]
    for i, (az, el) in enumerate(directions):
        a, e = np.radians(az), np.radians(el)
        ir = np.zeros((64, 4), dtype=np.float32)
        ir[20] = [1.0, np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)]
        sf.write(folder / f"pw_{i:02d}.wav", ir, FS, subtype="FLOAT")
        lines.append(f"pw_{i:02d}.wav,{az},{el}")
    (folder / DIRECTION_TABLE).write_text("\n".join(lines) + "\n")
    return folder


def test_seld_synth_renders_through_measured_responses_and_labels_the_measured_directions(tmp_path):
    import json

    from core.cli.seld import main
    from core.labels.dcase_csv import read_labels

    grid = [(az, el) for el in (-30, 0, 30) for az in range(-180, 180, 30)]
    rirs = _plane_wave_folder(tmp_path / "rirs", grid)
    out = tmp_path / "ds"
    args = ["synth", "--out", str(out), "--formats", "foa", "--folds", "1", "--clips-per-fold", "2"]
    args += ["--duration", "12", "--rirs", str(rirs), "--snr-db", "inf", "--tilt-db-oct", "0", "--seed", "3"]
    assert main(args) == 0
    assert not (out / "mic_dev").exists()
    measured = {(float(a), float(e)) for a, e in grid}
    info = json.loads((out / "synth_info.json").read_text())
    for mix in info["mixes"]:
        name = mix["name"]
        labels = read_labels(out / "metadata_dev" / f"{name}.csv")
        rows = labels.rows
        assert rows, "no event"
        # every label direction is a measured one (snapped, integer degrees)
        assert {(float(r.azimuth), float(r.elevation)) for r in rows} <= measured
        x, sr = sf.read(out / "foa_dev" / f"{name}.wav", always_2d=True)
        assert sr == FS
        # in frames with one event, the sound comes from the labelled (measured) direction:
        # the active intensity (W times X, Y, Z) of a plane wave points at it
        by_frame: dict[int, list] = {}
        for r in rows:
            by_frame.setdefault(r.frame, []).append(r)
        checked = 0
        for frame, active in by_frame.items():
            if len(active) != 1:
                continue
            seg = x[frame * 2400 + 480 : (frame + 1) * 2400 - 480]  # away from the cross-fades
            if np.sqrt(np.mean(seg[:, 0] ** 2)) < 1e-3:
                continue
            w, y, z, xx = seg.T
            i = np.array([np.mean(w * xx), np.mean(w * y), np.mean(w * z)])
            az = np.degrees(np.arctan2(i[1], i[0]))
            el = np.degrees(np.arctan2(i[2], np.hypot(i[0], i[1])))
            r = active[0]
            assert abs(((az - r.azimuth + 180) % 360) - 180) < 2.0 and abs(el - r.elevation) < 2.0
            checked += 1
        assert checked >= 10
        # the info says which measured response each frame of each event used
        assert all("responses" in ev["trajectory"] for ev in mix["events"])


def test_measured_responses_with_a_recorded_ambience_at_the_drawn_snr(tmp_path):
    import json

    from core.cli.seld import main

    rirs = _plane_wave_folder(tmp_path / "rirs", [(0, 0), (90, 0), (180, 0), (-90, 0)])
    amb = tmp_path / "ambience.wav"
    sf.write(amb, np.random.default_rng(0).standard_normal((FS * 5, 4)).astype(np.float32) * 0.05, FS)
    out = tmp_path / "ds"
    args = ["synth", "--out", str(out), "--formats", "foa", "--folds", "2", "--clips-per-fold", "1"]
    args += ["--duration", "10", "--rirs", str(rirs), "--ambience", str(amb), "--snr-db", "10", "--seed", "1"]
    assert main(args) == 0
    mix = json.loads((out / "synth_info.json").read_text())["mixes"][0]
    assert mix["snr_db"] == 10 and mix["noise"]["noise"] == "recorded ambience"


def test_measured_responses_need_one_format_and_an_ambience_needs_responses(tmp_path, capsys):
    from core.cli.seld import main

    rirs = _plane_wave_folder(tmp_path / "rirs", [(0, 0)])
    base = [
        "synth",
        "--out",
        str(tmp_path / "ds"),
        "--folds",
        "1",
        "--clips-per-fold",
        "1",
        "--duration",
        "5",
    ]
    assert main([*base, "--rirs", str(rirs)]) == 2  # foa,mic by default
    assert "measured responses are of one format" in capsys.readouterr().err
    assert main([*base, "--formats", "foa", "--ambience", str(tmp_path / "x.wav")]) == 2
    assert "give --rirs too" in capsys.readouterr().err
