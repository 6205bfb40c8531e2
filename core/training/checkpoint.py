"""Resumable training state without pickle: tensors in safetensors, the rest in JSON.

A checkpoint of a run is three files: a model package with the weights and two state files.
The run folder keeps two such sets, so that a kill at any moment leaves one complete:

* ``last.safetensors``, ``last.state.safetensors``, ``last.state.json``: the latest;
* ``last.prev.safetensors``, ``last.prev.state.safetensors``, ``last.prev.state.json``: the one
  before (a copy of the previous ``last`` files).

``<set>.state.safetensors`` holds the optimizer's tensors (``optim.<param index>.<name>``),
the CPU random generator state (``rng.cpu``) and each CUDA device's (``rng.cuda.<i>``);
``<set>.state.json`` the optimizer's parameter groups and scalar state, the gradient scaler,
the loop position (epoch, batch in the epoch, global step), the best validation score so
far and its step, the elapsed time, what the trainer records with it (``run``: the metrics
rows up to this step, the best snapshot's metrics) and the BLAKE2b digests of the two
other files. The JSON is written last: it marks the set complete, and its digests detect
a set whose files do not belong together (a run killed while saving).

:func:`save_checkpoint` first copies the current ``last.*`` set to ``last.prev.*`` (when it is
known to be complete), then writes the new ``last.*`` files, JSON last; :func:`latest_checkpoint` takes
``last`` when it is complete and consistent, else ``last.prev``. Together with the weights
a checkpoint makes a resumed run continue bit for bit.

:func:`kill_point` is a test hook: ``SELD_TRAIN_KILL_AT=<point>[:<n>]`` makes the process
kill itself (SIGKILL) the n-th time (default: the first) it reaches that named point, so
that tests can stop a run at exact moments (``docs/TRAINING.md`` lists the points).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from core.common.atomic import atomic_write_bytes, atomic_write_text
from core.common.errors import SeldError
from core.training.run_folder import LAST, PREVIOUS, RunFolder

FORMAT_VERSION = 2
"""Version of ``<set>.state.json`` written here (1: no ``run`` record, no ``best_step``)."""

KILL_ENV = "SELD_TRAIN_KILL_AT"


@dataclass
class LoopState:
    epoch: int = 0  # the epoch in progress (or next to run)
    batch_in_epoch: int = 0  # batches of that epoch already done
    step: int = 0  # optimizer steps done in the whole run
    best_seld: float = float("inf")
    best_epoch: int = -1
    elapsed_s: float = 0.0
    epoch_loss_sum: float = 0.0  # training loss summed over the batches done in this epoch
    best_step: int = -1  # the step of the best snapshot (-1: none yet)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["best_seld"] = None if self.best_seld == float("inf") else self.best_seld
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoopState:
        best = d.get("best_seld")
        return cls(
            epoch=int(d["epoch"]),
            batch_in_epoch=int(d["batch_in_epoch"]),
            step=int(d["step"]),
            best_seld=float("inf") if best is None else float(best),
            best_epoch=int(d.get("best_epoch", -1)),
            elapsed_s=float(d.get("elapsed_s", 0.0)),
            epoch_loss_sum=float(d.get("epoch_loss_sum", 0.0)),
            best_step=int(d.get("best_step", -1)),
        )


def file_digest(path: str | Path) -> str:
    """BLAKE2b digest of a file's bytes (ties the checkpoint's files together)."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- test hook
_passes: dict[str, int] = {}


def kill_point(name: str) -> None:
    """Test hook: SIGKILL this process here when ``SELD_TRAIN_KILL_AT`` names this point.

    ``SELD_TRAIN_KILL_AT=save.weights:2`` kills at the second pass through ``save.weights``
    in this process; without ``:n`` at the first. Unset (always, outside tests) it does
    nothing but read one environment variable.
    """
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == (int(nth) if nth.isdigit() else 1):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        os._exit(137)  # pragma: no cover (SIGKILL does not return)


# --------------------------------------------------------------------------- one set
def set_paths(run_dir: str | Path, name: str = LAST) -> tuple[Path, Path, Path]:
    """``(weights, state tensors, state JSON)`` of the checkpoint set ``name`` in ``run_dir``."""
    return RunFolder(run_dir).checkpoint_files(name)


