"""The Train page: choose a dataset, fill the form, start, follow, stop, resume and compare runs.

Layout: on the left the dataset (:mod:`~seldgui.training.dataset_panel`) and the form
(:mod:`~seldgui.training.form`); on the right the shown run's curves
(:mod:`~seldgui.training.live_view`), every run under the runs root
(:mod:`~seldgui.training.runs_panel`) and a run's results (:mod:`~seldgui.training.results`);
above them the runs root, the run's name, and Start, Stop and Resume.

A run trains in its own process (``seld train --progress jsonl``, started detached by
:func:`~seldgui.training.process.launch`, so it may outlive the window) and is followed
through its run folder's ``events.jsonl`` (:class:`~seldgui.training.process.RunFollower`):
a run found running when the page is created is followed the same way. Every check before a
start (:func:`core.training.launch.check_before_start`, which imports torch) runs in a worker.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.common.errors import SeldError
from core.training.config import TrainConfig
from core.training.run_folder import RunFolder
from core.training.runs import RunSummary, log_tail
from seldgui import workers
from seldgui.settings import Settings
from seldgui.training.dataset_panel import DatasetPanel
from seldgui.training.form import TrainForm
from seldgui.training.live_view import LiveView
from seldgui.training.process import RunFollower, launch, pid_gone, stderr_tail
from seldgui.training.prompts import Prompts
from seldgui.training.results import ResultsPanel
from seldgui.training.runs_panel import RunsPanel

KEEP, STOP, CANCEL = "Keep it running", "Stop it", "Cancel"
"""The answers when the window closes while a run this page started trains."""


def default_run_name() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S")


def _run_config(run: Path) -> TrainConfig | None:
    """The run's configuration (``config.json``, else the ``launch.json`` it was started with)."""
    folder = RunFolder(run)
    for path in (folder.file(RunFolder.CONFIG), folder.file(RunFolder.LAUNCH)):
        if path.is_file():
            try:
                return TrainConfig.load(path)
            except SeldError:
                return None
    return None


