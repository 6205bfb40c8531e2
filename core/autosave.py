"""Autosave of unsaved annotations, and recovery after a crash.

While an annotation has unsaved changes the GUI writes it every minute to one JSON file
per recording in an autosave folder (the application's data folder, because dataset
folders are often read-only). Saving the labels or closing without saving removes the
file; so a file still there at the next start is work a crash or kill interrupted, and
the application offers to restore it.

The file keeps the keyframes themselves (not only per-frame rows), the format and the
label file the annotation belongs to. It is written atomically, like every file the user
owns, and read back with every field checked: a damaged autosave is reported, never
trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from core.annotation import Annotation, AnnotationEvent, Keyframe
from core.atomic import atomic_write_text
from core.errors import LabelError

VERSION = 1
SUFFIX = ".seld-autosave.json"


@dataclass
class Autosave:
    """What an autosave file holds."""

    path: Path
    recording: str
    labels: str | None
    fmt: str
    classes: str
    saved_at: float
    annotation: Annotation


def autosave_path(folder: str | os.PathLike[str], recording: str | os.PathLike[str]) -> Path:
    """The autosave file of ``recording`` in ``folder`` (named by a hash of its absolute path)."""
    key = hashlib.sha1(str(Path(recording).absolute()).encode("utf-8")).hexdigest()[:16]
    return Path(folder) / f"{Path(recording).stem}-{key}{SUFFIX}"


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
    folder: str | os.PathLike[str], recording: str | os.PathLike[str], doc: Annotation, classes: str
) -> Path:
    """Write ``doc`` (the annotation of ``recording``) to its autosave file atomically."""
    path = autosave_path(folder, recording)
    data = {
        "seld_autosave": VERSION,
        "recording": str(Path(recording).absolute()),
        "labels": doc.path,
        "format": doc.fmt,
        "classes": classes,
        "saved_at": time.time(),
        "events": [_event_json(e) for e in doc.snapshot()],
    }
    Path(folder).mkdir(parents=True, exist_ok=True)
    try:
        atomic_write_text(path, json.dumps(data, indent=1))
    except OSError as err:
        raise LabelError(f"cannot write the autosave file: {err.strerror or err}", str(path)) from err
    return path


def read_autosave(path: str | os.PathLike[str]) -> Autosave:
    """Read an autosave file; any damage is a :class:`~core.errors.LabelError` naming it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LabelError(f"not a readable autosave file ({err})", str(path)) from None
    if not isinstance(data, dict) or data.get("seld_autosave") != VERSION:
        raise LabelError("not a SELD Studio autosave file (version 1)", str(path))
    try:
        events = []
        for item in data["events"]:
            keys = tuple(
                Keyframe(int(f), float(az), float(el), None if d is None else float(d))
                for f, az, el, d in item["keyframes"]
            )
            events.append(
                AnnotationEvent(
                    int(item["id"]),
                    int(item["class"]),
                    int(item["track"]),
                    int(item["start"]),
                    int(item["end"]),
                    keys,
                )
            )
        doc = Annotation(events, fmt=str(data["format"]), path=data["labels"])
        doc.loaded = True
        return Autosave(
            path,
            str(data["recording"]),
            data["labels"],
            str(data["format"]),
            str(data["classes"]),
            float(data["saved_at"]),
            doc,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise LabelError(f"damaged autosave file: {err}", str(path)) from None


def pending_autosaves(folder: str | os.PathLike[str]) -> tuple[list[Autosave], list[str]]:
    """Autosaves left in ``folder`` (newest first) and a message for each damaged one."""
    found, damaged = [], []
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    for p in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            found.append(read_autosave(p))
        except LabelError as err:
            damaged.append(str(err))
    found.sort(key=lambda a: a.saved_at, reverse=True)
    return found, damaged


def remove_autosave(folder: str | os.PathLike[str], recording: str | os.PathLike[str]) -> None:
    """Delete the autosave of ``recording`` (after a save, or when its changes are discarded)."""
    try:
        autosave_path(folder, recording).unlink()
    except FileNotFoundError:
        pass
