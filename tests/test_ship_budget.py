"""experiments/bundled_models/ship.py: the budget of earlier stages read back from a shipped package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _ship():
    path = REPO / "experiments" / "bundled_models" / "ship.py"
    if not path.is_file():
        pytest.skip("the experiments folder is not in this checkout")
    spec = importlib.util.spec_from_file_location("ship", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_packages_budget_chain_comes_back_oldest_first_with_its_own_run_last():
    metrics = {
        "budget_at_shipping": {
            "run": "foa_v2b",
            "steps": 360,
            "seconds": 4900.7,
            "fine_tuned_from": [{"run": "foa_v2", "steps": 336, "seconds": 3644.5}],
        }
    }
    chain = _ship().recorded_budget(metrics, "foa_crnn.safetensors")
    assert [b["run"] for b in chain] == ["foa_v2", "foa_v2b"]
    assert chain[1] == {"run": "foa_v2b", "steps": 360, "seconds": 4900.7, "package": "foa_crnn.safetensors"}
    assert "fine_tuned_from" in metrics["budget_at_shipping"]  # the package's metadata is not changed


@pytest.mark.parametrize("metrics", [None, {}, {"budget_at_shipping": {}}])
def test_a_package_without_a_recorded_budget_is_refused(metrics):
    with pytest.raises(ValueError, match="budget_at_shipping"):
        _ship().recorded_budget(metrics, "mine.safetensors")
