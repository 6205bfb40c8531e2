"""Autosave of unsaved annotations, and recovery after a crash.

While an annotation has unsaved changes the GUI writes it every minute to a *sidecar*
file beside its label file (``scene.csv`` -> ``scene.seld-autosave.json``; beside the
recording when the labels have no file yet). Where that folder cannot be written (a
read-only dataset), the autosave goes into the index folder (the application's data
folder) instead. The index folder always gets a small pointer to the sidecar, so that the
next start finds every autosave without searching the disk. Saving the labels or
discarding the changes removes both; an autosave still there at the next start is work a
crash or kill interrupted, and the application offers to restore it.

The file keeps the keyframes themselves (not only per-frame rows), the format, the class
set (its name and its class names) and the label file the annotation belongs to. It is
written atomically, like every file the user owns.

Reading it back trusts nothing (the file may be damaged, cut, hand-edited or not ours):

* the file must be a regular file of at most :data:`MAX_FILE_BYTES`, UTF-8 JSON nested no
  deeper than the interpreter allows, with no key twice in one object;
* every field has a strict type: an integer field takes a JSON integer or an integral
  number (``3.0``), never ``1.7``, ``true``, ``NaN``, ``Infinity`` or ``1e400``;
* an event must end inside the recording (probed from its header when it can be read;
  else within :data:`MAX_EVENT_FRAMES`), and all events together may span at most
  :data:`MAX_TOTAL_FRAMES` frames, so turning them into per-frame directions never
  allocates by a number taken from the file;
* every event passes the checks a save runs (:func:`core.annotation.checks.event_problems`:
  class index inside the autosave's class set, azimuth and elevation in range and not NaN,
  distance finite and not negative, keyframes sorted, unique and inside the event), and no
  two events share an id.

A damaged file (not readable, not JSON, not an autosave, a bad header field) is refused
as a whole with a message naming it; a damaged *event* is refused by name (its position,
id, field and value) while the other events are restored (:attr:`Autosave.refused`).
Nothing the user made is deleted on the way: :func:`pending_autosaves` only reads
(except dropping an index pointer whose sidecar is gone from a folder that is still
there: a pointer holds no work), and :func:`remove_autosave` renames a file that is not a
fully readable autosave aside (:func:`keep_aside`) instead of deleting it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from core.annotation.checks import event_problems
from core.annotation.document import Annotation, AnnotationEvent, Keyframe
from core.common.atomic import atomic_write_text
from core.common.errors import LabelError, SeldError, quote_field
from core.common.timebase import nearest_boundary
from core.labels.classes import ClassSet, custom, get_class_set

VERSION = 1
SUFFIX = ".seld-autosave.json"
KEPT_INFIX = ".seld-autosave-damaged-"
"""``scene.seld-autosave.json`` kept aside is ``scene.seld-autosave-damaged-<time>.json``."""

MAX_FILE_BYTES = 64 * 2**20
"""The largest autosave read (about a million keyframes); a larger file is refused unread."""
MAX_EVENT_FRAMES = 24 * 3600 * 10
"""The last frame an event may end at (24 hours) when the recording's length cannot be read."""
MAX_TOTAL_FRAMES = 10_000_000
"""All restored events together span at most this many 100 ms frames (about 116 days)."""
MAX_TEXT_CHARS = 4096
"""The longest path, format or class-set string an autosave may hold."""
MAX_CLASSES = 1024
MAX_CLASS_NAME_CHARS = 200
MAX_INDEX = 2**31 - 1
"""Ids, classes, tracks and frames are at most this (like a label file's)."""
MAX_SAVED_AT = 32_503_680_000.0
"""``saved_at`` (seconds since 1970) is before the year 3000."""
MAX_REFUSED_MESSAGES = 50
"""At most this many refused events are described (:attr:`Autosave.n_refused` counts all)."""

_MAX_INT_DIGITS = 30
_EVENT_KEYS = ("id", "class", "track", "start", "end", "keyframes")
_HEADER_KEYS = ("recording", "labels", "format", "classes", "saved_at", "events")


