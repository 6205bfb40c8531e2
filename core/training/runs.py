"""The runs under a folder: their status and scores, their logs, their curves, and a comparison table.

Everything is read through :class:`~core.training.run_folder.RunFolder` and never written, so
a list may be taken while runs train. :func:`list_runs` finds the run folders under a runs
root (the root itself, its sub-folders, or theirs: depth up to 2) and says of each
(:class:`RunSummary`) its status, steps and epochs, best validation SELD, loss, dataset and
date. A run whose ``status.json`` still says ``running`` but whose process is gone (killed,
crashed, out of memory) is shown as ``stopped`` with ``died=True``: ``seld train --out RUN
--resume`` goes on from its last checkpoint. :func:`log_tail` gives the end of a run's log
(with the failure's message for a failed run), :func:`run_curves` its curves as arrays, and
:func:`compare_runs` one row per run with the columns of the paper's Table 1 (LE, LR, ER, F,
SELD) on validation (the best row) and test.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.common.errors import SeldError
from core.training import events as ev
from core.training.run_folder import METRICS_COLUMNS, RunFolder

__all__ = [
    "CURVE_COLUMNS",
    "STEP_COLUMNS",
    "TABLE1_COLUMNS",
    "ComparisonRow",
    "RunCurves",
    "RunSummary",
    "compare_runs",
    "list_runs",
    "log_tail",
    "run_curves",
    "summarize_run",
]

TABLE1_COLUMNS = ("LE", "LR", "ER", "F", "SELD")
"""The score columns of the paper's Table 1, in its order."""
CURVE_COLUMNS = METRICS_COLUMNS
"""The per-evaluation curves (``metrics.csv``, ``test_metrics.csv``): epoch, step, train_loss, val_loss,
ER, F, LE, LR, SELD, lr, seconds."""
STEP_COLUMNS = ("step", "epoch", "loss", "sed_loss", "doa_loss", "lr")
"""The per-step curves (the ``step`` events of ``events.jsonl``)."""


@dataclass(frozen=True)
class RunSummary:
    """One run folder as a list of runs shows it.

    ``status``: ``running``, ``stopped``, ``finished`` or ``failed``; ``died``: it says running
    but its process is gone (shown as stopped; resume it); ``message``: why it failed or
    stopped, or what cannot be read. ``steps`` and ``epochs`` done; ``best_seld`` with its
    ``best_step`` and ``best_epoch`` (the lowest validation SELD of ``metrics.csv``; ``None``
    before the first evaluation); ``loss``, ``dataset`` (root) and ``fmt`` from its
    configuration; ``created``: when it started (seconds since the epoch); ``test``: the test
    scores of the finished run (``summary.json``), if any.
    """

    path: Path
    name: str
    status: str
    died: bool = False
    message: str | None = None
    pid: int | None = None
    steps: int = 0
    epochs: int = 0
    total_epochs: int | None = None
    best_seld: float | None = None
    best_step: int | None = None
    best_epoch: int | None = None
    loss: str | None = None
    dataset: str | None = None
    fmt: str | None = None
    created: float | None = None
    test: dict[str, float] | None = None
    has_best: bool = False

    @property
    def resumable(self) -> bool:
        """It can be continued with ``--resume`` (not running, not finished, its configuration saved)."""
        return self.status in ("stopped", "failed") and (self.path / RunFolder.CONFIG).is_file()

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.path)


@dataclass(frozen=True)
class RunCurves:
    """A run's curves as float arrays by column: ``val`` (``metrics.csv``, :data:`CURVE_COLUMNS`),
    ``test`` (``test_metrics.csv``, same columns; empty arrays when there is none) and ``steps``
    (:data:`STEP_COLUMNS`, one value per optimizer step, the last attempt's where a resume
    repeated steps)."""

    val: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    steps: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ComparisonRow:
    """One run in a comparison: the paper's Table 1 columns (:data:`TABLE1_COLUMNS`) on validation (the
    row of the best validation SELD, at ``val_step``) and test (``test_source``: ``"summary"``, the
    best snapshot scored when the run finished, or ``"test_metrics"``, the test row at the best
    step), ``None`` where the run has none; and its curves."""

    run: RunSummary
    val: dict[str, float] | None
    val_step: int | None
    test: dict[str, float] | None
    test_source: str | None
    curves: RunCurves


