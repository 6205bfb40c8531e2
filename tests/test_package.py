"""Model packages: safetensors + JSON metadata, never pickle."""

from __future__ import annotations

import json
import math
import os
import pickle
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from core.common.errors import ModelError
from core.dsp.features import FeatureScaler
from core.labels.classes import DCASE2020, DCASE2021
from core.nn.model import SeldCRNN, build_model
from core.packages.package_file import read_package_meta, save_package
from core.packages.runtime import LoadedModel, load_package
from core.packages.schema import FORMAT_VERSION, PACKAGE_KEY, PackageMeta, check_compatible, make_meta
from core.packages.torch_checkpoint import load_torch_checkpoint

SMALL = {"conv_filters": (8, 8, 16, 16, 16, 16), "gru_hidden": 16, "d_k": 8, "fc_size": 16}
"""A small configuration of the paper's CRNN for fast tests."""


def tiny_model(fmt: str = "foa", n_classes: int = 14, seed: int = 0) -> SeldCRNN:
    """A randomly initialised small CRNN (batch-norm statistics randomised too), in eval mode."""
    torch.manual_seed(seed)
    model = build_model("crnn_attention", in_channels=7 if fmt == "foa" else 10, n_classes=n_classes, **SMALL)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


def noise_scaler(fmt: str = "foa", seed: int = 0) -> FeatureScaler:
    """A scaler fitted on features of a few seconds of noise."""
    from core.dsp.features import extract_features

    rng = np.random.default_rng(seed)
    audio = (0.05 * rng.standard_normal((4, 24000 * 3))).astype(np.float32)
    return FeatureScaler().partial_fit(extract_features(audio, fmt))


def tiny_package(tmp_path, fmt: str = "foa", name: str = "tiny.safetensors", seed: int = 0):
    """``(path, model, meta)`` of a small random package written under ``tmp_path``."""
    model = tiny_model(fmt, seed=seed)
    meta = make_meta(
        model,
        fmt=fmt,
        classes=DCASE2020,
        scaler=noise_scaler(fmt, seed),
        training={"seed": seed},
        metrics={"SELD": 0.5},
    )
    path = tmp_path / name
    save_package(path, model, meta)
    return path, model, meta


@pytest.fixture
def package(tmp_path):
    return tiny_package(tmp_path)


def _rewrite_meta(path, out, edit) -> None:
    """Copy a package to ``out`` with its metadata dict changed by ``edit`` (tensors kept)."""
    from safetensors.torch import load_file

    tensors = load_file(path)
    data = read_package_meta(path).to_dict()
    text = edit(data)
    save_file(tensors, out, metadata={PACKAGE_KEY: text if isinstance(text, str) else json.dumps(data)})


# --------------------------------------------------------------------------- round trip


def test_round_trip_gives_identical_outputs(package):
    path, model, meta = package
    loaded = load_package(path)
    assert isinstance(loaded, LoadedModel)
    assert not loaded.model.training
    x = torch.randn(3, 7, 200, 64)
    with torch.no_grad():
        ref = model(x)
        got = loaded.model(x)
    for a, b in zip(ref, got, strict=True):
        assert torch.equal(a, b)
    sed, doa = loaded.run(x.numpy())
    np.testing.assert_array_equal(sed, ref[0].numpy())
    np.testing.assert_array_equal(doa, ref[1].numpy())
    assert loaded.meta == meta
    np.testing.assert_array_equal(loaded.scaler.mean, FeatureScaler.from_dict(meta.scaler).mean)


def test_metadata_fields_and_header(package):
    path, model, _ = package
    meta = read_package_meta(path)
    assert meta.format_version == FORMAT_VERSION
    assert meta.model_name == "crnn_attention"
    assert meta.model_args == json.loads(json.dumps(model.config))
    assert meta.classes == DCASE2020.names and meta.class_set == "dcase2020"
    assert meta.fmt == "foa" and meta.in_channels == 7
    assert meta.threshold == 0.5
    assert meta.features["definition"] == "dcase2020"
    assert set(meta.versions) == {"seld-studio", "torch", "numpy", "python"}
    assert meta.training == {"seed": 0} and meta.metrics == {"SELD": 0.5}
    assert meta.created.endswith("+00:00")
    assert meta.class_set_obj() is DCASE2020
    # a standard safetensors file: 8-byte header length, JSON header with our one metadata key
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    assert list(header["__metadata__"]) == [PACKAGE_KEY]
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__" and "num_batches" not in k}
    assert dtypes == {"F32"}


