"""Shared pieces of the time panels: one time format, one geometry, one visible range, the
playhead line and view boxes for clicks and drags.

* :func:`format_time` writes every time on a time axis and in every time readout: seconds
  for recordings up to a minute, ``h:mm:ss.s`` beyond (as Audacity does); never SI prefixes.
* Every time panel has a left axis of :data:`LEFT_AXIS_WIDTH` and a right margin of
  :data:`RIGHT_MARGIN` pixels (the spectrogram's colour bar, kept empty elsewhere), so that
  equal time ranges fall on the same pixels in all of them (:func:`style_time_plot`).
* :class:`FollowViewRange` keeps the plots' x range equal to ``Session.view_range``: a pan
  or zoom in one plot sets the session's range and every time panel follows it; the
  panels are never linked to each other.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox

from core.session.session import Session
from seldgui.style import PLAYHEAD_COLOR

LEFT_AXIS_WIDTH = 124
"""Pixels of every time panel's left axis (the longest DCASE class name fits)."""
RIGHT_MARGIN = 84
"""Pixels right of every time panel's plot area (the spectrogram's colour bar)."""
LONG_RECORDING_S = 60.0
"""Beyond this duration times are written ``h:mm:ss.s``."""
_EDGE_LABEL_PX = 40
_LONG_SPACINGS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


def is_long(duration_s: float) -> bool:
    """Whether a recording of ``duration_s`` has its times written ``h:mm:ss.s``."""
    return duration_s > LONG_RECORDING_S


def format_time(seconds: float, long: bool, decimals: int = 1) -> str:
    """``12.5`` (seconds), or ``0:01:05.3`` (``h:mm:ss.s``, at least one decimal) when ``long``."""
    if not long:
        return f"{seconds:.{max(0, decimals)}f}"
    decimals = max(1, decimals)
    sign = "-" if seconds < 0 else ""
    scale = 10**decimals
    tenths = round(abs(seconds) * scale)  # rounded once, so that 59.96 s is 0:01:00.0
    whole, frac = divmod(tenths, scale)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}.{frac:0{decimals}d}"


def time_readout(seconds: float, duration_s: float, decimals: int = 2) -> str:
    """A time for a status line or tooltip: ``"12.35 s"`` (``decimals``), or ``"0:01:05.3"``
    in a recording longer than a minute."""
    if is_long(duration_s):
        return format_time(seconds, True, 1)
    return f"{format_time(seconds, False, decimals)} s"


def parse_time(text: str) -> float:
    """Seconds from ``"12.5"``, ``"1:05.3"`` or ``"0:01:05.3"`` (what :func:`format_time` writes);
    :class:`ValueError` for anything else."""
    parts = text.strip().removesuffix("s").strip().split(":")
    if not 1 <= len(parts) <= 3 or any(not p.strip() for p in parts):
        raise ValueError(f"not a time: {text!r}")
    sign = -1.0 if parts[0].strip().startswith("-") else 1.0
    values = [abs(float(p)) for p in parts]
    if any(v >= 60 for v in values[1:-1]) or (len(values) > 1 and values[-1] >= 60):
        raise ValueError(f"not a time: {text!r}")
    seconds = 0.0
    for v in values:
        seconds = seconds * 60.0 + v
    return sign * seconds


def _decimals(spacing: float) -> int:
    """Decimals that tell ticks ``spacing`` seconds apart."""
    return 0 if spacing >= 1 else int(math.ceil(-math.log10(spacing) - 1e-9))


class TimeAxisItem(pg.AxisItem):
    """A bottom axis that writes times with :func:`format_time` for the session's recording;
    ``named``: with the axis title ("time (s)" or "time (h:mm:ss)")."""

    def __init__(self, session: Session, named: bool = True, **kwargs):
        super().__init__("bottom", **kwargs)
        self.enableAutoSIPrefix(False)
        self.named = named
        self.long = False
        session.recording_changed.connect(self._on_recording)
        self._on_recording(session.recording)

    def _on_recording(self, recording) -> None:
        self.long = recording is not None and is_long(recording.duration_s)
        self.setLabel("time (h:mm:ss)" if self.long else "time (s)")
        self.showLabel(self.named)

    def boundingRect(self):  # noqa: N802 (Qt API)
        # room for the labels of ticks at the very ends ("0" and the end of the recording),
        # which pyqtgraph would drop for reaching past the plot area (with a grid, always)
        return super().boundingRect().adjusted(-_EDGE_LABEL_PX, 0, _EDGE_LABEL_PX, 0)

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph API)
        if not self.long:
            return super().tickSpacing(minVal, maxVal, size)
        fit = max(2.0, size / 110.0)  # an h:mm:ss.s label needs about 110 pixels
        span = max(maxVal - minVal, 1e-9)
        major = next((s for s in _LONG_SPACINGS if span / s <= fit), _LONG_SPACINGS[-1])
        minor = max((s for s in _LONG_SPACINGS if s < major and major / s in (2, 3, 4, 5, 6)), default=major)
        return [(major, 0.0), (minor, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        return [format_time(v * scale, self.long, _decimals(spacing * scale)) for v in values]


class TimeSpinBox(QDoubleSpinBox):
    """A field for a time of the session's recording, written and read as :func:`format_time` does."""

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setRange(0.0, 1e7)
        self.setDecimals(1)
        self.setKeyboardTracking(False)
        session.recording_changed.connect(lambda _r: self.setSuffix("" if self._long() else " s"))
        self.setSuffix(" s")

    def _long(self) -> bool:
        return is_long(self.session.duration_s)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt API)
        return format_time(value, self._long(), self.decimals())

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt API)
        return parse_time(text.removesuffix(self.suffix()))

    def validate(self, text: str, pos: int):  # Qt API
        try:
            value = parse_time(text.removesuffix(self.suffix()))
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if ok else QValidator.State.Invalid), text, pos