def _as_folder(run: RunSummary | RunFolder | str | os.PathLike[str]) -> RunFolder:
    if isinstance(run, RunSummary):
        return run.folder
    if isinstance(run, RunFolder):
        return run
    return RunFolder(run)


def _created(folder: RunFolder) -> float | None:
    """When the run started: the first line of its log, else its configuration's time."""
    path = folder.file(RunFolder.LOG)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
        return time.mktime(time.strptime(first[:19], "%Y-%m-%d %H:%M:%S"))
    except (OSError, ValueError):
        pass
    try:
        return folder.file(RunFolder.CONFIG).stat().st_mtime
    except OSError:
        return None


def _scores(d: Any) -> dict[str, float] | None:
    if not isinstance(d, dict):
        return None
    out = {}
    for key in TABLE1_COLUMNS:
        value = d.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        out[key] = float(value)
    return out


def _best_row(rows: list[dict[str, float]]) -> dict[str, float] | None:
    """The first row with the lowest finite SELD (the trainer keeps a snapshot only when strictly better)."""
    best = None
    for row in rows:
        seld = row.get("SELD")
        if seld is not None and math.isfinite(seld) and (best is None or seld < best["SELD"]):
            best = row
    return best


def summarize_run(run: RunFolder | str | os.PathLike[str], name: str | None = None) -> RunSummary:
    """The :class:`RunSummary` of one run folder (what cannot be read is left ``None`` and said in ``message``)."""
    folder = _as_folder(run)
    message: str | None = None
    try:
        status = folder.status()
    except SeldError as err:
        status, message = None, str(err)
    summary = None
    try:
        summary = folder.read_summary()
    except (OSError, ValueError):
        message = message or f"{folder.file(RunFolder.SUMMARY)}: cannot be read"
    summary = summary if isinstance(summary, dict) else None
    if status is not None:
        state, died, pid = status.shown_state, status.died, status.pid
        message = status.message or message
        if died:
            message = (
                f"its process ({status.pid}) is gone without a clean stop (killed, crashed or out of memory); "
                "resume it from its last checkpoint"
            )
    else:
        state = "finished" if summary and summary.get("finished") else ("failed" if message else "stopped")
        died, pid = False, None
    loss = dataset = fmt = None
    total_epochs = None
    try:
        config = folder.read_config() if folder.has_config() else None
    except SeldError as err:
        config, message = None, message or str(err)
    if config is not None:
        loss, dataset, fmt, total_epochs = (
            config.optim.loss,
            config.data.root,
            config.data.fmt,
            config.optim.epochs,
        )
    rows = folder.metrics()
    best = _best_row(rows)
    steps = epochs = 0
    position = folder.checkpoint_position()
    if position is not None:
        steps, epochs = int(position.get("step", 0)), int(position.get("epoch", 0))
    if rows:
        steps, epochs = max(steps, int(rows[-1].get("step", 0))), max(epochs, int(rows[-1].get("epoch", 0)))
    if summary:
        steps, epochs = max(steps, int(summary.get("step", 0))), max(epochs, int(summary.get("epoch", 0)))
    for event in reversed(folder.last_events()):
        if isinstance(event, ev.Step):
            steps = max(steps, event.step)
            epochs = max(epochs, event.epoch + (1 if event.batch == event.batches else 0))
            break
    return RunSummary(
        path=folder.path,
        name=name if name is not None else folder.path.name,
        status=state,
        died=died,
        message=message,
        pid=pid,
        steps=steps,
        epochs=epochs,
        total_epochs=total_epochs,
        best_seld=best["SELD"] if best else None,
        best_step=int(best["step"]) if best and "step" in best else None,
        best_epoch=int(best["epoch"]) if best and "epoch" in best else None,
        loss=loss,
        dataset=dataset,
        fmt=fmt,
        created=_created(folder),
        test=_scores(summary.get("test")) if summary else None,
        has_best=folder.best_path.is_file(),
    )


