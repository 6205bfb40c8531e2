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
print(json.dumps({"code": code, "loaded": sorted(m for m in ("torch", "onnx", "safetensors", "scipy.optimize")
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
    """The bundled model, by default (onnx on the CPU, fast): a cold cache exports (torch), a warm one does not."""
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
