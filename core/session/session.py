"""The Qt-free session model the GUI observes.

One :class:`Session` per window holds the open recording (any
:class:`~core.io.recording.RecordingLike`: decoded whole or read on demand) and everything
shown about it: its display spectrogram, the reference labels (an editable
:class:`~core.annotation.document.Annotation`, also shown as per-frame
:class:`~core.labels.events.Event` objects) and the model's predictions, the selected reference
events, the playhead, the model-free energy map at the playhead and the visible time range.
Views subscribe to the signals and never change each other; they change the session, and
the session tells every view. The visible time range is one value here, not a link between
plots: a view that is panned or zoomed sets it, and every time view follows it. Annotation
edits arrive as :class:`~core.annotation.edits.Edit` objects (:meth:`Session.apply_edit`
and :meth:`Session.revert_edit`, called by the GUI's undo stack). Everything here is plain
Python, testable without Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.annotation.document import Annotation
from core.annotation.edits import Edit
from core.common.observable import Signal
from core.common.timebase import frame_at
from core.dsp.energy_map import DirectionMap
from core.dsp.spectrogram import Spectrogram
from core.io.recording import RecordingLike
from core.labels.classes import DCASE2020, ClassSet
from core.labels.events import Event, active_at, events_from_table, table_from_events
from core.labels.table import LabelTable


@dataclass(frozen=True)
class ActiveDirection:
    """A direction active at the playhead: which event, where it points, whose it is."""

    event: Event
    azimuth: float
    elevation: float
    predicted: bool


@dataclass(frozen=True)
class Highlight:
    """A span of the recording to point out (an error of the model, from the error inspector).

    ``start_s``/``end_s``: the time span; ``cls``: the class concerned (the reference's, or
    the predicted one of a false alarm), ``pred_cls``: the class the model predicted there
    (``None``: nothing); ``ref_direction``/``pred_direction``: ``(azimuth, elevation)`` in
    degrees of the reference and of the prediction (``None`` where there is none), shown
    together on the sphere, the map and the tracks; ``label``: a short text for the views
    (e.g. "missed").
    """

    start_s: float
    end_s: float
    cls: int | None = None
    pred_cls: int | None = None
    ref_direction: tuple[float, float] | None = None
    pred_direction: tuple[float, float] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not self.end_s >= self.start_s:
            raise ValueError(f"a highlight ends before it starts: {self.start_s} .. {self.end_s}")

    @property
    def middle_s(self) -> float:
        return 0.5 * (self.start_s + self.end_s)


class Session:
    """The state of one window: the open recording and what is derived from it.

    Signals (callbacks receive the new value):

    * ``recording_changed(recording | None)``
    * ``spectrogram_changed(spectrogram | None)``
    * ``classes_changed(class_set)``
    * ``reference_changed(list[Event])`` / ``predictions_changed(list[Event])``
    * ``annotation_reset()``: new reference labels were loaded (the undo history is void)
    * ``selection_changed(frozenset[int])``: ids of the selected reference events
    * ``prediction_selection_changed(frozenset[int])``: indices of selected predicted events
    * ``editing_changed(bool)``: whether clicks edit the reference (else they seek / listen)
    * ``direction_picked(azimuth, elevation, gesture)``: a direction clicked or dragged on
      the sphere, map or tracks while editing; ``gesture`` is the same object for every
      pick of one mouse drag (so that a drag is one undo step)
    * ``playhead_changed(seconds)``
    * ``view_range_changed((start_s, end_s))``: the time span every time view shows
    * ``listen_changed((azimuth, elevation) | None)``: the direction playback listens to
    * ``energy_changed(DirectionMap | None)``: the model-free energy map at the playhead
      (computed in the background by the GUI; ``None`` when the layer is off)
    * ``highlight_changed(Highlight | None)``: the span pointed out (an error chosen in the
      error inspector), cleared when another recording opens
    """

    def __init__(self, classes: ClassSet = DCASE2020) -> None:
        self.recording: RecordingLike | None = None
        self.spectrogram: Spectrogram | None = None
        self.classes: ClassSet = classes
        self.annotation = Annotation()
        self.reference_events: list[Event] = []
        self._event_cache: dict[int, tuple] = {}  # id -> (annotation event, its per-frame Event)
        self.selected_ids: frozenset[int] = frozenset()
        self.selected_predictions: frozenset[int] = frozenset()
        self.editing = False
        self.predictions: LabelTable | None = None
        self.prediction = None  # the raw core.inference.predict.Prediction behind ``predictions``, if any
        self.predicted_events: list[Event] = []
        self.playhead_s: float = 0.0
        self.view_range: tuple[float, float] = (0.0, 0.0)
        self.listen_direction: tuple[float, float] | None = None  # (azimuth, elevation) in degrees
        self.energy_map: DirectionMap | None = None
        self.highlight: Highlight | None = None
        self.recording_changed = Signal()
        self.spectrogram_changed = Signal()
        self.classes_changed = Signal()
        self.reference_changed = Signal()
        self.predictions_changed = Signal()
        self.playhead_changed = Signal()
        self.view_range_changed = Signal()
        self.listen_changed = Signal()  # ((azimuth, elevation) | None)
        self.energy_changed = Signal()
        self.annotation_reset = Signal()
        self.selection_changed = Signal()
        self.prediction_selection_changed = Signal()
        self.editing_changed = Signal()
        self.direction_picked = Signal()
        self.highlight_changed = Signal()  # (Highlight | None)
        self.annotation.changed.connect(self._on_annotation_changed)
        self.annotation.reset_done.connect(self._on_annotation_reset)

    # ------------------------------------------------------------------ recording
    @property
    def duration_s(self) -> float:
        return self.recording.duration_s if self.recording is not None else 0.0

    def set_recording(self, recording: RecordingLike | None, spectrogram: Spectrogram | None = None) -> None:
        """Open ``recording``: predictions and reference of the previous one are cleared."""
        self.recording = recording
        self.recording_changed.emit(recording)
        self.set_highlight(None)
        self.set_energy_map(None)
        self.set_spectrogram(spectrogram)
        self.set_reference(None)
        self.set_predictions(None)
        self.set_playhead(0.0)
        self.set_view_range(0.0, self.duration_s)
        self.set_listen_direction(None)

    def set_spectrogram(self, spectrogram: Spectrogram | None) -> None:
        self.spectrogram = spectrogram
        self.spectrogram_changed.emit(spectrogram)

    def set_classes(self, classes: ClassSet) -> None:
        if classes != self.classes:
            self.classes = classes
            self.classes_changed.emit(classes)

    # ------------------------------------------------------------------ labels
    @property
    def reference(self) -> LabelTable | None:
        """The reference labels as rows (``None`` when none were loaded or made)."""
        if not self.annotation.loaded:
            return None
        return table_from_events(self.reference_events, fmt=self.annotation.fmt)

    def set_reference(self, table: LabelTable | None) -> None:
        """Load reference labels (or none) into the annotation; the selection is cleared."""
        self.annotation.reset(Annotation.from_table(table) if table is not None else None)

    def set_annotation(self, doc: Annotation) -> None:
        """Take over the events of ``doc`` (a restored autosave) as the reference."""
        self.annotation.reset(doc)

    def apply_edit(self, edit: Edit) -> None:
        edit.apply(self.annotation)

    def revert_edit(self, edit: Edit) -> None:
        edit.revert(self.annotation)

    def _refresh_reference(self) -> None:
        # per-frame events are recomputed only for annotation events that changed
        cache, fresh = self._event_cache, {}
        events = []
        for e in self.annotation.events:
            hit = cache.get(e.id)
            shown = hit[1] if hit is not None and hit[0] is e else e.to_event()
            fresh[e.id] = (e, shown)
            events.append(shown)
        self._event_cache = fresh
        self.reference_events = events
        kept = frozenset(i for i in self.selected_ids if i in self.annotation)
        if kept != self.selected_ids:
            self.set_selection(kept)
        self.reference_changed.emit(self.reference_events)

    def _on_annotation_changed(self, _removed, _added) -> None:
        self._refresh_reference()

    def _on_annotation_reset(self) -> None:
        self.set_selection(())
        self._refresh_reference()
        self.annotation_reset.emit()

    def set_selection(self, ids) -> None:
        ids = frozenset(i for i in ids if i in self.annotation)
        if ids != self.selected_ids:
            self.selected_ids = ids
            self.selection_changed.emit(ids)

    def set_prediction_selection(self, indices) -> None:
        chosen = frozenset(i for i in indices if 0 <= i < len(self.predicted_events))
        if chosen != self.selected_predictions:
            self.selected_predictions = chosen
            self.prediction_selection_changed.emit(chosen)

    def set_editing(self, editing: bool) -> None:
        if bool(editing) != self.editing:
            self.editing = bool(editing)
            self.editing_changed.emit(self.editing)

    def pick_direction(self, azimuth: float, elevation: float, gesture: object = None) -> None:
        """A direction chosen on the sphere or map: edits the selection while editing, else listens."""
        if self.editing:
            self.direction_picked.emit(float(azimuth), float(elevation), gesture)
        else:
            self.set_listen_direction((azimuth, elevation))

    def set_predictions(self, table: LabelTable | None, prediction=None) -> None:
        """Show a model's output: its label rows and, optionally, the raw prediction behind them."""
        self.predictions = table
        self.prediction = prediction if table is not None else None
        self.predicted_events = events_from_table(table) if table is not None else []
        self.set_prediction_selection(())
        self.predictions_changed.emit(self.predicted_events)

    # ------------------------------------------------------------------ time
    def set_playhead(self, seconds: float) -> None:
        """Move the playhead (clamped to the recording); views follow."""
        t = float(np.clip(seconds, 0.0, max(self.duration_s, 0.0)))
        if t != self.playhead_s:
            self.playhead_s = t
            self.playhead_changed.emit(t)

    def set_view_range(self, start_s: float, end_s: float) -> None:
        """Show ``[start_s, end_s]`` in every time view (kept inside the open recording)."""
        start, end = sorted((float(start_s), float(end_s)))
        duration = self.duration_s
        if duration > 0:
            width = min(end - start, duration)
            start = float(np.clip(start, 0.0, duration - width))
            end = start + width
        if (start, end) != self.view_range:
            self.view_range = (start, end)
            self.view_range_changed.emit(self.view_range)

    def set_listen_direction(self, direction: tuple[float, float] | None) -> None:
        """Steer playback to (azimuth, elevation) in degrees (FOA), or back to the plain channel."""
        if direction is not None:
            az = (float(direction[0]) + 180.0) % 360.0 - 180.0
            direction = (az, float(np.clip(direction[1], -90.0, 90.0)))
        if direction != self.listen_direction:
            self.listen_direction = direction
            self.listen_changed.emit(direction)

    def set_energy_map(self, direction_map: DirectionMap | None) -> None:
        """The energy map at the playhead (or ``None``): the sphere and the map show it."""
        if direction_map is not self.energy_map:
            self.energy_map = direction_map
            self.energy_changed.emit(direction_map)

    def set_highlight(self, highlight: Highlight | None) -> None:
        """Point out a span (and the directions there) in every view, or nothing (``None``).

        A highlight outside the open recording is refused (``ValueError``): it belongs to another one.
        """
        if highlight is not None and self.recording is not None and highlight.start_s > self.duration_s:
            raise ValueError(
                f"the highlight starts at {highlight.start_s} s, after the recording's end ({self.duration_s} s)"
            )
        if highlight != self.highlight:
            self.highlight = highlight
            self.highlight_changed.emit(highlight)

    def show_highlight(self, highlight: Highlight, margin_s: float = 2.0, min_width_s: float = 8.0) -> None:
        """Set ``highlight``, move the playhead to its start and show its span in the time views,
        centred, with ``margin_s`` on each side and at least ``min_width_s`` wide."""
        self.set_highlight(highlight)
        self.set_playhead(highlight.start_s)
        width = max(min_width_s, highlight.end_s - highlight.start_s + 2 * margin_s)
        middle = highlight.middle_s
        self.set_view_range(middle - width / 2, middle + width / 2)

    @property
    def playhead_frame(self) -> int:
        """The 100 ms label frame under the playhead."""
        return frame_at(self.playhead_s)

    def active_directions(self, seconds: float | None = None) -> list[ActiveDirection]:
        """Reference and predicted directions active at ``seconds`` (default: the playhead)."""
        t = self.playhead_s if seconds is None else seconds
        frame = frame_at(t)
        out = [ActiveDirection(e, az, el, False) for e, az, el in active_at(self.reference_events, frame)]
        out += [ActiveDirection(e, az, el, True) for e, az, el in active_at(self.predicted_events, frame)]
        return out
