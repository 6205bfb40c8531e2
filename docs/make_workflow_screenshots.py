"""Walk the Train and Batch pages as a new user would, under Xvfb, and take their screenshots.

    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python docs/make_workflow_screenshots.py [--work DIR] [--extra DIR]

With settings of its own (never the user's), in a work folder (default: a new temporary one):

1. ``seld synth`` makes a small FOA dataset (folds 1-3, 3 scenes of 20 s each) and a batch
   folder (fold 4, ``--batch-files`` one-minute scenes with labels, and one damaged file);
2. the Train page: the dataset chosen and summarised; a run with the paper's homogeneous MSE
   started, stopped after its first evaluation, resumed to its end; a second run with CE + MSE;
   the two compared (Table 1); the first evaluated on its test fold, its metrics CSV exported,
   its model used for the review page and exported as ONNX;
3. the Batch page: the bundled model on the batch folder, cancelled after two recordings, run
   again to the end; the worst file opened from the per-file table; the largest error selected
   in the inspector and shown on the review page; predictions and metrics CSV exported.

The networks of the two runs are small (the size of the test suite's), so that the walk
takes minutes on two CPU cores; the page and the process are the paper's model's.

Writes ``docs/images/train_page.png`` and ``docs/images/batch_page.png`` at a first start's
size, and with ``--extra DIR`` every step's screenshot, default size and maximised, there.
Prints what it checked; exits non-zero when a step does not happen.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _synth(out: Path, folds: str, clips: int, seconds: float, seed: int) -> None:
    cmd = [sys.executable, "-m", "core.cli", "synth", "--out", str(out), "--formats", "foa"]
    cmd += ["--folds", folds, "--clips-per-fold", str(clips), "--duration", str(seconds), "--seed", str(seed)]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, help="work folder (default: a new temporary folder)")
    p.add_argument("--extra", type=Path, help="also save every step's screenshot here")
    p.add_argument("--batch-files", type=int, default=20, help="one-minute recordings in the batch (20)")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="seld-walk-"))
    work.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    from core.training.config import TrainConfig
    from seldgui.main_window import MainWindow
    from seldgui.settings import Settings

    print("work folder:", work)
    dataset, batch = work / "dataset", work / "batch"
    if not (dataset / "foa_dev").is_dir():
        _synth(dataset, "1-3", 3, 20.0, seed=11)
    if not (batch / "foa_dev").is_dir():
        _synth(batch, "4", args.batch_files, 60.0, seed=12)
        (batch / "foa_dev" / "fold4_room99_mix999_ov1.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")

    app = QApplication(sys.argv[:1])
    settings = Settings.at(work / "settings.ini")
    settings.set("runs_root", str(work / "runs"))
    window = MainWindow(settings=settings)
    window.show()
    images = ROOT / "docs" / "images"

    def pump(seconds: float, until=None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            if until is not None and until():
                return True
            time.sleep(0.02)
        return until is None

    def must(seconds: float, until, what: str) -> None:
        if not pump(seconds, until):
            raise SystemExit(f"walk-through: {what} did not happen within {seconds:.0f} s")
        print("ok:", what)

    def shot(name: str, maximised: bool = True) -> None:
        pump(0.8)
        if args.extra:
            args.extra.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(args.extra / f"{name}.png"))
            if maximised:
                normal = window.geometry()
                window.setGeometry(window.screen().availableGeometry())  # bare Xvfb: no window manager
                pump(1.0)
                window.grab().save(str(args.extra / f"{name}_maximised.png"))
                window.setGeometry(normal)
                pump(0.8)

    # ---------------------------------------------------------------- the Train page
    page = window.training_page
    page.prompts.error = lambda title, message: print("dialog:", title, message)
    window.pages.setCurrentWidget(page)
    page.dataset.set_root(dataset)

    def config(loss: str) -> TrainConfig:
        c = TrainConfig()
        c.data.root, c.data.fmt = str(dataset), "foa"
        c.data.train_folds, c.data.val_folds, c.data.test_folds = [1], [2], [3]
        c.data.segment_frames, c.data.workers = 100, 0
        c.model.conv_filters = [16, 16, 32, 32, 32, 32]
        c.model.gru_hidden, c.model.d_k, c.model.fc_size = 32, 16, 64
        c.optim.batch_size, c.optim.epochs, c.optim.steps_per_epoch = 8, 8, 4
        c.optim.warmup_epochs, c.optim.lr, c.optim.warmup_lr = 1, 3e-3, 1e-3
        c.optim.loss = loss
        c.device = "cpu"
        return c

    page.form.set_config(config("homogeneous_mse"))
    page.name_edit.setText("paper_mse")
    must(60, page.can_start, "dataset summarised, Start enabled")
    shot("train_1_dataset", maximised=False)
    page.start_button.click()
    run = work / "runs" / "paper_mse"
    must(180, lambda: len(page.live.evals) >= 1, "the first evaluation of a run started from the page")
    page.stop_button.click()
    must(120, lambda: page.follower is None or page.follower.done, "the run stopped (last written)")
    stopped_at = max(page.live.steps)
    page.resume_button.click()
    must(300, lambda: page.live.end is not None and page.live.end.finished, "resumed and finished")
    print(f"   stopped at step {stopped_at}, resumed to step {max(page.live.steps)}")
    page.right_tabs.setCurrentWidget(page.live)
    shot("train_2_live")
    window.grab().save(str(images / "train_page.png"))

    page.form.set_config(config("ce_mse"))
    page.name_edit.setText("ce_mse")
    must(60, page.can_start, "a second run ready")
    page.start_button.click()
    must(300, lambda: page.current == work / "runs" / "ce_mse" and page.live.end is not None, "CE+MSE run")
    page.runs.refresh()
    must(30, lambda: page.runs.run_named("ce_mse") is not None and not page.runs.loading, "runs listed")
    page.runs.select("paper_mse", "ce_mse")
    page.runs.compare()
    must(60, lambda: len(getattr(page.runs, "comparison", []) or []) == 2, "two runs compared")
    page.right_tabs.setCurrentWidget(page.runs)
    shot("train_3_compare")

    page.runs.select("paper_mse")
    page.runs.show_button.click()  # the shown run is the one whose results the Results tab gives
    results = page.results
    must(30, lambda: results.run == run, "the results of the first run shown")
    results.evaluate_button.click()
    must(300, lambda: results.scores is not None, "evaluated on the test fold")
    page.prompts.save_file = lambda *a: work / "paper_mse_test.csv"
    results.csv_button.click()
    must(10, (work / "paper_mse_test.csv").is_file, "metrics CSV exported")
    page.right_tabs.setCurrentWidget(results)
    shot("train_4_results", maximised=False)
    page.prompts.save_file = lambda *a: work / "paper_mse.onnx"
    page.prompts.confirm = lambda *a: True
    results.onnx_button.click()
    must(300, (work / "paper_mse.onnx").is_file, "ONNX exported")
    results.use_button.click()
    must(10, lambda: window.runner.model_path == run / "best.safetensors", "the run's model is F5's")
    window.runner.model_path = None  # back to the bundled model for the batch

    # ---------------------------------------------------------------- the Batch page
    bpage = window.batch_page
    window.open_folder(batch)
    window.run_batch()
    must(600, lambda: sum(r.status == "done" for r in bpage.runner.tracker.rows) >= 2, "two recordings done")
    bpage.cancel_button.click()
    must(120, lambda: not bpage.busy, "the batch cancelled")
    print(
        "   after cancel:",
        {s: sum(r.status == s for r in bpage.runner.tracker.rows) for s in ("done", "cancelled")},
    )
    window.run_batch()
    must(
        3600,
        lambda: (
            not bpage.busy
            and all(r.status in ("done", "failed") for r in bpage.runner.tracker.rows)
            and bpage.runner.scores is not None
        ),
        "the batch run again to its end",
    )
    rows = bpage.runner.tracker.rows
    print("   rows:", {s: sum(r.status == s for r in rows) for s in ("done", "failed", "cancelled")})
    print("   failed:", [r.error for r in rows if r.status == "failed"])
    shot("batch_1_metrics")
    window.grab().save(str(images / "batch_page.png"))
    table = bpage.metrics_view.file_table
    worst = table.item(0, 0).text()
    print("   worst file:", worst, "SELD", table.item(0, 1).text())
    table.itemActivated.emit(table.item(0, 0))
    must(
        120,
        lambda: window.session.recording is not None and worst in str(window.session.recording.path),
        "worst opened",
    )
    bpage.tabs.setCurrentWidget(bpage.errors_view)
    bpage.errors_view.sort_by("error", descending=True)
    shot("batch_2_errors", maximised=False)
    bpage.errors_view.select_row(0)
    must(120, lambda: window.session.highlight is not None, "the largest error highlighted")
    window.pages.setCurrentWidget(window.review_page)
    shot("batch_3_error_in_review")
    bpage.ask_export_folder = lambda *a: work / "exported"
    bpage.ask_overwrite = lambda *a: True
    bpage.ask_metrics_path = lambda *a: work / "batch_metrics.csv"
    bpage.export_predictions()
    bpage.export_metrics()
    n = len(list((work / "exported").glob("*.csv")))
    print(f"   exported {n} prediction CSVs; metrics CSV: {(work / 'batch_metrics.csv').is_file()}")
    window.annotation.stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
