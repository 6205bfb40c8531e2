"""The cached ONNX graphs of model packages (core.packages.onnx_cache) and the torch-free start of the onnx backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.inference.predict import open_model, predict
from core.packages import onnx_cache
from core.packages.onnx_cache import (
    cache_dir,
    cached_onnx_bytes,
    entry_path,
    open_cached_onnx,
    package_digest,
)
from tests.test_inference import write_scene
from tests.test_package import _rewrite_meta, tiny_package

REPO = Path(__file__).resolve().parent.parent

TOLERANCE = 1e-4
"""Cached ONNX against torch: the export's own check (core.packages.export.ONNX_TOLERANCE)."""


@pytest.fixture
def cache(monkeypatch, tmp_path) -> Path:
    """A cache folder of the test's own (XDG_CACHE_HOME)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "seld-studio" / "onnx"


@pytest.fixture(scope="module")
def pkg(tmp_path_factory) -> Path:
    return tiny_package(tmp_path_factory.mktemp("pkg"))[0]


def test_the_cache_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "seld-studio" / "onnx"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cache_dir() == Path.home() / ".cache" / "seld-studio" / "onnx"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "seld-studio" / "onnx"


def test_miss_then_hit_keyed_by_the_package_digest(cache, pkg, tmp_path):
    import hashlib

    digest = package_digest(pkg)
    assert digest == hashlib.sha256(pkg.read_bytes()).hexdigest()
    first = open_cached_onnx(pkg)
    assert first.cache_status == "miss" and first.path == str(pkg)
    entry = entry_path(digest)
    assert entry.parent == cache and entry.name.startswith(digest) and entry.is_file()
    assert [p.name for p in cache.iterdir()] == [entry.name]  # no temporary left behind
    second = open_cached_onnx(pkg)
    assert second.cache_status == "hit"
    assert second.meta == first.meta  # the metadata is the package's (its header)
    # a changed package (same weights, other metadata) has another digest: a miss
    changed = tmp_path / "changed.safetensors"
    _rewrite_meta(pkg, changed, lambda d: d.update(threshold=0.3))
    model = open_cached_onnx(changed)
    assert model.cache_status == "miss" and model.meta.threshold == 0.3
    assert len(list(cache.iterdir())) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "valid_digest_bad_graph"])
def test_a_corrupt_entry_is_rebuilt(cache, pkg, damage):
    open_cached_onnx(pkg)
    entry = entry_path(package_digest(pkg))
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        i = len(data) - 100
        entry.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
    elif damage == "garbage":
        entry.write_bytes(b"not a cache entry")
    else:  # whole as far as its digest says, but no ONNX graph: onnxruntime refuses it
        entry.write_bytes(onnx_cache._pack(b"\x08\x07 not a graph"))
    model = open_cached_onnx(pkg)
    assert model.cache_status == "rebuilt"
    assert entry.read_bytes() == data  # replaced by a whole entry
    assert open_cached_onnx(pkg).cache_status == "hit"


def test_cached_onnx_outputs_equal_torch(cache, pkg, tmp_path):
    rec = tmp_path / "foa" / "r.wav"
    write_scene(rec, 3.0, seed=5)
    torch_model = open_model(pkg, backend="torch", device="cpu")
    want = predict(torch_model, rec)
    for status in ("miss", "hit"):
        onnx_model = open_model(pkg, backend="onnx", device="cpu")
        assert onnx_model.cache_status == status
        got = predict(onnx_model, rec)
        np.testing.assert_allclose(got.sed, want.sed, atol=TOLERANCE)
        np.testing.assert_allclose(got.doa, want.doa, atol=TOLERANCE)


def test_an_unwritable_cache_still_runs(monkeypatch, tmp_path, pkg):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    graph, status = cached_onnx_bytes(pkg)
    assert status == "miss" and graph
    assert open_cached_onnx(pkg).cache_status == "miss"  # exported again, nothing cached


def test_the_cache_keeps_a_bounded_number_of_entries(cache, monkeypatch, tmp_path, pkg):
    monkeypatch.setattr(onnx_cache, "MAX_ENTRIES", 2)
    paths = []
    for i in range(3):
        p = tmp_path / f"p{i}.safetensors"
        _rewrite_meta(pkg, p, lambda d, i=i: d.update(threshold=0.2 + 0.1 * i))
        paths.append(p)
        cached_onnx_bytes(p)
        os.utime(entry_path(package_digest(p)), (1000.0 + i, 1000.0 + i))
    kept = sorted(q.name for q in cache.iterdir())
    assert len(kept) == 2 and entry_path(package_digest(paths[0])).name not in kept


_NO_TORCH_RUN = """
import json, sys
from core.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(m for m in ("torch", "onnx", "safetensors", "scipy.optimize", "scipy.fft")
                                               if m in sys.modules)}))
