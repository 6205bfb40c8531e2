"""What a dataset holds and what is wrong with it, before a training run starts.

:func:`summarize_dataset` is a job (:mod:`core.common.progress`): it reads every recording's
header (:func:`core.io.audio.check_recording`, never the samples) and every label file
(:func:`core.labels.dcase_csv.read_labels`), yielding a :class:`~core.common.progress.Progress`
after each recording, and returns a :class:`DatasetSummary`: per fold the recordings, minutes,
events per class (label rows grouped into events as :func:`core.labels.events.events_from_table`
does) and the overlap (of the labelled label frames, the share with one active event and
with two or more), and every problem found, by file and line.

Problems that **block** a run (:attr:`DatasetProblem.blocking`): a dataset that cannot be
listed (no layout, a DCASE file not named ``fold<N>_``, a plain folder's dataset file that is
malformed or lists a file that is gone, a format or class set other than the dataset file's),
and in the chosen folds (all folds when none are chosen): a recording without its label file,
a recording that cannot be used (unreadable, not audio, a wrong channel count, a sample rate
out of range, empty), a malformed label file (its line), a class outside the class set (its
line), a label past the end of its recording (the first such line), and a chosen fold without
recordings.

**Warnings** (shown, not blocking): a class without events in the training folds, a fold
that is both a training fold and a validation or test fold, a recording shorter than one 2 s
evaluation segment, a recording without events, recordings a plain folder assigns to no fold
(not used), a problem in a fold that was not chosen (not used), and a ``seld-dataset.json`` in
a DCASE or STARSS layout (ignored there).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.common.errors import SeldError
from core.common.progress import Job, Progress
from core.common.timebase import EPS_FRAMES, LABEL_HOP_S
from core.data.dataset import discover, label_path
from core.data.dataset_file import dataset_file_path, dataset_layout, plain_recordings, read_dataset_file
from core.data.items import DatasetItem
from core.labels.classes import ClassSet, get_class_set
from core.labels.table import LabelTable

__all__ = [
    "SHORT_RECORDING_S",
    "DatasetProblem",
    "DatasetSummary",
    "FoldSummary",
    "RecordingSummary",
    "summarize_dataset",
]

SHORT_RECORDING_S = 2.0
"""A recording shorter than one evaluation segment (2 s) gets a warning."""


@dataclass(frozen=True)
class DatasetProblem:
    """A problem found in a dataset: the file (``None``: the dataset as a whole), the line of a text
    file (``None``: not a line), what is wrong, and whether it blocks a run (else a warning)."""

    path: Path | None
    line: int | None
    message: str
    blocking: bool

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = str(self.path) if self.line is None else f"{self.path}, line {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class RecordingSummary:
    """One recording: its item, length in seconds (``None``: unreadable), label rows and events
    (``None``: no readable labels)."""

    item: DatasetItem
    seconds: float | None
    rows: int | None
    events: int | None


@dataclass
class FoldSummary:
    """One fold: ``files`` recordings, ``seconds`` of audio (readable recordings), ``events`` per class
    (index = class index), and of the labelled label frames how many have one active event
    (``frames_1``) and two or more (``frames_2plus``). ``roles``: ``"train"``, ``"val"``, ``"test"``."""

    fold: int
    n_classes: int
    files: int = 0
    seconds: float = 0.0
    events: list[int] = field(default_factory=list)
    frames_1: int = 0
    frames_2plus: int = 0
    roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.events:
            self.events = [0] * self.n_classes

    @property
    def minutes(self) -> float:
        return self.seconds / 60.0

    @property
    def labelled_frames(self) -> int:
        return self.frames_1 + self.frames_2plus

    @property
    def ov1_share(self) -> float:
        """The share of labelled frames with exactly one active event (0 when none is labelled)."""
        return self.frames_1 / self.labelled_frames if self.labelled_frames else 0.0

    @property
    def ov2_share(self) -> float:
        """The share of labelled frames with two or more active events (0 when none is labelled)."""
        return self.frames_2plus / self.labelled_frames if self.labelled_frames else 0.0

    @property
    def total_events(self) -> int:
        return sum(self.events)


@dataclass
class DatasetSummary:
    """What :func:`summarize_dataset` found (see the module docstring)."""

    root: Path
    layout: str | None
    fmt: str
    class_set: ClassSet
    folds: dict[int, FoldSummary] = field(default_factory=dict)
    recordings: list[RecordingSummary] = field(default_factory=list)
    problems: list[DatasetProblem] = field(default_factory=list)
    train_folds: tuple[int, ...] = ()
    val_folds: tuple[int, ...] = ()
    test_folds: tuple[int, ...] = ()

    @property
    def blocking(self) -> list[DatasetProblem]:
        """The problems that block a run (empty: a run may start)."""
        return [p for p in self.problems if p.blocking]

    @property
    def warnings(self) -> list[DatasetProblem]:
        return [p for p in self.problems if not p.blocking]

    @property
    def ok(self) -> bool:
        """Nothing blocks a run."""
        return not self.blocking

    def fold_events(self, folds: Iterable[int]) -> list[int]:
        """Events per class summed over ``folds``."""
        total = [0] * len(self.class_set)
        for f in folds:
            if f in self.folds:
                total = [a + b for a, b in zip(total, self.folds[f].events, strict=True)]
        return total


def _label_frames(seconds: float) -> int:
    """The label frames a recording of ``seconds`` covers (a frame starting at or past its end is outside)."""
    return max(0, math.ceil(seconds / LABEL_HOP_S - EPS_FRAMES))


def _overlap_counts(frames: np.ndarray, cls: np.ndarray, track: np.ndarray) -> tuple[int, int]:
    """Of the frames with a label row, how many have one distinct (class, track) and how many more."""
    if frames.size == 0:
        return 0, 0
    unique = np.unique(np.stack([frames, cls, track], axis=1), axis=0)
    per_frame = np.unique(unique[:, 0], return_counts=True)[1]
    return int(np.sum(per_frame == 1)), int(np.sum(per_frame >= 2))


def _resolve_format_and_classes(
    root: Path, layout: str | None, fmt: str | None, classes: ClassSet | str | None
) -> tuple[str, ClassSet, list[DatasetProblem]]:
    """The format and class set to check against, and what the plain folder's dataset file says otherwise."""
    problems: list[DatasetProblem] = []
    dataset_file = None
    if layout == "plain":
        try:
            dataset_file = read_dataset_file(root)
        except SeldError as err:
            problems.append(_problem(err, True))
    elif layout is not None and dataset_file_path(root).is_file():
        problems.append(
            DatasetProblem(
                dataset_file_path(root),
                None,
                f"ignored: the folder has the {layout.upper()} layout, whose file names give the folds",
                False,
            )
        )
    class_set = get_class_set(classes) if isinstance(classes, str) else classes
    if dataset_file is not None:
        if fmt is None:
            fmt = dataset_file.fmt
        own = dataset_file.class_set()
        if class_set is None:
            class_set = own
        elif tuple(class_set.names) != tuple(own.names):
            problems.append(
                DatasetProblem(
                    dataset_file_path(root),
                    None,
                    f"the dataset file's class set is {dataset_file.config_classes!r}, not {class_set.name!r}; "
                    "train with the file's class set or change the file",
                    True,
                )
            )
    if fmt is None:
        for p in problems:  # the dataset file that would have said it
            raise SeldError(p.message, p.path, p.line)
        raise SeldError("the recording format (foa or mic) is not known: choose it", root)
    return fmt, class_set if class_set is not None else get_class_set("dcase2020"), problems