@dataclass
class Autosave:
    """What an autosave file holds (the events that passed every check)."""

    path: Path
    recording: str
    labels: str | None
    fmt: str
    classes: str
    saved_at: float
    annotation: Annotation
    class_set: ClassSet | None = None
    """The class set the events were checked against (``None``: an older autosave of a set
    that cannot be looked up by name; class indices were then only checked to be >= 0)."""
    refused: tuple[str, ...] = ()
    """A message per event that was not restored (the first :data:`MAX_REFUSED_MESSAGES`)."""
    n_refused: int = 0
    n_events: int = 0
    """Events in the file (restored and refused)."""
    entry: Path | None = None
    """The index entry (a pointer) this autosave was found through, if any."""
    n_frames: int | None = None
    """The recording's length in label frames, when its header could be read."""


class _Refused(Exception):
    """A field or an event that fails a check (the message names it)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _Dangling(Exception):
    """An index pointer whose sidecar is gone from a folder that is still there."""


def index_path(folder: str | os.PathLike[str], recording: str | os.PathLike[str]) -> Path:
    """The index entry of ``recording`` in ``folder`` (named by a hash of its absolute path)."""
    key = hashlib.sha1(str(Path(recording).absolute()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return Path(folder) / f"{Path(recording).stem}-{key}{SUFFIX}"


def sidecar_path(recording: str | os.PathLike[str], labels: str | os.PathLike[str] | None) -> Path:
    """The sidecar autosave beside the label file (or, without one, beside the recording)."""
    base = Path(labels if labels else recording).absolute()
    return base.with_name(base.stem + SUFFIX)


# --------------------------------------------------------------------------- writing


def _event_json(e: AnnotationEvent) -> dict:
    return {
        "id": e.id,
        "class": e.cls,
        "track": e.track,
        "start": e.start,
        "end": e.end,
        "keyframes": [[k.frame, k.azimuth, k.elevation, k.distance] for k in e.keyframes],
    }


def write_autosave(
    folder: str | os.PathLike[str],
    recording: str | os.PathLike[str],
    doc: Annotation,
    classes: ClassSet | str,
) -> Path:
    """Write ``doc`` (the annotation of ``recording``) to its sidecar, or into ``folder``; atomically.

    ``classes`` is the class set of the events (a :class:`ClassSet`, whose names are kept
    so that a custom set can be checked on restore, or the name of a known set). Returns
    where the autosave is. ``folder`` (the index) gets a pointer to a sidecar.
    """
    data = {
        "seld_autosave": VERSION,
        "recording": str(Path(recording).absolute()),
        "labels": doc.path,
        "format": doc.fmt,
        "classes": classes.name if isinstance(classes, ClassSet) else str(classes),
        "saved_at": time.time(),
        "events": [_event_json(e) for e in doc.snapshot()],
    }
    if isinstance(classes, ClassSet):
        data["class_names"] = list(classes.names)
    text = json.dumps(data, indent=1)
    entry = index_path(folder, recording)
    sidecar = sidecar_path(recording, doc.path)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise LabelError(
            f"the annotation is too large to autosave ({size / 2**20:.0f} MiB, at most "
            f"{MAX_FILE_BYTES // 2**20} MiB); save the labels instead",
            str(sidecar),
        )
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        try:
            atomic_write_text(sidecar, text)
        except OSError:  # a read-only dataset folder: keep the whole autosave in the index
            atomic_write_text(entry, text)
            return entry
        atomic_write_text(entry, json.dumps({"seld_autosave_pointer": VERSION, "path": str(sidecar)}))
    except OSError as err:
        raise LabelError(f"cannot write the autosave file: {err.strerror or err}", str(entry)) from err
    return sidecar


# --------------------------------------------------------------------------- reading: bytes and JSON


def _read_text(path: Path) -> str:
    """The text of a regular file of at most :data:`MAX_FILE_BYTES`; anything else is a LabelError."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: a named pipe must not hang the start
    except FileNotFoundError:
        raise LabelError("is not there", path) from None
    except IsADirectoryError:
        raise LabelError("is a folder, not an autosave file", path) from None
    except (OSError, ValueError) as err:
        raise LabelError(f"cannot be read ({getattr(err, 'strerror', None) or err})", path) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise LabelError("is a folder, not an autosave file", path)
        if not stat.S_ISREG(info.st_mode):
            raise LabelError("is not a regular file (a device, pipe or socket)", path)
        if info.st_size > MAX_FILE_BYTES:
            raise LabelError(_too_large(info.st_size), path)
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise LabelError(f"cannot be read ({err.strerror or err})", path) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise LabelError(_too_large(len(data)), path)
    if not data.strip():
        raise LabelError("is empty, not an autosave file", path)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data:
        raise LabelError("is not UTF-8 text (UTF-16 or binary data); an autosave is UTF-8 JSON", path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise LabelError(
            f"is not UTF-8 text (the byte at offset {err.start} is not valid UTF-8)", path
        ) from None


def _too_large(size: int) -> str:
    return f"is {size} bytes, larger than an autosave may be ({MAX_FILE_BYTES} bytes); not read"


class _LongInt:
    """An integer with too many digits to convert (shown by its length, never converted)."""

    def __init__(self, digits: str):
        self.n_digits = len(digits.lstrip("-"))


def _parse_int(text: str) -> int | _LongInt:
    return int(text) if len(text) <= _MAX_INT_DIGITS else _LongInt(text)


def _object(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"has the key {quote_field(key)} twice in one object")
        out[key] = value
    return out


def _parse(text: str, path: Path):
    """JSON with no key repeated; NaN and infinities are parsed as floats and refused field by field."""
    try:
        return json.loads(text, parse_int=_parse_int, object_pairs_hook=_object)
    except RecursionError:
        raise LabelError("is nested too deeply to be an autosave file", path) from None
    except _Refused as err:
        raise LabelError(err.message, path) from None
    except json.JSONDecodeError as err:
        raise LabelError(
            f"is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})", path
        ) from None
    except ValueError as err:
        raise LabelError(f"is not valid JSON ({err})", path) from None


# --------------------------------------------------------------------------- reading: fields


def _show(value: object) -> str:
    """A value from the file as a message shows it (strings quoted and cut)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, _LongInt):
        return f"a {value.n_digits}-digit number"
    if isinstance(value, str):
        return quote_field(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return type(value).__name__


def _integer(value: object, what: str, low: int = 0, high: int = MAX_INDEX) -> int:
    """A JSON integer, or an integral finite number, in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, _LongInt)):
        raise _Refused(f"{what} must be an integer, not {_show(value)}")
    if isinstance(value, _LongInt):
        raise _Refused(f"{what} is {_show(value)}, out of range ({low} to {high})")
    if isinstance(value, float):
        if not math.isfinite(value):
            beyond = " (or a number beyond 1.8e308, which reads as Infinity)" if math.isinf(value) else ""
            raise _Refused(f"{what} is {_show(value)}{beyond}, not a finite number")
        if not value.is_integer():
            raise _Refused(f"{what} {value!r} is not an integer")
        value = int(value)
    if not low <= value <= high:
        raise _Refused(f"{what} {value} is out of range ({low} to {high})")
    return value