def test_meta_reads_only_the_header(package, tmp_path):
    path, _, meta = package
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(raw[: 8 + n + 10])  # tensor data truncated
    assert read_package_meta(cut) == meta
    with pytest.raises(ModelError, match="damaged safetensors"):
        load_package(cut)


def test_save_is_atomic_and_leaves_no_temporary_files(package, tmp_path):
    path, model, meta = package
    save_package(path, model, meta)  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.safetensors"]
    with pytest.raises(ModelError, match="cannot write"):
        save_package(tmp_path / "missing" / "x.safetensors", model, meta)


def test_float16_weights_halve_the_file_and_load_as_float32(package, tmp_path):
    path, model, meta = package
    half = tmp_path / "half.safetensors"
    save_package(half, model, meta, weights="float16")
    n_float = sum(t.numel() for t in model.state_dict().values() if t.is_floating_point())
    saved = path.stat().st_size - half.stat().st_size
    assert saved == pytest.approx(2 * n_float, rel=0.01)  # two bytes per weight (header aside)
    loaded = load_package(half)
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    for (name, ref), got in zip(model.state_dict().items(), loaded.model.state_dict().values(), strict=True):
        if ref.is_floating_point():
            assert torch.equal(got, ref.to(torch.float16).to(torch.float32)), name
    x = torch.randn(2, 7, 100, 64)
    with torch.no_grad():
        a, b = model(x)[0], loaded.model(x)[0]
    assert float((a - b).abs().max()) < 1e-2
    with pytest.raises(ModelError, match="weights must be one of"):
        save_package(half, model, meta, weights="int8")


# --------------------------------------------------------------------------- broken files


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ModelError, match="model file not found") as err:
        read_package_meta(tmp_path / "nope.safetensors")
    assert "nope.safetensors" in str(err.value)
    with pytest.raises(ModelError, match="is a folder"):
        load_package(tmp_path)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"hello, this is a text file\nnot weights\n", "a text file"),
        (b"", "first bytes"),
        (b"\x01\x00", "first bytes"),
        (pickle.dumps({"a": 1}, protocol=4), "a Python pickle"),
        (b"\xff" * 64, "first bytes"),
    ],
)
def test_not_a_safetensors_file(tmp_path, content, kind):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="is not a SELD Studio model package") as err:
        load_package(path)
    assert kind in str(err.value)
    assert str(path) in str(err.value)


def test_a_torch_checkpoint_renamed(tmp_path, package):
    _, model, _ = package
    path = tmp_path / "renamed.safetensors"
    torch.save(model.state_dict(), path)
    with pytest.raises(ModelError, match="zip archive"):
        read_package_meta(path)


def test_plain_safetensors_without_metadata(tmp_path, package):
    _, model, _ = package
    path = tmp_path / "plain.safetensors"
    save_file(model.state_dict(), path)
    with pytest.raises(ModelError, match="plain safetensors file without SELD Studio metadata"):
        load_package(path)
    save_file(model.state_dict(), path, metadata={"format": "pt"})
    with pytest.raises(ModelError, match="without SELD Studio metadata"):
        read_package_meta(path)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: "{not json", "not valid JSON"),
        (lambda d: "[1, 2]", "expected a JSON object"),
        (lambda d: d.pop("classes"), "missing field 'classes'"),
        (lambda d: (d.pop("scaler"), d.pop("fmt")), "missing fields 'fmt', 'scaler'"),
        (lambda d: d.update(fmt="binaural"), "'fmt' must be 'foa' or 'mic'"),
        (lambda d: d.update(in_channels=10), "'in_channels' is 10"),
        (lambda d: d.update(classes=d["classes"][:3]), "n_classes 14 differs"),
        (lambda d: d.update(threshold=2), "'threshold'"),
        (lambda d: d.update(scaler={"mean": 1}), "the feature scaler has no 'var' and no 'count'"),
        (lambda d: d.update(features={"hop": 256}), "unsupported feature settings"),
        (lambda d: d.update(format_version="1"), "'format_version'"),
        (
            lambda d: '{"format_version": ' + "9" * 5000 + "}",
            "not valid JSON (Exceeds the limit (4300 digits)",
        ),
        (
            lambda d: d.update(features={"hop": [480] * 100_000}),
            "unsupported feature settings: hop is [480, 480,",
        ),
        (lambda d: d.update(features={"n_mels": 64.0}), "unsupported feature settings: n_mels is 64.0"),
    ],
)
def test_malformed_metadata(tmp_path, package, edit, match):
    path, _, _ = package
    out = tmp_path / "bad.safetensors"
    _rewrite_meta(path, out, edit)
    with pytest.raises(ModelError, match="malformed SELD Studio metadata") as err:
        load_package(out)
    assert match in str(err.value)
    assert str(out) in str(err.value)


