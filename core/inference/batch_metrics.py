"""Dataset-wide metrics of a batch: its predictions against the reference labels of its recordings.

:func:`labelled_batch` pairs the recordings a batch did (:class:`~core.inference.batch.FileResult`)
with their label files (found as the file list finds them, :func:`core.data.browse.browse`:
``{entry.path: entry.labels for entry in browse(folder)}``), reads each once and returns a
:class:`LabelledBatch`, from which come

* :meth:`LabelledBatch.scores`: the DCASE 2020 metrics over the whole batch, micro-averaged as
  the official scorer does (``"dcase2020"``), or the DCASE 2022 macro variant
  (``"dcase2022"``): overall, per class, per file (a :class:`~core.metrics.seld.SeldScores`);
* :meth:`LabelledBatch.errors`: every error of the model, for the inspector
  (:mod:`core.metrics.errors`), and :meth:`LabelledBatch.confusion`, the per-class summary.

Recordings without a label file, whose label file cannot be read, or that failed in the
batch are not scored; :attr:`LabelledBatch.unscored` says which and why.

The same numbers as ``seld score``
----------------------------------
The predictions are scored as exported (:func:`~core.inference.export.as_exported`: the
values rounded as written), files in ``seld score``'s order, so that for the scored
recordings :meth:`~LabelledBatch.scores` equals ``seld score REF PRED --metric M --classes C``
to the last bit, where PRED holds the batch's export (:func:`~core.inference.export.export_predictions`,
any format), REF the label files of the scored recordings, and C the class set (the model's).
The clip length of each file (``clip``):

* ``"auto"`` (default): ``dcase2020`` scores each file over its recording's length in label
  frames (600 for a 60 s recording, the scorer's own assumption; ``seld eval`` does the
  same), ``dcase2022`` follows the official rule (the last reference frame rounded up to a
  second), as ``seld score`` without ``--frames``. For recordings of at most 60 s whose labels
  end within the recording this is ``seld score`` exactly; for longer ones ``seld score``
  needs ``--frames N``.
* ``"recording"``: every file over its recording's length, whatever the metric;
* ``"metric"``: the metric's own rule for every file (``seld score`` without ``--frames``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.common.errors import SeldError
from core.inference.batch import FileResult
from core.labels.classes import ClassSet
from core.labels.table import LabelTable
from core.metrics.errors import ConfusionTable, SeldErrorEntry, confusion_summary, find_batch_errors
from core.metrics.seld import DOA_THRESHOLD_DEG, METRICS, SeldScores, score_tables

__all__ = ["CLIP_RULES", "LabelledBatch", "LabelledFile", "Unscored", "labelled_batch"]

CLIP_RULES: tuple[str, ...] = ("auto", "recording", "metric")
"""How :meth:`LabelledBatch.scores` sets each file's clip length (module docstring)."""


@dataclass(frozen=True)
class LabelledFile:
    """One scored recording: its name (file stem), reference, prediction as exported, length in label frames."""

    name: str
    path: Path
    labels: Path
    ref: LabelTable
    pred: LabelTable
    n_frames: int


