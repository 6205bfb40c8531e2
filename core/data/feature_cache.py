"""Features computed once per recording and kept on disk, memory-mapped for training.

Layout of ``cache_dir``::

    features/<fmt>-<key>.npy      float32 (C, T, 64), C-contiguous (np.save format)
    features/<fmt>-<key>.json     commit record: shape, checksum of the data, provenance
    audio_hashes.json             content hashes of audio files, by path and file status

Conventions
-----------
* ``key`` is a BLAKE2b digest of the audio file's **content** (its bytes, hashed in 1 MiB
  blocks), the recording format and the feature definition
  (:meth:`core.dsp.features.FeatureSettings.to_dict`) plus :data:`CACHE_VERSION`: editing a
  recording or changing the features gives a new entry; renaming or moving a file reuses
  its entry.
* An entry is written atomically (temporary file + rename, :mod:`core.common.atomic`): first the
  ``.npy``, then the ``.json`` record, which commits it. An entry is used only when its
  record is present and agrees with the ``.npy`` file (header, shape, exact file size) and
  with the BLAKE2b checksum of the data (checked the first time this :class:`FeatureCache`
  uses the entry). Anything else - a missing record, a truncated or overwritten ``.npy`` -
  is recomputed, never used.
* Hashing a large dataset's audio takes seconds, so ``audio_hashes.json`` remembers each
  file's hash with its status (size, mtime, ctime, inode, device). A remembered hash is
  trusted only if the status is unchanged *and* the file's ctime was at least
  :data:`RACY_S` seconds older than the moment it was hashed (so a rewrite within the
  file system's timestamp granularity cannot go unnoticed; the same rule as git's index).
  The ctime cannot be set by tools that preserve mtimes (``cp -p``, ``rsync -t``, tar).
* Label frames are 100 ms = :data:`FRAMES_PER_LABEL` feature frames: a recording of ``T``
  feature frames has ``ceil(T / 5)`` label frames (:func:`n_label_frames`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from core.common.atomic import atomic_open, atomic_write_text
from core.common.errors import SeldError
from core.common.progress import CancelFn, ProgressFn, check_cancel
from core.data.dataset import DatasetItem
from core.dsp.features import FEATURE_CHANNELS, N_MELS, FeatureScaler, FeatureSettings, extract_features
from core.io.audio import load_recording
from core.labels.classes import ClassSet, get_class_set
from core.labels.dcase_csv import read_labels
from core.labels.targets import frame_targets

__all__ = [
    "CACHE_VERSION",
    "FRAMES_PER_LABEL",
    "FeatureCache",
    "file_hash",
    "fit_scaler",
    "load_targets",
    "n_label_frames",
]

CACHE_VERSION = 2
"""Bumped when the on-disk entry format or the features' values change (old entries are then
ignored). 2: the official extractor's 1e-8 sample offset (:data:`core.dsp.features.DC_OFFSET`)."""
FRAMES_PER_LABEL = 5
"""Feature frames (20 ms) per label frame (100 ms)."""
RACY_S = 2.0
"""A remembered audio hash is trusted only for files changed this long before hashing."""
_BLOCK = 1 << 20


