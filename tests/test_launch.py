"""Starting a run in its own process (core.training.launch): the command line and the checks before it starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.cli import main as cli_main
from core.common.errors import SeldError
from core.data.dataset_file import DATASET_FILE
from core.io.resources import bundled_model_path
from core.training.config import TrainConfig
from core.training.launch import check_before_start, device_choices, resolve_config, train_command
from core.training.presets import PRESETS, get_preset
from core.training.run_folder import RunFolder
from core.training.trainer import Trainer
from tests.fixtures_data import make_plain_dataset, make_tiny_dataset
from tests.test_training import _small_config


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return make_tiny_dataset(root, "foa", folds=(1, 2), clips_per_fold=1, seconds=3.0, n_classes=4, seed=3)


def _config(root) -> TrainConfig:
    config = _small_config(root, epochs=1, steps_per_epoch=1)
    config.device = "cpu"
    return config


def test_the_command_line_for_one_process_and_for_several_gpus(tmp_path):
    run = tmp_path / "run"
    config = _config(tmp_path / "data")
    cmd = train_command(config, run, python="/py")
    launch = run / "launch.json"
    assert cmd == [
        "/py",
        "-m",
        "core.cli",
        "train",
        "--config",
        str(launch),
        "--out",
        str(run),
        "--progress",
        "jsonl",
    ]
    # written (atomically) for the process to read, with absolute paths
    assert TrainConfig.load(launch).to_dict() == resolve_config(config).to_dict()
    config.data.root = "relative/data"
    train_command(config, run)
    assert TrainConfig.load(launch).data.root == str((Path.cwd() / "relative" / "data").resolve())
    assert train_command(None, run, resume=True) == [
        sys.executable,
        "-m",
        "core.cli",
        "train",
        "--out",
        str(run),
        "--resume",
        "--progress",
        "jsonl",
    ]
    assert train_command(tmp_path / "c.json", run, gpus=4, python="/py") == [
        "/py",
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "4",
        "-m",
        "core.cli",
        "train",
        "--config",
        str(tmp_path / "c.json"),
        "--out",
        str(run),
        "--progress",
        "jsonl",
    ]
    with pytest.raises(SeldError, match="a new run needs a configuration"):
        train_command(None, run)
    with pytest.raises(SeldError, match="must be at least 1"):
        train_command(config, run, gpus=0)


def test_seld_command_is_this_python_or_the_bundles_own_seld(monkeypatch, tmp_path):
    from core.common import processes

    monkeypatch.delattr(sys, "frozen", raising=False)
    assert processes.seld_command() == [sys.executable, "-m", "core.cli"]
    assert not processes.is_frozen()
    bundle = tmp_path / "SELD Studio"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle / "seld-studio"))
    assert processes.is_frozen()
    assert processes.seld_command() == [str(bundle / processes.SELD_EXECUTABLE)]


def test_a_frozen_bundle_trains_with_its_own_seld_and_refuses_several_gpus(monkeypatch, tmp_path):
    bundle = tmp_path / "SELD Studio"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle / "seld-studio"))
    run = tmp_path / "run"
    config = _config(tmp_path / "data")
    cmd = train_command(config, run)
    assert cmd == [
        str(bundle / "seld"),
        "train",
        "--config",
        str(run / "launch.json"),
        "--out",
        str(run),
        "--progress",
        "jsonl",
    ]
    assert train_command(None, run, resume=True) == [
        str(bundle / "seld"),
        "train",
        "--out",
        str(run),
        "--resume",
        "--progress",
        "jsonl",
    ]
    other = tmp_path / "run2"
    with pytest.raises(
        SeldError, match="2 GPUs .*needs SELD Studio's Python package .*not the desktop bundle"
    ):
        train_command(config, other, gpus=2)
    assert not other.exists()  # refused before its configuration was written
    # an interpreter named explicitly is used as it is, bundle or not
    assert train_command(None, run, resume=True, python="/py")[:3] == ["/py", "-m", "core.cli"]


def test_the_command_runs_and_prints_the_events(tiny, tmp_path):
    run = tmp_path / "run"
    cmd = train_command(_config(tiny), run)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    kinds = [json.loads(line)["event"] for line in out.stdout.splitlines()]
    assert kinds.count("step") == 1 and "end" in kinds
    assert RunFolder(run).status().state == "finished"
    assert {p.name for p in run.iterdir()} >= {"config.json", "launch.json", "metrics.csv", "status.json"}


def test_a_bad_value_a_missing_device_and_a_missing_dataset_are_refused_first(tiny, tmp_path):
    run = tmp_path / "run"
    config = _config(tiny)
    assert check_before_start(config, run) == []
    config.optim.batch_size = 0
    with pytest.raises(SeldError, match="config.optim.batch_size must be an integer from 1"):
        check_before_start(config, run)
    config = _config(tiny)
    config.device = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(SeldError, match="cuda:"):  # no such GPU here (none, or one fewer)
        check_before_start(config, run)
    if not torch.cuda.is_available():
        config.device = "cuda"
        with pytest.raises(SeldError, match="no CUDA GPU is usable here"):
            check_before_start(config, run)
        config.device = "auto"
        assert check_before_start(config, run, gpus=2) == []  # several processes on the CPU (gloo)
        config.device = "cpu"
    config.data.root = str(tmp_path / "nowhere")
    with pytest.raises(SeldError, match="dataset folder not found"):
        check_before_start(config, run)
    config = _config(tiny)
    config.data.val_folds = [5]
    with pytest.raises(SeldError, match="fold 5 has no recordings; the dataset has folds 1, 2"):
        check_before_start(config, run)
    config = _config(tiny)
    config.init_from = str(tmp_path / "missing.safetensors")
    with pytest.raises(SeldError, match="model file not found"):
        check_before_start(config, run)
    config.data.val_folds = [1]
    config.init_from = ""
    assert check_before_start(config, run)[0].startswith("fold(s) [1] are training folds and also validation")
    assert not run.exists()  # nothing was made


def test_several_gpus_need_cuda_devices(tiny, tmp_path):
    config = _config(tiny)
    if torch.cuda.is_available():
        config.device = "cuda:0"
        with pytest.raises(SeldError, match="the device must be auto or cuda"):
            check_before_start(config, tmp_path / "run", gpus=2)
        config.device = "cuda"
        n = torch.cuda.device_count()
        with pytest.raises(SeldError, match=f"{n + 1} GPUs were asked for but this machine has {n}"):
            check_before_start(config, tmp_path / "run", gpus=n + 1)
    assert device_choices()[:2] == ["auto", "cpu"]
    assert [d for d in device_choices() if d.startswith("cuda")] == [
        f"cuda:{i}" for i in range(torch.cuda.device_count())
    ]


def test_a_run_folder_is_never_overwritten(tiny, tmp_path):
    config = _config(tiny)
    run = tmp_path / "run"
    Trainer(config, run).run()
    with pytest.raises(SeldError, match="already holds a run; resume it"):
        check_before_start(config, run)
    assert check_before_start(None, run, resume=True) == []
    with pytest.raises(SeldError, match="no run to resume here"):
        check_before_start(None, tmp_path / "other", resume=True)
    # a folder holding something else
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(SeldError, match=r"the folder is not empty \(thesis.tex\) and holds no run"):
        check_before_start(config, tmp_path / "mine")
    assert (
        cli_main(["train", "--config", str(_write(config, tmp_path)), "--out", str(tmp_path / "mine")]) == 2
    )
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]
    # a run being trained now by a live process
    folder = RunFolder(tmp_path / "live")
    folder.path.mkdir()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            folder.write_status("running", pid=other.pid)
            for resume in (False, True):
                with pytest.raises(SeldError, match=f"being trained now by process {other.pid}"):
                    check_before_start(config, folder.path, resume)
        finally:
            other.kill()
    # a run stopped before its first checkpoint: a new start with its configuration starts it again
    stopped = RunFolder(tmp_path / "stopped")
    stopped.path.mkdir()
    stopped.write_config(resolve_config(config))
    assert check_before_start(config, stopped.path) == []
    config.seed = 5
    with pytest.raises(SeldError, match="stopped before its first checkpoint, with another configuration"):
        check_before_start(config, stopped.path)


def _write(config: TrainConfig, folder) -> object:
    path = folder / "config.json"
    path.write_text(config.to_json())
    return path


def test_seld_train_makes_the_same_checks_before_anything(tiny, tmp_path, capsys):
    config_file = _write(_config(tiny), tmp_path)
    run = tmp_path / "run"
    device = f"cuda:{torch.cuda.device_count()}"
    assert cli_main(["train", "--config", str(config_file), "--out", str(run), "--device", device]) == 2
    assert device in capsys.readouterr().err and not run.exists()
    assert cli_main(["train", "--config", str(config_file), "--out", str(run), "--val-folds", "8"]) == 2
    assert "fold 8 has no recordings" in capsys.readouterr().err and not run.exists()


def test_seld_train_on_a_plain_folder_takes_format_and_classes_from_its_file(tmp_path):
    root, _ = make_plain_dataset(
        tmp_path / "plain",
        "mic",
        folds=(1, 2),
        clips_per_fold=1,
        seconds=3.0,
        n_classes=4,
        classes="starss23",
    )
    small = _config(root)
    partial = {"model": small.to_dict()["model"], "optim": small.to_dict()["optim"], "device": "cpu"}
    partial["data"] = {k: small.to_dict()["data"][k] for k in ("segment_frames", "workers")}
    config_file = tmp_path / "small.json"
    config_file.write_text(json.dumps(partial))
    run = tmp_path / "run"
    argv = [
        "train",
        "--data",
        str(root),
        "--config",
        str(config_file),
        "--out",
        str(run),
        "--progress",
        "none",
    ]
    assert cli_main([*argv, "--train-folds", "1", "--val-folds", "2", "--test-folds", "2"]) == 0
    saved = RunFolder(run).read_config()
    assert (saved.data.fmt, saved.data.classes, saved.data.root) == ("mic", "starss23", str(root.resolve()))
    summary = RunFolder(run).read_summary()
    assert summary["finished"] and summary["test"]["SELD"] >= 0
    # a class set other than the file's is refused, naming the file
    with pytest.raises(SeldError) as err:
        check_before_start(_with(saved, classes="dcase2020"), tmp_path / "other")
    assert err.value.path == str(root.resolve() / DATASET_FILE) and "'starss23'" in err.value.problem


def _with(config: TrainConfig, **data) -> TrainConfig:
    out = TrainConfig.from_dict(config.to_dict())
    for key, value in data.items():
        setattr(out.data, key, value)
    return out


def test_presets_fill_the_form_and_keep_the_data_choices(tmp_path):
    assert list(PRESETS) == ["paper", "quick_finetune"]
    paper = get_preset("paper").config(
        str(tmp_path), "mic", "starss23", train_folds=[4], val_folds=[5], test_folds=[6]
    )
    expected = TrainConfig()
    expected.data.root, expected.data.fmt, expected.data.classes = str(tmp_path), "mic", "starss23"
    expected.data.train_folds, expected.data.val_folds, expected.data.test_folds = [4], [5], [6]
    assert paper.to_dict() == expected.to_dict()  # the paper's recipe is the defaults
    quick = get_preset("quick_finetune").apply(paper)
    assert quick.data.train_folds == [4] and quick.data.fmt == "mic"
    o = quick.optim
    assert (quick.init_from, o.epochs, o.lr, o.warmup_epochs, o.batch_size) == ("bundled", 20, 5e-5, 1, 32)
    assert quick.data.rotate_augment and o.decay_epochs == [] and o.loss == "homogeneous_mse"
    quick.validate()
    edited = get_preset("paper").apply(quick)  # a preset replaces the recipe, whatever the form held
    assert edited.to_dict() == paper.to_dict()
    if bundled_model_path("mic") is not None:
        assert resolve_config(quick).init_from == str(bundled_model_path("mic"))
    assert all(p.name and p.description for p in PRESETS.values())
    with pytest.raises(KeyError, match="unknown preset 'fast'"):
        get_preset("fast")
