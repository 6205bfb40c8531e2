"""Batch inference and evaluation as core jobs (core.inference.batch, core.inference.evaluate)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.common.errors import SeldError
from core.common.progress import Progress, run_job
from core.inference.batch import (
    BatchResult,
    BatchStarted,
    BatchTracker,
    FileDone,
    FileFailed,
    FileProgress,
    FileResult,
    FileStarted,
    run_batch,
)
from core.inference.evaluate import evaluate_model, labelled_fold_items
from core.inference.predict import Prediction, open_model, predict, prediction_to_table
from core.labels.classes import DCASE2020
from core.labels.dcase_csv import read_labels
from core.labels.events import events_from_table
from core.labels.table import LabelRow, LabelTable
from core.metrics.seld import SeldScorer
from tests.test_cli_infer import _dataset
from tests.test_inference import write_scene
from tests.test_package import tiny_package


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tiny_package(tmp_path_factory.mktemp("pkg"))[0]
    return open_model(path, backend="torch", device="cpu")


class _Counting:
    """The model with its batches counted (one model for the whole batch)."""

    def __init__(self, model):
        self.inner, self.meta, self.scaler, self.backend = model, model.meta, model.scaler, model.backend
        self.batches = 0

    def run(self, batch):
        self.batches += 1
        return self.inner.run(batch)


def test_a_batch_reports_per_file_and_stage_and_a_failed_file_does_not_stop_it(model, tmp_path):
    rec = tmp_path / "foa_eval"
    write_scene(rec / "a.wav", 2.5, seed=1)
    (rec / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    write_scene(rec / "c.wav", 1.2, seed=2)
    files = [rec / "a.wav", rec / "broken.wav", rec / "c.wav"]
    counting = _Counting(model)
    events = []
    result = run_job(run_batch(counting, files, out_dir=tmp_path / "out"), on_event=events.append)

    # the durations come from the headers before any work; the broken file has none
    assert events[0] == BatchStarted(tuple(files), (2.5, None, 1.2))
    kinds = [
        (type(e).__name__, getattr(e, "index", None)) for e in events[1:] if not isinstance(e, FileProgress)
    ]
    assert kinds == [
        ("FileStarted", 0),
        ("FileDone", 0),
        ("FileStarted", 1),
        ("FileFailed", 1),
        ("FileStarted", 2),
        ("FileDone", 2),
    ]
    progress_a = [e.progress for e in events if isinstance(e, FileProgress) and e.index == 0]
    # 2.5 s: two 2 s segments; features, then one batch of both segments (default batch of 16)
    assert progress_a == [Progress(2, 4, "features"), Progress(4, 4, "detecting")]
    overall = [e.overall for e in events if isinstance(e, FileProgress)]
    assert overall == sorted(overall) and overall[-1] == 1.0
    assert counting.batches == 2  # one network batch per file that ran

    failed = next(e for e in events if isinstance(e, FileFailed))
    assert failed.path == files[1] and "broken.wav" in failed.message and failed.seconds > 0
    assert result == BatchResult(done=(files[0], files[2]), failed=((files[1], failed.error),))
    done = [e for e in events if isinstance(e, FileDone)]
    assert [d.result.output for d in done] == [tmp_path / "out" / "a.csv", tmp_path / "out" / "c.csv"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.csv", "c.csv"]
    # each written file is exactly the prediction's table (DCASE 2020, the package's threshold)
    expected = prediction_to_table(predict(model, files[0]))
    assert [(r.frame, r.cls) for r in read_labels(tmp_path / "out" / "a.csv")] == [
        (r.frame, r.cls) for r in expected
    ]
    assert done[0].result.prediction.n_frames == 25 and len(done[0].result.table) == len(expected)
    assert done[0].result.n_events == len(events_from_table(expected))
    assert done[0].result.duration_s == pytest.approx(2.5) and done[0].result.name == "a"

    # the batch table, fed the same events: one row per recording, the failure's reason
    tracker = BatchTracker()
    for event in events:
        tracker.update(event)
    assert [r.status for r in tracker.rows] == ["done", "failed", "done"]
    assert [r.duration_s for r in tracker.rows] == pytest.approx([2.5, None, 1.2], nan_ok=True)
    assert tracker.rows[0].n_events == done[0].result.n_events and tracker.rows[0].seconds > 0
    assert tracker.rows[1].error == failed.message and tracker.rows[1].n_events is None
    assert (tracker.finished, tracker.total, tracker.count("failed")) == (3, 3, 1)
    assert tracker.fraction == 1.0 and tracker.eta_s() == 0.0


def test_a_batch_is_cancelled_between_segments_and_writes_nothing_for_that_file(model, tmp_path):
    files = [tmp_path / "foa" / "long.wav", tmp_path / "foa" / "next.wav"]
    write_scene(files[0], 9.0, seed=3)
    write_scene(files[1], 1.0, seed=4)
    counting = _Counting(model)
    job = run_batch(counting, files, out_dir=tmp_path / "out", batch_segments=1)
    seen = []
    for event in job:
        seen.append(event)
        if isinstance(event, FileProgress) and event.progress.stage == "detecting":
            break  # the consumer stops: cancel after the first segment
    job.close()
    assert counting.batches == 1  # one segment of five ran
    assert isinstance(seen[-1], FileProgress) and seen[-1].progress == Progress(6, 10, "detecting")
    assert not any(isinstance(e, (FileDone, FileFailed)) for e in seen)
    assert list((tmp_path / "out").iterdir()) == []


def _result(path, frames: int, table: LabelTable) -> FileResult:
    sed = np.zeros((frames, 14), np.float32)
    prediction = Prediction(sed=sed, doa=np.zeros((frames, 42), np.float32), classes=DCASE2020.names)
    return FileResult(path, prediction, table, None, 4.0)


def test_the_tracker_estimates_the_time_left_by_audio_duration_and_marks_a_cancel():
    now = [100.0]
    tracker = BatchTracker(clock=lambda: now[0])
    a, b, c, d = (Path(f"/x/{n}.wav") for n in "abcd")
    tracker.update(BatchStarted((a, b, c, d), (60.0, 30.0, None, 30.0)))
    assert [r.status for r in tracker.rows] == ["queued"] * 4 and tracker.eta_s() is None
    assert tracker.update(FileStarted(0, 4, a)) == 0 and tracker.rows[0].status == "running"
    now[0] = 110.0
    tracker.update(FileProgress(0, 4, a, Progress(1, 2, "detecting")))
    # weights by duration: 60, 30, 40 (the mean of the known ones for c), 30 = 160 s of audio;
    # 30 s done in 10 s: fraction 30/160, time left 10 * 130 / 30 = 43.3 s
    assert tracker.fraction == pytest.approx(30 / 160)
    assert tracker.eta_s() == pytest.approx(10 * 130 / 30)
    # a file of two events (class 1 at frames 0-4 and 8-9) is done; the next one fails
    two_events = LabelTable([LabelRow(f, 1, 0, 10.0, 0.0) for f in (0, 1, 2, 3, 4, 8, 9)])
    now[0] = 120.0
    tracker.update(FileDone(0, 4, _result(a, 600, two_events)))
    assert (tracker.rows[0].n_events, tracker.rows[0].seconds, tracker.rows[0].duration_s) == (2, 4.0, 60.0)
    tracker.update(FileFailed(1, 4, b, SeldError("not audio", b), 0.5))
    assert tracker.rows[1].error == f"{b}: not audio" and tracker.finished == 2
    # the failed file leaves the work: 60, 45 (the new mean), 30 = 135 s, 60 s done in 20 s
    assert tracker.fraction == pytest.approx(60 / 135) and tracker.eta_s() == pytest.approx(20 * 75 / 60)
    tracker.update(FileStarted(2, 4, c))
    assert tracker.cancel() == [2, 3]
    assert [r.status for r in tracker.rows] == ["done", "failed", "cancelled", "cancelled"]
    now[0] = 500.0
    assert tracker.elapsed_s == pytest.approx(20.0) and tracker.eta_s() == 0.0
    assert tracker.update(object()) is None


def test_two_recordings_of_one_name_are_refused_before_any_work(model, tmp_path):
    files = [tmp_path / "foa" / "a" / "same.wav", tmp_path / "foa" / "b" / "same.wav"]
    with pytest.raises(SeldError, match="two recordings would write same.csv"):
        next(run_batch(model, files, out_dir=tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    # without an output folder nothing is written, and names do not matter
    for f in files:
        write_scene(f, 0.5)
    result = run_job(run_batch(model, files))
    assert result.done == tuple(files) and result.failed == ()


def test_evaluate_model_scores_the_folds_as_the_official_scorer(model, tmp_path):
    _dataset(tmp_path / "data")
    items = labelled_fold_items(tmp_path / "data", "foa", [1, 2])
    events = []
    scores = run_job(
        evaluate_model(model, items, threshold=0.3, predictions_dir=tmp_path / "preds"),
        on_event=events.append,
    )
    assert [type(e).__name__ for e in events if not isinstance(e, FileProgress)] == [
        "BatchStarted",
        "FileStarted",
        "FileDone",
        "FileStarted",
        "FileDone",
    ]
    scorer = SeldScorer("dcase2020", n_classes=model.meta.class_set_obj())
    for item in items:
        pred = predict(model, item.audio)
        scorer.update(
            read_labels(item.labels), prediction_to_table(pred, 0.3), n_frames=pred.n_frames, name=item.name
        )
    expected = scorer.result()
    assert [f.name for f in scores.per_file] == ["fold1_room1_mix001", "fold2_room1_mix001"]
    assert [f.n_frames for f in scores.per_file] == [23, 23]
    for key in ("ER", "F", "LE", "LR", "SELD"):
        assert np.isclose(getattr(scores, key), getattr(expected, key), equal_nan=True), key
    assert sorted(p.name for p in (tmp_path / "preds").iterdir()) == [
        "fold1_room1_mix001.csv",
        "fold2_room1_mix001.csv",
    ]


def test_evaluation_stops_at_a_file_that_fails(model, tmp_path):
    _dataset(tmp_path / "data")
    (tmp_path / "data" / "foa_dev" / "fold2_room1_mix001.wav").write_bytes(b"RIFF....WAVEjunk")
    items = labelled_fold_items(tmp_path / "data", "foa", [1, 2])
    events = []
    with pytest.raises(SeldError, match="fold2_room1_mix001.wav"):
        run_job(evaluate_model(model, items), on_event=events.append)
    assert sum(isinstance(e, FileDone) for e in events) == 1


def test_fold_items_need_labels(tmp_path):
    _dataset(tmp_path / "data")
    (tmp_path / "data" / "metadata_dev" / "fold2_room1_mix001.csv").unlink()
    assert [it.name for it in labelled_fold_items(tmp_path / "data", "foa", [1])] == ["fold1_room1_mix001"]
    with pytest.raises(SeldError, match=r"1 recording\(s\) of the chosen folds have no label file"):
        labelled_fold_items(tmp_path / "data", "foa", [1, 2])
    with pytest.raises(SeldError, match="fold 7 has no recordings"):
        labelled_fold_items(tmp_path / "data", "foa", [7])
