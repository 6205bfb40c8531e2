"""Help › About SELD Studio: the version, the paper, the bundled models and the third-party licences.

Three tabs. *About*: the version (``core.__version__``, the one place it lives), the licence,
the paper the app implements with its citation (and a button that copies it as BibTeX), and
the versions of the libraries that matter, read from the installed packages' metadata (torch
is not imported: the dialog opens at once). *Models*: what each bundled model package says
about itself (its header only is read, :func:`core.packages.package_file.read_package_meta`).
*Third-party licences*: filled the first time the tab is shown, from the installed packages'
metadata (:mod:`core.common.licences`), with a button that saves the whole document.
"""

from __future__ import annotations

import html
import math
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import core
from core.common.errors import SeldError
from seldgui.errors import show_error
from seldgui.tables import read_only_table

PAPER_TITLE = "On Multitask Loss Function for Audio Event Detection and Localization"
PAPER_URL = "https://arxiv.org/abs/2009.05527"
CITATION = (
    "H. Phan, L. Pham, P. Koch, N. Q. K. Duong, I. McLoughlin, A. Mertins, "
    f"“{PAPER_TITLE}”, Proc. 5th Workshop on Detection and Classification of Acoustic Scenes and "
    "Events (DCASE 2020), Tokyo (virtual), pp. 160–164, 2020, arXiv:2009.05527"
)
BIBTEX = """@inproceedings{phan2020multitask,
  author        = {Phan, Huy and Pham, Lam and Koch, Philipp and Duong, Ngoc Q. K. and McLoughlin, Ian and Mertins, Alfred},
  title         = {On Multitask Loss Function for Audio Event Detection and Localization},
  booktitle     = {Proceedings of the 5th Workshop on Detection and Classification of Acoustic Scenes and Events (DCASE 2020)},
  address       = {Tokyo, Japan (virtual)},
  pages         = {160--164},
  year          = {2020},
  eprint        = {2009.05527},
  archivePrefix = {arXiv},
  url           = {https://arxiv.org/abs/2009.05527}
}
"""
DESCRIPTION = (
    "Sound event localization and detection (SELD) on 4-channel FOA and MIC recordings: "
    "review, annotate, run and train SELD models."
)
NOT_INSTALLED = "not installed"
NOT_RECORDED = "not recorded"
RESULTS_DOC = "docs/results.md"
MODEL_FORMATS = ("foa", "mic")


# --------------------------------------------------------------------------- facts (no widgets)


def dist_version(*names: str) -> str:
    """The installed version of the first of ``names`` that is installed, or "not installed"."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return NOT_INSTALLED


def library_versions() -> list[tuple[str, str]]:
    """(library, version) of Python, Qt, PySide6, numpy, onnxruntime and torch (none imported)."""
    from PySide6.QtCore import qVersion

    return [
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", dist_version("PySide6", "PySide6-Essentials")),
        ("numpy", dist_version("numpy")),
        ("onnxruntime", dist_version("onnxruntime", "onnxruntime-gpu")),
        ("torch", dist_version("torch")),
    ]


def bundled_models() -> list[Path]:
    """The bundled model packages that are installed (FOA, then MIC)."""
    from core.io.resources import bundled_model_path

    return [p for p in (bundled_model_path(f) for f in MODEL_FORMATS) if p is not None]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    """A metadata value as text: a string, or a list of strings joined; else ``None``."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list | tuple):
        parts = [v.strip() for v in value if isinstance(v, str) and v.strip()]
        return "; ".join(parts) if parts else None
    return None


def format_scores(scores: Any) -> str:
    """``SELD 0.1637 · ER 0.278 · F 76.4 % · LE 13.7° · LR 93.5 %`` of a scores object
    (missing or odd values are left out; nothing usable: "not recorded")."""
    if not isinstance(scores, Mapping):
        return NOT_RECORDED
    shown = []
    for key, fmt in (
        ("SELD", "SELD {:.4f}"),
        ("ER", "ER {:.3f}"),
        ("F", "F {:.1%}"),
        ("LE", "LE {:.1f}°"),
        ("LR", "LR {:.1%}"),
    ):
        value = _number(scores.get(key))
        if value is not None:
            shown.append(fmt.format(value).replace("%", " %"))
    return " · ".join(shown) if shown else NOT_RECORDED


