"""Dataset-wide metrics of a batch (core.inference.batch_metrics): the same numbers as ``seld score``
on the exported predictions, per class, per file, and the inspector's errors on the same tables."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from core.cli.score import write_csv_report
from core.cli.seld import main
from core.common.errors import SeldError
from core.common.progress import run_job
from core.data.browse import browse
from core.data.recordings import collect_recordings
from core.inference.batch import BatchTracker, run_batch
from core.inference.batch_metrics import LabelledBatch, labelled_batch
from core.inference.export import export_predictions
from core.inference.predict import open_model
from core.labels.classes import DCASE2020
from core.labels.dcase_csv import write_labels
from core.labels.table import LabelRow, LabelTable
from core.metrics.seld import SeldScores
from core.spatial.directions import wrap_azimuth
from tests.test_export_predictions import _result
from tests.test_inference import write_scene
from tests.test_package import tiny_package

KEYS = ("ER", "F", "LE", "LR", "SELD")
COUNTERS = ("Nref", "Nsys", "TP", "FP", "FN", "FP_spatial", "S", "D", "I", "DE_TP", "DE_FN")


def _seld_score(capsys, ref: Path, pred: Path, metric: str, *extra: str) -> dict:
    capsys.readouterr()
    assert (
        main(["score", str(ref), str(pred), "--metric", metric, "--classes", "dcase2020", "--json", *extra])
        == 0
    )
    return json.loads(capsys.readouterr().out)


def _same(value, cli_value) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return cli_value is None  # undefined: NaN in Python, null in JSON
    return abs(value - cli_value) <= 1e-9


def assert_equal_to_cli(app: SeldScores, cli: dict) -> None:
    """Overall, per-class and per-file numbers of the app equal ``seld score --json``'s (1e-9)."""
    for key in (*KEYS, "DE_sum"):
        assert _same(getattr(app, key), cli[key]), key
    for key in COUNTERS:
        assert getattr(app, key) == cli[key], key
    assert app.n_files == cli["files"]
    assert len(app.per_class) == len(cli["per_class"])
    for mine, theirs in zip(app.per_class, cli["per_class"], strict=True):
        for key in (*KEYS, "DE_sum", *COUNTERS[:6]):
            assert _same(getattr(mine, key), theirs[key]), (mine.cls, key)
    # per file: the CLI names a file by its label file (a.csv), the app by its recording (a)
    assert [f"{f.name}.csv" for f in app.per_file] == [f["name"] for f in cli["per_file"]]
    for mine, theirs in zip(app.per_file, cli["per_file"], strict=True):
        for key in (*KEYS, *COUNTERS):
            assert _same(getattr(mine, key), theirs[key]), (mine.name, key)


