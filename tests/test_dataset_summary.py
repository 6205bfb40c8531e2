"""The dataset summary before training (core.data.summary): per fold figures and every problem, by file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.common.progress import Progress, run_job
from core.data.dataset_file import DATASET_FILE, DatasetFile, write_dataset_file
from core.data.summary import DatasetProblem, summarize_dataset
from core.labels.classes import DCASE2020, STARSS23
from tests.fixtures_data import make_plain_dataset, make_tiny_dataset, tiny_scene


def _summary(root, fmt="foa", classes="dcase2020", **folds):
    events = []
    summary = run_job(summarize_dataset(root, fmt, classes, **folds), on_event=events.append)
    return summary, events


def _wav(path: Path, seconds: float, channels: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sf.write(path, 0.01 * rng.standard_normal((round(seconds * 24000), channels)), 24000, subtype="PCM_16")
    return path


def test_a_dcase_dataset_per_fold(tmp_path):
    root = make_tiny_dataset(tmp_path, folds=(1, 2, 3), clips_per_fold=2, seconds=3.0, n_classes=4, seed=3)
    summary, events = _summary(root, train_folds=[3], val_folds=[2], test_folds=[1])
    names = [f"fold{f}_room1_mix00{k}_ov1" for f in (1, 2, 3) for k in (1, 2)]
    assert events == [Progress(i, 6, name) for i, name in enumerate(names, start=1)]
    assert (summary.layout, summary.fmt, summary.class_set) == ("dcase", "foa", DCASE2020)
    assert list(summary.folds) == [1, 2, 3]
    for fold, stats in summary.folds.items():
        scenes = [tiny_scene(3, fold, clip, 30, 4) for clip in (1, 2)]
        expected = [0] * 14
        for event in (e for scene in scenes for e in scene):
            expected[event.cls] += 1  # events follow each other with gaps: one event each
        assert stats.events == expected
        assert (stats.files, stats.seconds, stats.minutes) == (2, 6.0, 0.1)
        assert stats.frames_1 == sum(e.stop - e.start for scene in scenes for e in scene)
        assert (stats.frames_2plus, stats.ov1_share, stats.ov2_share) == (0, 1.0, 0.0)
    assert summary.folds[3].roles == ("train",) and summary.folds[1].roles == ("test",)
    assert summary.ok and summary.blocking == []
    # the classes of the set the tiny scenes never use have no training events: a warning
    missing = [n for c, n in enumerate(DCASE2020.names) if summary.folds[3].events[c] == 0]
    assert [str(p) for p in summary.warnings] == [
        f"{len(missing)} class(es) have no events in the training folds, so the model cannot learn them: "
        + ", ".join(missing)
    ]
    assert [r.events for r in summary.recordings] == [
        len(tiny_scene(3, f, k, 30, 4)) for f in (1, 2, 3) for k in (1, 2)
    ]


def test_every_problem_by_file_and_line_blocking_or_not(tmp_path):
    root, _ = make_plain_dataset(tmp_path / "ds", folds=(1, 2, 3), clips_per_fold=2, seconds=3.0, n_classes=4)
    root = root.resolve()
    (root / "scene2_1.csv").unlink()  # a recording without labels
    _wav(root / "room3" / "scene3_1.wav", 3.0, channels=2)  # a wrong channel count
    lines = (root / "room1" / "scene1_1.csv").read_text().splitlines()
    (root / "room1" / "scene1_1.csv").write_text("\n".join([*lines, "5,20,0,10,0"]) + "\n")  # class 20 of 14
    past = (root / "room1" / "scene1_2.csv").read_text().splitlines()
    (root / "room1" / "scene1_2.csv").write_text("\n".join([*past, "34,1,0,0,0", "31,1,0,0,0"]) + "\n")
    bad = (root / "scene2_2.csv").read_text().splitlines()
    (root / "scene2_2.csv").write_text("\n".join([bad[0], "x," + bad[1].split(",", 1)[1], *bad[2:]]) + "\n")
    _wav(root / "extra.wav", 3.0)  # in no fold
    _wav(root / "short.wav", 1.0)  # fold 4, not chosen, no labels: warnings only
    folds = {**_folds(root), "short.wav": 4}
    write_dataset_file(root, DatasetFile("foa", folds=folds))

    summary, _ = _summary(root, None, None, train_folds=[3], val_folds=[2], test_folds=[1, 9])
    blocking = [(p.path, p.line) for p in summary.blocking]
    assert blocking == [
        (root / "room1" / "scene1_1.csv", len(lines) + 1),
        (root / "room1" / "scene1_2.csv", len(past) + 1),
        (root / "scene2_1.wav", None),
        (root / "scene2_2.csv", 2),
        (root / "room3" / "scene3_1.wav", None),
        (root, None),
    ]
    messages = [p.message for p in summary.blocking]
    assert messages[0] == "class '20' is outside the class set 'dcase2020' (0-13)"
    assert messages[1] == (
        "2 label row(s) at or past the end of the recording (3.00 s, label frames 0-29); the first is at frame 34"
    )
    assert messages[2] == f"the recording has no label file (expected {root / 'scene2_1.csv'})"
    assert "'x'" in messages[3] and "frame" in messages[3]
    assert messages[4].startswith("has 2 channels; a SELD recording needs 4")
    assert messages[5] == "test fold(s) 9 have no recordings; the dataset has folds 1, 2, 3, 4"
    warnings = [str(p) for p in summary.warnings]
    assert f"{root}: 1 recording(s) are in no fold and not used, e.g. extra.wav" in warnings
    assert (
        f"{root / 'short.wav'}: fold 4 is not used: only 1.00 s long, shorter than one 2 s evaluation segment"
        in warnings
    )
    assert (
        f"{root / 'short.wav'}: fold 4 is not used: the recording has no label file (expected {root / 'short.csv'})"
        in warnings
    )
    assert not summary.ok
    assert summary.folds[4].files == 1 and summary.folds[3].files == 2
    assert summary.folds[3].seconds == 3.0  # the unreadable recording adds no minutes


def _folds(root: Path) -> dict[str, int]:
    from core.data.dataset_file import read_dataset_file

    return dict(read_dataset_file(root).folds)


def test_overlap_shares_count_frames_with_one_and_with_two_or_more_events(tmp_path):
    _wav(tmp_path / "a.wav", 3.0)
    rows = [f"{f},0,0,10,0" for f in range(10)] + [f"{f},1,1,-90,0" for f in range(5, 15)]
    rows += ["7,1,1,-90,0"]  # the same source twice in one frame counts once
    rows += [f"{f},0,0,10,0" for f in range(20, 23)]  # class 0 again, after a gap: a second event
    (tmp_path / "a.csv").write_text("\n".join(rows) + "\n")
    write_dataset_file(tmp_path, DatasetFile("foa", folds={"a.wav": 1}))
    summary, _ = _summary(tmp_path, train_folds=[1])
    stats = summary.folds[1]
    assert (stats.frames_1, stats.frames_2plus) == (13, 5)
    assert stats.ov2_share == pytest.approx(5 / 18) and stats.ov1_share == pytest.approx(13 / 18)
    assert stats.events[:3] == [2, 1, 0] and stats.total_events == 3


def test_the_plain_folder_file_gives_the_class_set_and_a_different_one_blocks(tmp_path):
    root, _ = make_plain_dataset(
        tmp_path, folds=(1,), clips_per_fold=1, seconds=3.0, n_classes=4, classes="starss23"
    )
    summary, _ = _summary(root, None, None, train_folds=[1])
    assert summary.class_set == STARSS23 and summary.fmt == "foa" and summary.ok
    summary, _ = _summary(root, "foa", "dcase2020", train_folds=[1])
    assert summary.blocking == [
        DatasetProblem(
            root.resolve() / DATASET_FILE,
            None,
            "the dataset file's class set is 'starss23', not 'dcase2020'; train with the file's class set or "
            "change the file",
            True,
        )
    ]


def test_a_dataset_that_cannot_be_listed_is_one_blocking_problem(tmp_path):
    bad = _wav(tmp_path / "foa_dev" / "room1_mix001.wav", 1.0)
    summary, events = _summary(tmp_path, train_folds=[1])
    assert events == [] and summary.folds == {}
    assert [(p.path, p.blocking) for p in summary.problems] == [(bad, True)]
    assert "does not start with fold<N>_" in summary.problems[0].message
    # a DCASE layout with a dataset file: the file is ignored there (a warning)
    write_dataset_file(tmp_path, DatasetFile("foa"))
    summary, _ = _summary(tmp_path, train_folds=[1])
    assert any(p.path == tmp_path / DATASET_FILE and not p.blocking for p in summary.problems)