def format_budget(budget: Any) -> str:
    """``1056 steps, 88 epochs, 1 h 38 min (device auto)`` of a training budget object."""
    if not isinstance(budget, Mapping):
        return NOT_RECORDED
    parts = []
    for key, unit in (("steps", "steps"), ("epochs", "epochs")):
        value = _number(budget.get(key))
        if value is not None:
            parts.append(f"{value:,.0f} {unit}")
    seconds = _number(budget.get("seconds"))
    if seconds is not None:
        minutes = round(seconds / 60)
        parts.append(f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min")
    device = _text(budget.get("device"))
    text = ", ".join(parts) or NOT_RECORDED
    return f"{text} (device: {device})" if device else text


def _created(value: str) -> str:
    return (
        value[:10] if len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-" else value or NOT_RECORDED
    )


def model_html(path: Path) -> str:
    """What a model package says about itself, as HTML (never raises for a readable header)."""
    from core.packages.package_file import read_package_meta

    e = html.escape
    try:
        meta = read_package_meta(path)
    except (SeldError, OSError) as err:
        return f"<h3>{e(path.name)}</h3><p>This package cannot be read: {e(str(err))}</p>"
    metrics = meta.metrics if isinstance(meta.metrics, Mapping) else {}
    about = metrics.get("about") if isinstance(metrics.get("about"), Mapping) else {}

    def row(label: str, value: str | None, escape: bool = True) -> str:
        shown = value if value else NOT_RECORDED
        return f"<tr><td valign='top'><b>{e(label)}</b>&nbsp;&nbsp;</td><td>{e(shown) if escape else shown}</td></tr>"

    test = metrics.get("test")
    test_text = format_scores(test)
    if isinstance(test, Mapping):
        extra = []
        folds = test.get("folds")
        if isinstance(folds, list) and folds and all(_number(f) is not None for f in folds):
            extra.append(f"fold{'s' if len(folds) > 1 else ''} {', '.join(str(f) for f in folds)}")
        files = _number(test.get("files"))
        if files is not None:
            extra.append(f"{files:.0f} files")
        rotations = _number(test.get("rotations"))
        if rotations is not None and rotations > 1:
            extra.append(f"{rotations:.0f} rotations")
        if extra and test_text != NOT_RECORDED:
            test_text += f" ({', '.join(extra)})"

    held_out = metrics.get("held_out")
    if isinstance(held_out, Mapping) and held_out:
        held_text = "<br>".join(f"{e(str(name))}: {e(format_scores(s))}" for name, s in held_out.items())
    else:
        held_text = ""

    budget = metrics.get("budget_at_shipping")
    budget_text = e(format_budget(budget)) if isinstance(budget, Mapping) else ""
    if isinstance(budget, Mapping):
        earlier = budget.get("fine_tuned_from")
        if isinstance(earlier, list) and earlier:
            stages = "; ".join(format_budget(b) for b in earlier)
            budget_text += f"<br>fine-tuned from a model trained for: {e(stages)}"

    title = f"{meta.fmt.upper()} model" if isinstance(meta.fmt, str) and meta.fmt else "Model"
    rows = [
        row("Model", meta.describe()),
        row("Created", _created(meta.created)),
        row("Threshold", f"{meta.threshold:.2f}"),
        row("Test fold", test_text),
        row("Held-out data", held_text, escape=False),
        row("Trained on", _text(about.get("training_data"))),
        row("Good for", _text(about.get("good_for"))),
        row("Not good for", _text(about.get("not_good_for"))),
        row("Recipe", _text(about.get("recipe"))),
        row("Training budget", budget_text, escape=False),
    ]
    note = _text(metrics.get("note"))
    if note:
        rows.append(row("Note", note))
    return f"<h3>{e(title)} <small>({e(path.name)})</small></h3><table>{''.join(rows)}</table>"


# --------------------------------------------------------------------------- the dialog


class AboutDialog(QDialog):
    """Help › About SELD Studio. ``models``: the model packages the Models tab describes
    (default: the bundled ones)."""

    def __init__(self, parent: QWidget | None = None, models: Sequence[Path] | None = None):
        super().__init__(parent)
        self.setWindowTitle("About SELD Studio")
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._about_tab(), "About")
        self.tabs.addTab(self._models_tab(bundled_models() if models is None else list(models)), "Models")
        self.licences_tab = self._licences_tab()
        self.tabs.addTab(self.licences_tab, "Third-party licences")
        self.items: list | None = None  # the third-party packages, once the tab was shown
        self.tabs.currentChanged.connect(self._on_tab)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        self.resize(720, 520)

    # ---------------------------------------------------------------- About
    def _about_tab(self) -> QWidget:
        e = html.escape
        versions = "".join(
            f"<tr><td>{e(name)}&nbsp;&nbsp;</td><td>{e(version)}</td></tr>"
            for name, version in library_versions()
        )
        self.about_text = QTextBrowser()
        self.about_text.setOpenExternalLinks(True)
        self.about_text.setHtml(
            f"<h2>SELD Studio {e(core.__version__)}</h2>"
            f"<p>{e(DESCRIPTION)}</p>"
            "<p>Licence: BSD-3-Clause (the licences of the packages it uses: the "
            "<i>Third-party licences</i> tab).</p>"
            "<p>SELD Studio implements the multitask-regression CRNN and losses of the paper:<br>"
            f"{e(CITATION)} (<a href='{PAPER_URL}'>{PAPER_URL}</a>).</p>"
            "<p>Features, label files and metrics follow the definitions of DCASE 2020 Task 3 "
            "(sound event localization and detection).</p>"
            f"<p><b>Libraries</b></p><table>{versions}</table>"
        )
        self.copy_bibtex = QPushButton("Copy citation (BibTeX)")
        self.copy_bibtex.setToolTip("put a BibTeX entry of the paper on the clipboard")
        self.copy_bibtex.clicked.connect(self._copy_bibtex)
        self.copied = QLabel("")
        row = QHBoxLayout()
        row.addWidget(self.copy_bibtex)
        row.addWidget(self.copied, 1)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.about_text)
        layout.addLayout(row)
        return page

    def _copy_bibtex(self) -> None:
        QGuiApplication.clipboard().setText(BIBTEX)
        self.copied.setText("copied to the clipboard")

    # ---------------------------------------------------------------- Models
    def _models_tab(self, models: list[Path]) -> QWidget:
        self.models_text = QTextBrowser()
        self.models_text.setOpenExternalLinks(True)
        if models:
            body = "<hr>".join(model_html(Path(p)) for p in models)
        else:
            body = "<p>No bundled model is installed.</p>"
        self.models_text.setHtml(
            body + f"<p>The full numbers, and how they were obtained: {html.escape(RESULTS_DOC)} in "
            "SELD Studio's source repository.</p>"
        )
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.models_text)
        return page

    # ---------------------------------------------------------------- Third-party licences
    def _licences_tab(self) -> QWidget:
        intro = QLabel(
            "Generated from the installed packages' metadata: every package SELD Studio requires, directly "
            "or through another. Qt (PySide6, shiboken6) is used under the LGPL-3.0 and is installed as a "
            "separate package, which you may replace."
        )
        intro.setWordWrap(True)
        self.licence_table = read_only_table(["Name", "Version", "Licence"], single=True, stretch_last=True)
        self.licence_table.itemSelectionChanged.connect(self._show_selected)
        self.licence_view = QPlainTextEdit()
        self.licence_view.setReadOnly(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.licence_table)
        split.addWidget(self.licence_view)
        split.setSizes([180, 200])
        self.save_button = QPushButton("Save as…")
        self.save_button.setToolTip("save the whole document (every package's licence texts) to a text file")
        self.save_button.clicked.connect(self.save_as_dialog)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.save_button)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        return page

    def _on_tab(self, index: int) -> None:
        if self.tabs.widget(index) is self.licences_tab:
            self.fill_licences()

    def fill_licences(self) -> None:
        """Read the third-party packages (once) and list them."""
        if self.items is not None:
            return
        from core.common.licences import third_party

        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.items = third_party()
        finally:
            QApplication.restoreOverrideCursor()
        table = self.licence_table
        table.setRowCount(len(self.items))
        for i, t in enumerate(self.items):
            for j, text in enumerate((t.name, t.version, t.licence)):
                item = QTableWidgetItem(text)
                item.setToolTip(t.licence if j == 2 else t.home_page or text)
                table.setItem(i, j, item)
        if not self.items:
            self.licence_view.setPlainText(
                "No package metadata found: SELD Studio is not installed as a package here "
                "(pip install -e . installs it)."
            )
        else:
            table.selectRow(0)

    def _show_selected(self) -> None:
        rows = self.licence_table.selectionModel().selectedRows()
        if not rows or not self.items:
            return
        t = self.items[rows[0].row()]
        lines = [f"{t.name} {t.version}", f"Licence: {t.licence}"]
        if t.home_page:
            lines.append(f"Home page: {t.home_page}")
        lines.append("")
        if not t.texts:
            lines.append("(the installed package ships no licence file; see its home page)")
        for text in t.texts:
            lines += [f"--- {text.name} ---", "", text.text.rstrip("\n"), ""]
        self.licence_view.setPlainText("\n".join(lines))

    def save_licences(self, path: str | Path) -> bool:
        """Write the whole licence document to ``path``; an error is shown, not raised."""
        from core.common.licences import write_licences

        self.fill_licences()
        try:
            write_licences(path, self.items)
        except SeldError as err:
            show_error(self, "Cannot save the licences", str(err))
            return False
        return True

    def save_as_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the licences", "seld-studio-licences.txt", "Text (*.txt);;All files (*)"
        )
        if path:
            self.save_licences(path)
