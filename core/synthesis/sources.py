"""Mono source events for scene synthesis: built-in generators or a NIGENS-like folder.

A :class:`SourceBank` hands out one :class:`SourceClip` per request, for a class index
of its :class:`~core.labels.classes.ClassSet`:

* :meth:`SourceBank.builtin` synthesises events with the generators of
  :mod:`core.synthesis.generators` (all 14 DCASE 2020 classes; other class sets get the
  classes whose names match, e.g. STARSS23 "telephone" -> ringing phone).
* :meth:`SourceBank.builtin` with ``variety=True`` draws each event from a random generator
  family of the class (:data:`~core.synthesis.generators.FAMILIES`) instead of the classic one.
* :meth:`SourceBank.from_folder` with ``generators_share=s`` (0-1) mixes the folder's clips with
  the generator families: an event of a class that has clips comes from a generator with
  probability ``s``; classes without clips come from the generators whenever ``s > 0``.
* :meth:`SourceBank.from_folder` reads a folder of class sub-folders of clips, the NIGENS
  layout (``<dir>/alarm/*.wav``, ``<dir>/crying_baby/*.flac``, ``<dir>/femaleSpeech/...``).
  Folder names are matched to classes tolerantly (case, camelCase, spaces, ``_``/``-``, a
  plural ``s``, and aliases such as ``baby``, ``dog``, ``engine``, ``phone``, ``knock``,
  ``fire``). A NIGENS ``general`` folder (non-target sounds) is skipped with a warning.
  WAV/FLAC/OGG clips are mixed to mono, resampled to 24 kHz (libsoxr "VHQ"), trimmed of
  leading/trailing silence below -60 dB of the peak and RMS-normalised like the built-ins.
  Hidden files (``._x.wav`` AppleDouble files) and ``__MACOSX`` folders are ignored.
  Files are checked when the bank is built (unreadable ones are skipped and listed in
  :attr:`SourceBank.warnings`) and decoded when first sampled (kept in a bounded cache).

Every clip is float32 mono at 24 kHz whose active part has an RMS of -20 dBFS
(:data:`~core.synthesis.generators.TARGET_RMS_DBFS`); the scene code sets the level.
The only randomness is the ``np.random.Generator`` passed to :meth:`SourceBank.sample`
or :func:`generate`: the same seed gives the same samples.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from core.common.errors import AudioError, SeldError
from core.io.audio import MAX_RATE, MIN_RATE, RESAMPLE_QUALITY, TARGET_RATE, probe, read_audio
from core.labels.classes import DCASE2020, ClassSet
from core.synthesis.generators import SAMPLE_RATE, finish, frame_rms, render, render_variant

__all__ = [
    "AUDIO_EXTENSIONS",
    "CLASS_ALIASES",
    "SAMPLE_RATE",
    "SourceBank",
    "SourceClip",
    "generate",
    "load_clip",
    "match_class_name",
]

AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg")
"""File name endings (any case) read as clips by :meth:`SourceBank.from_folder`."""

CLASS_ALIASES: dict[str, str] = {
    "baby": "crying baby",
    "babycry": "crying baby",
    "babycrying": "crying baby",
    "cry": "crying baby",
    "dog": "barking dog",
    "dogbark": "barking dog",
    "bark": "barking dog",
    "engine": "running engine",
    "motor": "running engine",
    "phone": "ringing phone",
    "telephone": "ringing phone",
    "phonering": "ringing phone",
    "knock": "knocking on door",
    "knocking": "knocking on door",
    "doorknock": "knocking on door",
    "fire": "burning fire",
    "cracklingfire": "burning fire",
    "footstep": "footsteps",
    "steps": "footsteps",
    "walking": "footsteps",
}
"""Extra folder/class names (compact: lower case, no separators) and the DCASE 2020 class they mean."""

_IGNORED_FOLDERS = {"general": "NIGENS 'general' sounds are not a target class"}
_CACHE_BYTES = 256 * 2**20
_EXCERPT_FRAME_S = 0.01


@dataclass(frozen=True, eq=False)
class SourceClip:
    """One mono source event at 24 kHz.

    ``samples`` is float32 ``(N,)`` (RMS of the active part -20 dBFS), ``class_index`` and
    ``class_name`` refer to the bank's class set, ``origin`` is ``"builtin:<generator>"``
    or the path of the file the clip was read from.
    """

    samples: np.ndarray
    class_index: int
    class_name: str
    origin: str

    @property
    def duration_s(self) -> float:
        """Length in seconds at :data:`SAMPLE_RATE`."""
        return self.samples.size / SAMPLE_RATE


# --------------------------------------------------------------------------- names


def _name_keys(name: str) -> set[str]:
    """Compact comparison keys of a class or folder name: words joined without separators,
    also with each word's plural ``s`` dropped; camelCase splits and leading numbers are ignored."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name.strip())
    words = [w for w in re.split(r"[^0-9a-z]+", spaced.lower()) if w]
    while words and words[0].isdigit() and len(words) > 1:
        words = words[1:]
    singular = [
        w[:-3] + "y" if w.endswith("ies") and len(w) > 4 else w[:-1] if w.endswith("s") and len(w) > 3 else w
        for w in words
    ]
    return {"".join(words), "".join(singular)} - {""}


