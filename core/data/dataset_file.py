"""The dataset file of a plain folder (``seld-dataset.json``), and which layout a dataset root has.

A *plain folder* is a folder of recordings with their label CSVs beside them
(``kitchen/take1.wav`` + ``kitchen/take1.csv``, what the annotation mode saves), at any
depth. Its file names say nothing of folds, and nothing says its format or class set: the
dataset file does, in the folder's root, and no recording is renamed or moved::

    {
      "seld_dataset": 1,
      "format": "foa",
      "classes": "dcase2020",
      "folds": {
        "kitchen/take1.wav": 1,
        "kitchen/take2.wav": 2,
        "office.flac": 3
      }
    }

* ``seld_dataset``: the file's version (1). A file of a newer version is refused, never read
  in part.
* ``format``: ``"foa"`` or ``"mic"``, the format of every recording of the folder.
* ``classes``: a class set name (:func:`core.labels.classes.get_class_set`: ``dcase2020``,
  ``starss23``, ...), or ``"custom"`` with ``class_names``: the list of names, class index
  ``i`` being the ``i``-th (no name may hold a comma).
* ``folds``: recording path relative to the folder (``/`` separators, no ``..``, no hidden
  part) -> fold number (1 to :data:`MAX_FOLD`). A recording not listed is in no fold and is
  not used.

The label file of a recording is ``<its stem>.csv`` in its folder. Other keys are refused
(nothing is guessed). Every problem is a :class:`~core.common.errors.SeldError` naming the
file and, where it can be told, the line. The file is written atomically
(:func:`write_dataset_file`); ``docs/DATASETS.md`` documents it for users.

:func:`dataset_layout` tells which of the three layouts a root has (``"dcase"``,
``"starss"``, ``"plain"``, or ``None``); :func:`plain_recordings` lists a plain folder's
recordings (with or without the file, for assigning folds); :func:`plain_folder_items` its
items for training, which :func:`core.data.dataset.discover` returns for a plain folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from core.common.atomic import atomic_write_text
from core.common.errors import SeldError, quote_field
from core.data.items import FORMATS, SPLITS, DatasetItem
from core.data.recordings import is_recording_name, walk_recordings
from core.labels.classes import ClassSet, custom, get_class_set

__all__ = [
    "DATASET_FILE",
    "LAYOUTS",
    "MAX_FOLD",
    "VERSION",
    "DatasetFile",
    "PlainRecording",
    "dataset_file_path",
    "dataset_layout",
    "parse_dataset_file",
    "plain_folder_items",
    "plain_recordings",
    "read_dataset_file",
    "recording_key",
    "write_dataset_file",
]

DATASET_FILE = "seld-dataset.json"
"""The name of the dataset file in a plain folder's root."""
VERSION = 1
"""The version of the dataset file written and read here (``"seld_dataset"``)."""
MAX_FOLD = 10_000
"""The highest fold number (as :meth:`core.training.config.TrainConfig.validate` allows)."""
MAX_FILE_BYTES = 16 * 2**20
"""A dataset file is about 50 bytes per recording; larger than this it is not one."""
LAYOUTS: tuple[str, ...] = ("dcase", "starss", "plain")
"""What :func:`dataset_layout` may say of a root (or ``None``)."""
CUSTOM = "custom"
_KEYS = ("seld_dataset", "format", "classes", "class_names", "folds")


