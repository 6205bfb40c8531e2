"""What the app remembers between runs: one table of typed defaults, read through ``QSettings``.

Every setting is named in :data:`DEFAULTS` with its default value, whose type is the
setting's type; :class:`Settings` reads a stored value back as that type (``QSettings``
hands back strings, or a single string for a one-item list, depending on the platform's
store) and falls back to the default for anything it cannot read. Tests give
:class:`Settings` their own ``QSettings`` file, so they never touch the user's.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10

FORMAT_CHOICES: tuple[str, ...] = ("foa", "foa-fuma", "mic")
"""How a recording's channels are read: FOA AmbiX, FOA FuMa, or the tetrahedral MIC array."""

DEFAULTS: dict[str, Any] = {
    "recent_files": [],  # newest first, at most MAX_RECENT
    "last_folder": "",  # where the last file dialog was
    "folder_formats": {},  # folder -> a FORMAT_CHOICES entry, chosen when a file there was opened
    "window_geometry": b"",  # QMainWindow.saveGeometry()
    "window_state": b"",  # QMainWindow.saveState(): docks and toolbars
    "device": "auto",  # where a model runs
    "rotations": "fast",  # test-time rotations: fast (none), 4, 8 or accurate (the package's set)
    "listen_pattern": "cardioid",  # the virtual microphone's pattern
    "spectrogram_kind": "logmel",
    # the Train page
    "runs_root": "",  # the folder whose run folders the runs list shows
    "dataset_root": "",  # the dataset last chosen for training
    "train_form": "",  # the training form as JSON (a TrainConfig's fields), restored at start
    # the Batch page
    "batch_export_dir": "",  # where predictions and metrics CSVs were last exported
    "batch_metric": "dcase2020",  # dcase2020 (micro, as the official scorer) or dcase2022 (macro)
    "batch_export_format": "dcase2020",  # the label format of exported predictions
}


class Settings:
    """Typed access to the :data:`DEFAULTS` keys in ``store`` (default: the app's ``QSettings``)."""

    def __init__(self, store: QSettings | None = None):
        self.store = store if store is not None else QSettings()

    @classmethod
    def at(cls, path: str | os.PathLike[str]) -> Settings:
        """Settings kept in an INI file of their own (tests, portable use)."""
        return cls(QSettings(os.fspath(path), QSettings.Format.IniFormat))

    def get(self, key: str) -> Any:
        default = copy.deepcopy(DEFAULTS[key])  # never the table's own list or dict
        value = self.store.value(key, None)
        if value is None:
            return default
        try:
            if isinstance(default, bytes):
                return bytes(value.data()) if isinstance(value, QByteArray) else bytes(value)
            if isinstance(default, list):
                items = value if isinstance(value, list) else [value]
                return [str(v) for v in items if str(v)]
            if isinstance(default, dict):
                loaded = json.loads(value) if isinstance(value, str) else value
                return {str(k): str(v) for k, v in dict(loaded).items()}
            return type(default)(value)
        except (TypeError, ValueError, AttributeError):
            return default

    def set(self, key: str, value: Any) -> None:
        default = DEFAULTS[key]
        if isinstance(default, dict):
            value = json.dumps(value, sort_keys=True)
        elif isinstance(default, bytes):
            value = QByteArray(bytes(value))
        elif isinstance(default, list):
            value = list(value)
        self.store.setValue(key, value)

    def sync(self) -> None:
        self.store.sync()

    # ------------------------------------------------------------------ helpers for the lists
    def add_recent(self, path: str | os.PathLike[str]) -> list[str]:
        """Put ``path`` first in the recent files; returns the new list."""
        path = str(path)
        recent = [path] + [p for p in self.get("recent_files") if p != path]
        self.set("recent_files", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    def folder_format(self, path: str | os.PathLike[str]) -> str | None:
        """The format chosen for the folder of ``path`` (a file), if one was remembered."""
        choice = self.get("folder_formats").get(str(Path(path).absolute().parent))
        return choice if choice in FORMAT_CHOICES else None

    def remember_folder_format(self, path: str | os.PathLike[str], choice: str) -> None:
        if choice not in FORMAT_CHOICES:
            raise ValueError(f"unknown format choice {choice!r}; expected one of {FORMAT_CHOICES}")
        formats = self.get("folder_formats")
        formats[str(Path(path).absolute().parent)] = choice
        self.set("folder_formats", formats)
