"""What a training run reports: one schema of typed events (``docs/EVENTS.md``).

The trainer yields these events (:meth:`core.training.trainer.Trainer.events`), appends each
to the run folder's ``events.jsonl`` and hands it to ``on_event``; ``seld train --progress
jsonl`` prints the same JSON lines on stdout. One JSON object per line::

    {"event": "step", "schema": 1, "epoch": 0, "step": 1, "batch": 1, "batches": 3, ...}

``event`` names the kind (:attr:`TrainEvent.kind`), ``schema`` is :data:`SCHEMA_VERSION`,
the other keys are the dataclass's fields, with the same names and meaning in Python and
JSON. A reader skips a kind it does not know and a line of a newer schema
(:func:`event_from_dict` returns ``None``) and ignores a field it does not know; a field is
only added with a default (so older lines still read), never renamed or given another
meaning, without a new schema version.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from core.common.progress import Progress

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "End",
    "Eval",
    "EvalTest",
    "Features",
    "Message",
    "Start",
    "Step",
    "Test",
    "TrainEvent",
    "event_from_dict",
    "event_from_json",
]

SCHEMA_VERSION = 1
"""The version of the event schema written in every line (``"schema"``)."""


@dataclass(frozen=True)
class TrainEvent:
    """Base of the training events: ``kind`` is the ``"event"`` value of its JSON line."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, "schema": SCHEMA_VERSION, **asdict(self)}

    def to_json(self) -> str:
        """One line of JSON (no newline); non-finite numbers are written as ``null``."""
        return json.dumps(_finite(self.to_dict()), allow_nan=False)


@dataclass(frozen=True)
class Start(TrainEvent):
    """The training loop starts (or goes on after a resume) at ``epoch``/``step``, on ``device``
    (the torch device it actually uses, e.g. ``"cpu"`` or ``"cuda:0"``; ``""`` in lines written
    before the field was added)."""

    kind: ClassVar[str] = "start"
    epochs: int
    steps_per_epoch: int
    step: int
    epoch: int
    device: str = ""


@dataclass(frozen=True)
class Features(TrainEvent):
    """The features of ``done`` of ``total`` recordings are cached; ``name`` is the one just done."""

    kind: ClassVar[str] = "features"
    done: int
    total: int
    name: str

    @property
    def progress(self) -> Progress:
        return Progress(self.done, self.total, self.name)


@dataclass(frozen=True)
class Step(TrainEvent):
    """An optimizer step: ``batch`` of ``batches`` of epoch ``epoch`` (from 0), ``step`` in the whole run."""

    kind: ClassVar[str] = "step"
    epoch: int
    step: int
    batch: int
    batches: int
    loss: float
    sed_loss: float
    doa_loss: float
    lr: float
    samples_per_s: float

    @property
    def progress(self) -> Progress:
        return Progress(self.batch, self.batches, "training")


@dataclass(frozen=True)
class Eval(TrainEvent):
    """A validation evaluation after ``epoch`` epochs: the row appended to ``metrics.csv``."""

    kind: ClassVar[str] = "eval"
    epoch: int
    step: int
    train_loss: float
    val_loss: float
    ER: float
    F: float
    LE: float
    LR: float
    SELD: float
    lr: float
    seconds: float


@dataclass(frozen=True)
class EvalTest(Eval):
    """The test folds scored at the same moment (``optim.eval_test_every_time``): the row of
    ``test_metrics.csv`` (``val_loss`` holds the test loss there, as in the file)."""

    kind: ClassVar[str] = "eval_test"


@dataclass(frozen=True)
class Test(TrainEvent):
    """The test folds scored with the best snapshot once the run has finished."""

    kind: ClassVar[str] = "test"
    loss: float
    ER: float
    F: float
    LE: float
    LR: float
    SELD: float
    split: str = "test"


@dataclass(frozen=True)
class End(TrainEvent):
    """The invocation ended normally (finished or stopped); the fields are ``summary.json``'s."""

    kind: ClassVar[str] = "end"
    finished: bool
    stopped: bool
    epoch: int
    step: int
    best_seld: float | None
    best_epoch: int
    seconds: float
    test: dict[str, Any] | None = None


@dataclass(frozen=True)
class Message(TrainEvent):
    """A line of ``train.log`` (what the run did: resumed, repaired, warned, ...)."""

    kind: ClassVar[str] = "message"
    text: str


EVENT_TYPES: dict[str, type[TrainEvent]] = {
    cls.kind: cls for cls in (Start, Features, Step, Eval, EvalTest, Test, End, Message)
}
"""Every event kind of :data:`SCHEMA_VERSION`, by its ``"event"`` name."""


def event_from_dict(d: Any) -> TrainEvent | None:
    """The event of a parsed JSON line; ``None`` for an unknown kind, a newer schema or missing fields."""
    if not isinstance(d, dict):
        return None
    cls = EVENT_TYPES.get(d.get("event"))  # type: ignore[arg-type]
    schema = d.get("schema", 1)
    if cls is None or not isinstance(schema, int) or schema > SCHEMA_VERSION:
        return None
    names = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in d.items() if k in names})
    except TypeError:  # a required field is missing
        return None


def event_from_json(line: str) -> TrainEvent | None:
    """:func:`event_from_dict` of one line; ``None`` for a line that is not a JSON object (a torn last line)."""
    try:
        return event_from_dict(json.loads(line))
    except ValueError:
        return None


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None`` (JSON has no such numbers)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
