"""``seld train``: train the CRNN on a dataset's folds (also under torchrun for several GPUs)."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.cli.render import ProgressRenderer
from core.common.errors import SeldError
from core.training.config import TrainConfig
from core.training.events import TrainEvent
from core.training.launch import check_before_start, resolve_config


def _folds(text: str) -> list[int]:
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"folds must look like '3,4,5' or '3-6', not {text!r}") from None
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train the SELD CRNN (homogeneous MSE by default) on a dataset's folds",
        description="Train the multitask-regression CRNN of Phan et al. (DCASE 2020) on the folds of a "
        "dataset: DCASE layout (foa_dev/ or mic_dev/ + metadata_dev/, STARSS sub-folders too) or a plain "
        "folder of recordings with label CSVs beside them and a seld-dataset.json assigning their folds "
        "(docs/DATASETS.md; its format and class set are the defaults). Resume a stopped run with "
        "--resume; stop one cleanly with Ctrl-C or by creating a file named STOP in the run folder. "
        "For several GPUs: torchrun --nproc_per_node N -m core.cli.seld train ...",
    )
    p.add_argument("--data", help="dataset root folder")
    p.add_argument("--out", type=Path, required=True, help="run folder (created)")
    p.add_argument("--config", type=Path, help="JSON file with a (partial) training configuration")
    p.add_argument("--format", dest="fmt", choices=("foa", "mic"))
    p.add_argument("--classes", help="class set: dcase2020 (default), starss, ...")
    p.add_argument("--train-folds", type=_folds)
    p.add_argument("--val-folds", type=_folds)
    p.add_argument("--test-folds", type=_folds)
    p.add_argument("--epochs", type=int)
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--loss", choices=("homogeneous_mse", "ce_mse"))
    p.add_argument("--w-ce", type=float)
    p.add_argument("--w-mse", type=float)
    p.add_argument(
        "--mask-inactive-doa",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="DOA MSE on the active classes only (default), or on all classes with target 0 (--no-...)",
    )
    p.add_argument(
        "--rotate-augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train on exact rotations/reflections of each segment (16 for FOA, 8 for MIC; Mazzon et al. "
        "2019); off by default, as in the paper",
    )
    p.add_argument("--workers", type=int, help="data loading worker processes")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    p.add_argument("--max-steps", type=int, help="stop cleanly (writing last) after this many steps in all")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its newest complete checkpoint (or from the beginning when it "
        "was stopped before its first one), with the run's own configuration",
    )
    p.add_argument(
        "--init",
        dest="init_from",
        help="start from the weights of this model package (fine-tuning); 'bundled' for the bundled model "
        "of the data's format",
    )
    p.add_argument(
        "--progress",
        choices=("bar", "jsonl", "none"),
        default="bar",
        help="bar: a progress bar on stderr; jsonl: one JSON object per event on stdout (docs/EVENTS.md), "
        "as in the run folder's events.jsonl",
    )
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> TrainConfig:
    config = TrainConfig.load(args.config) if args.config else TrainConfig()
    d, o = config.data, config.optim
    overrides: list[tuple[Any, str, Any]] = [
        (d, "root", args.data),
        (d, "fmt", args.fmt),
        (d, "classes", args.classes),
        (d, "train_folds", args.train_folds),
        (d, "val_folds", args.val_folds),
        (d, "test_folds", args.test_folds),
        (d, "workers", args.workers),
        (d, "rotate_augment", args.rotate_augment),
        (o, "epochs", args.epochs),
        (o, "steps_per_epoch", args.steps_per_epoch),
        (o, "batch_size", args.batch_size),
        (o, "lr", args.lr),
        (o, "loss", args.loss),
        (o, "w_ce", args.w_ce),
        (o, "w_mse", args.w_mse),
        (o, "mask_inactive_doa", args.mask_inactive_doa),
        (config, "seed", args.seed),
        (config, "device", args.device),
        (config, "init_from", args.init_from),
    ]
    for obj, name, value in overrides:
        if value is not None:
            setattr(obj, name, value)
    if args.no_amp:
        o.amp = False
    _adopt_dataset_file(config, args)
    return resolve_config(config)


def _adopt_dataset_file(config: TrainConfig, args: argparse.Namespace) -> None:
    """A plain folder's format and class set come from its dataset file unless the command line or the
    configuration file states them."""
    from core.data.dataset_file import dataset_layout, read_dataset_file

    root = config.data.root
    if not root or dataset_layout(root) != "plain":
        return
    own = read_dataset_file(root)
    if own is None:
        return
    stated = _stated_data_fields(args.config) if args.config else set()
    if args.fmt is None and "fmt" not in stated:
        config.data.fmt = own.fmt
    if args.classes is None and "classes" not in stated:
        config.data.classes = own.config_classes


def _stated_data_fields(path: Path) -> set[str]:
    """The ``data`` fields a configuration file states (it was read and checked before)."""
    data = json.loads(Path(path).read_bytes().decode("utf-8-sig")).get("data", {})
    return set(data) if isinstance(data, dict) else set()


def render_event(renderer: ProgressRenderer, event: TrainEvent) -> None:
    """Show a training event: a bar per epoch (and for the feature cache), a line for the rest."""
    from core.training import events as ev

    if isinstance(event, ev.Step):
        note = f"loss {event.loss:.4f} lr {event.lr:.1e} {event.samples_per_s:.1f} samples/s"
        renderer.update(f"epoch {event.epoch + 1}", event.progress, note)
    elif isinstance(event, ev.Features):
        renderer.update("features", event.progress)
    elif isinstance(event, (ev.Eval, ev.Test)):
        renderer.close()
        loss = event.val_loss if isinstance(event, ev.Eval) else event.loss
        epoch = event.epoch if isinstance(event, ev.Eval) else "-"
        renderer.write(
            f"{event.kind}: epoch {epoch} loss {loss:.4f} ER {event.ER:.3f} F {event.F:.3f} LE {event.LE:.1f} "
            f"LR {event.LR:.3f} SELD {event.SELD:.4f}"
        )
    elif isinstance(event, ev.Message):
        renderer.write(event.text)
    elif isinstance(event, ev.End):
        renderer.close()


def run(args: argparse.Namespace) -> int:
    from core.training.run_folder import RunFolder
    from core.training.trainer import Trainer

    folder = RunFolder(args.out)
    if args.resume:
        if not folder.has_config():
            raise SeldError(
                "there is no run to resume here (no config.json); if a run was stopped before it wrote "
                "its configuration, start it again without --resume",
                args.out,
            )
        config = folder.read_config()
    else:
        config = build_config(args)
    if os.environ.get("RANK", "0") == "0":  # under torchrun the first process checks for all
        gpus = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        check_before_start(None if args.resume else config, args.out, args.resume, gpus=gpus)
    renderer = ProgressRenderer() if args.progress == "bar" else None
    on_event: Callable[[TrainEvent], None] | None = None
    if args.progress == "jsonl":

        def on_event(event: TrainEvent) -> None:
            print(event.to_json(), flush=True)

    elif renderer is not None:
        on_event = functools.partial(render_event, renderer)
    trainer = Trainer(config, args.out, resume=args.resume, on_event=on_event, max_steps=args.max_steps)
    try:
        summary = trainer.run()
    finally:
        if renderer is not None:
            renderer.close()
    if renderer is not None:
        print(f"\n{json.dumps(summary)}", file=sys.stderr)
    return 0
