"""Autosave of unsaved annotations, and recovery after a crash.

While an annotation has unsaved changes the GUI writes it every minute to a *sidecar*
file beside its label file (``scene.csv`` -> ``scene.seld-autosave.json``; beside the
recording when the labels have no file yet). Where that folder cannot be written (a
read-only dataset), the autosave goes into the index folder (the application's data
folder) instead. The index folder always gets a small pointer to the sidecar, so that the
next start finds every autosave without searching the disk. Saving the labels or
discarding the changes removes both; an autosave still there at the next start is work a
crash or kill interrupted, and the application offers to restore it.

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


def index_path(folder: str | os.PathLike[str], recording: str | os.PathLike[str]) -> Path:
    """The index entry of ``recording`` in ``folder`` (named by a hash of its absolute path)."""
    key = hashlib.sha1(str(Path(recording).absolute()).encode("utf-8")).hexdigest()[:16]
    return Path(folder) / f"{Path(recording).stem}-{key}{SUFFIX}"


def sidecar_path(recording: str | os.PathLike[str], labels: str | os.PathLike[str] | None) -> Path:
    """The sidecar autosave beside the label file (or, without one, beside the recording)."""
    base = Path(labels if labels else recording).absolute()
    return base.with_name(base.stem + SUFFIX)


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
    """Write ``doc`` (the annotation of ``recording``) to its sidecar, or into ``folder``; atomically.

    Returns where the autosave is. ``folder`` (the index) gets a pointer to a sidecar.
    """
    data = {
        "seld_autosave": VERSION,
        "recording": str(Path(recording).absolute()),
        "labels": doc.path,
        "format": doc.fmt,
        "classes": classes,
        "saved_at": time.time(),
        "events": [_event_json(e) for e in doc.snapshot()],
    }
    text = json.dumps(data, indent=1)
    entry = index_path(folder, recording)
    sidecar = sidecar_path(recording, doc.path)
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


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LabelError(f"not a readable autosave file ({err})", str(path)) from None


def read_autosave(path: str | os.PathLike[str]) -> Autosave:
    """Read an autosave file (or follow an index pointer to one); damage is a :class:`LabelError`."""
    path = Path(path)
    data = _load_json(path)
    if isinstance(data, dict) and "seld_autosave_pointer" in data:
        path = Path(str(data.get("path")))
        data = _load_json(path)
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
            data = json.loads(p.read_text(encoding="utf-8"))
            if (
                isinstance(data, dict)
                and "seld_autosave_pointer" in data
                and not Path(str(data["path"])).exists()
            ):
                p.unlink()  # its sidecar was removed (saved or discarded elsewhere): nothing to restore
                continue
        except (OSError, ValueError):
            pass  # read_autosave reports it
        try:
            found.append(read_autosave(p))
        except LabelError as err:
            damaged.append(str(err))
    found.sort(key=lambda a: a.saved_at, reverse=True)
    return found, damaged


def remove_autosave(
    folder: str | os.PathLike[str],
    recording: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None = None,
) -> None:
    """Delete the autosave of ``recording`` (its index entry and the sidecar it points to)."""
    entry = index_path(folder, recording)
    targets = [entry, sidecar_path(recording, labels)]
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "path" in data:
            targets.append(Path(str(data["path"])))
    except (OSError, ValueError):
        pass
    for p in targets:
        try:
            p.unlink()
        except (FileNotFoundError, IsADirectoryError):
            pass
