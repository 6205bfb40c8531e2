"""The window's toolbars. Each choice goes to the controller it concerns the moment it
changes (and to the settings, when it is remembered); nothing reads a toolbar later.

* :class:`ViewToolbar`: the recording's format (auto, or forced), the channel and kind of
  spectrogram, play, the listening pattern, the compute device, test-time rotations (fast by
  default, accurate on demand, each with its measured cost), run.
* :class:`LabelsToolbar`: edit mode, the class of new events, undo, redo, accept, save.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar, QWidget

from core.inference.modes import ACCURATE, rotation_cost_text
from core.session.session import Session
from seldgui.annotation import AnnotationController
from seldgui.model_runner import ModelRunner
from seldgui.playback import PlaybackController
from seldgui.recording_loader import RecordingLoader
from seldgui.settings import Settings

FORMATS = {"auto": None, "FOA AmbiX": "foa", "FOA FuMa": "foa-fuma", "MIC": "mic"}
ROTATION_CHOICES: dict[str, int | str | None] = {"fast": None, "4": 4, "8": 8, "accurate": ACCURATE}
"""The rotations box's choices (the remembered setting) and what each asks the runner for:
fast (the default: 1, no test-time rotation), a set by its size, or the package's own set."""


def rotations_choice(stored: str) -> str:
    """The choice of a remembered setting; older values (``"model's"``, ``"1"``, ``"16"``) map to
    fast, fast and accurate (``"model's"`` was the old default, not a choice the user made)."""
    if stored in ROTATION_CHOICES:
        return stored
    return "accurate" if stored == "16" else "fast"


def rotations_label(choice: str, accurate_n: int = 16) -> str:
    """The box's text of ``choice``, with its measured cost: ``"accurate (16x, ~9x slower)"``."""
    if choice == "fast":
        return "fast (1)"
    n = accurate_n if choice == "accurate" else int(choice)
    if choice == "accurate":
        return f"accurate ({n}x, {rotation_cost_text(n)})" if n > 1 else "accurate (1: the model's)"
    return f"{n} rotations ({rotation_cost_text(n)})"


ROTATIONS_TIP = (
    "test-time rotations: average the model over several exact turns of the sound field. "
    "fast (default): none, the paper's protocol. accurate: the model package's own set (bundled "
    f"models: FOA 16, {rotation_cost_text(16)}; MIC 8, {rotation_cost_text(8)}), usually a little "
    "more accurate. Costs measured on 2 CPU threads, whole run (features included)."
)


def _combo(bar: QToolBar, label: str, items, current: str, on_change, tip: str = "") -> QComboBox:
    """A labelled choice in ``bar`` whose every change goes to ``on_change(text)``."""
    bar.addWidget(QLabel(f" {label} "))
    box = QComboBox()
    box.addItems(list(items))
    box.setCurrentText(current)
    box.setToolTip(tip)
    box.currentTextChanged.connect(on_change)
    bar.addWidget(box)
    return box


