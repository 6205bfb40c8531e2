"""Starting a training run in its own process: the command line, and the checks made before it starts.

A run trains in a process of its own (``seld train --progress jsonl``; the GUI's training tab
starts it with ``QProcess`` and reads its events), so that the window stays responsive and a
run survives the window. :func:`train_command` builds that command line, with ``torchrun``'s
module form (``python -m torch.distributed.run``) for several GPUs, so no separate executable
is needed; in a frozen bundle it is the bundle's own ``seld`` program
(:func:`core.common.processes.seld_command`). :func:`write_launch_config` writes the
configuration it reads (``<run>/launch.json``).

:func:`check_before_start` is every check that can be made before any work: a bad
configuration value, a device this machine does not have, a run folder that already holds a
run (or other files), a dataset that cannot be read or lacks a chosen fold, a starting package
that is not there. Each is a :class:`~core.common.errors.SeldError` naming the problem;
``seld train`` makes the same checks, so the command line and the GUI refuse the same things
with the same words.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.common.atomic import atomic_write_text
from core.common.errors import SeldError
from core.common.processes import is_frozen, seld_command
from core.training.config import TrainConfig
from core.training.run_folder import RunFolder

__all__ = [
    "check_before_start",
    "device_choices",
    "resolve_config",
    "train_command",
    "write_launch_config",
]


def resolve_config(config: TrainConfig) -> TrainConfig:
    """A validated copy of ``config`` as a run saves it: the data root absolute, ``init_from="bundled"``
    replaced by the bundled package of the data's format, another ``init_from`` absolute."""
    out = TrainConfig.from_dict(config.to_dict())  # a copy, validated
    if out.data.root:
        out.data.root = str(Path(out.data.root).resolve())
    if out.init_from == "bundled":
        from core.io.resources import bundled_model_path

        bundled = bundled_model_path(out.data.fmt)
        if bundled is None:
            raise SeldError(f"init_from 'bundled': no bundled {out.data.fmt.upper()} model is installed")
        out.init_from = str(bundled)
    elif out.init_from:
        out.init_from = str(Path(out.init_from).resolve())
    return out


def write_launch_config(config: TrainConfig, run_dir: str | os.PathLike[str]) -> Path:
    """Write ``config`` as ``<run_dir>/launch.json`` (atomically, creating the folder); returns its path.

    What is written is :func:`resolve_config`'s: validated, with absolute paths, so the process
    reads the same whatever its working folder.
    """
    resolved = resolve_config(config)
    folder = RunFolder(run_dir)
    path = folder.file(RunFolder.LAUNCH)
    try:
        folder.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, resolved.to_json())
    except OSError as err:
        raise SeldError(f"cannot write the run's configuration: {err.strerror or err}", path) from None
    return path


def train_command(
    config: TrainConfig | str | os.PathLike[str] | None,
    run_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    gpus: int = 1,
    python: str | None = None,
) -> list[str]:
    """The command line that trains ``config`` in ``run_dir``, printing its events as JSON lines.

    ``[python, "-m", "core.cli", "train", "--config", CONFIG, "--out", RUN, "--progress", "jsonl"]``;
    ``resume=True`` continues the run in ``run_dir`` with its own configuration (``config`` is
    ignored and may be ``None``). With ``gpus > 1``, one process per GPU through torchrun:
    ``[python, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", N, "-m",
    "core.cli", "train", ...]``. ``config`` is a configuration file, or a
    :class:`~core.training.config.TrainConfig`, which is then written to ``run_dir/launch.json``
    (:func:`write_launch_config`). ``python``: the interpreter (default: this one).

    In a frozen bundle (and no ``python`` given) the command is the bundle's own ``seld``
    program (:func:`core.common.processes.seld_command`); several GPUs are refused there
    (a :class:`SeldError`: torchrun needs a Python, so the wheel).
    """
    if gpus < 1:
        raise SeldError(f"the number of GPUs must be at least 1, not {gpus}")
    frozen = python is None and is_frozen()
    if frozen and gpus > 1:
        raise SeldError(
            f"training on {gpus} GPUs (torchrun) needs SELD Studio's Python package (the wheel, in a Python "
            "environment with a CUDA build of torch), not the desktop bundle; the bundle trains on one device"
        )
    run_path = Path(os.path.abspath(run_dir))
    args = ["train", "--out", str(run_path)]
    if resume:
        args.append("--resume")
    else:
        if config is None:
            raise SeldError("a new run needs a configuration")
        path = write_launch_config(config, run_path) if isinstance(config, TrainConfig) else Path(config)
        args[1:1] = ["--config", str(Path(os.path.abspath(path)))]
    args += ["--progress", "jsonl"]
    if gpus > 1:
        launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus)]
        return [python or sys.executable, *launcher, "-m", "core.cli", *args]
    # frozen: the bundle's own seld program (no Python on this machine is used)
    program = seld_command() if python is None else [python, "-m", "core.cli"]
    return [*program, *args]


def device_choices() -> list[str]:
    """The devices a form offers: ``"auto"``, ``"cpu"``, each CUDA device (``"cuda:0"``, ...) and ``"mps"`` where
    they exist. ``["auto", "cpu"]`` without importing torch where it is missing (the lean bundle) or
    where surely no GPU is (:func:`core.common.optional.cpu_only_devices`)."""
    from core.common.optional import cpu_only_devices

    known = cpu_only_devices()
    if known is not None:
        return known
    from core.packages.devices import available_devices

    return ["auto", *available_devices()]