@dataclass
class DatasetFile:
    """The contents of a ``seld-dataset.json`` (see the module docstring).

    ``classes`` is a class set name, or :data:`CUSTOM` with the names in ``class_names``;
    ``folds`` maps a recording's path relative to the folder (:func:`recording_key`) to its
    fold.
    """

    fmt: str
    classes: str = "dcase2020"
    class_names: tuple[str, ...] = ()
    folds: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_class_set(
        cls, fmt: str, class_set: ClassSet | str, folds: Mapping[str, int] | None = None
    ) -> DatasetFile:
        """A dataset file for ``class_set``: stored by name when it is a known set, else as custom names."""
        folds = dict(folds or {})
        if isinstance(class_set, str):
            class_set = get_class_set(class_set)
        try:
            if get_class_set(class_set.name) == class_set:
                return cls(fmt, class_set.name, (), folds)
        except SeldError:
            pass
        return cls(fmt, CUSTOM, tuple(class_set.names), folds)

    def class_set(self) -> ClassSet:
        """The class set the labels use."""
        if self.classes == CUSTOM:
            return custom(self.class_names)
        return get_class_set(self.classes)

    @property
    def config_classes(self) -> str:
        """The class set as :attr:`core.training.config.DataConfig.classes` names it (``custom:a,b`` for a custom one)."""
        if self.classes == CUSTOM:
            return "custom:" + ",".join(self.class_names)
        return self.classes

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"seld_dataset": VERSION, "format": self.fmt, "classes": self.classes}
        if self.classes == CUSTOM:
            d["class_names"] = list(self.class_names)
        d["folds"] = {key: self.folds[key] for key in sorted(self.folds)}
        return d

    def to_json(self) -> str:
        """The file's text: one fold per line, sorted by path, so a line names one recording."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def check(self, path: str | os.PathLike[str] | None = None) -> None:
        """Refuse what no dataset file may hold (a :class:`SeldError` naming ``path``); see the module docstring."""
        parse_dataset_file(self.to_json(), path)


def dataset_file_path(root: str | os.PathLike[str]) -> Path:
    """Where the dataset file of the folder ``root`` is (whether it exists or not)."""
    return Path(root) / DATASET_FILE


def _line_of(text: str, needle: str) -> int | None:
    """The 1-based line of the first occurrence of ``needle`` in ``text`` (``None``: not found)."""
    at = text.find(needle)
    return None if at < 0 else text.count("\n", 0, at) + 1


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a recording path relative to a folder (``None``: it is one)."""
    if not key or key != key.strip():
        return "is not a recording path (empty, or with spaces around it)"
    if "\\" in key or key.startswith("/") or (len(key) > 1 and key[1] == ":"):
        return "must be a path relative to the folder, with / between folders"
    parts = PurePosixPath(key).parts
    if any(p in (".", "..") for p in parts) or "//" in key:
        return "must be a plain relative path (no '.', '..' or empty parts)"
    if any(p.startswith(".") for p in parts):
        return "names a hidden file or folder (recordings there are never read)"
    if not is_recording_name(parts[-1]):
        return "is not a recording (.wav, .flac or .ogg)"
    return None