class TrainingPage(QWidget):
    """The "Train" tab (see the module docstring). ``use_model_requested(Path)``: open this model
    package for F5. :meth:`confirm_close` is asked when the window closes."""

    use_model_requested = Signal(object)
    run_ended = Signal(str)  # the shown run's process ended: finished, stopped or failed

    SUMMARY_DELAY_MS = 300

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.prompts = Prompts(self, settings)
        self.current: Path | None = None  # the run shown in the live view
        self.follower: RunFollower | None = None
        self.started: dict[Path, int] = {}  # runs this page started: their process ids
        self.checking = False
        self._reattach_pending = True
        self._build()
        self._restore_form()
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_timer.setInterval(self.SUMMARY_DELAY_MS)
        self._summary_timer.timeout.connect(self.summarize)
        self.dataset.changed.connect(self._summary_timer.start)
        self.dataset.summarized.connect(self._update_buttons)
        self.form.changed.connect(self._form_changed)
        self.runs.listed.connect(self._on_listed)
        self.runs.show_requested.connect(lambda r: self.show_run(r.path))
        self.runs.stop_requested.connect(lambda r: self.stop(r.path))
        self.runs.resume_requested.connect(lambda r: self.resume(r.path))
        self.results.use_model_requested.connect(self.use_model_requested)
        self.set_runs_root(self.runs_root)
        self._form_changed()
        if self.dataset.root is not None:
            self._summary_timer.start()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        self.root_edit = QLineEdit()
        self.root_edit.setReadOnly(True)
        self.root_button = QPushButton("Runs folder…")
        self.root_button.clicked.connect(self.choose_runs_root)
        self.name_edit = QLineEdit(default_run_name())
        self.name_edit.setToolTip("the run's folder under the runs folder")
        self.name_edit.textChanged.connect(lambda _t: self._form_changed())
        self.start_button = QPushButton("Start")
        self.start_button.setStyleSheet("font-weight: bold")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop after the current step (the run writes its checkpoint)")
        self.stop_button.clicked.connect(lambda: self.stop(self.current))
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(lambda: self.resume(self.current))
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Runs in"))
        bar.addWidget(self.root_edit, 2)
        bar.addWidget(self.root_button)
        bar.addWidget(QLabel("Run"))
        bar.addWidget(self.name_edit, 1)
        for b in (self.start_button, self.stop_button, self.resume_button):
            bar.addWidget(b)

        self.dataset = DatasetPanel(self.settings, self.prompts)
        self.form = TrainForm(self.prompts)
        form_scroll = QScrollArea()
        form_scroll.setWidgetResizable(True)
        form_scroll.setWidget(self.form)
        self.left_tabs = QTabWidget()
        self.left_tabs.addTab(self.dataset, "Dataset")
        self.left_tabs.addTab(form_scroll, "Settings")

        self.live = LiveView()
        self.runs = RunsPanel()
        self.results = ResultsPanel(self.prompts)
        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.live, "Live")
        self.right_tabs.addTab(self.runs, "Runs")
        self.right_tabs.addTab(self.results, "Results")

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.left_tabs)
        split.addWidget(self.right_tabs)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([560, 840])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status_label)
        layout.addWidget(split, 1)

    # ------------------------------------------------------------------ the form and the dataset
    def _restore_form(self) -> None:
        text = self.settings.get("train_form")
        if not text:
            return
        try:
            self.form.set_config(TrainConfig.from_dict(json.loads(text)))
        except (SeldError, ValueError, TypeError):
            pass  # a form of another version: the defaults

    def _form_changed(self) -> None:
        try:
            config = self.form.config()
        except SeldError as err:
            self.form.show_command(None, str(err))
            self._update_buttons()
            return
        self.settings.set("train_form", config.to_json())
        from core.training.launch import train_command

        run = self.run_dir
        if run is not None:
            launch_file = RunFolder(run).file(RunFolder.LAUNCH)
            self.form.show_command(train_command(launch_file, run, gpus=self.form.gpu_count))
        if self.summary_folds() != self._summarized_folds():
            self._summary_timer.start()
        self._update_buttons()

    def summary_folds(self) -> tuple[tuple[int, ...], ...] | None:
        try:
            c = self.form.config()
        except SeldError:
            return None
        return tuple(c.data.train_folds), tuple(c.data.val_folds), tuple(c.data.test_folds)

    def _summarized_folds(self):
        s = self.dataset.summary
        return None if s is None else (s.train_folds, s.val_folds, s.test_folds)

    def summarize(self) -> None:
        folds = self.summary_folds()
        if folds is not None and self.dataset.root is not None:
            self.dataset.summarize(*(list(f) for f in folds))
        self._update_buttons()

    def config(self) -> TrainConfig:
        """The run the page would start: the form with the dataset's root, format and class set."""
        if self.dataset.root is None:
            raise SeldError("choose a dataset folder first")
        config = self.form.config()
        config.data.root = str(self.dataset.root)
        config.data.fmt, config.data.classes = self.dataset.fmt, self.dataset.classes
        config.validate()
        return config

    # ------------------------------------------------------------------ the runs root
    @property
    def runs_root(self) -> Path:
        saved = self.settings.get("runs_root")
        return Path(saved) if saved else Path.home() / "seld-runs"

    def choose_runs_root(self) -> None:
        path = self.prompts.folder("Choose the folder of training runs")
        if path is not None:
            self.set_runs_root(path)

    def set_runs_root(self, root: Path) -> None:
        self.settings.set("runs_root", str(root))
        self.root_edit.setText(str(root))
        self.runs.set_root(Path(root))
        self._form_changed()

    @property
    def run_dir(self) -> Path | None:
        name = self.name_edit.text().strip()
        return self.runs_root / name if name else None

    # ------------------------------------------------------------------ buttons
    def can_start(self) -> bool:
        s = self.dataset.summary
        return (
            not self.checking
            and s is not None
            and s.ok
            and not self.dataset.busy
            and self._summarized_folds() == self.summary_folds()
            and self.run_dir is not None
        )

    def _update_buttons(self) -> None:
        self.start_button.setEnabled(self.can_start())
        s = self.dataset.summary
        self.start_button.setToolTip(
            ""
            if s is None or s.ok
            else f"{len(s.blocking)} problem(s) in the dataset block a run (Dataset tab)"
        )
        shown = self._shown_status()
        self.stop_button.setEnabled(shown == "running")
        self.resume_button.setEnabled(
            not self.checking and shown in ("stopped", "failed") and RunFolder(self.current).has_config()  # type: ignore[arg-type]
        )

    def _shown_status(self) -> str | None:
        if self.current is None:
            return None
        if self.follower is not None and not self.follower.done:
            return "running"
        try:
            status = RunFolder(self.current).status()
        except SeldError:
            return "failed"
        return status.shown_state if status is not None else None

    # ------------------------------------------------------------------ start, stop, resume
    def start(self) -> None:
        """Check the run (in a worker), then start it in its own process and follow it."""
        try:
            config = self.config()
        except SeldError as err:
            self.prompts.error("Start", str(err))
            return
        run_dir, gpus = self.run_dir, self.form.gpu_count
        assert run_dir is not None
        if RunFolder(run_dir).is_run():
            answer = self.prompts.choose(
                "Start",
                f"{run_dir} already holds a run; it is never overwritten. Resume that run, or cancel and "
                "choose another name.",
                ["Resume it", CANCEL],
            )
            if answer == "Resume it":
                self.resume(run_dir)
            return

        def check():
            from core.training.launch import check_before_start, train_command

            warnings = check_before_start(config, run_dir, gpus=gpus)
            return warnings, train_command(config, run_dir, gpus=gpus)

        self._check_then_launch("Start", check, run_dir)
        self.settings.set("train_form", config.to_json())

    def resume(self, run: Path | None) -> None:
        """Continue the stopped (or died, or failed) run in ``run`` from its last checkpoint."""
        if run is None:
            return
        run_dir = Path(run)

        def check():
            from core.training.launch import check_before_start, train_command

            warnings = check_before_start(None, run_dir, resume=True)
            return warnings, train_command(None, run_dir, resume=True)

        self._check_then_launch("Resume", check, run_dir)

    def _check_then_launch(self, what: str, check, run_dir: Path) -> None:
        self.checking = True
        self.status_label.setText(f"{what}: checking {run_dir}…")
        self._update_buttons()

        def checked(result) -> None:
            self.checking = False
            warnings, command = result
            try:
                pid = launch(command, run_dir)
            except SeldError as err:
                failed(str(err))
                return
            self.started[run_dir] = pid
            self.show_run(run_dir, pid=pid)
            for warning in warnings:
                self.live.append_log(f"warning: {warning}")
            self.live.append_log("$ " + " ".join(command))
            self.status_label.setText(f"{what}: {run_dir} is training (process {pid})")
            if what == "Start":
                self.name_edit.setText(default_run_name())
            self.runs.refresh()

        def failed(message: str) -> None:
            self.checking = False
            self.status_label.setText(f"{what}: {message}")
            self._update_buttons()
            self.prompts.error(what, message)

        workers.submit(check, checked, failed, lambda d: failed(d.strip().splitlines()[-1]), owner=self)

    def stop(self, run: Path | None) -> None:
        """Ask the run in ``run`` to stop after its current step (it writes ``last`` and ends)."""
        if run is None:
            return
        RunFolder(run).request_stop()
        self.status_label.setText(f"{run}: stopping after the current step…")
        self.live.append_log("stop requested: the run stops after its current step and writes its checkpoint")

    # ------------------------------------------------------------------ following a run
    def show_run(self, run: Path, pid: int | None = None) -> None:
        """Show the run folder ``run`` in the live view: its events from the start, then new ones."""
        if self.follower is not None:
            self.follower.stop()
            self.follower.deleteLater()
        self.current = Path(run)
        config = _run_config(self.current)
        started_at = None
        try:
            status = RunFolder(self.current).status()
            if status is not None and status.running and pid is None:
                started_at = status.since
        except SeldError:
            pass
        self.live.reset(str(self.current), config.optim.batch_size if config else None, started_at)
        self.follower = RunFollower(self.current, pid=pid, parent=self)
        self.follower.event.connect(self.live.feed)
        self.follower.ended.connect(self._on_run_ended)
        self.follower.start()
        self.results.set_run(self.current)
        self.right_tabs.setCurrentWidget(self.live)
        self._update_buttons()

    def _on_run_ended(self, state: str) -> None:
        run = self.current
        assert run is not None
        self.started.pop(run, None)
        self.live.refresh()
        self.live.append_log(f"the run's process has ended: {state}")
        if state == "failed":
            lines = log_tail(run, 12) or stderr_tail(run)
            for line in lines:
                self.live.append_log(line)
            self.status_label.setText(f"{run}: failed: {lines[-1] if lines else 'see the log'}")
        else:
            self.status_label.setText(f"{run}: {state}")
        self.results.set_run(run)
        self.runs.refresh()
        self._update_buttons()
        self.run_ended.emit(state)

    def _on_listed(self) -> None:
        if self._reattach_pending:
            self._reattach_pending = False
            running = [r for r in self.runs.runs if r.status == "running"]
            if running and self.current is None:
                self.reattach(max(running, key=lambda r: r.created or 0.0))
        self._update_buttons()

    def reattach(self, run: RunSummary) -> None:
        """Follow a run found running (started earlier, by the command line or another window)."""
        self.show_run(run.path)
        self.status_label.setText(f"{run.path}: training (process {run.pid}), followed again")

    # ------------------------------------------------------------------ closing
    def going(self) -> list[Path]:
        """The runs this page started whose process is still going."""
        return [run for run, pid in self.started.items() if not pid_gone(pid)]

    def confirm_close(self) -> bool:
        """Whether the window may close: asked only while a run this page started still trains."""
        going = self.going()
        if not going:
            return True
        names = ", ".join(str(p) for p in going)
        answer = self.prompts.choose(
            "Training is running",
            f"{names} is still training. Keep it running in the background (it is found again when the app "
            "starts), stop it after its current step, or cancel closing?",
            [KEEP, STOP, CANCEL],
        )
        if answer == STOP:
            for run in going:
                self.stop(run)
        elif answer != KEEP:
            return False
        if self.follower is not None:
            self.follower.stop()
        return True
