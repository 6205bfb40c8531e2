"""Annotation in the window: the undo stack, the editing actions, saving and autosave.

The :class:`AnnotationController` is the only place that turns the user's gestures into
:mod:`core.annotation.edits` edits and pushes them on a ``QUndoStack``; the views call its
methods (``create``, ``move``, ``resize``, ``set_direction`` ...) and otherwise only observe
the session, and the window's actions (:mod:`seldgui.actions`) call its commands. Each edit is wrapped by :class:`EditCommand`, a thin ``QUndoCommand`` whose
``redo``/``undo`` call the edit's ``apply``/``revert`` through the session; commands of one
mouse drag share a gesture key and merge into one undo step.

Never lose work: the window title shows ``*`` while there are unsaved changes; closing or
opening another recording asks first; saving validates (offending events are selected)
and writes atomically; while changes are unsaved an autosave file is written every
minute, and a file left by a crash is offered for restoring at the next start.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QMessageBox, QWidget

from core.annotation import edits
from core.annotation.edits import Edit
from core.common.timebase import nearest_boundary
from core.session.session import Session

log = logging.getLogger("seldgui")

AUTOSAVE_INTERVAL_MS = 60_000
SAVE_FORMATS = {
    "dcase2020": "DCASE 2020/2021 (frame,class,track,azimuth,elevation) (*.csv)",
    "dcase2022": "DCASE 2022/2023 (frame,class,source,azimuth,elevation) (*.csv)",
    "dcase2024": "DCASE 2024 with distance (frame,class,source,azimuth,elevation,distance) (*.csv)",
}


def autosave_folder() -> Path:
    """``<user data folder>/SELD Studio/autosave`` (``~/.local/share/...`` on Linux)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(base) / "SELD Studio" / "autosave"


class EditCommand(QUndoCommand):
    """One undo step: a core edit applied to (and reverted from) the session's annotation."""

    MERGE_ID = 1

    def __init__(self, session: Session, edit: Edit):
        super().__init__(edit.text)
        self.session = session
        self.edit = edit

    def redo(self) -> None:
        self.session.apply_edit(self.edit)

    def undo(self) -> None:
        self.session.revert_edit(self.edit)

    def id(self) -> int:  # noqa: A003 (Qt API)
        return self.MERGE_ID if self.edit.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, EditCommand):
            return False
        merged = self.edit.merged(other.edit)
        if merged is None:
            return False
        self.edit = merged
        if merged.is_noop:
            self.setObsolete(True)
        return True


class CreateGesture:
    """A mouse drag that creates an event of ``cls`` from ``t0`` and resizes it as the mouse moves.

    Nothing is created until the drag spans a label frame; every step shares one gesture
    key, so the whole drag is one undo step ("Create event").
    """

    def __init__(self, editor: AnnotationController, cls: int, t0: float):
        self.editor, self.cls, self.t0 = editor, cls, t0
        self.key = object()
        self.event_id: int | None = None

    def update(self, t: float) -> None:
        if self.event_id is None:
            if abs(nearest_boundary(t) - nearest_boundary(self.t0)) >= 1:
                self.event_id = self.editor.create(self.cls, self.t0, t, self.key)
        elif self.event_id in self.editor.session.annotation:
            a, b = sorted((nearest_boundary(self.t0), nearest_boundary(t)))
            self.editor.resize(self.event_id, a, max(b, a + 1), self.key)


