"""Named starting points for a training configuration: the paper's recipe and a quick fine-tune.

A preset fills a :class:`~core.training.config.TrainConfig` (:meth:`Preset.config` for a
dataset, :meth:`Preset.apply` over a configuration whose data choices it keeps); every field
can still be changed afterwards. :data:`PRESETS` holds them by key, in the order a form lists
them.

``paper``
    Phan et al.'s recipe, which the :class:`TrainConfig` defaults are: homogeneous MSE (the DOA
    MSE masked to the active classes, as the authors' code), Adam at 2e-4 after 10 warm-up
    epochs at 2e-5, x0.8 after epochs 200, 600 and 1000, 1100 epochs, batch 64 of 12 s
    segments, SpecAugment, random initial weights. GPU work: about 11 s a step on two CPU cores.

``quick_finetune``
    The bundled model of the data's format fine-tuned on a user's recordings, in a budget a
    CPU can afford (minutes to an hour for an hour of audio). Each value and why:

    * ``init_from="bundled"``: it already knows the classes' sounds and how directions show in
      the features; a small dataset cannot teach that from random weights.
    * ``epochs=20`` (one pass over the training audio each), evaluated every 2 epochs (as the
      bundled models were): enough for the output layers to adapt to a new room and
      microphone, and the best snapshot is kept whichever epoch it comes at.
    * ``lr=5e-5`` after ``warmup_epochs=1`` at 2e-5, no decay: fine-tuning the bundled FOA
      model at 2e-4 (the paper's rate) made its validation SELD worse, 0.269 -> 0.362 in 100
      steps, while 5e-5 improved it steadily to 0.202 (``docs/results.md``, stage 3). One
      warm-up epoch is enough for the output rows of classes the bundled model lacks, which
      start random.
    * ``batch_size=32`` (the bundled models' batch): half the paper's step time on a CPU, and
      twice the steps per epoch on a small dataset.
    * ``rotate_augment=True``: 16 (FOA) or 8 (MIC) exact rotations of every scene multiply a
      small dataset; it took the bundled FOA model from 0.285 to 0.202 validation SELD.
    * everything else (loss, SpecAugment, seed, device) as the paper's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.training.config import TrainConfig

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """A named recipe: ``key`` (as in :data:`PRESETS`), a human ``name`` and ``description``, and the
    function that sets its fields on a configuration (never the data fields)."""

    key: str
    name: str
    description: str
    fill: Callable[[TrainConfig], None]

    def apply(self, config: TrainConfig) -> TrainConfig:
        """A new configuration: the preset's recipe with ``config``'s data root, format, class set and folds.

        The other fields of ``config`` are replaced by the recipe's, so applying a preset to
        an edited form gives the same result as applying it to a fresh one.
        """
        out = TrainConfig()
        d = config.data
        out.data.root, out.data.fmt, out.data.classes = d.root, d.fmt, d.classes
        out.data.train_folds, out.data.val_folds = list(d.train_folds), list(d.val_folds)
        out.data.test_folds, out.data.cache_dir = list(d.test_folds), d.cache_dir
        self.fill(out)
        return out

    def config(
        self,
        root: str = "",
        fmt: str = "foa",
        classes: str = "dcase2020",
        *,
        train_folds: Sequence[int] | None = None,
        val_folds: Sequence[int] | None = None,
        test_folds: Sequence[int] | None = None,
    ) -> TrainConfig:
        """The preset's configuration for a dataset (folds not given: the paper's split, 3-6 / 2 / 1)."""
        base = TrainConfig()
        d = base.data
        d.root, d.fmt, d.classes = root, fmt, classes
        if train_folds is not None:
            d.train_folds = list(train_folds)
        if val_folds is not None:
            d.val_folds = list(val_folds)
        if test_folds is not None:
            d.test_folds = list(test_folds)
        return self.apply(base)


def _paper(config: TrainConfig) -> None:
    fresh = TrainConfig()
    config.model = copy.deepcopy(fresh.model)
    config.optim = copy.deepcopy(fresh.optim)
    config.seed, config.device, config.threshold, config.init_from = (
        fresh.seed,
        fresh.device,
        fresh.threshold,
        fresh.init_from,
    )


def _quick_finetune(config: TrainConfig) -> None:
    _paper(config)
    o = config.optim
    config.init_from = "bundled"
    o.epochs = 20
    o.eval_every = 2
    o.lr = 5e-5
    o.warmup_epochs = 1
    o.warmup_lr = 2e-5
    o.decay_epochs = []
    o.batch_size = 32
    config.data.rotate_augment = True


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "paper",
            "The paper's recipe",
            "Phan et al. (DCASE 2020): homogeneous MSE, Adam 2e-4 after a 10-epoch warm-up, 1100 epochs of "
            "batch 64, random initial weights. Days of CPU time: a GPU run.",
            _paper,
        ),
        Preset(
            "quick_finetune",
            "Quick fine-tune of the bundled model",
            "Starts from the bundled model and trains 20 epochs at 5e-5 (batch 32, rotation augmentation): "
            "adapts it to your recordings in a CPU's budget.",
            _quick_finetune,
        ),
    )
}
"""The presets by key: ``"paper"`` and ``"quick_finetune"`` (see the module docstring)."""


def get_preset(key: str) -> Preset:
    """The preset named ``key`` (a :class:`KeyError` naming the known ones otherwise)."""
    try:
        return PRESETS[key]
    except KeyError:
        raise KeyError(f"unknown preset {key!r}; known: {', '.join(PRESETS)}") from None
