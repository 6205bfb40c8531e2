"""SELD evaluation metrics of DCASE Task 3: ER, F, LE, LR and the SELD score.

Two scorers are implemented, selected by name:

``"dcase2020"`` (default)
    The official DCASE 2020 Task 3 scorer (``seld-dcase2020``,
    ``metrics/SELD_evaluation_metrics.py``, polar path): 1 s segments of 10 label frames,
    one count per class and segment, location-aware detection with a 20 degree threshold,
    class-aware localization, micro averaging over all files.

``"dcase2022"``
    The official DCASE 2022 / 2023 scorer (``seld-dcase2022``, ``average='macro'``): the
    same segments but counts per reference track, Hungarian track association, and the
    F, LE, LR and SELD scores averaged over classes.

The counting rules are written out in ``docs/METRICS.md``; this module reproduces the
official operation order (angles are converted with ``* np.pi / 180`` first, distances
are computed with numpy in float64, sums are accumulated in the official order) so
that the scores agree with the official code to the last bits.

Typical use::

    scorer = SeldScorer("dcase2020")
    for ref, pred, name in files:
        scorer.update(ref, pred, name=name)
    scores = scorer.result()
    print(scores.ER, scores.F, scores.LE, scores.LR, scores.SELD)

Class indices are bounded by the class count (by default the metric's: 14 for
``dcase2020``, 13 for ``dcase2022``) and nothing is allocated by the size of a frame
index: only segments that hold rows are visited.

The module is GUI-free and prints nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.common.errors import LabelError, SeldError
from core.labels.classes import ClassSet
from core.labels.table import LabelRow, LabelTable
from core.spatial.directions import distance_rad, xyz_to_azel

METRICS: tuple[str, ...] = ("dcase2020", "dcase2022")
"""Names of the implemented scorers."""

DEFAULT_METRIC = "dcase2020"

DOA_THRESHOLD_DEG = 20.0
"""A detection is location-correct when its average angular error is at most this."""

SEGMENT_FRAMES = 10
"""Label frames (100 ms each) per scoring segment: 1 s segments."""

DEFAULT_N_FRAMES = 600
"""Clip length in label frames assumed by the DCASE 2020 scorer (60 s clips)."""

EPS: float = float(np.finfo(np.float64).eps)
"""The ``eps`` of the official code, guarding every division."""

UNDEFINED = float("nan")
"""The value of a score that has no definition (a dcase2020 per-class ER or SELD of a class
without reference events); see :func:`score_text` and :func:`score_cell` to show it."""

UNDEFINED_TEXT = "n/a"
"""How text tables show an undefined score."""

DEFAULT_CLASSES: dict[str, int] = {"dcase2020": 14, "dcase2022": 13}
"""Class count scored when none is given: TAU-NIGENS 2020 has 14 classes, STARSS22/23 has
13. A class index outside it is an error (give the class count or set to score more)."""

MAX_CLASSES = 10_000
"""The largest class count a scorer accepts (the counters are arrays of this length)."""

# cls -> frame -> (k, 2) array of [azimuth, elevation] in radians, frames ascending,
# rows of a frame in file order.
_Segment = dict[int, dict[int, np.ndarray]]


# --------------------------------------------------------------------------- distances


def _assign(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Hungarian assignment of a cost matrix (scipy.optimize is imported on first use: ~0.5 s)."""
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(cost)