def _number(value: object, what: str) -> float:
    """A JSON number (its range is checked by the save's checks, which also refuse NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, _LongInt):
            raise _Refused(f"{what} is {_show(value)}, not a direction or distance")
        raise _Refused(f"{what} must be a number, not {_show(value)}")
    return float(value)


def _text(value: object, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise _Refused(f"{what} must be a string, not {_show(value)}")
    if not value:
        raise _Refused(f"{what} is empty")
    if len(value) > limit:
        raise _Refused(f"{what} {_show(value)} is longer than {limit} characters")
    if "\x00" in value:
        raise _Refused(f"{what} {_show(value)} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(f"{what} {_show(value)} is not valid text (a lone surrogate)") from None
    return value


def _class_set(name: str, names: object) -> ClassSet | None:
    if names is not None:
        if not isinstance(names, list) or not 1 <= len(names) <= MAX_CLASSES:
            raise _Refused(
                f"class_names must be a list of 1 to {MAX_CLASSES} class names, not {_show(names)}"
            )
        checked = [_text(n, f"class name {i + 1}", MAX_CLASS_NAME_CHARS) for i, n in enumerate(names)]
        try:
            return custom(checked, name)
        except SeldError as err:
            raise _Refused(f"class_names: {err.problem}") from None
    try:
        return get_class_set(name)
    except SeldError:
        return None  # an older autosave of a custom set: only its name was kept


def _recording_frames(recording: str) -> int | None:
    """The recording's length in label frames from its header (``None`` when it cannot be read)."""
    try:
        if not stat.S_ISREG(os.stat(recording).st_mode):
            return None  # a pipe or device must not be opened
        from core.io.audio import probe

        duration = probe(recording).duration_s
    except Exception:  # noqa: BLE001 - an unreadable recording only means the length is unknown
        return None
    if not (math.isfinite(duration) and duration > 0):
        return None
    # the window counts round(duration / hop) frames; the margin absorbs resampling's rounding
    return nearest_boundary(duration)