def style_time_plot(
    plot: pg.PlotItem, session: Session, right_margin: bool = True, time_title: bool = True
) -> None:
    """Give ``plot`` the time panels' geometry and time axis: a left axis of
    :data:`LEFT_AXIS_WIDTH`, an empty right axis of :data:`RIGHT_MARGIN` (unless the panel
    fills that margin itself, as the spectrogram's colour bar does) and a :class:`TimeAxisItem`."""
    plot.setAxisItems({"bottom": TimeAxisItem(session, named=time_title)})
    plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    if right_margin:
        plot.showAxis("right")
        right = plot.getAxis("right")
        right.setWidth(RIGHT_MARGIN)
        right.setStyle(showValues=False, tickLength=0)
        right.setPen(pg.mkPen(None))
    plot.enableAutoRange(x=False)


class FollowViewRange:
    """Keeps the x range of ``plots`` equal to ``session.view_range`` (see the module doc)."""

    def __init__(self, session: Session, plots: list[pg.PlotItem]):
        self.session = session
        self.plots = plots
        self._applying = False
        for plot in plots:
            plot.getViewBox().sigXRangeChanged.connect(self._on_range)
        session.view_range_changed.connect(self._apply)
        session.recording_changed.connect(self._on_recording)
        self._on_recording(session.recording)
        self._apply(session.view_range)

    def _on_recording(self, recording) -> None:
        end = recording.duration_s if recording is not None else 1.0
        for plot in self.plots:
            plot.getViewBox().setLimits(xMin=0.0, xMax=end)

    def _apply(self, view_range: tuple[float, float]) -> None:
        t0, t1 = view_range
        if t1 <= t0:
            return
        self._applying = True
        try:
            for plot in self.plots:
                plot.setXRange(t0, t1, padding=0)
        finally:
            self._applying = False

    def _on_range(self, _view_box, x_range) -> None:
        if not self._applying and self.session.recording is not None:
            self.session.set_view_range(*x_range)


class PlayheadLine:
    """An ``InfiniteLine`` in ``plot`` that follows ``session.playhead_s``."""

    def __init__(self, plot: pg.PlotItem, session: Session):
        self.session = session
        self.line = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD_COLOR, width=1))
        self.line.setZValue(100)
        plot.addItem(self.line, ignoreBounds=True)
        session.playhead_changed.connect(self._on_playhead)

    def _on_playhead(self, seconds: float) -> None:
        self.line.setValue(seconds)


class ClickViewBox(pg.ViewBox):
    """A view box that calls ``on_click(x, y)`` (view coordinates) on a left click, not a drag.

    Clicks are handled in the view box itself rather than through the scene's click
    signal: Python receivers of that signal crash PySide6 at interpreter exit.
    """

    def __init__(self, on_click, **kwargs):
        super().__init__(**kwargs)
        self.on_click = on_click

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.on_click(p.x(), p.y())
        else:
            super().mouseClickEvent(ev)


class EditViewBox(ClickViewBox):
    """A click view box whose left drags an owner may take over (to edit), else pan as usual.

    ``owner.edit_drag(phase, start, pos, modifiers)`` is called with ``phase`` "start" (return
    ``True`` to take the drag), then "move" and "finish"; ``start`` and ``pos`` are view
    coordinates (``QPointF``). ``owner.pixel_size()`` gives the size of a screen pixel in
    view units, for hit tolerances.
    """

    def __init__(self, on_click, owner, **kwargs):
        super().__init__(on_click, **kwargs)
        self.owner = owner
        self._taken = False
        self.last_modifiers = Qt.KeyboardModifier.NoModifier

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        self.last_modifiers = ev.modifiers()
        super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton:
            pos = self.mapSceneToView(ev.scenePos())
            start = self.mapSceneToView(ev.buttonDownScenePos())
            if ev.isStart():
                self._taken = bool(self.owner.edit_drag("start", start, pos, ev.modifiers()))
            if self._taken:
                ev.accept()
                self.owner.edit_drag("finish" if ev.isFinish() else "move", start, pos, ev.modifiers())
                if ev.isFinish():
                    self._taken = False
                return
        super().mouseDragEvent(ev, axis)
