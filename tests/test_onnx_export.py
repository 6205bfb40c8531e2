"""ONNX export: parity with torch (the paper's model size), dynamic axes, embedded metadata."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from core.cli import main
from core.common.errors import ModelError
from core.labels.classes import DCASE2020
from core.nn.model import build_model
from core.packages.onnx_export import OnnxModel, export_onnx, onnx_bytes, read_onnx_meta
from core.packages.package_file import save_package
from core.packages.runtime import load_package
from core.packages.schema import PACKAGE_KEY, make_meta
from tests.test_package import noise_scaler, tiny_package


@pytest.fixture(scope="module")
def real_package(tmp_path_factory):
    """The paper's CRNN at full size (random weights and batch-norm statistics), as a package and ONNX file."""
    torch.manual_seed(0)
    model = build_model("crnn_attention")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()
    folder = tmp_path_factory.mktemp("real")
    path = folder / "real.safetensors"
    save_package(path, model, make_meta(model, fmt="foa", classes=DCASE2020, scaler=noise_scaler()))
    loaded = load_package(path)
    onnx_path = export_onnx(loaded, folder / "real.onnx")
    return loaded, onnx_path


def test_onnxruntime_matches_torch_at_full_size(real_package):
    loaded, onnx_path = real_package
    session = OnnxModel(onnx_path, device="cpu", threads=2)
    rng = np.random.default_rng(0)
    for batch, frames in ((1, 600), (1, 3000), (3, 100), (5, 600)):  # one file, several shapes
        x = rng.standard_normal((batch, 7, frames, 64)).astype(np.float32)
        ref = loaded.run(x)
        got = session.run(x)
        for a, b, k in zip(ref, got, (14, 42), strict=True):
            assert b.shape == (batch, frames // 5, k)
            assert np.abs(a - b).max() <= 1e-4, (batch, frames, np.abs(a - b).max())


def test_dynamic_axes_and_metadata_in_the_file(real_package):
    loaded, onnx_path = real_package
    proto = onnx.load(str(onnx_path))
    assert proto.opset_import[0].version == 17
    (inp,) = proto.graph.input
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert inp.name == "features" and dims == ["batch", 7, "frames", 64]
    assert [o.name for o in proto.graph.output] == ["sed", "doa"]
    props = {p.key: p.value for p in proto.metadata_props}
    assert PACKAGE_KEY in props
    meta = read_onnx_meta(onnx_path)
    assert meta == loaded.meta
    session = OnnxModel(onnx_path)
    assert session.meta == loaded.meta and session.backend == "onnx"
    np.testing.assert_array_equal(session.scaler.mean, loaded.scaler.mean)
    assert session.providers == ["CPUExecutionProvider"]


def test_in_memory_export_of_a_small_package(tmp_path):
    path, model, meta = tiny_package(tmp_path)
    loaded = load_package(path)
    session = OnnxModel.from_package(loaded)
    x = np.random.default_rng(1).standard_normal((2, 7, 200, 64)).astype(np.float32)
    for a, b in zip(loaded.run(x), session.run(x), strict=True):
        assert np.abs(a - b).max() <= 1e-5
    assert next(loaded.model.parameters()).device.type == "cpu"  # the export works on a copy
    assert loaded.model.training is False


def test_files_that_are_not_seld_onnx_models(tmp_path):
    path, model, _ = tiny_package(tmp_path)
    bare = tmp_path / "bare.onnx"
    bare.write_bytes(onnx_bytes(model))  # a bare module: no package metadata
    with pytest.raises(ModelError, match="without SELD Studio metadata"):
        OnnxModel(bare)
    with pytest.raises(ModelError, match="without SELD Studio metadata"):
        read_onnx_meta(bare)
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    with pytest.raises(ModelError, match="not a usable ONNX model"):
        OnnxModel(junk)
    with pytest.raises(ModelError, match="not found"):
        OnnxModel(tmp_path / "missing.onnx")


def _with_meta_props(onnx_path, out, edit) -> None:
    proto = onnx.load(onnx_path)
    for entry in proto.metadata_props:
        if entry.key == PACKAGE_KEY:
            data = json.loads(entry.value)
            edit(data)
            entry.value = json.dumps(data, allow_nan=True)
    out.write_bytes(proto.SerializeToString())


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda d: d["scaler"]["mean"][0].__setitem__(5, float("nan")),
            "the feature scaler's 'mean' holds NaN at channel 1, band 6",
        ),
        (
            lambda d: d["scaler"]["var"][6].__setitem__(0, 1e300),
            "the feature scaler's 'var' holds 1e+300 at channel 7, band 1",
        ),
        (
            lambda d: d["scaler"].update(var=[[1.0] * 64] * 6),
            "the feature scaler's 'var' must be 7 lists of 64",
        ),
    ],
)
def test_an_onnx_file_with_a_bad_scaler_is_refused_when_opened(tmp_path, capsys, edit, problem):
    """The metadata an .onnx file carries is checked as a package's is (before: a JSON ValueError or 0 rows)."""
    from tests.test_inference import write_scene

    path, _, _ = tiny_package(tmp_path)
    good = export_onnx(load_package(path), tmp_path / "good.onnx")
    bad = tmp_path / "bad.onnx"
    _with_meta_props(good, bad, edit)
    for open_it in (lambda: OnnxModel(bad), lambda: read_onnx_meta(bad)):
        with pytest.raises(ModelError) as err:
            open_it()
        assert str(err.value).startswith(f"{bad}: malformed SELD Studio metadata: {problem}")
    rec = tmp_path / "foa" / "r.wav"
    write_scene(rec, 1.0)
    assert main(["infer", str(rec), "--model", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert f"seld: error: {bad}: malformed SELD Studio metadata: " in capsys.readouterr().err
    assert not (tmp_path / "o" / "r.csv").exists()


def test_an_onnx_graph_that_fails_at_run_time_is_a_model_error(tmp_path):
    path, _, _ = tiny_package(tmp_path)
    model = OnnxModel.from_package(load_package(path))
    with pytest.raises(ModelError, match=r"the ONNX model failed on a batch of shape \(1, 6, 100, 64\)"):
        model.run(np.zeros((1, 6, 100, 64), np.float32))  # one feature channel short


def test_cuda_provider_refused_when_absent(tmp_path):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has a CUDA provider")
    path, _, _ = tiny_package(tmp_path)
    loaded = load_package(path)
    from core.common.errors import SeldError

    with pytest.raises(SeldError, match="no CUDA provider"):
        OnnxModel.from_package(loaded, device="cuda")
    assert OnnxModel.from_package(loaded, device="auto").device == "cpu"


def test_cli_export_onnx(tmp_path, capsys):
    path, _, meta = tiny_package(tmp_path)
    out = tmp_path / "m.onnx"
    assert main(["export-onnx", "--model", str(path), "--out", str(out)]) == 0
    assert read_onnx_meta(out) == meta
    assert "max abs difference" in capsys.readouterr().err
    assert main(["export-onnx", "--model", str(path), "--out", str(tmp_path / "m.txt")]) == 2
    assert "must end in .onnx" in capsys.readouterr().err
