"""Progress reports and cancellation for long work: one protocol in two forms.

Long work (feature caching, inference on a recording or a batch of them, evaluation,
training) is written as a **job**: a generator that yields an event at each point where
it has something to report, and returns its result (``StopIteration.value``).

* Each ``yield`` is a progress report *and* a point where the work may stop: a consumer
  cancels a job by no longer asking for the next event and closing the generator
  (:meth:`generator.close`, or :func:`run_job` with ``cancel``). Whatever the job completed
  and committed before (cache entries, written label files, checkpoints) stays valid.
* An event reports progress when it is a :class:`Progress` or carries one in its
  ``progress`` attribute (:func:`progress_of`); other events say what happened (a file was
  written, a file failed, an evaluation row, ...). Each job documents its event types.

The callback form is the same protocol seen from a caller that does not iterate:

* a :data:`ProgressFn` is called as ``progress(done, total, stage)``: ``done`` of ``total``
  units are finished and ``stage`` says which stage, or which unit just finished (a
  recording's name, ...);
* a :data:`CancelFn` is polled between units of work; when it returns ``True`` the work
  stops by raising :class:`Cancelled`.

:func:`run_job` turns the first into the second: it drives a job to its end, hands every
:class:`Progress` to ``progress`` and polls ``cancel`` after every event. The GUI wraps
either form in a worker with a Cancel button; the CLI renders the events with one progress
renderer (:mod:`core.cli.render`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "CancelFn",
    "Cancelled",
    "Job",
    "Progress",
    "ProgressFn",
    "check_cancel",
    "progress_of",
    "relay",
    "run_job",
]

ProgressFn = Callable[[int, int, str], None]
"""``progress(done, total, stage)``."""

CancelFn = Callable[[], bool]
"""``cancel() -> True`` to stop the work."""

R = TypeVar("R")
E = TypeVar("E")

Job = Generator[Any, None, R]
"""A long job: yields events (each a progress report and a cancel point), returns its result."""


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units of ``stage`` are finished (``total >= 1``, ``0 <= done <= total``)."""

    done: int
    total: int
    stage: str

    @property
    def fraction(self) -> float:
        """``done / total`` in [0, 1]."""
        return min(1.0, max(0.0, self.done / self.total)) if self.total > 0 else 1.0


class Cancelled(Exception):
    """Long work was stopped because its ``cancel`` callable returned ``True``.

    Not a :class:`~core.common.errors.SeldError`: nothing is wrong, the user asked to stop.
    """


def check_cancel(cancel: CancelFn | None) -> None:
    """Raise :class:`Cancelled` when ``cancel`` is given and returns ``True``."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def progress_of(event: object) -> Progress | None:
    """The progress an event reports: the event itself, its ``progress`` attribute, or ``None``."""
    if isinstance(event, Progress):
        return event
    carried = getattr(event, "progress", None)
    return carried if isinstance(carried, Progress) else None


def run_job(
    job: Job[R],
    *,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> R:
    """Drive ``job`` to its end and return its result (the callback form of the protocol).

    Every event goes to ``on_event``; every :class:`Progress` (:func:`progress_of`) to
    ``progress(done, total, stage)``. ``cancel`` is polled after each event: when it returns
    ``True`` the job is closed at that point and :class:`Cancelled` is raised.
    """
    try:
        while True:
            event = next(job)
            if on_event is not None:
                on_event(event)
            if progress is not None and (p := progress_of(event)) is not None:
                progress(p.done, p.total, p.stage)
            check_cancel(cancel)
    except StopIteration as stop:
        return stop.value
    finally:
        job.close()


def relay(job: Job[R], wrap: Callable[[Any], E]) -> Generator[E, None, R]:
    """A job inside another: yields ``wrap(event)`` for each of ``job``'s events, returns its result.

    ``result = yield from relay(inner, wrap)`` in an outer job; closing the outer job at one
    of these yields closes ``inner`` there too.
    """
    try:
        while True:
            event = next(job)
            yield wrap(event)
    except StopIteration as stop:
        return stop.value
    finally:
        job.close()
