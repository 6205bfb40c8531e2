"""SIGKILL a tiny training run at many moments: it always resumes or restarts cleanly (issue 13).

A chain of launches of ``seld train`` on one run folder: each launch is killed (SIGKILL) at a
moment drawn from a seeded schedule, and the next one goes on (``--resume`` once the folder
holds ``config.json``, sometimes a new start with the same configuration while it holds no
checkpoint), until a launch finishes; then the next chain starts in a new folder, until
at least :data:`MIN_KILLS` kills have landed. The moments:

* the named points of the trainer's test hook (``SELD_TRAIN_KILL_AT``, ``core.training.checkpoint``):
  in the feature computation, after a step, during an evaluation (between the validation
  and the test rows), between an evaluation and its checkpoint, inside the checkpoint
  writes (between the copies of the previous set, between weights, tensors and state
  JSON, between the checkpoint and the best snapshot);
* right after a progress event (a step, an evaluation, the start), killed from outside;
* after a random delay from the launch, killed from outside (anywhere, the start-up included).

Every launch must end killed (-9) or finished (0), within a time limit and without a
traceback; every finished chain must equal an uninterrupted run of the same configuration:
bit-identical final and best weights, and exactly its metrics and test metrics rows, one per
evaluation step, none repeated or missing.

Launches run ``core.cli.main(["train", ...])`` in processes forked from a forkserver that
has already imported torch and the trainer (a fresh interpreter spends about 3 s importing
torch); the chains' last launch is a real ``python -m core.cli train --resume`` subprocess.
All launches use one torch thread, so that they compute exactly alike.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.packages.package_file import read_package_meta
from core.training.config import TrainConfig
from tests.fixtures_data import make_tiny_dataset

MIN_KILLS = 24
LAUNCH_TIMEOUT_S = 120.0  # a launch still running after this long hangs
EPOCHS, STEPS_PER_EPOCH = 4, 2
EVAL_STEPS = [str(STEPS_PER_EPOCH * (e + 1)) for e in range(EPOCHS)]

# the trainer's kill points (core.training.checkpoint.kill_point), each for a first or second pass
POINTS = [
    "step:1",
    "step:3",
    "eval.val:1",
    "eval:1",
    "eval:2",
    "save.previous:1",
    "save.rotated:1",
    "save.weights:1",
    "save.weights:2",
    "save.tensors:1",
    "save.tensors:2",
    "save.state:1",
    "save.best_pending:1",
    "save.best:1",
]
EVENTS = ["start:1", "step:2", "eval:1", "eval_test:2"]  # killed from outside right after the k-th event
N_TIMED = 8  # killed from outside after a random delay


def _config(root: Path) -> TrainConfig:
    c = TrainConfig()
    c.data.root = str(root)
    c.data.train_folds, c.data.val_folds, c.data.test_folds = [1], [2], [3]
    c.data.segment_frames = 100
    c.data.workers = 0
    c.model.conv_filters = [8, 8, 16, 16, 16, 16]
    c.model.gru_hidden, c.model.d_k, c.model.fc_size = 16, 8, 32
    c.optim.batch_size = 4
    c.optim.warmup_epochs = 1
    c.optim.lr, c.optim.warmup_lr = 3e-3, 1e-3
    c.optim.steps_per_epoch = STEPS_PER_EPOCH
    c.optim.epochs = EPOCHS
    c.optim.eval_test_every_time = True  # test_metrics.csv must agree with the checkpoint too
    c.device = "cpu"  # bit for bit: no nondeterministic GPU kernels
    return c


# ---------------------------------------------------------------- launching
def _child(argv: list[str], out: str, err: str, kill_at: str) -> None:
    """A forked launch: ``seld train`` with stdout/stderr to files, then exit with its status."""
    os.environ.pop("SELD_TRAIN_KILL_AT", None)
    if kill_at:
        os.environ["SELD_TRAIN_KILL_AT"] = kill_at
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    torch.set_num_threads(1)
    from core.cli import main

    try:
        rc = main(argv)
    except BaseException:
        import traceback

        traceback.print_exc()
        rc = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(
        ["torch", "torch._dynamo", "core.cli.seld", "core.cli.train", "core.training.trainer", __name__]
    )
    return ctx


class Launch:
    """One launch's outcome: exit code, progress events, stderr, how it was killed and where it was."""

    def __init__(self, rc: int, out: str, err: str, how: str, point: str = ""):
        self.rc, self.err, self.how, self.point = rc, err, how, point
        self.events = [json.loads(line) for line in out.split("\n")[:-1] if line.startswith("{")]

    @property
    def landed(self) -> str:
        """Where the run was when it died."""
        point = self.point.split(":")[0]
        steps = [e["step"] for e in self.events if e["event"] in ("start", "step")]
        in_first_epoch = bool(steps) and steps[-1] < STEPS_PER_EPOCH  # before the first evaluation
        if point == "features":
            return "data preparation"
        if point == "step":
            return "first epoch" if in_first_epoch else "training step"
        if point == "eval.val":
            return "evaluation"
        if point == "eval":
            return "between evaluation and checkpoint"
        if point == "save.best_pending":
            return "between checkpoint and best snapshot"
        if point == "save.best":
            return "after the best snapshot"
        if point:
            return "checkpoint writing"
        # killed from outside: after its last progress event
        if not self.events:
            return "start-up"
        if any(e["event"] == "end" for e in self.events):
            return "after the end of the run"
        kind = self.events[-1]["event"]
        if kind == "features" or not steps and kind == "message":
            return "data preparation"
        if kind in ("start", "step"):
            return "first epoch" if in_first_epoch else "training step"
        if kind == "eval":
            return "evaluation"
        if kind == "eval_test":
            return "between evaluation and checkpoint"
        return f"after a {kind} event"


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _launch(ctx, argv, logs: Path, kill_at: str = "", event: str = "", delay: float | None = None) -> Launch:
    """Fork one launch; kill it at a point (it kills itself), after an event or after a delay."""
    n = len(list(logs.glob("*.out.jsonl")))  # a file per launch: never read an earlier launch's events
    out, err = logs / f"{n}.out.jsonl", logs / f"{n}.err.txt"
    p = ctx.Process(target=_child, args=(argv, str(out), str(err), kill_at))
    p.start()
    deadline = time.monotonic() + LAUNCH_TIMEOUT_S
    how = f"point {kill_at}" if kill_at else "not killed"
    if event:
        kind, k = event.split(":")
        how = f"after event {event}"
        while p.is_alive() and time.monotonic() < deadline:
            lines = _read(out).split("\n")[:-1]  # complete lines only
            if sum(json.loads(x)["event"] == kind for x in lines if x.startswith("{")) >= int(k):
                break
            time.sleep(0.002)
    if delay is not None:
        how = f"{how} + {delay:.2f} s" if event else f"after {delay:.2f} s"
        p.join(delay)
    if event or delay is not None:
        p.kill()
    p.join(max(0.0, deadline - time.monotonic()))
    if p.is_alive():
        p.kill()
        p.join()
        pytest.fail(f"the launch hung ({how}): {' '.join(argv)}\n{_read(err)}")
    return Launch(p.exitcode, _read(out), _read(err), how, kill_at)


