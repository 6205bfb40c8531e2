"""Building blocks of a source library: clip processing, provenance, MIDI and text helpers.

A *source library* is a NIGENS-style folder that :meth:`core.synthesis.sources.SourceBank.from_folder`
reads: one sub-folder per class (the snake-case DCASE 2020 ids, e.g. ``female_speech/``) of
24 kHz mono 16-bit WAV clips, plus ``provenance.csv`` with one row per clip (where it came
from, under which licence, how it was processed). The recipe that fills one from Debian
packages is ``experiments/sources/build_library.py`` (see ``docs/SOURCES.md``); this module
holds the parts of it that need no external tool, so they can be tested anywhere:

* :func:`prepare_clip`: mono, resampled to 24 kHz, trimmed, faded, level-normalised, peak-safe.
* :func:`write_clip`, :class:`ProvenanceRow`, :func:`write_provenance`, :func:`read_provenance`.
* :func:`midi_file`: a minimal Standard MIDI File (format 0) for rendering notes with a soundfont.
* :func:`read_opensfx_cat`: the entries of an OpenTTD ``.cat`` sound container.
* :func:`sentence`: a random sentence from a word list (text for speech synthesizers).
* :func:`resample_pitch`: pitch/speed change by resampling (a tape-speed change).
"""

from __future__ import annotations

import csv
import os
import struct
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from core.synthesis.generators import (
    SAMPLE_RATE,
    active_rms,
    apply_fades,
    trim_silence,
)

__all__ = [
    "LIBRARY_PEAK_DBFS",
    "LIBRARY_RMS_DBFS",
    "WORDS",
    "ProvenanceRow",
    "midi_file",
    "prepare_clip",
    "read_opensfx_cat",
    "read_provenance",
    "resample_pitch",
    "sentence",
    "write_clip",
    "write_provenance",
]

LIBRARY_RMS_DBFS = -23.0
"""Active-part RMS (dBFS) of a library clip, unless its peak would pass :data:`LIBRARY_PEAK_DBFS`."""
LIBRARY_PEAK_DBFS = -1.0
"""Highest sample peak (dBFS) of a library clip (16-bit files must not clip)."""
LIBRARY_TRIM_DB = -50.0
"""Leading/trailing parts below this level relative to the peak are trimmed."""


def prepare_clip(
    x: np.ndarray,
    sr: int,
    min_duration_s: float = 0.3,
    max_duration_s: float = 12.0,
    sr_out: int = SAMPLE_RATE,
) -> np.ndarray | None:
    """A raw recording as a library clip: float32 mono at ``sr_out``, or ``None`` when unusable.

    ``x`` is ``(n,)`` or ``(n, channels)`` (soundfile's layout); channels are averaged, the
    DC removed, the signal resampled (libsoxr VHQ), leading/trailing parts below
    :data:`LIBRARY_TRIM_DB` of the peak trimmed, cut to ``max_duration_s``, given 5-ms fades
    and scaled to an active RMS of :data:`LIBRARY_RMS_DBFS` (lower when the peak would pass
    :data:`LIBRARY_PEAK_DBFS`). ``None`` when it is silent, not finite or shorter than
    ``min_duration_s`` after trimming.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        a = a.mean(axis=1)
    a = a.reshape(-1)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return None
    a = a - a.mean()
    if sr != sr_out:
        a = soxr.resample(a, sr, sr_out, quality="VHQ")
    if not np.any(a):
        return None
    a = trim_silence(a, sr_out, LIBRARY_TRIM_DB)
    a = a[: int(round(max_duration_s * sr_out))]
    if a.size < int(round(min_duration_s * sr_out)):
        return None
    a = apply_fades(a, sr_out)
    level, peak = active_rms(a, sr_out), float(np.abs(a).max())
    if level <= 0.0 or peak <= 0.0:
        return None
    gain = min(10.0 ** (LIBRARY_RMS_DBFS / 20.0) / level, 10.0 ** (LIBRARY_PEAK_DBFS / 20.0) / peak)
    return (a * gain).astype(np.float32)


def write_clip(path: str | os.PathLike[str], x: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    """Write a clip as 16-bit PCM WAV (parent folders created)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(p), np.asarray(x, dtype=np.float32), sr, subtype="PCM_16")


