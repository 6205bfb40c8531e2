"""Tests of ``seld score`` (core/commands/score.py) through ``core.cli.main``.

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
    ref = write(tmp_path / "ref.csv", block(2, range(10), 80))
    pred = write(tmp_path / "pred.csv", [f"{f},2,0,0.0,1.0,0.0" for f in range(10)])
    data, _ = run_json(capsys, str(ref), str(pred))
    assert (data["ER"], data["F"], data["LE"], data["LR"]) == pytest.approx((0, 1, 10, 1), abs=TOL)
    assert data["SELD"] == pytest.approx(10 / 180 / 4, abs=TOL)


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
    assert "seld: error:" in err and "class" in err and "ref.csv" in err


def test_empty_reference_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "ref").mkdir()
    (tmp_path / "pred").mkdir()
    assert main(["score", str(tmp_path / "ref"), str(tmp_path / "pred")]) == 2
    assert "no .csv label files" in capsys.readouterr().err
