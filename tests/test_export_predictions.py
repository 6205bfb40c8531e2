"""Exporting a batch's predictions as DCASE CSVs (core.inference.export)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.common.errors import SeldError
from core.inference.batch import FileResult
from core.inference.export import (
    EXPORT_FORMATS,
    as_exported,
    existing_outputs,
    export_predictions,
)
from core.inference.predict import Prediction
from core.labels.classes import DCASE2020
from core.labels.dcase_csv import read_labels
from core.labels.table import LabelRow, LabelTable

A = LabelTable([LabelRow(0, 1, 0, 10.123456, -5.5), LabelRow(1, 1, 0, 10.2, -5.5)])
B = LabelTable([LabelRow(3, 7, 0, -170.0, 20.0)])
EMPTY = LabelTable()


def _listing(folder) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_each_format_and_the_distance_placeholder(tmp_path):
    tables = {"a": A, "b": B, "silent": EMPTY}
    out = export_predictions(tables, tmp_path / "2020")
    assert out == [tmp_path / "2020" / n for n in ("a.csv", "b.csv", "silent.csv")]
    assert _listing(tmp_path / "2020") == {
        "a.csv": "0,1,0,10.1235,-5.5\n1,1,0,10.2,-5.5\n",
        "b.csv": "3,7,0,-170,20\n",
        "silent.csv": "",  # a recording without events is an empty file, not a missing one
    }
    export_predictions(tables, tmp_path / "2022", "dcase2022")
    assert _listing(tmp_path / "2022") == _listing(tmp_path / "2020")
    # DCASE 2024 needs a distance the model does not predict: refused unless a placeholder is given
    with pytest.raises(SeldError, match="predicts no source distance.*give a placeholder distance") as err:
        export_predictions(tables, tmp_path / "2024", "dcase2024")
    assert err.value.path == str(tmp_path / "2024" / "a.csv")
    assert not (tmp_path / "2024").exists()
    export_predictions(tables, tmp_path / "2024", "dcase2024", distance=0)
    assert _listing(tmp_path / "2024")["a.csv"] == "0,1,0,10.1235,-5.5,0\n1,1,0,10.2,-5.5,0\n"
    assert read_labels(tmp_path / "2024" / "b.csv", fmt="dcase2024").rows[0].distance == 0
    # a row's own distance is kept
    with_distance = LabelTable([LabelRow(0, 2, 0, 0.0, 0.0, 150.0)])
    export_predictions({"d": with_distance}, tmp_path / "own", "dcase2024")
    assert (tmp_path / "own" / "d.csv").read_text() == "0,2,0,0,0,150\n"
    with pytest.raises(SeldError, match="finite number >= 0"):
        export_predictions(tables, tmp_path / "neg", "dcase2024", distance=-1)
    with pytest.raises(SeldError, match="cannot export predictions as 'csv'"):
        export_predictions(tables, tmp_path / "x", "csv")
    assert set(EXPORT_FORMATS) == {"dcase2020", "dcase2022", "dcase2024"}


def test_nothing_is_overwritten_without_asking_and_a_refusal_writes_nothing(tmp_path):
    out = tmp_path / "preds"
    out.mkdir()
    (out / "b.csv").write_text("mine\n")
    tables = {"a": A, "b": B, "c": EMPTY}
    assert existing_outputs(tables, out) == [out / "b.csv"]
    with pytest.raises(
        SeldError, match=r"1 of the 3 prediction files exist already \(b.csv\); nothing was written"
    ):
        export_predictions(tables, out)
    assert _listing(out) == {"b.csv": "mine\n"}
    export_predictions(tables, out, overwrite=True)
    assert _listing(out)["b.csv"] == "3,7,0,-170,20\n" and len(_listing(out)) == 3
    # many existing files: the message lists ten and counts the rest
    many = {f"r{i:02d}": EMPTY for i in range(14)}
    export_predictions(many, tmp_path / "many")
    with pytest.raises(SeldError, match=r"14 of the 14 .*\(r00.csv, .*, r09.csv and 4 more\)"):
        export_predictions(many, tmp_path / "many")


def test_bad_names_and_rows_are_refused_before_any_file_is_written(tmp_path):
    with pytest.raises(SeldError, match="two recordings are named 'a'"):
        export_predictions([_result("/x/a.wav", A), _result("/y/a.wav", B)], tmp_path / "o")
    bad = LabelTable([LabelRow(0, 1, 0, float("nan"), 0.0)])
    with pytest.raises(
        SeldError, match=r"b.csv: cannot export the predictions: row 1 \(frame 0\): cannot write"
    ):
        export_predictions({"a": A, "b": bad}, tmp_path / "o")
    assert not (tmp_path / "o").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(SeldError, match="is a file, not a folder"):
        export_predictions({"a": A}, tmp_path / "file")


@pytest.mark.skipif(os.name != "posix", reason="a folder in the way of a file is a POSIX write error here")
def test_a_write_that_fails_midway_removes_what_this_export_created(tmp_path):
    out = tmp_path / "o"
    (out / "b.csv").mkdir(parents=True)  # os.replace cannot put a file there
    (out / "keep.csv").write_text("other\n")
    with pytest.raises(
        SeldError,
        match="b.csv: cannot write the prediction file: .*removed again the 1 file this export wrote before it",
    ):
        export_predictions({"a": A, "b": B, "c": EMPTY}, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "b.csv",
        "keep.csv",
    ]  # a.csv removed, c.csv never written


def _result(path: str, table: LabelTable) -> FileResult:
    frames = 600
    prediction = Prediction(
        sed=np.zeros((frames, 14), np.float32),
        doa=np.zeros((frames, 42), np.float32),
        classes=DCASE2020.names,
    )
    return FileResult(Path(path), prediction, table, None, 1.0)


def test_batch_results_export_by_recording_name_and_read_back_as_exported(tmp_path):
    results = [_result("/rec/foa_eval/mix1.wav", A), _result("/rec/foa_eval/mix2.flac", B)]
    paths = export_predictions(results, tmp_path / "o", "dcase2022")
    assert [p.name for p in paths] == ["mix1.csv", "mix2.csv"]
    for table, path in zip((A, B), paths, strict=True):
        back = read_labels(path)
        assert as_exported(table, "dcase2022").rows == back.rows
    assert as_exported(A).rows[0].azimuth == 10.1235  # rounded as written
    assert as_exported(A, "dcase2024").rows == as_exported(A).rows  # the distance plays no part