def _canonical_keys(name: str) -> set[str]:
    """:func:`_name_keys` of a name plus those of the DCASE 2020 class its aliases stand for."""
    keys = _name_keys(name)
    for key in list(keys):
        if key in CLASS_ALIASES:
            keys |= _name_keys(CLASS_ALIASES[key])
    return keys


def match_class_name(name: str, classes: ClassSet = DCASE2020) -> int | None:
    """Index in ``classes`` of a class or folder name, matched tolerantly; ``None`` when none matches.

    ``"Crying Baby"``, ``"crying_baby"``, ``"crying-babies"`` and ``"cryingBaby"`` all match
    "crying baby". Failing an exact match, :data:`CLASS_ALIASES` relate names that stand for
    the same sound: ``"dog"`` matches "barking dog", ``"phone"`` matches "ringing phone"
    and STARSS23's "telephone".
    """
    keys = _name_keys(name)
    for i, cls in enumerate(classes.names):
        if keys & _name_keys(cls):
            return i
    keys = _canonical_keys(name)
    for i, cls in enumerate(classes.names):
        if keys & _canonical_keys(cls):
            return i
    return None


def _generator_map(classes: ClassSet) -> dict[int, str]:
    """Class index -> built-in generator key, for the classes of ``classes`` that have one."""
    return {i: key for i, name in enumerate(classes.names) if (key := _generator_key(name)) is not None}


def _generator_key(name: str) -> str | None:
    """The built-in generator for a class name (via the DCASE 2020 names and aliases)."""
    i = match_class_name(name, DCASE2020)
    return None if i is None else DCASE2020.id(i)