def _problem(err: SeldError, blocking: bool, prefix: str = "") -> DatasetProblem:
    return DatasetProblem(
        Path(err.path) if err.path is not None else None, err.line, prefix + err.problem, blocking
    )


def summarize_dataset(
    root: str | os.PathLike[str],
    fmt: str | None,
    classes: ClassSet | str | None,
    *,
    train_folds: Sequence[int] = (),
    val_folds: Sequence[int] = (),
    test_folds: Sequence[int] = (),
) -> Job[DatasetSummary]:
    """The summary of the dataset ``root`` for a run on these folds (a job; see the module docstring).

    ``fmt`` and ``classes`` (a class set or its name) are the run's; ``None`` takes a plain
    folder's from its dataset file (``classes`` otherwise defaults to ``dcase2020``, the
    training configuration's default; a DCASE root needs ``fmt``). Yields a
    :class:`~core.common.progress.Progress` (``stage``: the recording's name) after each
    recording. Raises :class:`SeldError` only for arguments that say nothing can be checked
    (an unknown format or class set name); what is wrong with the data is in ``problems``.
    """
    root_path = Path(os.path.abspath(os.fspath(root)))
    layout = dataset_layout(root_path)
    fmt, class_set, problems = _resolve_format_and_classes(root_path, layout, fmt, classes)
    n_classes = len(class_set)
    roles = {"train": tuple(train_folds), "val": tuple(val_folds), "test": tuple(test_folds)}
    chosen = {f for folds in roles.values() for f in folds}
    summary = DatasetSummary(
        root=root_path,
        layout=layout,
        fmt=fmt,
        class_set=class_set,
        problems=problems,
        train_folds=roles["train"],
        val_folds=roles["val"],
        test_folds=roles["test"],
    )
    try:
        items = discover(root_path, fmt, require_labels=False)
    except SeldError as err:
        if not any(p.blocking and p.path == Path(err.path or "") for p in problems):
            problems.append(_problem(err, True))
        return summary

    if layout == "plain":
        unassigned = [r for r in plain_recordings(root_path) if r.fold is None]
        if unassigned:
            problems.append(
                DatasetProblem(
                    root_path,
                    None,
                    f"{len(unassigned)} recording(s) are in no fold and not used, e.g. {unassigned[0].key}",
                    False,
                )
            )

    def fold_summary(fold: int) -> FoldSummary:
        if fold not in summary.folds:
            mine = tuple(role for role, folds in roles.items() if fold in folds)
            summary.folds[fold] = FoldSummary(fold, n_classes, roles=mine)
        return summary.folds[fold]

    from core.io.audio import check_recording
    from core.labels.dcase_csv import read_labels
    from core.labels.events import events_from_table

    for done, item in enumerate(items, start=1):
        used = not chosen or item.fold in chosen
        unused = "" if used else f"fold {item.fold} is not used: "

        def report(err: SeldError, unused: str = unused, used: bool = used) -> None:
            problems.append(_problem(err, used, unused))

        stats = fold_summary(item.fold)
        stats.files += 1
        seconds: float | None = None
        rows = events = None
        try:
            info, _ = check_recording(item.audio, fmt=fmt)
            seconds = info.frames / info.sample_rate
            stats.seconds += seconds
            if seconds < SHORT_RECORDING_S:
                problems.append(
                    DatasetProblem(
                        item.audio,
                        None,
                        f"{unused}only {seconds:.2f} s long, shorter than one 2 s evaluation segment",
                        False,
                    )
                )
        except SeldError as err:
            report(err)
        if item.labels is None:
            expected = label_path(root_path, item.audio)
            report(SeldError(f"the recording has no label file (expected {expected})", item.audio))
        else:
            try:
                table = read_labels(item.labels, classes=class_set)
            except SeldError as err:
                report(err)
            else:
                rows = len(table)
                found = events_from_table(table)
                events = len(found)
                for event in found:
                    stats.events[event.cls] += 1
                if rows:
                    frame = np.fromiter((r.frame for r in table), np.int64, rows)
                    cls = np.fromiter((r.cls for r in table), np.int64, rows)
                    track = np.fromiter((r.track for r in table), np.int64, rows)
                    one, more = _overlap_counts(frame, cls, track)
                    stats.frames_1 += one
                    stats.frames_2plus += more
                    if seconds is not None:
                        _check_past_end(table, seconds, report)
                elif seconds is not None:
                    problems.append(
                        DatasetProblem(item.labels, None, f"{unused}the label file holds no events", False)
                    )
        summary.recordings.append(RecordingSummary(item, seconds, rows, events))
        yield Progress(done, len(items), item.name)

    summary.folds = dict(sorted(summary.folds.items()))
    _fold_problems(summary, roles, problems)
    return summary


