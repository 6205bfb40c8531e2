"""The energy layer: the model-free direction map at the playhead, computed off the GUI thread.

While the layer is on, every playhead change (and a new recording) asks for the map of
:func:`core.dsp.energy_map.energy_map_at` at that time. One computation runs at a time in the
thread pool; changes that arrive meanwhile are folded into one request for the latest time,
and a result for a time or recording that is no longer current is dropped. The result goes
to ``Session.energy_map``, where the sphere and the map both take it: one computation per
playhead position, whatever shows it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from core.session.session import Session
from seldgui import workers


class EnergyLayer(QObject):
    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.enabled = False
        self.computed = 0  # maps computed so far (for tests and the curious)
        self._running = False
        self._wanted: tuple[object, float] | None = None  # (recording, time) still to compute
        session.playhead_changed.connect(lambda _t: self._request())
        session.recording_changed.connect(lambda _r: self._request())

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = bool(enabled)
        if self.enabled:
            self._request()
        else:
            self._wanted = None
            self.session.set_energy_map(None)

    @property
    def busy(self) -> bool:
        return self._running

    def _current(self) -> tuple[object, float] | None:
        rec = self.session.recording
        return None if rec is None or not self.enabled else (rec, self.session.playhead_s)

    def _request(self) -> None:
        self._wanted = self._current()
        if self._wanted is None:
            if self.enabled:
                self.session.set_energy_map(None)
            return
        if not self._running:
            self._start()

    def _start(self) -> None:
        from core.dsp.energy_map import energy_map_at

        key, self._wanted = self._wanted, None
        rec, t = key
        self._running = True
        workers.submit(
            lambda: (key, energy_map_at(rec, t)),
            self._on_map,
            on_failed=lambda _message: self._on_map((key, None)),
            on_crashed=lambda details: self._on_crashed(key, details),
            owner=self,
        )

    def _on_crashed(self, key, details: str) -> None:
        import logging

        logging.getLogger("seldgui").error("energy map crashed:\n%s", details)
        self._on_map((key, None))

    def _on_map(self, result) -> None:
        key, direction_map = result
        self._running = False
        self.computed += 1
        if self._wanted is not None:
            self._start()  # the playhead moved on meanwhile: this result is stale
            return
        if key == self._current():
            self.session.set_energy_map(direction_map)
