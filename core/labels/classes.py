"""Sound event class sets of the DCASE SELD datasets.

A label file stores a class as an integer index; a :class:`ClassSet` says which index
means which sound. Every set keeps the human-readable names in the dataset's own order
(index ``i`` is ``names[i]``) and also offers snake-case short ids (``"crying_baby"``)
for file names, command lines and config keys.

Known sets:

* :data:`DCASE2020` - TAU-NIGENS Spatial Sound Events 2020 (DCASE 2020 Task 3), 14 classes.
* :data:`DCASE2021` - TAU-NIGENS Spatial Sound Events 2021 (DCASE 2021 Task 3), 12 classes
  (the 2020 list without "running engine" and "burning fire").
* :data:`STARSS23` - STARSS22 / STARSS23 (DCASE 2022-2024 Task 3), 13 classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from core.common.errors import SeldError


def snake_id(name: str) -> str:
    """Short snake-case id of a class name: ``"door open/close"`` -> ``"door_open_close"``."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class ClassSet:
    """An ordered list of sound event classes; the position of a name is its class index."""

    name: str
    names: tuple[str, ...]
    ids: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        if not names:
            raise SeldError(f"class set {self.name!r} has no classes")
        ids = tuple(snake_id(n) for n in names)
        if any(not i for i in ids):
            raise SeldError(f"class set {self.name!r} has an empty class name")
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise SeldError(f"class set {self.name!r} names the class {dup!r} twice")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "ids", ids)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> str:
        """Human name of class ``index`` (negative indices are refused)."""
        if not isinstance(index, int) or index < 0 or index >= len(self.names):
            raise IndexError(f"class index {index!r} is outside {self.name!r} (0-{len(self.names) - 1})")
        return self.names[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and snake_id(name) in self.ids

    def index(self, name: str) -> int:
        """Class index of ``name``; accepts the human name or the snake-case id, any case."""
        key = snake_id(name)
        try:
            return self.ids.index(key)
        except ValueError:
            raise SeldError(
                f"unknown class {name!r} in class set {self.name!r} (known: {', '.join(self.names)})"
            ) from None

    def id(self, index: int) -> str:
        """Snake-case id of class ``index``."""
        self[index]  # range check
        return self.ids[index]


DCASE2020 = ClassSet(
    "dcase2020",
    (
        "alarm",
        "crying baby",
        "crash",
        "barking dog",
        "running engine",
        "female scream",
        "female speech",
        "burning fire",
        "footsteps",
        "knocking on door",
        "male scream",
        "male speech",
        "ringing phone",
        "piano",
    ),
)
"""TAU-NIGENS Spatial Sound Events 2020 (DCASE 2020 Task 3): 14 classes, indices 0-13."""

DCASE2021 = ClassSet(
    "dcase2021",
    (
        "alarm",
        "crying baby",
        "crash",
        "barking dog",
        "female scream",
        "female speech",
        "footsteps",
        "knocking on door",
        "male scream",
        "male speech",
        "ringing phone",
        "piano",
    ),
)
"""TAU-NIGENS Spatial Sound Events 2021 (DCASE 2021 Task 3): 12 classes, indices 0-11."""

STARSS23 = ClassSet(
    "starss23",
    (
        "female speech",
        "male speech",
        "clapping",
        "telephone",
        "laughter",
        "domestic sounds",
        "footsteps",
        "door open/close",
        "music",
        "musical instrument",
        "water tap",
        "bell",
        "knock",
    ),
)
"""STARSS22 / STARSS23 (DCASE 2022, 2023 and 2024 Task 3): 13 classes, indices 0-12."""

_KNOWN: dict[str, ClassSet] = {
    "dcase2020": DCASE2020,
    "tau2020": DCASE2020,
    "tau-nigens-2020": DCASE2020,
    "dcase2021": DCASE2021,
    "tau2021": DCASE2021,
    "tau-nigens-2021": DCASE2021,
    "starss": STARSS23,
    "starss22": STARSS23,
    "starss23": STARSS23,
    "dcase2022": STARSS23,
    "dcase2023": STARSS23,
    "dcase2024": STARSS23,
}


def custom(names: Iterable[str], name: str = "custom") -> ClassSet:
    """A user-defined class set; index ``i`` is the ``i``-th name given."""
    return ClassSet(name, tuple(names))


def get_class_set(name: str) -> ClassSet:
    """Look a known class set up by name (case-insensitive).

    Accepted: ``"dcase2020"`` (also ``"tau2020"``), ``"dcase2021"`` (``"tau2021"``) and
    ``"starss"`` (also ``"starss22"``, ``"starss23"``, ``"dcase2022"``-``"dcase2024"``), and
    ``"custom:name1,name2,..."`` for a user's own list.
    """
    if name.strip().lower().startswith("custom:"):
        names = [n.strip() for n in name.split(":", 1)[1].split(",") if n.strip()]
        if not names:
            raise SeldError(f"custom class set {name!r} lists no class names (use custom:name1,name2,...)")
        return custom(names)
    key = name.strip().lower().replace("_", "-")
    try:
        return _KNOWN[key]
    except KeyError:
        known = ", ".join(sorted(_KNOWN))
        raise SeldError(f"unknown class set {name!r} (known: {known})") from None
