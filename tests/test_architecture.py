"""Layer rules: ``core`` never imports Qt, pyqtgraph, vispy or the GUI package."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import core

FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "vispy", "seldgui", "qtpy", "superqt")
CORE_DIR = Path(core.__file__).parent


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    roots.add(arg.value.split(".")[0])
    return roots


def test_no_core_source_file_imports_gui_libraries():
    offenders = {}
    files = sorted(CORE_DIR.rglob("*.py"))
    assert len(files) >= 8, "the core package looks incomplete"
    for path in files:
        bad = _imported_roots(path) & set(FORBIDDEN)
        if bad:
            offenders[str(path.relative_to(CORE_DIR.parent))] = sorted(bad)
    assert offenders == {}


def test_the_checker_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom PySide6.QtCore import QObject\nimportlib.import_module('vispy.scene')\n")
    assert _imported_roots(bad) & set(FORBIDDEN) == {"PySide6", "vispy"}


def test_importing_every_core_module_loads_no_gui_library():
    modules = [m.name for m in pkgutil.walk_packages([str(CORE_DIR)], prefix="core.")]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_bundled_resources_are_found_through_the_installed_package_not_the_cwd(tmp_path):
    # run from an unrelated folder: the data package must still resolve to the resources folder
    code = (
        "import importlib.resources, pathlib\n"
        "p = pathlib.Path(str(importlib.resources.files('seld_resources')))\n"
        "print(p.resolve())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    found = Path(out.stdout.strip())
    assert found.name == "resources" and (found / "README.md").is_file()


def test_every_package_folder_is_listed_for_installation():
    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    repo = CORE_DIR.parent
    listed = set(tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(repo).parts)
        for top in ("core", "seldgui")
        for p in (repo / top).rglob("__init__.py")
    }
    assert found <= listed, f"not installed by a wheel: {sorted(found - listed)}"