def _subfolders(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def list_runs(runs_root: str | os.PathLike[str]) -> list[RunSummary]:
    """Every run folder under ``runs_root`` (itself, a sub-folder, or a sub-folder's sub-folder), sorted by name.

    ``name`` is the run's path relative to ``runs_root`` (``/`` between folders). A folder that
    is a run is not searched further. A root that is not a folder is a :class:`SeldError`.
    """
    root = Path(os.path.abspath(runs_root))
    if not root.is_dir():
        raise SeldError("runs folder not found" if not root.exists() else "is not a folder", root)
    if RunFolder(root).is_run():
        return [summarize_run(root, root.name)]
    found: list[RunSummary] = []
    for child in _subfolders(root):
        if RunFolder(child).is_run():
            found.append(summarize_run(child, child.name))
            continue
        for grandchild in _subfolders(child):
            if RunFolder(grandchild).is_run():
                found.append(summarize_run(grandchild, f"{child.name}/{grandchild.name}"))
    return sorted(found, key=lambda r: r.name)


def log_tail(run: RunSummary | RunFolder | str | os.PathLike[str], n: int = 20) -> list[str]:
    """The last ``n`` lines of the run's ``train.log``; for a failed run whose log does not end with
    it, ``failed: <message>`` from its status last, so the tail always says why."""
    folder = _as_folder(run)
    lines = folder.log_tail(n)
    try:
        status = folder.status()
    except SeldError as err:
        return [*lines, str(err)][-n:] if n > 0 else []
    if status is not None and status.state == "failed" and status.message:
        if not any(status.message in line for line in lines[-3:]):
            lines = [*lines, f"failed: {status.message}"][-n:] if n > 0 else []
    return lines


def _columns(rows: list[dict[str, float]], names: Sequence[str]) -> dict[str, np.ndarray]:
    return {k: np.array([r.get(k, np.nan) for r in rows], dtype=np.float64) for k in names}


def run_curves(run: RunSummary | RunFolder | str | os.PathLike[str], *, steps: bool = True) -> RunCurves:
    """The run's curves (:class:`RunCurves`); ``steps=False`` skips reading ``events.jsonl`` (it can be large)."""
    folder = _as_folder(run)
    per_step: dict[str, np.ndarray] = {}
    if steps:
        by_step: dict[int, ev.Step] = {}
        for event in folder.read_events():
            if isinstance(event, ev.Step):
                by_step[event.step] = event  # a resumed attempt's step replaces the killed one's
        ordered = [by_step[s] for s in sorted(by_step)]
        per_step = {
            k: np.array([float(getattr(e, k)) for e in ordered], dtype=np.float64) for k in STEP_COLUMNS
        }
    return RunCurves(
        val=_columns(folder.metrics(), CURVE_COLUMNS),
        test=_columns(folder.metrics(test=True), CURVE_COLUMNS),
        steps=per_step,
    )


def compare_runs(
    runs: Iterable[RunSummary | RunFolder | str | os.PathLike[str]], *, steps: bool = True
) -> list[ComparisonRow]:
    """One :class:`ComparisonRow` per run, in the order given (see :class:`ComparisonRow` for the columns)."""
    out = []
    for run in runs:
        folder = _as_folder(run)
        summary = run if isinstance(run, RunSummary) else summarize_run(folder)
        best = _best_row(folder.metrics())
        val = _scores(best)
        val_step = int(best["step"]) if best and "step" in best else None
        test, source = summary.test, "summary" if summary.test else None
        if test is None and val_step is not None:
            at_best = [r for r in folder.metrics(test=True) if r.get("step") == val_step]
            test = _scores(at_best[0]) if at_best else None
            source = "test_metrics" if test else None
        out.append(ComparisonRow(summary, val, val_step, test, source, run_curves(folder, steps=steps)))
    return out