class AnnotationController(QObject):
    """Undo stack, editing commands, save and autosave for one window's session.

    ``modified_changed(bool)`` tells the window to update its title; ``message(str)`` is a
    line for the status bar.
    """

    modified_changed = Signal(bool)
    message = Signal(str)
    details = Signal(str)  # the whole text behind the last message, for its tooltip

    def __init__(self, session: Session, window: QWidget):
        super().__init__(window)
        self.session = session
        self.window = window
        self.stack = QUndoStack(self)
        self.current_class = 0
        self._restored = False  # changes restored from an autosave count as unsaved
        self._autosave_due = False
        self.autosave_dir = autosave_folder()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()
        self._pending_restore = None  # an autosave to restore once its recording is open
        self.stack.cleanChanged.connect(lambda _clean: self.modified_changed.emit(self.modified))
        session.annotation_reset.connect(self._on_reset)
        session.annotation.changed.connect(self._on_changed)
        session.direction_picked.connect(self._on_direction_picked)

    # ------------------------------------------------------------------ state
    @property
    def modified(self) -> bool:
        return self._restored or not self.stack.isClean()

    def _on_reset(self) -> None:
        self.stack.clear()
        self.stack.setClean()
        self._restored = False
        self._autosave_due = False
        self.modified_changed.emit(False)

    def _on_changed(self, _removed, _added) -> None:
        self._autosave_due = True

    def mark_restored(self) -> None:
        """The annotation now holds restored, unsaved work."""
        self._restored = True
        self._autosave_due = True
        self.modified_changed.emit(True)

    # ------------------------------------------------------------------ pushing edits
    def push(self, edit: Edit | None) -> bool:
        """Apply ``edit`` as an undoable step; ``False`` when there was nothing to do."""
        if edit is None:
            return False
        if self.session.recording is None and not self.session.annotation.loaded:
            self.message.emit("open a recording before annotating it")
            return False
        self.stack.push(EditCommand(self.session, edit))
        return True

    def _single_selected(self):
        ids = self.session.selected_ids
        if len(ids) != 1:
            self.message.emit("select one event first" if not ids else "select only one event")
            return None
        return next(iter(ids))

    def _n_frames(self) -> int | None:
        d = self.session.duration_s
        return nearest_boundary(d) if d > 0 else None

    def _clamp_end(self, frame: int) -> int:
        n = self._n_frames()
        return frame if n is None else min(frame, n)

    # ------------------------------------------------------------------ gestures (called by views)
    def select(self, ids, toggle: bool = False) -> None:
        ids = frozenset(ids)
        if toggle:
            ids = self.session.selected_ids ^ ids
        self.session.set_selection(ids)

    def create(self, cls: int, t0: float, t1: float, gesture=None) -> int | None:
        """Create a stationary event of ``cls`` from ``t0`` to ``t1`` s.

        It points where playback listens (a direction clicked on the sphere or map outside
        edit mode), else to the front.
        """
        start, end = sorted((nearest_boundary(t0), nearest_boundary(t1)))
        end = self._clamp_end(max(end, start + 1))
        start = min(start, end - 1)
        direction = self.session.listen_direction or (0.0, 0.0)
        edit = edits.create_event(self.session.annotation, cls, start, end, direction, merge_key=gesture)
        if not self.push(edit):
            return None
        new_id = edit.added[0].id
        self.session.set_selection([new_id])
        return new_id

    def move(self, ids, delta_frames: int, gesture=None) -> None:
        ids = [i for i in ids if i in self.session.annotation]
        if not ids or delta_frames == 0:
            return
        n = self._n_frames()
        if n is not None:
            last_end = max(self.session.annotation[i].end for i in ids)
            delta_frames = min(delta_frames, n - last_end) if delta_frames > 0 else delta_frames
        self.push(edits.move_events(self.session.annotation, ids, delta_frames, merge_key=gesture))

    def resize(self, event_id: int, start: int, end: int, gesture=None) -> None:
        if event_id in self.session.annotation:
            start, end = sorted((start, end))
            end = self._clamp_end(max(end, start + 1))
            self.push(edits.resize_event(self.session.annotation, event_id, start, end, merge_key=gesture))

    def set_direction(
        self, event_id: int, frame: int, azimuth: float, elevation: float, gesture=None
    ) -> None:
        if event_id in self.session.annotation:
            self.push(
                edits.set_direction(
                    self.session.annotation, event_id, frame, azimuth, elevation, merge_key=gesture
                )
            )

    def move_keyframe(
        self, event_id: int, frame: int, new_frame: int, azimuth=None, elevation=None, gesture=None
    ):
        if event_id in self.session.annotation:
            self.push(
                edits.move_keyframe(
                    self.session.annotation, event_id, frame, new_frame, azimuth, elevation, merge_key=gesture
                )
            )

    def _on_direction_picked(self, azimuth: float, elevation: float, gesture) -> None:
        event_id = self._single_selected()
        if event_id is None:
            return
        event = self.session.annotation[event_id]
        frame = self.session.playhead_frame
        if not event.start <= frame < event.end:
            if not event.stationary:  # a trajectory is keyed where the playhead is
                self.message.emit(
                    "move the playhead into the selected moving event to set its direction there"
                )
                return
            frame = event.keyframes[0].frame  # one direction for the whole event
        self.set_direction(event_id, frame, azimuth, elevation, gesture)

    # ------------------------------------------------------------------ keyboard actions
    def delete_selected(self) -> None:
        self.push(edits.delete_events(self.session.annotation, self.session.selected_ids))

    def set_class_of_selected(self, cls: int) -> None:
        """Digit keys: the class for new events, and the class of the selected ones."""
        if not 0 <= cls < len(self.session.classes):
            return
        self.current_class = cls
        if self.session.selected_ids:
            self.push(edits.set_class(self.session.annotation, self.session.selected_ids, cls))
        self.message.emit(f"class: {self.session.classes[cls]}")

    def keyframe_at_playhead(self) -> None:
        event_id = self._single_selected()
        if event_id is not None:
            if not self.push(
                edits.add_keyframe(self.session.annotation, event_id, self.session.playhead_frame)
            ):
                self.message.emit("there is a keyframe at the playhead already")

    def delete_keyframe_at_playhead(self) -> None:
        """Delete the selected event's keyframe nearest the playhead (the last one stays)."""
        event_id = self._single_selected()
        if event_id is None:
            return
        event = self.session.annotation[event_id]
        frame = self.session.playhead_frame
        nearest = min(event.keyframes, key=lambda k: abs(k.frame - frame))
        if not self.push(edits.delete_keyframe(self.session.annotation, event_id, nearest.frame)):
            self.message.emit("a stationary event keeps its one direction")

    def split_at_playhead(self) -> None:
        """Cut the selected event in two at the playhead (both parts keep the trajectory)."""
        event_id = self._single_selected()
        if event_id is None:
            return
        edit = edits.split_event(self.session.annotation, event_id, nearest_boundary(self.session.playhead_s))
        if not self.push(edit):
            self.message.emit("put the playhead inside the selected event to split it there")

    def nudge_selected(self, frames: int) -> None:
        self.move(self.session.selected_ids, frames)

    def simplify_selected(self, tolerance_deg: float = 2.0) -> None:
        ids = self.session.selected_ids or [e.id for e in self.session.annotation.events]
        if not self.push(edits.simplify(self.session.annotation, ids, tolerance_deg)):
            self.message.emit(f"nothing to simplify at {tolerance_deg:g}°")

    def select_next(self, step: int = 1) -> None:
        """Select the next (or previous) event after the playhead and move the playhead to it."""
        events = self.session.annotation.events
        if not events:
            return
        t = self.session.playhead_frame
        current = [e for e in events if e.id in self.session.selected_ids]
        if step > 0:
            after = [e for e in events if e.start > t or (e.start == t and current and e.id > current[0].id)]
            target = after[0] if after else events[0]
        else:
            before = [e for e in events if e.start < t or (e.start == t and current and e.id < current[0].id)]
            target = before[-1] if before else events[-1]
        self.session.set_selection([target.id])
        self.session.set_playhead(target.onset_s)

    def select_all(self) -> None:
        self.session.set_selection(e.id for e in self.session.annotation.events)

    # ------------------------------------------------------------------ model in the loop
    def accept_predictions(
        self,
        which: str = "all",
        threshold: float | None = None,
        tolerance_deg: float = edits.PREDICTION_TOLERANCE_DEG,
    ) -> int:
        """Turn predictions into annotation events: ``all``, ``selected`` or ``threshold``.

        ``threshold`` re-thresholds the model's raw activities (only after a run in this
        window). Returns the number of events added.
        """
        from core.labels.events import events_from_table

        s = self.session
        if which == "threshold":
            if s.prediction is None:
                self.message.emit("activity thresholds need a model run in this window")
                return 0
            from core.inference.predict import prediction_to_table

            events = events_from_table(prediction_to_table(s.prediction, threshold))
        elif which == "selected":
            events = [s.predicted_events[i] for i in sorted(s.selected_predictions)]
        else:
            events = list(s.predicted_events)
        if not events:
            self.message.emit("no predicted events to accept")
            return 0
        edit = edits.add_events(s.annotation, events, tolerance_deg=tolerance_deg)
        if not self.push(edit):
            return 0
        s.set_selection(e.id for e in edit.added)
        self.message.emit(f"{len(edit.added)} predicted events added to the labels; correct them and save")
        return len(edit.added)

    # ------------------------------------------------------------------ saving
    def validate(self, fmt: str | None = None) -> list:
        from core.annotation.checks import validate

        return validate(self.session.annotation, self.session.classes, self._n_frames(), fmt)

    def default_save_path(self) -> Path | None:
        if self.session.annotation.path:
            return Path(self.session.annotation.path)
        rec = self.session.recording
        return Path(rec.path).with_suffix(".csv") if rec is not None and rec.path else None

    def save(self, path: Path | str | None = None, fmt: str | None = None) -> bool:
        """Validate, then write the labels atomically; ``False`` (with a dialog) when not saved."""
        from core.common.errors import SeldError
        from core.labels.dcase_csv import write_labels
        from seldgui.errors import show_error

        doc = self.session.annotation
        path = Path(path) if path is not None else (Path(doc.path) if doc.path else None)
        if path is None:
            return False
        fmt = fmt or doc.fmt or "dcase2020"
        problems = self.validate(fmt)
        if problems:
            ids = {i for p in problems for i in p.ids}
            self.session.set_selection(ids)
            listed = "\n".join(f"• {p.message}" for p in problems[:12])
            more = f"\n... and {len(problems) - 12} more" if len(problems) > 12 else ""
            show_error(
                self.window,
                "Labels not saved",
                f"{len(problems)} problem(s) to fix first (the events are selected):\n{listed}{more}",
            )
            return False
        try:
            write_labels(doc.to_table(fmt), path, fmt=fmt)
        except SeldError as err:
            show_error(self.window, "Cannot save labels", str(err))
            return False
        doc.path, doc.fmt = str(path), fmt
        self.stack.setClean()
        self._restored = False
        self._autosave_due = False
        self._remove_autosave()
        self.modified_changed.emit(False)
        self.message.emit(f"labels saved to {path} ({fmt}, {len(doc)} events)")
        return True

    def confirm_discard(self, what: str = "continue") -> bool:
        """Ask before unsaved changes are dropped: Save, Discard or Cancel. ``True`` to go on."""
        if not self.modified:
            return True
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved labels")
        box.setText(f"The labels have unsaved changes. Save them before you {what}?")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return self.save_interactive()
        if answer == QMessageBox.StandardButton.Discard:
            self._remove_autosave()
            self.stack.setClean()
            self._restored = False
            return True
        return False

    def save_interactive(self) -> bool:
        """Ctrl+S: save to the labels' file, or ask where (Save As) when they have none."""
        if self.session.annotation.path:
            return self.save()
        return self.save_as_dialog()

    def save_as_dialog(self) -> bool:
        from PySide6.QtWidgets import QFileDialog

        default = self.default_save_path()
        filters = ";;".join(SAVE_FORMATS.values())
        current = SAVE_FORMATS.get(self.session.annotation.fmt, SAVE_FORMATS["dcase2020"])
        path, chosen = QFileDialog.getSaveFileName(
            self.window, "Save labels as", str(default or "labels.csv"), filters, current
        )
        if not path:
            return False
        fmt = next((k for k, v in SAVE_FORMATS.items() if v == chosen), "dcase2020")
        return self.save(path, fmt)

    # ------------------------------------------------------------------ autosave
    def _recording_path(self) -> str | None:
        rec = self.session.recording
        return rec.path if rec is not None and rec.path else None

    def autosave_now(self) -> Path | None:
        """Write the autosave file if there are changes since the last one."""
        from core.annotation.autosave import write_autosave
        from core.common.errors import SeldError

        recording = self._recording_path()
        if not (self._autosave_due and self.modified and recording):
            return None
        try:
            path = write_autosave(self.autosave_dir, recording, self.session.annotation, self.session.classes)
        except SeldError as err:
            self.message.emit(f"autosave failed: {err}")
            return None
        self._autosave_due = False
        log.info("autosaved labels to %s", path)
        return path

    def _remove_autosave(self) -> None:
        from core.annotation.autosave import remove_autosave

        recording = self._recording_path()
        if recording:
            kept = remove_autosave(self.autosave_dir, recording, self.session.annotation.path)
            for path in kept:
                log.warning("a damaged autosave was kept aside as %s", path)
            if kept:
                self.message.emit(f"a damaged autosave was not deleted: it is kept as {kept[0]}")

    def pending_restore(self):
        """Autosaves a crash left behind (newest first), and a message for each damaged one.

        Never raises: a damaged file is a message naming it (and is left where it is).
        """
        from core.annotation.autosave import pending_autosaves

        try:
            found, damaged = pending_autosaves(self.autosave_dir)
        except Exception as err:  # noqa: BLE001 - the start-up must go on whatever the folder holds
            log.exception("cannot look for autosaves in %s", self.autosave_dir)
            return [], [f"{self.autosave_dir}: cannot look for autosaves ({type(err).__name__}: {err})"]
        damaged = [f"{m} (the file is left as it is)" for m in damaged]
        for m in damaged:
            log.warning("damaged autosave: %s", m)
        return found, damaged

    def offer_restore(self, open_recording, choose=None) -> bool:
        """At start: offer to restore labels a crash left unsaved; ``True`` when one is being restored.

        ``open_recording(path)`` opens the autosave's recording (its events are restored when
        :meth:`on_recording_opened` sees it open); ``choose(autosave) -> "restore" | "discard"
        | "later"`` decides instead of a dialog.
        """
        from core.annotation.autosave import remove_autosave
        from seldgui.dialogs import ask_restore
        from seldgui.errors import show_error

        found, damaged = self.pending_restore()
        if damaged:  # all of them in the tooltip (and the log), none hidden behind the next
            n = len(damaged)
            many = f"{n} damaged autosaves (hover to see all), first" if n > 1 else "a damaged autosave"
            self.message.emit(f"ignored {many}: {damaged[0]}")
            self.details.emit("\n".join(damaged))
        if not found:
            return False
        saved = found[0]
        answer = (choose or (lambda s: ask_restore(self.window, s)))(saved)
        if answer == "restore":
            if not Path(saved.recording).is_file():
                show_error(
                    self.window, "Cannot restore", f"the recording {saved.recording} is no longer there"
                )
                return False
            self._pending_restore = saved
            open_recording(saved.recording)
            return True
        if answer == "discard":
            remove_autosave(self.autosave_dir, saved.recording, saved.labels)
        return False

    def on_recording_opened(self, recording) -> None:
        """Restore the autosave :meth:`offer_restore` opened ``recording`` for, if it is that one."""
        saved, self._pending_restore = self._pending_restore, None
        if saved is not None and Path(saved.recording) == Path(recording.path).absolute():
            self.restore(saved)

    def restore(self, saved) -> bool:
        """Put a restored autosave's events into the session as unsaved changes.

        When the autosave had events that were refused (damaged), the file is first kept
        aside under a name nothing deletes (``core.annotation.autosave.keep_aside``) and a dialog lists
        the refused events and that name; if it cannot be kept aside nothing is restored, so
        that no autosave of the restored events can replace it. ``False`` when not restored.
        """
        from core.annotation.autosave import keep_aside
        from core.annotation.checks import validate
        from core.common.errors import SeldError
        from core.labels.classes import get_class_set
        from seldgui.errors import show_error

        kept = None
        if saved.n_refused:
            try:
                kept = keep_aside(saved.path)
            except SeldError as err:
                show_error(
                    self.window,
                    "Autosave not restored",
                    f"{saved.n_refused} of its {saved.n_events} events are damaged, and the file could "
                    f"not be kept aside before restoring the others:\n{err}\n\nIt is left as it is.",
                )
                return False
        classes = saved.class_set
        if classes is None:
            try:
                classes = get_class_set(saved.classes)
            except SeldError:
                classes = None
        if classes is not None:
            self.session.set_classes(classes)
        self.session.set_annotation(saved.annotation)
        self.mark_restored()
        age = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved.saved_at))
        text = f"restored {len(saved.annotation)} events autosaved at {age}; save them to keep them"
        problems = validate(self.session.annotation, self.session.classes, self._n_frames())
        if problems:
            ids = {i for p in problems for i in p.ids}
            self.session.set_selection(ids)
            text += f" ({len(problems)} problem(s) to fix before saving; the events are selected)"
        self.message.emit(text)
        if kept is not None:
            self.autosave_now()  # the restored events are autosaved again at once
            listed = "\n".join(f"• {m}" for m in saved.refused[:12])
            more = f"\n... and {saved.n_refused - 12} more" if saved.n_refused > 12 else ""
            show_error(
                self.window,
                "Some autosaved events were not restored",
                f"{saved.n_refused} of the {saved.n_events} events in {saved.path.name} are damaged and "
                f"were not restored:\n{listed}{more}\n\nThe whole autosave is kept as {kept}.",
            )
        return True

    # ------------------------------------------------------------------ dialogs
    def accept_predictions_dialog(self) -> None:
        from seldgui.dialogs import AcceptPredictionsDialog

        s = self.session
        if not s.predicted_events and s.prediction is None:
            self.message.emit("run the model first (F5): there are no predictions to accept")
            return
        dialog = AcceptPredictionsDialog(
            len(s.predicted_events), len(s.selected_predictions), s.prediction is not None, self.window
        )
        if dialog.exec():
            which, threshold, tolerance = dialog.choice()
            self.accept_predictions(which, threshold, tolerance)
