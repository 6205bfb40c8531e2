"""The run folder (core.training.run_folder) and the training events (core.training.events)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.common.errors import SeldError
from core.training import events as ev
from core.training.config import TrainConfig
from core.training.run_folder import METRICS_COLUMNS, RunFolder


def test_every_event_kind_round_trips_through_one_json_line():
    samples = [
        ev.Start(epochs=3, steps_per_epoch=2, step=0, epoch=0),
        ev.Features(done=1, total=4, name="fold1_a"),
        ev.Step(
            epoch=0,
            step=1,
            batch=1,
            batches=2,
            loss=0.5,
            sed_loss=0.3,
            doa_loss=0.2,
            lr=1e-3,
            samples_per_s=7.5,
        ),
        ev.Eval(
            epoch=1,
            step=2,
            train_loss=0.4,
            val_loss=0.6,
            ER=0.9,
            F=0.1,
            LE=40.0,
            LR=0.2,
            SELD=0.8,
            lr=1e-3,
            seconds=1.5,
        ),
        ev.EvalTest(
            epoch=1,
            step=2,
            train_loss=0.4,
            val_loss=0.7,
            ER=1.0,
            F=0.0,
            LE=180.0,
            LR=0.0,
            SELD=1.0,
            lr=1e-3,
            seconds=1.5,
        ),
        ev.Test(loss=0.7, ER=1.0, F=0.0, LE=180.0, LR=0.0, SELD=1.0),
        ev.End(
            finished=True,
            stopped=False,
            epoch=3,
            step=6,
            best_seld=0.8,
            best_epoch=1,
            seconds=9.0,
            test={"SELD": 1.0},
        ),
        ev.Message(text="resumed at epoch 1, batch 0, step 2"),
    ]
    assert sorted(type(e).kind for e in samples) == sorted(ev.EVENT_TYPES)
    for event in samples:
        line = event.to_json()
        d = json.loads(line)
        assert d["event"] == event.kind and d["schema"] == ev.SCHEMA_VERSION and "\n" not in line
        assert ev.event_from_json(line) == event
    assert json.loads(samples[2].to_json())["loss"] == 0.5
    assert samples[2].progress.fraction == 0.5 and samples[1].progress.stage == "fold1_a"


def test_readers_skip_what_they_cannot_know():
    assert ev.event_from_json('{"event": "step", "schema": 2, "epoch": 0}') is None  # a newer schema
    assert ev.event_from_json('{"event": "checkpoint", "schema": 1}') is None  # an unknown kind
    assert ev.event_from_json('{"event": "message", "schema": 1}') is None  # a missing field
    assert ev.event_from_json('{"event": "mess') is None  # a torn line
    # an added field of the same schema is ignored; NaN is written as null
    assert ev.event_from_json('{"event": "message", "schema": 1, "text": "x", "new": 1}') == ev.Message("x")
    end = ev.End(
        finished=False, stopped=True, epoch=0, step=0, best_seld=float("nan"), best_epoch=-1, seconds=0.0
    )
    assert json.loads(end.to_json())["best_seld"] is None


def test_the_layout_config_metrics_and_summary(tmp_path):
    folder = RunFolder(tmp_path)
    assert (
        folder.best_path == tmp_path / "best.safetensors"
        and folder.last_path == tmp_path / "last.safetensors"
    )
    assert folder.checkpoint_files("last.prev") == (
        tmp_path / "last.prev.safetensors",
        tmp_path / "last.prev.state.safetensors",
        tmp_path / "last.prev.state.json",
    )
    assert not folder.has_config() and not folder.has_checkpoint() and folder.metrics() == []
    config = TrainConfig()
    config.optim.epochs = 7
    folder.write_config(config)
    assert folder.has_config() and folder.read_config().to_dict() == config.to_dict()
    rows = [
        ["1", "3", "0.5", "0.6", "0.9", "0.1", "40.0", "0.2", "0.8", "0.001", "1.5"],
        ["2", "6", "0.4", "", *["1"] * 7],
    ]
    folder.write_metrics("metrics.csv", rows)
    text = (tmp_path / "metrics.csv").read_text()
    assert text.splitlines()[0] == ",".join(METRICS_COLUMNS)
    assert folder.metrics()[0] == dict(zip(METRICS_COLUMNS, map(float, rows[0]), strict=True))
    assert "val_loss" not in folder.metrics()[1] and folder.metrics()[1]["step"] == 6.0
    # a torn line and a repeated step are dropped; later steps are cut
    (tmp_path / "metrics.csv").write_text(text + "3,9,0.3\n" + text.splitlines()[1] + "\n")
    assert folder.metrics_rows_up_to("metrics.csv", 5) == rows[:1]
    assert folder.metrics_rows_up_to("metrics.csv", 6) == rows
    folder.write_metrics("metrics.csv", [])
    assert not (tmp_path / "metrics.csv").exists()
    (tmp_path / "test_metrics.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SeldError, match="unexpected columns a,b"):
        folder.metrics_rows_up_to("test_metrics.csv", 1)
    assert folder.read_summary() is None
    folder.write_summary({"finished": True, "step": 9})
    assert folder.read_summary() == {"finished": True, "step": 9}


def test_events_are_appended_and_followed_line_by_line(tmp_path):
    folder = RunFolder(tmp_path)
    assert folder.read_events() == []
    first, second = ev.Start(epochs=1, steps_per_epoch=1, step=0, epoch=0), ev.Message("a")
    folder.append_event(first)
    folder.append_event(second)
    with open(tmp_path / "events.jsonl", "a") as fh:
        fh.write(
            '{"event": "unknown", "schema": 1}\n{"event": "message", "sch'
        )  # a kind to skip, a torn line
    followed = list(folder.follow_events())
    assert [e for e, _ in followed] == [first, second]
    offset = followed[-1][1]
    assert offset == len(first.to_json()) + len(second.to_json()) + 2
    assert folder.read_events(offset) == []
    with open(tmp_path / "events.jsonl", "a") as fh:  # the writer completes its line
        fh.write('ema": 1, "text": "b"}\n')
    assert folder.read_events(offset) == [ev.Message("b")]


def test_the_status_names_the_process_and_whether_it_is_alive(tmp_path):
    folder = RunFolder(tmp_path)
    assert folder.status() is None
    folder.write_status("running")
    status = folder.status()
    assert status.state == "running" and status.pid == os.getpid() and status.alive and status.running
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    folder.write_status("running", pid=int(done.stdout))  # a process that has ended: the run was killed
    status = folder.status()
    assert status.state == "running" and status.alive is False and not status.running
    folder.write_status("running")
    data = json.loads((tmp_path / "status.json").read_text())
    # this process's id, but recorded for a process that started at another time: not this one
    (tmp_path / "status.json").write_text(json.dumps({**data, "process_start": data["process_start"] + 1}))
    assert folder.status().alive is (data["process_start"] is None)
    (tmp_path / "status.json").write_text(json.dumps({**data, "host": "another machine"}))
    assert folder.status().alive is None and folder.status().running  # cannot be told there
    folder.write_status("failed", message="fold 7 has no recordings")
    status = folder.status()
    assert (status.state, status.message, status.running) == ("failed", "fold 7 has no recordings", False)
    with pytest.raises(ValueError, match="unknown run state"):
        folder.write_status("paused")
    (tmp_path / "status.json").write_text('{"state": "sleeping"}')
    with pytest.raises(SeldError, match="the run status is not one of running, stopped, finished, failed"):
        folder.status()


def test_stop_requests(tmp_path):
    folder = RunFolder(tmp_path)
    assert not folder.stop_requested()
    folder.request_stop()
    assert folder.stop_requested() and (tmp_path / "STOP").exists()
    folder.clear_stop()
    assert not folder.stop_requested()
