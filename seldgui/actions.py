"""Every action of the window in one table, with the rule that enables it.

An :class:`ActionSpec` names an action, its text, shortcuts, the menu it is in, what it calls
(a function of the window) and when it is enabled: a function of the :class:`AppState`, the
few facts about the window that actions depend on. :func:`build_actions` makes the
``QAction``s and menus from the table; :func:`apply_state` enables and disables them all
whenever the state changes (the window calls it on every change of the session, the undo
stack and the model runner). ``tests/test_actions.py`` checks every action in every state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

Std = QKeySequence.StandardKey


@dataclass(frozen=True)
class AppState:
    """What the window holds: a recording, reference events, predictions; whether a model
    runs and whether clicks edit the labels; what the undo stack can do; how many classes."""

    recording: bool = False
    reference: bool = False
    predictions: bool = False
    running: bool = False
    editing: bool = False
    can_undo: bool = False
    can_redo: bool = False
    n_classes: int = 0


Rule = Callable[[AppState], bool]


def always(_s: AppState) -> bool:
    return True


def with_recording(s: AppState) -> bool:
    return s.recording


def with_reference(s: AppState) -> bool:
    return s.recording and s.reference


def with_predictions(s: AppState) -> bool:
    return s.recording and s.predictions


def editing(s: AppState) -> bool:
    return s.recording and s.editing


def can_run(s: AppState) -> bool:
    return s.recording and not s.running


def running(s: AppState) -> bool:
    return s.running


def can_undo(s: AppState) -> bool:
    return s.can_undo


def can_redo(s: AppState) -> bool:
    return s.can_redo


def class_rule(index: int) -> Rule:
    """Digit keys: while editing, for a class the class set has."""
    return lambda s: editing(s) and index < s.n_classes


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    menu: str  # "File", "Edit", "Edit/Set class", "Play", "Model", "Help"
    handler: Callable[[Any], Callable]  # the window -> what the action calls
    enabled: Rule = always
    shortcuts: tuple = ()
    tip: str = ""
    checkable: bool = False


def _class_specs() -> list[ActionSpec]:
    specs = []
    for digit in (*range(1, 10), 0):
        cls = 9 if digit == 0 else digit - 1
        specs.append(
            ActionSpec(
                f"class_{digit}", f"Class {cls + 1}", "Edit/Set class (digit keys)",
                lambda w, c=cls: lambda: w.annotation.set_class_of_selected(c), class_rule(cls), (str(digit),),
            )
        )  # fmt: skip
    return specs


ACTIONS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec("open", "&Open...", "File", lambda w: w.open_dialog, always, (Std.Open,)),
    ActionSpec("open_folder", "Open &folder...", "File", lambda w: w.open_folder_dialog),
    ActionSpec("open_labels", "Open &labels...", "File", lambda w: w.open_labels_dialog, with_recording),
    ActionSpec("save", "&Save labels", "File", lambda w: w.annotation.save_interactive, with_recording, (Std.Save,)),
    ActionSpec("save_as", "Save labels &as...", "File", lambda w: w.annotation.save_as_dialog, with_recording, ("Ctrl+Shift+S",)),
    ActionSpec("quit", "&Quit", "File", lambda w: w.close, always, (Std.Quit, "Ctrl+Q")),
    # Edit
    ActionSpec("undo", "&Undo", "Edit", lambda w: w.annotation.stack.undo, can_undo, (Std.Undo,)),
    ActionSpec("redo", "&Redo", "Edit", lambda w: w.annotation.stack.redo, can_redo, ("Ctrl+Shift+Z", Std.Redo)),
    ActionSpec(
        "edit_mode", "&Edit labels", "Edit", lambda w: w.session.set_editing, with_recording, ("E",),
        "edit mode: drag in a lane or the spectrogram to create events, click the sphere/map to set directions",
        checkable=True,
    ),
    ActionSpec("select_all", "Select &all events", "Edit", lambda w: w.annotation.select_all, with_reference, (Std.SelectAll,)),
    ActionSpec("next", "&Next event", "Edit", lambda w: lambda: w.annotation.select_next(1), with_reference, ("N",)),
    ActionSpec("previous", "&Previous event", "Edit", lambda w: lambda: w.annotation.select_next(-1), with_reference, ("Shift+N",)),
    ActionSpec("delete", "&Delete selected events", "Edit", lambda w: w.annotation.delete_selected, editing, (Std.Delete, "Backspace")),
    ActionSpec("nudge_left", "Move selected events 100 ms earlier", "Edit", lambda w: lambda: w.annotation.nudge_selected(-1), editing, ("Alt+Left",)),
    ActionSpec("nudge_right", "Move selected events 100 ms later", "Edit", lambda w: lambda: w.annotation.nudge_selected(1), editing, ("Alt+Right",)),
    ActionSpec("split", "S&plit the selected event at the playhead", "Edit", lambda w: w.annotation.split_at_playhead, editing, ("S",)),
    ActionSpec("keyframe", "Add direction &keyframe at the playhead", "Edit", lambda w: w.annotation.keyframe_at_playhead, editing, ("K",)),
    ActionSpec("delete_keyframe", "Delete the keyframe nearest the playhead", "Edit", lambda w: w.annotation.delete_keyframe_at_playhead, editing, ("Shift+K",)),
    ActionSpec("simplify", "Simplify trajectories (2°)", "Edit", lambda w: w.annotation.simplify_selected, editing),
    ActionSpec("accept", "Accept &predictions...", "Edit", lambda w: w.annotation.accept_predictions_dialog, with_predictions, ("Ctrl+Shift+A",)),
    *_class_specs(),
    # Play
    ActionSpec("play", "&Play / pause", "Play", lambda w: w.toggle_play, with_recording, ("Space",)),
    ActionSpec("listen_reset", "Listen to the &plain channel", "Play", lambda w: lambda: w.session.set_listen_direction(None), with_recording),
    # Model
    ActionSpec("open_model", "Open &model...", "Model", lambda w: w.open_model_dialog),
    ActionSpec("run", "&Run model", "Model", lambda w: w.run_model, can_run, ("F5",)),
    ActionSpec(
        "run_batch", "Run model on &all files", "Model", lambda w: w.run_batch, always, ("Ctrl+F5",),
        "run the model on the file list's recordings (the selected ones, or all); see the Batch tab",
    ),
    ActionSpec("cancel", "&Cancel run", "Model", lambda w: w.runner.cancel, running, ("Escape",)),
    ActionSpec("save_predictions", "&Save predictions...", "Model", lambda w: w.save_predictions_dialog, with_predictions),
    # Help
    ActionSpec("shortcuts", "&Keyboard shortcuts", "Help", lambda w: w.show_shortcuts, always, ("F1",)),
    ActionSpec("about", "&About SELD Studio", "Help", lambda w: w.show_about),
)  # fmt: skip

MENU_LAYOUT: dict[str, tuple[str | None, ...]] = {
    "&File": ("open", "open_folder", "@recent", "open_labels", None, "save", "save_as", None, "quit"),
    "&Edit": (
        "undo", "redo", None, "edit_mode", None, "select_all", "next", "previous", "delete", "nudge_left",
        "nudge_right", "split", None, "keyframe", "delete_keyframe", "simplify", None, "accept", "@classes",
    ),
    "&Play": ("play", "listen_reset"),
    "&Model": ("open_model", "run", "run_batch", "cancel", None, "save_predictions"),
    "&Help": ("shortcuts", None, "about"),
}  # fmt: skip
"""The menus: action names in order, ``None`` a separator, ``@recent``/``@classes`` a submenu."""


def key_sequences(shortcuts: tuple) -> list[QKeySequence]:
    """The shortcuts as key sequences (a standard key: its platform's primary binding), unique."""
    keys = [QKeySequence(k) for k in shortcuts]
    return list({k.toString(): k for k in keys if not k.isEmpty()}.values())


def _make(spec: ActionSpec, window: Any) -> QAction:
    action = QAction(spec.text, window)
    action.setObjectName(spec.name)
    action.setShortcuts(key_sequences(spec.shortcuts))
    action.setToolTip(spec.tip or spec.text.replace("&", ""))
    action.setStatusTip(spec.tip or spec.text.replace("&", ""))
    slot = spec.handler(window)
    if spec.checkable:
        action.setCheckable(True)
        action.triggered.connect(slot)
    else:
        action.triggered.connect(lambda _checked=False, f=slot: f())
    return action


def build_actions(window: Any, menubar: QMenuBar) -> tuple[dict[str, QAction], dict[str, QMenu]]:
    """The table's actions (by name) in the menus of :data:`MENU_LAYOUT`; returns
    ``(actions, submenus)`` with the ``recent`` and ``classes`` submenus."""
    actions = {spec.name: _make(spec, window) for spec in ACTIONS}
    menus: dict[str, QMenu] = {}
    for title, names in MENU_LAYOUT.items():
        menu = menubar.addMenu(title)
        for name in names:
            if name is None:
                menu.addSeparator()
            elif name == "@recent":
                menus["recent"] = menu.addMenu("Open &recent")
            elif name == "@classes":
                menus["classes"] = sub = menu.addMenu("Set &class (digit keys)")
                for spec in ACTIONS:
                    if spec.menu.startswith("Edit/"):
                        sub.addAction(actions[spec.name])
            else:
                menu.addAction(actions[name])
    return actions, menus


def current_state(session, runner, stack) -> AppState:
    """The :class:`AppState` of a window's session, model runner and undo stack."""
    return AppState(
        recording=session.recording is not None,
        reference=bool(session.reference_events),
        predictions=session.predictions is not None,
        running=runner.running,
        editing=session.editing,
        can_undo=stack.canUndo(),
        can_redo=stack.canRedo(),
        n_classes=len(session.classes),
    )


def state_signals(session, runner, stack) -> list:
    """Every signal after which :func:`current_state` may differ."""
    return [
        session.recording_changed, session.reference_changed, session.predictions_changed,
        session.editing_changed, session.classes_changed, runner.started, runner.finished,
        runner.failed, runner.cancelled, stack.canUndoChanged, stack.canRedoChanged,
    ]  # fmt: skip


def apply_state(actions: dict[str, QAction], state: AppState) -> None:
    """Enable every action by its rule (and check edit mode as the state says)."""
    for spec in ACTIONS:
        actions[spec.name].setEnabled(bool(spec.enabled(state)))
    actions["edit_mode"].setChecked(state.editing)