def _command(run: Path, config_file: Path, fresh_start_ok: bool) -> list[str]:
    """What a user does next: --resume once the folder holds a run, else start it."""
    has_checkpoint = (run / "last.state.json").exists() or (run / "last.prev.state.json").exists()
    if (run / "config.json").exists() and not (fresh_start_ok and not has_checkpoint):
        return ["train", "--out", str(run), "--resume", "--progress", "jsonl"]
    return ["train", "--config", str(config_file), "--out", str(run), "--progress", "jsonl"]


# ---------------------------------------------------------------- checking
def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,step,train_loss,val_loss,ER,F,LE,LR,SELD,lr,seconds"
    return [line.split(",")[:-1] for line in lines[1:]]  # without the wall-clock seconds


def _assert_same_run(run: Path, reference: Path) -> None:
    for name in ("metrics.csv", "test_metrics.csv"):
        rows = _rows(run / name)
        assert [r[1] for r in rows] == EVAL_STEPS, (run, name)  # one row per evaluation step
        assert rows == _rows(reference / name), (run, name)
    for name in ("last.safetensors", "best.safetensors"):
        a, b = load_file(str(reference / name)), load_file(str(run / name))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (run, name, key)
    assert (
        read_package_meta(run / "best.safetensors").metrics
        == read_package_meta(reference / "best.safetensors").metrics
    )
    summary, summary_ref = (json.loads((r / "summary.json").read_text()) for r in (run, reference))
    assert summary["finished"] and summary["step"] == EPOCHS * STEPS_PER_EPOCH
    for key in ("best_seld", "best_epoch", "test"):
        assert summary[key] == summary_ref[key], key


def _check(launch: Launch) -> None:
    assert launch.rc in (0, -9), (launch.how, launch.rc, launch.err)
    assert "Traceback" not in launch.err, launch.err
    if launch.rc == 0:
        assert [e["event"] for e in launch.events if e["event"] == "end"] == ["end"], launch.events[-3:]


