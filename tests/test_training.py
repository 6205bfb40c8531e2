"""Training: the loss falls and the model overfits; exact resume; clean stop; DDP on gloo; CLI.

The run folder after a kill (what a SIGKILL at each moment leaves, built by hand here; the
real kills are in ``test_training_kills.py``): the metrics files and the best snapshot are
made to agree with the checkpoint, an incomplete ``last`` falls back to ``last.prev``, and a
run without checkpoint starts again.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from core.cli import main as cli_main
from core.common.errors import SeldError
from core.nn.model import build_model
from core.packages.package_file import read_package_meta
from core.training import events as ev
from core.training.config import TrainConfig
from core.training.evaluation import evaluate
from core.training.run_folder import RunFolder
from core.training.trainer import Trainer, learning_rate
from tests.fixtures_data import make_tiny_dataset


def _small_config(root, **optim) -> TrainConfig:
    c = TrainConfig()
    c.data.root = str(root)
    c.data.train_folds, c.data.val_folds, c.data.test_folds = [1], [2], []
    c.data.segment_frames = 100
    c.data.workers = 0
    c.model.conv_filters = [16, 16, 32, 32, 32, 32]
    c.model.gru_hidden, c.model.d_k, c.model.fc_size = 32, 16, 64
    c.optim.batch_size = 8
    c.optim.warmup_epochs = 1
    c.optim.lr, c.optim.warmup_lr = 3e-3, 1e-3
    c.optim.steps_per_epoch = 3
    c.optim.epochs = 3
    for k, v in optim.items():
        setattr(c.optim, k, v)
    return c


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return make_tiny_dataset(root, "foa", folds=(1, 2), clips_per_fold=2, seconds=4.0, n_classes=4, seed=3)


def _weights(path):
    return load_file(str(path))


def test_learning_rate_schedule_is_the_papers():
    c = TrainConfig()
    assert learning_rate(c, 0) == 2e-5 and learning_rate(c, 9) == 2e-5
    assert learning_rate(c, 10) == 2e-4 and learning_rate(c, 199) == 2e-4
    assert learning_rate(c, 200) == pytest.approx(2e-4 * 0.8)
    assert learning_rate(c, 600) == pytest.approx(2e-4 * 0.64)
    assert learning_rate(c, 1000) == pytest.approx(2e-4 * 0.8**3)


@pytest.mark.slow
def test_training_overfits_a_small_dataset(tiny, tmp_path):
    c = _small_config(tiny, epochs=30, steps_per_epoch=10, warmup_epochs=0, eval_every=30)
    c.data.val_folds = [1]  # evaluate on the training recordings themselves
    c.data.spec_augment = False
    c.model.dropout_conv = c.model.dropout_fc = 0.1
    trainer = Trainer(c, tmp_path / "run")
    # the untrained network, built exactly as the trainer builds it
    trainer.dist = type(trainer.dist)()
    trainer.device = torch.device("cpu")
    trainer._prepare_data()
    trainer._build()
    before = evaluate(
        trainer.model, trainer.train_items, trainer.cache, trainer.scaler, trainer.class_set, "foa"
    )
    summary = Trainer(c, tmp_path / "run").run()
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    after = dict(zip(rows[0].split(","), rows[-1].split(","), strict=True))
    assert summary["finished"] and summary["step"] == 300
    assert float(after["train_loss"]) < 0.25 * before.loss
    assert float(after["SELD"]) < 0.45 < before.scores.SELD - 0.4
    assert float(after["F"]) > 0.3 and float(after["LE"]) < 40.0
    log = (tmp_path / "run" / "train.log").read_text()
    assert "warning: fold(s) [1] are training folds and also validation folds" in log


def test_resume_gives_exactly_the_weights_of_an_uninterrupted_run(tiny, tmp_path):
    c = _small_config(tiny)
    Trainer(c, tmp_path / "a").run()
    stopped = Trainer(c, tmp_path / "b", max_steps=4).run()  # stops in the middle of epoch 2
    assert stopped["stopped"] and stopped["step"] == 4 and stopped["epoch"] == 1
    state = json.loads((tmp_path / "b" / "last.state.json").read_text())["loop"]
    assert (state["epoch"], state["batch_in_epoch"], state["step"]) == (1, 1, 4)
    resumed = Trainer(c, tmp_path / "b", resume=True).run()
    assert resumed["finished"] and resumed["step"] == 9
    a, b = _weights(tmp_path / "a" / "last.safetensors"), _weights(tmp_path / "b" / "last.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert _same_metrics(tmp_path / "a" / "metrics.csv", tmp_path / "b" / "metrics.csv")


def _same_metrics(p, q) -> bool:
    def table(path):
        rows = [line.split(",") for line in path.read_text().splitlines()]
        header = rows[0]
        drop = header.index("seconds")
        return [[v for i, v in enumerate(r) if i != drop] for r in rows]

    return table(p) == table(q)


def test_an_existing_run_is_never_overwritten_and_resume_needs_a_run(tiny, tmp_path):
    c = _small_config(tiny, epochs=1, steps_per_epoch=1)
    Trainer(c, tmp_path / "run").run()
    before = (tmp_path / "run" / "last.safetensors").read_bytes()
    with pytest.raises(SeldError, match="already holds a run"):
        Trainer(c, tmp_path / "run").run()
    assert (tmp_path / "run" / "last.safetensors").read_bytes() == before
    with pytest.raises(SeldError, match="no run to resume"):
        Trainer(c, tmp_path / "empty", resume=True).run()


def test_a_stop_file_stops_cleanly_and_writes_last(tiny, tmp_path):
    c = _small_config(tiny)
    run = tmp_path / "run"

    def on_event(ev):
        if ev.kind == "step" and ev.step == 2:
            (run / "STOP").touch()

    summary = Trainer(c, run, on_event=on_event).run()
    assert summary["stopped"] and summary["step"] == 2
    loop = json.loads((run / "last.state.json").read_text())["loop"]
    assert loop["step"] == 2 and loop["batch_in_epoch"] == 2
    assert not (run / "STOP").exists()  # consumed: the resumed run goes on
    assert RunFolder(run).status().state == "stopped"
    assert Trainer(c, run, resume=True).run()["step"] == 9
    assert RunFolder(run).status().state == "finished"


def test_training_is_a_job_of_typed_events_also_written_to_the_run_folder(tiny, tmp_path):
    c = _small_config(tiny, epochs=2, steps_per_epoch=2)
    run = RunFolder(tmp_path / "run")
    trainer = Trainer(c, run.path)
    job = trainer.events()
    seen: list[ev.TrainEvent] = []
    for event in job:
        seen.append(event)
        if event.kind == "start":
            status = run.status()  # while it trains: running, in this process
            assert status.state == "running" and status.pid == os.getpid() and status.running
        if event.kind == "step" and event.step == 3:
            trainer.request_stop()  # a clean stop: the job goes on to write last and its end
    assert run.read_events() == seen
    kinds = [e.kind for e in seen]
    assert kinds[:6] == ["features"] * 4 + ["message", "start"]  # 4 recordings, then the loop starts
    assert [(e.done, e.total) for e in seen if isinstance(e, ev.Features)] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [e.step for e in seen if isinstance(e, ev.Step)] == [1, 2, 3]
    assert [(e.batch, e.batches, e.epoch) for e in seen if isinstance(e, ev.Step)] == [
        (1, 2, 0),
        (2, 2, 0),
        (1, 2, 1),
    ]
    evals = [e for e in seen if isinstance(e, ev.Eval)]
    assert [(e.epoch, e.step) for e in evals] == [(1, 2)]
    assert evals[0].SELD == run.metrics()[0]["SELD"]
    end = next(e for e in seen if isinstance(e, ev.End))
    assert (end.finished, end.stopped, end.step) == (False, True, 3) and kinds[-1] == "message"
    assert run.status().state == "stopped" and run.read_summary()["step"] == 3
    # the resumed invocation appends its own events after these
    Trainer(c, run.path, resume=True).run()
    more = run.read_events()[len(seen) :]
    assert [e.step for e in more if isinstance(e, ev.Step)] == [4]
    assert any(e.kind == "message" and e.text == "resumed at epoch 1, batch 1, step 3" for e in more)
    assert more[-2] == ev.End(**run.read_summary()) and run.status().state == "finished"


def test_a_failed_run_says_why_and_a_live_run_is_never_trained_twice(tiny, tmp_path):
    c = _small_config(tiny, epochs=1, steps_per_epoch=1)
    c.data.val_folds = [7]
    run = RunFolder(tmp_path / "run")
    with pytest.raises(SeldError, match="fold 7 has no recordings"):
        Trainer(c, run.path).run()
    status = run.status()
    assert status.state == "failed" and "fold 7 has no recordings" in status.message and not status.running
    # a run folder whose run is trained now by another process (alive on this machine)
    c.data.val_folds = [2]
    c.optim.epochs = 2
    run = RunFolder(tmp_path / "stopped")
    Trainer(c, run.path, max_steps=1).run()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            run.write_status("running", pid=other.pid)
            for resume in (False, True):
                with pytest.raises(SeldError, match=f"being trained now by process {other.pid}"):
                    Trainer(c, run.path, resume=resume).run()
            assert run.status().pid == other.pid  # left as it was
        finally:
            other.kill()
    # once that process is gone (killed), the run can be resumed
    assert run.status().alive is False
    assert Trainer(c, run.path, resume=True).run()["finished"]
    assert run.status().state == "finished"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_hold_the_same_weights(tiny, tmp_path):
    import torch.multiprocessing as mp

    from tests.ddp_worker import run_rank

    c = _small_config(tiny, epochs=2, steps_per_epoch=2)
    c.device = "cpu"
    mp.start_processes(
        run_rank,
        args=(2, _free_port(), c.to_json(), str(tmp_path / "run"), str(tmp_path)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    r0, r1 = _weights(tmp_path / "rank0.safetensors"), _weights(tmp_path / "rank1.safetensors")
    for key in r0:
        assert torch.equal(r0[key], r1[key]), key
    last = _weights(tmp_path / "run" / "last.safetensors")
    assert all(torch.equal(last[k], r0[k]) for k in r0)
    # the ranks trained: the weights moved away from the seeded initialisation
    torch.manual_seed(c.seed)
    m = c.model
    init = build_model(
        m.name,
        in_channels=7,
        n_classes=14,
        conv_filters=tuple(m.conv_filters),
        gru_hidden=m.gru_hidden,
        d_k=m.d_k,
        fc_size=m.fc_size,
    ).state_dict()
    assert not torch.equal(init["gru.weight_ih_l0"], r0["gru.weight_ih_l0"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["step"] == 4 and summary["finished"]


def test_cli_train_prints_one_json_object_per_event(tiny, tmp_path):
    config = _small_config(tiny, epochs=2, steps_per_epoch=2)
    cfg = tmp_path / "config.json"
    cfg.write_text(config.to_json())
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "train",
            "--config",
            str(cfg),
            "--out",
            str(tmp_path / "run"),
            "--progress",
            "jsonl",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    # stdout holds the very lines of the run folder's events.jsonl, each of the schema
    assert out.stdout == (tmp_path / "run" / "events.jsonl").read_text()
    assert all(e["schema"] == ev.SCHEMA_VERSION and ev.event_from_dict(e) is not None for e in events)
    kinds = [e["event"] for e in events]
    assert kinds[0] in ("message", "features", "start") and kinds[-1] in ("end", "message")
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    evals = [e for e in events if e["event"] == "eval"]
    assert len(evals) == 2 and all(0 <= e["F"] <= 1 and e["SELD"] >= 0 for e in evals)
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert header == "epoch,step,train_loss,val_loss,ER,F,LE,LR,SELD,lr,seconds"
    again = subprocess.run(
        [sys.executable, "-m", "core.cli", "train", "--config", str(cfg), "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 2 and "already holds a run" in again.stderr
    assert np.isfinite(float((tmp_path / "run" / "metrics.csv").read_text().splitlines()[-1].split(",")[3]))


def test_a_checkpoint_whose_files_do_not_belong_together_is_refused(tiny, tmp_path):
    c = _small_config(tiny, epochs=2, steps_per_epoch=2)
    Trainer(c, tmp_path / "a", max_steps=2).run()  # one checkpoint: no last.prev.* yet
    assert not (tmp_path / "a" / "last.prev.state.json").exists()
    Trainer(c, tmp_path / "b", max_steps=3).run()
    # files that do not belong together with no previous checkpoint to fall back to (not what a
    # kill leaves: a damaged folder)
    (tmp_path / "a" / "last.safetensors").write_bytes((tmp_path / "b" / "last.safetensors").read_bytes())
    with pytest.raises(
        SeldError, match=r"no checkpoint of this run can be used \(last\.\*: the checkpoint is inconsistent"
    ):
        Trainer(c, tmp_path / "a", resume=True).run()
    with pytest.raises(SeldError, match="delete the last.\\* and last.prev.\\* files and run with --resume"):
        Trainer(c, tmp_path / "a", resume=True).run()


# ---------------------------------------------------------------- what kills leave behind
@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """An uninterrupted run of ``_small_config``: 3 epochs of 3 steps, evaluated at steps 3, 6, 9."""
    run = tmp_path_factory.mktemp("reference") / "run"
    Trainer(_small_config(tiny), run).run()
    assert [r[1] for r in _rows(run / "metrics.csv")] == ["3", "6", "9"]
    return run


def _rows(path) -> list[list[str]]:
    """A metrics file's data rows without the wall-clock ``seconds`` column."""
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,step,train_loss,val_loss,ER,F,LE,LR,SELD,lr,seconds"
    return [line.split(",")[:-1] for line in lines[1:]]


