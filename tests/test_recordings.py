"""The one recording walker (core.data.recordings) and the file lists built on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.common.errors import SeldError
from core.data.recordings import collect_recordings, is_recording_name, walk_recordings


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_recording_names():
    assert is_recording_name("a.wav") and is_recording_name("B.FLAC") and is_recording_name("c.Ogg")
    assert not is_recording_name("._a.wav") and not is_recording_name(".a.wav")
    assert not is_recording_name("a.mp3") and not is_recording_name("a.csv") and not is_recording_name("wav")


def test_the_walk_is_sorted_recursive_and_skips_hidden_names(tmp_path):
    for name in (
        "b.wav",
        "a.FLAC",
        "z/c.ogg",
        "m/d.wav",
        "m/n/e.wav",
        ".hidden/f.wav",
        "m/._g.wav",
        "notes.txt",
    ):
        _touch(tmp_path / name)
    got = [p.relative_to(tmp_path).as_posix() for p in walk_recordings(tmp_path)]
    assert got == ["a.FLAC", "b.wav", "m/d.wav", "m/n/e.wav", "z/c.ogg"]


def test_collect_takes_named_files_and_folders_in_order_each_once(tmp_path):
    a = _touch(tmp_path / "in" / "a.wav")
    b = _touch(tmp_path / "in" / "sub" / "b.flac")
    other = _touch(tmp_path / "x.dat")  # named directly: taken, its reader will say what is wrong
    got = collect_recordings([other, tmp_path / "in", a, tmp_path / "in" / "sub" / ".." / "a.wav"])
    assert got == [other.resolve(), a.resolve(), b.resolve()]


def test_collect_refuses_a_missing_path_and_a_folder_without_recordings(tmp_path):
    with pytest.raises(SeldError, match="no such file or folder") as err:
        collect_recordings([tmp_path / "missing.wav"])
    assert str(tmp_path / "missing.wav") in str(err.value)
    _touch(tmp_path / "empty" / "notes.txt")
    with pytest.raises(SeldError, match=r"no recordings \(\.wav, \.flac, \.ogg files\) in this folder"):
        collect_recordings([tmp_path / "empty"])
