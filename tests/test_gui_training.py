"""The Train page (seldgui.training): dataset and folds, a real tiny run started, followed,
stopped, resumed and found again, died and failed runs, the comparison, results and exports."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from core.data.dataset_file import DATASET_FILE, read_dataset_file
from core.training import events as ev
from core.training.run_folder import RunFolder
from core.training.runs import TABLE1_COLUMNS, compare_runs
from seldgui.settings import Settings
from seldgui.training import TrainingPage
from tests.fixtures_data import make_plain_dataset, make_tiny_dataset
from tests.test_training import _small_config

RUN_TIMEOUT = 90_000  # ms: a tiny run takes about 15 s on two cores


def _no_dialog(*args):
    raise AssertionError(f"unexpected dialog: {args}")


@pytest.fixture
def make_page(qtbot, tmp_path):
    """Pages with settings of their own; every dialog fails the test unless the test answers it."""
    settings_path = tmp_path / "s.ini"
    errors: list[tuple[str, str]] = []

    def make(runs_root=None):
        settings = Settings.at(settings_path)
        if runs_root is not None:
            settings.set("runs_root", str(runs_root))
        page = TrainingPage(settings)
        page.prompts.error = lambda title, message: errors.append((title, message))
        page.prompts.choose = _no_dialog
        page.prompts.confirm = _no_dialog
        page.prompts.folder = _no_dialog
        page.prompts.save_file = _no_dialog
        page.errors = errors
        qtbot.addWidget(page)
        return page

    return make


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return make_tiny_dataset(root, "foa", folds=(1, 2), clips_per_fold=1, seconds=3.0, n_classes=4, seed=3)


def _config(root, **optim):
    config = _small_config(root, **optim)
    config.device = "cpu"
    config.data.test_folds = [2]
    return config


def _ready(qtbot, page, root, config, name):
    page.dataset.set_root(root)
    page.form.set_config(config)
    page.name_edit.setText(name)
    qtbot.waitUntil(page.can_start, timeout=30_000)
    assert page.start_button.isEnabled()


def _metrics(run):
    with open(RunFolder(run).file("metrics.csv"), newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _assert_curves_match_metrics(page, run):
    page.live.refresh()
    rows = _metrics(run)
    assert rows, "no evaluation was written"
    for name in ("val_loss", "train_loss", "ER", "F", "LE", "LR", "SELD"):
        x, y = page.live.curves[name].getData()
        np.testing.assert_array_equal(x, [r["step"] for r in rows])
        np.testing.assert_allclose(y, [r[name] for r in rows], rtol=1e-6)
    steps = {e.step: e for e in RunFolder(run).read_events() if isinstance(e, ev.Step)}
    x, y = page.live.curves["loss"].getData()
    np.testing.assert_array_equal(x, sorted(steps))
    np.testing.assert_allclose(y, [steps[s].loss for s in sorted(steps)])
    best = min(rows, key=lambda r: r["SELD"])
    bx, by = page.live.best_marker.getData()
    assert (bx[0], by[0]) == (best["step"], pytest.approx(best["SELD"]))


def test_plain_folder_folds_are_saved_and_a_blocking_problem_disables_start(qtbot, make_page, tmp_path):
    root, assigned = make_plain_dataset(tmp_path / "plain", folds=(1, 2, 3), clips_per_fold=1, n_classes=4)
    (root / DATASET_FILE).unlink()
    page = make_page(tmp_path / "runs")
    page.dataset.set_root(root)
    assert page.dataset.layout_label.text() == "plain folder" and page.dataset.plain_box.isVisibleTo(page)
    keys = [page.dataset.plain_table.item(r, 0).text() for r in range(page.dataset.plain_table.rowCount())]
    assert sorted(keys) == sorted(assigned)
    for key, fold in assigned.items():
        page.dataset.set_fold(key, fold)
    page.dataset.save_folds()
    written = read_dataset_file(root)
    assert written.folds == assigned and written.fmt == "foa" and written.classes == "dcase2020"
    assert not page.errors

    config = _config(root)
    config.data.train_folds, config.data.val_folds, config.data.test_folds = [3], [2], [1]
    page.form.set_config(config)
    qtbot.waitUntil(page.can_start, timeout=30_000)
    fold_rows = {
        page.dataset.fold_table.item(r, 0).text(): page.dataset.fold_table.item(r, 2).text()
        for r in range(page.dataset.fold_table.rowCount())
    }
    assert fold_rows == {"1": "1", "2": "1", "3": "1"}
    assert page.dataset.fold_table.item(0, 1).text() == "test"

    # a recording without its labels blocks the run; the problem names the file
    victim = next(k for k, f in assigned.items() if f == 3)
    (root / victim).with_suffix(".csv").unlink()
    page.dataset.set_root(root)
    qtbot.waitUntil(lambda: page.dataset.summary is not None and not page.dataset.busy, timeout=30_000)
    assert not page.dataset.summary.ok and not page.start_button.isEnabled()
    table = page.dataset.problem_table
    problems = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert problems[0][0].startswith("✖") and victim.split("/")[-1].replace(".wav", "") in problems[0][1]


def test_a_run_trains_to_its_end_and_its_results_are_evaluated_and_exported(qtbot, make_page, tiny, tmp_path):
    runs_root = tmp_path / "runs"
    page = make_page(runs_root)
    _ready(qtbot, page, tiny, _config(tiny, epochs=2, steps_per_epoch=2), "first")
    assert "core.cli train" in page.form.command.text() and "--progress jsonl" in page.form.command.text()
    with qtbot.waitSignal(page.run_ended, timeout=RUN_TIMEOUT) as ended:
        page.start_button.click()
    run = runs_root / "first"
    assert ended.args == ["finished"], page.live.log.toPlainText()
    assert (run / "best.safetensors").is_file() and (run / "metrics.csv").is_file()
    _assert_curves_match_metrics(page, run)
    assert page.live.stats["device"].text() == "cpu"
    assert "finished at epoch 2, step 4" in page.live.log.toPlainText()
    assert json.loads(page.settings.get("train_form"))["optim"]["steps_per_epoch"] == 2

    # a second start in the same folder is never an overwrite: the user is asked
    page.name_edit.setText("first")
    asked = []
    page.prompts.choose = lambda title, text, choices: asked.append(text) or "Cancel"
    page.start()
    assert asked and "already holds a run" in asked[0]

    # the epoch axis
    page.live.axis_combo.setCurrentText("epoch")
    x, _ = page.live.curves["SELD"].getData()
    np.testing.assert_array_equal(x, [r["epoch"] for r in _metrics(run)])

    # results: evaluate on the test folds, export the CSV, use the model, export ONNX
    qtbot.waitUntil(lambda: page.runs.run_named("first") is not None, timeout=10_000)
    results = page.results
    assert results.run == run and results.evaluate_button.isEnabled()
    with qtbot.waitSignal(results.done, timeout=60_000):
        results.evaluate_button.click()
    scores = results.scores
    assert scores is not None and results.table.rowCount() == 1 + len(scores.per_class) + len(scores.per_file)
    assert results.table.item(0, 6).text() == f"{scores.SELD:.4f}"
    from core.metrics.report import write_csv_report

    write_csv_report(scores, tmp_path / "reference.csv")
    page.prompts.save_file = lambda *a: tmp_path / "mine.csv"
    results.csv_button.click()
    assert (tmp_path / "mine.csv").read_bytes() == (tmp_path / "reference.csv").read_bytes()

    with qtbot.waitSignal(results.use_model_requested) as used:
        results.use_button.click()
    assert used.args == [run / "best.safetensors"]

    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"keep me")
    page.prompts.save_file = lambda *a: onnx
    page.prompts.confirm = lambda *a: False  # refused: nothing written, nothing started
    results.onnx_button.click()
    assert onnx.read_bytes() == b"keep me" and results.worker is None
    page.prompts.confirm = lambda *a: True
    with qtbot.waitSignal(results.done, timeout=60_000) as done:
        results.onnx_button.click()
    assert "ONNX model written" in done.args[0] and onnx.read_bytes()[:7] != b"keep me"

    # the package, with the threshold chosen on the validation folds stored in it
    from core.common.progress import run_job
    from core.inference.evaluate import labelled_fold_items
    from core.inference.predict import open_model
    from core.inference.threshold import choose_threshold
    from core.packages.runtime import load_package

    exported = tmp_path / "mine.safetensors"
    page.prompts.save_file = lambda *a: exported
    with qtbot.waitSignal(results.done, timeout=120_000) as done:
        results.package_button.click()
    assert "package written" in done.args[0]
    meta = load_package(exported, device="cpu").meta
    expected = run_job(
        choose_threshold(
            open_model(run / "best.safetensors", backend="torch", device="cpu"),
            labelled_fold_items(tiny, "foa", [2]),
        )
    )
    assert meta.threshold == pytest.approx(expected.threshold)
    assert meta.metrics["threshold_chosen_on"] == "validation folds [2]"
    assert meta.metrics["threshold_val_SELD"] == pytest.approx(expected.seld)  # the same choice, stored
    assert not page.errors


def test_stop_resume_reattach_and_close(qtbot, make_page, tiny, tmp_path):
    runs_root = tmp_path / "runs"
    page = make_page(runs_root)
    assert page.confirm_close()  # nothing runs: no question (a dialog would fail the test)
    _ready(qtbot, page, tiny, _config(tiny, epochs=3, steps_per_epoch=3), "long")
    run = runs_root / "long"
    page.start_button.click()
    qtbot.waitUntil(lambda: len(page.live.steps) >= 1, timeout=RUN_TIMEOUT)
    assert page.stop_button.isEnabled()
    with qtbot.waitSignal(page.run_ended, timeout=RUN_TIMEOUT) as ended:
        page.stop_button.click()
    assert ended.args == ["stopped"] and RunFolder(run).status().state == "stopped"
    stopped_at = max(page.live.steps)
    assert stopped_at < 9 and page.resume_button.isEnabled()

    page.resume_button.click()
    qtbot.waitUntil(
        lambda: page.live.start is not None and page.live.start.step == stopped_at and run in page.started,
        timeout=RUN_TIMEOUT,
    )
    pid = page.started[run]
    os.kill(pid, signal.SIGSTOP)  # hold the run still while a second page finds it
    try:
        asked = []
        page.prompts.choose = lambda title, text, choices: asked.append(choices) or "Cancel"
        assert not page.confirm_close() and asked == [["Keep it running", "Stop it", "Cancel"]]
        second = make_page(runs_root)
        qtbot.waitUntil(lambda: second.current == run, timeout=30_000)
    finally:
        os.kill(pid, signal.SIGCONT)
    with qtbot.waitSignal(second.run_ended, timeout=RUN_TIMEOUT) as ended:
        pass
    assert ended.args == ["finished"]
    qtbot.waitUntil(lambda: page.follower.done, timeout=30_000)
    assert max(second.live.steps) == 9 and second.live.end is not None and second.live.end.finished
    _assert_curves_match_metrics(second, run)
    _assert_curves_match_metrics(page, run)
    assert page.confirm_close()  # the run it started has ended: no question


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_died_and_failed_runs_and_the_comparison(qtbot, make_page, tiny, tmp_path):
    from tests.test_runs import _row

    runs_root = tmp_path / "runs"
    for name, rows in (("a", [_row(2, 0.5), _row(4, 0.3)]), ("b", [_row(2, 0.45), _row(4, 0.6)])):
        folder = RunFolder(runs_root / name)
        folder.path.mkdir(parents=True)
        folder.write_config(_config(tiny))
        folder.write_metrics("metrics.csv", rows)
    RunFolder(runs_root / "a").write_status("running", pid=_dead_pid())
    with open(RunFolder(runs_root / "a").file(RunFolder.LOG), "w") as fh:
        fh.write("2026-01-02 03:04:05 epoch 2 evaluated\n")
    RunFolder(runs_root / "b").write_status("failed", message="out of memory on cuda:0")

    page = make_page(runs_root)
    qtbot.waitUntil(lambda: len(page.runs.runs) == 2, timeout=10_000)
    assert page.current is None  # a died run is not followed as running
    table = page.runs.table
    assert table.item(0, 1).text() == "stopped (died)" and table.item(1, 1).text() == "failed"
    assert table.item(0, 3).text() == "0.3000" and table.item(0, 4).text() == "4"
    page.runs.select("a")
    assert page.runs.resume_button.isEnabled() and not page.runs.stop_button.isEnabled()
    assert "epoch 2 evaluated" in page.runs.log_tail.toPlainText()
    page.runs.select("b")
    assert (
        "out of memory on cuda:0" in page.runs.log_tail.toPlainText() and page.runs.resume_button.isEnabled()
    )

    page.runs.select("a", "b")
    assert page.runs.compare_button.isEnabled()
    page.runs.compare_button.click()
    qtbot.waitUntil(lambda: len(page.runs.comparison) == 2, timeout=10_000)
    expected = compare_runs([runs_root / "a", runs_root / "b"], steps=False)
    for r, row in enumerate(expected):
        shown = [page.runs.compare_table.item(r, 1 + i).text() for i in range(len(TABLE1_COLUMNS))]
        assert shown == [f"{row.val[c]:.3f}" for c in TABLE1_COLUMNS]
        assert page.runs.comparison[r].val == row.val
        x, y = page.runs.compare_curves[row.run.name].getData()
        np.testing.assert_array_equal(y, row.curves.val["SELD"])


def test_a_small_constant_learning_rate_is_drawn_above_zero_on_its_own_scale(qtbot):
    from seldgui.training.live_view import LiveView

    view = LiveView()
    qtbot.addWidget(view)
    view.reset("run", batch_size=32)
    view.feed(ev.Start(epochs=10, steps_per_epoch=4, step=0, epoch=0, device="cpu"))
    for step in range(1, 9):
        view.feed(ev.Step((step - 1) // 4, step, (step - 1) % 4 + 1, 4, 0.5, 0.3, 0.2, 1e-4, 50.0))
    view.refresh()
    low, high = view.lr_plot.viewRange()[1]
    # the curve at 1e-4 sits near the top of 0 to 1.1e-4 (pyqtgraph's own range was 1e-4 ± 0.4)
    assert low == pytest.approx(0.0, abs=1e-9) and high == pytest.approx(1.1e-4, rel=1e-6)
    _, rates = view.curves["lr"].getData()
    assert np.allclose(rates, 1e-4)
    axis = view.lr_plot.getAxis("left")
    assert axis.tickStrings([0.0, 2.5e-5, 1e-4], 1.0, 2.5e-5) == ["0", "2.5e-05", "0.0001"]
