"""``seld score REF PRED``: DCASE SELD metrics (ER, F, LE, LR, SELD) of label CSV files.

REF and PRED are two label files or two folders. Folders are searched recursively for
``*.csv`` files, which are paired by file name; a reference without a prediction is scored
against an empty prediction and a prediction without a reference is ignored (both with a
warning on stderr). Rows at or past the clip length are not scored and are counted in a
warning. The counting rules are in ``docs/METRICS.md``.

Label files are refused, never guessed at: a class index outside the scored classes (the
metric's 14 or 13 unless ``--classes`` says otherwise), a 6-column file whose format its
rows do not settle (``--label-format``, ``--ref-format``, ``--pred-format``), or any malformed
row ends with ``seld: error: <file>, line N: <problem>`` and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.common.errors import LabelError, SeldError
from core.labels.dcase_csv import FORMATS
from core.metrics.report import write_csv_report
from core.metrics.seld import (
    DEFAULT_CLASSES,
    DEFAULT_METRIC,
    DEFAULT_N_FRAMES,
    MAX_CLASSES,
    METRICS,
    SeldScores,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score SELD predictions against reference labels (DCASE ER, F, LE, LR, SELD)",
        description="Compute the DCASE Task 3 SELD metrics of predicted label CSVs against reference "
        "label CSVs: location-sensitive error rate ER and F-score F (20 degree threshold), "
        "class-sensitive localization error LE and recall LR, and SELD = mean(ER, 1-F, LE/180, 1-LR), "
        "over 1 s segments. REF and PRED are two files or two folders (CSV files paired by name; "
        "sub-folders are searched). Predictions may be polar (5 columns) or Cartesian (6 columns); "
        "a 6-column file is read as Cartesian or as polar with distance only when its rows settle it.",
    )
    p.add_argument("ref", type=Path, metavar="REF", help="reference label CSV, or a folder of them")
    p.add_argument("pred", type=Path, metavar="PRED", help="predicted label CSV, or a folder of them")
    p.add_argument(
        "--metric",
        choices=METRICS,
        default=DEFAULT_METRIC,
        help="dcase2020: official DCASE 2020 scorer, micro average (default); "
        "dcase2022: official DCASE 2022/2023 scorer, class-wise (macro) average",
    )
    p.add_argument(
        "--frames",
        type=_frames_arg,
        default=None,
        metavar="N",
        help=f"clip length in 100 ms label frames; rows at or past it are not scored (a warning counts them) (default: "
        f"{DEFAULT_N_FRAMES} for dcase2020; for dcase2022 the official rule, the last reference frame "
        "rounded up to whole seconds)",
    )
    p.add_argument(
        "--classes",
        default=None,
        metavar="SET|N",
        help="class set (dcase2020, dcase2021, starss) or number of classes; a class index outside it is "
        f"an error (default: {DEFAULT_CLASSES['dcase2020']} classes for dcase2020, "
        f"{DEFAULT_CLASSES['dcase2022']} for dcase2022)",
    )
    fmt_names = tuple(FORMATS)
    p.add_argument(
        "--label-format",
        choices=fmt_names,
        default=None,
        metavar="FMT",
        help=f"format of the REF and PRED label files ({', '.join(fmt_names)}); default: by the column "
        "count, and for 6 columns by the rows (Cartesian x,y,z or polar with distance; ambiguous files "
        "are refused)",
    )
    p.add_argument(
        "--ref-format",
        choices=fmt_names,
        default=None,
        metavar="FMT",
        help="format of the REF files alone (overrides --label-format)",
    )
    p.add_argument(
        "--pred-format",
        choices=fmt_names,
        default=None,
        metavar="FMT",
        help="format of the PRED files alone (overrides --label-format), e.g. dcase2020-xyz for "
        "Cartesian predictions beside polar references",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument(
        "--csv",
        type=Path,
        default=None,
        metavar="OUT",
        help="also write overall, per-class and per-file rows",
    )
    p.set_defaults(func=run)


def _frames_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of frames") from None
    if value < 1:
        raise argparse.ArgumentTypeError("the number of frames must be at least 1")
    return value


def _warn(message: str) -> None:
    print(f"seld score: warning: {message}", file=sys.stderr)


def _class_arg(value: str | None) -> Any:
    """``None``, a class count or a :class:`~core.labels.classes.ClassSet` from ``--classes``."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        count = int(text)
        if count < 1:
            raise SeldError("--classes: the number of classes must be at least 1")
        if count > MAX_CLASSES:
            raise SeldError(f"--classes: the number of classes must be at most {MAX_CLASSES}")
        return count
    from core.labels.classes import get_class_set

    return get_class_set(text)


