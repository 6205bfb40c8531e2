"""``seld score REF PRED``: DCASE SELD metrics (ER, F, LE, LR, SELD) of label CSV files.

REF and PRED are two label files or two folders. Folders are searched recursively for
``*.csv`` files, which are paired by file name; a reference without a prediction is scored
against an empty prediction and a prediction without a reference is ignored (both with a
warning on stderr). The counting rules are in ``docs/METRICS.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import SeldError
from core.seld_metrics import DEFAULT_METRIC, DEFAULT_N_FRAMES, METRICS, SeldScores

CSV_COLUMNS = (
    "scope", "name", "ER", "F", "LE", "LR", "SELD",
    "Nref", "Nsys", "TP", "FP", "FN", "FP_spatial", "S", "D", "I", "DE_TP", "DE_FN", "DE_sum",
    "class", "n_frames",
)  # fmt: skip
"""Columns of the ``--csv`` report, in order."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score SELD predictions against reference labels (DCASE ER, F, LE, LR, SELD)",
        description="Compute the DCASE Task 3 SELD metrics of predicted label CSVs against reference "
        "label CSVs: location-sensitive error rate ER and F-score F (20 degree threshold), "
        "class-sensitive localization error LE and recall LR, and SELD = mean(ER, 1-F, LE/180, 1-LR), "
        "over 1 s segments. REF and PRED are two files or two folders (CSV files paired by name; "
        "sub-folders are searched). Predictions may be polar (5 columns) or Cartesian (6 columns).",
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
        help=f"clip length in 100 ms label frames; rows at or past it are ignored (default: "
        f"{DEFAULT_N_FRAMES} for dcase2020; for dcase2022 the official rule, the last reference frame "
        "rounded up to whole seconds)",
    )
    p.add_argument(
        "--classes",
        default=None,
        metavar="SET|N",
        help="class set (dcase2020, dcase2021, starss) or number of classes; default: inferred from the "
        "labels, at least 14 (dcase2020) or 13 (dcase2022)",
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
    """``None``, a class count or a :class:`~core.classes.ClassSet` from ``--classes``."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        count = int(text)
        if count < 1:
            raise SeldError("--classes: the number of classes must be at least 1")
        return count
    from core.classes import get_class_set

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


def score_paths(
    ref: Path,
    pred: Path,
    metric: str = DEFAULT_METRIC,
    classes: Any = None,
    n_frames: int | None = None,
) -> SeldScores:
    """Read and score REF against PRED (two files or two folders); see :func:`pair_files`."""
    from core.classes import ClassSet
    from core.dcase_csv import read_labels
    from core.labels import LabelTable
    from core.seld_metrics import SeldScorer

    class_set = classes if isinstance(classes, ClassSet) else None
    scorer = SeldScorer(metric, n_classes=classes, n_frames=n_frames)
    for name, ref_path, pred_path in pair_files(ref, pred):
        ref_table = read_labels(ref_path, classes=class_set)
        pred_table = read_labels(pred_path, classes=class_set) if pred_path is not None else LabelTable()
        scorer.update(ref_table, pred_table, name=name)
    return scorer.result()


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


def write_csv_report(scores: SeldScores, path: Path) -> None:
    """Write overall, per-class and per-file rows to ``path`` atomically."""
    from core.atomic import atomic_open

    def row(scope: str, name: str, item: Any, **extra: Any) -> dict[str, Any]:
        values = {k: getattr(item, k, "") for k in CSV_COLUMNS[2:19]}
        return {"scope": scope, "name": name, **values, **extra}

    rows = [row("overall", "all", scores)]
    for c in scores.per_class:
        rows.append(row("class", c.name or str(c.cls), c, **{"class": c.cls}))
    for f in scores.per_file:
        rows.append(row("file", f.name, f, n_frames=f.n_frames))
    try:
        with atomic_open(path, "w") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    except OSError as err:
        raise SeldError(f"cannot write the CSV report: {err.strerror or err}", path) from err


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
    scores = score_paths(args.ref, args.pred, metric=args.metric, classes=classes, n_frames=args.frames)
    if args.csv is not None:
        write_csv_report(scores, args.csv)
    if args.json:
        print(json.dumps(_json_object(scores)))
    else:
        print(format_report(scores))
    if args.csv is not None:
        print(f"seld score: wrote {args.csv}", file=sys.stderr)
    return 0