def generate(class_name_or_index: str | int, rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    """One built-in event of a DCASE 2020 class (name, snake id, alias or index 0-13): float32 mono at ``sr``.

    Trimmed, faded and normalised to an active-part RMS of -20 dBFS; see
    :mod:`core.synthesis.generators` for what each class sounds like.
    """
    key: str | None
    if isinstance(class_name_or_index, (int, np.integer)) and not isinstance(class_name_or_index, bool):
        key = DCASE2020.id(int(class_name_or_index))
    else:
        key = _generator_key(str(class_name_or_index))
        if key is None:
            raise SeldError(
                f"no built-in generator for class {class_name_or_index!r} "
                f"(known: {', '.join(DCASE2020.names)})"
            )
    return render(key, rng, sr)


# --------------------------------------------------------------------------- clips


def load_clip(path: str | os.PathLike[str]) -> np.ndarray:
    """A clip file as a finished source event: mono, 24 kHz, trimmed, faded, RMS-normalised.

    Raises :class:`~core.common.errors.SeldError` (an ``AudioError``) naming the file when it cannot
    be read, has a rate outside 16-192 kHz, or is silent.
    """
    x, sr = read_audio(path)
    if not MIN_RATE <= sr <= MAX_RATE:
        raise AudioError(
            f"has an unsupported sample rate of {sr} Hz (clips need {MIN_RATE}-{MAX_RATE} Hz)", path
        )
    mono = x.mean(axis=0, dtype=np.float64)
    if sr != TARGET_RATE:
        mono = soxr.resample(mono, sr, TARGET_RATE, quality=RESAMPLE_QUALITY)
    if not np.any(mono):
        raise AudioError("is silent", path)
    return finish(mono, TARGET_RATE)


def _excerpt(x: np.ndarray, max_len: int, rng: np.random.Generator) -> np.ndarray:
    """A random excerpt of at most ``max_len`` samples that starts in an active 10-ms frame
    (within 40 dB of the loudest), trimmed, faded and re-normalised."""
    hop = int(round(_EXCERPT_FRAME_S * SAMPLE_RATE))
    rms = frame_rms(x, SAMPLE_RATE, _EXCERPT_FRAME_S)
    starts = np.flatnonzero(rms >= rms.max() * 0.01) * hop
    starts = starts[starts <= x.size - max_len]
    start = int(starts[rng.integers(starts.size)]) if starts.size else x.size - max_len
    return finish(x[start : start + max_len], SAMPLE_RATE)


class SourceBank:
    """Mono source events by class index; build with :meth:`builtin` or :meth:`from_folder`.

    Attributes
    ----------
    warnings:
        Files skipped (unreadable, unsupported, silent) and folders ignored, one line each
        (``"<path>: <problem>"``); grows when a file fails to decode at first use.
    """

    def __init__(
        self,
        classes: ClassSet,
        generators: dict[int, str] | None = None,
        clips: dict[int, list[str]] | None = None,
        root: str | None = None,
        warnings: list[str] | None = None,
        generators_share: float = 0.0,
        variety: bool = False,
    ):
        if not 0.0 <= generators_share <= 1.0:
            raise ValueError(f"generators_share must be within 0-1, not {generators_share!r}")
        self._share = float(generators_share)
        self._variety = bool(variety)
        self._classes = classes
        self._generators = dict(generators or {})
        self._clips = {k: list(v) for k, v in (clips or {}).items()}
        self._root = root
        self.warnings: list[str] = list(warnings or [])
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- builders

    @classmethod
    def builtin(cls, classes: ClassSet = DCASE2020, variety: bool = False) -> SourceBank:
        """A bank of the built-in generators for every class of ``classes`` that has one.

        ``variety``: draw every event from a random generator family of its class
        (:data:`~core.synthesis.generators.FAMILIES`; origin ``builtin:<key>/<family>``)
        instead of the classic generator (origin ``builtin:<key>``).
        """
        gens = _generator_map(classes)
        if not gens:
            raise SeldError(
                f"no built-in generator fits any class of {classes.name!r} "
                f"(generators: {', '.join(DCASE2020.names)})"
            )
        return cls(classes, generators=gens, variety=variety)

    @classmethod
    def from_folder(
        cls, path: str | os.PathLike[str], classes: ClassSet = DCASE2020, generators_share: float = 0.0
    ) -> SourceBank:
        """A bank of the clips in ``path/<class folder>/**/*.{wav,flac,ogg}``.

        ``generators_share`` (0-1): the share of events drawn from the built-in generator
        families (:data:`~core.synthesis.generators.FAMILIES`, chosen at random) for classes
        that have clips; classes without clips but with a generator are drawn from the
        generators only, when the share is above 0. With 0 (default) the bank holds the
        folder's clips only, and samples exactly as before this option existed.

        Raises :class:`~core.common.errors.SeldError` naming the folder when it is missing, has no
        class sub-folders, has a sub-folder that matches no class, or holds no usable clip.
        """
        root = Path(path)
        if not root.is_dir():
            raise SeldError("is not a folder (expected class sub-folders such as alarm/, crying_baby/)", root)
        subdirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
        if not subdirs:
            raise SeldError("has no class sub-folders (expected e.g. alarm/*.wav, crying_baby/*.wav)", root)
        warnings: list[str] = []
        clips: dict[int, list[str]] = {}
        for d in subdirs:
            ignored = next((why for k in _name_keys(d.name) if (why := _IGNORED_FOLDERS.get(k))), None)
            if ignored is not None:
                warnings.append(f"{d}: folder ignored ({ignored})")
                continue
            index = match_class_name(d.name, classes)
            if index is None:
                raise SeldError(
                    f"the sub-folder {d.name!r} matches no class of {classes.name!r} "
                    f"(known: {', '.join(classes.names)}; also accepted: {', '.join(sorted(CLASS_ALIASES))})",
                    root,
                )
            files = sorted(
                p
                for p in d.rglob("*")
                if p.is_file()
                and p.suffix.lower() in AUDIO_EXTENSIONS
                and not any(part.startswith((".", "__")) for part in p.relative_to(d).parts)
            )
            for f in files:
                problem = _check_clip_file(f)
                if problem is None:
                    clips.setdefault(index, []).append(str(f))
                else:
                    warnings.append(f"{f}: skipped ({problem})")
        if not clips:
            detail = f"; {len(warnings)} skipped, first: {warnings[0]}" if warnings else ""
            raise SeldError(
                f"holds no usable audio clip ({'/'.join(AUDIO_EXTENSIONS)} in class sub-folders){detail}",
                root,
            )
        if not 0.0 <= generators_share <= 1.0:
            raise ValueError(f"generators_share must be within 0-1, not {generators_share!r}")
        gens = _generator_map(classes) if generators_share > 0.0 else {}
        return cls(
            classes,
            generators=gens,
            clips=clips,
            root=str(root),
            warnings=warnings,
            generators_share=generators_share,
            variety=True,
        )

    # ---------------------------------------------------------------- queries

    @property
    def classes(self) -> ClassSet:
        """The class set that class indices refer to."""
        return self._classes

    @property
    def available_classes(self) -> list[int]:
        """Class indices this bank can sample, ascending."""
        with self._lock:
            return sorted(set(self._generators) | {i for i, files in self._clips.items() if files})

    @property
    def is_builtin(self) -> bool:
        """Whether the bank synthesises all its events (no clip folder)."""
        return self._root is None

    @property
    def generators_share(self) -> float:
        """Share of events of a class with clips that come from the generators (folder banks)."""
        return self._share

    def _uses_generator(self, class_index: int, rng: np.random.Generator) -> bool:
        """Whether this event comes from a generator. Draws one uniform from ``rng`` only when
        the class has both clips and a generator and the share is strictly between 0 and 1."""
        if class_index not in self._generators:
            return False
        with self._lock:
            has_clips = bool(self._clips.get(class_index))
        if not has_clips or self._root is None:
            return True
        if self._share <= 0.0:
            return False
        if self._share >= 1.0:
            return True
        return bool(rng.random() < self._share)

    def clip_count(self, class_index: int) -> int:
        """Number of usable files of a class (0 for a built-in bank)."""
        with self._lock:
            return len(self._clips.get(class_index, ()))

    def __repr__(self) -> str:
        where = "builtin" if self._root is None else repr(self._root)
        return f"SourceBank({where}, {self._classes.name}, {len(self.available_classes)} classes)"

    # ---------------------------------------------------------------- sampling

    def sample(
        self, class_index: int, rng: np.random.Generator, max_duration_s: float | None = None
    ) -> SourceClip:
        """One event of class ``class_index``; at most ``max_duration_s`` long when given.

        A longer event is cut to a random excerpt that starts inside its active part.
        Raises :class:`~core.common.errors.SeldError` naming the class when the bank has no event for it.
        """
        if max_duration_s is not None and not max_duration_s > 0:
            raise ValueError(f"max_duration_s must be positive or None, not {max_duration_s!r}")
        name = self._classes[class_index]
        if self._uses_generator(class_index, rng):
            key = self._generators[class_index]
            if self._variety:
                x, family = render_variant(key, rng, SAMPLE_RATE)
                origin = f"builtin:{key}" if family == "classic" else f"builtin:{key}/{family}"
            else:
                x, origin = render(key, rng, SAMPLE_RATE), f"builtin:{key}"
        else:
            x, origin = self._sample_file(class_index, name, rng)
        if max_duration_s is not None:
            max_len = max(1, int(round(max_duration_s * SAMPLE_RATE)))
            if x.size > max_len:
                x = _excerpt(x, max_len, rng)
        return SourceClip(np.array(x, dtype=np.float32), class_index, name, origin)

    def _sample_file(self, class_index: int, name: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        while True:
            with self._lock:
                files = self._clips.get(class_index, [])
                if not files:
                    if self._root is None:
                        raise SeldError(f"no built-in generator for class {name!r} (index {class_index})")
                    raise SeldError(
                        f"no source clips for class {name!r} (index {class_index}) in {self._root}"
                    )
                path = files[int(rng.integers(len(files)))]
            try:
                return self._load_cached(path), path
            except SeldError as exc:
                with self._lock:
                    if path in self._clips.get(class_index, []):
                        self._clips[class_index].remove(path)
                        self.warnings.append(f"{path}: skipped ({exc.problem})")

    def _load_cached(self, path: str) -> np.ndarray:
        with self._lock:
            if path in self._cache:
                self._cache.move_to_end(path)
                return self._cache[path]
        x = load_clip(path)
        x.setflags(write=False)
        with self._lock:
            if path not in self._cache:
                self._cache[path] = x
                self._cache_bytes += x.nbytes
                while self._cache_bytes > _CACHE_BYTES and len(self._cache) > 1:
                    _, old = self._cache.popitem(last=False)
                    self._cache_bytes -= old.nbytes
        return x


def _check_clip_file(path: Path) -> str | None:
    """Why a clip file cannot be used (from its header), or ``None``."""
    try:
        info = probe(path)
    except SeldError as exc:
        return exc.problem
    if info.frames <= 0:
        return "contains no audio (0 frames)"
    if not MIN_RATE <= info.sample_rate <= MAX_RATE:
        return f"unsupported sample rate {info.sample_rate} Hz (clips need {MIN_RATE}-{MAX_RATE} Hz)"
    return None
