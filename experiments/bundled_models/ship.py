"""Ship a training run's best model as a bundled package, with its test-fold scores inside.

    python experiments/bundled_models/ship.py --run RUN --data DATA --out resources/models/foa_crnn.safetensors

1. Reads ``RUN/best.safetensors`` (the best-validation snapshot) and writes it with
   float16 weights (half the size; loading casts back to float32).
2. With ``--rotations N``, stores N as the package's test-time rotation set, which
   ``seld infer``, ``seld eval`` and the app then use by default (:mod:`core.spatial.rotations`).
3. Chooses the detection threshold on the *validation* folds (0.30 ... 0.70, the lowest
   SELD error; the paper's 0.5 unless another is better there:
   :func:`core.inference.threshold.choose_threshold`), with those rotations, and stores it
   in the package.
4. Scores *that file* on the test folds of the run's configuration (folds the model never
   saw in training or model selection) exactly as ``seld eval`` does: with the package's
   rotations, and also without any (the paper's protocol, at the same threshold).
5. Rewrites the package with ``metrics`` = the validation scores at the kept epoch (the
   trainer's, without rotations), the test scores, and the training budget (steps,
   epochs, seconds, device) from the run.

Prints the test report; the figures go into ``docs/results.md`` by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--note", default="", help="a sentence on what the model is, stored in the metadata")
    p.add_argument(
        "--rotations", type=int, default=1, choices=(1, 4, 8, 16), help="test-time rotations (default 1)"
    )
    args = p.parse_args(argv)

    from core.cli.eval import format_files
    from core.cli.score import format_report
    from core.common.progress import run_job
    from core.data.dataset import discover, select_folds
    from core.inference.evaluate import evaluate_model
    from core.inference.predict import open_model
    from core.inference.threshold import choose_threshold
    from core.packages.package_file import save_package
    from core.packages.runtime import load_package
    from core.training.run_folder import RunFolder

    run = RunFolder(args.run)
    config = run.read_config()
    test_folds = config.data.test_folds
    best = load_package(run.best_path)
    last = run.metrics()[-1]
    meta = best.meta
    meta.rotations = args.rotations
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_package(args.out, best.model, meta, weights="float16")

    model = open_model(args.out)
    choice = run_job(
        choose_threshold(model, select_folds(discover(args.data, meta.fmt), config.data.val_folds))
    )
    by_threshold = choice.by_threshold
    print("validation SELD by threshold: " + ", ".join(f"{t:.2f}: {v:.4f}" for t, v in by_threshold.items()))
    meta.threshold = choice.threshold
    save_package(args.out, best.model, meta, weights="float16")
    model = open_model(args.out)
    items = select_folds(discover(args.data, meta.fmt), test_folds)
    scores = run_job(evaluate_model(model, items))
    print(format_report(scores))
    print()
    print(format_files(scores))
    keys = ("ER", "F", "LE", "LR", "SELD")
    test = {k: float(getattr(scores, k)) for k in keys}
    test_plain = None
    if args.rotations > 1:
        plain = run_job(evaluate_model(model, items, rotations=1))
        test_plain = {k: float(getattr(plain, k)) for k in keys}
        print(
            "test fold without test-time rotation: "
            + ", ".join(f"{k} {v:.4f}" for k, v in test_plain.items())
        )
    budget = {
        "steps": int(last["step"]),
        "epochs": int(last["epoch"]),
        "seconds": last["seconds"],
        "device": config.device,
    }
    meta.metrics = {
        "validation": dict(meta.metrics or {}),
        "test": {**test, "folds": test_folds, "files": len(items), "rotations": args.rotations},
        **({"test_without_rotations": test_plain} if test_plain is not None else {}),
        "budget_at_shipping": budget,
        "weights": "float16",
        "threshold_chosen_on_validation": {f"{t:.2f}": v for t, v in by_threshold.items()},
        "note": args.note,
    }
    save_package(args.out, best.model, meta, weights="float16")
    print(json.dumps(meta.metrics, indent=1))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
