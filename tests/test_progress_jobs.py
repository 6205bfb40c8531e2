"""The one progress/cancel protocol (core.common.progress): jobs, run_job, relay."""

from __future__ import annotations

import pytest

from core.common.progress import Cancelled, Progress, progress_of, relay, run_job


class _Carrier:
    def __init__(self, progress: Progress):
        self.progress = progress


def _job(log: list[str], n: int = 4):
    """Yields n progress reports and a plain event; records where it got to and that it was closed."""
    try:
        for i in range(1, n + 1):
            log.append(f"unit {i}")
            yield Progress(i, n, "work")
        yield "a plain event"
        return "result"
    finally:
        log.append("closed")


def test_progress_reports_its_fraction_and_events_carry_it():
    assert Progress(1, 4, "x").fraction == 0.25
    assert Progress(9, 4, "x").fraction == 1.0 and Progress(0, 0, "x").fraction == 1.0
    p = Progress(2, 3, "detecting")
    assert progress_of(p) is p and progress_of(_Carrier(p)) is p
    assert progress_of("text") is None and progress_of(_Carrier("not progress")) is None


def test_run_job_returns_the_result_and_hands_on_every_report():
    log: list[str] = []
    calls, events = [], []
    result = run_job(_job(log), progress=lambda *a: calls.append(a), on_event=events.append)
    assert result == "result"
    assert calls == [(1, 4, "work"), (2, 4, "work"), (3, 4, "work"), (4, 4, "work")]
    assert events[-1] == "a plain event" and len(events) == 5
    assert log[-1] == "closed"


def test_cancel_stops_the_job_at_the_next_event_and_closes_it():
    log: list[str] = []
    polls = []

    def cancel() -> bool:
        polls.append(1)
        return len(polls) == 2

    with pytest.raises(Cancelled):
        run_job(_job(log), cancel=cancel)
    assert log == ["unit 1", "unit 2", "closed"]  # unit 3 never started


def test_relay_wraps_the_inner_events_and_passes_the_result_and_the_close_on():
    log: list[str] = []

    def outer():
        result = yield from relay(_job(log, n=2), lambda e: ("inner", e))
        yield ("outer", result)
        return result + "!"

    events = []
    assert run_job(outer(), on_event=events.append) == "result!"
    assert events == [
        ("inner", Progress(1, 2, "work")),
        ("inner", Progress(2, 2, "work")),
        ("inner", "a plain event"),
        ("outer", "result"),
    ]
    log.clear()
    job = outer()
    next(job)
    job.close()  # closing the outer job closes the inner one where it stands
    assert log == ["unit 1", "closed"]