def test_newer_format_version(tmp_path, package):
    out = tmp_path / "new.safetensors"
    _rewrite_meta(package[0], out, lambda d: d.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ModelError, match="newer SELD Studio"):
        read_package_meta(out)


def test_unknown_model_name_and_bad_arguments(tmp_path, package):
    out = tmp_path / "unknown.safetensors"
    _rewrite_meta(package[0], out, lambda d: d.update(model_name="transformer_xl"))
    with pytest.raises(ModelError, match="unknown model 'transformer_xl'.*crnn_attention"):
        load_package(out)
    _rewrite_meta(package[0], out, lambda d: d["model_args"].update(heads=4))
    with pytest.raises(ModelError, match="arguments do not fit"):
        load_package(out)


def _with_tensors(tmp_path, package, change):
    path, model, meta = package
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    change(tensors)
    out = tmp_path / "weights.safetensors"
    save_file(tensors, out, metadata={PACKAGE_KEY: meta.to_json()})
    return out


def test_weights_that_do_not_match_the_architecture(tmp_path, package):
    out = _with_tensors(tmp_path, package, lambda t: t.pop("gru.weight_hh_l0"))
    with pytest.raises(ModelError, match=r"1 missing \(e.g. 'gru.weight_hh_l0'\)"):
        load_package(out)
    out = _with_tensors(tmp_path, package, lambda t: t.update(extra=torch.zeros(2)))
    with pytest.raises(ModelError, match=r"1 unexpected \(e.g. 'extra'\)"):
        load_package(out)
    out = _with_tensors(tmp_path, package, lambda t: t.update({"sed.out.weight": torch.zeros(13, 16)}))
    with pytest.raises(
        ModelError, match=r"'sed.out.weight' has shape \(13, 16\) but the model needs \(14, 16\)"
    ):
        load_package(out)
    out = _with_tensors(tmp_path, package, lambda t: t["doa.fc1.bias"].fill_(float("nan")))
    with pytest.raises(ModelError, match="'doa.fc1.bias' contains NaN"):
        load_package(out)


def _scaler_edit(key, value, r=0, c=0):
    return lambda d: d["scaler"][key][r].__setitem__(c, value)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_scaler_edit("mean", float("nan")), "'mean' holds NaN at channel 1, band 1"),
        (_scaler_edit("mean", float("inf"), 3, 7), "'mean' holds an infinite value at channel 4, band 8"),
        (_scaler_edit("mean", 1e300, 6, 63), "'mean' holds 1e+300 at channel 7, band 64"),
        (_scaler_edit("mean", -1000.5), "'mean' holds -1000 at channel 1, band 1"),
        (_scaler_edit("var", 1e300), "'var' holds 1e+300 at channel 1, band 1"),
        (_scaler_edit("var", 1.5e6), "'var' holds 1.5e+06"),
        (_scaler_edit("var", -0.5), "'var' holds -0.5"),
        (_scaler_edit("var", 1e-300), "'var' holds 1e-300"),
        (_scaler_edit("var", float("nan"), 2, 2), "'var' holds NaN at channel 3, band 3"),
        (_scaler_edit("var", "2.0"), "'var' holds '2.0' at channel 1, band 1; numbers are expected"),
        (_scaler_edit("var", True), "'var' holds True at channel 1, band 1; numbers are expected"),
        (lambda d: d["scaler"]["mean"].pop(), "'mean' must be 7 lists of 64 numbers"),
        (lambda d: d["scaler"]["var"][0].pop(), "'var' must be 7 lists of 64 numbers"),
        (lambda d: d["scaler"].update(count=-3), "'count' must be a positive integer, not -3"),
        (lambda d: d["scaler"].update(count=2.5), "'count' must be a positive integer, not 2.5"),
    ],
)
def test_an_unusable_feature_scaler_is_refused_on_load(tmp_path, package, edit, problem):
    """NaN/Inf/absurd values would give NaN (or silently flattened) features; refused by name and place."""
    out = tmp_path / "scaler.safetensors"
    _rewrite_meta(package[0], out, lambda d: (edit(d), json.dumps(d, allow_nan=True))[1])
    for read in (read_package_meta, load_package):
        with pytest.raises(ModelError) as err:
            read(out)
        assert str(err.value).startswith(
            f"{out}: malformed SELD Studio metadata: the feature scaler's {problem}"
        ), str(err.value)


