"""The event inspector: the selected reference event's class, track, times, direction and distance.

Typing a value is one undoable edit through the annotation controller, like a drag; the
panel itself only observes the session (selection, labels, playhead). The direction
fields show the event's direction at the playhead (interpolated between keyframes) and
setting them keys the event there, exactly as a click on the sphere would.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from core.annotation import edits
from core.labels.table import LABEL_HOP_S
from core.session.session import Session
from seldgui.views.timeline import TimeSpinBox


def _spin(low: float, high: float, decimals: int, step: float, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)  # one edit when the value is entered, not per keystroke
    return box


class EventInspector(QWidget):
    """Edits the one selected reference event (disabled otherwise)."""

    def __init__(self, session: Session, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.controller = controller
        self._updating = False
        self.title = QLabel("Select one reference event (edit mode: E) to see and edit it here.")
        self.title.setWordWrap(True)
        self.class_box = QComboBox()
        self.track = QSpinBox()
        self.track.setRange(0, 99)
        self.track.setKeyboardTracking(False)
        self.onset, self.offset = (
            TimeSpinBox(session),
            TimeSpinBox(session),
        )  # times as the time axes write them
        for box in (self.onset, self.offset):
            box.setSingleStep(LABEL_HOP_S)
        self.azimuth = _spin(-180.0, 180.0, 1, 1.0, " °")
        self.azimuth.setWrapping(True)
        self.elevation = _spin(-90.0, 90.0, 1, 1.0, " °")
        self.has_distance = QCheckBox("distance")
        self.distance = _spin(0.0, 1e5, 1, 10.0, " cm")
        self.keyframes = QLabel()
        self.stationary_button = QPushButton("Make stationary")
        self.stationary_button.setToolTip("keep one direction: the one at the playhead")
        form = QFormLayout(self)
        form.addRow(self.title)
        form.addRow("Class", self.class_box)
        form.addRow("Track", self.track)
        form.addRow("Onset", self.onset)
        form.addRow("Offset", self.offset)
        form.addRow("Azimuth at playhead", self.azimuth)
        form.addRow("Elevation at playhead", self.elevation)
        form.addRow(self.has_distance, self.distance)
        form.addRow("Keyframes", self.keyframes)
        form.addRow(self.stationary_button)
        self.class_box.activated.connect(self._on_class)
        self.track.valueChanged.connect(self._on_track)
        self.onset.valueChanged.connect(self._on_times)
        self.offset.valueChanged.connect(self._on_times)
        self.azimuth.valueChanged.connect(self._on_direction)
        self.elevation.valueChanged.connect(self._on_direction)
        self.has_distance.toggled.connect(self._on_distance)
        self.distance.valueChanged.connect(self._on_distance)
        self.stationary_button.clicked.connect(self._on_stationary)
        for signal in (
            session.selection_changed,
            session.reference_changed,
            session.playhead_changed,
            session.classes_changed,
        ):
            signal.connect(lambda *_: self.refresh())
        self.refresh()

    # ------------------------------------------------------------------ showing
    def selected(self):
        ids = self.session.selected_ids
        if len(ids) != 1:
            return None
        return self.session.annotation.get(next(iter(ids)))

    def refresh(self) -> None:
        e = self.selected()
        fields = (
            self.class_box, self.track, self.onset, self.offset, self.azimuth, self.elevation,
            self.has_distance, self.distance, self.stationary_button,
        )  # fmt: skip
        for w in fields:
            w.setEnabled(e is not None)
        self._updating = True
        try:
            classes = self.session.classes
            if self.class_box.count() != len(classes):
                self.class_box.clear()
                self.class_box.addItems(list(classes))
            if e is None:
                n = len(self.session.selected_ids)
                self.title.setText(
                    f"{n} events selected."
                    if n > 1
                    else "Select one reference event (edit mode: E) to edit it here."
                )
                self.keyframes.setText("")
                return
            self.title.setText(f"Event {e.id}")
            self.class_box.setCurrentIndex(e.cls if e.cls < len(classes) else -1)
            self.track.setValue(e.track)
            self.onset.setValue(e.onset_s)
            self.offset.setValue(e.offset_s)
            frame = min(max(self.session.playhead_frame, e.start), e.end - 1)
            az, el = e.direction_at(frame)
            self.azimuth.setValue(az)
            self.elevation.setValue(el)
            dist = e.distance_at(frame)
            self.has_distance.setChecked(dist is not None)
            self.distance.setEnabled(dist is not None)
            self.distance.setValue(dist or 0.0)
            kind = "stationary" if e.stationary else "moving"
            self.keyframes.setText(f"{len(e.keyframes)} ({kind})")
            self.stationary_button.setEnabled(not e.stationary)
        finally:
            self._updating = False

    # ------------------------------------------------------------------ editing
    def _push(self, make) -> None:
        e = self.selected()
        if e is None or self._updating:
            return
        self.controller.push(make(self.session.annotation, e))

    def _on_class(self, index: int) -> None:
        self._push(lambda doc, e: edits.set_class(doc, [e.id], index))

    def _on_track(self, value: int) -> None:
        self._push(lambda doc, e: edits.set_track(doc, e.id, value))

    def _on_times(self, _value: float) -> None:
        start = int(round(self.onset.value() / LABEL_HOP_S))
        end = int(round(self.offset.value() / LABEL_HOP_S))
        self._push(lambda doc, e: edits.resize_event(doc, e.id, start, max(end, start + 1)))

    def _on_direction(self, _value: float) -> None:
        def make(doc, e):
            frame = min(max(self.session.playhead_frame, e.start), e.end - 1)
            return edits.set_direction(doc, e.id, frame, self.azimuth.value(), self.elevation.value())

        self._push(make)

    def _on_distance(self, *_args) -> None:
        on = self.has_distance.isChecked()
        self.distance.setEnabled(on)
        value = self.distance.value() if on else None
        if on and value == 0.0:
            value = 100.0  # a starting point in the DCASE 2024 unit (cm)
        self._push(lambda doc, e: edits.set_distance(doc, e.id, value))

    def _on_stationary(self) -> None:
        self._push(lambda doc, e: edits.make_stationary(doc, e.id, self.session.playhead_frame))
