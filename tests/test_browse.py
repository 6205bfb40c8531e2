"""Folder listings for the file panel: DCASE layouts and plain folders."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core.common.errors import SeldError
from core.data.browse import browse
from tests.fixtures_data import make_tiny_dataset


def test_a_dcase_root_lists_both_formats_with_folds_and_labels(tmp_path):
    make_tiny_dataset(tmp_path, "foa", folds=(1, 2), clips_per_fold=1, seconds=1.0)
    make_tiny_dataset(tmp_path, "mic", folds=(1, 2), clips_per_fold=1, seconds=1.0)
    entries = browse(tmp_path)
    assert [(e.fmt, e.fold, e.name) for e in entries] == [
        ("foa", 1, "fold1_room1_mix001_ov1"),
        ("foa", 2, "fold2_room1_mix001_ov1"),
        ("mic", 1, "fold1_room1_mix001_ov1"),
        ("mic", 2, "fold2_room1_mix001_ov1"),
    ]
    assert all(e.labels is not None and e.labels.parent.name == "metadata_dev" for e in entries)


def test_a_plain_folder_lists_audio_files_with_sibling_labels(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.wav", "sub/a.flac"):
        sf.write(tmp_path / name, np.zeros((2400, 4), np.float32), 24000)
    (tmp_path / "b.csv").write_text("1,0,0,0,0\n")
    (tmp_path / "notes.txt").write_text("x")
    entries = browse(tmp_path)
    assert [(e.name, e.fmt, e.labels.name if e.labels else None) for e in entries] == [
        ("a", None, None),
        ("b", None, "b.csv"),
    ]
    with pytest.raises(SeldError, match="not a folder"):
        browse(tmp_path / "b.wav")
