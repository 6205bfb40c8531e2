"""Running a model from the window: off the GUI thread, overlays, cancel, bad models."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")

pytestmark = pytest.mark.qt


def _package(tmp_path, threshold: float):
    from core.labels.classes import DCASE2020
    from core.packages.package_file import save_package
    from core.packages.schema import make_meta
    from tests.test_package import noise_scaler, tiny_model

    model = tiny_model("foa", seed=3)
    meta = make_meta(model, fmt="foa", classes=DCASE2020, scaler=noise_scaler("foa", 3), threshold=threshold)
    path = tmp_path / "tiny.safetensors"
    save_package(path, model, meta)
    return path


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    from tests.qt_helpers import make_window

    return make_window(qtbot, monkeypatch, tmp_path / "settings.ini")


def _open(win, qtbot, path):
    win.open_path(path)
    qtbot.waitUntil(
        lambda: win.session.recording is not None and win.session.recording.path == str(path), timeout=10000
    )


def _scene(path, seconds):
    rng = np.random.default_rng(5)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (rng.standard_normal((int(24000 * seconds), 4)) * 0.05).astype(np.float32), 24000)
    return path


def test_run_overlays_the_models_output(window, qtbot, tmp_path):
    from core.inference.predict import open_model, predict, prediction_to_table
    from tests.qt_helpers import drop_paths

    audio = _scene(tmp_path / "foa_dev" / "scene.wav", 4.0)
    _open(window, qtbot, audio)
    pkg = _package(tmp_path, threshold=1e-6)  # every class active: a non-empty, known output
    drop_paths(window, pkg)
    assert window.runner.model_path == pkg
    window.run_model()
    assert window.runner.running and window.run_progress.isVisible()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60000)
    expected = prediction_to_table(predict(open_model(pkg, device="cpu"), audio))
    got = window.session.predictions
    assert len(got) == len(expected) == 40 * 14  # 4 s = 40 label frames, 14 classes
    assert [(r.frame, r.cls) for r in got] == [(r.frame, r.cls) for r in expected]
    np.testing.assert_allclose([r.azimuth for r in got], [r.azimuth for r in expected], atol=1e-3)
    assert len(window.lanes_view.prediction_items) == 14
    window.session.set_playhead(1.0)
    assert window.direction_view.marker_count[1] == 14
    assert "14 predicted events" in window.status_label.text()
    out = tmp_path / "pred.csv"
    window.save_predictions(out)
    assert len(out.read_text().splitlines()) == 40 * 14


def test_the_rotations_selector_runs_test_time_rotations(window, qtbot, tmp_path):
    from core.inference.predict import open_model, predict, prediction_to_table

    audio = _scene(tmp_path / "foa_dev" / "turned.wav", 2.0)
    _open(window, qtbot, audio)
    pkg = _package(tmp_path, threshold=1e-6)  # every class active: directions to compare
    window.open_model(pkg)
    assert window.view_bar.rotations_box.currentData() == "fast" and window.runner.rotations is None
    window.view_bar.set_rotations("4")
    window.run_model()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60000)
    assert window.runner.rotations == 4
    assert "4 test-time rotations" in window.status_label.text()
    model = open_model(pkg, device="cpu")
    expected = prediction_to_table(predict(model, audio, rotations=4))
    plain = prediction_to_table(predict(model, audio, rotations=1))
    got = window.session.predictions
    assert [(r.frame, r.cls) for r in got] == [(r.frame, r.cls) for r in expected]
    np.testing.assert_allclose([r.azimuth for r in got], [r.azimuth for r in expected], atol=1e-3)
    assert [(r.frame, r.cls, round(r.azimuth)) for r in expected] != [
        (r.frame, r.cls, round(r.azimuth)) for r in plain
    ]
    window.view_bar.set_rotations("fast")
    window.run_model()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60000)
    assert window.runner.rotations is None and "test-time rotations" not in window.status_label.text()


def test_cancel_keeps_the_previous_predictions(window, qtbot, tmp_path):
    from core.labels.dcase_csv import parse_labels

    audio = _scene(tmp_path / "foa_dev" / "long.wav", 200.0)  # several chunks: cancel lands between them
    _open(window, qtbot, audio)
    window.session.set_predictions(parse_labels("3,1,0,10,0\n"))
    window.open_model(_package(tmp_path, threshold=0.5))
    window.run_model()
    window.runner.cancel()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60000)
    assert "cancelled" in window.status_label.text()
    assert [(r.frame, r.cls) for r in window.session.predictions] == [(3, 1)]
    assert window.named_actions["run"].isEnabled() and not window.run_progress.isVisible()
    assert not window.named_actions["cancel"].isEnabled()


def test_a_broken_or_mismatched_model_gives_a_dialog(window, qtbot, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a model")
    window.open_model(bad)
    assert window.dialogs and "broken.safetensors" in window.dialogs[-1][1]
    assert window.runner.model_path is None
    # a FOA model on a MIC recording: refused with the core's message
    mic = _scene(tmp_path / "mic_dev" / "scene.wav", 2.0)
    _open(window, qtbot, mic)
    window.open_model(_package(tmp_path, threshold=0.5))
    window.run_model()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60000)
    assert "FOA" in window.dialogs[-1][1] and "MIC" in window.dialogs[-1][1]
    assert window.session.predictions is None


def test_without_a_model_run_says_what_to_do(window, qtbot, tmp_path, monkeypatch):
    from core.io import resources

    monkeypatch.setattr(resources, "bundled_model_path", lambda fmt="foa": None)
    _open(window, qtbot, _scene(tmp_path / "foa_dev" / "a.wav", 1.0))
    window.run_model()
    assert "no bundled FOA model" in window.dialogs[-1][1]


def test_the_device_selector_lists_what_this_machine_has(window, qtbot):
    import torch

    box = window.view_bar.device_box
    qtbot.waitUntil(lambda: "found:" in box.toolTip(), timeout=30000)
    items = [box.itemText(i) for i in range(box.count())]
    assert items[:2] == ["auto", "cpu"] and ("cuda" in items) == torch.cuda.is_available()


def test_rotations_default_to_fast_and_accurate_runs_the_packages_set(window, qtbot, tmp_path, monkeypatch):
    from core.io.resources import bundled_model_path
    from seldgui.toolbars import rotations_choice

    if bundled_model_path("foa") is None:
        pytest.skip("no bundled FOA model installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    box = window.view_bar.rotations_box
    assert box.currentData() == "fast" and box.currentText() == "fast (1)" and window.runner.rotations is None
    audio = _scene(tmp_path / "foa_dev" / "short.wav", 1.0)
    _open(window, qtbot, audio)
    window.run_model()  # F5 with the bundled model, as shipped: no test-time rotation
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60000)
    assert "test-time rotations" not in window.status_label.text()
    accurate = box.itemText(box.findData("accurate"))
    assert accurate.startswith("accurate (16x, ~") and accurate.endswith("x slower)")
    assert "slower" in box.toolTip()
    window.view_bar.set_rotations("accurate")
    assert window.runner.rotations == "accurate" and window.settings.get("rotations") == "accurate"
    window.run_model()
    qtbot.waitUntil(lambda: not window.runner.running, timeout=60000)
    assert "16 test-time rotations" in window.status_label.text()
    # what older versions remembered: their default ("model's") is now fast, "16" accurate
    assert [rotations_choice(v) for v in ("model's", "1", "4", "8", "16", "junk")] == [
        "fast",
        "fast",
        "4",
        "8",
        "accurate",
        "fast",
    ]
