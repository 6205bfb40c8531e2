"""Finding the recordings and label files of a SELD dataset on disk.

Three layouts (:func:`core.data.dataset_file.dataset_layout` tells which a root has)::

    DCASE 2019-2021:  <root>/foa_dev/fold1_room1_mix001_ov1.wav  <root>/metadata_dev/fold1_room1_mix001_ov1.csv
    STARSS 2022-2024: <root>/mic_dev/dev-train-sony/fold3_room21_mix001.wav
                                     <root>/metadata_dev/dev-train-sony/fold3_room21_mix001.csv
                      <root>/foa_eval/mix001.wav                 <root>/metadata_eval/mix001.csv   (optional)
    plain folder:     <root>/kitchen/take1.wav                   <root>/kitchen/take1.csv
                      <root>/seld-dataset.json   (format, class set, folds: core.data.dataset_file)

Conventions (DCASE and STARSS)
------------------------------
* Recordings of format ``fmt`` live in ``<fmt>_dev`` (development) and ``<fmt>_eval``
  (evaluation), at any depth (STARSS keeps them in sub-folders such as ``dev-train-sony``).
  The label file of ``<fmt>_<split>/<sub>/<stem>.<ext>`` is
  ``metadata_<split>/<sub>/<stem>.csv``. Recordings are found by
  :func:`core.data.recordings.walk_recordings`: ``.wav``, ``.flac`` or ``.ogg`` (any case);
  names starting with ``.`` (hidden files, macOS ``._`` resource forks) are skipped, in any
  folder.
* Development recordings must be named ``fold<N>_...``: ``N`` is their fold. Evaluation
  recordings usually have no fold in their name (``mix001.wav``) and get fold
  :data:`EVAL_FOLD` (0) unless they are named ``fold<N>_...`` too.
* An item's ``name`` is the file name without extension (``fold1_room1_mix001_ov1``); names
  must be unique across the dataset (they name output files).
* Development recordings need a label file when ``require_labels=True`` (training);
  evaluation labels are always optional (they are often unpublished): ``labels`` is
  ``None`` then.

A plain folder (no ``foa_*``/``mic_*`` folders, recordings with ``<stem>.csv`` beside them)
takes its folds, format and class set from its dataset file
(:func:`core.data.dataset_file.plain_folder_items`; ``docs/DATASETS.md``).

Every problem is a :class:`~core.common.errors.SeldError` naming the folder or file and saying
what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from core.common.errors import SeldError
from core.data.dataset_file import dataset_layout, plain_folder_items
from core.data.items import EVAL_FOLD, FORMATS, SPLITS, DatasetItem, fold_of
from core.data.recordings import AUDIO_EXTENSIONS, walk_recordings

__all__ = [
    "AUDIO_EXTENSIONS",
    "EVAL_FOLD",
    "FORMATS",
    "SPLITS",
    "DatasetItem",
    "dataset_layout",
    "discover",
    "fold_of",
    "label_path",
    "select_folds",
]


def label_path(root: str | os.PathLike[str], audio: str | os.PathLike[str]) -> Path:
    """Where the label file of the recording ``audio`` of the dataset ``root`` is, or would be.

    DCASE and STARSS: ``metadata_<split>/<sub folders>/<stem>.csv`` for
    ``<fmt>_<split>/<sub folders>/<stem>.<ext>``; a plain folder: ``<stem>.csv`` beside the recording.
    """
    root_path = Path(os.path.abspath(root))
    audio_path = Path(os.path.abspath(audio))
    rel = audio_path.relative_to(root_path)
    top = rel.parts[0] if len(rel.parts) > 1 else ""
    fmt, _, split = top.partition("_")
    if fmt in FORMATS and split in SPLITS:
        return root_path / f"metadata_{split}" / Path(*rel.parts[1:]).with_suffix(".csv")
    return audio_path.with_suffix(".csv")


def _folder_list(root: Path) -> str:
    subfolders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subfolders:
        return "it has no sub-folders"
    shown = ", ".join(subfolders[:12]) + (", ..." if len(subfolders) > 12 else "")
    return f"its folders are: {shown}"


def discover(
    root: str | os.PathLike[str], fmt: str, *, require_labels: bool = True, include_eval: bool = True
) -> list[DatasetItem]:
    """All recordings of format ``fmt`` under the dataset folder ``root``, sorted by name.

    See the module docstring for the layouts. With ``require_labels`` every development
    recording must have its label file; ``include_eval=False`` ignores ``<fmt>_eval``. A
    plain folder gives the recordings its dataset file assigns to folds (``fmt`` must be
    the file's).
    """
    if fmt not in FORMATS:
        raise SeldError(f"unknown recording format {fmt!r}; expected 'foa' or 'mic'")
    root_path = Path(os.path.abspath(os.fspath(root)))
    if not root_path.exists():
        raise SeldError("dataset folder not found", root_path)
    if not root_path.is_dir():
        raise SeldError("is a file, not a dataset folder", root_path)
    splits = SPLITS if include_eval else ("dev",)
    audio_dirs = {s: root_path / f"{fmt}_{s}" for s in splits if (root_path / f"{fmt}_{s}").is_dir()}
    if not audio_dirs and dataset_layout(root_path) == "plain":
        return plain_folder_items(root_path, fmt, require_labels=require_labels)
    if not audio_dirs:
        wanted = " or ".join(f"{fmt}_{s}" for s in splits)
        raise SeldError(
            f"no {wanted} folder for {fmt.upper()} recordings (DCASE layout: {fmt}_dev/ beside "
            f"metadata_dev/); {_folder_list(root_path)}",
            root_path,
        )

    items: list[DatasetItem] = []
    for split, audio_dir in audio_dirs.items():
        meta_dir = root_path / f"metadata_{split}"
        files = list(walk_recordings(audio_dir))
        for path in files:
            name = path.stem
            fold = fold_of(name)
            if fold is None:
                if split == "dev":
                    raise SeldError(
                        "the file name does not start with fold<N>_ (as in fold1_room1_mix001_ov1.wav); "
                        "DCASE development recordings are named by their fold",
                        path,
                    )
                fold = EVAL_FOLD
            csv_path = label_path(root_path, path)
            label: Path | None = csv_path
            if not csv_path.is_file():
                if split == "dev" and require_labels and not meta_dir.is_dir():
                    raise SeldError(
                        f"no metadata_{split} folder beside {audio_dir.name}: the label files of the "
                        f"{len(files)} development recordings are missing",
                        root_path,
                    )
                if split == "dev" and require_labels:
                    raise SeldError(f"the recording has no label file (expected {label})", path)
                label = None
            items.append(DatasetItem(name=name, fold=fold, audio=path, labels=label, fmt=fmt))

    if not items:
        names = ", ".join(d.name for d in audio_dirs.values())
        raise SeldError(f"{names} hold(s) no recordings ({', '.join(AUDIO_EXTENSIONS)} files)", root_path)
    items.sort(key=lambda it: (it.name, str(it.audio)))
    for a, b in zip(items, items[1:], strict=False):
        if a.name == b.name:
            raise SeldError(f"two recordings are named {a.name!r}: {a.audio} and {b.audio}", root_path)
    return items


def select_folds(items: Iterable[DatasetItem], folds: Iterable[int]) -> list[DatasetItem]:
    """The items of the given folds, in their order in ``items`` (sorted by name after :func:`discover`).

    Raises :class:`SeldError` when a requested fold has no recording, saying which folds
    exist. No folds requested gives an empty list.
    """
    items = list(items)
    wanted = list(dict.fromkeys(int(f) for f in folds))
    present = sorted({it.fold for it in items})
    missing = [f for f in wanted if f not in present]
    if missing:
        where = os.path.commonpath([str(it.audio.parent) for it in items]) if items else None
        have = ", ".join(map(str, present)) if present else "none"
        word = "fold" if len(missing) == 1 else "folds"
        raise SeldError(
            f"{word} {', '.join(map(str, missing))} {'has' if len(missing) == 1 else 'have'} no "
            f"recordings; the dataset has folds {have}",
            where,
        )
    keep = set(wanted)
    return [it for it in items if it.fold in keep]