def _cost_matrix(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(n_gt, n_pred) matrix of angular distances in degrees; inputs (k, 2) in radians."""
    return distance_rad(gt[:, None, 0], gt[:, None, 1], pred[None, :, 0], pred[None, :, 1])


# --------------------------------------------------------------------------- segmentation


def _n_segments(n_frames: int) -> int:
    """Segments of a clip of ``n_frames`` label frames: ``ceil(n_frames / 10)``."""
    return -(-n_frames // SEGMENT_FRAMES)


SegmentRows = dict[int, dict[int, dict[int, list[LabelRow]]]]
"""Label rows by segment, class and frame (:func:`segment_rows`)."""


def segment_rows(table: LabelTable, n_frames: int) -> tuple[SegmentRows, int]:
    """The rows of ``table`` by segment, class and frame, as the scorers group them; and the
    number of rows at or past the clip end ``n_frames``.

    Only segments that hold a row are returned (by segment index): an empty segment counts
    nothing but itself, so nothing is allocated by the clip length or by the largest frame
    index. Rows at frames outside ``[0, n_frames)`` are left out. Frames are in ascending
    order and the rows of one frame and class keep their file order (the track column is
    not used), as in the official ``segment_labels``.
    """
    grouped: SegmentRows = {}
    past = 0
    for row in sorted(table.rows, key=lambda r: r.frame):  # stable: file order within a frame
        if row.frame < 0 or row.frame >= n_frames:
            past += row.frame >= n_frames
            continue
        seg = grouped.setdefault(row.frame // SEGMENT_FRAMES, {})
        seg.setdefault(row.cls, {}).setdefault(row.frame, []).append(row)
    return grouped, past


def frame_radians(frames: dict[int, list[LabelRow]]) -> dict[int, np.ndarray]:
    """Each frame's rows as a ``(k, 2)`` array of azimuth/elevation in radians (``* np.pi / 180``,
    as the official code converts degrees): the input of :func:`decide_dcase2020`."""
    return {
        frame: np.array([(r.azimuth, r.elevation) for r in rows], dtype=np.float64) * np.pi / 180
        for frame, rows in frames.items()
    }


def _segments(table: LabelTable, n_frames: int) -> tuple[dict[int, _Segment], int]:
    """:func:`segment_rows` with each frame's directions in radians (:func:`frame_radians`)."""
    grouped, past = segment_rows(table, n_frames)
    segments = {
        index: {cls: frame_radians(frames) for cls, frames in seg.items()} for index, seg in grouped.items()
    }
    return segments, past


def _paired(ref: dict[int, _Segment], pred: dict[int, _Segment]) -> list[tuple[_Segment, _Segment]]:
    """``(reference, prediction)`` of every segment that holds a row, segments ascending."""
    return [(ref.get(i, {}), pred.get(i, {})) for i in sorted(ref.keys() | pred.keys())]


# --------------------------------------------------------------------------- counting


@dataclass
class _Tally:
    """Raw counters of one file (or of the whole run), per class where that makes sense."""

    n_classes: int
    nref: np.ndarray = field(init=False)
    nsys: np.ndarray = field(init=False)
    tp: np.ndarray = field(init=False)
    fp: np.ndarray = field(init=False)
    fn: np.ndarray = field(init=False)
    fp_spatial: np.ndarray = field(init=False)
    de_tp: np.ndarray = field(init=False)
    de_fn: np.ndarray = field(init=False)
    de_sum: np.ndarray = field(init=False)
    de_total: float = 0.0
    S: int = 0
    D: int = 0
    I: int = 0  # noqa: E741 - the name of the official counter
    n_segments: int = 0
    de_log: list[tuple[int, float]] = field(default_factory=list)

    _INT_FIELDS = ("nref", "nsys", "tp", "fp", "fn", "fp_spatial", "de_tp", "de_fn")

    def __post_init__(self) -> None:
        for name in self._INT_FIELDS:
            setattr(self, name, np.zeros(self.n_classes, dtype=np.int64))
        self.de_sum = np.zeros(self.n_classes, dtype=np.float64)

    def add_de(self, cls: int, value: float) -> None:
        """Record one localization error term (a segment average), in scoring order."""
        self.de_sum[cls] += value
        self.de_total += value
        self.de_log.append((cls, value))

    def merge(self, other: _Tally) -> None:
        """Add ``other``'s counts (same class count); its error terms are replayed in order
        (official sums)."""
        for name in self._INT_FIELDS:
            getattr(self, name)[:] += getattr(other, name)
        for cls, value in other.de_log:
            self.de_sum[cls] += value
            self.de_total += value
        self.S += other.S
        self.D += other.D
        self.I += other.I
        self.n_segments += other.n_segments


OUTCOMES_2020: tuple[str, ...] = ("tp", "mislocated", "unaligned", "missed", "false_alarm")
"""What the DCASE 2020 counting decides for one class in one segment (:func:`decide_dcase2020`)."""


