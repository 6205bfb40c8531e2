"""A model package scored on labelled recordings: the job behind ``seld eval``.

:func:`evaluate_model` runs the batch job (:func:`core.inference.batch.run_batch`) over the
recordings, as ``seld infer`` does (2 s segments, the package's threshold and test-time
rotations unless others are given), scores each prediction against its label file with
the official DCASE 2020 scorer, each file over its own length in label frames, and returns
the :class:`~core.metrics.seld.SeldScores` (overall, per class, per file). It yields the
batch's events; unlike a batch of inference, a file that fails stops the evaluation (its
error is raised), since scores without it would not be the folds' scores.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.common.errors import SeldError
from core.common.progress import Job
from core.data.dataset import DatasetItem, discover, select_folds
from core.inference.batch import FileDone, FileFailed, FileResult, run_batch
from core.inference.predict import InferenceModel
from core.labels.table import LabelTable
from core.metrics.seld import SeldScores

__all__ = ["LabelledPrediction", "evaluate_model", "labelled_fold_items", "predict_labelled"]


def labelled_fold_items(root: str | os.PathLike[str], fmt: str, folds: Iterable[int]) -> list[DatasetItem]:
    """The recordings of ``folds`` of the dataset ``root`` (format ``fmt``), each with its label file.

    A fold without recordings, or a recording without a label file, is a :class:`SeldError`.
    """
    items = select_folds(discover(root, fmt, require_labels=False), folds)
    unlabelled = [it for it in items if it.labels is None]
    if unlabelled:
        raise SeldError(
            f"{len(unlabelled)} recording(s) of the chosen folds have no label file, e.g. {unlabelled[0].audio}",
            root,
        )
    return items


@dataclass(frozen=True)
class LabelledPrediction:
    """One recording run through a model, with its reference labels (read against the model's class set)."""

    item: DatasetItem
    result: FileResult
    reference: LabelTable


def predict_labelled(
    model: InferenceModel,
    items: Sequence[DatasetItem],
    *,
    threshold: float | None = None,
    predictions_dir: str | os.PathLike[str] | None = None,
    rotations: int | str | None = None,
    what: str = "evaluation",
) -> Job[list[LabelledPrediction]]:
    """The model on labelled dataset items, each with its reference labels: the work under scoring.

    Yields the events of :func:`~core.inference.batch.run_batch` (arguments as there; the
    items' format is passed on, since a plain folder's paths name none). A file that fails
    raises its error, and so does a label file that cannot be read, as soon as its recording
    is done: results without it would not be the folds'. ``what`` names the work in the
    refusal of items that are not distinct, labelled recordings of one format.
    """
    from core.labels.dcase_csv import read_labels

    class_set = model.meta.class_set_obj()
    by_audio = {Path(item.audio): item for item in items}
    if len(by_audio) != len(items) or any(item.labels is None for item in items):
        raise SeldError(f"{what} needs distinct recordings, each with its label file")
    formats = {item.fmt for item in items}
    if len(formats) > 1:
        raise SeldError(f"{what} needs recordings of one format, not " + " and ".join(sorted(formats)))
    batch = run_batch(
        model,
        list(by_audio),
        out_dir=predictions_dir,
        threshold=threshold,
        rotations=rotations,
        fmt=formats.pop() if formats else None,
    )
    done: list[LabelledPrediction] = []
    try:
        while True:
            event = next(batch)
            if isinstance(event, FileFailed):
                raise event.error
            yield event
            if isinstance(event, FileDone):
                item = by_audio[event.path]
                reference = read_labels(item.labels, classes=class_set)  # type: ignore[arg-type]
                done.append(LabelledPrediction(item, event.result, reference))
    except StopIteration:
        pass
    finally:
        batch.close()
    return done


def evaluate_model(
    model: InferenceModel,
    items: Sequence[DatasetItem],
    *,
    threshold: float | None = None,
    predictions_dir: str | os.PathLike[str] | None = None,
    rotations: int | str | None = None,
) -> Job[SeldScores]:
    """DCASE 2020 scores of an opened model on labelled dataset items (see the module docstring).

    Yields the events of :func:`~core.inference.batch.run_batch`. ``threshold`` defaults to
    the package's, ``rotations`` to the package's test-time rotations; with
    ``predictions_dir`` the predicted label CSVs are written there (``<name>.csv``).
    """
    from core.metrics.seld import SeldScorer

    done = yield from predict_labelled(
        model, items, threshold=threshold, predictions_dir=predictions_dir, rotations=rotations
    )
    scorer = SeldScorer("dcase2020", n_classes=model.meta.class_set_obj())
    for one in done:
        n_frames = one.result.prediction.n_frames
        scorer.update(one.reference, one.result.table, n_frames=n_frames, name=one.item.name)
    return scorer.result()
