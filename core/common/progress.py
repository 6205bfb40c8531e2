"""Progress reports and cancellation for long work (feature caching, training, inference).

Conventions
-----------
* A :data:`ProgressFn` is called as ``progress(done, total, name)``: ``done`` of ``total``
  units are finished and ``name`` says which one just finished (a recording name, ...).
* A :data:`CancelFn` is polled between (and, where cheap, inside) units of work; when it
  returns ``True`` the work stops by raising :class:`Cancelled`. Whatever was completed
  and committed before (cache entries, checkpoints) stays valid.

The GUI wraps these in a worker with a Cancel button; the CLI drives them with a
progress bar and maps Ctrl-C to ``cancel``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["CancelFn", "Cancelled", "ProgressFn", "check_cancel"]

ProgressFn = Callable[[int, int, str], None]
"""``progress(done, total, name)``."""

CancelFn = Callable[[], bool]
"""``cancel() -> True`` to stop the work."""


class Cancelled(Exception):
    """Long work was stopped because its ``cancel`` callable returned ``True``.

    Not a :class:`~core.common.errors.SeldError`: nothing is wrong, the user asked to stop.
    """


def check_cancel(cancel: CancelFn | None) -> None:
    """Raise :class:`Cancelled` when ``cancel`` is given and returns ``True``."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled")
