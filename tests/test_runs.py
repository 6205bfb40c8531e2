"""The runs under a folder (core.training.runs): status, scores, log tails, curves and the comparison table."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from core.cli import main as cli_main
from core.common.errors import SeldError
from core.training import events as ev
from core.training.config import TrainConfig
from core.training.run_folder import METRICS, METRICS_COLUMNS, TEST_METRICS, RunFolder
from core.training.runs import TABLE1_COLUMNS, compare_runs, list_runs, log_tail, run_curves
from core.training.trainer import Trainer
from tests.fixtures_data import make_tiny_dataset
from tests.test_training import _small_config


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def _row(step: int, seld: float, **extra) -> list[str]:
    values = {"epoch": step // 2, "step": step, "train_loss": 0.5, "val_loss": 0.6, "ER": seld + 0.1}
    values.update(
        {"F": 0.5, "LE": 30.0, "LR": 0.7, "SELD": seld, "lr": 1e-4, "seconds": 10.0 * step, **extra}
    )
    return [str(values[k]) for k in METRICS_COLUMNS]


def _step(step: int, loss: float, epoch: int = 0, batch: int = 1, batches: int = 2) -> ev.Step:
    return ev.Step(epoch, step, batch, batches, loss, loss / 2, loss / 2, 1e-4, 5.0)


def _run(path, *, loss="homogeneous_mse", root="/data/mine") -> RunFolder:
    folder = RunFolder(path)
    folder.path.mkdir(parents=True)
    config = TrainConfig()
    config.optim.loss, config.data.root = loss, root
    folder.write_config(config)
    return folder


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    finished = _run(root / "a_finished", loss="ce_mse")
    finished.write_metrics(METRICS, [_row(2, 0.5), _row(4, 0.3), _row(6, 0.4)])
    finished.write_summary(
        {
            "finished": True,
            "stopped": False,
            "epoch": 3,
            "step": 6,
            "best_seld": 0.3,
            "best_epoch": 2,
            "seconds": 60.0,
            "test": {
                "split": "test",
                "loss": 0.7,
                "ER": 0.45,
                "F": 0.55,
                "LE": 21.0,
                "LR": 0.66,
                "SELD": 0.36,
            },
        }
    )
    finished.write_status("finished")
    with open(finished.file(RunFolder.LOG), "w") as fh:
        fh.writelines(f"2026-01-02 03:04:{i:02d} line {i}\n" for i in range(30))

    died = _run(root / "group" / "b_died")
    died.write_metrics(METRICS, [_row(2, 0.8)])
    died.write_metrics(TEST_METRICS, [_row(2, 0.9)])
    died.checkpoint_files()[2].write_text('{"loop": {"epoch": 1, "batch_in_epoch": 0, "step": 2}}')
    for event in (_step(1, 0.9), _step(2, 0.8, batch=2), _step(3, 0.7, epoch=1), _step(2, 0.75, batch=2)):
        died.append_event(event)  # a resume repeated step 2; a step 3 was done after it
    died.append_event(_step(3, 0.65, epoch=1))
    died.write_status("running", pid=_dead_pid())
    died.append_log("training ...")

    failed = _run(root / "c_failed")
    failed.append_log("resumed at epoch 1, batch 0, step 2")
    failed.write_status("failed", message="CUDA out of memory. Tried to allocate 2.00 GiB")

    running = _run(root / "d_running")
    running.write_status("running")  # this process: alive

    old = _run(root / "old")  # a run of an earlier version: no status.json
    old.write_summary({"finished": True, "step": 8, "epoch": 4})

    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a run")
    _run(root / "group" / "deeper" / "too_deep")  # depth 3: not listed
    return root


def test_every_run_with_its_status_steps_and_best(runs):
    found = {r.name: r for r in list_runs(runs)}
    assert list(found) == ["a_finished", "c_failed", "d_running", "group/b_died", "old"]
    a = found["a_finished"]
    assert (a.status, a.died, a.steps, a.epochs, a.total_epochs) == ("finished", False, 6, 3, 1100)
    assert (a.best_seld, a.best_step, a.best_epoch) == (0.3, 4, 2)
    assert (a.loss, a.dataset, a.fmt, a.has_best) == ("ce_mse", "/data/mine", "foa", False)
    assert a.test == {"LE": 21.0, "LR": 0.66, "ER": 0.45, "F": 0.55, "SELD": 0.36}
    assert a.created == time.mktime((2026, 1, 2, 3, 4, 0, 0, 0, -1)) and not a.resumable
    b = found["group/b_died"]
    assert (b.status, b.died, b.steps, b.epochs, b.best_seld) == ("stopped", True, 3, 1, 0.8)
    assert "is gone without a clean stop" in b.message and b.resumable
    c = found["c_failed"]
    assert (c.status, c.message, c.resumable) == (
        "failed",
        "CUDA out of memory. Tried to allocate 2.00 GiB",
        True,
    )
    d = found["d_running"]
    assert (d.status, d.died, d.pid, d.steps, d.best_seld) == ("running", False, os.getpid(), 0, None)
    assert (found["old"].status, found["old"].steps) == ("finished", 8)
    assert list_runs(runs / "a_finished")[0].name == "a_finished"  # a run folder given as the root
    with pytest.raises(SeldError, match="runs folder not found"):
        list_runs(runs / "nowhere")


def test_a_log_tail_says_why_a_run_failed(runs):
    tail = log_tail(runs / "a_finished", 3)
    assert tail == [
        "2026-01-02 03:04:27 line 27",
        "2026-01-02 03:04:28 line 28",
        "2026-01-02 03:04:29 line 29",
    ]
    assert len(log_tail(runs / "a_finished")) == 20
    failed = log_tail(runs / "c_failed")
    assert failed[0].endswith("resumed at epoch 1, batch 0, step 2")
    assert failed[1] == "failed: CUDA out of memory. Tried to allocate 2.00 GiB"
    assert log_tail(runs / "d_running") == []


def test_a_long_log_is_read_from_its_end(tmp_path):
    folder = _run(tmp_path / "run")
    for i in range(20000):
        folder.append_log(f"message {i} " + "x" * 20)
    tail = folder.log_tail(5)
    assert [line.split(" ", 3)[3] for line in tail] == [f"{i} " + "x" * 20 for i in range(19995, 20000)]


def test_the_comparison_table_and_curves(runs):
    rows = compare_runs([runs / "a_finished", runs / "group" / "b_died", runs / "d_running"])
    a, b, d = rows
    assert a.val == {"LE": 30.0, "LR": 0.7, "ER": 0.4, "F": 0.5, "SELD": 0.3} and a.val_step == 4
    assert (a.test_source, a.test["SELD"]) == ("summary", 0.36)
    assert b.val["SELD"] == 0.8 and (b.test_source, b.test["SELD"]) == ("test_metrics", 0.9)
    assert (d.val, d.test, d.test_source) == (None, None, None)
    assert list(a.val) == list(TABLE1_COLUMNS)
    np.testing.assert_array_equal(a.curves.val["step"], [2, 4, 6])
    np.testing.assert_array_equal(a.curves.val["SELD"], [0.5, 0.3, 0.4])
    assert a.curves.test["SELD"].size == 0
    # per-step losses: the resumed attempt's steps replace the killed one's
    np.testing.assert_array_equal(b.curves.steps["step"], [1, 2, 3])
    np.testing.assert_array_equal(b.curves.steps["loss"], [0.9, 0.75, 0.65])
    assert run_curves(runs / "group" / "b_died", steps=False).steps == {}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return make_tiny_dataset(root, "foa", folds=(1, 2), clips_per_fold=2, seconds=4.0, n_classes=4, seed=3)


def test_a_real_run_that_died_is_shown_stopped_and_resumes(tiny, tmp_path):
    config = _small_config(tiny, epochs=2, steps_per_epoch=2)
    config.data.test_folds = [2]
    run = tmp_path / "runs" / "r1"
    Trainer(config, run, max_steps=3).run()
    folder = RunFolder(run)
    folder.write_status("running", pid=_dead_pid())  # as a SIGKILL leaves it
    (summary,) = list_runs(tmp_path / "runs")
    assert (summary.status, summary.died, summary.steps, summary.epochs) == ("stopped", True, 3, 1)
    assert folder.status().shown_state == "stopped" and folder.status().died
    assert log_tail(run, 1) == folder.log_tail(1) and "stopped at epoch 1, step 3" in log_tail(run, 1)[0]
    assert cli_main(["train", "--out", str(run), "--resume", "--progress", "none"]) == 0
    (summary,) = list_runs(tmp_path / "runs")
    metrics = folder.metrics()
    assert (summary.status, summary.died, summary.steps, summary.epochs) == ("finished", False, 4, 2)
    assert summary.best_seld == min(r["SELD"] for r in metrics) and summary.has_best
    assert summary.test == {k: folder.read_summary()["test"][k] for k in TABLE1_COLUMNS}
    (row,) = compare_runs([summary])
    assert row.test_source == "summary" and row.val["SELD"] == summary.best_seld
    np.testing.assert_array_equal(row.curves.steps["step"], [1, 2, 3, 4])
    np.testing.assert_array_equal(row.curves.val["step"], [r["step"] for r in metrics])
