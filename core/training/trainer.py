"""Training the SELD CRNN on a user's dataset folds (single process or torchrun/DDP).

The run folder's files (configuration, metrics, best and last snapshots, log, events,
status) are read and written through :class:`core.training.run_folder.RunFolder`.

Training is a job of the :mod:`core.common.progress` protocol: :meth:`Trainer.events`
yields the typed events of :mod:`core.training.events` (``docs/EVENTS.md``): start, features,
step, eval, eval_test, test, end and message; each is also appended to the run folder's
``events.jsonl``. :meth:`Trainer.run` drives it to its end and returns the summary.

Every random choice is a function of the seed: the batches of an epoch come from
:class:`core.data.training_data.SegmentSampler` seeded by (seed, epoch), augmentation by a
per-example seed, dropout by torch's generator whose state is checkpointed. A run stopped
and resumed therefore ends with exactly the weights of an uninterrupted run.

Stopping: SIGINT/SIGTERM, a file named ``STOP`` in the run folder or
:meth:`Trainer.request_stop` makes the loop stop after the current step and write ``last``;
the STOP file is then removed, so that ``--resume`` goes on. Under torchrun every rank
stops at the same step. ``status.json`` says ``running`` (with the process id) while the run
trains, then ``finished``, ``stopped`` or ``failed``; a new start or a resume of a folder
whose run is still running (its process alive on this machine) is refused.

Kills (SIGKILL, the out-of-memory killer): the checkpoint is the truth. Each checkpoint records the
metrics rows up to its step and its best snapshot; the best snapshot is written only after
the checkpoint that knows it. A resume takes the newest complete checkpoint (``last``, else
``last.prev``), rewrites ``metrics.csv`` and ``test_metrics.csv`` to exactly its rows and
writes ``best.safetensors`` again when the run was killed before writing it. A run killed
before its first checkpoint starts again from the beginning (``--resume``, or a new start
with the same configuration). ``docs/TRAINING.md`` states the rules.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from core.common.errors import SeldError
from core.common.progress import Job, run_job
from core.data.dataset import discover, select_folds
from core.data.feature_cache import FeatureCache, fit_scaler
from core.data.training_data import BatchSpecSampler, SegmentSampler, SpecAugment, TrainSegments, make_loader
from core.dsp.features import FEATURE_CHANNELS, FeatureScaler
from core.labels.classes import get_class_set
from core.nn.losses import LossConfig, seld_loss
from core.nn.model import build_model
from core.packages.devices import resolve_device
from core.packages.package_file import read_package_meta, save_package
from core.packages.schema import make_meta
from core.training import events as ev
from core.training.checkpoint import (
    Checkpoint,
    LoopState,
    kill_point,
    latest_checkpoint,
    restore_training_state,
    save_checkpoint,
)
from core.training.config import TrainConfig
from core.training.evaluation import EvalResult, evaluate
from core.training.run_folder import (
    METRICS,
    METRICS_COLUMNS,
    METRICS_FILES,
    PREVIOUS,
    TEST_METRICS,
    RunFolder,
)

log = logging.getLogger("seld.train")

EventFn = Callable[[ev.TrainEvent], None]


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The paper's schedule: warm-up LR for the first epochs, then LR x factor after each decay epoch."""
    o = config.optim
    if epoch < o.warmup_epochs:
        return o.warmup_lr
    n_decays = sum(1 for e in o.decay_epochs if epoch >= e)
    return o.lr * o.decay_factor**n_decays


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def _init_distributed(device_name: str) -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    use_cuda = torch.cuda.is_available() and device_name != "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local)
    return DistInfo(rank, world, local)


class _StopFlag:
    """Set by SIGINT/SIGTERM (installed only in the main thread) or a STOP file."""

    def __init__(self, folder: RunFolder):
        self.folder = folder
        self.requested = False
        self.by_file = False
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not in the main thread: rely on the STOP file
            self._old.clear()

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        if self.by_file:  # it has done its work: a resumed run must not stop at once
            self.folder.clear_stop()

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        self.requested = True

    def check(self) -> bool:
        if not self.requested and self.folder.stop_requested():
            self.requested = self.by_file = True
        return self.requested