def _keyframes(value: object, where: str, start: int, end: int) -> tuple[Keyframe, ...]:
    if not isinstance(value, list) or not value:
        raise _Refused(f"{where}: keyframes must be a non-empty list, not {_show(value)}")
    if len(value) > end - start:
        raise _Refused(f"{where}: {len(value)} keyframes for an event of {end - start} frames")
    keys: list[Keyframe] = []
    for j, k in enumerate(value, 1):
        what = f"{where}: keyframe {j}"
        if not isinstance(k, list) or len(k) != 4:
            raise _Refused(f"{what} must be [frame, azimuth, elevation, distance or null], not {_show(k)}")
        frame = _integer(k[0], f"{what}: frame")
        if not start <= frame < end:
            raise _Refused(f"{what}: frame {frame} is outside the event [{start}, {end})")
        if keys and frame <= keys[-1].frame:
            raise _Refused(
                f"{what}: frame {frame} does not come after the previous keyframe's {keys[-1].frame}"
            )
        azimuth = _number(k[1], f"{what}: azimuth")
        elevation = _number(k[2], f"{what}: elevation")
        distance = None if k[3] is None else _number(k[3], f"{what}: distance")
        keys.append(Keyframe(frame, azimuth, elevation, distance))
    return tuple(keys)


def _event(item: object, index: int, classes: ClassSet | None, n_frames: int | None) -> AnnotationEvent:
    """Event ``index`` (1-based) of the file, every field checked; a :class:`_Refused` names the problem."""
    where = f"event #{index}"
    if not isinstance(item, dict):
        raise _Refused(f"{where} is {_show(item)}, not an object")
    missing = [k for k in _EVENT_KEYS if k not in item]
    if missing:
        raise _Refused(f"{where} lacks {', '.join(missing)}")
    event_id = _integer(item["id"], f"{where}: id")
    where = f"event #{index} (id {event_id})"
    cls = _integer(item["class"], f"{where}: class")
    track = _integer(item["track"], f"{where}: track")
    start = _integer(item["start"], f"{where}: start")
    end = _integer(item["end"], f"{where}: end")
    if end <= start:
        raise _Refused(f"{where}: end {end} is not after start {start}")
    if n_frames is None and end > MAX_EVENT_FRAMES:
        raise _Refused(
            f"{where}: end {end} is past {MAX_EVENT_FRAMES} frames (24 hours), the most an event may "
            "span when the recording cannot be read"
        )
    keys = _keyframes(item["keyframes"], where, start, end)
    try:
        event = AnnotationEvent(event_id, cls, track, start, end, keys)
    except ValueError as err:  # the checks above should have caught it; never trust
        raise _Refused(f"{where}: {err}") from None
    problems = event_problems(event, classes, n_frames)
    if problems:
        raise _Refused(f"{where}: " + "; ".join(p.message for p in problems[:3]))
    return event


