"""Evaluating a network on dataset recordings as the paper does.

Each recording's normalised features are cut into 2 s segments (100 feature frames)
without overlap, every segment goes through the network on its own, the outputs are
joined back (padding cropped), thresholded at 0.5 without post-processing, and scored
with the DCASE 2020 SELD metrics (micro-averaged over the recordings). The loss on the
same segments is reported too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.common.progress import CancelFn, check_cancel
from core.data.dataset import DatasetItem
from core.data.feature_cache import FeatureCache, load_targets, n_label_frames
from core.data.training_data import merge_segments, segment_batches
from core.dsp.features import FeatureScaler
from core.labels.classes import ClassSet
from core.labels.dcase_csv import read_labels
from core.labels.targets import events_from_outputs
from core.metrics.seld import SeldScorer, SeldScores
from core.nn.losses import LossConfig, seld_loss


@dataclass(frozen=True)
class EvalResult:
    loss: float
    scores: SeldScores

    def row(self, loss_key: str = "loss") -> dict[str, float]:
        s = self.scores
        return {loss_key: self.loss, "ER": s.ER, "F": s.F, "LE": s.LE, "LR": s.LR, "SELD": s.SELD}


@torch.no_grad()
def evaluate(
    model: nn.Module,
    items: Sequence[DatasetItem],
    cache: FeatureCache,
    scaler: FeatureScaler,
    class_set: ClassSet,
    fmt: str,
    *,
    loss_config: LossConfig | None = None,
    device: torch.device | str = "cpu",
    segment_frames: int = 100,
    threshold: float = 0.5,
    batch_segments: int = 64,
    cancel: CancelFn | None = None,
) -> EvalResult:
    """Loss and DCASE 2020 SELD scores of ``model`` on ``items`` (model put in eval mode)."""
    loss_config = loss_config or LossConfig()
    was_training = model.training
    model.eval()
    device = torch.device(device)
    scorer = SeldScorer("dcase2020", n_classes=class_set)
    loss_sum, loss_weight = 0.0, 0
    try:
        for item in items:
            check_cancel(cancel)
            feats = scaler.transform(np.asarray(cache.features(item, fmt)))
            n_lab = n_label_frames(feats.shape[1])
            sed_t, doa_t = load_targets(item, n_lab, class_set)
            segments = segment_batches(feats, segment_frames)
            seds, doas = [], []
            for i in range(0, segments.shape[0], batch_segments):
                x = torch.as_tensor(segments[i : i + batch_segments]).to(device)
                sed, doa = model(x)
                seds.append(sed.float().cpu())
                doas.append(doa.float().cpu())
            sed = merge_segments(torch.cat(seds).numpy(), n_lab)
            doa = merge_segments(torch.cat(doas).numpy(), n_lab)
            loss, _ = seld_loss(
                torch.as_tensor(sed)[None],
                torch.as_tensor(doa)[None],
                torch.as_tensor(sed_t)[None],
                torch.as_tensor(doa_t)[None],
                loss_config,
            )
            loss_sum += float(loss) * n_lab
            loss_weight += n_lab
            pred = events_from_outputs(sed, doa, threshold=threshold)
            ref = read_labels(item.labels, classes=class_set) if item.labels is not None else None
            if ref is not None:
                scorer.update(ref, pred, n_frames=n_lab, name=item.name)
    finally:
        model.train(was_training)
    return EvalResult(loss=loss_sum / max(loss_weight, 1), scores=scorer.result())