def _check_device(device: str, gpus: int) -> None:
    import torch

    from core.packages.devices import resolve_device

    resolved = resolve_device(device)  # a device this machine lacks: SeldError naming what it has
    if gpus > 1:
        key = device.strip().lower()
        if resolved.type == "cpu":
            return  # several processes on the CPU (gloo), as a test does
        if resolved.type != "cuda" or key not in ("auto", "cuda"):
            raise SeldError(
                f"{gpus} GPUs: each process takes its own CUDA device, so the device must be auto or cuda, "
                f"not {device!r}"
            )
        if torch.cuda.device_count() < gpus:
            raise SeldError(f"{gpus} GPUs were asked for but this machine has {torch.cuda.device_count()}")


def _check_folder(folder: RunFolder, config: TrainConfig | None, resume: bool) -> None:
    if folder.path.exists() and not folder.path.is_dir():
        raise SeldError("is a file, not a run folder", folder.path)
    status = folder.status() if folder.path.is_dir() else None
    if status is not None and status.running and status.alive:
        raise SeldError(
            f"this run is being trained now by process {status.pid} (status.json); stop it first or choose "
            "another folder",
            folder.path,
        )
    if resume:
        if not folder.has_config():
            raise SeldError(
                "there is no run to resume here (no config.json); if a run was stopped before it wrote its "
                "configuration, start it again without --resume",
                folder.path,
            )
        return
    if not folder.path.is_dir():
        return
    if folder.has_checkpoint():
        raise SeldError(
            "this run folder already holds a run; resume it (--resume) or choose another folder", folder.path
        )
    if folder.has_config():
        if config is not None and folder.read_config().to_dict() != config.to_dict():
            raise SeldError(
                "this run folder holds a run that was stopped before its first checkpoint, with another "
                "configuration; resume it (--resume) to start it again with its own configuration, or choose "
                "another folder",
                folder.path,
            )
        return
    if not folder.is_run():
        others = sorted(
            p.name for p in folder.path.iterdir() if not p.name.startswith(".") and p.name != RunFolder.LAUNCH
        )
        if others:
            shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            raise SeldError(
                f"the folder is not empty ({shown}) and holds no run; a run needs a new or empty folder, so that "
                "nothing in it is overwritten",
                folder.path,
            )


def _check_data(config: TrainConfig) -> None:
    from core.data.dataset import discover, select_folds
    from core.data.dataset_file import dataset_file_path, dataset_layout, read_dataset_file
    from core.labels.classes import get_class_set

    d = config.data
    if not d.root:
        raise SeldError("no dataset folder given (data.root)")
    if dataset_layout(d.root) == "plain":
        own = read_dataset_file(d.root)
        if own is not None and own.class_set().names != get_class_set(d.classes).names:
            raise SeldError(
                f"the dataset file's class set is {own.config_classes!r}, but the run's is {d.classes!r}; "
                "train with the file's class set (--classes) or change the file",
                dataset_file_path(d.root),
            )
    items = discover(d.root, d.fmt)
    for folds in (d.train_folds, d.val_folds, d.test_folds):
        select_folds(items, folds)


def _check_init(config: TrainConfig) -> None:
    if not config.init_from:
        return
    if config.init_from == "bundled":
        from core.io.resources import bundled_model_path

        if bundled_model_path(config.data.fmt) is None:
            raise SeldError(f"init_from 'bundled': no bundled {config.data.fmt.upper()} model is installed")
        return
    from core.packages.package_file import read_package_meta

    read_package_meta(config.init_from)  # a missing or damaged package: ModelError naming it


def check_before_start(
    config: TrainConfig | None, run_dir: str | os.PathLike[str], resume: bool = False, *, gpus: int = 1
) -> list[str]:
    """Refuse a run that cannot start, before anything starts; return its warnings (shared folds).

    ``resume=True`` checks the run in ``run_dir`` with its own saved configuration
    (``config`` is ignored and may be ``None``). Raises a :class:`SeldError` naming the first
    problem: a configuration value no run can use; a device this machine lacks (``cuda:3``
    with one GPU, ``cuda`` with none), or fewer GPUs than ``gpus``; a run folder that is
    trained now, already holds a run (unless resuming), holds a stopped run of another
    configuration, or holds other files; a dataset that cannot be read, or a chosen fold
    without recordings; a class set other than a plain folder's dataset file says; a starting
    package (``init_from``) that is missing or damaged. Before all of these: torch missing (the
    lean desktop bundle), as "training needs PyTorch".
    """
    from core.common.optional import require_torch

    require_torch("training")  # the lean desktop bundle has no torch: said before anything else
    folder = RunFolder(run_dir)
    if not resume:
        if config is None:
            raise SeldError("a new run needs a configuration")
        config = resolve_config(config)  # validated: a bad value is refused first
    _check_folder(folder, config, resume)
    if resume:
        config = folder.read_config()
    assert config is not None
    _check_device(config.device, gpus)
    _check_data(config)
    if not resume:
        _check_init(config)
    return config.shared_folds()
