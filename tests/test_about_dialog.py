"""Help › About SELD Studio (seldgui/about.py): version, paper and citation, the bundled models'
own metadata, the third-party licences filled when their tab is first shown."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

pytest.importorskip("pytestqt")

import core  # noqa: E402

pytestmark = pytest.mark.qt


@pytest.fixture
def foa_model():
    from core.io.resources import bundled_model_path

    path = bundled_model_path("foa")
    if path is None:
        pytest.skip("no bundled FOA model installed")
    return path


@pytest.fixture
def dialog(qtbot, foa_model):
    from seldgui.about import AboutDialog

    d = AboutDialog()
    qtbot.addWidget(d)
    return d


def package_with_metrics(src, dst, metrics):
    """A copy of package ``src`` at ``dst`` whose metadata has ``metrics`` (the weights unchanged)."""
    from core.packages.schema import PACKAGE_KEY

    raw = src.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = json.loads(header["__metadata__"][PACKAGE_KEY])
    meta["metrics"] = metrics
    header["__metadata__"][PACKAGE_KEY] = json.dumps(meta)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    dst.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n :])
    return dst


def shown_value(text: str, label: str) -> str:
    """The value beside ``label`` in a model's table (a table's plain text puts each cell on a line)."""
    lines = [line.strip() for line in text.splitlines()]
    return lines[lines.index(label) + 1]


def test_the_about_tab_shows_the_version_and_the_paper(dialog):
    text = dialog.about_text.toPlainText()
    assert f"SELD Studio {core.__version__}" in text
    assert "arXiv:2009.05527" in text and "https://arxiv.org/abs/2009.05527" in text
    assert "On Multitask Loss Function for Audio Event Detection and Localization" in text
    assert "pp. 160–164" in text and "DCASE 2020 Task 3" in text
    assert "BSD-3-Clause" in text


def test_library_versions_come_from_the_metadata_without_importing_torch(dialog):
    from importlib import metadata

    text = dialog.about_text.toPlainText()
    assert metadata.version("numpy") in text and metadata.version("onnxruntime") in text
    from seldgui.about import NOT_INSTALLED, dist_version

    assert dist_version("no-such-distribution-seld-test") == NOT_INSTALLED


def test_opening_the_dialog_imports_no_torch():
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "import core.packages.package_file  # as in the app, where the window has imported it\n"
        "from seldgui.about import AboutDialog\n"
        "d = AboutDialog()\n"
        "d.show(); app.processEvents()\n"
        "d.tabs.setCurrentWidget(d.licences_tab); app.processEvents()\n"
        "print(d.licence_table.rowCount(), 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    rows, torch_loaded = out.stdout.split()
    assert torch_loaded == "False"
    assert int(rows) > 20


def test_the_bibtex_button_puts_the_entry_on_the_clipboard(dialog):
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.clipboard().setText("")
    dialog.copy_bibtex.click()
    text = QGuiApplication.clipboard().text()
    assert text.startswith("@inproceedings{") and "Phan, Huy" in text
    assert "2009.05527" in text and "160--164" in text and text.rstrip().endswith("}")


def test_the_models_tab_shows_the_bundled_models_own_numbers(dialog, foa_model):
    from core.packages.package_file import read_package_meta

    meta = read_package_meta(foa_model)
    test = meta.metrics["test"]
    text = dialog.models_text.toPlainText()
    assert meta.describe() in text
    assert f"SELD {test['SELD']:.4f}" in text and f"ER {test['ER']:.3f}" in text
    assert f"LE {test['LE']:.1f}°" in text and f"F {100 * test['F']:.1f} %" in text
    assert f"{meta.threshold:.2f}" in text and meta.created[:10] in text
    assert "docs/results.md" in text


def test_a_package_without_about_shows_not_recorded(qtbot, tmp_path, foa_model):
    from seldgui.about import NOT_RECORDED, AboutDialog

    path = package_with_metrics(foa_model, tmp_path / "plain.safetensors", {"test": {"SELD": 0.5, "ER": 0.4}})
    d = AboutDialog(models=[path])
    qtbot.addWidget(d)
    text = d.models_text.toPlainText()
    assert "SELD 0.5000" in text and "ER 0.400" in text
    for label in ("Trained on", "Good for", "Not good for", "Recipe", "Held-out data", "Training budget"):
        assert shown_value(text, label) == NOT_RECORDED, label
    assert "plain.safetensors" in text


def test_a_package_with_about_held_out_and_budget_shows_them(qtbot, tmp_path, foa_model):
    from seldgui.about import NOT_RECORDED, AboutDialog

    metrics = {
        "test": {"SELD": 0.25, "ER": 0.3, "F": 0.7, "LE": 15.0, "LR": 0.8},
        "about": {
            "training_data": "synthetic scenes, folds 2-6",
            "good_for": ["alarms", "speech"],
            "not_good_for": 42,  # an odd type: not shown, never a crash
            "recipe": "the paper's recipe",
        },
        "held_out": {
            "STARSS23 fold 4": {"SELD": 0.4321, "ER": 0.5, "F": 0.4, "LE": 25.0, "LR": 0.6},
            "odd": "x",
        },
        "budget_at_shipping": {
            "steps": 1200,
            "epochs": 10,
            "seconds": 7260,
            "device": "cuda",
            "fine_tuned_from": [{"steps": 300, "epochs": 3, "seconds": 600}],
        },
    }
    path = package_with_metrics(foa_model, tmp_path / "full.safetensors", metrics)
    d = AboutDialog(models=[path])
    qtbot.addWidget(d)
    text = d.models_text.toPlainText()
    assert "synthetic scenes, folds 2-6" in text and "alarms; speech" in text and "the paper's recipe" in text
    assert shown_value(text, "Not good for") == NOT_RECORDED
    assert shown_value(text, "Trained on") == "synthetic scenes, folds 2-6"
    assert "STARSS23 fold 4: SELD 0.4321 · ER 0.500 · F 40.0 % · LE 25.0° · LR 60.0 %" in text
    assert "odd: not recorded" in text
    assert "1,200 steps, 10 epochs, 2 h 01 min (device: cuda)" in text
    assert "fine-tuned from a model trained for: 300 steps, 3 epochs, 10 min" in text


def test_odd_metrics_and_an_unreadable_package_do_not_crash(qtbot, tmp_path, foa_model):
    from seldgui.about import AboutDialog

    odd = package_with_metrics(
        foa_model,
        tmp_path / "odd.safetensors",
        {"test": [1, 2], "about": "text", "held_out": [], "budget_at_shipping": {"fine_tuned_from": "x"}},
    )
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a package at all")
    d = AboutDialog(models=[odd, broken])
    qtbot.addWidget(d)
    text = d.models_text.toPlainText()
    assert "odd.safetensors" in text and "Test fold" in text
    assert "broken.safetensors" in text and "cannot be read" in text


def test_the_licences_tab_is_filled_when_first_shown(dialog, tmp_path):
    from core.common.licences import canonical_name, licences_text

    table = dialog.licence_table
    assert table.rowCount() == 0 and dialog.items is None
    dialog.tabs.setCurrentWidget(dialog.licences_tab)
    names = [canonical_name(table.item(i, 0).text()) for i in range(table.rowCount())]
    assert "numpy" in names and ("pyside6-essentials" in names or "pyside6" in names)
    row = names.index("numpy")
    assert "BSD" in table.item(row, 2).text()
    table.selectRow(row)
    assert "Redistribution" in dialog.licence_view.toPlainText()
    assert dialog.licence_view.isReadOnly()
    out = tmp_path / "licences.txt"
    assert dialog.save_licences(out)
    assert out.read_bytes().decode("utf-8") == licences_text(dialog.items)


def test_the_help_menu_opens_the_about_dialog(qtbot, monkeypatch, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from seldgui.about import AboutDialog
    from tests.qt_helpers import make_window

    window = make_window(qtbot, monkeypatch, tmp_path / "settings.ini")
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.named_actions["about"] in help_menu.actions()
    assert window.named_actions["about"].isEnabled()
    seen = []

    def close_it(tries=200):
        dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, AboutDialog) and w.isVisible()]
        if dialogs:
            seen.append(dialogs[0].windowTitle())
            dialogs[0].reject()
        elif tries:
            QTimer.singleShot(25, lambda: close_it(tries - 1))

    QTimer.singleShot(0, close_it)
    window.named_actions["about"].trigger()  # returns once the dialog is closed
    assert seen == ["About SELD Studio"]