def _reference_from(pred: LabelTable, rng: np.random.Generator, n_frames: int) -> LabelTable:
    """A reference made from a prediction, with every kind of error: the first predicted class
    is absent (false alarms), the second is another class there (wrong class), the others are
    kept, some rows dropped (missed), turned a little (TP) or a lot (mislocated), and an event
    the model did not predict is added (missed)."""
    predicted = sorted({r.cls for r in pred.rows})
    unused = sorted(set(range(14)) - set(predicted))
    absent, renamed = predicted[0], predicted[1]
    rows = []
    for r in pred.rows:
        if r.cls == absent or rng.random() < 0.15:
            continue
        if r.cls == renamed:
            rows.append(LabelRow(r.frame, unused[0], 0, r.azimuth, r.elevation))
            continue
        turn = float(rng.choice([0.0, 3.0, 12.0, 45.0]))
        rows.append(LabelRow(r.frame, r.cls, 0, float(wrap_azimuth(r.azimuth + turn)), r.elevation))
    rows += [LabelRow(f, unused[1], 0, -60.0, 10.0) for f in range(n_frames // 2, n_frames)]
    return LabelTable(rows)


def test_a_batch_with_a_corrupt_file_scores_as_seld_score_on_its_export(tmp_path, capsys):
    root = tmp_path / "data"
    audio = root / "foa_dev"
    write_scene(audio / "fold1_room1_mix001.wav", 3.0, seed=1)
    write_scene(audio / "fold1_room1_mix002.wav", 2.2, seed=2)
    write_scene(audio / "fold2_room1_mix003.wav", 2.6, seed=3)
    write_scene(audio / "fold2_room1_mix004.wav", 1.0, seed=4)  # no reference labels
    (audio / "fold1_room1_mix000.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt junk")  # corrupt
    model = open_model(tiny_package(tmp_path)[0], backend="torch", device="cpu")

    tracker = BatchTracker()
    batch = run_batch(model, collect_recordings([audio]))
    outcome = run_job(batch, on_event=tracker.update)
    results = [r.result for r in tracker.rows if r.result is not None]
    # the corrupt file did not stop the batch; its row says why
    assert [r.status for r in tracker.rows] == ["failed", "done", "done", "done", "done"]
    assert "fold1_room1_mix000.wav" in tracker.rows[0].error and len(outcome.failed) == 1

    rng = np.random.default_rng(0)
    (root / "metadata_dev").mkdir()
    for r in results[:3]:
        write_labels(
            _reference_from(r.table, rng, r.prediction.n_frames), root / "metadata_dev" / f"{r.name}.csv"
        )
    exported = export_predictions(results, tmp_path / "preds", "dcase2022")
    assert len(exported) == 4

    labelled = labelled_batch(
        results,
        {e.path: e.labels for e in browse(root)},
        classes=model.meta.class_set_obj(),
        failed=outcome.failed,
    )
    assert [f.name for f in labelled.files] == [
        "fold1_room1_mix001",
        "fold1_room1_mix002",
        "fold2_room1_mix003",
    ]
    assert [(u.name, u.reason) for u in labelled.unscored] == [
        ("fold1_room1_mix000", str(outcome.failed[0][1])),
        ("fold2_room1_mix004", f"{audio / 'fold2_room1_mix004.wav'}: no reference label file"),
    ]
    assert "damaged or truncated WAV file" in labelled.unscored[0].reason
    for metric in ("dcase2020", "dcase2022"):
        app = labelled.scores(metric)
        assert_equal_to_cli(app, _seld_score(capsys, root / "metadata_dev", tmp_path / "preds", metric))
    app = labelled.scores("dcase2020")
    assert app.TP > 0 and app.FN > 0 and 0 < app.SELD < 1
    assert app.FP > 0 and {e.kind for e in labelled.errors()} == {
        "missed",
        "false_alarm",
        "mislocated",
        "wrong_class",
    }

    # the metrics CSV of the app has the rows of seld score --csv (file names aside)
    write_csv_report(app, tmp_path / "app.csv")
    _seld_score(
        capsys, root / "metadata_dev", tmp_path / "preds", "dcase2020", "--csv", str(tmp_path / "cli.csv")
    )
    mine, theirs = (list(csv.DictReader((tmp_path / n).open())) for n in ("app.csv", "cli.csv"))
    assert [r for r in mine if r["scope"] != "file"] == [r for r in theirs if r["scope"] != "file"]
    assert len(mine) == len(theirs) == 1 + 14 + 3

    # the inspector's errors over the batch add up to the same counts
    errors = labelled.errors()
    fn = sum(e.n_segments for e in errors if e.kind in ("missed", "mislocated", "wrong_class"))
    fp = sum(e.n_segments for e in errors if e.kind in ("false_alarm", "wrong_class"))
    assert (fn, fp) == (app.FN, app.FP)
    assert {e.file for e in errors} == {f.name for f in labelled.files}
    summary = labelled.confusion()
    assert sum(r.missed for r in summary.rows) == app.FN - sum(
        e.n_segments for e in errors if e.kind == "mislocated"
    )


def _random_table(rng: np.random.Generator, n_frames: int) -> LabelTable:
    rows = []
    for _ in range(int(rng.integers(2, 12))):
        cls, start, length = (
            int(rng.integers(0, 14)),
            int(rng.integers(0, n_frames)),
            int(rng.integers(1, 40)),
        )
        az, el, drift = rng.uniform(-150, 150), rng.uniform(-40, 40), rng.uniform(-2, 2)
        rows += [
            LabelRow(f, cls, 0, float(wrap_azimuth(az + drift * i)), float(el))
            for i, f in enumerate(range(start, min(n_frames, start + length)))
        ]
    return LabelTable(rows)


def _near(table: LabelTable, rng: np.random.Generator) -> LabelTable:
    """A prediction near a reference: directions off by up to 30 degrees, with many decimals."""
    return LabelTable(
        [
            LabelRow(
                r.frame,
                r.cls,
                0,
                float(np.clip(r.azimuth + rng.uniform(-30, 30), -180, 180)),
                r.elevation + rng.uniform(-3, 3),
            )
            for r in table.rows
            if rng.random() < 0.8
        ]
    )


def test_sixty_second_files_score_as_seld_score_to_the_last_bit(tmp_path, capsys):
    # predictions with many decimals: the app scores them as written (4 decimals), like seld score
    rng = np.random.default_rng(7)
    results, labels = [], {}
    for i in range(6):
        ref = _random_table(rng, 600)
        pred = LabelTable(_near(ref, rng).rows + _random_table(rng, 600).rows)
        result = _result(f"/rec/clip{i}.wav", pred)
        results.append(result)
        labels[result.path] = tmp_path / "ref" / f"clip{i}.csv"
        labels[result.path].parent.mkdir(exist_ok=True)
        write_labels(ref, labels[result.path])
    export_predictions(results, tmp_path / "pred")
    labelled = labelled_batch(results, labels, classes=DCASE2020)
    for metric in ("dcase2020", "dcase2022"):
        app = labelled.scores(metric)
        cli = _seld_score(capsys, tmp_path / "ref", tmp_path / "pred", metric)
        assert_equal_to_cli(app, cli)
        assert (app.ER, app.F, app.LE, app.LR, app.SELD) == tuple(cli[k] for k in KEYS)  # bit for bit


def test_clip_rules(tmp_path):
    # reference in the first second only; a prediction of another class at frames 30-39 of a
    # 60-frame recording. dcase2022's official clip ends with the reference (frame 10): the
    # false alarm is not scored under "auto"/"metric", it is under "recording".
    ref = LabelTable([LabelRow(f, 0, 0, 0.0, 0.0) for f in range(8)])
    pred = LabelTable(
        [LabelRow(f, 0, 0, 0.0, 0.0) for f in range(8)]
        + [LabelRow(f, 5, 0, 90.0, 0.0) for f in range(30, 40)]
    )
    result = _result("/r/a.wav", pred)
    write_labels(ref, tmp_path / "a.csv")
    labelled = labelled_batch([result], {result.path: tmp_path / "a.csv"}, classes=DCASE2020)
    assert labelled.scores("dcase2022").FP == labelled.scores("dcase2022", clip="metric").FP == 0
    assert labelled.scores("dcase2022", clip="recording").FP == 1
    assert (
        labelled.scores("dcase2020").per_file[0].n_frames == 600
    )  # the recording's length (600 rows of sed)
    assert labelled.scores("dcase2020", clip="metric").FP == labelled.scores("dcase2020").FP == 1
    with pytest.raises(SeldError, match="unknown clip length rule 'clip'"):
        labelled.scores("dcase2020", clip="clip")
    with pytest.raises(SeldError, match="unknown SELD metric"):
        labelled.scores("dcase2099")


def test_unscored_recordings_say_why(tmp_path):
    good, malformed, outside = (
        _result(f"/r/{n}.wav", LabelTable()) for n in ("good", "malformed", "outside")
    )
    (tmp_path / "good.csv").write_text("0,1,0,10,0\n")
    (tmp_path / "malformed.csv").write_text("0,1,0,10,0\n1,1,0,ten,0\n")
    (tmp_path / "outside.csv").write_text("0,20,0,10,0\n")
    labels = {r.path: tmp_path / f"{r.name}.csv" for r in (good, malformed, outside)}
    failed = [(Path("/r/broken.wav"), SeldError("not a sound file", "/r/broken.wav"))]
    labelled = labelled_batch([good, malformed, outside], labels, classes=DCASE2020, failed=failed)
    assert [f.name for f in labelled.files] == ["good"]
    reasons = {u.name: u.reason for u in labelled.unscored}
    assert reasons["broken"] == "/r/broken.wav: not a sound file"
    assert reasons["malformed"].startswith(f"{tmp_path / 'malformed.csv'}, line 2:")
    assert "class '20' is outside" in reasons["outside"] and "outside.csv, line 1" in reasons["outside"]
    scores = labelled.scores()
    assert (scores.n_files, scores.Nref, scores.FN) == (1, 1, 1)
    # nothing scored: empty scores, not an error
    empty = LabelledBatch((), (), DCASE2020)
    assert empty.scores().n_files == 0 and empty.errors() == []
    # without a class set, the predictions' classes are scored
    assert labelled_batch([good], labels).classes.names == DCASE2020.names