def _assert_same_run(run, reference) -> None:
    """Bit-identical final and best weights, and the same metrics rows, as the uninterrupted run."""
    for name in ("last.safetensors", "best.safetensors"):
        a, b = _weights(reference / name), _weights(run / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (name, key)
    assert _rows(run / "metrics.csv") == _rows(reference / "metrics.csv")
    best, best_ref = (
        read_package_meta(run / "best.safetensors"),
        read_package_meta(reference / "best.safetensors"),
    )
    assert best.metrics == best_ref.metrics


def _messages(events) -> list[str]:
    return [e.text for e in events if e.kind == "message"]


def test_an_incomplete_last_checkpoint_falls_back_to_the_previous_one(tiny, reference, tmp_path):
    c = _small_config(tiny)
    run = tmp_path / "run"
    Trainer(c, run, max_steps=6).run()  # checkpoints after steps 3 (now last.prev.*) and 6 (last.*)
    assert json.loads((run / "last.prev.state.json").read_text())["loop"]["step"] == 3
    assert json.loads((run / "last.state.json").read_text())["loop"]["step"] == 6
    # killed while writing the next checkpoint: the new weights are in, the state files are not
    shutil.copy(reference / "last.safetensors", run / "last.safetensors")
    events: list[dict] = []
    summary = Trainer(c, run, resume=True, on_event=events.append).run()
    messages = _messages(events)
    assert (
        "last.*: the checkpoint is inconsistent: last.safetensors does not belong to this state (the run "
        "was probably killed while saving); going on from the previous checkpoint (last.prev.*, epoch 1, step 3)"
    ) in messages
    # the step 6 row belonged to the lost checkpoint: it went before training went on
    assert "metrics.csv held 2 row(s); rewritten to the checkpoint's 1 row(s) (up to step 3)" in messages
    assert "resumed at epoch 1, batch 0, step 3" in messages
    assert summary["finished"] and summary["step"] == 9
    _assert_same_run(run, reference)


@pytest.mark.parametrize("best_file", ["missing", "newer"])
def test_resume_rewrites_metrics_and_best_to_agree_with_the_checkpoint(tiny, reference, tmp_path, best_file):
    c = _small_config(tiny)
    run = tmp_path / "run"
    Trainer(c, run, max_steps=3).run()  # one checkpoint, after step 3, whose evaluation is the best
    at_checkpoint = (run / "metrics.csv").read_text()
    # killed between the evaluation after step 6 and its checkpoint, twice: that row is in the file
    # twice; and killed between the checkpoint and the best snapshot (missing), or the best file
    # is a later one (newer)
    row6 = (reference / "metrics.csv").read_text().splitlines()[2]
    (run / "metrics.csv").write_text(at_checkpoint + row6 + "\n" + row6 + "\n")
    if best_file == "missing":
        (run / "best.safetensors").unlink()
    else:
        shutil.copy(reference / "best.safetensors", run / "best.safetensors")
        assert read_package_meta(run / "best.safetensors").metrics["step"] == 9
    seen = {}

    def on_event(ev):
        if ev.kind == "start":  # before any new row: the files agree with the checkpoint
            seen["metrics"] = (run / "metrics.csv").read_text()
            seen["best"] = read_package_meta(run / "best.safetensors").metrics
            seen["best_weights"] = _weights(run / "best.safetensors")
            seen["last_weights"] = _weights(run / "last.safetensors")  # the step 3 checkpoint

    events: list[dict] = []
    Trainer(c, run, resume=True, on_event=lambda ev: (events.append(ev), on_event(ev))).run()
    assert seen["metrics"] == at_checkpoint
    assert seen["best"]["step"] == 3 and seen["best"]["SELD"] == float(
        at_checkpoint.splitlines()[1].split(",")[8]
    )
    last_at_3 = seen["last_weights"]
    assert all(torch.equal(seen["best_weights"][k], last_at_3[k]) for k in last_at_3)
    messages = _messages(events)
    assert "metrics.csv held 3 row(s); rewritten to the checkpoint's 1 row(s) (up to step 3)" in messages
    assert "best.safetensors written again from the checkpoint (epoch 1, step 3)" in messages
    _assert_same_run(run, reference)


@pytest.mark.parametrize("resume", [True, False])
def test_a_run_killed_before_its_first_checkpoint_starts_again(tiny, reference, tmp_path, resume):
    c = _small_config(tiny)
    run = tmp_path / "run"
    run.mkdir()
    # what a kill after the first evaluation, before the first checkpoint leaves
    for name in ("config.json", "scaler.json", "best.safetensors"):
        shutil.copy(reference / name, run / name)
    (run / "metrics.csv").write_text(
        "\n".join((reference / "metrics.csv").read_text().splitlines()[:2]) + "\n"
    )
    if not resume:
        with pytest.raises(
            SeldError,
            match="stopped before its first checkpoint, with another configuration; "
            "pass --resume to start that run again",
        ):
            Trainer(_small_config(tiny, lr=1e-3), run).run()
    events: list[dict] = []
    summary = Trainer(c, run, resume=resume, on_event=events.append).run()
    why = (
        "no checkpoint was written yet (the run was stopped in its first epoch): starting it again from the beginning"
        if resume
        else "this folder holds a run with the same configuration that was stopped before its first checkpoint: "
        "starting it again from the beginning"
    )
    assert why + "; removed metrics.csv, best.safetensors of the stopped attempt" in _messages(events)
    assert summary["finished"] and summary["step"] == 9
    _assert_same_run(run, reference)


def test_a_checkpoint_of_an_earlier_version_still_truncates_the_metrics(tiny, reference, tmp_path):
    c = _small_config(tiny)
    run = tmp_path / "run"
    Trainer(c, run, max_steps=3).run()
    at_checkpoint = (run / "metrics.csv").read_text()
    best_metrics = read_package_meta(run / "best.safetensors").metrics
    state = json.loads((run / "last.state.json").read_text())
    del state["run"], state["loop"]["best_step"]  # format version 1 recorded neither
    state["format_version"] = 1
    (run / "last.state.json").write_text(json.dumps(state))
    rows = (reference / "metrics.csv").read_text().splitlines()
    (run / "metrics.csv").write_text(at_checkpoint + rows[1] + "\n" + rows[2] + "\n")
    seen = {}

    def on_event(ev):
        if ev.kind == "start":
            seen["metrics"] = (run / "metrics.csv").read_text()

    Trainer(c, run, resume=True, on_event=on_event, max_steps=4).run()
    assert seen["metrics"] == at_checkpoint  # the repeated step 3 row and the step 6 row are gone
    # the next checkpoint records the rows and the best snapshot it took over from the file
    state = json.loads((run / "last.state.json").read_text())
    assert state["format_version"] == 2 and state["loop"]["step"] == 4 and state["loop"]["best_step"] == 3
    assert state["run"]["best_metrics"] == best_metrics
    assert state["run"]["metrics"] == {"metrics.csv": [r.split(",") for r in at_checkpoint.splitlines()[1:]]}
    Trainer(c, run, resume=True).run()
    _assert_same_run(run, reference)


def test_resume_without_a_run_says_what_to_do(tmp_path, capsys):
    assert cli_main(["train", "--out", str(tmp_path / "nothing"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "there is no run to resume here (no config.json)" in err
    assert "start it again without --resume" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "config must be a JSON object"),
        ("[" * 100_000, "nested too deeply"),
        ('{"optim": {"lr": NaN}}', "NaN is not a number"),
        ('{"optim": {"lr": 1e400}}', "config.optim.lr must be a number in (0, 10], not inf"),
        ('{"optim": {"epochs": -5}}', "config.optim.epochs must be an integer from 1"),
        ('{"optim": {"batch_size": 0}}', "config.optim.batch_size must be an integer from 1"),
        ('{"optim": {"loss": "cross_entropy"}}', "config.optim.loss must be one of homogeneous_mse, ce_mse"),
        ('{"data": {"fmt": "stereo"}}', "config.data.fmt must be one of foa, mic"),
        ('{"data": {"classes": "nosuchset"}}', "nosuchset"),
        ('{"data": {"train_folds": []}}', "nothing to train on"),
        ('{"data": {"segment_frames": 33}}', "config.data.segment_frames must be a multiple of 5"),
        ('{"model": {"conv_filters": [8, 8]}}', "config.model.conv_filters must be 6 filter counts"),
        ('{"model": {"dropout_fc": 1.0}}', "config.model.dropout_fc must be a number in [0, 1)"),
        ('{"threshold": 0}', "config.threshold must be a number in (0, 1)"),
        ('{"seed": "x' + "y" * 5000 + '"}', "characters)"),
    ],
)
def test_a_bad_configuration_is_refused_by_field_before_any_work(tmp_path, capsys, text, message):
    from core.cli import main

    path = tmp_path / "bad.json"
    path.write_text(text)
    assert (
        main(
            ["train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "run"), "--config", str(path)]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(f"seld: error: {path}: ") and message in err, err
    assert len(err) < 400 and "Traceback" not in err
    assert not (tmp_path / "run").exists()
