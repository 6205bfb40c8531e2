"""Every action of the window is enabled exactly in the states where it can do something.

The six states of the issue (nothing open, a recording, with reference labels, with
predictions, a model running, editing) are reached in a real window, and every action of
the table is checked in each, against the expectation written out below (not derived from
the rules in ``seldgui.actions``).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")

pytestmark = pytest.mark.qt

LABELS = "10,1,0,30,0\n11,1,0,32,0\n20,4,0,-170,10\n"

ALWAYS = {"open", "open_folder", "quit", "open_model", "shortcuts", "about", "run_batch"}
RECORDING = ALWAYS | {"open_labels", "save", "save_as", "edit_mode", "play", "listen_reset", "run"}
REFERENCE = RECORDING | {"select_all", "next", "previous"}
EDITING_ONLY = {"delete", "nudge_left", "nudge_right", "split", "keyframe", "delete_keyframe", "simplify"}
DIGITS = {f"class_{d}" for d in range(10)}  # DCASE 2020 has 14 classes: every digit key has one

EXPECTED: dict[str, set[str]] = {
    "nothing open": ALWAYS,
    "recording open": RECORDING,
    "with reference": REFERENCE,
    "with predictions": REFERENCE | {"accept", "save_predictions"},
    "model running": (RECORDING - {"run"}) | {"cancel"},
    "editing": REFERENCE | EDITING_ONLY | DIGITS,
}


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    from tests.qt_helpers import make_window

    return make_window(qtbot, monkeypatch, tmp_path / "settings.ini")


def _recording(folder, name="scene.wav", seconds=3.0):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    x = np.random.default_rng(0).standard_normal((int(24000 * seconds), 4)) * 0.01
    sf.write(path, x.astype(np.float32), 24000, subtype="PCM_16")
    return path


def _open(window, qtbot, path):
    window.open_path(path)
    qtbot.waitUntil(
        lambda: window.session.recording is not None and window.session.recording.path == str(path),
        timeout=10000,
    )


def enabled(window) -> set[str]:
    return {name for name, action in window.named_actions.items() if action.isEnabled()}


def _gated_model(monkeypatch):
    """``predict`` that runs until cancelled (a model run held in the "running" state)."""
    from core.common.progress import Cancelled
    from core.inference import predict as predict_module

    started = threading.Event()

    def predict(model, source, *, cancel=None, **kwargs):
        started.set()
        for _ in range(6000):  # at most 30 s, so that a failed test leaves no thread behind
            if cancel():
                break
            threading.Event().wait(0.005)
        raise Cancelled()

    monkeypatch.setattr(predict_module, "open_model", lambda path, device=None: object())
    monkeypatch.setattr(predict_module, "predict", predict)
    return started


def test_every_action_is_enabled_exactly_in_the_states_it_works_in(window, qtbot, tmp_path, monkeypatch):
    from core.labels.dcase_csv import parse_labels
    from seldgui.actions import ACTIONS

    assert set(window.named_actions) == {spec.name for spec in ACTIONS}
    seen = {}
    seen["nothing open"] = enabled(window)
    audio = _recording(tmp_path / "foa_dev")
    _open(window, qtbot, audio)
    seen["recording open"] = enabled(window)
    labels = tmp_path / "labels.csv"
    labels.write_text(LABELS)
    window.open_labels(labels)
    seen["with reference"] = enabled(window)
    window.session.set_predictions(parse_labels("5,2,0,10,0\n"))
    seen["with predictions"] = enabled(window)
    window.session.set_predictions(None)
    window.session.set_editing(True)
    seen["editing"] = enabled(window)
    assert window.named_actions["edit_mode"].isChecked()

    window.named_actions["edit_mode"].trigger()  # edit mode off (it stays on across recordings)
    assert not window.session.editing
    other = _recording(tmp_path / "foa_dev", "other.wav")  # a new recording: no labels, no predictions
    _open(window, qtbot, other)
    started = _gated_model(monkeypatch)
    window.run_model()
    qtbot.waitUntil(started.is_set, timeout=10000)
    seen["model running"] = enabled(window)
    window.named_actions["cancel"].trigger()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=10000)
    seen["after the run"] = enabled(window)

    expected = dict(EXPECTED, **{"after the run": RECORDING})
    for state, names in expected.items():
        assert seen[state] == names, (state, sorted(seen[state] ^ names))


def test_undo_and_redo_follow_the_undo_stack(window, qtbot, tmp_path):
    from core.annotation import edits

    _open(window, qtbot, _recording(tmp_path / "foa_dev"))
    undo, redo = window.named_actions["undo"], window.named_actions["redo"]
    assert not undo.isEnabled() and not redo.isEnabled()
    window.annotation.push(edits.create_event(window.session.annotation, 3, 5, 10))
    assert undo.isEnabled() and not redo.isEnabled()
    undo.trigger()
    assert not undo.isEnabled() and redo.isEnabled() and len(window.session.annotation) == 0
    redo.trigger()
    assert len(window.session.annotation) == 1 and undo.isEnabled()


def test_save_predictions_is_disabled_once_a_new_recording_cleared_them(window, qtbot, tmp_path):
    from core.labels.dcase_csv import parse_labels

    _open(window, qtbot, _recording(tmp_path / "foa_dev"))
    window.session.set_predictions(parse_labels("5,2,0,10,0\n"))
    save = window.named_actions["save_predictions"]
    assert save.isEnabled()
    _open(window, qtbot, _recording(tmp_path / "foa_dev", "next.wav"))
    assert window.session.predictions is None and not save.isEnabled()
    assert not window.named_actions["accept"].isEnabled()


def test_digit_keys_exist_only_for_the_classes_of_the_class_set(window, qtbot, tmp_path):
    from core.labels.classes import custom

    _open(window, qtbot, _recording(tmp_path / "foa_dev"))
    window.session.set_editing(True)
    window.session.set_classes(custom(["dog", "cat", "bird"]))
    assert {n for n in enabled(window) if n.startswith("class_")} == {"class_1", "class_2", "class_3"}
    assert window.named_actions["class_2"].text() == "Set class: cat"


def test_the_rules_alone_give_the_same_table():
    """The rules as functions of the state (Qt-free), against the same expectation."""
    from seldgui.actions import ACTIONS, AppState

    states = {
        "nothing open": AppState(n_classes=14),
        "recording open": AppState(recording=True, n_classes=14),
        "with reference": AppState(recording=True, reference=True, n_classes=14),
        "with predictions": AppState(recording=True, reference=True, predictions=True, n_classes=14),
        "model running": AppState(recording=True, running=True, n_classes=14),
        "editing": AppState(recording=True, reference=True, editing=True, n_classes=14),
    }
    for state, facts in states.items():
        assert {spec.name for spec in ACTIONS if spec.enabled(facts)} == EXPECTED[state], state
