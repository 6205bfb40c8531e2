"""A run's curves and progress, drawn from its typed events (``docs/EVENTS.md``).

:meth:`LiveView.feed` takes each :class:`~core.training.events.TrainEvent` of a run folder's
``events.jsonl`` in order. Four plots share one x axis, optimizer steps or epochs
(switchable): the losses (training loss per step, and per evaluation the training and
validation loss), the scores per evaluation (ER, F, LR, SELD, with the best SELD so far
marked), the localization error in degrees, and the learning rate per step. Beside them the
device the run uses, steps/s and samples/s, elapsed and estimated time left, a progress bar
for the stage (feature caching, the epoch's batches) and one for the whole run, and a log
pane with the run's messages.

``events.jsonl`` is the history of every invocation of a run (a resumed run repeats the steps
after its last checkpoint): a step or evaluation seen again replaces the earlier one, so the
curves always agree with ``metrics.csv``.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.training import events as ev
from seldgui.style import class_color

SCORES = ("ER", "F", "LR", "SELD")
"""The per-evaluation scores of the scores plot (LE, in degrees, has a plot of its own)."""
COLORS = {
    "loss": "#9ecae1", "train_loss": "#1f77b4", "val_loss": "#ff7f0e", "ER": class_color(3),
    "F": class_color(2), "LR": class_color(4), "SELD": "#ffffff", "LE": class_color(5), "lr": class_color(1),
}  # fmt: skip


def _duration(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _ScientificAxis(pg.AxisItem):
    """Tick labels in scientific notation (``2e-05``), for a learning rate of 1e-5-1e-2."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        return [f"{v * scale:.2g}" if v != 0 else "0" for v in values]


