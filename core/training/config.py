"""Typed training configuration, saved with every run (JSON) and resolved once.

All fields have the paper's defaults (Phan et al., DCASE 2020): Adam at 2e-4 after a 10
epoch warm-up at 2e-5, x0.8 after epochs 200, 600 and 1000, batch 64 of random 12 s
segments, test fold 1, validation fold 2, training folds 3-6.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from core.common.errors import SeldError, quote_field

MAX_CONFIG_BYTES = 1 << 20
"""A configuration file is a few hundred bytes; larger than this it is not one."""


@dataclass
class DataConfig:
    root: str = ""
    fmt: str = "foa"  # "foa" | "mic"
    classes: str = "dcase2020"  # class set name (core.labels.classes.get_class_set)
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
    rotate_augment: bool = False  # exact sound-field rotations (core.spatial.rotations; Mazzon et al. 2019)


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
    init_from: str = ""  # a model package whose fitting weights start the run (core.packages.warm_start)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        config = _from_dict(cls, data, "config")
        config.validate()
        return config

    def validate(self) -> None:
        """Refuse values no run can use (a :class:`SeldError` naming the field), before any work.

        Folds shared by training and validation or test are allowed (an overfitting check
        does that on purpose); :meth:`shared_folds` says which, for a warning.
        """
        d, m, o = self.data, self.model, self.optim
        _choice(d.fmt, ("foa", "mic"), "config.data.fmt")
        from core.labels.classes import get_class_set

        get_class_set(d.classes)  # raises SeldError naming the unknown set
        for name in ("train_folds", "val_folds", "test_folds"):
            folds = getattr(d, name)
            if any(not 1 <= f <= 10_000 for f in folds) or len(set(folds)) != len(folds):
                raise SeldError(f"config.data.{name} must list distinct fold numbers from 1, not {folds}")
        if not d.train_folds:
            raise SeldError("config.data.train_folds is empty: there is nothing to train on")
        for name in ("segment_frames", "eval_segment_frames"):
            value = getattr(d, name)
            if not 5 <= value <= 360_000 or value % 5:
                raise SeldError(
                    f"config.data.{name} must be a multiple of 5 frames (100 ms) from 5 to 360000, not {value}"
                )
        _int_range(d.workers, 0, 256, "config.data.workers")
        _int_range(d.time_masks, 0, 100, "config.data.time_masks")
        _int_range(d.time_mask_width, 0, d.segment_frames, "config.data.time_mask_width")
        _int_range(d.freq_masks, 0, 64, "config.data.freq_masks")
        _int_range(d.freq_mask_width, 0, 64, "config.data.freq_mask_width")
        _choice(m.name, ("crnn_attention",), "config.model.name")
        if len(m.conv_filters) != 6 or any(not 1 <= f <= 4096 for f in m.conv_filters):
            raise SeldError(
                f"config.model.conv_filters must be 6 filter counts from 1 to 4096, not {m.conv_filters}"
            )
        for name in ("gru_hidden", "d_k", "fc_size"):
            _int_range(getattr(m, name), 1, 65_536, f"config.model.{name}")
        for name in ("dropout_conv", "dropout_rnn", "dropout_fc"):
            _float_range(getattr(m, name), 0.0, 1.0, f"config.model.{name}", high_open=True)
        _choice(o.loss, ("homogeneous_mse", "ce_mse"), "config.optim.loss")
        _float_range(o.w_ce, 0.0, 1e9, "config.optim.w_ce")
        _float_range(o.w_mse, 0.0, 1e9, "config.optim.w_mse")
        _float_range(o.lr, 0.0, 10.0, "config.optim.lr", low_open=True)
        _float_range(o.warmup_lr, 0.0, 10.0, "config.optim.warmup_lr", low_open=True)
        _int_range(o.warmup_epochs, 0, 10_000_000, "config.optim.warmup_epochs")
        if any(e < 0 for e in o.decay_epochs):
            raise SeldError(f"config.optim.decay_epochs must be epoch numbers from 0, not {o.decay_epochs}")
        _float_range(o.decay_factor, 0.0, 1.0, "config.optim.decay_factor", low_open=True)
        _int_range(o.batch_size, 1, 1_000_000, "config.optim.batch_size")
        _int_range(o.epochs, 1, 10_000_000, "config.optim.epochs")
        _int_range(o.steps_per_epoch, 0, 1_000_000_000, "config.optim.steps_per_epoch")
        _int_range(o.eval_every, 1, 10_000_000, "config.optim.eval_every")
        _float_range(o.grad_clip, 0.0, 1e12, "config.optim.grad_clip")
        _int_range(self.seed, 0, 2**63 - 1, "config.seed")
        _float_range(self.threshold, 0.0, 1.0, "config.threshold", low_open=True, high_open=True)
        if not self.device.strip():
            raise SeldError("config.device is empty (auto, cpu, cuda, cuda:N or mps)")

    def shared_folds(self) -> list[str]:
        """Warnings for folds that are training folds and also validation or test folds."""
        d = self.data
        out = []
        for name in ("val_folds", "test_folds"):
            shared = sorted(set(d.train_folds) & set(getattr(d, name)))
            if shared:
                role = "validation" if name == "val_folds" else "test"
                out.append(
                    f"fold(s) {shared} are training folds and also {role} folds: the {role} scores "
                    "measure how well the model fits its training data, not how it generalises"
                )
        return out

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        p = Path(path)
        try:
            if p.is_dir():
                raise SeldError("is a folder, not a configuration file (JSON)", path)
            if p.stat().st_size > MAX_CONFIG_BYTES:
                raise SeldError(f"is {p.stat().st_size} bytes: too large for a training configuration", path)
            data = json.loads(p.read_bytes().decode("utf-8-sig"), parse_constant=_no_constant)
        except FileNotFoundError:
            raise SeldError("config file not found", path) from None
        except OSError as err:
            raise SeldError(f"cannot read the config file: {err.strerror or err}", path) from None
        except UnicodeDecodeError:
            raise SeldError("not a text file (invalid UTF-8); a configuration is JSON", path) from None
        except json.JSONDecodeError as err:
            raise SeldError(f"not valid JSON: {err.msg} at line {err.lineno}", path) from None
        except RecursionError:
            raise SeldError("not a configuration: its JSON is nested too deeply", path) from None
        except ValueError as err:  # NaN / Infinity (from _no_constant)
            raise SeldError(str(err), path) from None
        try:
            return cls.from_dict(data)
        except SeldError as err:
            raise SeldError(err.problem, path) from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a configuration may hold")


def _choice(value: str, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise SeldError(f"{where} must be one of {', '.join(allowed)}, not {quote_field(value)}")


def _int_range(value: int, low: int, high: int, where: str) -> None:
    if not low <= value <= high:
        raise SeldError(f"{where} must be an integer from {low} to {high}, not {value}")


def _float_range(
    value: float, low: float, high: float, where: str, low_open: bool = False, high_open: bool = False
) -> None:
    ok = math.isfinite(value) and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        span = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise SeldError(f"{where} must be a number in {span}, not {value}")


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
        default = f.default_factory() if callable(f.default_factory) else f.default
        if hasattr(default, "__dataclass_fields__"):
            kwargs[name] = _from_dict(type(default), value, f"{where}.{name}")
            continue
        kwargs[name] = _coerce(value, default, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SeldError(f"{where} must be true or false, not {quote_field(value)}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SeldError(f"{where} must be an integer, not {quote_field(value)}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SeldError(f"{where} must be a number, not {quote_field(value)}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise SeldError(f"{where} must be a string, not {quote_field(value)}")
        if len(value) > 4096:
            raise SeldError(f"{where} is {len(value)} characters long; at most 4096")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise SeldError(f"{where} must be a list of integers, not {quote_field(value)}")
        return list(value)
    return value
