"""Choosing the detection threshold on the validation folds (core.inference.threshold)."""

from __future__ import annotations

import pytest

from core.common.errors import SeldError
from core.common.progress import Progress, run_job
from core.data.dataset import discover
from core.inference.batch import FileDone
from core.inference.evaluate import evaluate_model
from core.inference.predict import open_model
from core.inference.threshold import DEFAULT_CANDIDATES, _best, choose_threshold
from tests.fixtures_data import make_plain_dataset, make_tiny_dataset
from tests.test_package import tiny_package


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return open_model(tiny_package(tmp_path_factory.mktemp("pkg"))[0], backend="torch", device="cpu")


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    root = make_tiny_dataset(
        tmp_path_factory.mktemp("data"), folds=(2,), clips_per_fold=3, seconds=3.0, seed=4
    )
    return discover(root, "foa")


def test_each_candidate_scores_as_seld_eval_would_and_the_lowest_wins(model, items):
    events = []
    choice = run_job(choose_threshold(model, items), on_event=events.append)
    assert list(choice.by_threshold) == list(DEFAULT_CANDIDATES)
    for t in (0.3, 0.5, 0.7):  # the files predicted once, scored at each threshold as seld eval scores
        seld = run_job(evaluate_model(model, items, threshold=t)).SELD
        assert choice.by_threshold[t] == pytest.approx(seld, abs=1e-12)
    assert len({round(v, 6) for v in choice.by_threshold.values()}) > 1  # the candidates differ here
    best = min(choice.by_threshold.values())
    assert choice.by_threshold[choice.threshold] == best and choice.seld == best
    assert (choice.files, choice.rotations) == (3, 1)
    assert [e.path.stem for e in events if isinstance(e, FileDone)] == [it.name for it in items]
    assert [e for e in events if isinstance(e, Progress)] == [
        Progress(i, 9, f"threshold {t:.2f}") for i, t in enumerate(DEFAULT_CANDIDATES, start=1)
    ]
    stored = choice.as_metrics(folds=[2])
    assert stored["threshold"] == choice.threshold and stored["threshold_folds"] == [2]
    assert stored["threshold_chosen_on_validation"]["0.50"] == choice.by_threshold[0.5]


def test_ties_go_to_the_papers_threshold_then_to_the_lower():
    assert _best({0.45: 0.3, 0.5: 0.3000001, 0.55: 0.3}) == 0.5  # equal to 6 decimals
    assert _best({0.45: 0.3, 0.55: 0.3, 0.6: 0.2999}) == 0.6
    assert _best({0.55: 0.3, 0.45: 0.3}) == 0.45
    assert _best({0.3: 0.30001, 0.7: 0.3}) == 0.7


def test_a_plain_folder_and_bad_arguments(model, tmp_path):
    root, _ = make_plain_dataset(tmp_path, folds=(1,), clips_per_fold=2, seconds=2.0)
    plain = discover(root, "foa")  # its paths name no format: the items' format is passed on
    choice = run_job(choose_threshold(model, plain, candidates=(0.4, 0.6)))
    assert choice.files == 2 and set(choice.by_threshold) == {0.4, 0.6}
    assert run_job(evaluate_model(model, plain, threshold=0.4)).SELD == pytest.approx(
        choice.by_threshold[0.4]
    )
    with pytest.raises(SeldError, match="distinct numbers between 0 and 1"):
        run_job(choose_threshold(model, plain, candidates=(0.5, 1.2)))
    with pytest.raises(SeldError, match="needs labelled recordings"):
        run_job(choose_threshold(model, []))
    (root / "room1" / "scene1_1.csv").unlink()
    unlabelled = discover(root, "foa", require_labels=False)
    with pytest.raises(
        SeldError, match="choosing a threshold needs distinct recordings, each with its label file"
    ):
        run_job(choose_threshold(model, unlabelled))
