"""Tests of ``seld score`` (core/cli/score.py) through ``core.cli.seld.main``.

Expected scores are worked out by hand in the comments (dcase2020, 600-frame clips).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from core.cli import main

TOL = 1e-9


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def block(cls: int, frames: range, az: float, el: float = 0.0) -> list[str]:
    return [f"{f},{cls},0,{az},{el}" for f in frames]


def run_json(capsys, *args: str) -> tuple[dict, str]:
    assert main(["score", *args, "--json"]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_two_files_json(tmp_path, capsys):
    # class 1 in segments 0 and 1, predicted exactly: ER 0, F 1, LE 0, LR 1, SELD 0.
    ref = write(tmp_path / "ref.csv", block(1, range(20), 10))
    data, err = run_json(capsys, str(ref), str(ref))
    for key in ("ER", "F", "LE", "LR", "SELD", "files"):
        assert key in data
    assert (data["ER"], data["F"], data["LE"], data["LR"], data["SELD"]) == pytest.approx(
        (0, 1, 0, 1, 0), abs=TOL
    )
    assert data["files"] == 1 and data["metric"] == "dcase2020"
    assert len(data["per_class"]) == 14 and len(data["per_file"]) == 1
    assert err == ""


def test_cartesian_prediction_file(tmp_path, capsys):
    # prediction at (x, y, z) = (0, 1, 0), i.e. azimuth 90, for a reference at 80 deg: error 10 deg.
    # ER 0, F 1, LE 10, LR 1, SELD = 10/180/4.
    # Every row also reads as polar with distance (0 deg, 1 deg, distance 0), so the format is named.
    ref = write(tmp_path / "ref.csv", block(2, range(10), 80))
    pred = write(tmp_path / "pred.csv", [f"{f},2,0,0.0,1.0,0.0" for f in range(10)])
    data, _ = run_json(capsys, str(ref), str(pred), "--pred-format", "dcase2020-xyz")
    assert (data["ER"], data["F"], data["LE"], data["LR"]) == pytest.approx((0, 1, 10, 1), abs=TOL)
    assert data["SELD"] == pytest.approx(10 / 180 / 4, abs=TOL)
    # a negative z settles the format without the option: (0, 0.8, -0.6) is azimuth 90, elevation -36.87;
    # distance to (80, 0): arccos(cos(36.87) cos(10)) = 38.1 deg > 20 -> FN: ER 1, F 0, LR 1.
    write(pred, [f"{f},2,0,0,0.8,-0.6" for f in range(10)])
    data, _ = run_json(capsys, str(ref), str(pred))
    expected_le = math.degrees(math.acos(0.8 * math.cos(math.radians(10))))
    assert (data["ER"], data["F"], data["LE"], data["LR"]) == pytest.approx((1, 0, expected_le, 1), abs=1e-6)


def test_ambiguous_six_columns_are_refused_with_the_option_to_name(tmp_path, capsys):
    # The tester's case: a Cartesian prediction (all z >= 0) used to be read as polar with distance
    # when one row had a zero vector (SELD 0.55, exit 0). Now: refused at that row.
    ref = write(tmp_path / "ref.csv", block(2, range(10), 80))
    rows = [f"{f},2,0,0.0,1.0,0.0" for f in range(10)]
    pred = write(tmp_path / "pred.csv", rows)
    assert main(["score", str(ref), str(pred)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"seld: error: {pred}, line 1: the 6 columns read both as Cartesian x,y,z")
    assert "--pred-format dcase2020-xyz or --pred-format dcase2024" in err
    rows[4] = "4,2,0,0,0,0"
    write(pred, rows)
    assert main(["score", str(ref), str(pred)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seld: error: {pred}, line 5: the (x, y, z) vector has zero length")
    assert "Traceback" not in err
    # --label-format sets both sides: a 5-column reference does not fit dcase2020-xyz
    rows[4] = "4,2,0,0,1,0"
    write(pred, rows)
    assert main(["score", str(ref), str(pred), "--label-format", "dcase2020-xyz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seld: error: {ref}, line 1: found 5 columns but format 'dcase2020-xyz'")
    assert "--ref-format and --pred-format set one side" in err
    # two 6-column files: --label-format is enough
    ref6 = write(tmp_path / "ref6.csv", [f"{f},2,0,0,1,0" for f in range(10)])
    data, _ = run_json(capsys, str(ref6), str(pred), "--label-format", "dcase2020-xyz")
    assert data["SELD"] == pytest.approx(0, abs=TOL)
    # read as polar instead (azimuth 0, elevation 1, distance 0) the same files also agree
    data, _ = run_json(capsys, str(ref6), str(pred), "--label-format", "dcase2024")
    assert data["SELD"] == pytest.approx(0, abs=TOL)


def test_folders_matched_by_name_with_warnings(tmp_path, capsys):
    # a.csv: class 1 in segment 0, predicted exactly (TP 1). split/b.csv: class 4 in segment 0, no
    # prediction file -> empty prediction (FN 1, D 1). c.csv: prediction without reference, ignored.
    # Nref 2, Nsys 1, TP 1 -> ER 1/2; P 1, R 1/2 -> F 2/3; LE 0; LR 2/3;
    # SELD = (1/2 + 1/3 + 0 + 1/3)/4 = 0.291666...
    write(tmp_path / "ref" / "a.csv", block(1, range(10), 10))
    write(tmp_path / "ref" / "split" / "b.csv", block(4, range(10), -20))
    write(tmp_path / "pred" / "a.csv", block(1, range(10), 10))
    write(tmp_path / "pred" / "c.csv", block(3, range(10), 0))
    data, err = run_json(capsys, str(tmp_path / "ref"), str(tmp_path / "pred"))
    assert data["files"] == 2
    assert (data["ER"], data["F"], data["LE"], data["LR"]) == pytest.approx((0.5, 2 / 3, 0, 2 / 3), abs=TOL)
    assert data["SELD"] == pytest.approx((0.5 + 2 / 3) / 4, abs=TOL)
    assert [f["name"] for f in data["per_file"]] == ["a.csv", "b.csv"]
    assert "warning" in err and "b.csv" in err and "empty prediction" in err
    assert "c.csv" in err and "no reference" in err


def test_readable_output_and_csv_report(tmp_path, capsys):
    write(tmp_path / "ref" / "a.csv", block(1, range(10), 10))
    write(tmp_path / "ref" / "b.csv", block(4, range(10), -20))
    write(tmp_path / "pred" / "a.csv", block(1, range(10), 10))
    write(tmp_path / "pred" / "b.csv", block(4, range(10), -20))
    out_csv = tmp_path / "report.csv"
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "pred"), "--csv", str(out_csv)]) == 0
    out, _ = capsys.readouterr()
    assert "SELD" in out and "ER" in out and "dcase2020" in out
    with out_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:7] == ["scope", "name", "ER", "F", "LE", "LR", "SELD"]
    scopes = [r["scope"] for r in rows]
    assert scopes.count("overall") == 1 and scopes.count("class") == 14 and scopes.count("file") == 2
    overall = rows[0]
    assert overall["scope"] == "overall" and float(overall["SELD"]) == pytest.approx(0, abs=TOL)
    assert int(overall["Nref"]) == 2 and int(overall["TP"]) == 2
    assert {r["name"] for r in rows if r["scope"] == "file"} == {"a.csv", "b.csv"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]  # no temporary left


def test_the_csv_report_is_the_one_writer_the_gui_uses_too(tmp_path, capsys):
    from core.cli.score import score_paths
    from core.metrics.report import CSV_COLUMNS, report_rows, write_csv_report

    write(tmp_path / "ref" / "a.csv", block(1, range(10), 10) + block(3, range(5, 20), 100))
    write(tmp_path / "pred" / "a.csv", block(1, range(2, 10), 30) + block(2, range(30, 35), 0))
    cli_csv, lib_csv = tmp_path / "cli.csv", tmp_path / "lib.csv"
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "pred"), "--csv", str(cli_csv)]) == 0
    capsys.readouterr()
    scores = score_paths(tmp_path / "ref", tmp_path / "pred")
    write_csv_report(scores, lib_csv)
    assert cli_csv.read_bytes() == lib_csv.read_bytes()
    lines = cli_csv.read_text().splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS) and len(lines) == 1 + 1 + 14 + 1
    rows = report_rows(scores)
    assert rows[0]["scope"] == "overall" and rows[0]["SELD"] == scores.SELD and rows[0]["Nref"] == scores.Nref
    assert [r["class"] for r in rows[1:15]] == list(range(14)) and rows[15]["n_frames"] == 600


def test_frames_option(tmp_path, capsys):
    # class 0 at frame 650 only in the reference: ignored with the default 600 frames (nothing to
    # score, Nref 0), a miss with --frames 700 (ER 1, F 0, LE 180, LR 0, SELD 1).
    ref = write(tmp_path / "ref.csv", block(0, range(650, 651), 0))
    pred = write(tmp_path / "pred.csv", [])
    data, _ = run_json(capsys, str(ref), str(pred))
    assert data["Nref"] == 0 and data["n_segments"] == 60
    data, _ = run_json(capsys, str(ref), str(pred), "--frames", "700")
    assert (data["ER"], data["F"], data["LE"], data["LR"], data["SELD"]) == pytest.approx(
        (1, 0, 180, 0, 1), abs=TOL
    )


def test_dcase2022_metric_with_class_set(tmp_path, capsys):
    # STARSS classes (13); class 0 predicted exactly, the others absent:
    # class 0 SELD 0, the 12 others (0.75 each: F 0, LE 180, LR 0) -> SELD = 9/13; F = 1/13.
    ref = write(tmp_path / "ref.csv", block(0, range(10), 0))
    data, _ = run_json(capsys, str(ref), str(ref), "--metric", "dcase2022", "--classes", "starss")
    assert data["metric"] == "dcase2022" and len(data["per_class"]) == 13
    assert data["per_class"][0]["name"] == "female speech"
    assert data["SELD"] == pytest.approx(9 / 13, abs=TOL) and data["F"] == pytest.approx(1 / 13, abs=TOL)
    assert not math.isnan(data["LE"])


def test_malformed_csv_exits_2_with_message(tmp_path, capsys):
    ref = write(tmp_path / "ref.csv", block(0, range(10), 0))
    pred = write(tmp_path / "pred.csv", ["0,0,0,abc,0"])
    assert main(["score", str(ref), str(pred), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("seld: error:") and "pred.csv" in err and "line 1" in err


def test_file_and_folder_mix_is_an_error(tmp_path, capsys):
    ref = write(tmp_path / "ref.csv", block(0, range(10), 0))
    (tmp_path / "preds").mkdir()
    assert main(["score", str(ref), str(tmp_path / "preds")]) == 2
    err = capsys.readouterr().err
    assert "seld: error:" in err and "file" in err and "folder" in err


def test_missing_path_is_an_error(tmp_path, capsys):
    ref = write(tmp_path / "ref.csv", block(0, range(10), 0))
    assert main(["score", str(ref), str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert "seld: error:" in err and "nope.csv" in err


def test_class_outside_the_class_count_is_an_error(tmp_path, capsys):
    ref = write(tmp_path / "ref.csv", block(5, range(10), 0))
    assert main(["score", str(ref), str(ref), "--classes", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"seld: error: {ref}, line 1: class '5' is outside the 3 scored classes (0-2); check --classes"
    )


def test_class_index_past_the_metric_set_is_refused_without_classes(tmp_path, capsys):
    # The tester's case: class 99 in a prediction used to make 100 classes and move the dcase2022 SELD
    # (here from 0.6362 to 0.7531). Now it is refused with file and line unless --classes widens the set.
    lines = block(1, range(100), 30) + block(4, range(20, 60), -60)
    ref = write(tmp_path / "ref.csv", lines)
    pred = write(tmp_path / "pred.csv", [*lines[:50], "5,99,0,0,0", *lines[50:]])
    assert main(["score", str(ref), str(pred), "--metric", "dcase2022"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"seld: error: {pred}, line 51: class '99' is outside the 13 scored classes (0-12); --metric dcase2022 "
        "scores 13 classes unless --classes gives a class count or set (dcase2020, dcase2021, starss)\n"
    )
    for big in ("2147483647", "2147483648"):  # under and over the index limit: no allocation either way
        write(pred, [*lines, f"5,{big},0,0,0"])
        assert main(["score", str(ref), str(pred)]) == 2
        assert f"line 141: class '{big}'" in capsys.readouterr().err
    # widened on purpose: 100 classes, class 99 is an insertion
    write(pred, [*lines[:50], "5,99,0,0,0", *lines[50:]])
    data, _ = run_json(capsys, str(ref), str(pred), "--metric", "dcase2022", "--classes", "100")
    assert data["n_classes"] == 100 and data["I"] == 1
    assert main(["score", str(ref), str(pred), "--classes", "99999999"]) == 2
    assert "at most 10000" in capsys.readouterr().err


def test_huge_frame_indices_are_scored_without_allocating(tmp_path, capsys):
    # dcase2022 clip length from the last reference frame 2**31 - 1: 214748365 segments, instant.
    ref = write(tmp_path / "ref.csv", [*block(0, range(10), 0), "2147483647,0,0,0,0"])
    pred = write(tmp_path / "pred.csv", block(0, range(10), 0))
    data, err = run_json(capsys, str(ref), str(pred), "--metric", "dcase2022")
    assert data["n_segments"] == 214748365 and data["Nref"] == 2 and data["TP"] == 1 and err == ""
    # frame 1e8 is a multiple of 10: the official rule leaves it out, and says so
    write(ref, [*block(0, range(10), 0), "100000000,0,0,0,0"])
    data, err = run_json(capsys, str(ref), str(pred), "--metric", "dcase2022")
    assert data["n_segments"] == 10_000_000 and data["Nref"] == 1
    assert "1 reference row at or past the clip end (frame 100000000" in err
    assert "--frames 100000001 scores every row here" in err


def test_rows_past_the_clip_are_counted_in_a_warning(tmp_path, capsys):
    # The tester's case: events only at frames 650-900 against an empty prediction scored ER 0 silently.
    ref = write(tmp_path / "ref.csv", block(3, range(650, 901), 10))
    pred = write(tmp_path / "pred.csv", [])
    data, err = run_json(capsys, str(ref), str(pred))
    assert data["Nref"] == 0 and data["per_file"][0]["ref_past_clip"] == 251
    assert err == (
        "seld score: warning: ref.csv: 251 reference rows at or past the clip end (frame 600; the last row is at "
        "frame 900) are not scored\n"
        "seld score: warning: dcase2020 clips are 600 frames (60 s) unless --frames says otherwise; if the clips "
        "are longer, give --frames N (--frames 901 scores every row here)\n"
    )
    data, err = run_json(capsys, str(ref), str(pred), "--frames", "901")
    assert data["ER"] == pytest.approx(1, abs=TOL) and data["Nref"] == 26 and err == ""


def test_past_clip_warnings_are_summarised_for_many_files(tmp_path, capsys):
    for i in range(12):
        write(tmp_path / "ref" / f"f{i:02d}.csv", block(1, range(10), 0))
        write(tmp_path / "pred" / f"f{i:02d}.csv", [*block(1, range(10), 0), "600,1,0,0,0", "605,1,0,0,0"])
    data, err = run_json(capsys, str(tmp_path / "ref"), str(tmp_path / "pred"))
    assert data["SELD"] == pytest.approx(0, abs=TOL)
    lines = err.splitlines()
    assert len(lines) == 12
    assert lines[0] == (
        "seld score: warning: f00.csv: 2 prediction rows at or past the clip end (frame 600; the last row is at "
        "frame 605) are not scored"
    )
    assert (
        lines[10]
        == "seld score: warning: ... and 2 more files with rows past the clip end (0 reference, 4 prediction rows)"
    )
    assert "--frames 606" in lines[11]


def test_long_fields_are_cut_in_errors(tmp_path, capsys):
    ref = write(tmp_path / "ref.csv", block(0, range(10), 0))
    pred = write(tmp_path / "pred.csv", ["0,0,0," + "9" * 10_000 + "x,0"])
    assert main(["score", str(ref), str(pred)]) == 2
    err = capsys.readouterr().err
    assert err == f"seld: error: {pred}, line 1: azimuth '{'9' * 40}'… (10001 characters) is not a number\n"


def test_empty_reference_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "ref").mkdir()
    (tmp_path / "pred").mkdir()
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "pred")]) == 2
    assert "no .csv label files" in capsys.readouterr().err
