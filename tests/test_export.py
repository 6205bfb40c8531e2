"""Exporting a run's model: the package with its chosen threshold, and its ONNX file (core.packages.export)."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors import safe_open

from core.cli import main
from core.common.errors import SeldError
from core.packages.export import export_onnx, export_package
from core.packages.onnx_export import OnnxModel, read_onnx_meta
from core.packages.package_file import read_package_meta, save_package
from core.packages.runtime import load_package
from tests.test_package import tiny_package


def _tensors(path) -> dict[str, np.ndarray]:
    with safe_open(str(path), "np") as fh:
        return {key: fh.get_tensor(key) for key in fh.keys()}


def test_the_package_is_copied_with_the_chosen_threshold(tmp_path):
    source, _, meta = tiny_package(tmp_path)
    out = tmp_path / "exported.safetensors"
    written = export_package(source, out, threshold=0.35, metrics={"threshold_folds": [2]})
    got = read_package_meta(out)
    assert got == written and got.threshold == 0.35 and meta.threshold == 0.5
    assert got.metrics == {"SELD": 0.5, "threshold_folds": [2]}  # the package's metrics are kept
    assert got.classes == meta.classes and got.scaler == meta.scaler
    a, b = _tensors(source), _tensors(out)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_nothing_the_user_made_is_overwritten_without_asking(tmp_path):
    source, _, _ = tiny_package(tmp_path)
    out = tmp_path / "mine.safetensors"
    out.write_bytes(b"my own file")
    with pytest.raises(SeldError) as err:
        export_package(source, out)
    assert err.value.path == str(out) and err.value.problem.startswith(
        "already exists; the model package was not"
    )
    assert out.read_bytes() == b"my own file"
    export_package(source, out, threshold=0.6, overwrite=True)
    assert read_package_meta(out).threshold == 0.6
    with pytest.raises(SeldError, match="must end in .safetensors"):
        export_package(source, tmp_path / "model.pt")
    with pytest.raises(SeldError, match="between 0 and 1"):
        export_package(source, tmp_path / "x.safetensors", threshold=1.0)
    with pytest.raises(SeldError, match="the folder .* does not exist"):
        export_package(source, tmp_path / "no" / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_float16_weights_stay_float16(tmp_path):
    _, model, meta = tiny_package(tmp_path)
    half = tmp_path / "half.safetensors"
    save_package(half, model, meta, weights="float16")
    export_package(half, tmp_path / "out.safetensors", threshold=0.45)
    got = _tensors(tmp_path / "out.safetensors")
    assert {v.dtype.name for v in got.values()} == {v.dtype.name for v in _tensors(half).values()}
    assert "float16" in {v.dtype.name for v in got.values()}
    assert all(np.array_equal(got[k], v) for k, v in _tensors(half).items())


def test_onnx_export_is_checked_before_it_is_written(tmp_path):
    source, _, meta = tiny_package(tmp_path)
    out = tmp_path / "m.onnx"
    done = export_onnx(source, out)
    assert (done.path, done.meta, done.opset, done.size_bytes) == (out, meta, 17, out.stat().st_size)
    assert 0 <= done.max_abs_diff <= 1e-4 and read_onnx_meta(out) == meta
    x = np.random.default_rng(1).standard_normal((1, 7, 100, 64)).astype(np.float32)
    ref = load_package(source).run(x)
    assert all(np.abs(a - b).max() < 1e-4 for a, b in zip(ref, OnnxModel(out).run(x), strict=True))
    before = out.read_bytes()
    with pytest.raises(SeldError, match="already exists; the ONNX model was not written"):
        export_onnx(source, out)
    assert out.read_bytes() == before
    assert export_onnx(source, out, overwrite=True).path == out
    with pytest.raises(SeldError, match="must end in .onnx"):
        export_onnx(source, tmp_path / "m.txt")


def test_seld_export_onnx_refuses_an_existing_file_unless_told(tmp_path, capsys):
    source, _, _ = tiny_package(tmp_path)
    out = tmp_path / "m.onnx"
    args = ["export-onnx", "--model", str(source), "--out", str(out)]
    assert main(args) == 0 and "max abs difference" in capsys.readouterr().err
    assert main(args) == 2
    assert f"seld: error: {out}: already exists" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