def _csv_files(folder: Path) -> dict[str, Path]:
    """Label CSVs under ``folder`` (recursively) by file name; duplicate names are an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() != ".csv" or path.name.startswith("."):
            continue
        if path.name in found:
            raise SeldError(
                f"two label files are named {path.name!r} ({found[path.name]} and {path}); "
                "files are matched by name, so names must be unique",
                folder,
            )
        found[path.name] = path
    return found


def pair_files(ref: Path, pred: Path) -> list[tuple[str, Path, Path | None]]:
    """``(name, reference, prediction or None)`` for every reference file to score.

    Warns on stderr about references without a prediction and predictions without a
    reference; raises :class:`SeldError` for missing paths or a file/folder mix.
    """
    if not ref.exists():
        raise SeldError("no such file or folder (REF)", ref)
    if not pred.exists():
        raise SeldError("no such file or folder (PRED)", pred)
    if ref.is_dir() != pred.is_dir():
        kind = ("a folder", "a file") if ref.is_dir() else ("a file", "a folder")
        raise SeldError(f"REF {ref} is {kind[0]} but PRED {pred} is {kind[1]}; give two files or two folders")
    if not ref.is_dir():
        return [(ref.name, ref, pred)]
    refs = _csv_files(ref)
    if not refs:
        raise SeldError("no .csv label files in this folder", ref)
    preds = _csv_files(pred)
    pairs: list[tuple[str, Path, Path | None]] = []
    for name in sorted(refs):
        match = preds.get(name)
        if match is None:
            _warn(f"no prediction for {name}; scored as an empty prediction")
        pairs.append((name, refs[name], match))
    for name in sorted(preds.keys() - refs.keys()):
        _warn(f"prediction {preds[name]} has no reference; ignored")
    return pairs


def _read(
    path: Path,
    side: str,
    fmt: str | None,
    shared_fmt: bool,
    classes: Any,
    default_classes: bool,
    metric: str,
) -> Any:
    """Read one label file for scoring; refusals get the command line's advice."""
    from core.labels.dcase_csv import AmbiguousFormatError, ClassIndexError, ColumnCountError, read_labels

    option = "--ref-format" if side == "REF" else "--pred-format"
    try:
        return read_labels(path, fmt=fmt, classes=classes)
    except AmbiguousFormatError as err:
        names = " or ".join(f"{option} {c}" for c in err.candidates)
        raise LabelError(
            f"{err.reason}; name the format with {names} (--label-format sets REF and PRED)",
            err.path,
            err.line,
        ) from None
    except ClassIndexError as err:
        if default_classes:
            advice = (
                f"--metric {metric} scores {classes} classes unless --classes gives a class count or set "
                "(dcase2020, dcase2021, starss)"
            )
        else:
            advice = "check --classes"
        raise LabelError(f"{err.problem}; {advice}", err.path, err.line) from None
    except ColumnCountError as err:
        if not shared_fmt:
            raise
        raise LabelError(
            f"{err.problem} (--label-format applies to REF and PRED; --ref-format and --pred-format set one side)",
            err.path,
            err.line,
        ) from None


def score_paths(
    ref: Path,
    pred: Path,
    metric: str = DEFAULT_METRIC,
    classes: Any = None,
    n_frames: int | None = None,
    label_format: str | None = None,
    ref_format: str | None = None,
    pred_format: str | None = None,
) -> SeldScores:
    """Read and score REF against PRED (two files or two folders); see :func:`pair_files`.

    ``classes``: a class set or count (``None``: the metric's, 14 or 13); a class index
    outside it is refused with file and line. ``label_format`` is the format of every
    file; ``ref_format`` / ``pred_format`` override it for one side (``None``: detected).
    """
    from core.labels.table import LabelTable
    from core.metrics.seld import SeldScorer

    scorer = SeldScorer(metric, n_classes=classes, n_frames=n_frames)
    bound = classes if classes is not None else scorer.n_classes

    def read(path: Path, side: str, own_format: str | None) -> Any:
        shared = own_format is None and label_format is not None
        return _read(path, side, own_format or label_format, shared, bound, classes is None, scorer.metric)

    for name, ref_path, pred_path in pair_files(ref, pred):
        ref_table = read(ref_path, "REF", ref_format)
        pred_table = read(pred_path, "PRED", pred_format) if pred_path is not None else LabelTable()
        scorer.update(ref_table, pred_table, name=name)
    return scorer.result()


