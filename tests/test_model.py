"""The paper's CRNN: parameter count, shapes, ranges; the two losses."""

from __future__ import annotations

import pytest
import torch

from core.nn.losses import LossConfig, seld_loss
from core.nn.model import SeldCRNN, build_model, count_parameters


def test_parameter_count_is_the_papers_3_48_million():
    model = SeldCRNN(in_channels=7, n_classes=14)
    # conv 1,149,504 (+BN) + biGRU 1,182,720 + attention 65,664 + branches 1,079,352
    assert count_parameters(model) == 3_477_240
    assert count_parameters(SeldCRNN(in_channels=10, n_classes=14)) == 3_477_240 + 3 * 64 * 9


@pytest.mark.parametrize("frames", [600, 3000])
def test_output_shapes_and_ranges(frames):
    torch.manual_seed(0)
    model = SeldCRNN(in_channels=7, n_classes=14).eval()
    with torch.inference_mode():
        sed, doa = model(torch.randn(2, 7, frames, 64))
    assert sed.shape == (2, frames // 5, 14)
    assert doa.shape == (2, frames // 5, 42)
    assert 0.0 <= float(sed.min()) and float(sed.max()) <= 1.0
    assert -1.0 <= float(doa.min()) and float(doa.max()) <= 1.0


def test_segments_are_independent_in_a_batch():
    torch.manual_seed(1)
    model = SeldCRNN(
        in_channels=10, n_classes=13, conv_filters=(8, 8, 16, 16, 16, 16), gru_hidden=16, d_k=8, fc_size=16
    ).eval()
    x = torch.randn(3, 10, 100, 64)
    with torch.inference_mode():
        batched = model(x)[0]
        single = torch.cat([model(x[i : i + 1])[0] for i in range(3)])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-6)


def test_build_model_by_name_and_unknown_name():
    m = build_model("crnn_attention", in_channels=7, n_classes=3, fc_size=32)
    assert m.config["fc_size"] == 32 and m.config["n_classes"] == 3
    with pytest.raises(ValueError, match="unknown model"):
        build_model("transformer9000")


def _targets():
    sed = torch.tensor([[[1.0, 0.0]]])  # one frame, class 0 active, class 1 not
    doa = torch.tensor([[[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]]])  # class 0 at +x; DOA layout x0 x1 y0 y1 z0 z1
    return sed, doa


def test_homogeneous_mse_is_the_unweighted_sum_of_the_two_mses():
    sed, doa = _targets()
    sed_hat = torch.tensor([[[0.5, 0.5]]])
    doa_hat = torch.tensor([[[0.0, 0.0, 1.0, 0.0, 0.0, 0.3]]])
    # the default: DOA on the active class 0 only (x, y, z = 0, 0, 0 vs 1, 1, 0): (1 + 1 + 0) / 3
    loss, parts = seld_loss(sed_hat, doa_hat, sed, doa)
    # SED: ((0.5)^2 + (0.5)^2) / 2 = 0.25
    assert parts["sed"] == pytest.approx(0.25)
    assert parts["doa"] == pytest.approx(2.0 / 3)
    assert float(loss) == pytest.approx(0.25 + 2.0 / 3)
    # unmasked: all six outputs, inactive class 1's target 0: (1 + 1 + 0.09) / 6 = 0.348333...
    loss, parts = seld_loss(sed_hat, doa_hat, sed, doa, LossConfig(mask_inactive_doa=False))
    assert parts["doa"] == pytest.approx(2.09 / 6)
    assert float(loss) == pytest.approx(0.25 + 2.09 / 6)


def test_ce_mse_weights_and_masked_doa():
    sed, doa = _targets()
    sed_hat = torch.tensor([[[0.8, 0.1]]])
    doa_hat = torch.tensor([[[0.0, 0.0, 1.0, 0.0, 0.0, 0.3]]])
    config = LossConfig("ce_mse", w_ce=1.0, w_mse=1000.0, mask_inactive_doa=False)
    loss, parts = seld_loss(sed_hat, doa_hat, sed, doa, config)
    bce = -(torch.log(torch.tensor(0.8)) + torch.log(torch.tensor(0.9))) / 2
    assert parts["sed"] == pytest.approx(float(bce), rel=1e-6)
    assert float(loss) == pytest.approx(float(bce) + 1000.0 * 2.09 / 6, rel=1e-6)
    # masked: only class 0's x, y, z count: (1 + 1 + 0) / 3
    _, parts = seld_loss(sed_hat, doa_hat, sed, doa, LossConfig(mask_inactive_doa=True))
    assert parts["doa"] == pytest.approx(2.0 / 3)
    with pytest.raises(ValueError, match="unknown loss"):
        LossConfig("focal")


@pytest.mark.parametrize(
    ("section", "name", "default", "flag"),
    [
        ("optim", "mask_inactive_doa", True, "mask-inactive-doa"),
        ("data", "rotate_augment", False, "rotate-augment"),
    ],
)
def test_training_switches_have_a_default_a_config_field_and_a_flag(tmp_path, section, name, default, flag):
    """The masked DOA loss is on by default, rotation augmentation off; a config or a flag changes either."""
    import argparse
    import json

    from core.cli.train import build_config, register
    from core.training.config import TrainConfig

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())

    def value(extra: list[str]) -> bool:
        config = build_config(parser.parse_args(["train", "--out", str(tmp_path / "run"), *extra]))
        return getattr(getattr(config, section), name)

    assert getattr(getattr(TrainConfig(), section), name) is default
    if name == "mask_inactive_doa":
        assert LossConfig().mask_inactive_doa is True
    on, off = f"--{flag}", f"--no-{flag}"
    assert value([]) is default
    assert value([off if default else on]) is (not default)
    config = tmp_path / "c.json"
    config.write_text(json.dumps({section: {name: not default}}))
    assert value(["--config", str(config)]) is (not default)
    assert value(["--config", str(config), on if default else off]) is default
