"""The Batch page: a model on a folder off the GUI thread, the batch table, cancel, exports,
dataset-wide metrics equal to ``seld score``, and the error inspector's highlight in Review."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

pytestmark = pytest.mark.qt

CORRUPT = "fold1_room1_mix000_ov1.wav"  # sorts first: the batch goes on after it


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Four labelled 3 s FOA recordings (DCASE layout), one corrupt WAV without labels, a tiny model."""
    from tests.fixtures_data import make_tiny_dataset
    from tests.test_package import tiny_package

    base = tmp_path_factory.mktemp("batch")
    root = make_tiny_dataset(base / "data", folds=(1, 2), clips_per_fold=2, seconds=3.0)
    (root / "foa_dev" / CORRUPT).write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt junk")
    package = tiny_package(base)[0]
    return root, package


@pytest.fixture
def window(qtbot, monkeypatch, tmp_path):
    from tests.qt_helpers import make_window

    win = make_window(qtbot, monkeypatch, tmp_path / "settings.ini")
    page = win.batch_page
    page.errors = []
    page.show_error = lambda title, message: page.errors.append((title, message))
    return win


def _start(win, qtbot, dataset):
    root, package = dataset
    win.open_folder(root)
    win.open_model(package)
    assert win.file_panel.run_all_button.isEnabled()
    win.named_actions["run_batch"].trigger()  # Model > Run model on all files
    page = win.batch_page
    assert win.pages.currentWidget() is page
    return page


def _run(win, qtbot, dataset):
    page = _start(win, qtbot, dataset)
    qtbot.waitUntil(lambda: not page.busy, timeout=90000)
    return page


def _labelled(page, root):
    from core.data.browse import browse
    from core.inference.batch_metrics import labelled_batch

    return labelled_batch(
        page.runner.results,
        {e.path: e.labels for e in browse(root)},
        classes=page.runner.classes,
        failed=page.runner.failures(),
    )