def past_clip_warnings(scores: SeldScores, frames_given: bool, limit: int = 10) -> list[str]:
    """Warning lines about rows at or past the clip length (not scored), with a ``--frames`` hint."""
    late = [f for f in scores.per_file if f.ref_past_clip or f.pred_past_clip]
    if not late:
        return []

    def rows(n: int, what: str) -> str:
        return f"{n} {what} row{'s' if n != 1 else ''}"

    lines = []
    for f in late[:limit]:
        parts = [
            rows(n, w) for n, w in ((f.ref_past_clip, "reference"), (f.pred_past_clip, "prediction")) if n
        ]
        lines.append(
            f"{f.name}: {' and '.join(parts)} at or past the clip end (frame {f.n_frames}; the last row is at "
            f"frame {f.last_frame}) {'is' if sum((f.ref_past_clip, f.pred_past_clip)) == 1 else 'are'} not scored"
        )
    if len(late) > limit:
        rest = late[limit:]
        lines.append(
            f"... and {len(rest)} more files with rows past the clip end "
            f"({sum(f.ref_past_clip for f in rest)} reference, {sum(f.pred_past_clip for f in rest)} prediction rows)"
        )
    needed = max(f.last_frame for f in late) + 1
    if frames_given:
        rule = "the clip length is --frames"
    elif scores.metric == "dcase2020":
        rule = f"dcase2020 clips are {DEFAULT_N_FRAMES} frames (60 s) unless --frames says otherwise"
    else:
        rule = (
            "the dcase2022 clip ends at the last reference frame rounded up to whole seconds (official rule)"
        )
    lines.append(
        f"{rule}; if the clips are longer, give --frames N (--frames {needed} scores every row here)"
    )
    return lines


def _json_object(scores: SeldScores) -> dict[str, Any]:
    data = scores.as_dict()
    out: dict[str, Any] = {
        "metric": data.pop("metric"),
        "ER": data.pop("ER"),
        "F": data.pop("F"),
        "LE": data.pop("LE"),
        "LR": data.pop("LR"),
        "SELD": data.pop("SELD"),
        "files": data.pop("n_files"),
    }
    out.update(data)
    return out


def format_report(scores: SeldScores) -> str:
    """Readable tables: overall scores, counters and the per-class breakdown."""
    s = scores
    average = "micro average" if s.metric == "dcase2020" else "class-wise (macro) average"
    lines = [
        f"SELD scores ({s.metric}, {average}): {s.n_files} file{'s' if s.n_files != 1 else ''}, "
        f"{s.n_segments} segments of 1 s, {s.n_classes} classes",
        f"  ER {s.ER:.4f}   F {s.F:.4f} ({100 * s.F:.1f} %)   LE {s.LE:.2f} deg   "
        f"LR {s.LR:.4f} ({100 * s.LR:.1f} %)   SELD {s.SELD:.4f}",
        f"  Nref {s.Nref}  Nsys {s.Nsys}  TP {s.TP}  FP {s.FP}  FN {s.FN}"
        + (f"  FP_spatial {s.FP_spatial}" if s.metric == "dcase2022" else "")
        + f"  S {s.S}  D {s.D}  I {s.I}  DE_TP {s.DE_TP}",
        "",
        f"{'class':>5}  {'name':<18} {'ER':>7} {'F':>7} {'LE':>7} {'LR':>7} {'SELD':>7} "
        f"{'Nref':>6} {'Nsys':>6} {'TP':>6} {'FP':>6} {'FN':>6}",
    ]
    for c in s.per_class:
        lines.append(
            f"{c.cls:>5}  {c.name[:18]:<18} {c.ER:7.4f} {c.F:7.4f} {c.LE:7.2f} {c.LR:7.4f} {c.SELD:7.4f} "
            f"{c.Nref:>6} {c.Nsys:>6} {c.TP:>6} {c.FP:>6} {c.FN:>6}"
        )
    if s.metric == "dcase2022":
        lines.append("(class ER is the overall ER, as in the official class-wise results)")
    if s.n_files > 1:
        lines.append("per-file scores: use --json or --csv OUT")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    classes = _class_arg(args.classes)
    scores = score_paths(
        args.ref,
        args.pred,
        metric=args.metric,
        classes=classes,
        n_frames=args.frames,
        label_format=args.label_format,
        ref_format=args.ref_format,
        pred_format=args.pred_format,
    )
    for line in past_clip_warnings(scores, frames_given=args.frames is not None):
        _warn(line)
    if args.csv is not None:
        write_csv_report(scores, args.csv)
    if args.json:
        print(json.dumps(_json_object(scores)))
    else:
        print(format_report(scores))
    if args.csv is not None:
        print(f"seld score: wrote {args.csv}", file=sys.stderr)
    return 0
