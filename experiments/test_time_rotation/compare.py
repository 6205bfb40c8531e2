"""Score a model package on dataset folds with each test-time rotation set, from one pass per map.

    python experiments/test_time_rotation/compare.py --model PACKAGE --data DATA --folds 2 [--thresholds 0.5 0.6]

Runs every recording's features (cached in ``DATA/.seld_cache``, as ``seld train`` does)
through the network once per map of the format (16 for FOA, 8 for MIC) with
``core.inference.predict.rotated_outputs``, then scores the averages (``average_outputs``) over every
set of :data:`core.spatial.rotations.ROTATION_SETS` (and each single map alone) with the DCASE 2020
metrics, at the package's threshold and at the ones given: what ``seld eval --rotations N``
computes for each N, with the network run once per map instead of once per set.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--folds", type=int, nargs="+", default=[2])
    p.add_argument("--thresholds", type=float, nargs="*", default=[])
    p.add_argument("--single", action="store_true", help="also score each map alone")
    args = p.parse_args(argv)

    from core.data.dataset import discover, select_folds
    from core.data.feature_cache import FeatureCache
    from core.inference.predict import average_outputs, rotated_outputs
    from core.labels.dcase_csv import read_labels
    from core.labels.targets import events_from_outputs
    from core.metrics.seld import SeldScorer
    from core.packages.runtime import load_package
    from core.spatial.rotations import ROTATION_SETS, Rotation

    model = load_package(args.model)
    fmt, classes = model.meta.fmt, model.meta.class_set_obj()
    items = select_folds(discover(args.data, fmt), args.folds)
    cache = FeatureCache(args.data / ".seld_cache")
    maps = Rotation.all(fmt)
    outputs = []
    t0 = time.perf_counter()
    cache.ensure(items, fmt)  # computes the features of any recording not cached yet
    for item in items:
        outputs.append((item, rotated_outputs(model, np.asarray(cache.features(item, fmt)), tuple(maps))))
    print(f"{len(items)} recordings x {len(maps)} maps in {time.perf_counter() - t0:.0f} s")

    def score(chosen: list[int], threshold: float) -> str:
        scorer = SeldScorer("dcase2020", n_classes=classes)
        for item, runs in outputs:
            sed, doa = average_outputs([runs[i] for i in chosen])
            pred = events_from_outputs(sed, doa, threshold=threshold)
            scorer.update(read_labels(item.labels, classes=classes), pred, n_frames=len(sed), name=item.name)
        s = scorer.result()
        return (
            f"ER {s.ER:.3f}  F {100 * s.F:5.1f} %  LE {s.LE:5.1f}  LR {100 * s.LR:5.1f} %  SELD {s.SELD:.4f}"
        )

    thresholds = sorted({model.meta.threshold, *args.thresholds})
    for n, chosen in ROTATION_SETS[fmt].items():
        for t in thresholds:
            print(f"rotations {n:2d}  threshold {t:.2f}  {score([maps.index(r) for r in chosen], t)}")
    if args.single:
        for i, rot in enumerate(maps):
            print(f"map {i:2d} {rot}  {score([i], model.meta.threshold)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