def _seld_score(capsys, ref, pred, metric, *extra):
    from core.cli.seld import main

    capsys.readouterr()
    args = ["score", str(ref), str(pred), "--metric", metric, "--classes", "dcase2020", "--json", *extra]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_a_batch_with_a_corrupt_file_completes_scores_as_seld_score_and_exports(
    window, qtbot, dataset, tmp_path, capsys
):
    from core.labels.events import events_from_table
    from core.metrics.report import write_csv_report
    from seldgui.batch.table import COLUMNS, BatchTableModel

    root, _ = dataset
    page = _run(window, qtbot, dataset)
    rows = page.runner.tracker.rows
    assert [r.path.name for r in rows][0] == CORRUPT and len(rows) == 5
    # the corrupt file failed, named with its problem; the batch went on
    assert rows[0].status == "failed" and CORRUPT in rows[0].error
    problem = BatchTableModel.cell(rows[0], COLUMNS.index("problem"))
    assert problem.startswith(CORRUPT) and "damaged or truncated WAV file" in problem
    assert [r.status for r in rows[1:]] == ["done"] * 4
    for r in rows[1:]:
        assert r.n_events == len(events_from_table(r.result.table))
        assert page.model.data(page.model.index(rows.index(r), COLUMNS.index("events"))) == str(r.n_events)
    assert page.progress.value() == page.progress.maximum() == 5
    assert page.export_button.isEnabled() and not page.cancel_button.isEnabled()
    # the recording under review stayed usable: the F5 runner is not the batch's
    assert not window.runner.running

    # the page's overall numbers are labelled_batch's, in both metrics; the choice is remembered
    labelled = _labelled(page, root)
    assert [u.name for u in labelled.unscored] == [CORRUPT[:-4]]
    assert page.metrics_view.unscored.count() == 1
    assert CORRUPT in page.metrics_view.unscored.item(0).text()
    expected = {m: labelled.scores(m) for m in ("dcase2020", "dcase2022")}
    assert page.metrics_view.metric == "dcase2020"
    for metric in ("dcase2020", "dcase2022"):
        page.metrics_view.metric_box.setCurrentIndex(page.metrics_view.metric_box.findData(metric))
        shown = page.metrics_view.shown
        for key in ("ER", "F", "LE", "LR", "SELD"):
            assert getattr(shown, key) == pytest.approx(getattr(expected[metric], key), abs=1e-12)
        assert f"SELD {shown.SELD:.3f}" in page.metrics_view.overall.text()
    assert window.settings.get("batch_metric") == "dcase2022"

    # exported predictions score in seld score exactly as the page says
    page.format_box.setCurrentIndex(page.format_box.findData("dcase2022"))
    written = page.export_predictions(tmp_path / "preds")
    assert sorted(p.name for p in written) == sorted(f"{r.result.name}.csv" for r in rows[1:])
    assert window.settings.get("batch_export_format") == "dcase2022"
    for metric in ("dcase2020", "dcase2022"):
        page.metrics_view.set_metric(metric)
        cli = _seld_score(capsys, root / "metadata_dev", tmp_path / "preds", metric)
        for key in ("ER", "F", "LE", "LR", "SELD"):
            assert abs(getattr(page.metrics_view.shown, key) - cli[key]) <= 1e-9, (metric, key)

    # the per-file table puts the worst SELD first
    page.metrics_view.set_metric("dcase2020")
    per_file = page.metrics_view.shown.per_file
    worst = max(per_file, key=lambda f: f.SELD)
    assert page.metrics_view.file_order()[0] == worst.name
    assert len(page.metrics_view.file_order()) == 4

    # the metrics CSV is write_csv_report's
    out = page.export_metrics(tmp_path / "metrics.csv")
    write_csv_report(expected["dcase2020"], tmp_path / "reference.csv")
    assert out.read_text() == (tmp_path / "reference.csv").read_text()
    asked = []
    page.ask_metrics_path = lambda start: asked.append(start) or str(tmp_path / "asked.csv")
    assert page.export_metrics() == tmp_path / "asked.csv" and asked

    # exporting again: nothing is overwritten unless the ask says yes
    before = {p: p.read_text() for p in written}
    for p in written:
        p.write_text("mine\n")
    seen = []
    page.ask_overwrite = lambda existing: seen.append(list(existing)) or False
    assert page.export_predictions(tmp_path / "preds") == []
    assert sorted(seen[0]) == sorted(written) and all(p.read_text() == "mine\n" for p in written)
    page.ask_overwrite = lambda existing: True
    assert sorted(page.export_predictions(tmp_path / "preds")) == sorted(written)
    assert {p: p.read_text() for p in written} == before
    # DCASE 2024 asks for the distance placeholder and writes it
    page.ask_export_folder = lambda start: str(tmp_path / "preds2024")
    page.ask_distance = lambda: None  # cancelled: nothing written
    page.format_box.setCurrentIndex(page.format_box.findData("dcase2024"))
    assert page.export_predictions() == [] and not (tmp_path / "preds2024").exists()
    page.ask_distance = lambda: 150.0
    files = page.export_predictions()
    assert len(files) == 4
    line = next(line for f in files for line in f.read_text().splitlines() if line)
    assert line.split(",")[-1] in ("150", "150.0") and len(line.split(",")) == 6
    assert page.errors == []