def decide_dcase2020(
    gt_frames: dict[int, np.ndarray] | None, pr_frames: dict[int, np.ndarray] | None, thr: float
) -> tuple[str, float | None]:
    """The official DCASE 2020 decision for one class in one segment, and its DOA error.

    ``gt_frames`` / ``pr_frames`` map each frame of the segment where the class is active in
    the reference / prediction to its ``(k, 2)`` azimuth/elevation array in radians (``None``:
    not active in the segment). Returns one of :data:`OUTCOMES_2020` with the segment's
    average angular error in degrees (``None`` when there is none):

    * ``"tp"``: active in both, average error over the common frames ``<= thr``: TP, DE_TP;
    * ``"mislocated"``: active in both, average error ``> thr``: FN (not FP), DE_TP;
    * ``"unaligned"``: active in both but in no common frame: FN (not FP), DE_FN;
    * ``"missed"``: reference only: FN, DE_FN;
    * ``"false_alarm"``: prediction only: FP.

    :func:`_count_dcase2020` and the error inspector (:mod:`core.metrics.errors`) both count
    through this function, so the inspector's entries add up to the official counts.
    """
    if gt_frames is None:
        return "false_alarm", None
    if pr_frames is None:
        return "missed", None
    total: Any = 0
    n_match = 0
    for frame, gt in gt_frames.items():
        pr = pr_frames.get(frame)
        if pr is None:
            continue
        n_match += 1
        if gt.shape[0] == 1 and pr.shape[0] == 1:
            total += distance_rad(gt[0][0], gt[0][1], pr[0][0], pr[0][1])
        else:
            cost = _cost_matrix(gt, pr)
            rows, cols = _assign(cost)
            total += cost[rows, cols].sum()
    if n_match == 0:
        return "unaligned", None
    avg = total / n_match
    return ("tp" if avg <= thr else "mislocated"), float(avg)


def _count_dcase2020(pairs: list[tuple[_Segment, _Segment]], tally: _Tally, thr: float) -> None:
    """Official DCASE 2020 counting: one decision per class and segment (non-empty segments;
    an empty one adds nothing)."""
    for gt_seg, pr_seg in pairs:
        loc_fp = loc_fn = 0
        for cls in sorted(gt_seg.keys() | pr_seg.keys()):
            outcome, avg = decide_dcase2020(gt_seg.get(cls), pr_seg.get(cls), thr)
            if outcome != "false_alarm":
                tally.nref[cls] += 1
            if outcome != "missed":
                tally.nsys[cls] += 1
            if avg is not None:
                tally.add_de(cls, avg)
                tally.de_tp[cls] += 1
            if outcome == "tp":
                tally.tp[cls] += 1
            elif outcome == "false_alarm":
                loc_fp += 1
                tally.fp[cls] += 1
            else:
                loc_fn += 1
                tally.fn[cls] += 1
                if avg is None:
                    tally.de_fn[cls] += 1
        tally.S += min(loc_fp, loc_fn)
        tally.D += max(0, loc_fn - loc_fp)
        tally.I += max(0, loc_fp - loc_fn)


def _count_dcase2022(pairs: list[tuple[_Segment, _Segment]], tally: _Tally, thr: float) -> None:
    """Official DCASE 2022/2023 counting: per reference track, Hungarian association.

    The "track" of a reference row is its position among the rows of its class in the
    frame (file order), as in the official code; the track column of the file is unused.
    """
    for gt_seg, pr_seg in pairs:
        loc_fp = loc_fn = 0
        for cls in sorted(gt_seg.keys() | pr_seg.keys()):
            in_gt = cls in gt_seg
            in_pr = cls in pr_seg
            nb_gt = max(a.shape[0] for a in gt_seg[cls].values()) if in_gt else 0
            nb_pr = max(a.shape[0] for a in pr_seg[cls].values()) if in_pr else 0
            tally.nref[cls] += nb_gt
            tally.nsys[cls] += nb_pr
            if in_gt and in_pr:
                gt_frames, pr_frames = gt_seg[cls], pr_seg[cls]
                track_dist: dict[int, list[Any]] = {}
                for frame, gt in gt_frames.items():
                    pr = pr_frames.get(frame)
                    if pr is None:
                        continue
                    cost = _cost_matrix(gt, pr)
                    rows, cols = _assign(cost)
                    for r, c in zip(rows, cols, strict=True):
                        track_dist.setdefault(int(r), []).append(cost[r, c])
                if not track_dist:
                    # Official quirk: the miss is counted with the number of predicted tracks.
                    loc_fn += nb_pr
                    tally.fn[cls] += nb_pr
                    tally.de_fn[cls] += nb_pr
                else:
                    for dists in track_dist.values():
                        avg = sum(dists) / len(dists)
                        tally.add_de(cls, float(avg))
                        tally.de_tp[cls] += 1
                        if avg <= thr:
                            tally.tp[cls] += 1
                        else:
                            loc_fp += 1
                            tally.fp_spatial[cls] += 1
                    if nb_pr > nb_gt:
                        loc_fp += nb_pr - nb_gt
                        tally.fp[cls] += nb_pr - nb_gt
                    elif nb_pr < nb_gt:
                        loc_fn += nb_gt - nb_pr
                        tally.fn[cls] += nb_gt - nb_pr
                        tally.de_fn[cls] += nb_gt - nb_pr
            elif in_gt:
                loc_fn += nb_gt
                tally.fn[cls] += nb_gt
                tally.de_fn[cls] += nb_gt
            else:
                loc_fp += nb_pr
                tally.fp[cls] += nb_pr
        tally.S += min(loc_fp, loc_fn)
        tally.D += max(0, loc_fn - loc_fp)
        tally.I += max(0, loc_fp - loc_fn)


