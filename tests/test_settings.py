"""Typed settings through QSettings: defaults, types that survive the store, what is remembered."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")


@pytest.fixture
def settings(tmp_path):
    from seldgui.settings import Settings

    return Settings.at(tmp_path / "settings.ini")


def test_every_setting_reads_its_default_until_it_is_set(settings):
    from seldgui.settings import DEFAULTS

    for key, default in DEFAULTS.items():
        assert settings.get(key) == default and type(settings.get(key)) is type(default)
    with pytest.raises(KeyError):
        settings.get("no such setting")


def test_values_come_back_with_their_types_after_a_fresh_read(tmp_path):
    from seldgui.settings import Settings

    first = Settings.at(tmp_path / "s.ini")
    first.set("recent_files", ["/data/one.wav"])  # a one-item list: INI stores a bare string
    first.set("window_geometry", b"\x01\x02\x00\xff")
    first.set("rotations", "8")
    first.remember_folder_format("/data/mine/a.wav", "foa-fuma")
    first.sync()
    again = Settings.at(tmp_path / "s.ini")
    assert again.get("recent_files") == ["/data/one.wav"]
    assert again.get("window_geometry") == b"\x01\x02\x00\xff"
    assert again.get("rotations") == "8"
    assert again.folder_format("/data/mine/b.flac") == "foa-fuma"
    assert again.folder_format("/data/other/b.flac") is None


def test_recent_files_are_newest_first_unique_and_at_most_ten(settings):
    for i in range(12):
        settings.add_recent(f"/r/{i}.wav")
    recent = settings.add_recent("/r/5.wav")
    assert recent[0] == "/r/5.wav" and len(recent) == 10 and len(set(recent)) == 10
    assert settings.get("recent_files") == recent and "/r/0.wav" not in recent


def test_a_damaged_value_reads_as_the_default(settings):
    settings.store.setValue("folder_formats", "{not json")
    assert settings.get("folder_formats") == {}
    settings.store.setValue("folder_formats", '{"/x": "stereo"}')
    assert settings.folder_format("/x/a.wav") is None  # not a format choice
    with pytest.raises(ValueError, match="format choice"):
        settings.remember_folder_format("/x/a.wav", "stereo")
