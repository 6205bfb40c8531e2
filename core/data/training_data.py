"""Training and evaluation data: random segments, augmentation, whole clips for scoring.

Reproducibility
---------------
All randomness is decided by :class:`SegmentSampler`, in the main process, from
``(seed, epoch, batch index)`` alone: a batch does not depend on the worker count, the
number of batches per epoch, or which epochs or batches ran before. Each
:class:`SegmentSpec` carries everything a worker needs (recording, start frame and an
augmentation seed), so workers only do deterministic work, and training interrupted after
batch ``k`` of epoch ``e`` resumes with ``epoch_batches(e, start_batch=k)``.
:func:`make_loader` also gives the DataLoader a private generator, so that creating a
loader iterator does not draw from torch's global RNG (which would shift dropout and
initialisation between a fresh and a resumed run).

Sampling: a recording is drawn with probability proportional to its length in feature
frames (every frame of the training data is about equally likely to be seen), then a start
frame uniformly among the multiples of 5 (label-frame boundaries) in
``[0, max(0, T - segment_frames)]``. With ``world_size > 1`` (DDP) every rank draws the
same global batch of ``batch_size`` specs and takes the contiguous share
``[rank * b, (rank + 1) * b)`` with ``b = batch_size // world_size``: the shares of one
global batch are disjoint and cover it.

Tensors (float32): input ``(C, S, 64)`` normalised by the training-fold
:class:`~core.dsp.features.FeatureScaler` (0 = the training mean), SED targets ``(S/5, K)``,
DOA targets ``(S/5, 3K)`` in the ``[x.., y.., z..]`` layout of :mod:`core.labels.targets`. A clip
shorter than a segment is zero-padded (in normalised space) with zero targets. SpecAugment
sets ``time_masks`` random time spans (width ``0 .. time_mask_width`` frames) and
``freq_masks`` band spans (``0 .. freq_mask_width`` bands) to 0 on all channels.

Rotation (``data.rotate_augment``): the segment's raw features and its DOA targets are
turned by one of the exact maps of :mod:`core.spatial.rotations` (16 for FOA, 8 for MIC), before
normalisation and SpecAugment. The map is drawn from the spec's augmentation seed in a
stream of its own (``default_rng([aug_seed, 1])``), so switching it on does not change the
masks.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, overload

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from core.common.errors import SeldError
from core.data.dataset import DatasetItem
from core.data.feature_cache import FRAMES_PER_LABEL, FeatureCache, load_targets, n_label_frames
from core.dsp.features import FeatureScaler
from core.labels.classes import ClassSet
from core.spatial.rotations import Rotation

__all__ = [
    "BatchSpecSampler",
    "SegmentSampler",
    "SegmentSpec",
    "SpecAugment",
    "TrainSegments",
    "batches_for_one_pass",
    "make_loader",
    "merge_segments",
    "segment_batches",
]

MAX_OPEN_MAPS = 256
"""Memory maps a dataset keeps open per process (each holds a file descriptor)."""


@dataclass(frozen=True)
class SegmentSpec:
    """One training example: recording ``item`` (index into the dataset), first feature frame ``start``, augmentation seed."""

    item: int
    start: int
    aug_seed: int


def batches_for_one_pass(lengths: Sequence[int], segment_frames: int, batch_size: int) -> int:
    """Batches per epoch that draw about as many frames as the data holds: ``ceil(sum(T) / S / B)``, at least 1."""
    return max(1, math.ceil(sum(lengths) / segment_frames / batch_size))


class SegmentSampler:
    """Random training segments, decided by ``(seed, epoch, batch)`` only (see the module docstring)."""

    def __init__(
        self,
        lengths: Sequence[int],
        segment_frames: int,
        batch_size: int,
        batches_per_epoch: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ):
        if not lengths or min(lengths) <= 0:
            raise SeldError("no training recordings (or one with no frames) to draw segments from")
        if segment_frames <= 0 or segment_frames % FRAMES_PER_LABEL:
            raise SeldError(
                f"segment_frames must be a positive multiple of {FRAMES_PER_LABEL}, not {segment_frames}"
            )
        if batches_per_epoch <= 0:
            raise SeldError(f"batches per epoch must be positive, not {batches_per_epoch}")
        if seed < 0:
            raise SeldError(f"the random seed must be a non-negative integer, not {seed}")
        if world_size <= 0 or not 0 <= rank < world_size:
            raise SeldError(f"rank {rank} is not in 0 .. world_size - 1 = {world_size - 1}")
        if batch_size <= 0 or batch_size % world_size:
            raise SeldError(
                f"batch size {batch_size} must be a positive multiple of the {world_size} processes"
            )
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.segment_frames = int(segment_frames)
        self.batch_size = int(batch_size)
        self.batches_per_epoch = int(batches_per_epoch)
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self._weights = self.lengths / self.lengths.sum()
        # number of admissible start positions (multiples of 5) per recording
        self._n_starts = np.maximum(0, self.lengths - self.segment_frames) // FRAMES_PER_LABEL + 1

    @property
    def local_batch_size(self) -> int:
        """Specs per batch on this rank: ``batch_size // world_size``."""
        return self.batch_size // self.world_size

    def global_batch(self, epoch: int, index: int) -> list[SegmentSpec]:
        """All ``batch_size`` specs of batch ``index`` of ``epoch`` (every rank's share)."""
        if not 0 <= index < self.batches_per_epoch or epoch < 0:
            raise IndexError(f"batch {index} of epoch {epoch} is outside 0 .. {self.batches_per_epoch - 1}")
        rng = np.random.default_rng([self.seed, epoch, index])
        items = rng.choice(len(self.lengths), size=self.batch_size, p=self._weights)
        starts = (rng.random(self.batch_size) * self._n_starts[items]).astype(np.int64) * FRAMES_PER_LABEL
        aug = rng.integers(0, 2**63 - 1, size=self.batch_size, dtype=np.int64)
        return [SegmentSpec(int(i), int(s), int(a)) for i, s, a in zip(items, starts, aug, strict=True)]

    def batch(self, epoch: int, index: int) -> list[SegmentSpec]:
        """This rank's share of batch ``index`` of ``epoch``."""
        b = self.local_batch_size
        return self.global_batch(epoch, index)[self.rank * b : (self.rank + 1) * b]

    def epoch_batches(self, epoch: int, start_batch: int = 0) -> list[list[SegmentSpec]]:
        """This rank's batches ``start_batch ..`` of ``epoch`` (the tail of the full epoch)."""
        return [self.batch(epoch, k) for k in range(max(0, start_batch), self.batches_per_epoch)]