def test_choosing_an_error_or_a_row_opens_the_recording_with_predictions_reference_and_highlight(
    window, qtbot, dataset
):
    page = _run(window, qtbot, dataset)
    s = window.session
    errors = page.runner.scores.errors
    assert errors and page.errors_view.table.rowCount() == len(errors)
    assert {e.kind for e in errors} <= {"missed", "false_alarm", "mislocated", "wrong_class"}
    # the confusion table has a row per class with an error
    assert page.confusion_view.table.rowCount() == len(page.runner.scores.confusion.rows)

    # sortable by kind, class, file, size of error; filtered by kind
    view = page.errors_view
    view.sort_by("recording")
    files = [e.file for e in view.shown()]
    assert files == sorted(files)
    view.sort_by("error", descending=True)
    angles = [e.angular_error for e in view.shown() if e.angular_error is not None]
    assert angles == sorted(angles, reverse=True)
    kind = errors[0].kind
    view.set_kind(kind)
    assert view.table.rowCount() == sum(e.kind == kind for e in errors)
    assert all(e.kind == kind for e in view.shown())
    view.set_kind(None)

    # choose an error of a recording that is not open: it opens, at the error, highlighted
    with_directions = [e for e in errors if e.ref_direction is not None]
    entry = (with_directions or errors)[-1]
    row = view.shown().index(entry)
    view.select_row(row)
    qtbot.waitUntil(lambda: s.highlight is not None, timeout=20000)
    result = next(r for r in page.runner.results if r.name == entry.file)
    assert s.recording.path == str(result.path)
    h = s.highlight
    assert (h.start_s, h.end_s) == (entry.onset_s, entry.offset_s)
    assert (h.cls, h.pred_cls) == (entry.cls, entry.pred_cls)
    assert h.ref_direction == entry.ref_direction and h.pred_direction == entry.pred_direction
    assert s.playhead_s == pytest.approx(entry.onset_s)
    start, end = s.view_range
    assert start <= entry.onset_s and entry.offset_s <= end
    assert s.predictions is result.table and s.prediction is result.prediction
    assert s.reference_events  # the reference labels of the recording
    # the views draw it: lanes mark the span, tracks and map show the directions
    assert window.lanes_view.highlight_band.isVisible() and window.lanes_view.highlight_boxes
    band = window.lanes_view.highlight_band.rect()
    assert band.left() == pytest.approx(entry.onset_s)
    if h.ref_direction is not None:
        x, y = window.tracks_view.highlight_lines[("azimuth", "reference")].getData()
        assert list(x) == [entry.onset_s, entry.offset_s] and y[0] == pytest.approx(h.ref_direction[0])
    n_dirs = (h.ref_direction is not None) + (h.pred_direction is not None)
    assert window.map_view.highlight_count == n_dirs

    # an error of the open recording: no reopening, just the highlight
    other = next((e for e in errors if e.file == entry.file and e is not entry), None)
    if other is not None:
        view.select_row(view.shown().index(other))
        assert s.highlight.start_s == other.onset_s and s.recording.path == str(result.path)

    # activating a row of another recording opens it with the batch's predictions and its reference
    index = next(i for i, r in enumerate(page.runner.tracker.rows) if r.result and r.result is not result)
    target = page.runner.tracker.rows[index].result
    assert page.open_row(index)
    assert window.pages.currentWidget() is window.review_page
    qtbot.waitUntil(
        lambda: s.recording.path == str(target.path) and s.predictions is target.table, timeout=20000
    )
    assert s.highlight is None and s.reference_events
    # a failed row opens nothing
    assert not page.open_row(0)

    # the open recording's own errors
    view.set_scope("open")
    assert view.shown() and {e.file for e in view.shown()} == {target.name}


