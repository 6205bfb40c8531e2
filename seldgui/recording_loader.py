"""Opening recordings into the session, off the GUI thread.

The :class:`RecordingLoader` decides how a file's four channels are read, reads it in the
thread pool and puts it, its spectrogram and the labels beside it into the session.

How the channels are read (a *format choice*: ``"foa"`` AmbiX, ``"foa-fuma"``, ``"mic"``),
first answer wins:

1. the toolbar's Format control, when it is not "auto";
2. the caller's choice (``--format``, the bundled demo, a DCASE file list);
3. a DCASE folder name in the path (``foa_dev``, ``mic_eval``): never asked;
4. the choice remembered for the file's folder;
5. the user, asked with the format guessed from the first seconds of the signal
   (:func:`core.io.recording.guess_file_format`) proposed, and how sure it is; the answer
   is remembered for the folder unless the user says not to.

Every background job is counted while it runs (:attr:`RecordingLoader.busy`) and uncounted
exactly once when it ends, however it ends; a result for a recording or a view that was
replaced meanwhile is dropped.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.session.session import Session
from seldgui import workers
from seldgui.settings import FORMAT_CHOICES, Settings


def split_choice(choice: str) -> tuple[str, str]:
    """``(fmt, convention)`` of a format choice: ``"foa-fuma"`` -> ``("foa", "fuma")``."""
    if choice not in FORMAT_CHOICES:
        raise ValueError(f"unknown format choice {choice!r}; expected one of {FORMAT_CHOICES}")
    return ("foa", "fuma") if choice == "foa-fuma" else (choice, "ambix")


def sibling_labels(audio: Path) -> Path | None:
    """The label file of a recording: ``<name>.csv`` beside it, or in the DCASE ``metadata_*`` folder."""
    beside = audio.with_suffix(".csv")
    if beside.is_file():
        return beside
    parts = audio.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i].startswith(("foa_", "mic_")):
            meta = Path(*parts[:i], "metadata_" + parts[i].split("_", 1)[1], *parts[i + 1 :]).with_suffix(
                ".csv"
            )
            if meta.is_file():
                return meta
    return None


def load_for_view(path: Path, choice: str, channel: int, kind: str):
    """(recording, spectrogram to show first, labels or ``None``): the work of one open.

    A long recording stays on disk and comes with its quick overview; the labels are read
    into keyframes here too (long label files take a while).
    """
    from core.annotation.document import Annotation
    from core.dsp.overview import recording_spectrogram
    from core.io.recording import open_recording
    from core.labels.dcase_csv import read_labels

    labels_path = sibling_labels(path)
    labels = Annotation.from_table(read_labels(labels_path)) if labels_path is not None else None
    fmt, convention = split_choice(choice)
    recording = open_recording(path, fmt, convention)
    return recording, recording_spectrogram(recording, channel, kind, exact=False), labels


class RecordingLoader(QObject):
    """Opens recordings and redraws the spectrogram of the open one, in the background.

    ``ask_format(path, guess) -> (choice, remember) | None`` asks the user (``None``:
    cancelled); the window sets it to a dialog. Signals: ``message(text)`` for the status
    line, ``failed(title, message)`` for an error dialog, ``crashed(traceback)`` for a bug,
    ``opened(recording)`` once a recording and its labels are in the session.
    """

    message = Signal(str)
    failed = Signal(str, str)
    crashed = Signal(str)
    opened = Signal(object)

    def __init__(self, session: Session, settings: Settings, ask_format=None, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.ask_format = ask_format
        self.override: str | None = None  # the toolbar's Format control; None: auto
        self.channel = 0
        self.kind = settings.get("spectrogram_kind")
        self.jobs = 0
        self._open_request = 0
        self._view_request = 0

    @property
    def busy(self) -> bool:
        return self.jobs > 0

    # ------------------------------------------------------------------ format
    def known_choice(self, path: Path) -> str | None:
        """The format choice that needs no question: a DCASE folder's, else the folder's remembered one."""
        from core.io.audio import infer_format

        return infer_format(path) or self.settings.folder_format(path)

    def open(self, path: Path | str, choice: str | None = None) -> None:
        """Open ``path`` (see the module doc for how its format is decided)."""
        path = Path(path)
        self._open_request += 1
        request = self._open_request
        choice = self.override or choice or self.known_choice(path)
        self.message.emit(f"Loading {path.name}...")
        if choice is not None:
            self._load(path, choice, request)
            return
        from core.io.recording import guess_file_format

        self._submit(
            lambda: guess_file_format(path),
            lambda guess: self._ask(path, guess, request),
            "Cannot open recording",
        )

    def _ask(self, path: Path, guess, request: int) -> None:
        if request != self._open_request:
            return  # another file was opened meanwhile
        answer = self.ask_format(path, guess) if self.ask_format is not None else None
        if answer is None:
            self.message.emit(f"{path.name} was not opened: its format was not chosen")
            return
        choice, remember = answer
        if remember:
            self.settings.remember_folder_format(path, choice)
        self._load(path, choice, request)

    # ------------------------------------------------------------------ loading
    def _load(self, path: Path, choice: str, request: int) -> None:
        channel, kind = self.channel, self.kind
        self._submit(
            lambda: load_for_view(path, choice, channel, kind),
            lambda result: self._on_loaded(result, request),
            "Cannot open recording",
        )

    def _on_loaded(self, result, request: int) -> None:
        if request != self._open_request:
            return
        from core.dsp.overview import is_long

        recording, spectrogram, labels = result
        self.session.set_recording(recording, spectrogram)
        self.settings.add_recent(recording.path)
        if labels is not None:
            self.session.set_annotation(labels)
        self.opened.emit(recording)
        if is_long(recording):
            self.reload_view()  # the exact max-pooled overview

    def set_view(self, channel: int | None = None, kind: str | None = None) -> None:
        """Show another channel or kind of spectrogram (and remember the kind)."""
        if channel is not None:
            self.channel = channel
        if kind is not None:
            self.kind = kind
            self.settings.set("spectrogram_kind", kind)
        self.reload_view()

    def reload_view(self) -> None:
        """Recompute the open recording's spectrogram in the background."""
        from core.dsp.overview import recording_spectrogram

        recording = self.session.recording
        if recording is None:
            return
        self._view_request += 1
        request, channel, kind = self._view_request, self.channel, self.kind
        self._submit(
            lambda: recording_spectrogram(recording, channel, kind),
            lambda spec: self._on_view(spec, recording, request),
            "Cannot draw spectrogram",
        )

    def _on_view(self, spectrogram, recording, request: int) -> None:
        if request == self._view_request and self.session.recording is recording:
            self.session.set_spectrogram(spectrogram)

    # ------------------------------------------------------------------ jobs
    def _submit(self, fn, on_finished, failure_title: str) -> None:
        job = workers.submit(
            fn,
            on_finished,
            on_failed=lambda message: self.failed.emit(failure_title, message),
            on_crashed=self.crashed.emit,
            owner=self,
        )
        self.jobs += 1
        job.ended.connect(self._job_ended)

    def _job_ended(self) -> None:
        self.jobs -= 1
