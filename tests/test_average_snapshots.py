"""experiments/bundled_models/average_snapshots.py: the weight average of a run's snapshots."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from core.labels.classes import DCASE2020
from core.packages.package_file import save_package
from core.packages.runtime import load_package
from core.packages.schema import make_meta
from tests.test_package import noise_scaler, tiny_model

REPO = Path(__file__).resolve().parents[1]


def _module():
    path = REPO / "experiments" / "bundled_models" / "average_snapshots.py"
    spec = importlib.util.spec_from_file_location("average_snapshots", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _snapshot(tmp_path: Path, seed: int, scaler_seed: int = 0) -> Path:
    model = tiny_model(seed=seed)
    meta = make_meta(model, fmt="foa", classes=DCASE2020, scaler=noise_scaler("foa", scaler_seed))
    path = tmp_path / f"snap_{seed}_{scaler_seed}.safetensors"
    save_package(path, model, meta)
    return path


def test_the_average_holds_the_mean_of_every_float_tensor_and_refuses_other_runs(tmp_path):
    mod = _module()
    paths = [_snapshot(tmp_path, seed) for seed in (1, 2, 3)]
    out = tmp_path / "avg.safetensors"
    mod.average(paths, out)
    states = [load_package(p).model.state_dict() for p in paths]
    merged = load_package(out).model.state_dict()
    for key, value in merged.items():
        if value.is_floating_point():
            want = (states[0][key].double() + states[1][key].double() + states[2][key].double()) / 3
            # float32 storage of a float64 mean: one rounding, relative 6e-8
            assert torch.allclose(value.double(), want, rtol=1e-6, atol=1e-7), key
        else:
            assert torch.equal(value, states[2][key]), key
    assert not torch.equal(merged["convs.0.conv.weight"], states[2]["convs.0.conv.weight"])
    with pytest.raises(SystemExit, match="not a snapshot of the same run"):
        mod.average([paths[0], _snapshot(tmp_path, 4, scaler_seed=5)], tmp_path / "bad.safetensors")
    assert not (tmp_path / "bad.safetensors").exists()