class BatchSpecSampler(Sampler[list[SegmentSpec]]):
    """A DataLoader ``batch_sampler`` over one epoch of a :class:`SegmentSampler`; call :meth:`set_epoch` first."""

    def __init__(self, sampler: SegmentSampler, epoch: int = 0, start_batch: int = 0):
        self.sampler = sampler
        self.set_epoch(epoch, start_batch)

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Yield batches ``start_batch ..`` of ``epoch`` on the next iteration."""
        self.epoch, self.start_batch = int(epoch), int(start_batch)

    def __iter__(self) -> Iterator[list[SegmentSpec]]:
        for k in range(max(0, self.start_batch), self.sampler.batches_per_epoch):
            yield self.sampler.batch(self.epoch, k)

    def __len__(self) -> int:
        return max(0, self.sampler.batches_per_epoch - self.start_batch)


class _MaskSettings(Protocol):
    """The masking fields of a :class:`core.training.config.DataConfig` (no import upward)."""

    spec_augment: bool
    time_masks: int
    time_mask_width: int
    freq_masks: int
    freq_mask_width: int


@dataclass(frozen=True)
class SpecAugment:
    """Time and frequency masking (SpecAugment without warping); see the module docstring."""

    time_masks: int = 2
    time_mask_width: int = 40
    freq_masks: int = 2
    freq_mask_width: int = 8

    @classmethod
    def from_config(cls, config: _MaskSettings) -> SpecAugment | None:
        """The masking of a data config, or ``None`` when ``spec_augment`` is off."""
        if not config.spec_augment:
            return None
        return cls(config.time_masks, config.time_mask_width, config.freq_masks, config.freq_mask_width)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> None:
        """Mask ``x`` ``(C, T, F)`` in place; the draws are made in a fixed order from ``rng``."""
        for n_masks, max_width, axis in (
            (self.time_masks, self.time_mask_width, 1),
            (self.freq_masks, self.freq_mask_width, 2),
        ):
            size = x.shape[axis]
            for _ in range(n_masks):
                width = int(rng.integers(0, min(max_width, size) + 1))
                first = int(rng.integers(0, size - width + 1))
                if axis == 1:
                    x[:, first : first + width, :] = 0.0
                else:
                    x[:, :, first : first + width] = 0.0


class _LazyMaps:
    """Read-only memory maps of ``.npy`` files, opened on first use in each process (LRU-bounded)."""

    def __init__(self, paths: Sequence[str | Path]):
        self.paths = [str(p) for p in paths]
        self._open: OrderedDict[int, np.ndarray] = OrderedDict()

    def __getstate__(self) -> dict:
        return {"paths": self.paths}  # workers reopen their own maps

    def __setstate__(self, state: dict) -> None:
        self.paths = state["paths"]
        self._open = OrderedDict()

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        array = self._open.get(index)
        if array is None:
            array = np.load(self.paths[index], mmap_mode="r", allow_pickle=False)
            self._open[index] = array
            while len(self._open) > MAX_OPEN_MAPS:
                self._open.popitem(last=False)
        else:
            self._open.move_to_end(index)
        return array


def _frames(path: str | Path) -> int:
    return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[1])


def _recording_data(
    cache: FeatureCache, items: Sequence[DatasetItem], fmt: str, class_set: ClassSet | str
) -> tuple[list[Path], list[int], list[tuple[np.ndarray, np.ndarray]]]:
    paths = cache.ensure(items, fmt)
    lengths, targets = [], []
    for item, path in zip(items, paths, strict=True):
        t = _frames(path)
        lengths.append(t)
        targets.append(load_targets(item, n_label_frames(t), class_set))
    return paths, lengths, targets


class TrainSegments(Dataset):
    """Training examples addressed by :class:`SegmentSpec`; ``dataset[spec] -> (x, sed, doa)`` tensors.

    Built from cached feature files (memory-mapped lazily in each worker), in-memory
    targets (small) and the scaler. Use :meth:`from_items` to build one from a dataset.
    """

    def __init__(
        self,
        feature_paths: Sequence[str | Path],
        targets: Sequence[tuple[np.ndarray, np.ndarray]],
        scaler: FeatureScaler,
        segment_frames: int,
        augment: SpecAugment | None = None,
        rotate: bool = False,
    ):
        if len(feature_paths) != len(targets):
            raise ValueError(f"{len(feature_paths)} feature files but {len(targets)} targets")
        if segment_frames <= 0 or segment_frames % FRAMES_PER_LABEL:
            raise SeldError(
                f"segment_frames must be a positive multiple of {FRAMES_PER_LABEL}, not {segment_frames}"
            )
        self.features = _LazyMaps(feature_paths)
        self.targets = [(np.asarray(s, np.float32), np.asarray(d, np.float32)) for s, d in targets]
        self.scaler = scaler
        self.segment_frames = int(segment_frames)
        self.augment = augment
        self.rotate = bool(rotate)
        self._lengths: list[int] | None = None

    @classmethod
    def from_items(
        cls,
        cache: FeatureCache,
        items: Sequence[DatasetItem],
        fmt: str,
        scaler: FeatureScaler,
        class_set: ClassSet | str,
        segment_frames: int,
        augment: SpecAugment | None = None,
        rotate: bool = False,
    ) -> TrainSegments:
        """Cache the items' features (if needed), read their targets and build the dataset."""
        paths, _, targets = _recording_data(cache, items, fmt, class_set)
        return cls(paths, targets, scaler, segment_frames, augment, rotate)

    @property
    def lengths(self) -> list[int]:
        """Feature frames of each recording (what :class:`SegmentSampler` needs); reads the file headers once."""
        if self._lengths is None:
            self._lengths = [_frames(p) for p in self.features.paths]
        return list(self._lengths)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, spec: SegmentSpec) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.features[spec.item]
        sed_all, doa_all = self.targets[spec.item]
        s, start = self.segment_frames, spec.start
        if start % FRAMES_PER_LABEL or start < 0:
            raise ValueError(f"segment start {start} is not a non-negative multiple of {FRAMES_PER_LABEL}")
        part = feats[:, start : start + s]
        rotation = None
        if self.rotate:
            fmt = "foa" if feats.shape[0] == 7 else "mic"
            rotation = Rotation.draw(np.random.default_rng([spec.aug_seed, 1]), fmt)
            part = rotation.apply_to_features(part)
        x = np.zeros((feats.shape[0], s, feats.shape[2]), dtype=np.float32)
        x[:, : part.shape[1]] = self.scaler.transform(part)
        n_lab, l0 = s // FRAMES_PER_LABEL, start // FRAMES_PER_LABEL
        sed = np.zeros((n_lab, sed_all.shape[1]), dtype=np.float32)
        doa = np.zeros((n_lab, doa_all.shape[1]), dtype=np.float32)
        avail = sed_all[l0 : l0 + n_lab]
        sed[: len(avail)] = avail
        doa[: len(avail)] = doa_all[l0 : l0 + n_lab]
        if rotation is not None:
            doa = rotation.apply_to_doa(doa)
        if self.augment is not None:
            self.augment.apply(x, np.random.default_rng(spec.aug_seed))
        return torch.from_numpy(x), torch.from_numpy(sed), torch.from_numpy(doa)