@dataclass(frozen=True)
class Unscored:
    """A recording of the batch that is not scored, and why (``reason`` names the file)."""

    path: Path
    reason: str

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass(frozen=True)
class LabelledBatch:
    """A batch's predictions with their references, read once; scores and errors on demand.

    ``files`` are in ``seld score``'s order (by file name); ``classes`` is the class set or
    count the scores use (the per-class table, and the classes of the dcase2022 macro mean).
    """

    files: tuple[LabelledFile, ...]
    unscored: tuple[Unscored, ...]
    classes: ClassSet | int

    def items(
        self, metric: str = "dcase2020", clip: str = "auto"
    ) -> list[tuple[str, LabelTable, LabelTable, int | None]]:
        """``(name, ref, pred, n_frames)`` of each file for :func:`~core.metrics.seld.score_tables`
        (``n_frames`` ``None``: the metric's rule), by the ``clip`` rule."""
        if clip not in CLIP_RULES:
            raise SeldError(f"unknown clip length rule {clip!r} (known: {', '.join(CLIP_RULES)})")
        if metric not in METRICS:
            raise SeldError(f"unknown SELD metric {metric!r} (known: {', '.join(METRICS)})")
        own = clip == "recording" or (clip == "auto" and metric == "dcase2020")
        return [(f.name, f.ref, f.pred, f.n_frames if own else None) for f in self.files]

    def scores(self, metric: str = "dcase2020", clip: str = "auto") -> SeldScores:
        """The metric over the whole batch: overall (micro sums; dcase2022: then the class mean),
        per class and per file. With no scored file, the empty scores."""
        return score_tables(self.items(metric, clip), metric=metric, n_classes=self.classes)

    def errors(self, doa_threshold: float = DOA_THRESHOLD_DEG) -> list[SeldErrorEntry]:
        """Every error of the batch (:func:`~core.metrics.errors.find_errors`, each file over its recording's length)."""
        return find_batch_errors(self.items("dcase2020", "recording"), doa_threshold=doa_threshold)

    def confusion(self, doa_threshold: float = DOA_THRESHOLD_DEG) -> ConfusionTable:
        """Per class: how often it was missed, and which classes were predicted in its place."""
        return confusion_summary(self.errors(doa_threshold))


def _key(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(os.fspath(path)))


def labelled_batch(
    results: Sequence[FileResult],
    labels: Mapping[Path, Path | None],
    *,
    classes: ClassSet | int | None = None,
    ref_format: str | None = None,
    failed: Sequence[tuple[Path, SeldError]] = (),
) -> LabelledBatch:
    """Pair the batch's ``results`` with their reference label files and read those.

    ``labels`` maps a recording's path to its label file (``None``: none); ``classes`` is the
    class set scored and bounds the class indices read (default: the predictions' classes);
    ``ref_format`` forces the label files' format (see :func:`core.labels.dcase_csv.read_labels`;
    a 6-column file it does not settle is not scored). ``failed`` are the batch's failed
    recordings (``BatchResult.failed``), listed as not scored with their error. Reading a
    label file is the only I/O.
    """
    from core.inference.export import as_exported
    from core.labels.classes import custom
    from core.labels.dcase_csv import read_labels

    if classes is None:
        names = results[0].prediction.classes if results else ()
        classes = custom(names, "predicted") if names else 1
    by_path = {_key(k): v for k, v in labels.items()}
    files: list[LabelledFile] = []
    unscored = [Unscored(Path(p), str(err)) for p, err in failed]
    for r in results:
        label = by_path.get(_key(r.path))
        if label is None:
            unscored.append(Unscored(r.path, f"{r.path}: no reference label file"))
            continue
        try:
            ref = read_labels(label, fmt=ref_format, classes=classes)
            pred = as_exported(r.table)
            n_classes = len(classes) if isinstance(classes, ClassSet) else int(classes)
            bad = next((row for row in pred.rows if row.cls >= n_classes), None)
            if bad is not None:
                raise SeldError(
                    f"the prediction has class {bad.cls}, outside the {n_classes} scored classes", r.path
                )
        except SeldError as err:
            unscored.append(Unscored(r.path, str(err)))
            continue
        files.append(LabelledFile(r.name, r.path, Path(label), ref, pred, r.prediction.n_frames))
    names_seen: dict[str, Path] = {}
    for f in files:
        if f.name in names_seen:
            raise SeldError(f"two scored recordings are named {f.name!r}: {names_seen[f.name]} and {f.path}")
        names_seen[f.name] = f.path
    files.sort(key=lambda f: f"{f.name}.csv")  # seld score's order: by label file name
    return LabelledBatch(tuple(files), tuple(unscored), classes)
