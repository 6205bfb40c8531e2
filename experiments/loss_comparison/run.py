"""The paper's loss comparison (Phan et al., DCASE 2020, Table 1 and Figure 2), on our data.

Trains the same CRNN on the same data with the same seed and budget three times:

* ``mse``: homogeneous MSE (the paper's eq. 3);
* ``ce_mse_1000``: binary cross-entropy + 1000 x MSE (eq. 2 with the DCASE 2020 baseline's weights);
* ``ce_mse_1``: binary cross-entropy + 1 x MSE.

Then writes ``results.md`` (a table with the columns of the paper's Table 1: LE, LR, ER, F,
SELD on the validation and test folds, from each run's best-validation snapshot) and
``loss_comparison.png`` (train/test loss and SED/DOA errors over training, like the paper's
Figure 2) into ``--out``. Runs that were stopped resume where they are (``last``), so the
comparison can be carried over several sessions.

    python experiments/loss_comparison/run.py --data DATA --out OUT [--epochs 40] [--steps-per-epoch 0]
        [--batch-size 64] [--warmup-epochs N] [--segment-frames 600] [--doa-loss active|all]
        [--eval-every 1] [--seed 0] [--device auto] [--workers 2]
        [--small]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.training import events  # noqa: E402
from core.training.config import TrainConfig  # noqa: E402
from core.training.run_folder import RunFolder  # noqa: E402
from core.training.trainer import Trainer  # noqa: E402

RUNS = {
    "mse": ("homogeneous MSE (eq. 3)", "homogeneous_mse", 1.0, 1.0),
    "ce_mse_1000": ("CE + 1000 MSE (eq. 2, DCASE 2020 baseline weights)", "ce_mse", 1.0, 1000.0),
    "ce_mse_1": ("CE + MSE (eq. 2, weights 1 and 1)", "ce_mse", 1.0, 1.0),
}


def config_for(args: argparse.Namespace, loss: str, w_ce: float, w_mse: float) -> TrainConfig:
    c = TrainConfig()
    c.data.root = str(Path(args.data).resolve())
    c.data.fmt = args.format
    c.data.train_folds, c.data.val_folds, c.data.test_folds = (
        args.train_folds,
        args.val_folds,
        args.test_folds,
    )
    c.data.segment_frames = args.segment_frames
    c.data.workers = args.workers
    c.optim.loss, c.optim.w_ce, c.optim.w_mse = loss, w_ce, w_mse
    c.optim.mask_inactive_doa = args.doa_loss == "active"
    c.optim.epochs = args.epochs
    c.optim.steps_per_epoch = args.steps_per_epoch
    c.optim.batch_size = args.batch_size
    if args.warmup_epochs is not None:
        c.optim.warmup_epochs = args.warmup_epochs
    else:  # the paper's 10 epochs, shortened to a tenth of a short budget
        c.optim.warmup_epochs = min(c.optim.warmup_epochs, max(1, args.epochs // 10))
    c.optim.eval_test_every_time = True
    c.optim.eval_every = args.eval_every
    c.seed = args.seed
    c.device = args.device
    if args.small:  # a narrower network for quick CPU runs (same architecture, fewer filters)
        c.model.conv_filters = [32, 32, 64, 64, 128, 128]
        c.model.gru_hidden, c.model.fc_size = 128, 256
    return c


def best_rows(run: Path) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    folder = RunFolder(run)
    val, test = folder.metrics(), folder.metrics(test=True)
    if not val:
        return None, None
    best = min(val, key=lambda r: r["SELD"])
    test_at = next((r for r in test if r["epoch"] == best["epoch"]), None)
    return best, test_at


def write_table(out: Path, args: argparse.Namespace) -> str:
    lines = [
        "| loss | best epoch | val LE | val LR | val ER | val F | val SELD | test LE | test LR | test ER | test F | test SELD |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, (label, *_rest) in RUNS.items():
        val, test = best_rows(out / key)
        if val is None:
            lines.append(f"| {label} | (not run) |" + " |" * 10)
            continue

        def cells(r):
            if r is None:
                return ["-"] * 5
            return [
                f"{r['LE']:.1f}°",
                f"{100 * r['LR']:.1f}%",
                f"{r['ER']:.3f}",
                f"{100 * r['F']:.1f}%",
                f"{r['SELD']:.3f}",
            ]

        lines.append(f"| {label} | {int(val['epoch'])} | " + " | ".join(cells(val) + cells(test)) + " |")
    table = "\n".join(lines)
    (out / "results.md").write_text(
        f"# Loss comparison\n\nData: `{args.data}`, folds train {args.train_folds}, validation "
        f"{args.val_folds}, test {args.test_folds}; DOA MSE over {args.doa_loss} classes; {args.epochs} epochs, "
        f"batch {args.batch_size}, warm-up {config_for(args, 'homogeneous_mse', 1.0, 1.0).optim.warmup_epochs} "
        f"epochs, seed {args.seed}.\n\n{table}\n"
    )
    return table


def plot(out: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[experiments]'): no figure", file=sys.stderr)
        return None
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for key, (label, *_rest) in RUNS.items():
        folder = RunFolder(out / key)
        val, test = folder.metrics(), folder.metrics(test=True)
        if not val:
            continue
        ep = [r["epoch"] for r in val]
        axes[0, 0].plot(ep, [r["train_loss"] for r in val], label=label)
        if test:
            axes[0, 1].plot([r["epoch"] for r in test], [r["val_loss"] for r in test], label=label)
            axes[1, 0].plot([r["epoch"] for r in test], [r["ER"] for r in test], label=label)
            axes[1, 1].plot([r["epoch"] for r in test], [r["LE"] for r in test], label=label)
    titles = (
        "training loss (each run's own loss)",
        "test loss (each run's own loss)",
        "test SED error rate (ER)",
        "test DOA error (LE, degrees; 180: nothing detected)",
    )
    for ax, title in zip(axes.flat, titles, strict=True):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0, 0].set_yscale("log")
    axes[0, 1].set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    path = out / "loss_comparison.png"
    fig.savefig(path, dpi=110)
    return path


def folds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--format", default="foa", choices=("foa", "mic"))
    ap.add_argument("--train-folds", type=folds, default=[3, 4, 5, 6])
    ap.add_argument("--val-folds", type=folds, default=[2])
    ap.add_argument("--test-folds", type=folds, default=[1])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--steps-per-epoch", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=1, help="epochs between evaluations")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument(
        "--warmup-epochs",
        type=int,
        help="epochs at the warm-up rate (default: 10, at most a tenth of --epochs)",
    )
    ap.add_argument("--segment-frames", type=int, default=600)
    ap.add_argument(
        "--doa-loss",
        choices=("active", "all"),
        default="active",
        help="DOA MSE over the active classes (the authors' code, the 2020 baseline) or all (target 0)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--small", action="store_true", help="narrower network for quick CPU runs")
    ap.add_argument("--only", choices=tuple(RUNS), action="append", help="run only these (repeatable)")
    ap.add_argument("--report-only", action="store_true", help="only (re)write the table and figure")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        for key, (label, loss, w_ce, w_mse) in RUNS.items():
            if args.only and key not in args.only:
                continue
            run = RunFolder(args.out / key)
            resume = run.has_checkpoint()
            if (run.read_summary() or {}).get("finished"):
                print(f"{key}: already finished", file=sys.stderr)
                continue
            print(f"{key}: {label} ({'resuming' if resume else 'starting'})", file=sys.stderr)
            config = config_for(args, loss, w_ce, w_mse)
            summary = Trainer(config, run.path, resume=resume, on_event=_printer(key)).run()
            if not summary["finished"]:
                print(f"{key}: stopped at epoch {summary['epoch']}; run again to resume", file=sys.stderr)
                return 1
    print(write_table(args.out, args))
    figure = plot(args.out)
    if figure:
        print(f"figure: {figure}")
    return 0


def _printer(key: str):
    def on_event(ev: events.TrainEvent) -> None:
        if isinstance(ev, events.Eval):  # and events.EvalTest
            print(
                f"{key} {ev.kind} epoch {ev.epoch}: loss {ev.val_loss:.4f} ER {ev.ER:.3f} "
                f"F {ev.F:.3f} LE {ev.LE:.1f} LR {ev.LR:.3f} SELD {ev.SELD:.3f}",
                file=sys.stderr,
                flush=True,
            )

    return on_event


if __name__ == "__main__":
    sys.exit(main())
