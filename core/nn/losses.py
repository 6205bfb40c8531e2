"""Multitask SELD losses (Phan et al., DCASE 2020).

* ``homogeneous_mse`` (the paper's eq. 3, default): one unweighted MSE over both branches,
  ``mean(||y_hat - y||^2) + mean_active(||d_hat - d||^2)``. The SED term is a mean over all
  its elements (frames x classes), as Keras' ``mse``.
* ``ce_mse`` (eq. 2): ``w_ce * BCE(sed) + w_mse * MSE(doa)``; the DCASE 2020 baseline used
  weights 1 and 1000.
* ``mask_inactive_doa`` (default on): the DOA MSE only over the active classes' x, y, z, the
  mean taken over the active elements, as in the authors' released code (the SED ground
  truth as a mask, weights 1 and 1) and the DCASE 2020 baseline's ``masked_mse``. Off, the
  DOA MSE is a mean over all 3C outputs with the target 0 for inactive classes (the variant
  the first bundled FOA model was trained with).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

LOSSES = ("homogeneous_mse", "ce_mse")


@dataclass(frozen=True)
class LossConfig:
    name: str = "homogeneous_mse"
    w_ce: float = 1.0
    w_mse: float = 1000.0
    mask_inactive_doa: bool = True

    def __post_init__(self) -> None:
        if self.name not in LOSSES:
            raise ValueError(f"unknown loss {self.name!r}; expected one of {', '.join(LOSSES)}")


def doa_mse(doa_hat: torch.Tensor, doa: torch.Tensor, sed: torch.Tensor, mask_inactive: bool) -> torch.Tensor:
    """MSE of ``(B, T, 3C)`` DOA outputs; with ``mask_inactive`` only over active classes."""
    if not mask_inactive:
        return F.mse_loss(doa_hat, doa)
    mask = sed.repeat(1, 1, 3)  # [x..., y..., z...] layout: the class mask repeats three times
    denom = mask.sum().clamp_min(1.0)
    return ((doa_hat - doa) ** 2 * mask).sum() / denom


def seld_loss(
    sed_hat: torch.Tensor,
    doa_hat: torch.Tensor,
    sed: torch.Tensor,
    doa: torch.Tensor,
    config: LossConfig | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The configured loss and its parts ``{"sed": ..., "doa": ...}`` (unweighted values)."""
    config = config or LossConfig()
    with torch.autocast(device_type=sed_hat.device.type, enabled=False):  # BCE is unsafe in fp16
        return _seld_loss(sed_hat.float(), doa_hat.float(), sed.float(), doa.float(), config)


def _seld_loss(sed_hat, doa_hat, sed, doa, config: LossConfig) -> tuple[torch.Tensor, dict[str, float]]:
    d_term = doa_mse(doa_hat, doa, sed, config.mask_inactive_doa)
    if config.name == "homogeneous_mse":
        s_term = F.mse_loss(sed_hat, sed)
        total = s_term + d_term
    else:
        eps = 1e-7
        s_term = F.binary_cross_entropy(sed_hat.clamp(eps, 1 - eps), sed)
        total = config.w_ce * s_term + config.w_mse * d_term
    return total, {"sed": float(s_term.detach()), "doa": float(d_term.detach())}
