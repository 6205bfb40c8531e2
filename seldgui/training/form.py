"""The training form: a :class:`~core.training.config.TrainConfig` as widgets.

Folds, loss (the paper's homogeneous MSE; CE + MSE with its two weights; the DOA MSE masked
to active classes or not), epochs and steps per epoch, batch size, learning rate and
warm-up, SpecAugment, rotation augmentation, seed, the starting weights (random, the bundled
model, a chosen package), the device (probed off the GUI thread: importing torch takes a
while), the number of GPUs (several: torchrun) and mixed precision. A preset fills the form
(:meth:`core.training.presets.Preset.apply`); every field stays editable.

The form edits a base configuration (:meth:`TrainForm.set_config`): fields it does not show
(the model's size, the segment length, data workers) keep the base's values, so a saved or
preset configuration goes through the form unchanged. The data root, format and class set
are the dataset panel's, set by the page.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.common.errors import SeldError
from core.training.config import TrainConfig
from core.training.presets import PRESETS
from seldgui import workers
from seldgui.training.prompts import Prompts

INIT_CHOICES = ("random weights", "the bundled model", "a model package")
LOSSES = {"homogeneous_mse": "homogeneous MSE (the paper)", "ce_mse": "CE + MSE (weighted)"}


def parse_folds(text: str, what: str) -> list[int]:
    """``"3-6, 8"`` -> ``[3, 4, 5, 6, 8]``; a :class:`SeldError` naming ``what`` for anything else."""
    folds: list[int] = []
    for part in (p.strip() for p in text.replace(" ", ",").split(",")):
        if not part:
            continue
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise SeldError(f"{what}: {text!r} is not a list of fold numbers (e.g. 3-6, 8)")
        first, last = int(low), int(high or low)
        if last < first or last - first > 10_000:
            raise SeldError(f"{what}: {part!r} is not a range of folds")
        folds.extend(range(first, last + 1))
    return folds


def format_folds(folds: list[int]) -> str:
    """``[3, 4, 5, 6, 8]`` -> ``"3-6, 8"``."""
    out, values = [], sorted(folds)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ", ".join(out)


def _spin(low: int, high: int, suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSuffix(suffix)
    return box


def _real(low: float, high: float, decimals: int, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    return box


class TrainForm(QWidget):
    """See the module docstring. ``changed`` after any edit."""

    changed = Signal()

    def __init__(self, prompts: Prompts, parent: QWidget | None = None):
        super().__init__(parent)
        self.prompts = prompts
        self.base = TrainConfig()
        self.cuda_count = 0
        self._filling = False
        self._build()
        self.set_config(self.base)
        workers.submit(self._probe_devices, self.set_devices, owner=self)

    @staticmethod
    def _probe_devices() -> list[str]:
        from core.training.launch import device_choices

        return device_choices()

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("(choose a preset)", "")
        for key, preset in PRESETS.items():
            self.preset_combo.addItem(preset.name, key)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, preset.description, 3)  # tooltip
        self.preset_combo.activated.connect(lambda _i: self.apply_preset(self.preset_combo.currentData()))

        self.train_folds, self.val_folds, self.test_folds = QLineEdit(), QLineEdit(), QLineEdit()
        self.loss_combo = QComboBox()
        for key, name in LOSSES.items():
            self.loss_combo.addItem(name, key)
        self.w_ce, self.w_mse = _real(0, 1e9, 3, 1), _real(0, 1e9, 1, 100)
        self.mask_doa = QCheckBox("DOA error on the active classes only (masked)")
        self.epochs = _spin(1, 10_000_000)
        self.steps_per_epoch = _spin(0, 1_000_000_000)
        self.steps_per_epoch.setSpecialValueText("one pass over the data")
        self.eval_every = _spin(1, 10_000_000, " epoch(s)")
        self.batch_size = _spin(1, 1_000_000)
        self.lr = _real(1e-7, 10, 7, 1e-5)
        self.warmup_epochs = _spin(0, 10_000_000, " epoch(s)")
        self.warmup_lr = _real(1e-7, 10, 7, 1e-5)
        self.spec_augment = QCheckBox("SpecAugment (time and frequency masks)")
        self.rotate = QCheckBox("rotation augmentation (exact sound-field rotations)")
        self.seed = _spin(0, 2**31 - 1)
        self.init_combo = QComboBox()
        self.init_combo.addItems(list(INIT_CHOICES))
        self.init_path = QLineEdit()
        self.init_path.setPlaceholderText("a .safetensors model package")
        self.init_browse = QPushButton("Browse…")
        self.init_browse.clicked.connect(self._browse_init)
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu"])
        self.gpus = _spin(1, 1)
        self.amp = QCheckBox("mixed precision on CUDA")
        self.command = QLineEdit()
        self.command.setReadOnly(True)
        self.command.setToolTip("the command line the run will be")

        data = QFormLayout()
        data.addRow("Preset", self.preset_combo)
        data.addRow("Training folds", self.train_folds)
        data.addRow("Validation folds", self.val_folds)
        data.addRow("Test folds", self.test_folds)
        loss = QFormLayout()
        loss.addRow("Loss", self.loss_combo)
        weights = QHBoxLayout()
        weights.addWidget(QLabel("CE weight"))
        weights.addWidget(self.w_ce)
        weights.addWidget(QLabel("MSE weight"))
        weights.addWidget(self.w_mse)
        loss.addRow("", weights)
        loss.addRow("", self.mask_doa)
        sched = QFormLayout()
        sched.addRow("Epochs", self.epochs)
        sched.addRow("Steps per epoch", self.steps_per_epoch)
        sched.addRow("Evaluate every", self.eval_every)
        sched.addRow("Batch size", self.batch_size)
        sched.addRow("Learning rate", self.lr)
        sched.addRow("Warm-up", self.warmup_epochs)
        sched.addRow("Warm-up rate", self.warmup_lr)
        sched.addRow("", self.spec_augment)
        sched.addRow("", self.rotate)
        sched.addRow("Seed", self.seed)
        start = QFormLayout()
        start.addRow("Start from", self.init_combo)
        init_row = QHBoxLayout()
        init_row.addWidget(self.init_path, 1)
        init_row.addWidget(self.init_browse)
        start.addRow("", init_row)
        start.addRow("Device", self.device_combo)
        start.addRow("GPUs", self.gpus)
        start.addRow("", self.amp)
        start.addRow("Command", self.command)

        layout = QVBoxLayout(self)
        for title, inner in (("Data", data), ("Loss", loss), ("Schedule", sched), ("Start", start)):
            box = QGroupBox(title)
            box.setLayout(inner)
            layout.addWidget(box)
        layout.addStretch(1)

        for edit in (self.train_folds, self.val_folds, self.test_folds, self.init_path):
            edit.textChanged.connect(self._edited)
        for combo in (self.loss_combo, self.init_combo, self.device_combo):
            combo.currentIndexChanged.connect(self._edited)
        for spin in (
            self.w_ce, self.w_mse, self.epochs, self.steps_per_epoch, self.eval_every, self.batch_size,
            self.lr, self.warmup_epochs, self.warmup_lr, self.seed, self.gpus,
        ):  # fmt: skip
            spin.valueChanged.connect(self._edited)
        for check in (self.mask_doa, self.spec_augment, self.rotate, self.amp):
            check.toggled.connect(self._edited)

    def _browse_init(self) -> None:
        path = self.prompts.open_file("Start from a model package", "Model packages (*.safetensors)")
        if path is not None:
            self.init_combo.setCurrentIndex(2)
            self.init_path.setText(str(path))

    def _edited(self, *_args) -> None:
        if self._filling:
            return
        self._update_enabled()
        self.changed.emit()

    def _update_enabled(self) -> None:
        ce = self.loss_combo.currentData() == "ce_mse"
        self.w_ce.setEnabled(ce)
        self.w_mse.setEnabled(ce)
        package = self.init_combo.currentIndex() == 2
        self.init_path.setEnabled(package)
        self.init_browse.setEnabled(package)
        self.gpus.setEnabled(self.cuda_count > 1 and self.device_combo.currentText() in ("auto", "cuda"))

    # ------------------------------------------------------------------ devices
    def set_devices(self, devices: list[str]) -> None:
        """The device choices (``device_choices()``: auto, cpu, each CUDA device, mps)."""
        current = self.base.device if self._filling else self.device_combo.currentText()
        self._filling = True
        try:
            self.device_combo.clear()
            self.device_combo.addItems(devices)
            if current not in devices:
                self.device_combo.addItem(current)
            self.device_combo.setCurrentText(current)
            self.cuda_count = sum(1 for d in devices if d.startswith("cuda:"))
            self.gpus.setMaximum(max(1, self.cuda_count))
        finally:
            self._filling = False
        self._update_enabled()

    @property
    def gpu_count(self) -> int:
        return self.gpus.value() if self.gpus.isEnabled() else 1

    # ------------------------------------------------------------------ config <-> widgets
    def apply_preset(self, key: str) -> None:
        """Fill the form with preset ``key``'s recipe, keeping the folds (every field stays editable)."""
        if not key:
            return
        try:
            current = self.config()
        except SeldError:
            current = self.base
        self.set_config(PRESETS[key].apply(current))
        self.changed.emit()

    def set_config(self, config: TrainConfig) -> None:
        """Show ``config`` (kept as the base for the fields the form does not show)."""
        self.base = copy.deepcopy(config)
        d, o = config.data, config.optim
        self._filling = True
        try:
            self.train_folds.setText(format_folds(d.train_folds))
            self.val_folds.setText(format_folds(d.val_folds))
            self.test_folds.setText(format_folds(d.test_folds))
            self.loss_combo.setCurrentIndex(max(0, self.loss_combo.findData(o.loss)))
            self.w_ce.setValue(o.w_ce)
            self.w_mse.setValue(o.w_mse)
            self.mask_doa.setChecked(o.mask_inactive_doa)
            self.epochs.setValue(o.epochs)
            self.steps_per_epoch.setValue(o.steps_per_epoch)
            self.eval_every.setValue(o.eval_every)
            self.batch_size.setValue(o.batch_size)
            self.lr.setValue(o.lr)
            self.warmup_epochs.setValue(o.warmup_epochs)
            self.warmup_lr.setValue(o.warmup_lr)
            self.spec_augment.setChecked(d.spec_augment)
            self.rotate.setChecked(d.rotate_augment)
            self.seed.setValue(min(config.seed, self.seed.maximum()))
            if not config.init_from:
                self.init_combo.setCurrentIndex(0)
            elif config.init_from == "bundled":
                self.init_combo.setCurrentIndex(1)
            else:
                self.init_combo.setCurrentIndex(2)
                self.init_path.setText(config.init_from)
            if self.device_combo.findText(config.device) < 0:
                self.device_combo.addItem(config.device)
            self.device_combo.setCurrentText(config.device)
            self.amp.setChecked(o.amp)
        finally:
            self._filling = False
        self._update_enabled()

    def config(self) -> TrainConfig:
        """The configuration the form shows, validated (a :class:`SeldError` naming a bad field)."""
        c = copy.deepcopy(self.base)
        d, o = c.data, c.optim
        d.train_folds = parse_folds(self.train_folds.text(), "training folds")
        d.val_folds = parse_folds(self.val_folds.text(), "validation folds")
        d.test_folds = parse_folds(self.test_folds.text(), "test folds")
        o.loss = self.loss_combo.currentData()
        o.w_ce, o.w_mse = self.w_ce.value(), self.w_mse.value()
        o.mask_inactive_doa = self.mask_doa.isChecked()
        o.epochs, o.steps_per_epoch = self.epochs.value(), self.steps_per_epoch.value()
        o.eval_every, o.batch_size = self.eval_every.value(), self.batch_size.value()
        o.lr, o.warmup_epochs, o.warmup_lr = (
            self.lr.value(),
            self.warmup_epochs.value(),
            self.warmup_lr.value(),
        )
        d.spec_augment, d.rotate_augment = self.spec_augment.isChecked(), self.rotate.isChecked()
        c.seed = self.seed.value()
        choice = self.init_combo.currentIndex()
        if choice == 2:
            path = self.init_path.text().strip()
            if not path:
                raise SeldError("start from a model package: choose the package file")
            c.init_from = str(Path(path))
        else:
            c.init_from = "bundled" if choice == 1 else ""
        c.device = self.device_combo.currentText()
        o.amp = self.amp.isChecked()
        c.validate()
        return c

    def show_command(self, command: list[str] | None, problem: str = "") -> None:
        """Show the command line a start would run (or why there is none yet)."""
        import shlex

        self.command.setText(shlex.join(command) if command else problem)
        self.command.setToolTip(self.command.text())
        self.command.setCursorPosition(0)