def save_training_state(
    prefix: Path,
    optimizer: torch.optim.Optimizer,
    loop: LoopState,
    scaler: torch.amp.GradScaler | None = None,
    weights: Path | None = None,
    run: dict[str, Any] | None = None,
) -> None:
    """Write ``<prefix>.state.safetensors`` and ``<prefix>.state.json`` (JSON last: it marks completeness).

    The JSON records the digests of the tensor file and of ``weights`` (the model package
    written just before), so that a run killed between the writes is detected on resume
    instead of continuing from mismatched files. ``run`` is stored as it is (JSON values):
    what the trainer needs to make its other files agree with this checkpoint.
    """
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    opt = optimizer.state_dict()
    for index, state in opt["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    scaler_state = scaler.state_dict() if scaler is not None and scaler.is_enabled() else None
    tensor_path = Path(f"{prefix}.state.safetensors")
    atomic_write_bytes(tensor_path, save(tensors))
    kill_point("save.tensors")
    meta = {
        "format_version": FORMAT_VERSION,
        "param_groups": opt["param_groups"],
        "optim_scalars": scalars,
        "loop": loop.to_dict(),
        "grad_scaler": scaler_state,
        "run": run,
        "state_digest": file_digest(tensor_path),
        "weights_digest": file_digest(weights) if weights is not None else None,
    }
    atomic_write_text(f"{prefix}.state.json", json.dumps(meta, indent=1))


@dataclass
class Checkpoint:
    """A complete, consistent checkpoint set as read from disk (its files' digests checked)."""

    name: str  # LAST or PREVIOUS
    weights: Path
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor] = field(repr=False)

    @property
    def loop(self) -> LoopState:
        return LoopState.from_dict(self.meta["loop"])

    @property
    def run(self) -> dict[str, Any] | None:
        """What the trainer recorded with the checkpoint (``None`` in version 1 checkpoints)."""
        run = self.meta.get("run")
        return run if isinstance(run, dict) else None


def read_checkpoint(run_dir: str | Path, name: str = LAST) -> Checkpoint:
    """Read and check the set ``name``; a :class:`SeldError` says what is wrong with it."""
    weights, tensor_path, json_path = set_paths(run_dir, name)
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or not isinstance(meta.get("loop"), dict):
            raise ValueError("not a training state")
        LoopState.from_dict(meta["loop"])
        if not isinstance(meta.get("param_groups"), list):
            raise ValueError("no optimizer parameter groups")
        _check_run_record(meta.get("run"))
        for key, path in (("state_digest", tensor_path), ("weights_digest", weights)):
            if meta.get(key) and file_digest(path) != meta[key]:
                raise SeldError(
                    f"the checkpoint is inconsistent: {path.name} does not belong to this state "
                    "(the run was probably killed while saving)",
                    json_path,
                )
        if not weights.exists():
            raise FileNotFoundError(2, "missing", str(weights))
        tensors = load_file(str(tensor_path))
    except FileNotFoundError as err:
        raise SeldError(
            f"the checkpoint is incomplete: {Path(err.filename or json_path).name} is missing", json_path
        ) from None
    except SeldError:
        raise
    except Exception as err:  # JSON, OS and safetensors' own errors
        raise SeldError(f"the checkpoint is damaged ({err})", json_path) from None
    return Checkpoint(name, weights, meta, tensors)


def _check_run_record(run: Any) -> None:
    """``run`` is ``None`` or ``{"columns": [str], "metrics": {file: [[str] * len(columns)]}, ...}``."""
    if run is None:
        return
    columns = run.get("columns") if isinstance(run, dict) else None
    metrics = run.get("metrics", {}) if isinstance(run, dict) else None
    ok = (
        isinstance(columns, list)
        and all(isinstance(c, str) for c in columns)
        and isinstance(metrics, dict)
        and all(
            isinstance(rows, list)
            and all(
                isinstance(row, list) and len(row) == len(columns) and all(isinstance(v, str) for v in row)
                for row in rows
            )
            for rows in metrics.values()
        )
        and isinstance(run.get("best_metrics"), (dict, type(None)))
    )
    if not ok:
        raise ValueError("its record of the metrics rows is malformed")