def parse_dataset_file(text: str, path: str | os.PathLike[str] | None = None) -> DatasetFile:
    """The :class:`DatasetFile` of a dataset file's text; ``path`` names it in messages."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SeldError(f"not valid JSON: {err.msg}", path, err.lineno) from None
    except RecursionError:
        raise SeldError("not a dataset file: its JSON is nested too deeply", path) from None
    except ValueError as err:  # an integer of thousands of digits
        raise SeldError(f"not valid JSON: {err}", path) from None

    def fail(problem: str, needle: str | None = None) -> SeldError:
        return SeldError(problem, path, _line_of(text, needle) if needle else None)

    if not isinstance(data, dict):
        raise fail("a dataset file is a JSON object (see docs/DATASETS.md)")
    version = data.get("seld_dataset")
    if version is None:
        raise fail('not a SELD Studio dataset file: no "seld_dataset" version (see docs/DATASETS.md)')
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise fail(
            f'"seld_dataset" must be the version number {VERSION}, not {quote_field(version)}',
            '"seld_dataset"',
        )
    if version > VERSION:
        raise fail(
            f"written by a newer SELD Studio (dataset file version {version}; this one reads version {VERSION})",
            '"seld_dataset"',
        )
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise fail(f"unknown key(s): {', '.join(map(quote_field, unknown))}", json.dumps(unknown[0]))
    fmt = data.get("format")
    if fmt not in FORMATS:
        raise fail(f'"format" must be "foa" or "mic", not {quote_field(fmt)}', '"format"')
    classes = data.get("classes")
    if not isinstance(classes, str):
        raise fail(f'"classes" must be a class set name or "custom", not {quote_field(classes)}', '"classes"')
    names = data.get("class_names")
    class_names: tuple[str, ...] = ()
    if classes == CUSTOM:
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise fail('"classes": "custom" needs "class_names", a list of class names', '"classes"')
        if any("," in n for n in names):
            bad = next(n for n in names if "," in n)
            raise fail(f"a class name may not hold a comma: {quote_field(bad)}", '"class_names"')
        class_names = tuple(names)
        try:
            custom(class_names)
        except SeldError as err:
            raise fail(err.problem, '"class_names"') from None
    else:
        if names is not None:
            raise fail('"class_names" is only for "classes": "custom"', '"class_names"')
        try:
            get_class_set(classes)
        except SeldError as err:
            raise fail(err.problem, '"classes"') from None
    folds_in = data.get("folds", {})
    if not isinstance(folds_in, dict):
        raise fail('"folds" must be an object: recording path -> fold number', '"folds"')
    folds: dict[str, int] = {}
    for key, fold in folds_in.items():
        where = json.dumps(key, ensure_ascii=False)
        problem = _key_problem(key)
        if problem is not None:
            raise fail(f"{quote_field(key)} {problem}", where)
        if not isinstance(fold, int) or isinstance(fold, bool) or not 1 <= fold <= MAX_FOLD:
            raise fail(
                f"the fold of {quote_field(key)} must be a whole number from 1 to {MAX_FOLD}, not {quote_field(fold)}",
                where,
            )
        folds[key] = fold
    return DatasetFile(fmt=fmt, classes=classes, class_names=class_names, folds=folds)


def _read_text(path: Path) -> str | None:
    """The text of the dataset file at ``path``; ``None`` when there is none."""
    try:
        if path.is_dir():
            raise SeldError("is a folder, not a dataset file", path)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SeldError(f"is {path.stat().st_size} bytes: too large for a dataset file", path)
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise SeldError(f"cannot read the dataset file: {err.strerror or err}", path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SeldError("not a text file (invalid UTF-8); a dataset file is JSON", path) from None


def read_dataset_file(root: str | os.PathLike[str]) -> DatasetFile | None:
    """The dataset file of the folder ``root``; ``None`` when it has none."""
    path = dataset_file_path(root)
    text = _read_text(path)
    return None if text is None else parse_dataset_file(text, path)


def write_dataset_file(root: str | os.PathLike[str], dataset: DatasetFile) -> Path:
    """Write ``dataset`` as the dataset file of the folder ``root`` (atomically); returns its path.

    The contents are checked first (:meth:`DatasetFile.check`): a file that could not be
    read back is never written.
    """
    path = dataset_file_path(root)
    dataset.check(path)
    try:
        atomic_write_text(path, dataset.to_json())
    except OSError as err:
        raise SeldError(f"cannot write the dataset file: {err.strerror or err}", path) from None
    return path


def recording_key(root: str | os.PathLike[str], audio: str | os.PathLike[str]) -> str:
    """The dataset file's key of the recording ``audio`` in the folder ``root`` (``sub/name.wav``)."""
    rel = Path(os.path.abspath(audio)).relative_to(Path(os.path.abspath(root)))
    return rel.as_posix()


@dataclass(frozen=True)
class PlainRecording:
    """A recording of a plain folder: its dataset file ``key``, ``audio`` path, label file (``None``: none
    beside it) and ``fold`` (``None``: in no fold, or no dataset file)."""

    key: str
    audio: Path
    labels: Path | None
    fold: int | None


def _label_file(audio: Path) -> Path | None:
    csv = audio.with_suffix(".csv")
    return csv if csv.is_file() else None


