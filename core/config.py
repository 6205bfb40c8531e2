"""Typed training configuration, saved with every run (JSON) and resolved once.

All fields have the paper's defaults (Phan et al., DCASE 2020): Adam at 2e-4 after a 10
epoch warm-up at 2e-5, x0.8 after epochs 200, 600 and 1000, batch 64 of random 12 s
segments, test fold 1, validation fold 2, training folds 3-6.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from core.errors import SeldError


@dataclass
class DataConfig:
    root: str = ""
    fmt: str = "foa"  # "foa" | "mic"
    classes: str = "dcase2020"  # class set name (core.classes.get_class_set)
    train_folds: list[int] = field(default_factory=lambda: [3, 4, 5, 6])
    val_folds: list[int] = field(default_factory=lambda: [2])
    test_folds: list[int] = field(default_factory=lambda: [1])
    cache_dir: str = ""  # default: <root>/.seld_cache
    segment_frames: int = 600  # 12 s of 20 ms feature frames per training example
    eval_segment_frames: int = 100  # 2 s evaluation segments, no overlap
    workers: int = 2
    spec_augment: bool = True
    time_masks: int = 2
    time_mask_width: int = 40  # feature frames
    freq_masks: int = 2
    freq_mask_width: int = 8  # mel bands
    rotate_augment: bool = False  # exact sound-field rotations (core.rotations; Mazzon et al. 2019)


@dataclass
class ModelConfig:
    name: str = "crnn_attention"
    conv_filters: list[int] = field(default_factory=lambda: [64, 64, 128, 128, 256, 256])
    gru_hidden: int = 256
    d_k: int = 64
    fc_size: int = 512
    dropout_conv: float = 0.5
    dropout_rnn: float = 0.1
    dropout_fc: float = 0.25


@dataclass
class OptimConfig:
    loss: str = "homogeneous_mse"  # "homogeneous_mse" | "ce_mse"
    w_ce: float = 1.0
    w_mse: float = 1000.0
    mask_inactive_doa: bool = (
        True  # DOA MSE on the active classes only, as the authors' code and the 2020 baseline
    )
    lr: float = 2e-4
    warmup_epochs: int = 10
    warmup_lr: float = 2e-5
    decay_epochs: list[int] = field(default_factory=lambda: [200, 600, 1000])
    decay_factor: float = 0.8
    batch_size: int = 64
    epochs: int = 1100
    steps_per_epoch: int = 0  # 0: one pass worth of segments (total train frames / segment)
    eval_every: int = 1  # epochs between evaluations
    eval_test_every_time: bool = (
        False  # also score the test folds at each evaluation (test_metrics.csv; curves only)
    )
    grad_clip: float = 0.0  # 0: off
    amp: bool = True  # mixed precision on CUDA only


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N" | "mps"
    threshold: float = 0.5
    init_from: str = ""  # a model package whose fitting weights start the run (core.warm_start)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return _from_dict(cls, data, "config")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SeldError("config file not found", path) from None
        except json.JSONDecodeError as err:
            raise SeldError(f"not valid JSON: {err.msg} at line {err.lineno}", path) from None
        try:
            return cls.from_dict(data)
        except SeldError as err:
            raise SeldError(err.problem, path) from None


def _from_dict(cls, data: Any, where: str):
    if not isinstance(data, dict):
        raise SeldError(f"{where} must be a JSON object")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SeldError(f"unknown {where} field(s): {', '.join(unknown)}")
    kwargs = {}
    for name, value in data.items():
        f = known[name]
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        if hasattr(default, "__dataclass_fields__"):
            kwargs[name] = _from_dict(type(default), value, f"{where}.{name}")
            continue
        kwargs[name] = _coerce(value, default, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SeldError(f"{where} must be true or false, not {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SeldError(f"{where} must be an integer, not {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SeldError(f"{where} must be a number, not {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise SeldError(f"{where} must be a string, not {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise SeldError(f"{where} must be a list of integers, not {value!r}")
        return list(value)
    return value