_COUNTERS = {"dcase2020": _count_dcase2020, "dcase2022": _count_dcase2022}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, kw_only=True)
class _Metrics:
    """The four metrics, the SELD score and the per-class counters behind them."""

    ER: float
    F: float
    LE: float
    LR: float
    SELD: float
    Nref: int
    Nsys: int
    TP: int
    FP: int
    FN: int
    FP_spatial: int
    DE_TP: int
    DE_FN: int
    DE_sum: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class ClassScores(_Metrics):
    """Scores and counters of one class.

    ``dcase2020``: the class's own counts through the 2020 formulas; its ER is
    ``(FN + FP) / Nref`` (a single class never has a substitution: in one segment it is
    either missed, or inserted, or neither). A class without reference events
    (``Nref == 0``) has no error rate: its ``ER`` and ``SELD`` are undefined, NaN here
    (:attr:`defined` is False; :meth:`as_dict` gives ``None``, :func:`score_text` "n/a"),
    never ``FP / eps``. ``dcase2022``: the official class-wise results; ER is the overall
    ER (the official scorer has no per-class ER) and SELD is the class's SELD score whose
    mean over classes is the overall SELD score (always defined, as in the official code).
    """

    cls: int
    name: str

    @property
    def defined(self) -> bool:
        """Whether every score of the class is defined (``False`` for a dcase2020 class without references)."""
        return not any(math.isnan(v) for v in (self.ER, self.F, self.LE, self.LR, self.SELD))

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict; undefined scores (NaN) are ``None`` (``null`` in JSON)."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, kw_only=True)
class _Scores(_Metrics):
    """:class:`_Metrics` with the segment-level substitutions, deletions and insertions."""

    S: int
    D: int
    I: int  # noqa: E741


@dataclass(frozen=True, kw_only=True)
class FileScores(_Scores):
    """Scores of one file alone (the metric's formulas applied to that file's counts).

    ``n_frames`` is the clip length the file was scored with; ``ref_past_clip`` and
    ``pred_past_clip`` count the reference and predicted rows at or past it (not scored);
    ``last_frame`` is the largest frame index of either table (-1 when both are empty).
    """

    name: str
    n_frames: int
    n_segments: int
    ref_past_clip: int = 0
    pred_past_clip: int = 0
    last_frame: int = -1


