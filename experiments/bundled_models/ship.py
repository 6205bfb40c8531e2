"""Ship a training run's best model as a bundled package, with its test-fold scores inside.

    python experiments/bundled_models/ship.py --run RUN --data DATA --out resources/models/foa_crnn.safetensors

1. Reads ``RUN/best.safetensors`` (the best-validation snapshot; or ``--checkpoint``, a
   snapshot of that run chosen on validation data) and writes it with float16 weights (half
   the size; loading casts back to float32).
2. With ``--rotations N``, stores N as the package's test-time rotation set: what the
   "accurate" mode runs (``seld infer --accurate``, the app's "accurate" choice;
   :mod:`core.spatial.rotations`). The default mode runs no rotation.
3. Chooses the detection threshold on the *validation* folds (the run's, or ``--val
   DATA:FOLDS``, repeatable, pooled) (0.30 ... 0.70, the lowest
   SELD error; the paper's 0.5 unless another is better there:
   :func:`core.inference.threshold.choose_threshold`), in the default mode (no rotation), and stores it
   in the package.
4. Scores *that file* on the test folds of the run's configuration (folds the model never
   saw in training or model selection) exactly as ``seld eval`` does by default (no
   rotation, the paper's protocol), and in the accurate mode when ``--rotations`` > 1.
5. With ``--held-out DATA:FOLDS`` (repeatable), scores it the same way on other datasets
   (the independent held-out checks: other source material, another room renderer).
6. Rewrites the package with ``metrics`` = the validation scores at the kept epoch (the
   trainer's, without rotations), the test and held-out scores with their per-class
   breakdown, the training budget (steps, epochs, seconds, device; with ``--earlier-budget``
   the budget of the runs it was fine-tuned from; with ``--earlier-budget-from PACKAGE`` the
   budget a package it was initialised from records) and ``about``: the recipe, what the model
   was trained on, and what it is good and not good for (``--training-data``, ``--good-for``,
   ``--not-good-for``).

Prints the test report; the figures go into ``docs/results.md`` by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def recorded_budget(metrics: dict | None, name: str) -> list[dict]:
    """The training budget a shipped package records, oldest run first: the runs it was
    fine-tuned from, then its own run (marked with the package's file ``name``)."""
    earlier = dict((metrics or {}).get("budget_at_shipping") or {})
    if not earlier:
        raise ValueError("its metadata records no training budget (budget_at_shipping)")
    before = earlier.pop("fine_tuned_from", [])
    return [*before, {**earlier, "package": name}]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--note", default="", help="a sentence on what the model is, stored in the metadata")
    p.add_argument(
        "--rotations", type=int, default=1, choices=(1, 4, 8, 16), help="test-time rotations (default 1)"
    )
    p.add_argument("--checkpoint", type=Path, default=None, help="ship this snapshot of the run, not best")
    p.add_argument(
        "--val",
        action="append",
        default=[],
        metavar="DATA:FOLDS",
        help="validation data for the threshold (repeatable, pooled; default: the run's val folds)",
    )
    p.add_argument("--recipe", default="", help="the recipe's path in the repository (stored in about)")
    p.add_argument("--training-data", default="", help="what the model was trained on (stored in about)")
    p.add_argument("--good-for", default="", help="what the model is good for (stored in about)")
    p.add_argument("--not-good-for", default="", help="what it is not good for (stored in about)")
    p.add_argument(
        "--held-out", action="append", default=[], metavar="NAME=DATA:FOLDS", help="another dataset to score"
    )
    p.add_argument(
        "--earlier-budget",
        action="append",
        default=[],
        metavar="RUN",
        help="a run this one was fine-tuned from (its budget is stored too)",
    )
    p.add_argument(
        "--earlier-budget-from",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="a package this run was initialised from: the budget its metadata records (its run and "
        "the runs before it) is stored too; for when those run folders are gone",
    )
    args = p.parse_args(argv)

    from core.cli.eval import format_files
    from core.cli.score import format_report
    from core.common.progress import run_job
    from core.data.dataset import discover, select_folds
    from core.inference.evaluate import evaluate_model
    from core.inference.modes import ACCURATE
    from core.inference.predict import open_model
    from core.inference.threshold import choose_threshold
    from core.packages.package_file import read_package_meta, save_package
    from core.packages.runtime import load_package
    from core.training.run_folder import RunFolder

    run = RunFolder(args.run)
    config = run.read_config()
    test_folds = config.data.test_folds
    best = load_package(args.checkpoint or run.best_path)
    meta = best.meta
    meta.rotations = args.rotations
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_package(args.out, best.model, meta, weights="float16")

    def items_of(spec: str) -> list:
        root, _, folds = spec.rpartition(":")
        return select_folds(discover(Path(root), meta.fmt), [int(f) for f in folds.split(",")])

    val_specs = args.val or [f"{args.data}:{','.join(str(f) for f in config.data.val_folds)}"]
    val_items = [item for spec in val_specs for item in items_of(spec)]
    model = open_model(args.out)
    choice = run_job(choose_threshold(model, val_items, rotations=1))
    by_threshold = choice.by_threshold
    print("validation SELD by threshold: " + ", ".join(f"{t:.2f}: {v:.4f}" for t, v in by_threshold.items()))
    meta.threshold = choice.threshold
    save_package(args.out, best.model, meta, weights="float16")
    model = open_model(args.out)
    items = select_folds(discover(args.data, meta.fmt), test_folds)
    scores = run_job(evaluate_model(model, items, rotations=1))
    print(format_report(scores))
    print()
    print(format_files(scores))
    keys = ("ER", "F", "LE", "LR", "SELD")

    def summary(sc) -> dict:  # overall and per-class scores (undefined per-class scores are null)
        return {
            **{k: float(getattr(sc, k)) for k in keys},
            "per_class": {c.name: {k: c.as_dict()[k] for k in (*keys, "Nref")} for c in sc.per_class},
        }

    test = summary(scores)
    held_out = {}
    for spec in args.held_out:
        name, _, rest = spec.partition("=")
        root, _, folds = rest.rpartition(":")
        ho_items = items_of(rest)
        ho = run_job(evaluate_model(model, ho_items, rotations=1))
        held_out[name] = {
            **summary(ho),
            "data": Path(root).name,
            "folds": [int(f) for f in folds.split(",")],
            "files": len(ho_items),
        }
        print(f"held-out {name}: " + ", ".join(f"{k} {held_out[name][k]:.4f}" for k in keys))
    test_plain = None
    if args.rotations > 1:
        plain = run_job(evaluate_model(model, items, rotations=ACCURATE))  # the package's rotations
        test_plain = {k: float(getattr(plain, k)) for k in keys}
        print(
            f"test fold, accurate mode ({args.rotations} rotations): "
            + ", ".join(f"{k} {v:.4f}" for k, v in test_plain.items())
        )

    def budget_of(folder: RunFolder) -> dict:
        row = folder.metrics()[-1]
        return {
            "run": folder.path.name,
            "steps": int(row["step"]),
            "epochs": int(row["epoch"]),
            "seconds": row["seconds"],
            "device": folder.read_config().device,
        }

    if args.checkpoint:
        print(f"shipping {args.checkpoint}, not {run.best_path.name}")

    budget = budget_of(run)
    if args.earlier_budget:
        budget["fine_tuned_from"] = [budget_of(RunFolder(Path(r))) for r in args.earlier_budget]
    for package in args.earlier_budget_from:  # as the package recorded it when it was shipped
        try:
            chain = recorded_budget(read_package_meta(package).metrics, Path(package).name)
        except ValueError as exc:
            p.error(f"{package}: {exc}")
        budget.setdefault("fine_tuned_from", []).extend(chain)
    validation = dict(meta.metrics or {})  # the trainer's, at the kept epoch (empty for a snapshot)
    validation.update(
        split="validation",
        threshold_choice={
            "data": [f"{Path(v.rpartition(':')[0]).name}:{v.rpartition(':')[2]}" for v in val_specs],
            "files": len(val_items),
            **{k: float(getattr(choice.scores, k)) for k in keys},
        },
    )
    meta.metrics = {
        "validation": validation,
        "test": {**test, "folds": test_folds, "files": len(items), "rotations": 1},
        **({"held_out": held_out} if held_out else {}),
        **({"test_accurate": {**test_plain, "rotations": args.rotations}} if test_plain is not None else {}),
        "budget_at_shipping": budget,
        "weights": "float16",
        "threshold_chosen_on_validation": {f"{t:.2f}": v for t, v in by_threshold.items()},
        "note": args.note,
        "about": {
            "recipe": args.recipe,
            "training_data": args.training_data,
            "good_for": args.good_for,
            "not_good_for": args.not_good_for,
        },
    }
    save_package(args.out, best.model, meta, weights="float16")
    print(json.dumps(meta.metrics, indent=1))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