def test_the_scaler_bounds_keep_normalised_features_finite():
    """With the bounds, any feature within ±100 normalises to a finite float32, and real scalers pass."""
    from core.packages.schema import SCALER_MAX_ABS_MEAN, SCALER_MAX_VAR, SCALER_MIN_VAR

    worst = (100 + SCALER_MAX_ABS_MEAN) / math.sqrt(SCALER_MIN_VAR)
    assert np.isfinite(np.float32(worst)) and worst < 2e9
    scaler = noise_scaler("mic")
    assert np.abs(scaler.mean).max() < SCALER_MAX_ABS_MEAN / 10 and scaler.var.max() < SCALER_MAX_VAR / 100


def test_a_corrupted_header_length_is_named(tmp_path, package):
    path = package[0]
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    cases = {
        "long": (
            struct.pack("<Q", n + 10**9) + raw[8:],
            f"its header length field says {n + 10**9} bytes but only",
        ),
        "short": (struct.pack("<Q", n - 100) + raw[8:], f"its {n - 100}-byte header is not valid JSON ("),
        "limit": (struct.pack("<Q", 200 * 1024 * 1024) + raw[8:], "more than the 100 MB safetensors allows"),
    }
    for name, (data, problem) in cases.items():
        out = tmp_path / f"{name}.safetensors"
        out.write_bytes(data)
        if name == "limit":
            with open(out, "r+b") as fh:  # make the file long enough for the claim (sparse: no disk used)
                fh.truncate(300 * 1024 * 1024)
        with pytest.raises(ModelError) as err:
            read_package_meta(out)
        assert str(err.value).startswith(f"{out}: is a damaged safetensors file: "), str(err.value)
        assert problem in str(err.value) and "ONNX" not in str(err.value)
        out.unlink()


@pytest.mark.parametrize(
    ("head", "name", "onnx"),
    [
        (b"\x08\x08\x12\x07pytorch", "m.safetensors", True),  # an ONNX ModelProto: ir_version 8, producer
        (b"\x08\x07\x3a\x10", "m.safetensors", True),  # ir_version 7, then the graph
        (b"\x08\x03\x00\x00\x00\x00\x00\x00[", "m.safetensors", False),  # a length of 776, then not JSON
        (b"\x08\x01\xff", "m.safetensors", False),
        (b"\xff\xff\x00\x01", "m.onnx", True),  # the name says so
    ],
)
def test_a_file_is_called_onnx_only_when_it_looks_like_one(tmp_path, head, name, onnx):
    out = tmp_path / name
    out.write_bytes(head + bytes(40))
    with pytest.raises(ModelError, match="is not a SELD Studio model package") as err:
        read_package_meta(out)
    assert ("looks like an ONNX model" in str(err.value)) == onnx, str(err.value)


def test_json_nested_too_deeply_is_refused_on_every_python(tmp_path, package):
    from core.packages.schema import MAX_JSON_DEPTH

    out = tmp_path / "deep.safetensors"
    # the package object and "training" are two levels: a list nested d deep reaches level d + 2
    for depth, refused in ((MAX_JSON_DEPTH - 2, False), (MAX_JSON_DEPTH - 1, True), (100_000, True)):
        deep = "[" * depth + "]" * depth
        _rewrite_meta(
            package[0], out, lambda d, deep=deep: json.dumps(d)[:-1] + f', "training": {{"x": {deep}}}}}'
        )
        if refused:
            with pytest.raises(ModelError, match="the JSON is nested too deeply"):
                read_package_meta(out)
        else:
            assert read_package_meta(out).training["x"] == json.loads(deep)


