"""The plain-folder dataset file (core.data.dataset_file) and the three dataset layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.common.errors import SeldError
from core.data.dataset import discover, select_folds
from core.data.dataset_file import (
    DATASET_FILE,
    DatasetFile,
    dataset_layout,
    parse_dataset_file,
    plain_folder_items,
    plain_recordings,
    read_dataset_file,
    recording_key,
    write_dataset_file,
)
from core.labels.classes import STARSS23, custom
from tests.fixtures_data import make_plain_dataset, make_tiny_dataset
from tests.test_dataset import _touch


def test_the_file_is_written_atomically_one_fold_a_line_and_read_back(tmp_path):
    dataset = DatasetFile("mic", "starss23", (), {"b/take2.wav": 2, "a.flac": 1, "b/take1.WAV": 3})
    path = write_dataset_file(tmp_path, dataset)
    assert path == tmp_path / DATASET_FILE
    assert path.read_text() == (
        "{\n"
        '  "seld_dataset": 1,\n'
        '  "format": "mic",\n'
        '  "classes": "starss23",\n'
        '  "folds": {\n'
        '    "a.flac": 1,\n'
        '    "b/take1.WAV": 3,\n'
        '    "b/take2.wav": 2\n'
        "  }\n"
        "}\n"
    )
    assert read_dataset_file(tmp_path) == dataset
    assert read_dataset_file(tmp_path).class_set() == STARSS23
    assert [p.name for p in tmp_path.iterdir()] == [DATASET_FILE]  # no temporary file left
    assert read_dataset_file(tmp_path / "elsewhere") is None


def test_a_custom_class_set_is_stored_by_its_names():
    names = ("dog", "car horn", "door slam")
    dataset = DatasetFile.for_class_set("foa", custom(names), {"x.wav": 1})
    assert (dataset.classes, dataset.class_names) == ("custom", names)
    data = json.loads(dataset.to_json())
    assert data["class_names"] == list(names)
    again = parse_dataset_file(dataset.to_json())
    assert again.class_set().names == names and again.config_classes == "custom:dog,car horn,door slam"
    assert DatasetFile.for_class_set("foa", "starss").classes == "starss23"  # a known set: by its name


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("{", "not valid JSON", 1),
        ("[1]", "a dataset file is a JSON object", None),
        ('{"format": "foa"}', 'no "seld_dataset" version', None),
        (
            '{\n"seld_dataset": 2,\n"format": "foa"}',
            "written by a newer SELD Studio (dataset file version 2",
            2,
        ),
        (
            '{"seld_dataset": 1,\n"format": "stereo",\n"classes": "dcase2020"}',
            '"format" must be "foa" or "mic"',
            2,
        ),
        ('{"seld_dataset": 1, "format": "foa",\n"classes": "nosuchset"}', "unknown class set 'nosuchset'", 2),
        ('{"seld_dataset": 1, "format": "foa", "classes": "custom"}', '"class_names"', 1),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "custom",\n"class_names": ["a,b", "c"]}',
            "a class name may not hold a comma: 'a,b'",
            2,
        ),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "custom",\n"class_names": ["dog", "Dog"]}',
            "names the class 'dog' twice",
            2,
        ),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "dcase2020",\n"colour": 1}',
            "unknown key(s): 'colour'",
            2,
        ),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "dcase2020", "folds": {\n"a.wav": 1,\n"b.wav": 0}}',
            "the fold of 'b.wav' must be a whole number from 1 to 10000, not '0'",
            3,
        ),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "dcase2020", "folds": {\n"a.wav": true}}',
            "the fold of 'a.wav' must be a whole number",
            2,
        ),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "dcase2020", "folds": {\n"../a.wav": 1}}',
            "'../a.wav' must be a plain relative path",
            2,
        ),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "dcase2020", "folds": {\n"/abs/a.wav": 1}}',
            "must be a path relative to the folder",
            2,
        ),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "dcase2020", "folds": {\n"notes.txt": 1}}',
            "'notes.txt' is not a recording (.wav, .flac or .ogg)",
            2,
        ),
        (
            '{"seld_dataset": 1, "format": "foa", "classes": "dcase2020", "folds": {\n"a/.trash/x.wav": 1}}',
            "names a hidden file or folder",
            2,
        ),
    ],
)
def test_a_bad_dataset_file_is_refused_with_its_line(tmp_path, text, message, line):
    path = _touch(tmp_path / DATASET_FILE, text)
    with pytest.raises(SeldError) as err:
        read_dataset_file(tmp_path)
    assert err.value.path == str(path) and message in err.value.problem, err.value.problem
    assert err.value.line == line
    with pytest.raises(SeldError):  # and nothing that would not read back is ever written
        write_dataset_file(tmp_path / "other", DatasetFile("foa", "dcase2020", (), {"../x.wav": 1}))


def test_a_file_that_is_not_text_is_refused(tmp_path):
    (tmp_path / DATASET_FILE).write_bytes(b"\xff\xfe\x00{")
    with pytest.raises(SeldError, match="not a text file"):
        read_dataset_file(tmp_path)


def test_the_three_layouts_are_told_apart(tmp_path):
    dcase = make_tiny_dataset(tmp_path / "dcase", folds=(1,), clips_per_fold=1, seconds=0.5)
    starss = tmp_path / "starss"
    _touch(starss / "mic_dev" / "dev-train-sony" / "fold3_room21_mix001.wav")
    _touch(starss / "metadata_dev" / "dev-train-sony" / "fold3_room21_mix001.csv")
    plain, _ = make_plain_dataset(tmp_path / "plain", folds=(1,), clips_per_fold=1, seconds=0.5)
    no_file = tmp_path / "no_file"
    _touch(no_file / "deep" / "down" / "x.flac")
    empty = tmp_path / "empty"
    _touch(empty / "readme.txt")
    assert dataset_layout(dcase) == "dcase"
    assert dataset_layout(starss) == "starss"
    assert dataset_layout(plain) == "plain"
    assert dataset_layout(no_file) == "plain"  # recordings without a file yet: folds to assign
    assert dataset_layout(empty) is None
    assert dataset_layout(tmp_path / "missing") is None
    assert dataset_layout(empty / "readme.txt") is None


def test_a_plain_folder_without_a_file_lists_its_recordings_to_assign(tmp_path):
    _touch(tmp_path / "b" / "take1.wav")
    _touch(tmp_path / "b" / "take1.csv")
    _touch(tmp_path / "a.flac")
    _touch(tmp_path / ".hidden" / "c.wav")
    _touch(tmp_path / "._a.flac")
    listed = plain_recordings(tmp_path)
    assert [(r.key, r.fold) for r in listed] == [("a.flac", None), ("b/take1.wav", None)]
    assert listed[0].labels is None and listed[1].labels == tmp_path / "b" / "take1.csv"
    assert recording_key(tmp_path, tmp_path / "b" / "take1.wav") == "b/take1.wav"
    with pytest.raises(SeldError, match=r"a plain folder of 2 recording\(s\) without a dataset file"):
        discover(tmp_path, "foa")
    write_dataset_file(tmp_path, DatasetFile("foa", folds={"b/take1.wav": 2}))
    assert [(r.key, r.fold) for r in plain_recordings(tmp_path)] == [("a.flac", None), ("b/take1.wav", 2)]
    # the unassigned recording is in no fold and not used
    assert [(it.name, it.fold) for it in discover(tmp_path, "foa")] == [("take1", 2)]


def test_discover_reads_a_plain_folder_through_its_file(tmp_path):
    root, assigned = make_plain_dataset(tmp_path / "ds", folds=(1, 2, 3), clips_per_fold=2, seconds=0.5)
    assert assigned["room1/scene1_2.wav"] == 1 and assigned["scene2_1.wav"] == 2
    items = discover(root, "foa")
    assert [(it.name, it.fold) for it in items] == [
        ("scene1_1", 1),
        ("scene1_2", 1),
        ("scene2_1", 2),
        ("scene2_2", 2),
        ("scene3_1", 3),
        ("scene3_2", 3),
    ]
    first = items[0]
    assert first.audio == root.resolve() / "room1" / "scene1_1.wav"
    assert first.labels == root.resolve() / "room1" / "scene1_1.csv" and first.fmt == "foa"
    assert [it.name for it in select_folds(items, [2])] == ["scene2_1", "scene2_2"]
    assert plain_folder_items(root) == items


def test_a_plain_folder_is_refused_for_what_its_file_does_not_hold(tmp_path):
    root, _ = make_plain_dataset(tmp_path / "ds", folds=(1, 2), clips_per_fold=1, seconds=0.5)
    file = root / DATASET_FILE
    with pytest.raises(SeldError) as err:
        discover(root, "mic")
    assert (err.value.path, err.value.line) == (str(file), 3)
    assert err.value.problem == "the dataset file says the recordings are FOA, not MIC"
    (root / "scene2_1.csv").unlink()
    with pytest.raises(SeldError) as err:
        discover(root, "foa")
    assert str(err.value) == (
        f"{root.resolve() / 'scene2_1.wav'}: the recording has no label file "
        f"(expected {root.resolve() / 'scene2_1.csv'})"
    )
    assert [it.labels for it in discover(root, "foa", require_labels=False)][1] is None
    (root / "room1" / "scene1_1.wav").unlink()
    with pytest.raises(SeldError) as err:
        discover(root, "foa", require_labels=False)
    assert err.value.problem == "lists 'room1/scene1_1.wav', which is not in the folder (moved or deleted?)"
    assert (err.value.path, err.value.line) == (str(file), 6)
    # two recordings of one name (they name output and cache files) are refused
    dup = tmp_path / "dup"
    for key in ("a/x.wav", "b/x.wav"):
        _touch(dup / key)
    write_dataset_file(dup, DatasetFile("foa", folds={"a/x.wav": 1, "b/x.wav": 2}))
    with pytest.raises(SeldError, match="two recordings are named 'x'"):
        discover(dup, "foa", require_labels=False)


def test_the_examples_of_the_user_guide_are_valid_files():
    import re

    guide = (Path(__file__).resolve().parents[1] / "docs" / "DATASETS.md").read_text()
    examples = re.findall(r"```json\n(.*?)```", guide, re.S)
    assert [parse_dataset_file(text).fmt for text in examples] == ["foa", "mic"]
    assert parse_dataset_file(examples[1]).class_names == ("dog", "car horn", "door slam")