def plain_recordings(root: str | os.PathLike[str]) -> list[PlainRecording]:
    """Every recording under the folder ``root`` (any depth, hidden names skipped), in a fixed order.

    With the folds of its dataset file when it has one (which must then be readable), so a
    user can assign or change them; a recording the file lists but that is gone is not
    listed here (:func:`plain_folder_items` refuses it).
    """
    root_path = Path(os.path.abspath(root))
    if not root_path.is_dir():
        raise SeldError("is not a folder", root_path)
    dataset = read_dataset_file(root_path)
    folds = dataset.folds if dataset is not None else {}
    out = []
    for audio in walk_recordings(root_path):
        key = recording_key(root_path, audio)
        out.append(PlainRecording(key, audio, _label_file(audio), folds.get(key)))
    return out


def plain_folder_items(
    root: str | os.PathLike[str], fmt: str | None = None, *, require_labels: bool = True
) -> list[DatasetItem]:
    """The recordings a plain folder's dataset file assigns to folds, sorted by name.

    ``fmt`` must be the file's format when given. A recording the file lists that is not
    there, two recordings of one name (names name output files) and, with ``require_labels``,
    a recording without its ``<stem>.csv`` are each a :class:`SeldError`.
    """
    root_path = Path(os.path.abspath(root))
    path = dataset_file_path(root_path)
    text = _read_text(path)
    if text is None:
        count = sum(1 for _ in walk_recordings(root_path))
        raise SeldError(
            f"a plain folder of {count} recording(s) without a dataset file ({DATASET_FILE}): assign their "
            "folds first (the training tab does, or see docs/DATASETS.md)",
            root_path,
        )
    dataset = parse_dataset_file(text, path)
    if fmt is not None and fmt != dataset.fmt:
        raise SeldError(
            f"the dataset file says the recordings are {dataset.fmt.upper()}, not {fmt.upper()}",
            path,
            _line_of(text, '"format"'),
        )
    items = []
    for key, fold in dataset.folds.items():
        audio = root_path / PurePosixPath(key)
        if not audio.is_file():
            raise SeldError(
                f"lists {quote_field(key)}, which is not in the folder (moved or deleted?)",
                path,
                _line_of(text, json.dumps(key, ensure_ascii=False)),
            )
        labels = _label_file(audio)
        if labels is None and require_labels:
            raise SeldError(f"the recording has no label file (expected {audio.with_suffix('.csv')})", audio)
        items.append(DatasetItem(name=audio.stem, fold=fold, audio=audio, labels=labels, fmt=dataset.fmt))
    items.sort(key=lambda it: (it.name, str(it.audio)))
    for a, b in zip(items, items[1:], strict=False):
        if a.name == b.name:
            raise SeldError(f"two recordings are named {a.name!r}: {a.audio} and {b.audio}", path)
    return items


def dataset_layout(root: str | os.PathLike[str]) -> str | None:
    """Which layout the folder ``root`` has: ``"dcase"``, ``"starss"``, ``"plain"`` or ``None``.

    * ``"dcase"``: ``foa_dev``/``mic_dev`` (or ``*_eval``) folders holding the recordings
      directly (beside ``metadata_*``);
    * ``"starss"``: the same folders with the recordings in sub-folders (``dev-train-sony``, ...);
    * ``"plain"``: neither, but a dataset file or at least one recording (any depth);
    * ``None``: not a folder, or nothing of the above.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        return None
    audio_dirs = [root_path / f"{fmt}_{split}" for fmt in FORMATS for split in SPLITS]
    audio_dirs = [d for d in audio_dirs if d.is_dir()]
    if audio_dirs:
        for folder in audio_dirs:
            try:
                if any(c.is_dir() and not c.name.startswith(".") for c in folder.iterdir()):
                    return "starss"
            except OSError:
                continue
        return "dcase"
    if dataset_file_path(root_path).is_file():
        return "plain"
    return "plain" if next(walk_recordings(root_path), None) is not None else None