def _document(data: object, path: Path) -> Autosave:
    """An :class:`Autosave` from parsed JSON; header damage is a LabelError, event damage is listed."""
    if not isinstance(data, dict):
        raise LabelError(
            f"is not a SELD Studio autosave file (its JSON is {_show(data)}, not an object)", path
        )
    if "seld_autosave" not in data:
        raise LabelError('is not a SELD Studio autosave file (no "seld_autosave" version)', path)
    try:
        version = _integer(data["seld_autosave"], "the version", 0)
        if version != VERSION:
            raise _Refused(
                f"is a version {version} autosave; this SELD Studio reads version {VERSION} (a newer release wrote it?)"
            )
        missing = [k for k in _HEADER_KEYS if k not in data]
        if missing:
            raise _Refused(f"is a damaged autosave: it lacks {', '.join(missing)}")
        recording = _text(data["recording"], "recording")
        if not os.path.isabs(recording):
            raise _Refused(f"recording {_show(recording)} is not an absolute path")
        labels = None if data["labels"] is None else _text(data["labels"], "labels")
        fmt = _text(data["format"], "format")
        from core.labels.dcase_csv import FORMATS

        if fmt not in FORMATS:
            raise _Refused(f"format {_show(fmt)} is not a label format ({', '.join(FORMATS)})")
        classes = _text(data["classes"], "classes")
        class_set = _class_set(classes, data.get("class_names"))
        saved_at = data["saved_at"]
        if isinstance(saved_at, bool) or not isinstance(saved_at, (int, float)):
            raise _Refused(f"saved_at must be a number, not {_show(saved_at)}")
        if not 0 <= saved_at <= MAX_SAVED_AT:  # NaN fails too
            raise _Refused(f"saved_at {_show(saved_at)} is not a time between 1970 and 3000")
        events = data["events"]
        if not isinstance(events, list):
            raise _Refused(f"events must be a list, not {_show(events)}")
    except _Refused as err:
        raise LabelError(err.message, path) from None
    n_frames = _recording_frames(recording)
    good: list[AnnotationEvent] = []
    refused: list[str] = []
    n_refused = 0
    taken: dict[int, int] = {}
    total = 0
    for index, item in enumerate(events, 1):
        try:
            event = _event(item, index, class_set, n_frames)
            if event.id in taken:
                raise _Refused(f"event #{index} (id {event.id}): the id is taken by event #{taken[event.id]}")
            span = event.end - event.start
            if total + span > MAX_TOTAL_FRAMES:
                raise _Refused(
                    f"event #{index} (id {event.id}): the events together would span more than "
                    f"{MAX_TOTAL_FRAMES} frames"
                )
        except _Refused as err:
            n_refused += 1
            if len(refused) < MAX_REFUSED_MESSAGES:
                refused.append(err.message)
            continue
        taken[event.id] = index
        total += span
        good.append(event)
    if events and not good:
        more = f" (and {n_refused - 1} more)" if n_refused > 1 else ""
        which = "its only event cannot" if len(events) == 1 else f"none of its {len(events)} events can"
        raise LabelError(f"{which} be restored: {refused[0]}{more}", path)
    doc = Annotation(good, fmt=fmt, path=labels)
    doc.loaded = True
    return Autosave(
        path,
        recording,
        labels,
        fmt,
        classes,
        float(saved_at),
        doc,
        class_set=class_set,
        refused=tuple(refused),
        n_refused=n_refused,
        n_events=len(events),
        n_frames=n_frames,
    )


def _is_pointer(data: object) -> bool:
    return isinstance(data, dict) and "seld_autosave_pointer" in data


def _pointer_target(data: dict, entry: Path) -> Path:
    """The sidecar an index pointer names, checked; :class:`_Dangling` when it is simply gone."""
    try:
        version = _integer(data["seld_autosave_pointer"], "the pointer version", 0)
        if version != VERSION:
            raise _Refused(
                f"is a version {version} autosave pointer; this SELD Studio reads version {VERSION}"
            )
        if "path" not in data:
            raise _Refused('is an autosave pointer without a "path"')
        text = _text(data["path"], "the pointer's path")
    except _Refused as err:
        raise LabelError(err.message, entry) from None
    target = Path(text)
    if not target.is_absolute():
        raise LabelError(f"points to {quote_field(text)}, which is not an absolute path", entry)
    if not target.name.endswith(SUFFIX):
        raise LabelError(f"points to {quote_field(text)}, which is not an autosave file ({SUFFIX})", entry)
    try:
        same = os.path.lexists(target) and os.path.samefile(target, entry)
    except OSError:
        same = False
    if same or os.path.abspath(target) == os.path.abspath(entry):
        raise LabelError("is an autosave pointer that points to itself", entry)
    if not os.path.lexists(target):
        if os.path.isdir(target.parent):
            raise _Dangling()
        raise LabelError(
            f"points to {target}, whose folder is not there (moved, or on a drive that is not "
            "mounted?); the pointer is kept for when it is back",
            entry,
        )
    return target


def _read_entry(entry: Path) -> Autosave:
    data = _parse(_read_text(entry), entry)
    if not _is_pointer(data):
        return _document(data, entry)
    target = _pointer_target(data, entry)
    try:
        inner = _parse(_read_text(target), target)
        if _is_pointer(inner):
            raise LabelError("is another autosave pointer, not an autosave (a pointer chain or loop)", target)
        saved = _document(inner, target)
    except LabelError as err:
        raise LabelError(f"{err.problem} (the autosave index entry {entry} points to it)", target) from None
    saved.entry = entry
    return saved


def read_autosave(path: str | os.PathLike[str]) -> Autosave:
    """Read an autosave file (or follow an index pointer to one); damage is a :class:`LabelError`.

    Events that fail a check are left out and described in :attr:`Autosave.refused`; when
    no event passes (and there were some), the whole file is refused.
    """
    path = Path(path)
    try:
        return _read_entry(path)
    except _Dangling:
        raise LabelError("is an autosave pointer to a sidecar that is gone", path) from None