def test_a_huge_declared_model_is_checked_before_it_is_built(tmp_path, package, monkeypatch):
    """Constructor arguments are compared with the file's tensors on the meta device: nothing allocated."""
    import core.packages.runtime as pkg

    out = tmp_path / "huge.safetensors"
    _rewrite_meta(package[0], out, lambda d: d["model_args"].update(gru_hidden=10**6))
    built = []
    real_build = pkg.build_from_meta
    monkeypatch.setattr(
        pkg, "build_from_meta", lambda *a: built.append(torch.empty(0).device) or real_build(*a)
    )
    with pytest.raises(
        ModelError, match=r"'gru.weight_ih_l0' has shape \(48, 32\) but the model needs \(3000000, 32\)"
    ):
        load_package(out)
    assert [d.type for d in built] == ["meta"]  # only the skeleton was built


def test_a_truncated_or_inconsistent_tensor_section_is_named(tmp_path, package):
    raw = package[0].read_bytes()
    out = tmp_path / "cut.safetensors"
    out.write_bytes(raw[:-10])
    with pytest.raises(
        ModelError, match=r"is a damaged safetensors file: tensor '.*' lies at bytes \d+\.\.\d+ of"
    ):
        load_package(out)
    out.write_bytes(raw + b"\x00" * 16)
    with pytest.raises(ModelError, match=r"its tensors fill \d+ bytes but the data section has \d+"):
        load_package(out)


# --------------------------------------------------------------------------- compatibility


def test_check_compatible_messages(package):
    meta = package[2]
    check_compatible(meta, fmt="foa", n_channels=7, classes=DCASE2020)
    check_compatible(meta, classes="dcase2020")
    with pytest.raises(ModelError) as err:
        check_compatible(meta, fmt="mic", path="x/rec.wav")
    assert "was trained on FOA recordings (7 input channels) but this recording is MIC" in str(err.value)
    assert str(err.value).startswith("x/rec.wav: ")
    with pytest.raises(ModelError, match="takes 7 input feature channels but the data has 10"):
        check_compatible(meta, n_channels=10)
    with pytest.raises(ModelError, match="class list mismatch") as err:
        check_compatible(meta, classes=DCASE2021)
    assert "only in the model: 'running engine', 'burning fire'" in str(err.value)
    swapped = list(DCASE2020.names)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    with pytest.raises(
        ModelError, match="different order: class 0 is 'alarm' in the model but 'crying baby'"
    ):
        check_compatible(meta, classes=swapped)
    with pytest.raises(ModelError, match="only in the data: 'doorbell'"):
        check_compatible(meta, classes=[*DCASE2020.names, "doorbell"])


def test_package_meta_json_round_trip(package):
    meta = package[2]
    assert PackageMeta.from_json(meta.to_json()) == meta


# --------------------------------------------------------------------------- user checkpoints


class _Evil:
    """Unpickling this would run a shell command creating ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _EvilOpen:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_plain_state_dict_checkpoint_loads(tmp_path, package):
    _, model, _ = package
    path = tmp_path / "weights.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    state = load_torch_checkpoint(path)
    assert state.keys() == model.state_dict().keys()
    fresh = tiny_model(seed=1)
    fresh.load_state_dict(state)


@pytest.mark.parametrize("evil_cls", [_Evil, _EvilOpen])
@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_malicious_checkpoint_is_refused_and_never_run(tmp_path, evil_cls, writer):
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.pt"
    payload = {"state_dict": {"w": torch.zeros(2)}, "hook": evil_cls(str(marker))}
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as fh:
            pickle.dump(payload, fh, protocol=2)
    assert not marker.exists()
    with pytest.raises(ModelError, match="refused: the file contains pickled Python objects") as err:
        load_torch_checkpoint(path)
    assert "export the weights as safetensors" in str(err.value)
    assert not marker.exists()
    # and the package loader does not touch it either
    with pytest.raises(ModelError, match="not a SELD Studio model package"):
        load_package(path)
    assert not marker.exists()


def test_broken_checkpoints(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="not a readable PyTorch checkpoint"):
        load_torch_checkpoint(path)
    torch.save({"epoch": 3}, path)
    with pytest.raises(ModelError, match="holds no state dict"):
        load_torch_checkpoint(path)
    with pytest.raises(ModelError, match="not found"):
        load_torch_checkpoint(tmp_path / "nope.pt")