def segment_batches(features: np.ndarray, segment_frames: int = 100) -> np.ndarray:
    """Cut ``(C, T, F)`` features into ``(ceil(T / S), C, S, F)`` float32 segments without overlap.

    The last segment is zero-padded (0 is the mean in normalised space). Inverse:
    :func:`merge_segments` on the model's outputs. Pure numpy (no torch threads), so that
    inference can run it right before onnxruntime.
    """
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(f"features must be (channels, frames > 0, bands), got {tuple(x.shape)}")
    if segment_frames <= 0:
        raise ValueError(f"segment_frames must be positive, not {segment_frames}")
    c, t, f = x.shape
    n = -(-t // segment_frames)
    padded = np.zeros((c, n * segment_frames, f), dtype=np.float32)
    padded[:, :t] = x
    return np.ascontiguousarray(padded.reshape(c, n, segment_frames, f).transpose(1, 0, 2, 3))


@overload
def merge_segments(outputs: np.ndarray, n_label_frames: int) -> np.ndarray: ...
@overload
def merge_segments(outputs: torch.Tensor, n_label_frames: int) -> torch.Tensor: ...
def merge_segments(outputs: np.ndarray | torch.Tensor, n_label_frames: int) -> np.ndarray | torch.Tensor:
    """Join per-segment outputs ``(n_seg, L_seg, K)`` in time and crop them to ``(n_label_frames, K)``.

    Returns the type it was given (numpy array or torch tensor).
    """
    if outputs.ndim != 3:
        raise ValueError(f"outputs must be (segments, frames, values), got {tuple(outputs.shape)}")
    n, l_seg, k = outputs.shape
    if not 0 <= n_label_frames <= n * l_seg:
        raise ValueError(f"{n_label_frames} label frames do not fit {n} segments of {l_seg}")
    return outputs.reshape(n * l_seg, k)[:n_label_frames]


def make_loader(
    dataset: Dataset, batch_sampler: Sampler, workers: int, pin_memory: bool = False
) -> DataLoader:
    """A DataLoader over ``batch_sampler`` with ``workers`` processes (persistent when > 0).

    Pinned memory is used only when asked and a CUDA device exists. The loader gets its own
    generator, so iterating it never draws from torch's global RNG.
    """
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        num_workers=workers,
        pin_memory=bool(pin_memory and torch.cuda.is_available()),
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        worker_init_fn=_worker_init if workers > 0 else None,
        generator=torch.Generator().manual_seed(0),
    )


def _worker_init(_worker_id: int) -> None:
    torch.set_num_threads(1)  # workers slice and scale arrays; leave the cores to the model