class Trainer:
    """Runs (or resumes) one training run in ``run_dir``.

    :meth:`events` yields the typed events (:mod:`core.training.events`) on the main rank;
    :meth:`run` runs it to the end, handing each event to ``on_event`` (the CLI prints them
    as JSON lines or renders a progress bar). ``max_steps`` stops (cleanly, writing
    ``last``) after that many optimizer steps of the whole run, which is what a test uses
    to interrupt a run.

    ``resume=True`` continues from the newest complete checkpoint, or starts the run again
    from the beginning when it never completed one; ``resume=False`` refuses a folder that
    holds a checkpoint (see :meth:`_check_run_dir` for the exact rules).
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | os.PathLike[str],
        *,
        resume: bool = False,
        on_event: EventFn | None = None,
        max_steps: int | None = None,
    ):
        config.validate()  # a value no run can use is refused before any work
        self.config = config
        self.run_dir = Path(run_dir)
        self.folder = RunFolder(self.run_dir)
        self.resume = resume
        self.on_event = on_event
        self.max_steps = max_steps
        self.dist = DistInfo()
        self.stop = _StopFlag(self.folder)
        self._outbox: list[ev.TrainEvent] = []  # emitted, not yet yielded by events()
        self._taken = False  # the run folder is this trainer's (status running): events go to its file
        # the per-evaluation rows (as written in the CSV files), recorded in every checkpoint
        self._rows: dict[str, list[list[str]]] = {name: [] for name in METRICS_FILES}
        self._best_metrics: dict[str, Any] | None = None  # the best snapshot's package metrics
        self._best_pending = False  # a new best, written once a checkpoint knows it
        self._checkpoint: Checkpoint | None = None  # the checkpoint a resume starts from
        self._passed_over: list[str] = []  # why newer checkpoint sets could not be used
        self._restart: str | None = None  # why a run without checkpoint starts again
        self._rotate = False  # last.* is complete: keep it as last.prev.* at the next save
        self._saved_at: tuple[int, int, int] | None = None  # position of the last checkpoint written

    # ------------------------------------------------------------------ helpers
    def _emit(self, event: ev.TrainEvent) -> None:
        """Record an event (main rank): appended to ``events.jsonl`` now (once :meth:`events` has taken the
        folder), yielded at the next :meth:`_flush`."""
        if self.dist.is_main:
            if self._taken:
                self.folder.append_event(event)
            self._outbox.append(event)

    def _flush(self) -> Iterator[ev.TrainEvent]:
        """Yield the events emitted since the last flush (the points where :meth:`events` reports)."""
        while self._outbox:
            yield self._outbox.pop(0)

    def _log(self, message: str) -> None:
        if self.dist.is_main:
            log.info(message)
            self.folder.append_log(message)
            self._emit(ev.Message(text=message))

    def request_stop(self) -> None:
        """Stop after the current step, writing ``last`` (as SIGINT or a STOP file do)."""
        self.stop.requested = True

    def _check_run_dir(self) -> None:
        """A new run, a restart or a resume.

        * ``--resume`` needs ``config.json`` (the saved configuration wins over the one
          given). It continues from the newest complete checkpoint (``last``, else
          ``last.prev``); with none ever completed (killed in its first epoch) it starts
          the run again from the beginning.
        * A new start refuses a folder holding a checkpoint. A folder whose run never
          completed a checkpoint is started again when the configuration is the same, and
          refused (with what to do) when it differs.
        """
        folder = self.folder
        status = folder.status() if self.dist.is_main else None
        if status is not None and status.running and status.alive and status.pid != os.getpid():
            raise SeldError(
                f"this run is being trained now by process {status.pid} (status.json); stop it first "
                "(Ctrl-C in its terminal, or a file named STOP in the run folder) or choose another folder",
                self.run_dir,
            )
        if self.resume:
            if not folder.has_config():
                raise SeldError(
                    "there is no run to resume here (no config.json); if a run was stopped before it "
                    "wrote its configuration, start it again without --resume",
                    self.run_dir,
                )
            saved = folder.read_config()
            if saved.to_dict() != self.config.to_dict():
                self.config = saved  # the saved configuration wins on resume
            self._checkpoint, self._passed_over = latest_checkpoint(self.run_dir)
            if self._checkpoint is None:
                self.resume = False
                self._restart = (
                    "no checkpoint was written yet (the run was stopped in its first epoch): "
                    "starting it again from the beginning"
                )
        elif folder.has_config():
            if folder.has_checkpoint():
                raise SeldError(
                    "this run folder already holds a run; pass --resume to continue it or choose another "
                    "folder",
                    self.run_dir,
                )
            if folder.read_config().to_dict() != self.config.to_dict():
                raise SeldError(
                    "this run folder holds a run that was stopped before its first checkpoint, with "
                    "another configuration; pass --resume to start that run again from the beginning "
                    "with its own configuration (config.json), or choose another folder",
                    self.run_dir,
                )
            self._restart = (
                "this folder holds a run with the same configuration that was stopped before its first "
                "checkpoint: starting it again from the beginning"
            )

    # ------------------------------------------------------------------ setup
    def _prepare_data(self) -> None:
        """:meth:`_preparing_data` run to its end (its events wait for the next :meth:`_flush`)."""
        run_job(self._preparing_data())

    def _preparing_data(self) -> Job[None]:
        """Find the folds' recordings, cache their features (a features event each), fit or read the scaler."""
        c = self.config.data
        if not c.root:
            raise SeldError("no dataset folder given (data.root)")
        self.class_set = get_class_set(c.classes)
        items = discover(c.root, c.fmt)
        self.train_items = select_folds(items, c.train_folds)
        self.val_items = select_folds(items, c.val_folds) if c.val_folds else []
        self.test_items = select_folds(items, c.test_folds) if c.test_folds else []
        cache_dir = Path(c.cache_dir) if c.cache_dir else Path(c.root) / ".seld_cache"
        self.cache = FeatureCache(cache_dir)
        all_items = self.train_items + self.val_items + self.test_items
        if self.dist.is_main:
            for done, item in enumerate(all_items, start=1):
                self.cache.ensure([item], c.fmt)
                self._emit(ev.Features(done=done, total=len(all_items), name=item.name))
                kill_point("features")
                yield from self._flush()
        if self.dist.enabled:
            dist.barrier()
        saved_scaler = self.folder.read_scaler() if self.resume else None
        if saved_scaler is not None:
            self.scaler = FeatureScaler.from_dict(saved_scaler)
        else:
            self.scaler = fit_scaler(self.cache, self.train_items, c.fmt)
        self.lengths = [int(self.cache.features(it, c.fmt).shape[1]) for it in self.train_items]

    def _build(self) -> None:
        c = self.config
        torch.manual_seed(c.seed)
        m = c.model
        self.model: nn.Module = build_model(
            m.name,
            in_channels=FEATURE_CHANNELS[c.data.fmt],
            n_classes=len(self.class_set),
            conv_filters=tuple(m.conv_filters),
            gru_hidden=m.gru_hidden,
            d_k=m.d_k,
            fc_size=m.fc_size,
            dropout_conv=m.dropout_conv,
            dropout_rnn=m.dropout_rnn,
            dropout_fc=m.dropout_fc,
        ).to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]  # NHWC: ~20 % faster on CPU
        if c.init_from and not self.resume:
            from core.packages.warm_start import init_from_package

            report = init_from_package(self.model, c.init_from, fmt=c.data.fmt, classes=self.class_set.names)
            self._log(report.summary())
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate(c, 0))
        self.loss_config = LossConfig(c.optim.loss, c.optim.w_ce, c.optim.w_mse, c.optim.mask_inactive_doa)
        amp = c.optim.amp and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if amp and torch.cuda.is_bf16_supported() else torch.float16
        self.autocast = amp
        self.grad_scaler = torch.amp.GradScaler("cuda", enabled=amp and self.amp_dtype == torch.float16)
        self.net: nn.Module = self.model
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

    def _batches_per_epoch(self) -> int:
        o, d = self.config.optim, self.config.data
        if o.steps_per_epoch > 0:
            return o.steps_per_epoch
        segments = sum(max(1, math.ceil(n / d.segment_frames)) for n in self.lengths)
        return max(1, segments // o.batch_size)

    # ------------------------------------------------------------------ checkpoints
    def _package_meta(self, metrics: dict[str, Any] | None):
        return make_meta(
            self.model,
            fmt=self.config.data.fmt,
            classes=self.class_set,
            scaler=self.scaler,
            threshold=self.config.threshold,
            training=self.config.to_dict(),
            metrics=metrics,
        )

    def _save_last(self, loop: LoopState) -> None:
        """Write the ``last`` checkpoint (keeping the previous one), then a new best snapshot.

        The best snapshot comes after the checkpoint that records it, so that
        ``best.safetensors`` is never newer than the newest checkpoint; a resume writes it
        again when the run was killed in between (:meth:`_agree_best`).
        """
        if not self.dist.is_main:
            return
        run = {
            "columns": list(METRICS_COLUMNS),
            "metrics": {name: rows for name, rows in self._rows.items() if rows},
            "best_metrics": self._best_metrics,
        }
        save_checkpoint(
            self.folder.path,
            lambda path: save_package(path, self.model, self._package_meta(None)),
            self.optimizer,
            loop,
            self.grad_scaler,
            run=run,
            rotate=self._rotate,
        )
        self._rotate = True
        self._saved_at = (loop.epoch, loop.batch_in_epoch, loop.step)
        kill_point("save.state")
        if self._best_pending:
            kill_point("save.best_pending")
            save_package(self.folder.best_path, self.model, self._package_meta(self._best_metrics))
            self._best_pending = False
            kill_point("save.best")

    def _append_metrics(self, row: dict[str, Any], name: str = METRICS) -> None:
        self._rows[name].append([str(row.get(k, "")) for k in METRICS_COLUMNS])
        self.folder.write_metrics(name, self._rows[name])

    # ------------------------------------------------------------------ resume and restart
    def _resume_from(self, checkpoint: Checkpoint) -> LoopState:
        """Load a checkpoint; make the metrics files and the best snapshot agree with it."""
        from safetensors.torch import load_file

        from core.packages.runtime import apply_weights

        apply_weights(self.model, load_file(str(checkpoint.weights)), str(checkpoint.weights))
        loop = restore_training_state(checkpoint, self.optimizer, self.grad_scaler)
        if checkpoint.name == PREVIOUS:
            self._log(
                f"{'; '.join(self._passed_over)}; going on from the previous checkpoint ({PREVIOUS}.*, "
                f"epoch {loop.epoch}, step {loop.step})"
            )
        else:  # last.* is complete: the next save keeps it as last.prev.*
            self._rotate = True
            self._saved_at = (loop.epoch, loop.batch_in_epoch, loop.step)
        run = checkpoint.run
        if run is not None:
            columns = run["columns"]  # checked by read_checkpoint
            for name in METRICS_FILES:
                rows = run.get("metrics", {}).get(name, [])
                by_name = [dict(zip(columns, row, strict=True)) for row in rows]
                self._rows[name] = [[str(r.get(k, "")) for k in METRICS_COLUMNS] for r in by_name]
            self._best_metrics = run.get("best_metrics")
        else:  # a checkpoint written before rows were recorded: keep the files' rows up to its step
            self._rows = {name: self.folder.metrics_rows_up_to(name, loop.step) for name in METRICS_FILES}
            self._adopt_best(loop)
        if self.dist.is_main:
            for name in METRICS_FILES:
                self._agree_metrics_file(name, loop.step)
            if run is not None:
                self._agree_best(loop)
        self._log(f"resumed at epoch {loop.epoch}, batch {loop.batch_in_epoch}, step {loop.step}")
        return loop

    def _agree_metrics_file(self, name: str, step: int) -> None:
        """Rewrite a metrics file to exactly the checkpoint's rows (atomically) when it differs."""
        path = self.folder.file(name)
        rows = self._rows[name]
        want = self.folder.metrics_text(rows) if rows else None
        have = path.read_text(encoding="utf-8", errors="replace") if path.exists() else None
        if have == want:
            return
        self.folder.write_metrics(name, rows)
        held = max(0, len(have.splitlines()) - 1) if have else 0
        self._log(
            f"{name} held {held} row(s); rewritten to the checkpoint's {len(rows)} row(s) (up to step {step})"
        )

    def _adopt_best(self, loop: LoopState) -> None:
        """A checkpoint of format version 1 did not record its best snapshot: take the file's when it is older."""
        path = self.folder.best_path
        step = _package_step(path)
        if step is not None and step <= loop.step and loop.best_seld != float("inf"):
            loop.best_step = step
            self._best_metrics = read_package_meta(path).metrics

    def _agree_best(self, loop: LoopState) -> None:
        """Make ``best.safetensors`` the snapshot the checkpoint records as best."""
        path = self.folder.best_path
        best_name = path.name
        if loop.best_step < 0:
            if loop.best_seld == float("inf") and path.exists():
                path.unlink()
                self._log(f"{best_name} removed: the checkpoint knows no evaluation it came from")
            return  # (a best of unknown step: from a checkpoint of format version 1, kept as it is)
        if _package_step(path) == loop.best_step:
            return
        if loop.best_step == loop.step and self._best_metrics is not None:
            # the checkpoint's weights are the best snapshot's: the run was killed before writing it
            save_package(path, self.model, self._package_meta(self._best_metrics))
            self._log(
                f"{best_name} written again from the checkpoint (epoch {loop.best_epoch}, step {loop.step})"
            )
        else:
            self._log(
                f"warning: {best_name} is not the snapshot the checkpoint records as best (epoch "
                f"{loop.best_epoch}, step {loop.best_step}) and cannot be rebuilt from it; it will be "
                "replaced at the next better evaluation"
            )

    def _discard_stopped_attempt(self, why: str) -> None:
        """A run that never completed a checkpoint starts again: drop the files of its evaluations."""
        removed = [name for name in (*METRICS_FILES, RunFolder.BEST) if self.folder.file(name).exists()]
        for name in removed:
            self.folder.file(name).unlink()
        if removed:
            why += f"; removed {', '.join(removed)} of the stopped attempt"
        self._log(why)

    # ------------------------------------------------------------------ run
    def run(self) -> dict[str, Any]:
        """Train (or resume) until the end or a stop; return the summary (``summary.json``'s fields)."""
        return run_job(self.events(), on_event=self.on_event)

    def events(self) -> Job[dict[str, Any]]:
        """Training as a job (:mod:`core.common.progress`): yields the run's events, returns the summary.

        Events are yielded on the main rank only. To stop cleanly (writing ``last``) call
        :meth:`request_stop` and go on iterating to the end; closing the generator stops at
        once, without a new checkpoint (a resume goes on from the last one).
        """
        self.dist = _init_distributed(self.config.device)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.dist.enabled:
            dist.barrier()
        self._check_run_dir()
        self._write_status("running")
        self._taken = True
        try:
            summary = yield from self._train()
        except (GeneratorExit, KeyboardInterrupt):
            self._write_status(
                "stopped", "interrupted before a clean stop; --resume goes on from the last checkpoint"
            )
            raise
        except BaseException as err:
            self._write_status("failed", str(err) or type(err).__name__)
            raise
        self._write_status("finished" if summary["finished"] else "stopped")
        return summary

    def _write_status(self, state: str, message: str | None = None) -> None:
        if self.dist.is_main:
            self.folder.write_status(state, message=message)

    def _train(self) -> Job[dict[str, Any]]:
        if self.dist.enabled and self.config.device == "auto" and not torch.cuda.is_available():
            self.device = torch.device("cpu")
        elif self.dist.enabled and torch.cuda.is_available() and self.config.device != "cpu":
            self.device = torch.device("cuda", self.dist.local_rank)
        else:
            self.device = resolve_device(self.config.device)
        if self.dist.is_main and not self.resume:
            self.folder.write_config(self.config)
        for warning in self.config.shared_folds():
            self._log(f"warning: {warning}")
        yield from self._flush()
        yield from self._preparing_data()
        if self.dist.is_main and not self.resume:
            self.folder.write_scaler(self.scaler.to_dict())
        self._build()
        loop = LoopState()
        if self.resume:
            assert self._checkpoint is not None
            loop = self._resume_from(self._checkpoint)
            self._checkpoint = None  # its tensors are loaded; free them
        elif self._restart and self.dist.is_main:
            self._discard_stopped_attempt(self._restart)
        yield from self._flush()
        self.stop.install()
        try:
            return (yield from self._loop(loop))
        finally:
            self.stop.restore()
            if self.dist.enabled:
                dist.barrier()

    def _make_loader(self, sampler: SegmentSampler):
        c = self.config
        dataset = TrainSegments.from_items(
            self.cache,
            self.train_items,
            c.data.fmt,
            self.scaler,
            self.class_set,
            c.data.segment_frames,
            augment=SpecAugment.from_config(c.data),
            rotate=c.data.rotate_augment,
        )
        batches = BatchSpecSampler(sampler)
        loader = make_loader(dataset, batches, workers=c.data.workers, pin_memory=self.device.type == "cuda")
        return loader, batches

    def _sync_buffers(self) -> None:
        """Give every rank rank 0's batch-norm statistics (DDP keeps the parameters in sync)."""
        if self.dist.enabled:
            for buffer in self.model.buffers():
                dist.broadcast(buffer.data, src=0)

    def _should_stop(self, loop: LoopState) -> bool:
        local = self.stop.check() or (self.max_steps is not None and loop.step >= self.max_steps)
        if not self.dist.enabled:
            return local
        flag = torch.tensor([1.0 if local else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item() > 0)

    def _loop(self, loop: LoopState) -> Job[dict[str, Any]]:
        c = self.config
        per_epoch = self._batches_per_epoch()
        sampler = SegmentSampler(
            self.lengths,
            c.data.segment_frames,
            c.optim.batch_size,
            per_epoch,
            c.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        n_params = sum(p.numel() for p in self.model.parameters())
        self._log(
            f"training {c.model.name} ({n_params:,} parameters) on {len(self.train_items)} recordings "
            f"(folds {c.data.train_folds}), validating on {len(self.val_items)} (folds {c.data.val_folds}); "
            f"device {self.device}, {self.dist.world_size} process(es), {per_epoch} steps per epoch"
        )
        self._emit(
            ev.Start(
                epochs=c.optim.epochs,
                steps_per_epoch=per_epoch,
                step=loop.step,
                epoch=loop.epoch,
                device=str(self.device),
            )
        )
        yield from self._flush()
        t_start = time.perf_counter() - loop.elapsed_s
        loader, batches = self._make_loader(sampler)
        stopped = False
        while loop.epoch < c.optim.epochs and not stopped:
            lr = learning_rate(c, loop.epoch)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.net.train()
            n_batches = 0
            t_epoch = time.perf_counter()
            if self._should_stop(loop):
                stopped = True
                break
            batches.set_epoch(loop.epoch, loop.batch_in_epoch)
            for x, sed, doa in loader:
                x = x.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                sed = sed.to(self.device, non_blocking=True)
                doa = doa.to(self.device, non_blocking=True)
                with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.autocast):
                    sed_hat, doa_hat = self.net(x)
                loss, parts = seld_loss(sed_hat, doa_hat, sed, doa, self.loss_config)
                self.optimizer.zero_grad(set_to_none=True)
                self.grad_scaler.scale(loss).backward()
                if c.optim.grad_clip > 0:
                    self.grad_scaler.unscale_(self.optimizer)
                    nn.utils.clip_grad_norm_(self.model.parameters(), c.optim.grad_clip)
                self.grad_scaler.step(self.optimizer)
                self.grad_scaler.update()
                loop.step += 1
                loop.batch_in_epoch += 1
                value = float(loss.detach())
                loop.epoch_loss_sum += value
                n_batches += 1
                elapsed = time.perf_counter() - t_epoch
                self._emit(
                    ev.Step(
                        epoch=loop.epoch,
                        step=loop.step,
                        batch=loop.batch_in_epoch,
                        batches=per_epoch,
                        loss=value,
                        sed_loss=float(parts["sed"]),
                        doa_loss=float(parts["doa"]),
                        lr=lr,
                        samples_per_s=n_batches * x.shape[0] * self.dist.world_size / max(elapsed, 1e-9),
                    )
                )
                yield from self._flush()
                kill_point("step")
                if self._should_stop(loop):
                    stopped = True
                    break
            if stopped and loop.batch_in_epoch < per_epoch:
                break
            # the epoch is complete
            self._sync_buffers()
            train_loss = loop.epoch_loss_sum / max(loop.batch_in_epoch, 1)
            loop.epoch += 1
            loop.batch_in_epoch = 0
            loop.epoch_loss_sum = 0.0
            loop.elapsed_s = time.perf_counter() - t_start
            if self.val_items and (loop.epoch % c.optim.eval_every == 0 or loop.epoch == c.optim.epochs):
                yield from self._evaluate_and_keep(loop, train_loss, lr)
            self._save_last(loop)
        loop.elapsed_s = time.perf_counter() - t_start
        self._sync_buffers()
        if self._saved_at != (loop.epoch, loop.batch_in_epoch, loop.step):  # else last is this position
            self._save_last(loop)
        finished = loop.epoch >= c.optim.epochs
        summary: dict[str, Any] = {
            "finished": finished,
            "stopped": stopped and not finished,
            "epoch": loop.epoch,
            "step": loop.step,
            "best_seld": None if loop.best_seld == float("inf") else loop.best_seld,
            "best_epoch": loop.best_epoch,
            "seconds": loop.elapsed_s,
        }
        if finished and self.test_items and self.dist.is_main:
            summary["test"] = yield from self._test_best()
        if self.dist.is_main:
            self.folder.write_summary(summary)
        self._emit(ev.End(**summary))
        self._log(f"{'finished' if finished else 'stopped'} at epoch {loop.epoch}, step {loop.step}")
        yield from self._flush()
        return summary

    def _evaluate_and_keep(self, loop: LoopState, train_loss: float, lr: float) -> Iterator[ev.TrainEvent]:
        if not self.dist.is_main:
            return
        result = self._evaluate(self.val_items)
        row: dict[str, Any] = {
            "epoch": loop.epoch,
            "step": loop.step,
            "train_loss": train_loss,
            **result.row("val_loss"),
            "lr": lr,
            "seconds": round(loop.elapsed_s, 3),
        }
        self._append_metrics(row)
        self._emit(ev.Eval(**row))
        yield from self._flush()
        kill_point("eval.val")
        if self.config.optim.eval_test_every_time and self.test_items:
            # curves only: model selection never looks at the test folds
            test = self._evaluate(self.test_items)
            test_row: dict[str, Any] = {**row, **test.row("val_loss")}
            self._append_metrics(test_row, TEST_METRICS)
            self._emit(ev.EvalTest(**test_row))
            yield from self._flush()
        kill_point("eval")
        if result.scores.SELD < loop.best_seld:
            loop.best_seld = float(result.scores.SELD)
            loop.best_epoch = loop.epoch
            loop.best_step = loop.step
            self._best_metrics = {
                "epoch": loop.epoch,
                "step": loop.step,
                "split": "validation",
                **{k: float(v) for k, v in result.row("val_loss").items()},
            }
            self._best_pending = True  # written by _save_last, after the checkpoint that records it

    def _evaluate(self, items, model: nn.Module | None = None) -> EvalResult:
        return evaluate(
            model if model is not None else self.model,
            items,
            self.cache,
            self.scaler,
            self.class_set,
            self.config.data.fmt,
            loss_config=self.loss_config,
            device=self.device,
            segment_frames=self.config.data.eval_segment_frames,
            threshold=self.config.threshold,
        )

    def _test_best(self) -> Job[dict[str, Any]]:
        from core.packages.runtime import load_package

        best = self.folder.best_path
        model = load_package(best, device=self.device).model if best.exists() else self.model
        result = self._evaluate(self.test_items, model)
        row: dict[str, Any] = {"split": "test", **result.row()}
        self._emit(ev.Test(**row))
        yield from self._flush()
        return row


def _package_step(path: Path) -> int | None:
    """The training step recorded in a model package's metrics (``None``: no file or no step)."""
    if not path.exists():
        return None
    try:
        metrics = read_package_meta(path).metrics or {}
    except SeldError:
        return None
    step = metrics.get("step")
    return step if isinstance(step, int) else None
