"""The main window: open a recording (menu, command line or drag-and-drop) and show it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
)

from core.session.session import Session
from seldgui import workers
from seldgui.annotation import AnnotationController
from seldgui.errors import show_error
from seldgui.model_runner import ModelRunner
from seldgui.panels import FileListPanel, MetricsPanel
from seldgui.views.doa_sphere import create_direction_view
from seldgui.views.doa_tracks import DoaTracksView
from seldgui.views.event_lanes import EventLanesView
from seldgui.views.overview_strip import OverviewStrip
from seldgui.views.spectrogram_view import SpectrogramView

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg);;All files (*)"
LABEL_FILTER = "DCASE labels (*.csv);;All files (*)"
MODEL_FILTER = "SELD Studio models (*.safetensors *.onnx);;All files (*)"
MODEL_SUFFIXES = (".safetensors", ".onnx")


def sibling_labels(audio: Path) -> Path | None:
    """The label file of a recording: ``<name>.csv`` beside it, or in the DCASE ``metadata_*`` folder."""
    beside = audio.with_suffix(".csv")
    if beside.is_file():
        return beside
    parts = audio.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i].startswith(("foa_", "mic_")):
            meta = Path(*parts[:i], "metadata_" + parts[i].split("_", 1)[1], *parts[i + 1 :]).with_suffix(
                ".csv"
            )
            if meta.is_file():
                return meta
    return None


def _load(path: Path, fmt: str | None, channel: int, kind: str):
    """Open a recording: whole, or (long ones) lazily with a quick overview to show first."""
    from core.dsp.overview import LONG_RECORDING_S, overview_spectrogram
    from core.dsp.spectrogram import channel_spectrogram
    from core.io.audio import load_recording, probe, resolve_format
    from core.io.recording import FileRecording
    from core.labels.dcase_csv import read_labels

    labels_path = sibling_labels(path)
    from core.annotation.document import Annotation

    # the labels are read into keyframes here too, off the GUI thread (long files take a while)
    labels = Annotation.from_table(read_labels(labels_path)) if labels_path is not None else None
    info = probe(path)
    if info.duration_s > LONG_RECORDING_S:
        rec = FileRecording(path, resolve_format(path, fmt))  # never decoded whole
        return rec, overview_spectrogram(path, channel, exact=False), labels
    rec = load_recording(path, fmt=fmt)
    return rec, channel_spectrogram(rec.samples, channel, kind), labels


class MainWindow(QMainWindow):
    def __init__(self, session: Session | None = None):
        super().__init__()
        self.session = session or Session()
        self.setWindowTitle("SELD Studio[*]")
        self.resize(1200, 700)
        self.setAcceptDrops(True)
        self._busy = 0
        self.spectrogram_view = SpectrogramView(self.session, self)
        self.lanes_view = EventLanesView(self.session, self)
        self.tracks_view = DoaTracksView(self.session, self)
        # one time axis for every view
        self.lanes_view.plot.setXLink(self.spectrogram_view.plot)
        self.tracks_view.azimuth_plot.setXLink(self.spectrogram_view.plot)
        self.overview_strip = OverviewStrip(self.session, self.spectrogram_view.plot, self)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        for widget, stretch in (
            (self.overview_strip, 0),
            (self.spectrogram_view, 4),
            (self.lanes_view, 3),
            (self.tracks_view, 3),
        ):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.indexOf(widget), stretch)
        self.direction_view = create_direction_view(self.session, self)
        from PySide6.QtWidgets import QCheckBox, QTabWidget, QVBoxLayout, QWidget

        from seldgui.views.doa_map import DoaMapView

        self.map_view = (
            self.direction_view
            if isinstance(self.direction_view, DoaMapView)
            else DoaMapView(self.session, self)
        )
        tabs = QTabWidget(self)
        if self.map_view is not self.direction_view:
            tabs.addTab(self.direction_view, "Sphere")
        tabs.addTab(self.map_view, "Map")
        self.energy_box = QCheckBox("Energy (model-free: FOA intensity / MIC SRP-PHAT) at the playhead")
        self.energy_box.toggled.connect(self.map_view.set_energy_enabled)
        if self.direction_view is not self.map_view:  # the sphere shows it as a heat layer too
            self.energy_box.toggled.connect(self.direction_view.set_energy_enabled)
        side = QWidget(self)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(tabs, 1)
        side_layout.addWidget(self.energy_box)
        self.direction_tabs = tabs
        main = QSplitter(Qt.Orientation.Horizontal, self)
        main.addWidget(splitter)
        main.addWidget(side)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        self.setCentralWidget(main)
        self.runner = ModelRunner(self.session, self)
        self.annotation = AnnotationController(self.session, self)
        for view in (self.lanes_view, self.spectrogram_view, self.tracks_view):
            view.editor = self.annotation
        self.annotation.modified_changed.connect(self.setWindowModified)
        self.annotation.message.connect(lambda text: self.status_label.setText(text))
        self._pending_restore = None
        self.metrics_panel = MetricsPanel(self.session, self)
        dock = QDockWidget("Metrics", self)
        dock.setObjectName("metricsDock")
        dock.setWidget(self.metrics_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.metrics_dock = dock
        from seldgui.inspector import EventInspector

        self.inspector = EventInspector(self.session, self.annotation, self)
        event_dock = QDockWidget("Event", self)
        event_dock.setObjectName("eventDock")
        event_dock.setWidget(self.inspector)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, event_dock)
        self.tabifyDockWidget(self.metrics_dock, event_dock)
        self.metrics_dock.raise_()
        self.event_dock = event_dock
        self.session.editing_changed.connect(lambda on: on and event_dock.raise_())
        self.file_panel = FileListPanel(lambda entry: self.open_path(entry.path, fmt=entry.fmt), self)
        files = QDockWidget("Files", self)
        files.setObjectName("filesDock")
        files.setWidget(self.file_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, files)
        self.files_dock = files
        self.files_dock.hide()
        self._build_actions()
        self.status_label = QLabel("Open a 4-channel FOA or MIC recording (File > Open or drop a file).")
        self.statusBar().addWidget(self.status_label, 1)
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.statusBar().addPermanentWidget(self.progress_bar)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self.runner.started.connect(self._on_run_started)
        self.runner.progress.connect(self._on_run_progress)
        self.runner.finished.connect(self._on_run_finished)
        self.runner.failed.connect(self._on_run_failed)
        self.runner.cancelled.connect(self._on_run_cancelled)
        self.session.recording_changed.connect(self._on_recording)
        self.session.listen_changed.connect(self._apply_listen)
        self.session.playhead_changed.connect(self._on_playhead_moved)
        self._fill_recent_menu()
        from PySide6.QtCore import QTimer

        QTimer.singleShot(1500, self._probe_devices)  # after the window is up: importing torch takes a while
        self.player = None
        self._ticking = False  # True while the play timer itself moves the playhead
        from PySide6.QtCore import QTimer

        self.play_timer = QTimer(self)
        self.play_timer.setInterval(30)  # display rate while playing
        self.play_timer.timeout.connect(self._on_play_tick)

    # ------------------------------------------------------------------ actions
    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open...", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self._open_dialog)
        menu.addAction(self.open_action)
        self.open_folder_action = QAction("Open &folder...", self)
        self.open_folder_action.triggered.connect(self._open_folder_dialog)
        menu.addAction(self.open_folder_action)
        self.recent_menu = menu.addMenu("Open &recent")
        self.open_labels_action = QAction("Open &labels...", self)
        self.open_labels_action.triggered.connect(self._open_labels_dialog)
        menu.addAction(self.open_labels_action)
        menu.addSeparator()
        self.annotation_actions = actions = self.annotation.build_actions(self)
        menu.addAction(actions["save"])
        menu.addAction(actions["save_as"])
        menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)

        edit_menu = self.menuBar().addMenu("&Edit")
        for name in (
            "undo",
            "redo",
            None,
            "edit_mode",
            None,
            "select_all",
            "next",
            "previous",
            "delete",
            "nudge_left",
            "nudge_right",
            "split",
            None,
            "keyframe",
            "delete_keyframe",
            "simplify",
            None,
            "accept",
        ):
            edit_menu.addSeparator() if name is None else edit_menu.addAction(actions[name])
        class_menu = edit_menu.addMenu("Set &class (digit keys)")
        for digit in (*range(1, 10), 0):
            class_menu.addAction(actions[f"class_{digit}"])
        self.class_menu = class_menu

        play_menu = self.menuBar().addMenu("&Play")
        self.play_action = QAction("&Play / pause", self, shortcut=QKeySequence(Qt.Key.Key_Space))
        self.play_action.triggered.connect(self.toggle_play)
        play_menu.addAction(self.play_action)
        self.listen_reset_action = QAction("Listen to the &plain channel", self)
        self.listen_reset_action.triggered.connect(lambda: self.session.set_listen_direction(None))
        play_menu.addAction(self.listen_reset_action)

        model_menu = self.menuBar().addMenu("&Model")
        self.open_model_action = QAction("Open &model...", self)
        self.open_model_action.triggered.connect(self._open_model_dialog)
        model_menu.addAction(self.open_model_action)
        self.run_action = QAction("&Run model", self, shortcut=QKeySequence("F5"))
        self.run_action.triggered.connect(self.run_model)
        model_menu.addAction(self.run_action)
        self.cancel_action = QAction("&Cancel run", self, shortcut=QKeySequence("Escape"))
        self.cancel_action.setEnabled(False)
        model_menu.addAction(self.cancel_action)
        model_menu.addSeparator()
        self.save_predictions_action = QAction("&Save predictions...", self)
        self.save_predictions_action.triggered.connect(self._save_predictions_dialog)
        self.save_predictions_action.setEnabled(False)
        model_menu.addAction(self.save_predictions_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.shortcuts_action = QAction("&Keyboard shortcuts", self, shortcut=QKeySequence("F1"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)

        bar = QToolBar("View", self)
        bar.setObjectName("viewToolbar")
        self.addToolBar(bar)
        bar.addWidget(QLabel(" Format "))
        self.format_box = QComboBox()
        self.format_box.addItems(["auto", "FOA", "MIC"])
        self.format_box.setToolTip("auto: from DCASE folder names (foa_*, mic_*); else choose FOA or MIC")
        self.format_box.activated.connect(self._reopen_with_format)
        bar.addWidget(self.format_box)
        bar.addWidget(QLabel(" Channel "))
        self.channel_box = QComboBox()
        self.channel_box.addItems(["0", "1", "2", "3"])
        self.channel_box.currentIndexChanged.connect(self._reload_view)
        bar.addWidget(self.channel_box)
        bar.addWidget(QLabel(" Spectrogram "))
        self.kind_box = QComboBox()
        self.kind_box.addItems(["logmel", "stft"])
        self.kind_box.currentIndexChanged.connect(self._reload_view)
        bar.addWidget(self.kind_box)
        bar.addSeparator()
        bar.addAction(self.play_action)
        bar.addWidget(QLabel(" Listen "))
        self.pattern_box = QComboBox()
        self.pattern_box.addItems(["cardioid", "hypercardioid", "supercardioid"])
        self.pattern_box.setToolTip(
            "virtual microphone pattern when listening to a direction (FOA): click the sphere or map"
        )
        self.pattern_box.currentIndexChanged.connect(
            lambda _i: self._apply_listen(self.session.listen_direction)
        )
        bar.addWidget(self.pattern_box)
        bar.addSeparator()
        bar.addWidget(QLabel(" Device "))
        self.device_box = QComboBox()
        self.device_box.addItems(["auto", "cpu"])  # filled with what exists once torch has loaded
        self.device_box.setToolTip(
            "auto: CUDA if present, then Apple MPS, else CPU; the device used is shown after a run"
        )
        bar.addWidget(self.device_box)
        bar.addWidget(QLabel(" Rotations "))
        self.rotations_box = QComboBox()
        self.rotations_box.addItems(["model's", "1", "4", "8", "16"])
        self.rotations_box.setToolTip(
            "test-time rotations: average the model over this many exact turns of the sound field "
            "(FOA: 1, 4, 8, 16; MIC: 1, 4, 8); more is usually more accurate and proportionally slower. "
            "1: the paper's protocol; model's: what the model package says"
        )
        bar.addWidget(self.rotations_box)
        bar.addAction(self.run_action)

        edit_bar = QToolBar("Labels", self)
        edit_bar.setObjectName("labelsToolbar")
        self.addToolBar(edit_bar)
        edit_bar.addAction(actions["edit_mode"])
        edit_bar.addWidget(QLabel(" New events "))
        self.class_box = QComboBox()
        self.class_box.setToolTip("class of events drawn on the spectrogram (digit keys choose it too)")
        self.class_box.currentIndexChanged.connect(self._on_class_chosen)
        edit_bar.addWidget(self.class_box)
        edit_bar.addAction(actions["undo"])
        edit_bar.addAction(actions["redo"])
        edit_bar.addAction(actions["accept"])
        edit_bar.addAction(actions["save"])
        self.session.classes_changed.connect(lambda _c: self._fill_classes())
        self.annotation.message.connect(lambda _t: self._sync_class_box())
        self._fill_classes()

    # ------------------------------------------------------------------ labels
    def _fill_classes(self) -> None:
        classes = self.session.classes
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItems([f"{i + 1}: {name}" for i, name in enumerate(classes)])
        self.class_box.setCurrentIndex(min(self.annotation.current_class, len(classes) - 1))
        self.class_box.blockSignals(False)
        for digit in (*range(1, 10), 0):
            cls = 9 if digit == 0 else digit - 1
            action = self.annotation_actions[f"class_{digit}"]
            action.setText(f"Set class: {classes[cls]}" if cls < len(classes) else f"Set class {cls + 1}")
            action.setEnabled(cls < len(classes))

    def _on_class_chosen(self, index: int) -> None:
        if index >= 0:
            self.annotation.current_class = index

    def _sync_class_box(self) -> None:
        if self.class_box.currentIndex() != self.annotation.current_class:
            self.class_box.setCurrentIndex(self.annotation.current_class)

    def show_shortcuts(self) -> None:
        from seldgui.dialogs import ShortcutsDialog

        ShortcutsDialog(self.findChildren(QAction), self).exec()

    def offer_restore(self, choose=None) -> bool:
        """At start: offer to restore labels a crash left unsaved. ``True`` when one is being restored.

        ``choose(autosave) -> "restore" | "discard" | "later"`` decides instead of a dialog.
        """
        from core.annotation.autosave import remove_autosave

        found, damaged = self.annotation.pending_restore()
        if damaged:  # all of them in the tooltip (and the log), none hidden behind the next
            n = len(damaged)
            many = f"{n} damaged autosaves (hover to see all), first" if n > 1 else "a damaged autosave"
            self.status_label.setText(f"ignored {many}: {damaged[0]}")
            self.status_label.setToolTip("\n".join(damaged))
        if not found:
            return False
        saved = found[0]
        answer = (choose or self._ask_restore)(saved)
        if answer == "restore":
            if not Path(saved.recording).is_file():
                self._on_failed("Cannot restore", f"the recording {saved.recording} is no longer there")
                return False
            self._pending_restore = saved
            self._start_load(Path(saved.recording), None)
            return True
        if answer == "discard":
            remove_autosave(self.annotation.autosave_dir, saved.recording, saved.labels)
        return False

    def _ask_restore(self, saved) -> str:
        import time

        from PySide6.QtWidgets import QMessageBox

        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved.saved_at))
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Restore unsaved labels?")
        refused = ""
        if saved.n_refused:
            refused = (
                f" {saved.n_refused} damaged event{'s' if saved.n_refused != 1 else ''} of the file "
                "cannot be restored; the file is kept aside unchanged."
            )
            box.setDetailedText("\n".join(saved.refused))
        box.setText(
            f"SELD Studio closed with unsaved labels for {Path(saved.recording).name} "
            f"({len(saved.annotation)} events, autosaved {when}).{refused} Restore them?"
        )
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        clicked = box.clickedButton()
        return "restore" if clicked is restore else "discard" if clicked is discard else "later"

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.annotation.confirm_discard("close"):
            event.accept()
        else:
            event.ignore()

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", "", AUDIO_FILTER)
        if path:
            self.open_path(Path(path))

    def _open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open folder")
        if path:
            self.open_folder(Path(path))

    def open_folder(self, folder: Path | str) -> None:
        """Fill the file list with the folder's recordings (DCASE layouts understood)."""
        from core.common.errors import SeldError

        try:
            n = self.file_panel.set_folder(folder)
        except SeldError as err:
            self._on_failed("Cannot open folder", str(err))
            return
        self.files_dock.show()
        self.status_label.setText(f"{folder}: {n} recordings; double-click one to open it")

    def _chosen_format(self, fmt: str | None) -> str | None:
        choice = self.format_box.currentText().lower()
        return fmt if choice == "auto" else choice

    def _reopen_with_format(self) -> None:
        rec = self.session.recording
        if rec is not None and rec.path:
            self.open_path(Path(rec.path))

    # ------------------------------------------------------------------ recent files
    def _recent(self) -> list[str]:
        from PySide6.QtCore import QSettings

        value = QSettings().value("recentFiles", [])
        return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]

    def _remember(self, path: Path) -> None:
        from PySide6.QtCore import QSettings

        recent = [str(path)] + [p for p in self._recent() if p != str(path)]
        QSettings().setValue("recentFiles", recent[:10])
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _checked=False, p=p: self.open_path(Path(p)))
        self.recent_menu.setEnabled(bool(self._recent()))

    def _open_labels_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open reference labels", "", LABEL_FILTER)
        if path:
            self.open_labels(Path(path))

    def open_labels(self, path: Path | str) -> None:
        """Read a DCASE label CSV as the reference; on failure the current labels stay."""
        from core.common.errors import SeldError
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

    def _probe_devices(self) -> None:
        """Find the compute devices in the background (importing torch takes a moment)."""
        from seldgui.model_runner import available_devices

        worker = workers.FunctionWorker(available_devices)
        worker.signals.finished.connect(self._on_devices)
        workers.start(worker)

    def _on_devices(self, devices: list[str]) -> None:
        current = self.device_box.currentText()
        self.device_box.clear()
        self.device_box.addItems(devices)
        if current in devices:
            self.device_box.setCurrentText(current)
        self.device_box.setToolTip(
            f"found: {', '.join(d for d in devices if d != 'auto')}; auto picks CUDA, then MPS, then CPU. "
            "The device used is shown after a run."
        )

    # ------------------------------------------------------------------ playback
    def _ensure_player(self):
        from core.session.playback import PlaybackSignal, Player

        rec = self.session.recording
        if rec is None:
            return None
        if self.player is None or getattr(self, "_player_recording", None) is not rec:
            source = rec if getattr(rec, "lazy", False) else rec.samples
            self.player = Player(PlaybackSignal(source, rec.fmt, rec.sample_rate))
            self._player_recording = rec
            self._apply_listen(self.session.listen_direction)
        return self.player

    def toggle_play(self) -> None:
        player = self._ensure_player()
        if player is None:
            return
        if player.playing:
            player.pause()
            self.play_timer.stop()
        else:
            player.play(self.session.playhead_s)
            self.play_timer.start()
            self.status_label.setText(f"playing ({player.output.name})")

    def _on_play_tick(self) -> None:
        player = self.player
        if player is None:
            self.play_timer.stop()
            return
        self._ticking = True
        self.session.set_playhead(player.position())
        self._ticking = False
        if not player.playing:
            self.play_timer.stop()

    def _on_playhead_moved(self, seconds: float) -> None:
        if self.player is not None and self.player.playing and not self._ticking:
            self.player.seek(seconds)  # a click while playing: continue from there

    def _apply_listen(self, direction) -> None:
        from core.common.errors import SeldError

        player = self.player
        if player is None:
            return
        try:
            if direction is None:
                player.signal.listen_to_channel(0)
            else:
                player.signal.listen_to(direction[0], direction[1], self.pattern_box.currentText())
                self.status_label.setText(
                    f"listening to azimuth {direction[0]:.0f}°, elevation {direction[1]:.0f}° "
                    f"({self.pattern_box.currentText()})"
                )
        except SeldError as err:
            self.status_label.setText(str(err))

    # ------------------------------------------------------------------ model
    def _open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", MODEL_FILTER)
        if path:
            self.open_model(Path(path))

    def open_model(self, path: Path | str) -> None:
        """Choose the model for Run; a bad file gives a dialog and the previous model stays."""
        from core.common.errors import SeldError

        try:
            description = self.runner.set_model(path)
        except SeldError as err:
            self._on_failed("Cannot open model", str(err))
            return
        self.status_label.setText(f"model: {Path(path).name} ({description}); press F5 to run it")

    def run_model(self) -> None:
        from core.common.errors import SeldError

        self.runner.device = self.device_box.currentText()
        choice = self.rotations_box.currentText()
        self.runner.rotations = int(choice) if choice.isdigit() else None
        try:
            self.runner.run()
        except SeldError as err:
            self._on_failed("Cannot run the model", str(err))

    def _on_run_started(self) -> None:
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.cancel_button.show()
        self.cancel_action.setEnabled(True)
        self.cancel_action.triggered.connect(self.runner.cancel)
        self.run_action.setEnabled(False)
        self.status_label.setText(f"running {self.runner.model_description()}...")

    def _on_run_progress(self, done: int, total: int, stage: str) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(f"{stage} %p%")

    def _run_ended(self) -> None:
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.cancel_action.setEnabled(False)
        try:
            self.cancel_action.triggered.disconnect(self.runner.cancel)
        except (RuntimeError, TypeError):
            pass
        self.run_action.setEnabled(True)

    def _on_run_finished(self, summary: str) -> None:
        self._run_ended()
        self.save_predictions_action.setEnabled(True)
        self.status_label.setText(summary)

    def _on_run_failed(self, message: str) -> None:
        self._run_ended()
        self._on_failed("The model run failed", message)

    def _on_run_cancelled(self) -> None:
        self._run_ended()
        self.status_label.setText("model run cancelled; the previous predictions are kept")

    def _save_predictions_dialog(self) -> None:
        rec = self.session.recording
        default = (Path(rec.path).stem + ".csv") if rec is not None and rec.path else "predictions.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Save predictions", default, LABEL_FILTER)
        if path:
            self.save_predictions(Path(path))

    def save_predictions(self, path: Path) -> None:
        from core.common.errors import SeldError
        from core.labels.dcase_csv import write_labels

        if self.session.predictions is None:
            return
        try:
            write_labels(self.session.predictions, path, fmt="dcase2020")
        except SeldError as err:
            self._on_failed("Cannot save predictions", str(err))
            return
        self.status_label.setText(f"predictions saved to {path}")

    # ------------------------------------------------------------------ loading
    def open_path(self, path: Path | str, fmt: str | None = None) -> None:
        """Load ``path`` in the background; on failure the current recording stays open."""
        path = Path(path)
        if not self.annotation.confirm_discard("open another recording"):
            return
        self.status_label.setText(f"Loading {path.name}...")
        self._start_load(path, fmt)

    def _start_load(self, path: Path, fmt: str | None) -> None:
        fmt = self._chosen_format(fmt)
        channel = self.channel_box.currentIndex()
        kind = self.kind_box.currentText()
        worker = workers.FunctionWorker(lambda: _load(path, fmt, channel, kind))
        worker.signals.finished.connect(self._on_loaded)
        worker.signals.failed.connect(self._on_load_failed)
        worker.signals.crashed.connect(self._on_crashed)
        self._busy += 1
        workers.start(worker)

    def _reload_view(self) -> None:
        rec = self.session.recording
        if rec is None:
            return
        from core.dsp.spectrogram import channel_spectrogram

        channel, kind = self.channel_box.currentIndex(), self.kind_box.currentText()
        if getattr(rec, "lazy", False):
            from core.dsp.overview import overview_spectrogram

            worker = workers.FunctionWorker(lambda: overview_spectrogram(rec.path, channel, fmt=rec.fmt))
        else:
            worker = workers.FunctionWorker(lambda: channel_spectrogram(rec.samples, channel, kind))
        worker.signals.finished.connect(self.session.set_spectrogram)
        worker.signals.failed.connect(self._on_view_failed)
        worker.signals.crashed.connect(self._on_crashed)
        workers.start(worker)

    def _on_loaded(self, result) -> None:
        self._busy -= 1
        rec, spec, labels = result  # labels: an Annotation, or None
        self.session.set_recording(rec, spec)
        self._remember(Path(rec.path))
        if getattr(rec, "lazy", False):
            self._reload_view()  # the exact max-pooled overview, computed in the background
        if labels is not None:
            self.session.set_annotation(labels)
            self._report_moved_rows()
        saved, self._pending_restore = self._pending_restore, None
        if saved is not None and Path(saved.recording) == Path(rec.path).absolute():
            self.annotation.restore(saved)

    def _report_moved_rows(self) -> None:
        moved = self.session.annotation.moved_rows
        if moved:
            self._on_failed(
                "Labels with clashing rows",
                f"{moved} rows of the label file repeat a class and track in the same frame; "
                "they were put on a new track of their class so that nothing is lost. "
                "Check them and save to write the corrected tracks.",
            )

    # Slots are bound methods of this window (not lambdas), so that results emitted in a
    # pool thread are queued to the GUI thread.
    def _on_load_failed(self, message: str) -> None:
        self._busy = max(0, self._busy - 1)
        self._on_failed("Cannot open recording", message)

    def _on_view_failed(self, message: str) -> None:
        self._on_failed("Cannot draw spectrogram", message)

    def _on_failed(self, title: str, message: str) -> None:
        self.status_label.setText(message)
        show_error(self, title, message)

    def _on_crashed(self, details: str) -> None:
        import logging

        self._busy = max(0, self._busy - 1)
        logging.getLogger("seldgui").error("worker crashed:\n%s", details)
        last = details.strip().splitlines()[-1] if details.strip() else "unknown error"
        show_error(self, "Unexpected error", last)

    def _on_recording(self, rec) -> None:
        if self.player is not None:
            self.player.pause()
            self.play_timer.stop()
            self.player = None
        if rec is None:
            self.setWindowTitle("SELD Studio[*]")
            return
        name = Path(rec.path).name if rec.path else "recording"
        self.setWindowTitle(f"{name}[*] - SELD Studio")
        dur = rec.duration_s
        self.status_label.setText(f"{name}: {rec.fmt.upper()}, {dur:.2f} s at {rec.sample_rate} Hz")

    @property
    def busy(self) -> bool:
        return self._busy > 0

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt API)
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
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
