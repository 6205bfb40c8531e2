"""Starting a run from a package's weights: what is copied, what is not, and the trainer's use."""

from __future__ import annotations

import pickle

import pytest
import torch

from core.cli.train import build_config, register
from core.common.errors import ModelError
from core.io.resources import bundled_model_path
from core.labels.classes import DCASE2020
from core.nn.model import build_model
from core.packages.package_file import save_package
from core.packages.schema import make_meta
from core.packages.warm_start import SPECTROGRAM_CHANNELS, init_from_package
from core.training.trainer import Trainer
from tests.fixtures_data import make_tiny_dataset
from tests.test_package import SMALL, noise_scaler, tiny_package


def _fresh(fmt: str, n_classes: int = 14, seed: int = 99, **args):
    torch.manual_seed(seed)
    return build_model(
        "crnn_attention", in_channels=7 if fmt == "foa" else 10, n_classes=n_classes, **(args or SMALL)
    )


def test_same_format_and_classes_copies_every_tensor_and_gives_the_same_outputs(tmp_path):
    path, source, _meta = tiny_package(tmp_path)
    model = _fresh("foa")
    x = torch.randn(2, 7, 50, 64)
    assert not torch.allclose(model.eval()(x)[0], source(x)[0])
    report = init_from_package(model, path, fmt="foa", classes=DCASE2020.names)
    assert len(report.copied) == len(source.state_dict()) and not report.partial and not report.skipped
    sed, doa = model.eval()(x)
    ref_sed, ref_doa = source(x)
    assert torch.equal(sed, ref_sed) and torch.equal(doa, ref_doa)


def test_foa_to_mic_copies_the_spectrogram_channels_of_the_first_convolution(tmp_path):
    path, source, _meta = tiny_package(tmp_path, fmt="foa")
    model = _fresh("mic")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = init_from_package(model, path, fmt="mic", classes=DCASE2020.names)
    w, w_src = model.state_dict()["convs.0.conv.weight"], source.state_dict()["convs.0.conv.weight"]
    assert w.shape[1] == 10 and w_src.shape[1] == 7
    assert torch.equal(w[:, :SPECTROGRAM_CHANNELS], w_src[:, :SPECTROGRAM_CHANNELS])
    # the GCC-PHAT channels keep their initialisation (not the FOA intensity-vector weights)
    assert torch.equal(w[:, SPECTROGRAM_CHANNELS:], before["convs.0.conv.weight"][:, SPECTROGRAM_CHANNELS:])
    assert list(report.partial) == ["convs.0.conv.weight"] and "4 of 10" in report.summary()
    for key, value in source.state_dict().items():
        if key != "convs.0.conv.weight":
            assert torch.equal(model.state_dict()[key], value), key


def test_output_rows_follow_the_class_names(tmp_path):
    torch.manual_seed(0)
    source = build_model("crnn_attention", in_channels=7, n_classes=3, **SMALL)
    meta = make_meta(source, fmt="foa", classes=["alarm", "baby", "crash"], scaler=noise_scaler())
    path = tmp_path / "abc.safetensors"
    save_package(path, source, meta)
    model = _fresh("foa", n_classes=3)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    report = init_from_package(model, path, fmt="foa", classes=["crash", "alarm", "dog"])
    s, d = model.state_dict(), source.state_dict()
    # SED: destination rows (crash, alarm, dog) <- source rows (2, 0, -)
    assert torch.equal(s["sed.out.weight"][0], d["sed.out.weight"][2])
    assert torch.equal(s["sed.out.weight"][1], d["sed.out.weight"][0])
    assert torch.equal(s["sed.out.weight"][2], init["sed.out.weight"][2])
    assert torch.equal(s["sed.out.bias"][:2], d["sed.out.bias"][[2, 0]])
    # DOA: x, y, z blocks of 3 rows each, mapped the same way inside each block
    for block in range(3):
        assert torch.equal(s["doa.out.weight"][3 * block + 0], d["doa.out.weight"][3 * block + 2])
        assert torch.equal(s["doa.out.weight"][3 * block + 1], d["doa.out.weight"][3 * block + 0])
        assert torch.equal(s["doa.out.weight"][3 * block + 2], init["doa.out.weight"][3 * block + 2])
    assert report.partial["sed.out.weight"] == "2 of 3 classes"


def test_no_class_in_common_keeps_the_outputs_random(tmp_path):
    path, _source, _meta = tiny_package(tmp_path)
    model = _fresh("foa", n_classes=2)
    init = model.state_dict()["sed.out.weight"].clone()
    report = init_from_package(model, path, fmt="foa", classes=["wind", "rain"])
    assert torch.equal(model.state_dict()["sed.out.weight"], init)
    assert set(report.skipped) == {"sed.out.weight", "sed.out.bias", "doa.out.weight", "doa.out.bias"}


def test_another_width_is_refused_and_a_pickle_is_never_read(tmp_path):
    path, _source, _meta = tiny_package(tmp_path)
    wide = _fresh("foa", conv_filters=(12, 12, 24, 24, 24, 24), gru_hidden=20, d_k=8, fc_size=24)
    with pytest.raises(ModelError, match="no weight that fits"):
        init_from_package(wide, path, fmt="foa", classes=DCASE2020.names)
    bad = tmp_path / "weights.pt"
    bad.write_bytes(pickle.dumps({"convs.0.conv.weight": [1.0]}))
    with pytest.raises(ModelError, match="pickle"):
        init_from_package(_fresh("foa"), bad, fmt="foa", classes=DCASE2020.names)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return make_tiny_dataset(root, "foa", folds=(1, 2), clips_per_fold=1, seconds=3.0, n_classes=4, seed=5)


def _prepared(config, run_dir) -> Trainer:
    trainer = Trainer(config, run_dir)
    trainer.dist = type(trainer.dist)()
    trainer.device = torch.device("cpu")
    run_dir.mkdir(parents=True)
    trainer._prepare_data()
    trainer._build()
    return trainer


def test_the_trainer_starts_from_the_package_and_logs_it(tiny_data, tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    small = ["--train-folds", "1", "--val-folds", "2", "--test-folds", "1", "--workers", "0"]
    args = parser.parse_args(["train", "--data", str(tiny_data), "--out", str(tmp_path / "a"), *small])
    config = build_config(args)
    config.model.conv_filters = list(SMALL["conv_filters"])
    config.model.gru_hidden, config.model.d_k, config.model.fc_size = 16, 8, 16
    first = _prepared(config, tmp_path / "a")
    package = tmp_path / "a.safetensors"
    save_package(package, first.model, first._package_meta(None))

    config.seed = 7  # another seed: without the package the weights would differ
    plain = _prepared(config, tmp_path / "plain")
    assert not torch.equal(
        plain.model.state_dict()["gru.weight_ih_l0"], first.model.state_dict()["gru.weight_ih_l0"]
    )
    config.init_from = str(package)
    warm = _prepared(config, tmp_path / "b")
    for key, value in first.model.state_dict().items():
        assert torch.equal(warm.model.state_dict()[key], value), key
    assert f"initialised from {package}" in (tmp_path / "b" / "train.log").read_text()


def test_cli_init_bundled_names_the_bundled_package(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--init", "bundled"]
    )
    config = build_config(args)
    assert config.init_from == str(bundled_model_path("foa"))
    args = parser.parse_args(["train", "--out", str(tmp_path / "r"), "--init", "x.safetensors"])
    assert build_config(args).init_from == str((tmp_path.cwd() / "x.safetensors").resolve())