def test_cancel_leaves_the_remaining_rows_cancelled_and_nothing_written_for_them(
    window, qtbot, dataset, monkeypatch, tmp_path
):
    from core.inference.batch import FileDone
    from seldgui.batch import runner as runner_module

    gate = threading.Event()
    real = runner_module._batch_job

    def gated(*args, **kwargs):  # holds the worker after the first recording until the GUI cancelled
        job = real(*args, **kwargs)
        result = yield from _pause_after_first_done(job, gate)
        return result

    monkeypatch.setattr(runner_module, "_batch_job", gated)
    page = _start(window, qtbot, dataset)

    def on_row(index):
        if page.runner.tracker.rows[index].status == "done" and not gate.is_set():
            page.cancel_button.click()
            gate.set()

    page.runner.row_changed.connect(on_row)
    qtbot.waitUntil(lambda: not page.busy, timeout=90000)
    statuses = [r.status for r in page.runner.tracker.rows]
    assert statuses == ["failed", "done", "cancelled", "cancelled", "cancelled"]
    assert "cancelled" in page.status.text() and page.cancel_button.isEnabled() is False
    written = page.export_predictions(tmp_path / "out")
    assert [p.name for p in written] == [f"{page.runner.tracker.rows[1].path.stem}.csv"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [written[0].name]
    assert FileDone  # the events came through the worker's queued signal


def _pause_after_first_done(job, gate):
    from core.inference.batch import FileDone

    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        yield event
        if isinstance(event, FileDone):
            assert gate.wait(30)


def test_the_file_lists_selection_is_the_batch(window, qtbot, dataset):
    root, package = dataset
    window.open_folder(root)
    window.open_model(package)
    tree = window.file_panel.tree
    tree.topLevelItem(1).setSelected(True)
    tree.topLevelItem(3).setSelected(True)
    window.file_panel.run_all_button.click()
    page = window.batch_page
    qtbot.waitUntil(lambda: not page.busy, timeout=60000)
    entries = window.file_panel.entries
    assert [r.path for r in page.runner.tracker.rows] == [entries[1].path, entries[3].path]
    assert all(r.status == "done" for r in page.runner.tracker.rows)


def _highlighted_session():
    import numpy as np

    from core.io.audio import Recording
    from core.session.session import Highlight, Session

    s = Session()
    s.set_recording(Recording(np.zeros((4, 24000 * 10), np.float32), 24000, "foa", "x.wav", 24000))
    h = Highlight(2.0, 3.0, cls=1, pred_cls=1, ref_direction=(120.0, 10.0), pred_direction=(80.0, -5.0))
    return s, h


def test_the_map_and_tracks_draw_the_highlight_and_clear_it(qtbot):
    from seldgui.views.doa_map import DoaMapView
    from seldgui.views.doa_tracks import DoaTracksView

    s, h = _highlighted_session()
    view, tracks = DoaMapView(s), DoaTracksView(s)
    qtbot.addWidget(view)
    qtbot.addWidget(tracks)
    s.show_highlight(h)
    assert view.highlight_count == 2 and len(view.highlight_items) == 1  # both directions, the arc between
    x, y = view.highlight_items[0].getData()
    assert (x[0], y[0]) == pytest.approx((120.0, 10.0)) and (x[-1], y[-1]) == pytest.approx((80.0, -5.0))
    _, el = tracks.highlight_lines[("elevation", "prediction")].getData()
    assert list(el) == [-5.0, -5.0] and tracks.highlight_regions["azimuth"].getRegion() == (2.0, 3.0)
    s.set_highlight(None)
    assert view.highlight_count == 0 and not view.highlight_items
    assert not tracks.highlight_regions["azimuth"].isVisible()
    assert len(tracks.highlight_lines[("azimuth", "reference")].getData()[0] or []) == 0


@pytest.mark.gl
def test_the_sphere_draws_the_highlight_and_turns_to_it(qtbot):
    from seldgui.views.doa_sphere import DoaSphereView, opengl_available

    ok, why = opengl_available()
    if not ok:
        pytest.skip(why)
    s, h = _highlighted_session()
    view = DoaSphereView(s)
    qtbot.addWidget(view)
    before = view.canvas.render()
    s.show_highlight(h)
    assert view.highlight_count == 2 and view.highlight_arc.visible
    assert view.view.camera.azimuth == pytest.approx(120.0 - 90.0)
    after = view.canvas.render()
    assert np.abs(after[..., :3].astype(int) - before[..., :3].astype(int)).sum() > 0
    s.set_highlight(None)
    assert view.highlight_count == 0 and not view.highlight_arc.visible