def _check_past_end(table: LabelTable, seconds: float, report: Callable[[SeldError], None]) -> None:
    """Report the label rows at or past the end of a recording of ``seconds`` (the first one's line)."""
    n_frames = _label_frames(seconds)
    late = [r for r in table if r.frame >= n_frames]
    if late:
        first = min(late, key=lambda r: r.line or 0)
        report(
            SeldError(
                f"{len(late)} label row(s) at or past the end of the recording ({seconds:.2f} s, label frames "
                f"0-{n_frames - 1}); the first is at frame {first.frame}",
                table.path,
                first.line,
            )
        )


def _fold_problems(
    summary: DatasetSummary, roles: dict[str, tuple[int, ...]], problems: list[DatasetProblem]
) -> None:
    """Chosen folds without recordings (blocking); classes without training events and shared folds (warnings)."""
    names = {"train": "training", "val": "validation", "test": "test"}
    for role, folds in roles.items():
        missing = [f for f in folds if f not in summary.folds]
        if missing:
            have = ", ".join(map(str, summary.folds)) or "none"
            problems.append(
                DatasetProblem(
                    summary.root,
                    None,
                    f"{names[role]} fold(s) {', '.join(map(str, missing))} have no recordings; the dataset "
                    f"has folds {have}",
                    True,
                )
            )
    for role in ("val", "test"):
        shared = sorted(set(roles["train"]) & set(roles[role]))
        if shared:
            problems.append(
                DatasetProblem(
                    None,
                    None,
                    f"fold(s) {', '.join(map(str, shared))} are training folds and also {names[role]} folds: "
                    f"the {names[role]} scores measure how well the model fits its training data",
                    False,
                )
            )
    if roles["train"] and any(f in summary.folds for f in roles["train"]):
        counts = summary.fold_events(roles["train"])
        empty = [summary.class_set.names[c] for c, n in enumerate(counts) if n == 0]
        if empty:
            problems.append(
                DatasetProblem(
                    None,
                    None,
                    f"{len(empty)} class(es) have no events in the training folds, so the model cannot learn "
                    f"them: {', '.join(empty)}",
                    False,
                )
            )