@pytest.mark.slow
@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="needs the forkserver start method"
)
def test_sigkill_at_any_moment_then_resume_gives_the_uninterrupted_run(tmp_path):
    root = make_tiny_dataset(tmp_path / "data", "foa", folds=(1, 2, 3), clips_per_fold=2, seconds=3.0, seed=5)
    config_file = tmp_path / "config.json"
    config_file.write_text(_config(root).to_json())
    rng = random.Random(13)
    ctx = _context()
    logs = tmp_path / "logs"
    logs.mkdir()
    launches: list[Launch] = []

    def new_chain() -> Path:
        run = tmp_path / f"chain{sum(1 for _ in tmp_path.glob('chain*'))}" / "run"
        run.parent.mkdir()
        return run

    # the first launch computes the features and is killed in the middle of that; the second
    # is killed in the first epoch
    run = new_chain()
    for point in ("features:2", "step:1"):
        launches.append(_launch(ctx, _command(run, config_file, False), logs, kill_at=point))
        _check(launches[-1])
        assert launches[-1].rc == -9
    assert [x.landed for x in launches] == ["data preparation", "first epoch"]

    t0 = time.monotonic()
    reference = tmp_path / "reference"
    ref = _launch(ctx, _command(reference, config_file, False), logs)
    ref_seconds = time.monotonic() - t0
    _check(ref)
    assert ref.rc == 0 and [r[1] for r in _rows(reference / "metrics.csv")] == EVAL_STEPS

    train_seconds = next(e["seconds"] for e in ref.events if e["event"] == "end")

    def timed() -> dict:  # a random moment of a launch, or of its training loop
        if rng.random() < 0.5:
            return {"delay": rng.uniform(0.0, ref_seconds)}
        return {"event": "start:1", "delay": rng.uniform(0.0, train_seconds)}

    schedule = (
        [{"kill_at": p} for p in POINTS] + [{"event": e} for e in EVENTS] + [timed() for _ in range(N_TIMED)]
    )
    rng.shuffle(schedule)
    tries: Counter[str] = Counter()
    while schedule:
        kill = schedule.pop()
        tries[str(kill)] += 1
        launch = _launch(ctx, _command(run, config_file, fresh_start_ok=rng.random() < 0.5), logs, **kill)
        launches.append(launch)
        _check(launch)
        if launch.rc == 0:  # not reached before the run finished: the chain is complete
            _assert_same_run(run, reference)
            run = new_chain()
            if "delay" not in kill and tries[str(kill)] < 3:
                schedule.append(kill)  # try it again at the start of the new chain
        if not schedule and sum(x.rc == -9 for x in launches) < MIN_KILLS - 1:
            schedule.append(timed())
    if (run / "config.json").exists():  # a chain in progress: finish it
        launches.append(_launch(ctx, _command(run, config_file, False), logs))
        _check(launches[-1])
        _assert_same_run(run, reference)

    # the last chain with real `seld train` processes: killed from outside after its third step
    run = new_chain()
    launches.append(_subprocess(run, config_file, kill_after_steps=3))
    _check(launches[-1])
    assert launches[-1].rc == -9
    launches.append(_subprocess(run, config_file))
    _check(launches[-1])
    assert launches[-1].rc == 0
    _assert_same_run(run, reference)

    killed = [x for x in launches if x.rc == -9]
    where = Counter(x.landed for x in killed)
    print(f"\n{len(killed)} kills in {len(launches)} launches, {len(list(tmp_path.glob('chain*')))} chains:")
    for place, n in where.most_common():
        print(f"  {n:3d}  {place}")
    print("; ".join(f"{x.how}: {x.landed}" for x in killed))
    said = Counter(
        e["text"]
        for x in launches
        for e in x.events
        if e["event"] == "message" and not e["text"].startswith("training ")
    )
    print("\n".join(f"  {n:3d}x {text}" for text, n in sorted(said.items())))
    assert len(killed) >= MIN_KILLS
    for place in ("data preparation", "first epoch", "evaluation", "between evaluation and checkpoint"):
        assert where[place] > 0, where
    # each kill point of the checkpoint writes was reached, and the launch died there
    assert {x.point for x in killed} >= {p for p in POINTS if p.startswith("save.")}
    # and what they left was repaired: an incomplete last checkpoint, rows after the checkpoint,
    # a best snapshot the checkpoint knew but the folder did not hold yet
    assert any(" going on from the previous checkpoint (last.prev.*, " in text for text in said)
    assert any(text.startswith("metrics.csv held ") for text in said)
    assert any(text.startswith("test_metrics.csv held ") for text in said)
    assert any(text.startswith("best.safetensors written again from the checkpoint") for text in said)


def _subprocess(run: Path, config_file: Path, kill_after_steps: int = 0) -> Launch:
    """A real ``python -m core.cli train`` process (resuming when the folder holds a run)."""
    argv = [sys.executable, "-m", "core.cli", *_command(run, config_file, False)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("SELD_TRAIN_KILL_AT", None)
    repo = Path(__file__).resolve().parents[1]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=repo
    ) as p:
        out: list[str] = []
        assert p.stdout is not None
        for line in p.stdout:
            out.append(line)
            if kill_after_steps and sum('"event": "step"' in x for x in out) >= kill_after_steps:
                p.kill()
                break
        try:
            rest, err = p.communicate(timeout=LAUNCH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            pytest.fail(f"the launch hung: {' '.join(argv)}")
    how = f"after event step:{kill_after_steps} (subprocess)" if kill_after_steps else "not killed"
    return Launch(p.returncode, "".join(out) + rest, err, how)
