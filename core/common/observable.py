"""A minimal Qt-free signal: views subscribe to model changes with plain callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Signal:
    """``connect(callback)``, ``disconnect(callback)``, ``emit(*args)``: callbacks run in order.

    A callback that raises does not stop the others; the first exception is re-raised
    after all callbacks ran, so a broken view cannot silently swallow a model change.
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        first_error: BaseException | None = None
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception as err:  # noqa: BLE001 - re-raised below
                if first_error is None:
                    first_error = err
        if first_error is not None:
            raise first_error

    def __len__(self) -> int:
        return len(self._callbacks)