def pending_autosaves(folder: str | os.PathLike[str]) -> tuple[list[Autosave], list[str]]:
    """Autosaves left in ``folder`` (newest first) and a message for each damaged one.

    Never raises, whatever the files hold. A message names the damaged file (for an index
    pointer, the pointer or the sidecar it points to, and both when the sidecar is the
    damaged one). Damaged files are left as they are; only an index pointer whose sidecar
    is gone from a folder that still exists is removed.
    """
    found: list[Autosave] = []
    damaged: list[str] = []
    seen: set[str] = set()
    try:
        folder = Path(folder)
        if not folder.is_dir():
            return [], []
        entries = sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))
    except (OSError, ValueError) as err:
        return [], [f"{folder}: the autosave folder cannot be read ({err})"]
    for p in entries:
        try:
            saved = _read_entry(p)
        except _Dangling:
            with contextlib.suppress(OSError):
                p.unlink()  # its sidecar was removed (saved or discarded elsewhere): nothing to restore
            continue
        except LabelError as err:
            damaged.append(str(err))
            continue
        except Exception as err:  # noqa: BLE001 - a start-up must never fail on a file's content
            damaged.append(f"{p}: cannot be read as an autosave ({type(err).__name__}: {err})")
            continue
        key = os.path.normcase(os.path.abspath(saved.path))
        if key not in seen:
            seen.add(key)
            found.append(saved)
    found.sort(key=lambda a: a.saved_at, reverse=True)
    return found, damaged


# --------------------------------------------------------------------------- removing and keeping aside


def keep_aside(path: str | os.PathLike[str]) -> Path:
    """Rename an autosave to ``<name>.seld-autosave-damaged-<time>.json`` beside it; return the new path.

    No start-up looks for that name, and nothing ever deletes it: it is the user's to
    inspect, repair or delete. Raises :class:`LabelError` when it cannot be renamed.
    """
    p = Path(path)
    base = p.name[: -len(SUFFIX)] if p.name.endswith(SUFFIX) else p.name
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        new = p.with_name(f"{base}{KEPT_INFIX}{stamp}{'' if n == 0 else f'-{n}'}.json")
        if os.path.lexists(new):
            continue
        try:
            try:
                os.link(p, new)  # never replaces an existing file
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links
                os.rename(p, new)
                return new
            os.unlink(p)
            return new
        except OSError as err:
            raise LabelError(
                f"cannot keep the autosave aside as {new.name}: {err.strerror or err}", p
            ) from None
    raise LabelError("cannot keep the autosave aside: too many kept copies with this name", p)


def _fully_readable(path: Path) -> bool:
    """``True`` for a readable pointer, or an autosave every event of which passes the checks."""
    try:
        data = _parse(_read_text(path), path)
        if _is_pointer(data):
            return True  # a pointer holds no work
        return _document(data, path).n_refused == 0
    except Exception:  # noqa: BLE001 - anything unreadable is kept, never deleted
        return False


def _discard(path: Path, kept: list[Path]) -> None:
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return
    if not (path.name.endswith(SUFFIX) and stat.S_ISREG(info.st_mode)):
        return  # not an autosave file of ours (a folder, a link, another name): never deleted
    if _fully_readable(path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    with contextlib.suppress(LabelError):
        kept.append(keep_aside(path))


def remove_autosave(
    folder: str | os.PathLike[str],
    recording: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Delete the autosave of ``recording`` (its index entry and the sidecar it points to).

    A file there that is not a fully readable autosave (damaged, or with events a restore
    refused) is not deleted but renamed aside (:func:`keep_aside`); the new names are
    returned. Only files named ``*.seld-autosave.json`` are ever touched. Errors are
    swallowed: what cannot be removed stays.
    """
    entry = index_path(folder, recording)
    targets: list[Path] = []
    try:
        data = _parse(_read_text(entry), entry)
        if _is_pointer(data):
            targets.append(_pointer_target(data, entry))
    except (LabelError, _Dangling):
        pass
    except Exception:  # noqa: BLE001 - removal is best effort, never a crash
        pass
    targets.append(sidecar_path(recording, labels))
    kept: list[Path] = []
    done: set[str] = set()
    for p in [*targets, entry]:
        key = os.path.abspath(p)
        if key not in done:
            done.add(key)
            _discard(Path(p), kept)
    return kept
