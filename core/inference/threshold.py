"""Choosing a model's detection threshold on labelled recordings (the validation folds).

:func:`choose_threshold` runs the model once on each recording (through
:func:`core.inference.batch.run_batch`, with the test-time rotations asked for), then turns
the same outputs into label rows at each candidate threshold and scores them with the
official DCASE 2020 scorer (micro average, each file over its own length, as
:func:`core.inference.evaluate.evaluate_model` scores).

The rule: the candidate with the lowest validation SELD error wins. Errors equal to 6
decimals are a tie, which goes to the candidate nearest the paper's 0.5, then to the lower
one: a threshold moves away from 0.5 only when that is better on the validation data. The
test folds are never looked at (they would no longer be a test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.common.errors import SeldError
from core.common.progress import Job, Progress
from core.data.items import DatasetItem
from core.inference.evaluate import predict_labelled
from core.inference.predict import InferenceModel, prediction_to_table
from core.metrics.seld import SeldScores

__all__ = ["DEFAULT_CANDIDATES", "PAPER_THRESHOLD", "ThresholdChoice", "choose_threshold"]

DEFAULT_CANDIDATES: tuple[float, ...] = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
"""The thresholds tried by default: 0.30 to 0.70 in steps of 0.05."""
PAPER_THRESHOLD = 0.5
"""The paper's threshold, which ties go to."""


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen ``threshold``, its ``scores`` (overall, per class, per file), the validation SELD error at
    every candidate (``by_threshold``), and what it was chosen on (``files`` recordings, ``rotations``)."""

    threshold: float
    scores: SeldScores
    by_threshold: dict[float, float]
    files: int
    rotations: int

    @property
    def seld(self) -> float:
        return float(self.scores.SELD)

    def as_metrics(self, folds: Sequence[int] | None = None) -> dict[str, Any]:
        """What to store in a package's metadata ``metrics`` (JSON): the SELD error at each candidate and how
        it was chosen."""
        out: dict[str, Any] = {
            "threshold_chosen_on_validation": {f"{t:.2f}": v for t, v in self.by_threshold.items()},
            "threshold": self.threshold,
            "threshold_files": self.files,
            "threshold_rotations": self.rotations,
        }
        if folds is not None:
            out["threshold_folds"] = list(folds)
        return out


def _best(by_threshold: dict[float, float]) -> float:
    return min(by_threshold, key=lambda t: (round(by_threshold[t], 6), abs(t - PAPER_THRESHOLD), t))


def choose_threshold(
    model: InferenceModel,
    items: Sequence[DatasetItem],
    candidates: Sequence[float] = DEFAULT_CANDIDATES,
    rotations: int | str | None = None,
) -> Job[ThresholdChoice]:
    """The threshold of ``candidates`` with the lowest DCASE 2020 SELD error on ``items`` (see the module docstring).

    A job: yields the batch events of :func:`~core.inference.batch.run_batch` while the files
    are predicted (:func:`~core.inference.evaluate.predict_labelled`: a file that fails raises
    its error, a choice without it would not be the folds'), then a
    :class:`~core.common.progress.Progress` (stage ``"threshold 0.35"``, ...) after scoring
    each candidate. ``rotations``: the test-time rotations (``None``: the
    package's), which should be the ones the model will be used with.
    """
    from core.metrics.seld import SeldScorer

    values = [float(t) for t in candidates]
    if not values or any(not 0.0 < t < 1.0 for t in values) or len(set(values)) != len(values):
        raise SeldError(
            f"threshold candidates must be distinct numbers between 0 and 1, not {list(candidates)}"
        )
    if not items:
        raise SeldError("choosing a threshold needs labelled recordings (the validation folds have none)")
    classes = model.meta.class_set_obj()
    predicted = yield from predict_labelled(model, items, rotations=rotations, what="choosing a threshold")
    by_threshold: dict[float, float] = {}
    all_scores: dict[float, SeldScores] = {}
    for done, t in enumerate(values, start=1):
        scorer = SeldScorer("dcase2020", n_classes=classes)
        for one in predicted:
            pred = one.result.prediction
            scorer.update(
                one.reference, prediction_to_table(pred, t), n_frames=pred.n_frames, name=one.item.name
            )
        all_scores[t] = scorer.result()
        by_threshold[t] = float(all_scores[t].SELD)
        yield Progress(done, len(values), f"threshold {t:.2f}")
    best = _best(by_threshold)
    n_rot = predicted[0].result.prediction.rotations if predicted else 1
    return ThresholdChoice(best, all_scores[best], by_threshold, len(predicted), n_rot)
