"""The main window: the layout of the views, docks, menus and toolbars, and the wiring of the
controllers that do the work (:mod:`seldgui.recording_loader`, :mod:`seldgui.playback`,
:mod:`seldgui.model_runner`, :mod:`seldgui.annotation`, :mod:`seldgui.energy`). Every
action and the rule that enables it is in :mod:`seldgui.actions`; what is remembered
between runs is in :mod:`seldgui.settings`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QSplitter, QTabWidget, QWidget

from core.common.errors import SeldError
from core.session.session import Session
from seldgui.actions import apply_state, build_actions, current_state, state_signals
from seldgui.annotation import AnnotationController
from seldgui.batch.page import BatchPage
from seldgui.dialogs import FileDialogs, ask_format
from seldgui.energy import EnergyLayer
from seldgui.errors import show_error
from seldgui.inspector import EventInspector
from seldgui.model_runner import ModelRunner, RunProgress, probe_devices
from seldgui.panels import FileListPanel, MetricsPanel
from seldgui.playback import PlaybackController
from seldgui.recording_loader import RecordingLoader
from seldgui.settings import Settings
from seldgui.toolbars import LabelsToolbar, ViewToolbar
from seldgui.training import TrainingPage
from seldgui.views.direction_panel import DirectionPanel
from seldgui.views.time_panels import TimePanels
from seldgui.views.timeline import time_readout

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg);;All files (*)"
LABEL_FILTER = "DCASE labels (*.csv);;All files (*)"
MODEL_FILTER = "SELD Studio models (*.safetensors *.onnx);;All files (*)"
MODEL_SUFFIXES = (".safetensors", ".onnx")
SCREEN_SHARE = 0.9  # of the screen a first start uses


class MainWindow(QMainWindow):
    def __init__(self, session: Session | None = None, settings: Settings | None = None):
        super().__init__()
        self.session = s = session or Session()
        self.settings = settings or Settings()
        self.setWindowTitle("SELD Studio[*]")
        self.setAcceptDrops(True)
        self.files = FileDialogs(self, self.settings)
        self.loader = RecordingLoader(s, self.settings, lambda p, guess: ask_format(self, p, guess), self)
        self.playback = PlaybackController(s, self.settings.get("listen_pattern"), self)
        self.runner = ModelRunner(s, self)
        self.annotation = AnnotationController(s, self)
        self.energy = EnergyLayer(s, self)

        self.time_panels = TimePanels(s, self)
        for view in self.time_panels.editing_views:
            view.editor = self.annotation
        self.direction_panel = DirectionPanel(s, self.energy.set_enabled, self)
        main = QSplitter(Qt.Orientation.Horizontal, self)
        main.addWidget(self.time_panels)
        main.addWidget(self.direction_panel)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 1)
        main.setSizes([700, 300])  # proportions: the time panels get most of the width
        # the pages of the window: review (this layout and its docks) first; other pages (a
        # training page, a batch page) are added with add_page
        self.pages = QTabWidget(self)
        self.pages.setDocumentMode(True)
        self.review_page = main
        self.pages.addTab(main, "Review")
        self._docks_hidden_by_page: list[QDockWidget] = []
        self.pages.currentChanged.connect(self._on_page)
        self.setCentralWidget(self.pages)
        # the views by name, as tests and the screenshot script reach them
        t, d = self.time_panels, self.direction_panel
        self.spectrogram_view, self.lanes_view = t.spectrogram_view, t.lanes_view
        self.tracks_view, self.overview_strip = t.tracks_view, t.overview_strip
        self.direction_view, self.map_view, self.direction_tabs = d.direction_view, d.map_view, d.tabs
        self.energy_box = d.energy_box

        right, left = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.LeftDockWidgetArea
        self.metrics_panel = MetricsPanel(s, self)
        self.metrics_dock = self._dock("Metrics", "metricsDock", self.metrics_panel, right)
        self.inspector = EventInspector(s, self.annotation, self)
        self.event_dock = self._dock("Event", "eventDock", self.inspector, right)
        self.tabifyDockWidget(self.metrics_dock, self.event_dock)
        self.metrics_dock.raise_()
        self.file_panel = FileListPanel(
            lambda entry: self.open_path(entry.path, fmt=entry.fmt), self, on_run_all=self.run_batch
        )
        self.files_dock = self._dock("Files", "filesDock", self.file_panel, left)
        self.files_dock.hide()

        self.named_actions, menus = build_actions(self, self.menuBar())
        self.recent_menu, self.class_menu = menus["recent"], menus["classes"]
        a = self.named_actions
        self.view_bar = ViewToolbar(
            a, self.loader, self.playback, self.runner, self.settings, self._reopen, self
        )
        self.labels_bar = LabelsToolbar(a, s, self.annotation, self)
        self.addToolBar(self.view_bar)
        self.addToolBar(self.labels_bar)
        self.status_label = QLabel("Open a 4-channel FOA or MIC recording (File › Open or drop a file).")
        self.statusBar().addWidget(self.status_label, 1)
        self.run_progress = RunProgress(self.runner)
        self.statusBar().addPermanentWidget(self.run_progress)

        self.batch_page = BatchPage(self)
        self.batch_page.on_run_request = self.run_batch
        self.add_page("Batch", self.batch_page)
        self.training_page = TrainingPage(self.settings, self)
        self.training_page.use_model_requested.connect(self.use_trained_model)
        self.add_page("Train", self.training_page)

        self._connect()
        self._fill_recent_menu()
        self.refresh_actions()
        self.restore_window()
        QTimer.singleShot(1500, self._probe_devices)  # after the window is up: importing torch takes a while

    def add_page(self, title: str, widget: QWidget) -> int:
        """Add a page (a tab beside Review) to the window; returns its index."""
        return self.pages.addTab(widget, title)

    def _on_page(self, index: int) -> None:
        """The review docks (metrics, event, files) belong to the review page: shown only there,
        as the user left them."""
        docks = (self.metrics_dock, self.event_dock, self.files_dock)
        if self.pages.widget(index) is self.review_page:
            for dock in self._docks_hidden_by_page:
                dock.show()
            self._docks_hidden_by_page = []
            return
        hiding = [d for d in docks if d.isVisible()]
        for dock in hiding:
            dock.hide()
        self._docks_hidden_by_page += hiding

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        s, runner, status = self.session, self.runner, self.status_label
        for signal in state_signals(s, runner, self.annotation.stack):
            signal.connect(self.refresh_actions)  # bound: Qt drops it before the children go
        s.recording_changed.connect(self._on_recording)
        s.editing_changed.connect(lambda on: on and self.event_dock.raise_())
        self.annotation.modified_changed.connect(self.setWindowModified)
        for source in (self.annotation.message, self.loader.message, self.playback.message, runner.finished):
            source.connect(status.setText)
        self.annotation.details.connect(status.setToolTip)
        self.loader.failed.connect(self._on_failed)
        self.loader.crashed.connect(self._on_crashed)
        self.loader.opened.connect(self._on_opened)
        runner.started.connect(lambda: status.setText(f"running {runner.model_description()}..."))
        runner.failed.connect(lambda message: self._on_failed("The model run failed", message))
        runner.cancelled.connect(
            lambda: status.setText("model run cancelled; the previous predictions are kept")
        )

    def _probe_devices(self) -> None:
        probe_devices(self.view_bar.set_devices, self)

    def refresh_actions(self, *_changed) -> None:
        """Enable every action by its rule in the current state (:mod:`seldgui.actions`)."""
        apply_state(self.named_actions, current_state(self.session, self.runner, self.annotation.stack))

    # ------------------------------------------------------------------ commands (the actions call them)
    def open_dialog(self) -> None:
        if path := self.files.open_file("Open recording", AUDIO_FILTER):
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        if path := self.files.open_folder("Open folder"):
            self.open_folder(path)

    def open_labels_dialog(self) -> None:
        if path := self.files.open_file("Open reference labels", LABEL_FILTER):
            self.open_labels(path)

    def open_model_dialog(self) -> None:
        if path := self.files.open_file("Open model", MODEL_FILTER):
            self.open_model(path)

    def save_predictions_dialog(self) -> None:
        rec = self.session.recording
        name = Path(rec.path).stem + ".csv" if rec is not None else "predictions.csv"
        if path := self.files.save_file("Save predictions", LABEL_FILTER, name):
            self.save_predictions(path)

    def open_path(self, path: Path | str, fmt: str | None = None) -> None:
        """Load ``path`` in the background (``fmt``: "foa", "foa-fuma" or "mic", else decided as
        :mod:`seldgui.recording_loader` says); on failure the current recording stays open."""
        if self.annotation.confirm_discard("open another recording"):
            self.loader.open(path, fmt)

    def _reopen(self) -> None:
        if self.session.recording is not None:
            self.open_path(self.session.recording.path)

    def open_folder(self, folder: Path | str) -> None:
        """Fill the file list with the folder's recordings (DCASE layouts understood)."""
        try:
            n = self.file_panel.set_folder(folder)
        except SeldError as err:
            self._on_failed("Cannot open folder", str(err))
            return
        self.files_dock.show()
        self.status_label.setText(f"{folder}: {n} recordings; double-click one to open it")

    def open_labels(self, path: Path | str) -> None:
        """Read a DCASE label CSV as the reference; on failure the current labels stay."""
        from core.labels.dcase_csv import read_labels

        if not self.annotation.confirm_discard("open other labels"):
            return
        try:
            table = read_labels(path, classes=self.session.classes)
        except SeldError as err:
            self._on_failed("Cannot open labels", str(err))
            return
        self.session.set_reference(table)
        self.status_label.setText(f"{Path(path).name}: {len(self.session.reference_events)} reference events")
        self._report_moved_rows()

    def open_model(self, path: Path | str) -> None:
        """Choose the model for Run; a bad file gives a dialog and the previous model stays."""
        try:
            description = self.runner.set_model(path)
        except SeldError as err:
            self._on_failed("Cannot open model", str(err))
            return
        self.status_label.setText(f"model: {Path(path).name} ({description}); press F5 to run it")

    def run_model(self) -> None:
        try:
            self.runner.run()
        except SeldError as err:
            self._on_failed("Cannot run the model", str(err))

    def use_trained_model(self, path: Path | str) -> None:
        """A run's model, chosen on the Train page: the model F5 runs, shown on the review page."""
        self.open_model(path)
        self.pages.setCurrentWidget(self.review_page)

    def run_batch(self) -> None:
        """Run the model on the file list's selected recordings (all when at most one is selected)."""
        entries = self.file_panel.selected_entries()
        try:
            self.batch_page.start(entries)
        except SeldError as err:
            self._on_failed("Cannot run the batch", str(err))
            return
        self.pages.setCurrentWidget(self.batch_page)
        self.status_label.setText(f"batch of {len(entries)} recordings started (Batch tab)")

    def save_predictions(self, path: Path) -> None:
        from core.labels.dcase_csv import write_labels

        if self.session.predictions is None:
            return
        try:
            write_labels(self.session.predictions, path, fmt="dcase2020")
        except SeldError as err:
            self._on_failed("Cannot save predictions", str(err))
            return
        self.status_label.setText(f"predictions saved to {path}")

    def toggle_play(self) -> None:
        self.playback.toggle()

    def show_shortcuts(self) -> None:
        from seldgui.dialogs import ShortcutsDialog

        ShortcutsDialog(list(self.named_actions.values()), self).exec()

    def show_about(self) -> None:
        from seldgui.about import AboutDialog

        AboutDialog(self).exec()

    def offer_restore(self, choose=None) -> bool:
        """At start: offer to restore labels a crash left unsaved (see the annotation controller)."""
        return self.annotation.offer_restore(self.loader.open, choose)

    # ------------------------------------------------------------------ outcomes
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.get("recent_files")
        for p in recent:
            self.recent_menu.addAction(p).triggered.connect(lambda _checked=False, p=p: self.open_path(p))
        self.recent_menu.setEnabled(bool(recent))

    def _on_opened(self, rec) -> None:
        self._fill_recent_menu()
        if self.session.annotation.loaded:
            self._report_moved_rows()
        self.annotation.on_recording_opened(rec)

    def _on_recording(self, rec) -> None:
        if rec is None:
            self.setWindowTitle("SELD Studio[*]")
            return
        name = Path(rec.path).name
        self.setWindowTitle(f"{name}[*] - SELD Studio")
        what = rec.fmt.upper() + (" (FuMa)" if rec.convention == "fuma" else "")
        length = time_readout(rec.duration_s, rec.duration_s)
        self.status_label.setText(f"{name}: {what}, {length} at {rec.sample_rate} Hz")

    def _report_moved_rows(self) -> None:
        if moved := self.session.annotation.moved_rows:
            self._on_failed(
                "Labels with clashing rows",
                f"{moved} rows of the label file repeat a class and track in the same frame; "
                "they were put on a new track of their class so that nothing is lost. "
                "Check them and save to write the corrected tracks.",
            )

    def _on_failed(self, title: str, message: str) -> None:
        self.status_label.setText(message)
        show_error(self, title, message)

    def _on_crashed(self, details: str) -> None:
        logging.getLogger("seldgui").error("worker crashed:\n%s", details)
        last = details.strip().splitlines()[-1] if details.strip() else "unknown error"
        show_error(self, "Unexpected error", last)

    @property
    def busy(self) -> bool:
        return self.loader.busy

    # ------------------------------------------------------------------ the window itself
    def restore_window(self) -> None:
        """The size and place of the last run; the first time, most of the screen."""
        geometry = self.settings.get("window_geometry")
        if geometry and self.restoreGeometry(QByteArray(geometry)):
            return
        screen = self.screen().availableGeometry()
        self.resize(int(screen.width() * SCREEN_SHARE), int(screen.height() * SCREEN_SHARE))
        self.move(screen.center() - self.rect().center())

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if not self.annotation.confirm_discard("close") or not self.training_page.confirm_close():
            event.ignore()
            return
        self.settings.set("window_geometry", bytes(self.saveGeometry().data()))
        self.settings.sync()
        event.accept()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        audio = [p for p in paths if p.is_file() and p.suffix.lower() not in (".csv", *MODEL_SUFFIXES)]
        if len(audio) > 1:  # several recordings: the file list, for a batch
            self.file_panel.set_files(audio)
            self.files_dock.show()
            paths = [p for p in paths if p not in audio]
        for path in paths:
            suffix = path.suffix.lower()
            if suffix == ".csv":
                self.open_labels(path)
            elif suffix in MODEL_SUFFIXES:
                self.open_model(path)
            elif path.is_dir():
                self.open_folder(path)
            else:
                self.open_path(path)