def resample_pitch(x: np.ndarray, semitones: float) -> np.ndarray:
    """``x`` played ``semitones`` higher (and correspondingly shorter), as a tape-speed change."""
    factor = 2.0 ** (semitones / 12.0)
    if abs(factor - 1.0) < 1e-9:
        return np.asarray(x, dtype=np.float64)
    # treat x as sampled at sr*factor and bring it back to sr: 1/factor as many samples
    return soxr.resample(np.asarray(x, dtype=np.float64), 10000.0 * factor, 10000.0, quality="VHQ")


# --------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class ProvenanceRow:
    """Where one library clip came from: one row of ``provenance.csv``."""

    clip: str
    """Path of the clip relative to the library folder (``female_speech/espeak_0001.wav``)."""
    cls: str
    """Snake-case DCASE 2020 class id."""
    package: str
    """Debian/PyPI package the material comes from (``generated`` for none)."""
    version: str
    licence: str
    original: str
    """Original file (or voice/program) the clip was made from."""
    processing: str
    """What was done to it (text spoken, notes rendered, pitch shift, trimming, normalisation)."""


PROVENANCE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ProvenanceRow))


def write_provenance(rows: list[ProvenanceRow], path: str | os.PathLike[str]) -> None:
    """Write ``rows`` as CSV with a header (``clip,cls,package,version,licence,original,processing``), sorted by clip."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(PROVENANCE_FIELDS))
        w.writeheader()
        for row in sorted(rows, key=lambda r: r.clip):
            w.writerow(asdict(row))
    os.replace(tmp, p)


def read_provenance(path: str | os.PathLike[str]) -> list[ProvenanceRow]:
    """The rows of a ``provenance.csv``."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [ProvenanceRow(**{k: row[k] for k in PROVENANCE_FIELDS}) for row in csv.DictReader(fh)]


