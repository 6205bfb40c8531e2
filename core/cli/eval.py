"""``seld eval --model PACKAGE --data ROOT --folds 1``: DCASE 2020 SELD metrics of a model on a dataset.

Every recording of the chosen folds is run through the model as ``seld infer`` does
(2 s segments, the package's threshold) and scored against its label file with the
official DCASE 2020 scorer, each file over its own length in label frames. Prints the
overall, per-class and per-file scores; ``--csv OUT`` also writes them (atomically).
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from core.cli.infer import add_rotations_argument, requested_rotations
from core.common.errors import SeldError
from core.common.progress import run_job


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a model package on dataset folds (DCASE 2020 ER, F, LE, LR, SELD)",
        description="Run a model package on the recordings of some folds of a DCASE-layout dataset "
        "(<root>/foa_dev + <root>/metadata_dev, ...) and score the predictions against the labels with the "
        "DCASE 2020 metrics: overall, per class and per file.",
    )
    p.add_argument("--model", type=Path, required=True, metavar="PACKAGE", help="model package or .onnx file")
    p.add_argument("--data", type=Path, required=True, metavar="ROOT", help="dataset folder")
    p.add_argument(
        "--folds", type=_folds_arg, default=[1], metavar="N[,N...]", help="folds to evaluate (default: 1)"
    )
    p.add_argument("--csv", type=Path, default=None, metavar="OUT", help="also write the scores as CSV")
    p.add_argument(
        "--predictions",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write the predicted label CSVs here",
    )
    p.add_argument("--device", default="auto", metavar="auto|cpu|cuda", help="where to run (default: auto)")
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto", help="inference backend")
    p.add_argument(
        "--threshold", type=float, default=None, help="detection threshold (default: the package's)"
    )
    add_rotations_argument(p)
    p.set_defaults(func=run)


def _folds_arg(text: str) -> list[int]:
    try:
        folds = [int(part) for part in text.replace(" ", ",").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of fold numbers (e.g. 1 or 1,2)") from None
    if not folds or any(f < 0 for f in folds):
        raise argparse.ArgumentTypeError("give one or more non-negative fold numbers")
    return folds


def format_files(scores) -> str:
    """The per-file table of a :class:`~core.metrics.seld.SeldScores`."""
    lines = [f"{'file':<36} {'frames':>6} {'ER':>7} {'F':>7} {'LE':>7} {'LR':>7} {'SELD':>7}"]
    for f in scores.per_file:
        lines.append(
            f"{f.name[:36]:<36} {f.n_frames:>6} {f.ER:7.4f} {f.F:7.4f} {f.LE:7.2f} {f.LR:7.4f} {f.SELD:7.4f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from core.cli.infer import rotations_text
    from core.cli.render import ProgressRenderer, show_batch_event
    from core.cli.score import format_report
    from core.inference.evaluate import evaluate_model, labelled_fold_items
    from core.inference.predict import inference_rotations, open_model
    from core.metrics.report import write_csv_report

    if args.threshold is not None and not 0 < args.threshold < 1:
        raise SeldError("--threshold must be between 0 and 1")
    model = open_model(args.model, backend=args.backend, device=args.device)
    meta = model.meta
    rotations = len(inference_rotations(meta, requested_rotations(args)))
    items = labelled_fold_items(args.data, meta.fmt, args.folds)
    print(
        f"seld eval: {meta.describe()} ({model.backend} backend, {rotations_text(rotations)}) on "
        f"{len(items)} recordings of fold(s) "
        f"{', '.join(map(str, args.folds))}",
        file=sys.stderr,
    )
    renderer = ProgressRenderer()
    job = evaluate_model(
        model, items, threshold=args.threshold, predictions_dir=args.predictions, rotations=rotations
    )
    try:
        scores = run_job(job, on_event=functools.partial(show_batch_event, renderer))
    finally:
        renderer.close()
    if args.csv is not None:
        write_csv_report(scores, args.csv)
    print(format_report(scores))
    print()
    print(format_files(scores))
    if args.csv is not None:
        print(f"seld eval: wrote {args.csv}", file=sys.stderr)
    return 0