@dataclass(frozen=True, kw_only=True)
class SeldScores(_Scores):
    """Overall scores of a scoring run, with the per-class and per-file breakdowns.

    ``ER`` (error rate), ``F`` (F-score) are location-sensitive detection scores; ``LE``
    (localization error, degrees) and ``LR`` (localization recall; for ``dcase2020`` an
    F-like score, see ``docs/METRICS.md``) are class-sensitive localization scores;
    ``SELD = mean(ER, 1 - F, LE / 180, 1 - LR)``. The integer fields are the counters
    summed over all files (``Nref``, ``Nsys``: reference / system counts; ``TP``, ``FP``,
    ``FN``; ``FP_spatial``: location-wrong detections, ``dcase2022`` only; ``S``, ``D``,
    ``I``: substitutions, deletions, insertions; ``DE_TP``: detections that got a DOA
    error, ``DE_sum`` the sum of those errors; ``DE_FN``: references without one).
    """

    metric: str
    n_classes: int
    n_files: int
    n_segments: int
    per_class: tuple[ClassScores, ...] = ()
    per_file: tuple[FileScores, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (per-class and per-file entries as lists of dicts)."""
        out = asdict(self)
        out["per_class"] = [c.as_dict() for c in self.per_class]
        out["per_file"] = [f.as_dict() for f in self.per_file]
        return out


def _scores_2020(t: _Tally) -> tuple[float, float, float, float, float]:
    """The official 2020 formulas on the summed counters of ``t``."""
    nref, nsys, tp, de_tp = int(t.nref.sum()), int(t.nsys.sum()), int(t.tp.sum()), int(t.de_tp.sum())
    return _formulas_2020(t.S, t.D, t.I, nref, nsys, tp, de_tp, t.de_total)


def _formulas_2020(
    S: int,
    D: int,
    I: int,
    nref: int,
    nsys: int,
    tp: int,
    de_tp: int,
    de_sum: float,  # noqa: E741
) -> tuple[float, float, float, float, float]:
    er = (S + D + I) / float(nref + EPS)
    prec = float(tp) / float(nsys + EPS)
    recall = float(tp) / float(nref + EPS)
    f = 2 * prec * recall / (prec + recall + EPS)
    le = de_sum / float(de_tp + EPS) if de_tp else 180.0
    de_prec = float(de_tp) / float(nsys + EPS)
    de_recall = float(de_tp) / float(nref + EPS)
    lr = 2 * de_prec * de_recall / (de_prec + de_recall + EPS)
    seld = float(np.mean([er, 1 - f, le / 180, 1 - lr]))
    return float(er), float(f), float(le), float(lr), seld


def _scores_2022(t: _Tally) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The official 2022 macro formulas: overall ER and per-class F, LE, LR, SELD."""
    tp, fp, fn = t.tp.astype(np.float64), t.fp.astype(np.float64), t.fn.astype(np.float64)
    fp_sp = t.fp_spatial.astype(np.float64)
    de_tp, de_fn = t.de_tp.astype(np.float64), t.de_fn.astype(np.float64)
    er = (t.S + t.D + t.I) / (t.nref.astype(np.float64).sum() + EPS)
    f = tp / (EPS + tp + fp_sp + 0.5 * (fp + fn))
    le = t.de_sum / (de_tp + EPS)
    le[de_tp == 0] = 180.0
    lr = de_tp / (EPS + de_tp + de_fn)
    seld = np.mean([np.repeat(er, t.n_classes), 1 - f, le / 180, 1 - lr], 0)
    return float(er), f, le, lr, seld


def _overall(metric: str, t: _Tally) -> tuple[float, float, float, float, float]:
    if metric == "dcase2020":
        return _scores_2020(t)
    er, f, le, lr, seld = _scores_2022(t)
    return er, float(f.mean()), float(le.mean()), float(lr.mean()), float(seld.mean())


def _counter_fields(t: _Tally) -> dict[str, Any]:
    return {
        "Nref": int(t.nref.sum()),
        "Nsys": int(t.nsys.sum()),
        "TP": int(t.tp.sum()),
        "FP": int(t.fp.sum()),
        "FN": int(t.fn.sum()),
        "FP_spatial": int(t.fp_spatial.sum()),
        "S": int(t.S),
        "D": int(t.D),
        "I": int(t.I),
        "DE_TP": int(t.de_tp.sum()),
        "DE_FN": int(t.de_fn.sum()),
        "DE_sum": float(t.de_total),
    }


def _per_class(metric: str, t: _Tally, names: Sequence[str]) -> tuple[ClassScores, ...]:
    out = []
    if metric == "dcase2022":
        er, f, le, lr, seld = _scores_2022(t)
    for c in range(t.n_classes):
        nref, nsys, tp, fp, fn = (int(x[c]) for x in (t.nref, t.nsys, t.tp, t.fp, t.fn))
        de_tp, de_sum = int(t.de_tp[c]), float(t.de_sum[c])
        if metric == "dcase2020":
            scores = _formulas_2020(0, fn, fp, nref, nsys, tp, de_tp, de_sum)
            if nref == 0:  # (FN + FP) / (0 + eps) is no error rate: undefined, and so is SELD
                scores = (UNDEFINED, *scores[1:4], UNDEFINED)
        else:
            scores = (er, float(f[c]), float(le[c]), float(lr[c]), float(seld[c]))
        out.append(
            ClassScores(
                cls=c,
                name=names[c] if c < len(names) else "",
                ER=scores[0],
                F=scores[1],
                LE=scores[2],
                LR=scores[3],
                SELD=scores[4],
                Nref=nref,
                Nsys=nsys,
                TP=tp,
                FP=fp,
                FN=fn,
                FP_spatial=int(t.fp_spatial[c]),
                DE_TP=de_tp,
                DE_FN=int(t.de_fn[c]),
                DE_sum=de_sum,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- the scorer


def _check_metric(metric: str) -> str:
    key = str(metric).strip().lower()
    if key not in METRICS:
        raise SeldError(f"unknown SELD metric {metric!r} (known: {', '.join(METRICS)})")
    return key


class SeldScorer:
    """Accumulates the counts of many reference/prediction pairs and scores them.

    Parameters
    ----------
    metric:
        ``"dcase2020"`` (default) or ``"dcase2022"``.
    n_classes:
        A :class:`~core.labels.classes.ClassSet` (its size and names), a class count (at most
        :data:`MAX_CLASSES`), or ``None`` for the metric's own count
        (:data:`DEFAULT_CLASSES`: 14 for ``dcase2020``, 13 for ``dcase2022``). A label with a
        class index outside it is an error (a :class:`~core.common.errors.LabelError` naming the
        file and, for rows read from a file, the line). The count only affects the
        per-class table for ``dcase2020``; for ``dcase2022`` it also sets the classes the
        macro averages run over.
    n_frames:
        Default clip length in label frames for :meth:`update`; ``None`` means 600
        (:data:`DEFAULT_N_FRAMES`) for ``dcase2020`` and the official rule for
        ``dcase2022`` (see :meth:`update`).
    doa_threshold:
        Location threshold in degrees (20 in DCASE).

    Nothing is allocated by the size of a frame index: only the segments that hold rows
    cost time or memory, and empty segments are counted.
    """

    def __init__(
        self,
        metric: str = DEFAULT_METRIC,
        n_classes: int | ClassSet | None = None,
        n_frames: int | None = None,
        doa_threshold: float = DOA_THRESHOLD_DEG,
    ) -> None:
        self.metric = _check_metric(metric)
        self.class_names: tuple[str, ...] = ()
        self.n_classes: int
        if isinstance(n_classes, ClassSet):
            self.n_classes = len(n_classes)
            self.class_names = tuple(n_classes.names)
        elif n_classes is None:
            self.n_classes = DEFAULT_CLASSES[self.metric]
        else:
            if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 1:
                raise SeldError(f"the number of classes must be a positive integer, not {n_classes!r}")
            self.n_classes = int(n_classes)
        if self.n_classes > MAX_CLASSES:
            raise SeldError(f"the number of classes must be at most {MAX_CLASSES}, not {self.n_classes}")
        if n_frames is not None:
            _check_frames(n_frames)
        self.n_frames = n_frames
        self.doa_threshold = float(doa_threshold)
        self._total = _Tally(self.n_classes)
        self._files: list[tuple[str, int, _Tally, tuple[int, int, int]]] = []

    @property
    def n_files(self) -> int:
        """Number of files added so far."""
        return len(self._files)

    def clip_frames(self, ref: LabelTable, n_frames: int | None = None) -> int:
        """The clip length in label frames :meth:`update` uses for ``ref``.

        ``n_frames`` if given, else the scorer's default, else 600 for ``dcase2020``; for
        ``dcase2022`` the official rule: the last reference frame index rounded up to a
        whole segment (the official scorer segments up to ``max(reference frame)``,
        which drops the last frame when its index is a multiple of 10); for an empty
        reference, the prediction-free default of 600 frames.
        """
        if n_frames is None:
            n_frames = self.n_frames
        if n_frames is not None:
            return _check_frames(n_frames)
        if self.metric == "dcase2020" or len(ref) == 0:
            return DEFAULT_N_FRAMES
        last = max(r.frame for r in ref.rows)
        return max(0, -(-last // SEGMENT_FRAMES)) * SEGMENT_FRAMES

    def _check_classes(self, table: LabelTable, what: str, name: str) -> None:
        """Refuse a row whose class index is outside ``[0, n_classes)``, with file and line."""
        for row in table.rows:
            if 0 <= row.cls < self.n_classes:
                continue
            where = table.path or name or what
            at = "" if row.line is not None else f" (frame {row.frame})"
            raise LabelError(
                f"class {row.cls}{at} is outside the {self.n_classes} scored classes (0-{self.n_classes - 1}); "
                "give the right class set or class count",
                where,
                row.line,
            )

    def update(
        self, ref: LabelTable, pred: LabelTable, n_frames: int | None = None, name: str = ""
    ) -> FileScores:
        """Add one file: its reference labels ``ref`` and the system output ``pred``.

        ``n_frames`` is the clip length in label frames (100 ms), known from the
        recording; rows at or past it are not scored (the returned :class:`FileScores`
        counts them) and the clip is cut into ``ceil(n_frames / 10)`` segments. Returns
        the file's own scores.
        """
        name = name or ref.path or pred.path or f"file{len(self._files) + 1}"
        self._check_classes(ref, "reference", name)
        self._check_classes(pred, "prediction", name)
        frames = self.clip_frames(ref, n_frames)
        tally = _Tally(self.n_classes)
        ref_segs, ref_past = _segments(ref, frames)
        pred_segs, pred_past = _segments(pred, frames)
        _COUNTERS[self.metric](_paired(ref_segs, pred_segs), tally, self.doa_threshold)
        tally.n_segments += _n_segments(frames)
        self._total.merge(tally)
        tally.de_log = []
        last = max((r.frame for t in (ref, pred) for r in t.rows), default=-1)
        extra = (ref_past, pred_past, last)
        self._files.append((name, frames, tally, extra))
        return self._file_scores(name, frames, tally, extra)

    def _file_scores(self, name: str, frames: int, tally: _Tally, extra: tuple[int, int, int]) -> FileScores:
        er, f, le, lr, seld = _overall(self.metric, tally)
        return FileScores(
            name=name,
            n_frames=frames,
            n_segments=tally.n_segments,
            ref_past_clip=extra[0],
            pred_past_clip=extra[1],
            last_frame=extra[2],
            ER=er,
            F=f,
            LE=le,
            LR=lr,
            SELD=seld,
            **_counter_fields(tally),
        )

    def result(self) -> SeldScores:
        """Scores over every file added so far (micro sums of the counters; for
        ``dcase2022`` then averaged over classes)."""
        total = self._total
        er, f, le, lr, seld = _overall(self.metric, total)
        return SeldScores(
            metric=self.metric,
            n_classes=total.n_classes,
            n_files=len(self._files),
            n_segments=total.n_segments,
            ER=er,
            F=f,
            LE=le,
            LR=lr,
            SELD=seld,
            **_counter_fields(total),
            per_class=_per_class(self.metric, total, self.class_names),
            per_file=tuple(self._file_scores(*item) for item in self._files),
        )


def _check_frames(n_frames: Any) -> int:
    if isinstance(n_frames, bool) or not isinstance(n_frames, int | np.integer) or n_frames < 0:
        raise SeldError(f"the clip length in frames must be a non-negative integer, not {n_frames!r}")
    return int(n_frames)


# --------------------------------------------------------------------------- conveniences


ScoredPair = (
    tuple[LabelTable, LabelTable]
    | tuple[str, LabelTable, LabelTable]
    | tuple[str, LabelTable, LabelTable, int | None]
)
"""What :func:`score_tables` scores: ``(ref, pred)``, ``(name, ref, pred)`` or ``(name, ref, pred, n_frames)``."""


def score_tables(
    pairs: Iterable[ScoredPair],
    metric: str = DEFAULT_METRIC,
    n_classes: int | ClassSet | None = None,
    n_frames: int | None = None,
    doa_threshold: float = DOA_THRESHOLD_DEG,
) -> SeldScores:
    """Score ``(ref, pred)``, ``(name, ref, pred)`` or ``(name, ref, pred, n_frames)`` items together.

    This is the dataset-wide scoring of a batch: the counters of all files are summed (micro
    average) and the overall, per-class and per-file scores returned, for ``"dcase2020"`` or
    the ``"dcase2022"`` macro variant, exactly as ``seld score`` computes them over two
    folders of the same files. An item's own ``n_frames`` (the recording's length in label
    frames) is its clip length; ``None`` there, or an item without it, takes ``n_frames``; when
    that is ``None`` too, the metric's rule applies (600 frames for ``dcase2020``, the last
    reference frame rounded up to a second for ``dcase2022``); see :class:`SeldScorer`.
    A name defaults to the table's path, else ``file<i>``.
    """
    scorer = SeldScorer(metric, n_classes=n_classes, n_frames=n_frames, doa_threshold=doa_threshold)
    for item in pairs:
        frames: int | None = None
        name: str = ""
        if len(item) == 4:
            name, ref, pred, frames = item
        elif len(item) == 3:
            name, ref, pred = item
        else:
            ref, pred = item
        scorer.update(ref, pred, n_frames=frames, name=str(name))
    return scorer.result()


# --------------------------------------------------------------------------- showing scores


def score_text(value: float, spec: str = ".4f", undefined: str = UNDEFINED_TEXT) -> str:
    """``value`` formatted with ``spec`` (``".4f"``, ``"7.2f"``, ...) for a text table; an undefined
    score (NaN, see :data:`UNDEFINED`) is ``undefined`` ("n/a"), right-aligned to the spec's width."""
    if isinstance(value, float) and math.isnan(value):
        width = spec.split(".")[0].lstrip("<>^=+- 0")
        return undefined.rjust(int(width)) if width.isdigit() else undefined
    return format(value, spec)


def score_cell(value: Any) -> Any:
    """A score for a CSV cell: an undefined score (NaN) is the empty string, any other value itself."""
    return "" if isinstance(value, float) and math.isnan(value) else value


def table_from_arrays(sed: np.ndarray, doa: np.ndarray, threshold: float = 0.5) -> LabelTable:
    """Frame-wise SED activity and DOA arrays as a :class:`LabelTable`.

    ``sed`` is ``(T, C)`` (booleans or probabilities; active where ``sed > threshold``).
    ``doa`` is either ``(T, C, 2)`` azimuth/elevation in degrees, ``(T, C, 3)`` Cartesian
    vectors, or the baseline's flat layouts ``(T, 2C)`` (all azimuths, then all
    elevations) and ``(T, 3C)`` (all x, all y, all z). One row per active frame and
    class, track 0, frames ascending then classes ascending.
    """
    sed = np.asarray(sed)
    doa = np.asarray(doa, dtype=np.float64)
    if sed.ndim != 2:
        raise SeldError(f"SED activity must be a (frames, classes) array, got shape {sed.shape}")
    t, c = sed.shape
    if doa.ndim == 2 and doa.shape == (t, 2 * c):
        doa = doa.reshape(t, 2, c).transpose(0, 2, 1)
    elif doa.ndim == 2 and doa.shape == (t, 3 * c):
        doa = doa.reshape(t, 3, c).transpose(0, 2, 1)
    if doa.ndim != 3 or doa.shape[:2] != (t, c) or doa.shape[2] not in (2, 3):
        raise SeldError(
            f"DOA array of shape {doa.shape} does not fit SED activity {sed.shape}: expected "
            f"({t}, {c}, 2|3), ({t}, {2 * c}) or ({t}, {3 * c})"
        )
    frames, classes = np.nonzero(sed > threshold)
    active = doa[frames, classes]
    if doa.shape[2] == 2:
        azimuth, elevation = active[:, 0], active[:, 1]
        vectors: list[tuple[float, float, float] | None] = [None] * len(frames)
    else:
        azimuth, elevation = xyz_to_azel(active)
        vectors = [(float(x), float(y), float(z)) for x, y, z in active.tolist()]
    rows = [
        LabelRow(int(f), int(c), 0, float(a), float(e), xyz=v)
        for f, c, a, e, v in zip(frames, classes, azimuth, elevation, vectors, strict=True)
    ]
    return LabelTable(rows)


def score_arrays(
    ref_sed: np.ndarray,
    ref_doa: np.ndarray,
    pred_sed: np.ndarray,
    pred_doa: np.ndarray,
    metric: str = DEFAULT_METRIC,
    n_frames: int | None = None,
    threshold: float = 0.5,
) -> SeldScores:
    """Score one clip given as frame arrays (see :func:`table_from_arrays` for layouts).

    The class count is the arrays' second dimension; ``n_frames`` defaults to the
    number of frames of the reference arrays.
    """
    ref = table_from_arrays(ref_sed, ref_doa, threshold)
    pred = table_from_arrays(pred_sed, pred_doa, threshold)
    n_cls = int(np.asarray(ref_sed).shape[1])
    if np.asarray(pred_sed).shape[1] != n_cls:
        raise SeldError(f"reference has {n_cls} classes but prediction has {np.asarray(pred_sed).shape[1]}")
    frames = int(np.asarray(ref_sed).shape[0]) if n_frames is None else n_frames
    scorer = SeldScorer(metric, n_classes=n_cls, n_frames=frames)
    scorer.update(ref, pred, name="arrays")
    return scorer.result()