"""


def _run_infer(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _NO_TORCH_RUN, "infer", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_seld_infer_with_a_cached_graph_does_not_import_torch(tmp_path):
    """The bundled model, by default (onnx on the CPU, fast): a cold cache exports (torch), a warm one does not
    (nor does it import scipy.fft, ~0.45 s: a short file's FFTs are numpy's)."""
    from core.io.resources import bundled_model_path

    if bundled_model_path("foa") is None:
        pytest.skip("no bundled FOA model installed")
    rec = tmp_path / "short.wav"
    write_scene(rec, 1.0, seed=7)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "CUDA_VISIBLE_DEVICES": ""}
    args = [str(rec), "--format", "foa", "--out", str(tmp_path / "out")]
    cold = _run_infer(args, env)
    assert cold["code"] == 0 and "torch" in cold["loaded"]  # the first start exports the graph
    warm = _run_infer(args, env)
    assert warm == {"code": 0, "loaded": []}, warm
    assert (tmp_path / "out" / "short.csv").is_file()


# --------------------------------------------------------------------------- graphs shipped with a bundle


@pytest.fixture
def shipped(monkeypatch, tmp_path) -> Path:
    """A folder of the test's own standing for a bundle's ``seld_resources/models/``."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    monkeypatch.setattr(onnx_cache, "SHIPPED_DIRS", [folder])
    return folder


def _no_export(package):
    raise AssertionError(f"exported {package}: the shipped graph should have been used")


def _ship(pkg: Path, shipped: Path, cache: Path) -> tuple[Path, bytes]:
    """Export ``pkg`` once (into the cache), move its entry into ``shipped``; the entry's path and bytes."""
    cached_onnx_bytes(pkg, shipped=False)
    entry = entry_path(package_digest(pkg))
    target = shipped / entry.name
    entry.rename(target)
    return target, target.read_bytes()


def test_a_shipped_graph_comes_first_and_nothing_is_written(cache, shipped, pkg, monkeypatch):
    target, data = _ship(pkg, shipped, cache)
    assert target == entry_path(package_digest(pkg), folder=shipped)  # the cache's own name and layout
    monkeypatch.setattr(onnx_cache, "_export", _no_export)
    model = open_cached_onnx(pkg)
    from core.packages.package_file import read_package_meta

    assert model.cache_status == "shipped" and model.meta == read_package_meta(pkg)  # the package's header
    assert cached_onnx_bytes(pkg) == (onnx_cache._unpack(data), "shipped")
    assert list(cache.iterdir()) == []  # the user's cache is not touched
    assert [p.name for p in shipped.iterdir()] == [target.name] and target.read_bytes() == data


def test_the_default_shipped_folder_is_the_bundled_models_folder(monkeypatch):
    from core.io.resources import bundled_model_dirs, bundled_model_path

    monkeypatch.setattr(onnx_cache, "SHIPPED_DIRS", None)
    assert onnx_cache.shipped_dirs() == bundled_model_dirs()
    model = bundled_model_path("foa")
    if model is not None:
        assert model.parent in onnx_cache.shipped_dirs()


@pytest.mark.parametrize("mismatch", ["digest", "opset", "cache_version", "seld_version"])
def test_a_shipped_graph_of_another_key_is_never_used(cache, shipped, pkg, mismatch):
    from core import __version__
    from core.packages.onnx_export import DEFAULT_OPSET

    target, data = _ship(pkg, shipped, cache)
    digest = package_digest(pkg)
    key = {
        "digest": ("0" * 64, DEFAULT_OPSET, onnx_cache.CACHE_VERSION, __version__),
        "opset": (digest, DEFAULT_OPSET - 1, onnx_cache.CACHE_VERSION, __version__),
        "cache_version": (digest, DEFAULT_OPSET, onnx_cache.CACHE_VERSION + 1, __version__),
        "seld_version": (digest, DEFAULT_OPSET, onnx_cache.CACHE_VERSION, __version__ + ".post9"),
    }[mismatch]
    other = shipped / f"{key[0]}-opset{key[1]}-v{key[2]}-seld{key[3]}{onnx_cache.SUFFIX}"
    target.rename(other)
    model = open_cached_onnx(pkg)
    assert model.cache_status == "miss"  # exported into the user's cache, as without a bundle
    assert entry_path(digest).is_file()
    assert [p.name for p in shipped.iterdir()] == [other.name] and other.read_bytes() == data


@pytest.mark.parametrize("damage", ["truncate", "valid_digest_bad_graph"])
def test_a_damaged_shipped_graph_is_passed_over_not_repaired(cache, shipped, pkg, damage):
    target, data = _ship(pkg, shipped, cache)
    bad = data[: len(data) // 2] if damage == "truncate" else onnx_cache._pack(b"\x08\x07 not a graph")
    target.write_bytes(bad)
    model = open_cached_onnx(pkg)
    assert model.cache_status == "miss"
    assert target.read_bytes() == bad  # a shipped folder is never written
    assert open_cached_onnx(pkg).cache_status == "hit"  # the user's cache serves it from now on


def test_a_package_without_a_graph_and_without_torch_is_refused_clearly(cache, shipped, pkg, monkeypatch):
    import core.common.optional as optional
    from core.common.errors import SeldError

    monkeypatch.setattr(optional, "torch_available", lambda: False)
    with pytest.raises(
        SeldError, match=rf"{pkg.name} has no cached ONNX graph here; exporting one needs PyTorch"
    ):
        open_cached_onnx(pkg)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(SeldError, match="this SELD Studio bundle was built without PyTorch"):
        open_cached_onnx(pkg)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_without_torch_the_default_backend_is_onnx_even_with_a_gpu(monkeypatch):
    import core.common.optional as optional
    from core.inference import predict as predict_module

    monkeypatch.setattr("core.common.optional.may_have_gpu", lambda: True)
    monkeypatch.setattr(optional, "torch_available", lambda: False)
    assert predict_module.default_backend("auto") == "onnx"
    assert predict_module.default_backend("cuda") == "onnx"