def n_label_frames(n_feature_frames: int) -> int:
    """Label frames of a recording with ``n_feature_frames``: ``ceil(T / 5)``."""
    return -(-int(n_feature_frames) // FRAMES_PER_LABEL)


def file_hash(path: str | os.PathLike[str]) -> str:
    """BLAKE2b (32 bytes, hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _data_checksum(array: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=32)
    flat = array.reshape(-1)
    step = _BLOCK // array.itemsize
    for i in range(0, flat.size, step):
        digest.update(np.ascontiguousarray(flat[i : i + step]).tobytes())
    return digest.hexdigest()


def _status(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _audio_path(item_or_path: DatasetItem | str | os.PathLike[str]) -> Path:
    if isinstance(item_or_path, DatasetItem):
        return item_or_path.audio
    return Path(item_or_path)


class FeatureCache:
    """Feature entries under ``cache_dir`` (created on first write); see the module docstring.

    Several processes may share a cache (entries are written atomically and identically);
    one instance is not meant to be used from several threads at once.
    """

    def __init__(self, cache_dir: str | os.PathLike[str]):
        self.root = Path(os.path.abspath(os.fspath(cache_dir)))
        self._settings = FeatureSettings().to_dict()
        self._hashes: dict[str, list] | None = None  # path -> [*status, hashed_at_ns, hash]
        self._hashes_dirty = False
        self._verified: dict[Path, list[int]] = {}  # entry -> .npy status when verified

    # ------------------------------------------------------------------ audio hashes

    def _index_path(self) -> Path:
        return self.root / "audio_hashes.json"

    def _load_index(self) -> dict[str, list]:
        if self._hashes is None:
            self._hashes = {}
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(self._index_path().read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("version") == CACHE_VERSION:
                    self._hashes = {k: v for k, v in data.get("files", {}).items() if isinstance(v, list)}
        return self._hashes

    def _save_index(self) -> None:
        if not self._hashes_dirty or self._hashes is None:
            return
        text = json.dumps({"version": CACHE_VERSION, "files": self._hashes}, sort_keys=True)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self._index_path(), text)
        except OSError:
            return  # only a speed-up: a read-only cache still works
        self._hashes_dirty = False

    def audio_hash(self, path: str | os.PathLike[str]) -> str:
        """Content hash (:func:`file_hash`) of an audio file, remembered as the module docstring says."""
        p = Path(os.path.abspath(os.fspath(path)))
        try:
            st = p.stat()
        except FileNotFoundError:
            raise SeldError("file not found", p) from None
        except OSError as err:
            raise SeldError(f"cannot be read ({err.strerror or err})", p) from None
        index = self._load_index()
        status = _status(st)
        known = index.get(str(p))
        if known is not None and len(known) == 7 and known[:5] == status:
            if st.st_ctime_ns < known[5] - int(RACY_S * 1e9):
                return str(known[6])
        hashed_at = time.time_ns()
        try:
            digest = file_hash(p)
        except OSError as err:
            raise SeldError(f"cannot be read ({err.strerror or err})", p) from None
        index[str(p)] = [*status, hashed_at, digest]
        self._hashes_dirty = True
        return digest

    # ------------------------------------------------------------------ entries

    def key(self, item_or_path: DatasetItem | str | os.PathLike[str], fmt: str) -> str:
        """The entry key of a recording in format ``fmt`` (see the module docstring)."""
        return self._key(self.audio_hash(_audio_path(item_or_path)), fmt)

    def _key(self, audio_hash: str, fmt: str) -> str:
        if fmt not in FEATURE_CHANNELS:
            raise SeldError(f"unknown recording format {fmt!r}; expected 'foa' or 'mic'")
        spec = {
            "audio": audio_hash,
            "fmt": fmt,
            "features": self._settings,
            "version": CACHE_VERSION,
        }
        return hashlib.blake2b(json.dumps(spec, sort_keys=True).encode(), digest_size=20).hexdigest()

    def _entry(self, fmt: str, key: str) -> tuple[Path, Path]:
        base = self.root / "features" / f"{fmt}-{key}"
        return base.with_suffix(".npy"), base.with_suffix(".json")

    def _valid(self, npy: Path, record_path: Path, fmt: str) -> bool:
        """True when the entry is committed, complete and (once per instance) checksum-verified."""
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            st = npy.stat()
            array = np.load(npy, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return False
        if not isinstance(array, np.memmap) or not isinstance(record, dict):
            return False
        shape = tuple(record.get("shape", ()))
        ok = (
            array.dtype == np.float32
            and array.shape == shape
            and len(shape) == 3
            and shape[0] == FEATURE_CHANNELS[fmt]
            and shape[2] == N_MELS
            and array.flags.c_contiguous
            and array.offset + array.nbytes == st.st_size
        )
        if not ok:
            return False
        status = _status(st)
        if self._verified.get(npy) != status:
            if _data_checksum(array) != record.get("checksum"):
                return False
            self._verified[npy] = status
        return True

    def _compute(
        self, audio: Path, audio_hash: str, fmt: str, npy: Path, record_path: Path, cancel: CancelFn | None
    ) -> None:
        recording = load_recording(audio, fmt=fmt)

        def on_block(_fraction: float) -> None:
            check_cancel(cancel)

        feats = extract_features(recording.samples, fmt, progress=on_block if cancel else None)
        record = {
            "version": CACHE_VERSION,
            "shape": list(feats.shape),
            "dtype": "float32",
            "checksum": _data_checksum(feats),
            "fmt": fmt,
            "features": self._settings,
            "audio": str(audio),
            "audio_hash": audio_hash,
        }
        try:
            npy.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                record_path.unlink()  # uncommit first: the .npy is about to change
            with atomic_open(npy, "wb") as fh:
                np.save(fh, feats, allow_pickle=False)
            atomic_write_text(record_path, json.dumps(record, indent=1, sort_keys=True))
        except OSError as err:
            raise SeldError(f"cannot write the feature cache ({err.strerror or err})", npy) from None
        self._verified[npy] = _status(npy.stat())

    def path(
        self, item_or_path: DatasetItem | str | os.PathLike[str], fmt: str, cancel: CancelFn | None = None
    ) -> Path:
        """The ``.npy`` file of a recording's features, computed and stored first if needed."""
        audio = _audio_path(item_or_path)
        digest = self.audio_hash(audio)
        npy, record = self._entry(fmt, self._key(digest, fmt))
        if not self._valid(npy, record, fmt):
            self._compute(audio, digest, fmt, npy, record, cancel)
        self._save_index()
        return npy

    def features(self, item_or_path: DatasetItem | str | os.PathLike[str], fmt: str) -> np.ndarray:
        """The recording's features, float32 ``(C, T, 64)``, as a read-only memory map."""
        return np.load(self.path(item_or_path, fmt), mmap_mode="r", allow_pickle=False)

    def ensure(
        self,
        items: Iterable[DatasetItem | str | os.PathLike[str]],
        fmt: str,
        progress: ProgressFn | None = None,
        cancel: CancelFn | None = None,
    ) -> list[Path]:
        """Compute the missing entries of ``items``; return their ``.npy`` paths in item order.

        ``progress(done, total, name)`` follows each recording; ``cancel`` is polled
        before each recording and between blocks of one, and stops the work with
        :class:`~core.common.progress.Cancelled` (entries already written stay valid).
        """
        items = list(items)
        paths: list[Path] = []
        try:
            for done, item in enumerate(items, start=1):
                check_cancel(cancel)
                paths.append(self.path(item, fmt, cancel=cancel))
                if progress is not None:
                    name = item.name if isinstance(item, DatasetItem) else Path(item).stem
                    progress(done, len(items), name)
        finally:
            self._save_index()
        return paths


def fit_scaler(
    cache: FeatureCache,
    items: Sequence[DatasetItem],
    fmt: str,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> FeatureScaler:
    """A :class:`FeatureScaler` fitted on the features of ``items`` only (the training folds), in order."""
    if not items:
        raise SeldError("cannot fit the feature scaler: no training recordings")
    scaler = FeatureScaler()
    for done, item in enumerate(items, start=1):
        check_cancel(cancel)
        scaler.partial_fit(cache.features(item, fmt))
        if progress is not None:
            progress(done, len(items), item.name)
    return scaler


def load_targets(
    item: DatasetItem, n_label_frames: int, class_set: ClassSet | str
) -> tuple[np.ndarray, np.ndarray]:
    """SED ``(L, C)`` and DOA ``(L, 3C)`` float32 targets of ``item`` for ``L = n_label_frames``.

    Labels past ``L`` are ignored (:func:`core.labels.targets.frame_targets`); a recording without
    a label file raises :class:`SeldError`.
    """
    classes = get_class_set(class_set) if isinstance(class_set, str) else class_set
    if item.labels is None:
        raise SeldError(
            "the recording has no label file, so it cannot be used for training or scoring", item.audio
        )
    table = read_labels(item.labels, classes=classes)
    return frame_targets(table, n_label_frames, len(classes))
