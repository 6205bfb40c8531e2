"""The multitask-regression CRNN of Phan et al., DCASE 2020 Task 3.

"On Multitask Loss Function for Audio Event Detection and Localization" (Phan, Pham,
Koch, Duong, McLoughlin, Mertins; DCASE 2020 Workshop). Input ``(B, C, T, 64)`` features
(C = 7 FOA, 10 MIC), output per 100 ms label frame:

* SED ``(B, T/5, n_classes)`` in [0, 1] (sigmoid), regressed on the 0/1 activities;
* DOA ``(B, T/5, 3 * n_classes)`` in [-1, 1] (tanh), laid out [x of every class, y of
  every class, z of every class] (the layout of :func:`core.labels.targets.frame_targets`).

Architecture:

* six 3x3 convolutions, stride 1, SAME padding, filters 64, 64, 128, 128, 256, 256, each
  followed by batch norm and ReLU; max pooling after every convolution but the first:
  (5, 2) in time x frequency after the second (T -> T/5), (1, 2) after the others; dropout
  0.5 after the convolutional blocks; ``(B, 256, T/5, 2)`` -> a sequence of T/5 vectors of 512;
* a bidirectional GRU, 256 units per direction (dropout 0.1 on its output);
* scaled dot-product self-attention with Q = K = V = Z: Q and K projected to d_k = 64,
  ``softmax(Q K^T / sqrt(d_k)) V`` (dropout 0.1 on the output);
* two branches, each two fully connected layers of 512 (ReLU, dropout 0.25) and an output
  layer: SED (sigmoid), DOA (tanh).

About 3.48 M parameters for 7 input channels and 14 classes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

N_MELS = 64
LABEL_RESOLUTION = 5  # feature frames (20 ms) per label frame (100 ms)


class ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, pool: tuple[int, int] | None):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1)
        self.bn = nn.BatchNorm2d(c_out)
        self.pool = nn.MaxPool2d(pool) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.bn(self.conv(x))))


class SelfAttention(nn.Module):
    """Scaled dot-product self-attention, Q = K = V = Z, with Q and K projected to ``d_k``."""

    def __init__(self, dim: int, d_k: int):
        super().__init__()
        self.q = nn.Linear(dim, d_k)
        self.k = nn.Linear(dim, d_k)
        self.scale = 1.0 / math.sqrt(d_k)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        scores = torch.matmul(self.q(z), self.k(z).transpose(1, 2)) * self.scale
        return torch.matmul(torch.softmax(scores, dim=-1), z)


class Branch(nn.Module):
    """Two fully connected layers of ``hidden`` (ReLU, dropout) and an output layer."""

    def __init__(self, dim: int, hidden: int, n_out: int, dropout: float, activation: str):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, n_out)
        self.drop = nn.Dropout(dropout)
        self.activation = torch.sigmoid if activation == "sigmoid" else torch.tanh

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(torch.relu(self.fc1(x)))
        x = self.drop(torch.relu(self.fc2(x)))
        return self.activation(self.out(x))


class SeldCRNN(nn.Module):
    """The paper's CRNN with self-attention and two regression branches."""

    name = "crnn_attention"

    def __init__(
        self,
        in_channels: int = 7,
        n_classes: int = 14,
        conv_filters: tuple[int, ...] = (64, 64, 128, 128, 256, 256),
        gru_hidden: int = 256,
        d_k: int = 64,
        fc_size: int = 512,
        dropout_conv: float = 0.5,
        dropout_rnn: float = 0.1,
        dropout_fc: float = 0.25,
        n_mels: int = N_MELS,
    ):
        super().__init__()
        if len(conv_filters) != 6:
            raise ValueError("the CRNN has six convolutions")
        self.config: dict[str, Any] = {
            "in_channels": in_channels,
            "n_classes": n_classes,
            "conv_filters": list(conv_filters),
            "gru_hidden": gru_hidden,
            "d_k": d_k,
            "fc_size": fc_size,
            "dropout_conv": dropout_conv,
            "dropout_rnn": dropout_rnn,
            "dropout_fc": dropout_fc,
            "n_mels": n_mels,
        }
        self.in_channels = in_channels
        self.n_classes = n_classes
        pools: list[tuple[int, int] | None] = [None, (LABEL_RESOLUTION, 2), (1, 2), (1, 2), (1, 2), (1, 2)]
        blocks = []
        c = in_channels
        for filters, pool in zip(conv_filters, pools, strict=True):
            blocks.append(ConvBlock(c, filters, pool))
            c = filters
        self.convs = nn.Sequential(*blocks)
        self.conv_dropout = nn.Dropout(dropout_conv)
        freq_out = n_mels // 2**5
        if freq_out < 1:
            raise ValueError(f"n_mels={n_mels} is too small for five frequency poolings by 2")
        seq_dim = c * freq_out
        self.gru = nn.GRU(seq_dim, gru_hidden, batch_first=True, bidirectional=True)
        self.rnn_dropout = nn.Dropout(dropout_rnn)
        self.attention = SelfAttention(2 * gru_hidden, d_k)
        self.sed = Branch(2 * gru_hidden, fc_size, n_classes, dropout_fc, "sigmoid")
        self.doa = Branch(2 * gru_hidden, fc_size, 3 * n_classes, dropout_fc, "tanh")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: ``(B, C, T, 64)`` with T a multiple of 5 -> ``(sed (B, T/5, C_cls), doa (B, T/5, 3 C_cls))``."""
        x = self.conv_dropout(self.convs(x))  # (B, 256, T/5, 2)
        b, c, t, f = x.shape
        z = x.permute(0, 2, 1, 3).reshape(b, t, c * f)  # (B, T/5, 512)
        z, _ = self.gru(z)
        z = self.rnn_dropout(z)
        z = self.rnn_dropout(self.attention(z))
        return self.sed(z), self.doa(z)


MODELS: dict[str, type[nn.Module]] = {SeldCRNN.name: SeldCRNN}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Construct a registered model by name with its constructor arguments."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}") from None
    return cls(**kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