# --------------------------------------------------------------------------- MIDI


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_file(
    notes: list[tuple[float, float, int, int]],
    program: int = 0,
    channel: int = 0,
    tempo_bpm: float = 120.0,
    ppq: int = 480,
    program_changes: list[tuple[float, int]] | None = None,
) -> bytes:
    """A format-0 Standard MIDI File of ``notes`` = ``(start_s, duration_s, key, velocity)``
    on ``channel`` with GM ``program`` (0-127), ending 1.5 s after the last note-off (release tail).

    ``program_changes`` = ``(time_s, program)`` switch the instrument later on (so one file,
    rendered once, can hold phrases of several instruments).
    """
    changes = list(program_changes or [])
    if not 0 <= channel <= 15 or any(not 0 <= p <= 127 for p in [program] + [p for _, p in changes]):
        raise ValueError("programs must be 0-127 and the channel 0-15")
    ticks_per_s = ppq * tempo_bpm / 60.0
    events: list[tuple[int, int, bytes]] = [
        (int(round(t * ticks_per_s)), -1, bytes([0xC0 | channel, p])) for t, p in changes
    ]
    for start, dur, key, vel in notes:
        if not (0 <= key <= 127 and 1 <= vel <= 127 and dur > 0 and start >= 0):
            raise ValueError(f"bad note {(start, dur, key, vel)}")
        on, off = int(round(start * ticks_per_s)), int(round((start + dur) * ticks_per_s))
        events.append((on, 1, bytes([0x90 | channel, key, vel])))
        events.append((max(off, on + 1), 0, bytes([0x80 | channel, key, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    body = bytearray()
    body += b"\x00\xff\x51\x03" + int(round(60e6 / tempo_bpm)).to_bytes(3, "big")
    body += b"\x00" + bytes([0xC0 | channel, program])
    now = 0
    for tick, _, data in events:
        body += _vlq(tick - now) + data
        now = tick
    body += _vlq(int(round(1.5 * ticks_per_s))) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ppq)
    return header + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


# --------------------------------------------------------------------------- OpenTTD sound sets


def read_opensfx_cat(path: str | os.PathLike[str]) -> list[tuple[str, bytes]]:
    """The ``(description, RIFF WAV bytes)`` entries of an OpenTTD ``.cat`` sound container.

    The file starts with ``(offset, size)`` uint32 pairs (little endian; the top bit of an
    offset is a flag); each entry is a length byte, a NUL-terminated description (OpenSFX
    puts title, author and licence there) and the WAV data.
    """
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path}: not an OpenTTD sound container")
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    out: list[tuple[str, bytes]] = []
    for i in range(count):
        off, size = struct.unpack_from("<II", data, 8 * i)
        off &= 0x7FFFFFFF
        if off + size > len(data) or size < 1:
            raise ValueError(f"{path}: entry {i} lies outside the file")
        n = data[off]
        name = data[off + 1 : off + 1 + n].rstrip(b"\0").decode("latin-1")
        out.append((name, data[off + 1 + n : off + size]))
    return out


# --------------------------------------------------------------------------- text

WORDS: dict[str, tuple[str, ...]] = {
    "en": tuple(
        """the a my your our this that every some no one two three seven ten people child
        woman man friend doctor teacher driver neighbour family city river garden kitchen window
        door table morning evening night week summer winter train station market office letter
        story music water coffee bread money answer question idea plan house road car bus phone
        is was will can should might must never always often today tomorrow yesterday quickly
        slowly really almost very quite here there inside outside before after because while
        bring take find keep leave open close call tell ask wait walk run read write cook listen
        remember forget start finish carry follow visit send build paint clean buy sell help
        good bad new old big small warm cold early late quiet loud happy tired ready strange
        simple important different beautiful and but or so if when then also only just""".split()
    ),
    "de": tuple(
        """der die das ein eine mein dein heute morgen gestern immer nie oft schnell langsam
        Haus Stadt Zug Bahnhof Fenster Tür Tisch Wasser Brot Kaffee Freund Kind Frau Mann
        ist war wird kann muss geht kommt bringt findet öffnet schließt fragt wartet liest
        gut schlecht neu alt groß klein warm kalt früh spät und aber oder weil wenn dann""".split()
    ),
    "fr": tuple(
        """le la les un une mon ton notre aujourd'hui demain hier toujours jamais souvent vite
        maison ville train gare fenêtre porte table eau pain café ami enfant femme homme
        est était sera peut doit va vient apporte trouve ouvre ferme demande attend lit
        bon mauvais nouveau vieux grand petit chaud froid tôt tard et mais ou parce que quand""".split()
    ),
    "es": tuple(
        """el la los un una mi tu nuestro hoy mañana ayer siempre nunca a menudo rápido
        casa ciudad tren estación ventana puerta mesa agua pan café amigo niño mujer hombre
        es era será puede debe va viene trae encuentra abre cierra pregunta espera lee
        bueno malo nuevo viejo grande pequeño caliente frío temprano tarde y pero o porque""".split()
    ),
    "it": tuple(
        """il la un una mio tuo nostro oggi domani ieri sempre mai spesso presto piano
        casa città treno stazione finestra porta tavolo acqua pane caffè amico bambino donna uomo
        è era sarà può deve va viene porta trova apre chiude chiede aspetta legge
        buono cattivo nuovo vecchio grande piccolo caldo freddo presto tardi e ma o perché""".split()
    ),
}
"""Small word lists by language for :func:`sentence` (text for speech synthesizers)."""


def sentence(rng: np.random.Generator, language: str = "en", words: tuple[int, int] = (4, 14)) -> str:
    """A random sentence of ``words[0]..words[1]`` words from :data:`WORDS` (a comma now and then,
    a question mark or full stop at the end): meaningless but with varied phonemes and rhythm."""
    vocab = WORDS[language]
    n = int(rng.integers(words[0], words[1] + 1))
    picked = [vocab[int(i)] for i in rng.integers(0, len(vocab), n)]
    text = ""
    for i, w in enumerate(picked):
        text += (" " if i else "") + w
        if 0 < i < n - 2 and rng.random() < 0.1:
            text += ","
    return text[:1].upper() + text[1:] + ("?" if rng.random() < 0.2 else ".")
