"""Layer rules: ``core`` never imports Qt, pyqtgraph, vispy or the GUI package; inside ``core``
imports run only downward through :data:`core.LAYERS`, and no import chain is a cycle."""

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
    modules = [
        m.name
        for m in pkgutil.walk_packages([str(CORE_DIR)], prefix="core.")
        if not m.name.endswith(".__main__")  # running the program is not importing it
    ]
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


# --------------------------------------------------------------------------- layers inside core


def _core_modules(root: Path = CORE_DIR) -> dict[str, Path]:
    """Every module under ``root`` by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _core_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The core modules ``path`` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.startswith("core")
        ):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "core")
    return {m for m in found if m in modules}


def _layer(module: str) -> int:
    parts = module.split(".")
    return core.LAYERS.index(parts[1]) if len(parts) > 1 else -1  # the root package: below all


def _import_graph(root: Path = CORE_DIR) -> dict[str, set[str]]:
    modules = _core_modules(root)
    return {m: _core_imports(p, modules) - {m} for m, p in modules.items()}


def _upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {i}" for m, deps in graph.items() for i in deps if _layer(i) > _layer(m))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_core_module_lives_in_a_layer():
    packages = {p.name for p in CORE_DIR.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(core.LAYERS)
    loose = sorted(p.name for p in CORE_DIR.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules outside every layer: {loose}"


def test_core_imports_run_only_downward_and_never_in_a_cycle():
    graph = _import_graph()
    assert len(graph) > 50
    assert _upward_imports(graph) == []
    assert _cycles(graph) == []


def test_the_layer_checker_catches_an_upward_import_and_a_cycle(tmp_path):
    fake = tmp_path / "core"
    for pkg, body in {
        "common": {"a.py": "from core.common import b\n", "b.py": "import core.common.a\n"},
        "io": {"c.py": "def f():\n    from core.cli.d import g\n"},
        "cli": {"d.py": "from core.io.c import f\n"},
    }.items():
        (fake / pkg).mkdir(parents=True)
        (fake / pkg / "__init__.py").write_text("")
        for name, text in body.items():
            (fake / pkg / name).write_text(text)
    (fake / "__init__.py").write_text("")
    graph = _import_graph(fake)
    assert _upward_imports(graph) == ["core.io.c -> core.cli.d"]
    assert sorted(_cycles(graph)) == [["core.cli.d", "core.io.c"], ["core.common.a", "core.common.b"]]