class LiveView(QWidget):
    """See the module docstring. ``curves`` maps each curve's name (``loss``, ``train_loss``,
    ``val_loss``, ``ER``, ``F``, ``LR``, ``SELD``, ``LE``, ``lr``) to its ``PlotDataItem``;
    ``best_marker`` marks the best validation SELD."""

    REDRAW_MS = 250

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build()
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(self.REDRAW_MS)
        self._redraw.timeout.connect(self.refresh)
        self.reset()

    # ------------------------------------------------------------------ widgets
    def _build(self) -> None:
        self.title = QLabel("no run")
        self.title.setStyleSheet("font-weight: bold")
        self.axis_combo = QComboBox()
        self.axis_combo.addItems(["step", "epoch"])
        self.axis_combo.currentTextChanged.connect(lambda _t: self.refresh())
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(QLabel("x axis"))
        head.addWidget(self.axis_combo)

        self.stats: dict[str, QLabel] = {}
        grid = QGridLayout()
        names = ["device", "step", "epoch", "steps/s", "samples/s", "elapsed", "time left", "best SELD"]
        for i, name in enumerate(names):
            label = QLabel("–")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.stats[name] = label
            grid.addWidget(QLabel(f"{name}:"), i // 4, 2 * (i % 4))
            grid.addWidget(label, i // 4, 2 * (i % 4) + 1)
        self.stage_bar = QProgressBar()
        self.stage_bar.setFormat("%p%")
        self.run_bar = QProgressBar()
        bars = QHBoxLayout()
        bars.addWidget(self.stage_bar, 1)
        bars.addWidget(self.run_bar, 1)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setMinimumHeight(320)
        self.loss_plot = self.plots.addPlot(row=0, col=0, title="loss")
        self.score_plot = self.plots.addPlot(row=0, col=1, title="validation scores (ER, F, LR, SELD)")
        self.le_plot = self.plots.addPlot(row=1, col=0, title="localization error LE (°)")
        self.lr_plot = self.plots.addPlot(
            row=1, col=1, title="learning rate", axisItems={"left": _ScientificAxis(orientation="left")}
        )
        for plot in (self.loss_plot, self.score_plot, self.le_plot, self.lr_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            if plot is not self.lr_plot:  # one curve, named by the title (a legend would cover it at the top)
                plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
            plot.getAxis("left").setWidth(52)
            if plot is not self.loss_plot:
                plot.setXLink(self.loss_plot)
        self.curves: dict[str, pg.PlotDataItem] = {}

        def curve(plot, name: str, label: str, symbol: str | None = "o", width: float = 2.0) -> None:
            pen = pg.mkPen(COLORS[name], width=width)
            self.curves[name] = plot.plot(
                [],
                [],
                pen=pen,
                name=label,
                symbol=symbol,
                symbolSize=5,
                symbolBrush=COLORS[name],
                symbolPen=None,
            )

        curve(self.loss_plot, "loss", "training (per step)", symbol=None, width=1.0)
        curve(self.loss_plot, "train_loss", "training (per evaluation)")
        curve(self.loss_plot, "val_loss", "validation")
        for name in SCORES:
            curve(self.score_plot, name, name)
        curve(self.le_plot, "LE", "LE")
        curve(self.lr_plot, "lr", "learning rate", symbol=None)
        self.best_marker = pg.ScatterPlotItem(
            size=16, symbol="star", brush=pg.mkBrush("#ffd700"), pen=pg.mkPen("#000000"), name="best SELD"
        )
        self.score_plot.addItem(self.best_marker)
        self.best_text = pg.TextItem("", color="#ffd700", anchor=(1.0, -0.3))
        self.score_plot.addItem(self.best_text)

        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setPlaceholderText("the run's log")

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(head)
        top_layout.addLayout(grid)
        top_layout.addLayout(bars)
        top_layout.addWidget(self.plots, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.log)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    # ------------------------------------------------------------------ state
    def reset(
        self, title: str = "no run", batch_size: int | None = None, started_at: float | None = None
    ) -> None:
        """Forget the shown run; ``batch_size`` turns samples/s into steps/s, ``started_at`` (seconds since
        the epoch) is when the running invocation began (default: now)."""
        self.title.setText(title)
        self.batch_size = batch_size
        self.started_at = started_at if started_at is not None else time.time()
        self.start: ev.Start | None = None
        self.steps: dict[int, ev.Step] = {}
        self.evals: dict[int, ev.Eval] = {}
        self.last_step: ev.Step | None = None
        self.end: ev.End | None = None
        self.log.clear()
        for label in self.stats.values():
            label.setText("–")
        self.stage_bar.setValue(0)
        self.stage_bar.setFormat("%p%")
        self.run_bar.setValue(0)
        self.run_bar.setFormat("run %p%")
        self.refresh()

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(line)

    def feed(self, event: ev.TrainEvent) -> None:
        """Take the next event of the shown run."""
        if isinstance(event, ev.Start):
            self.start = event
            self.started_at = time.time() if self.started_at is None else self.started_at
            self.stats["device"].setText(event.device or "(not reported)")
            self._run_progress(event.step)
        elif isinstance(event, ev.Features):
            self.stage_bar.setRange(0, max(event.total, 1))
            self.stage_bar.setValue(event.done)
            self.stage_bar.setFormat(f"caching features {event.done}/{event.total}")
        elif isinstance(event, ev.Step):
            self.steps[event.step] = event
            self.last_step = event
            self.stage_bar.setRange(0, max(event.batches, 1))
            self.stage_bar.setValue(event.batch)
            self.stage_bar.setFormat(f"epoch {event.epoch + 1}: batch {event.batch}/{event.batches}")
            self._run_progress(event.step)
            self._speed(event)
        elif isinstance(event, ev.Eval) and not isinstance(event, ev.EvalTest):
            self.evals[event.step] = event
            if event.seconds is not None:
                self.stats["elapsed"].setText(_duration(event.seconds))
            self.refresh()
            return
        elif isinstance(event, ev.Message):
            self.append_log(event.text)
        elif isinstance(event, ev.End):
            self.end = event
            self.stats["elapsed"].setText(_duration(event.seconds))
            self.stats["time left"].setText("0:00" if event.finished else "–")
        if not self._redraw.isActive():
            self._redraw.start()

    def _run_progress(self, step: int) -> None:
        if self.start is None:
            return
        total = self.start.epochs * max(self.start.steps_per_epoch, 1)
        self.run_bar.setRange(0, max(total, 1))
        self.run_bar.setValue(min(step, total))
        self.run_bar.setFormat(f"step {step}/{total} (%p%)")
        self.stats["step"].setText(f"{step} of {total}")

    def _speed(self, step: ev.Step) -> None:
        self.stats["epoch"].setText(
            f"{step.epoch + 1} of {self.start.epochs}" if self.start else str(step.epoch + 1)
        )
        self.stats["samples/s"].setText(f"{step.samples_per_s:.1f}")
        steps_per_s = step.samples_per_s / self.batch_size if self.batch_size else None
        self.stats["steps/s"].setText("–" if steps_per_s is None else f"{steps_per_s:.3f}")
        self.stats["elapsed"].setText(_duration(time.time() - self.started_at))
        if self.start is not None and steps_per_s:
            left = self.start.epochs * self.start.steps_per_epoch - step.step
            self.stats["time left"].setText(_duration(max(left, 0) / steps_per_s))

    # ------------------------------------------------------------------ drawing
    def x_of_step(self, step: ev.Step) -> float:
        if self.axis_combo.currentText() == "epoch":
            return step.epoch + step.batch / max(step.batches, 1)
        return float(step.step)

    def x_of_eval(self, row: ev.Eval) -> float:
        return float(row.epoch if self.axis_combo.currentText() == "epoch" else row.step)

    def refresh(self) -> None:
        """Draw the curves from the events taken so far."""
        steps = [self.steps[s] for s in sorted(self.steps)]
        evals = [self.evals[s] for s in sorted(self.evals)]
        xs = np.array([self.x_of_step(s) for s in steps], dtype=float)
        self.curves["loss"].setData(xs, np.array([s.loss for s in steps], dtype=float))
        rates = np.array([s.lr for s in steps], dtype=float)
        self.curves["lr"].setData(xs, rates)
        top = float(np.nanmax(rates)) if rates.size and np.isfinite(rates).any() else 0.0
        if top > 0.0:
            # from 0 to just above the largest rate: pyqtgraph pads a constant curve by ±0.4 around it,
            # which puts a rate of 1e-4 on the zero line
            self.lr_plot.setYRange(0.0, 1.1 * top, padding=0.0)
        else:
            self.lr_plot.enableAutoRange(axis="y")
        xe = np.array([self.x_of_eval(e) for e in evals], dtype=float)
        for name in ("train_loss", "val_loss", *SCORES, "LE"):
            values = [getattr(e, name) for e in evals]
            self.curves[name].setData(xe, np.array([np.nan if v is None else v for v in values], dtype=float))
        best = self.best()
        if best is None:
            self.best_marker.setData([], [])
            self.best_text.setText("")
            self.stats["best SELD"].setText("–")
        else:
            x = self.x_of_eval(best)
            self.best_marker.setData([x], [best.SELD])
            self.best_text.setText(f"best {best.SELD:.3f}")
            self.best_text.setPos(x, best.SELD)
            self.stats["best SELD"].setText(f"{best.SELD:.4f} at step {best.step} (epoch {best.epoch})")

    def best(self) -> ev.Eval | None:
        """The evaluation with the lowest validation SELD (the first of equals, as the trainer keeps it)."""
        best = None
        for step in sorted(self.evals):
            row = self.evals[step]
            if row.SELD is not None and np.isfinite(row.SELD) and (best is None or row.SELD < best.SELD):
                best = row
        return best