class ViewToolbar(QToolBar):
    """``reopen()`` is called when the user picks another format for the open recording."""

    def __init__(
        self,
        actions: dict[str, QAction],
        loader: RecordingLoader,
        playback: PlaybackController,
        runner: ModelRunner,
        settings: Settings,
        reopen,
        parent: QWidget | None = None,
    ):
        super().__init__("View", parent)
        self.setObjectName("viewToolbar")
        self.loader, self.playback, self.runner, self.settings = loader, playback, runner, settings
        self.format_box = _combo(
            self, "Format", FORMATS, "auto", lambda t: setattr(loader, "override", FORMATS[t]),
            "auto: DCASE folder names (foa_*, mic_*), the folder's remembered choice, else you are asked",
        )  # fmt: skip
        self.format_box.activated.connect(lambda _i: reopen())
        self.channel_box = _combo(self, "Channel", "0123", "0", lambda t: loader.set_view(channel=int(t)))
        self.kind_box = _combo(
            self, "Spectrogram", ("logmel", "stft"), loader.kind, lambda t: loader.set_view(kind=t)
        )
        self.addSeparator()
        self.addAction(actions["play"])
        self.pattern_box = _combo(
            self, "Listen", ("cardioid", "hypercardioid", "supercardioid"), playback.pattern, self._set_pattern,
            "virtual microphone pattern when listening to a direction (FOA): click the sphere or map",
        )  # fmt: skip
        self.addSeparator()
        self.device_box = _combo(
            self, "Device", ("auto", "cpu"), "auto", self._set_device,
            "auto: CUDA if present, then Apple MPS, else CPU; the device used is shown after a run",
        )  # fmt: skip
        self.addWidget(QLabel(" Rotations "))
        self.rotations_box = QComboBox()
        for choice in ROTATION_CHOICES:
            self.rotations_box.addItem(rotations_label(choice), choice)
        self.rotations_box.setToolTip(ROTATIONS_TIP)
        self.rotations_box.setCurrentIndex(
            self.rotations_box.findData(rotations_choice(settings.get("rotations")))
        )
        self.rotations_box.currentIndexChanged.connect(
            lambda _i: self._set_rotations(self.rotations_box.currentData())
        )
        self.addWidget(self.rotations_box)
        self._set_rotations(self.rotations_box.currentData())
        runner.model_changed.connect(self.refresh_rotations)
        runner.session.recording_changed.connect(lambda _r: self.refresh_rotations())
        self.refresh_rotations()
        self.addAction(actions["run"])

    def _set_pattern(self, pattern: str) -> None:
        self.playback.set_pattern(pattern)
        self.settings.set("listen_pattern", pattern)

    def _set_device(self, device: str) -> None:
        if device:
            self.runner.device = device
            self.settings.set("device", device)

    def _set_rotations(self, choice: str) -> None:
        choice = rotations_choice(str(choice))
        self.runner.rotations = ROTATION_CHOICES[choice]
        self.settings.set("rotations", choice)

    def set_rotations(self, choice: str) -> None:
        """Choose ``"fast"``, ``"4"``, ``"8"`` or ``"accurate"`` (as the user would)."""
        self.rotations_box.setCurrentIndex(self.rotations_box.findData(rotations_choice(choice)))

    def refresh_rotations(self) -> None:
        """Show the chosen model's own set in the "accurate" choice (FOA 16, MIC 8 for the bundled ones)."""
        n = self.runner.accurate_rotations()
        i = self.rotations_box.findData("accurate")
        self.rotations_box.setItemText(i, rotations_label("accurate", n if n is not None else 16))

    def set_devices(self, devices: list[str]) -> None:
        """The devices this machine has (found in the background); the remembered one is chosen."""
        wanted = self.settings.get("device")
        self.device_box.blockSignals(True)
        self.device_box.clear()
        self.device_box.addItems(devices)
        self.device_box.blockSignals(False)
        self.device_box.setCurrentText(wanted if wanted in devices else "auto")
        self._set_device(self.device_box.currentText())
        found = ", ".join(d for d in devices if d != "auto")
        self.device_box.setToolTip(
            f"found: {found}; auto picks CUDA, then MPS, then CPU. The device used is shown after a run."
        )


class LabelsToolbar(QToolBar):
    """The class box follows the session's class set and the controller's current class."""

    def __init__(
        self,
        actions: dict[str, QAction],
        session: Session,
        annotation: AnnotationController,
        parent: QWidget | None = None,
    ):
        super().__init__("Labels", parent)
        self.setObjectName("labelsToolbar")
        self.session, self.annotation, self.actions_by_name = session, annotation, actions
        self.addAction(actions["edit_mode"])
        self.class_box = _combo(self, "New events", (), "", lambda _t: self._on_class_chosen())
        self.class_box.setToolTip("class of events drawn on the spectrogram (digit keys choose it too)")
        for name in ("undo", "redo", "accept", "save"):
            self.addAction(actions[name])
        session.classes_changed.connect(lambda _c: self._fill_classes())
        annotation.message.connect(lambda _t: self._sync_class_box())
        self._fill_classes()

    def _fill_classes(self) -> None:
        classes = self.session.classes
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItems([f"{i + 1}: {name}" for i, name in enumerate(classes)])
        self.class_box.setCurrentIndex(min(self.annotation.current_class, len(classes) - 1))
        self.class_box.blockSignals(False)
        for digit in (*range(1, 10), 0):
            cls = 9 if digit == 0 else digit - 1
            text = f"Set class: {classes[cls]}" if cls < len(classes) else f"Set class {cls + 1}"
            self.actions_by_name[f"class_{digit}"].setText(text)

    def _on_class_chosen(self) -> None:
        if self.class_box.currentIndex() >= 0:
            self.annotation.current_class = self.class_box.currentIndex()

    def _sync_class_box(self) -> None:
        if self.class_box.currentIndex() != self.annotation.current_class:
            self.class_box.setCurrentIndex(self.annotation.current_class)
