"""Third-party licences from the installed packages' metadata (core/common/licences.py) and
``seld licences`` (core/cli/licences.py), checked against the packages of this environment."""

from __future__ import annotations

import sys
from importlib import metadata

import pytest

import core
from core.cli import main
from core.common import licences
from core.common.licences import (
    canonical_name,
    followed_requirement,
    licences_text,
    third_party,
    write_licences,
)


@pytest.fixture(scope="module")
def items():
    if not list(metadata.distributions(name="seld-studio")):
        pytest.skip("seld-studio is not installed as a package (pip install -e .)")
    return third_party()


def by_name(items):
    return {canonical_name(t.name): t for t in items}


def test_the_main_requirements_are_found_with_their_licences(items):
    found = by_name(items)
    assert "BSD" in found["numpy"].licence
    assert found["numpy"].version == metadata.version("numpy")
    pyside = found.get("pyside6-essentials") or found["pyside6"]
    assert "LGPL" in pyside.licence
    assert "LGPL" in found["shiboken6"].licence
    assert "BSD" in found["torch"].licence
    assert "MIT" in found["onnxruntime"].licence
    # a transitive requirement (onnx -> protobuf; sofar -> netCDF4 -> cftime) is listed too
    assert "protobuf" in found and "cftime" in found


def test_no_duplicates_no_self_no_extras_sorted(items):
    keys = [canonical_name(t.name) for t in items]
    assert len(keys) == len(set(keys))
    assert "seld-studio" not in keys
    # dev extras of seld-studio (pytest, ruff, mypy, hypothesis) are not followed
    assert not {"pytest", "ruff", "mypy", "hypothesis", "pytest-qt"} & set(keys)
    assert [t.name.lower() for t in items] == sorted(t.name.lower() for t in items)


def test_numpy_ships_its_licence_text(items):
    numpy = by_name(items)["numpy"]
    assert numpy.texts and numpy.texts[0].text.strip()
    assert "Redistribution" in numpy.texts[0].text
    assert numpy.texts[0].name == "LICENSE.txt"  # its own licence first, then the vendored ones
    assert all(not t.cut for t in numpy.texts)


def test_the_document_names_every_package_and_explains_qt(items):
    text = licences_text(items)
    for t in items:
        assert t.name in text and t.version in text
    assert "LGPL-3.0" in text and "PySide6" in text and "replace" in text
    assert "generated from the metadata of the installed" in text
    assert f"SELD Studio {core.__version__}" in text
    assert "BSD-3-Clause" in text
    assert text.count("Redistribution and use in source and binary forms") >= 2  # ours and numpy's


def test_write_licences_writes_the_document_atomically(items, tmp_path):
    out = tmp_path / "licences.txt"
    out.write_text("an older version")
    write_licences(out, items)
    assert out.read_bytes().decode("utf-8") == licences_text(items)
    assert [p.name for p in tmp_path.iterdir()] == ["licences.txt"]  # no temporary file left


def test_write_licences_names_the_file_it_cannot_write(items, tmp_path):
    from core.common.errors import SeldError

    target = tmp_path / "missing-folder" / "licences.txt"
    with pytest.raises(SeldError, match="missing-folder"):
        write_licences(target, items)


def test_a_long_licence_file_is_cut_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(licences, "MAX_TEXT_BYTES", 100)
    path = tmp_path / "LICENSE"
    path.write_bytes(b"x" * 250)
    read = licences._read_capped(path)
    assert read.cut and read.text.startswith("x" * 100) and "x" * 101 not in read.text
    assert "250 bytes" in read.text


def test_licence_files_are_picked_by_name_not_code():
    entry = licences._licence_entry
    assert entry("numpy-2.4.6.dist-info/licenses/LICENSE.txt")[1] == "LICENSE.txt"
    assert entry("soxr-1.1.0.dist-info/licenses/COPYING.LGPL")[1] == "COPYING.LGPL"
    assert entry("onnxruntime/LICENSE")[1] == "onnxruntime/LICENSE"
    assert entry("protobuf-7.36.2.dist-info/LICENSE")[1] == "LICENSE"
    # a vendored package's licence keeps its path, so it is not taken for the distribution's own
    assert (
        entry("setuptools/_vendor/x-1.0.dist-info/LICENSE")[1] == "setuptools/_vendor/x-1.0.dist-info/LICENSE"
    )
    assert entry("pip/_internal/licenses.py") is None
    assert entry("foo/__pycache__/license.cpython-311.pyc") is None
    assert entry("foo/README.md") is None


# --------------------------------------------------------------------------- requirements and markers


def test_a_requirement_only_an_extra_asks_for_is_not_followed():
    assert followed_requirement('pytest>=8; extra == "dev"') is None
    assert followed_requirement("numpy<3,>=1.24") == ("numpy", frozenset())
    assert followed_requirement('soxr[extra1]>=0.3; python_version >= "3.8"') == (
        "soxr",
        frozenset({"extra1"}),
    )
    assert followed_requirement('pywin32; sys_platform == "nonexistent-os"') is None
    # the extras of the requiring distribution that are in use do follow their requirements
    assert followed_requirement('librosa; extra == "dev"', extras=("dev",)) == ("librosa", frozenset())


def test_markers_without_packaging(monkeypatch):
    monkeypatch.setitem(sys.modules, "packaging.requirements", None)  # the import fails
    assert followed_requirement('pytest>=8; extra == "dev"') is None
    assert followed_requirement('librosa; extra == "dev"', extras=("dev",)) == ("librosa", frozenset())
    assert followed_requirement("numpy<3,>=1.24") == ("numpy", frozenset())
    assert followed_requirement("netCDF4 [a, b] !=1.7.4") == ("netCDF4", frozenset({"a", "b"}))
    # any other marker is taken as true: only installed distributions are listed anyway
    assert followed_requirement('colorama; platform_system == "Windows"') == ("colorama", frozenset())


def test_an_uninstalled_root_gives_an_empty_list_and_a_document_that_says_so():
    assert third_party("no-such-distribution-seld-test") == []
    text = licences_text([], root="no-such-distribution-seld-test")
    assert "not installed as a package" in text and "LGPL-3.0" in text


# --------------------------------------------------------------------------- seld licences


def test_cli_prints_the_table(items, capsys):
    assert main(["licences"]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["name", "version", "licence"]
    numpy = next(line for line in lines if line.split()[0] == "numpy")
    assert metadata.version("numpy") in numpy and "BSD" in numpy
    assert len(lines) == len(items) + 2  # header, rule, one line a package


def test_cli_writes_the_document(items, tmp_path, capsys):
    out_file = tmp_path / "THIRD_PARTY.txt"
    assert main(["licences", "--out", str(out_file)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and str(out_file) in err
    text = out_file.read_bytes().decode("utf-8")
    assert text == licences_text(items) and "numpy" in text


def test_cli_full_prints_the_document(items, capsys):
    assert main(["licences", "--full"]) == 0
    out, _ = capsys.readouterr()
    assert out == licences_text(items)


def test_cli_error_names_the_file(items, tmp_path, capsys):
    target = tmp_path / "no-folder" / "x.txt"
    assert main(["licences", "--out", str(target)]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("seld: error: ") and str(target) in err