def restore_training_state(
    checkpoint: Checkpoint,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None = None,
    restore_rng: bool = True,
) -> LoopState:
    """Put a checkpoint's optimizer, gradient scaler and random generator states back; return its loop state."""
    meta, tensors = checkpoint.meta, checkpoint.tensors
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, values in meta.get("optim_scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    if scaler is not None and meta.get("grad_scaler"):
        scaler.load_state_dict(meta["grad_scaler"])
    if restore_rng:
        torch.set_rng_state(tensors["rng.cpu"])
        if torch.cuda.is_available():
            cuda_states = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
            if len(cuda_states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda_states)
    return checkpoint.loop


def load_training_state(
    prefix: Path,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None = None,
    restore_rng: bool = True,
    weights: Path | None = None,
) -> LoopState:
    """Restore what :func:`save_training_state` wrote into ``optimizer`` (and RNGs); return the loop state.

    ``prefix`` is ``<run folder>/<set name>``; ``weights`` must be that set's model package.
    Raises :class:`SeldError` when the files do not belong together (a run killed while
    writing its checkpoint).
    """
    prefix = Path(prefix)
    if weights is not None and Path(weights) != set_paths(prefix.parent, prefix.name)[0]:
        raise ValueError(f"the weights of checkpoint {prefix} are {prefix}.safetensors, not {weights}")
    checkpoint = read_checkpoint(prefix.parent, prefix.name)
    return restore_training_state(checkpoint, optimizer, scaler, restore_rng)


# --------------------------------------------------------------------------- the two sets
def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether a checkpoint was ever completed in ``run_dir`` (a state JSON of either set exists)."""
    return RunFolder(run_dir).has_checkpoint()


def latest_checkpoint(run_dir: str | Path) -> tuple[Checkpoint | None, list[str]]:
    """The newest complete checkpoint of ``run_dir`` and what was wrong with any newer set.

    Returns ``(None, [])`` when no checkpoint was ever completed (no state JSON). Raises
    :class:`SeldError` when state files exist but no set is usable.
    """
    if not has_checkpoint(run_dir):
        return None, []
    problems: list[str] = []
    for name in (LAST, PREVIOUS):
        if not set_paths(run_dir, name)[2].exists():
            continue
        try:
            return read_checkpoint(run_dir, name), problems
        except SeldError as err:
            problems.append(f"{name}.*: {err.problem}")
    raise SeldError(
        "no checkpoint of this run can be used ("
        + "; ".join(problems)
        + "); it cannot be resumed exactly. To train it again from the beginning, delete the "
        "last.* and last.prev.* files and run with --resume; or start a new run in another folder",
        run_dir,
    )


def keep_previous(run_dir: str | Path) -> None:
    """Copy the ``last.*`` set to ``last.prev.*``, the state JSON last.

    Call it only when ``last.*`` is complete and consistent: while it runs, ``last`` is the
    usable set; once it has run, ``last.prev`` is, while the new ``last`` is written.
    """
    for i, (src, dst) in enumerate(zip(set_paths(run_dir, LAST), set_paths(run_dir, PREVIOUS), strict=True)):
        atomic_write_bytes(dst, src.read_bytes())
        if i == 0:
            kill_point("save.previous")
    kill_point("save.rotated")


def save_checkpoint(
    run_dir: str | Path,
    write_weights: Callable[[Path], None],
    optimizer: torch.optim.Optimizer,
    loop: LoopState,
    scaler: torch.amp.GradScaler | None = None,
    *,
    run: dict[str, Any] | None = None,
    rotate: bool = True,
) -> None:
    """Write a new ``last`` set so that a kill at any moment leaves a complete checkpoint.

    ``rotate``: first keep the current ``last`` as ``last.prev`` (pass ``False`` when the
    current ``last`` is not known to be complete: then ``last.prev`` stays what it is).
    ``write_weights(path)`` writes the model package (atomically).
    """
    if rotate and set_paths(run_dir, LAST)[2].exists():
        keep_previous(run_dir)
    weights = set_paths(run_dir, LAST)[0]
    write_weights(weights)
    kill_point("save.weights")
    save_training_state(Path(run_dir) / LAST, optimizer, loop, scaler, weights=weights, run=run)
