"""Build a source library for ``seld synth --sources DIR`` from free Debian packages.

Usage (as root for ``--install``; see README.md and docs/SOURCES.md)::

    python experiments/sources/build_library.py --out /work/sources_library --install
    python experiments/sources/build_library.py --out /tmp/lib --scale 0.1   # a quick small one

Writes ``OUT/<class id>/*.wav`` (24 kHz mono 16-bit, trimmed, level-normalised) and
``OUT/provenance.csv`` (clip, class, package, version, licence, original, processing).
Classes without licensable real material get no folder here: mix the library with the
built-in generators (``seld synth --sources OUT --generators-share 0.3``).

Never reads anything under a ``shared/data/real`` folder (kept for evaluation only).
Deterministic under ``--seed`` given the same package versions.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.synthesis.library import (  # noqa: E402
    ProvenanceRow,
    midi_file,
    prepare_clip,
    read_opensfx_cat,
    read_provenance,
    resample_pitch,
    sentence,
    write_clip,
    write_provenance,
)

APT_PACKAGES = (
    "espeak-ng",
    "festival",
    "festvox-kallpc16k",
    "festvox-kdlpc16k",
    "festvox-us-slt-hts",
    "fluidsynth",
    "fluid-soundfont-gm",
    "timgm6mb-soundfont",
    "musescore-general-soundfont-small",
    "sound-theme-freedesktop",
    "oxygen-sounds",
    "openttd-opensfx",
    "sox",
    "klettres-data",
)
"""Debian (bookworm, main) packages the recipe uses."""

LICENCES = {
    "espeak-ng-data": "GPL-3+",
    "festival": "festival licence (BSD-like, free)",
    "festvox-kallpc16k": "festival licence (BSD-like, free)",
    "festvox-kdlpc16k": "festival licence (BSD-like, free)",
    "festvox-us-slt-hts": "CMU ARCTIC/HTS voice licence (BSD-like, free)",
    "fluid-soundfont-gm": "MIT",
    "timgm6mb-soundfont": "GPL-2",
    "musescore-general-soundfont-small": "MIT",
    "sound-theme-freedesktop": "GPL-2+ / CC-BY-SA / CC-BY (per file, see copyright)",
    "oxygen-sounds": "LGPL-3+ / CC-BY-SA (see copyright)",
    "gnome-audio": "GPL-2+ (see copyright)",
    "alsa-utils": "GPL-2+",
    "openttd-opensfx": "CC-BY-SA-3.0 (collection; per file CC-BY-3.0 / CC0, see entry text)",
    "klettres-data": "GPL-2+ (KLettres authors, see copyright)",
}
"""Licence of each package's material as read from ``/usr/share/doc/<pkg>/copyright`` (see docs/SOURCES.md)."""

_FORBIDDEN = ("shared/data/real", "/shared/")

# female / male espeak-ng voice variants (others are robots, whispers, effects)
_ESPEAK_SKIP = re.compile(
    r"robo|whisper|klatt|demonic|croak|tweaky|storm|ricishay|kaukovalta|fast|anxious|serious|announcer|gene2|unirobot|iven[234]|edward2|steph[23]",
    re.I,
)
_ESPEAK_LANGS = (
    ("en-us", "en"),
    ("en-gb", "en"),
    ("en-gb-scotland", "en"),
    ("en-gb-x-rp", "en"),
    ("en-029", "en"),
    ("de", "de"),
    ("fr-fr", "fr"),
    ("es", "es"),
    ("it", "it"),
    ("en-us-nyc", "en"),
)

PIANO_PROGRAMS = (0, 1, 2, 3)  # acoustic grand, bright acoustic, electric grand, honky-tonk
RINGTONE_PROGRAMS = (8, 9, 10, 11, 12, 13, 14, 80, 81)  # celesta..tubular bells, square/saw lead
TELEPHONE_PROGRAM = 124  # GM "Telephone Ring"

OPENSFX = {  # entry index -> class id (titles in docs/SOURCES.md)
    15: "crash",
    16: "crash",
    17: "crash",
    19: "crash",
    53: "crash",
    54: "crash",
    8: "running_engine",
    25: "running_engine",
    27: "running_engine",
    28: "running_engine",
    56: "running_engine",
    69: "running_engine",
    14: "alarm",
}

THEME_FILES = {  # path -> (class id, package, licence from the package's copyright file)
    "/usr/share/sounds/freedesktop/stereo/alarm-clock-elapsed.oga": (
        "alarm",
        "sound-theme-freedesktop",
        "CC-BY-SA-3.0 (Tim/corsica_s)",
    ),
    "/usr/share/sounds/freedesktop/stereo/phone-incoming-call.oga": (
        "ringing_phone",
        "sound-theme-freedesktop",
        "GPL-2+ (Damien Sandras)",
    ),
    "/usr/share/sounds/Oxygen-Im-Phone-Ring.ogg": ("ringing_phone", "oxygen-sounds", "LGPL-3+ (Oxygen team)"),
}
# gnome-audio's phone.wav is not used: its copyright file gives no licence for it.
SPOKEN_FILES = (  # recorded human speech that ships with packages (channel test announcements)
    (
        "/usr/share/sounds/freedesktop/stereo",
        "audio-channel-*.oga",
        "sound-theme-freedesktop",
        "GPL-2+ (The ALSA developers)",
    ),
    ("/usr/share/sounds/alsa", "[FRS]*_*.wav", "alsa-utils", "GPL-2"),
)

KLETTRES = Path("/usr/share/klettres")
"""klettres-data: letters and syllables read aloud by one native speaker per language and set
(``<lang>/alpha``, ``<lang>/syllab``): the library's largest body of real recorded voices."""
KLETTRES_SKIP = ("tn",)  # a child-like voice (median f0 over 300 Hz): neither class
KLETTRES_FEMALE_F0, KLETTRES_MALE_F0 = 190.0, 150.0
"""A speaker's class by the median f0 of all their recordings; speakers in between are left out."""

Row = ProvenanceRow


class Builder:
    def __init__(self, out: Path, seed: int, scale: float, jobs: int):
        self.out, self.scale, self.jobs = out, scale, jobs
        self.rng = np.random.default_rng(seed)
        self.rows: list[Row] = []
        self.counts: Counter[str] = Counter()
        self.tmp = Path(tempfile.mkdtemp(prefix="seld_lib_"))
        self._versions: dict[str, str] = {}

    def n(self, count: int) -> int:
        return max(1, int(round(count * self.scale)))

    def version(self, pkg: str) -> str:
        if pkg not in self._versions:
            try:
                out = subprocess.run(
                    ["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=False
                )
                self._versions[pkg] = out.stdout.strip() or "not installed"
            except FileNotFoundError:
                self._versions[pkg] = "unknown"
        return self._versions[pkg]

    def add(
        self,
        cls: str,
        stem: str,
        x: np.ndarray | None,
        sr: int,
        pkg: str,
        original: str,
        how: str,
        licence: str | None = None,
    ) -> bool:
        clip = None if x is None else prepare_clip(x, sr, max_duration_s=10.0)
        if clip is None:
            return False
        self.counts[cls] += 1
        name = f"{cls}/{stem}_{self.counts[cls]:04d}.wav"
        write_clip(self.out / name, clip)
        how_all = (
            f"{how}; mono, 24 kHz (soxr VHQ), trimmed at -50 dB, 5 ms fades, RMS -23 dBFS (peak <= -1 dBFS)"
        )
        self.rows.append(
            Row(
                name,
                cls,
                pkg,
                self.version(pkg),
                licence or LICENCES.get(pkg, "see copyright"),
                original,
                how_all,
            )
        )
        return True

    # ---------------------------------------------------------------- speech

    def espeak_voices(self) -> tuple[list[str], list[str]]:
        root = next(Path("/usr/lib").glob("*/espeak-ng-data/voices/!v"), None)
        if root is None:
            return [], []
        female: list[str] = []
        male: list[str] = []
        for f in sorted(root.iterdir()):
            if _ESPEAK_SKIP.search(f.name) or " " in f.name:
                continue
            text = f.read_text(errors="replace").lower()
            (female if re.search(r"^\s*gender\s+female", text, re.M) else male).append(f.name)
        return female, male

    def speech(self) -> None:
        jobs: list[tuple[str, str, list[str], str, str, str]] = []
        if shutil.which("espeak-ng"):
            female, male = self.espeak_voices()
            for cls, voices, pitch in (("female_speech", female, (45, 80)), ("male_speech", male, (25, 60))):
                for _ in range(self.n(260)):
                    voice = voices[int(self.rng.integers(len(voices)))]
                    lang, words = _ESPEAK_LANGS[int(self.rng.choice(len(_ESPEAK_LANGS), p=_LANG_P))]
                    text = sentence(self.rng, words)
                    p, s = int(self.rng.integers(*pitch)), int(self.rng.integers(120, 200))
                    r = int(self.rng.integers(0, 6))
                    cmd = [
                        "espeak-ng",
                        "-v",
                        f"{lang}+{voice}",
                        "-p",
                        str(p),
                        "-s",
                        str(s),
                        "-g",
                        str(r),
                        "-w",
                    ]
                    how = f"espeak-ng voice {lang}+{voice}, pitch {p}, word gap {10 * r} ms, {s} wpm, text: {text!r}"
                    jobs.append((cls, "espeak", cmd, text, "espeak-ng-data", how))
        if shutil.which("text2wave"):
            for cls, voice, pkg in (
                ("male_speech", "kal_diphone", "festvox-kallpc16k"),
                ("male_speech", "ked_diphone", "festvox-kdlpc16k"),
                ("female_speech", "cmu_us_slt_arctic_hts", "festvox-us-slt-hts"),
            ):
                for _ in range(self.n(40 if cls == "male_speech" else 70)):
                    text = sentence(self.rng, "en")
                    shift = float(self.rng.uniform(-2.0, 2.0))
                    cmd = ["text2wave", "-eval", f"(voice_{voice})", "-o"]
                    how = f"festival voice {voice}, pitch/speed {shift:+.2f} semitones (resampling), text: {text!r}"
                    jobs.append((cls, "festival", cmd + [f"shift={shift}"], text, pkg, how))

        def run(i: int, job: tuple[str, str, list[str], str, str, str]) -> tuple[np.ndarray, int] | None:
            cls, kind, cmd, text, pkg, how = job
            wav = self.tmp / f"sp{i}.wav"
            shift = 0.0
            if kind == "festival":
                shift = float(cmd[-1].split("=")[1])
                txt = self.tmp / f"sp{i}.txt"
                txt.write_text(text)
                args = cmd[:-1] + [str(wav), str(txt)]
            else:
                args = cmd + [str(wav), text]
            proc = subprocess.run(args, capture_output=True, check=False, timeout=120)
            if proc.returncode or not wav.exists():
                return None
            x, sr = sf.read(str(wav), always_2d=False)
            wav.unlink()
            return (resample_pitch(x, shift) if shift else x), sr

        with ThreadPoolExecutor(self.jobs) as pool:
            results = list(pool.map(run, range(len(jobs)), jobs))
        for job, res in zip(jobs, results, strict=True):
            cls, kind, _, _, pkg, how = job
            if res is not None:
                self.add(cls, kind, res[0], res[1], pkg, how.split(",")[0], how)
        # recorded speech shipped with packages (channel test voices): female voices, checked by f0
        for folder, pattern, pkg, lic in SPOKEN_FILES:
            for f in sorted(Path(folder).glob(pattern)):
                x, sr = sf.read(str(f), always_2d=True)
                cls = _speech_class(x.mean(axis=1), sr)
                for shift in (0.0, -1.0, 1.0):
                    how = f"recorded speech, f0-checked ({cls}), pitch/speed {shift:+.0f} semitones (resampling)"
                    self.add(
                        cls, "recorded", resample_pitch(x.mean(axis=1), shift), sr, pkg, str(f), how, lic
                    )

    def voices(self) -> None:
        """Recorded voices (klettres-data): each clip strings 2-6 of one speaker's letters or
        syllables together with 80-300 ms pauses, the way a word is spelt aloud, at a pitch
        and speed shift of -1..+1 semitones. The speaker's class is decided by f0 once."""
        for folder in sorted(KLETTRES.glob("*/*")):
            files = sorted(folder.glob("*.ogg"))
            if len(files) < 5 or folder.parent.name in KLETTRES_SKIP:
                continue
            pieces = []
            for f in files:
                x, sr = sf.read(str(f), always_2d=True)
                clip = prepare_clip(x, sr, min_duration_s=0.1, max_duration_s=4.0)
                if clip is not None:
                    pieces.append(clip)
            if len(pieces) < 5:
                continue
            f0 = _median_f0(np.concatenate(pieces[:40]), 24000)
            if KLETTRES_MALE_F0 < f0 < KLETTRES_FEMALE_F0:
                print(
                    f"build_library: {folder}: median f0 {f0:.0f} Hz, between the classes; left out",
                    file=sys.stderr,
                )
                continue
            cls = "female_speech" if f0 >= KLETTRES_FEMALE_F0 else "male_speech"
            seconds = sum(c.size for c in pieces) / 24000
            speaker = f"{folder.parent.name}/{folder.name}"
            for _ in range(self.n(int(np.clip(round(seconds / 3.0), 8, 60)))):
                pick = self.rng.choice(
                    len(pieces), size=min(len(pieces), int(self.rng.integers(2, 7))), replace=False
                )
                parts: list[np.ndarray] = []
                for j in pick:
                    parts += [pieces[j], np.zeros(int(24000 * self.rng.uniform(0.08, 0.3)), np.float32)]
                shift = float(self.rng.uniform(-1.0, 1.0))
                how = (
                    f"recorded voice (klettres {speaker}, median f0 {f0:.0f} Hz), {len(pick)} letters/syllables "
                    f"with 80-300 ms pauses, pitch/speed {shift:+.2f} semitones (resampling)"
                )
                x = resample_pitch(np.concatenate(parts[:-1]), shift)
                self.add(cls, f"klettres_{folder.parent.name}", x, 24000, "klettres-data", str(folder), how)

    # ---------------------------------------------------------------- soundfonts

    def soundfonts(self) -> list[tuple[str, str]]:
        cands = (
            ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
            ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"),
            ("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3", "musescore-general-soundfont-small"),
        )
        return [(p, pkg) for p, pkg in cands if Path(p).exists()]

    def render_batch(
        self, sf2: str, program: int | list[int], phrases: list[list[tuple[float, float, int, int]]]
    ) -> list[np.ndarray]:
        """Render phrases (note lists starting at 0; one program each or one for all) one after
        another with 3 s gaps, in one fluidsynth run; cut them apart."""
        programs = program if isinstance(program, list) else [program] * len(phrases)
        notes, starts, changes, t = [], [], [], 0.0
        for ph, prog in zip(phrases, programs, strict=True):
            starts.append(t)
            changes.append((max(t - 0.05, 0.0), prog))
            notes += [(t + s, d, k, v) for s, d, k, v in ph]
            t += max(s + d for s, d, _, _ in ph) + 3.0
        mid, wav = self.tmp / "batch.mid", self.tmp / "batch.wav"
        mid.write_bytes(midi_file(notes, program=programs[0], program_changes=changes))
        subprocess.run(
            [
                "fluidsynth",
                "-ni",
                "-q",
                "-g",
                "0.5",
                "-r",
                "24000",
                "-R",
                "0",
                "-C",
                "0",
                "-F",
                str(wav),
                sf2,
                str(mid),
            ],
            capture_output=True,
            check=True,
            timeout=600,
        )
        x, sr = sf.read(str(wav), always_2d=True)
        x = x.mean(axis=1)
        out = []
        for i, s in enumerate(starts):
            end = starts[i + 1] - 0.5 if i + 1 < len(starts) else x.size / sr
            out.append(x[int(s * sr) : int(end * sr)])
        return out

    def piano(self) -> None:
        if not shutil.which("fluidsynth"):
            return
        for sf2, pkg in self.soundfonts():
            phrases = [_piano_phrase(self.rng) for _ in range(self.n(100))]
            progs = [int(self.rng.choice(PIANO_PROGRAMS, p=[0.55, 0.2, 0.1, 0.15])) for _ in phrases]
            for ph, program, x in zip(phrases, progs, self.render_batch(sf2, progs, phrases), strict=True):
                keys = " ".join(str(k) for _, _, k, _ in ph)
                self.add(
                    "piano",
                    "fluidsynth",
                    x,
                    24000,
                    pkg,
                    f"{Path(sf2).name} program {program}",
                    f"fluidsynth 24 kHz, reverb/chorus off, GM program {program}, keys {keys}",
                )

    def phones(self) -> None:
        if shutil.which("fluidsynth"):
            for sf2, pkg in self.soundfonts():
                phrases = [_ring_phrase(self.rng) for _ in range(self.n(25))]
                for ph, x in zip(phrases, self.render_batch(sf2, TELEPHONE_PROGRAM, phrases), strict=True):
                    self.add(
                        "ringing_phone",
                        "gmphone",
                        x,
                        24000,
                        pkg,
                        f"{Path(sf2).name} program 124",
                        f"fluidsynth GM 'Telephone Ring', {len(ph)} rings, key {ph[0][2]}",
                    )
                phrases = [_ringtone_phrase(self.rng) for _ in range(self.n(30))]
                progs = [int(self.rng.choice(RINGTONE_PROGRAMS)) for _ in phrases]
                for program, x in zip(progs, self.render_batch(sf2, progs, phrases), strict=True):
                    self.add(
                        "ringing_phone",
                        "ringtone",
                        x,
                        24000,
                        pkg,
                        f"{Path(sf2).name} program {program}",
                        f"fluidsynth ringtone: random 4-8 note melody repeated, GM program {program}",
                    )

    def themes(self) -> None:
        for path, (cls, pkg, lic) in THEME_FILES.items():
            if not Path(path).exists():
                continue
            x, sr = sf.read(path, always_2d=True)
            for shift in (0.0, -2.0, -1.0, 1.0, 2.0):
                self.add(
                    cls,
                    "theme",
                    resample_pitch(x.mean(axis=1), shift),
                    sr,
                    pkg,
                    path,
                    f"sound theme file, pitch/speed {shift:+.0f} semitones (resampling)",
                    lic,
                )

    def opensfx(self) -> None:
        cat = Path("/usr/share/games/openttd/baseset/opensfx/opensfx.cat")
        if not cat.exists():
            return
        entries = read_opensfx_cat(cat)
        for i, cls in OPENSFX.items():
            desc, data = entries[i]
            x, sr = sf.read(io.BytesIO(data), always_2d=True)
            for shift in (0.0, -2.0, 2.0):
                self.add(
                    cls,
                    "opensfx",
                    resample_pitch(x.mean(axis=1), shift),
                    sr,
                    "openttd-opensfx",
                    f"opensfx.cat #{i}: {desc}",
                    f"pitch/speed {shift:+.0f} semitones (resampling)",
                )

    def run(self, steps: dict[str, Callable[[], None]]) -> None:
        for name, step in steps.items():
            t0 = time.time()
            step()
            print(f"build_library: {name} done in {time.time() - t0:.1f} s", file=sys.stderr)
        write_provenance(self.rows, self.out / "provenance.csv")
        shutil.rmtree(self.tmp, ignore_errors=True)


_LANG_P = np.array([0.3, 0.15, 0.05, 0.1, 0.05, 0.08, 0.08, 0.08, 0.06, 0.05])


def _median_f0(x: np.ndarray, sr: int) -> float:
    """Median f0 (YIN, 60-400 Hz) of the frames within 20 dB of the loudest."""
    import librosa

    y = np.asarray(x, dtype=np.float64)
    frame = 2048 if sr <= 48000 else 4096
    f0 = librosa.yin(y, fmin=60, fmax=400, sr=sr, frame_length=frame, hop_length=frame // 4)
    rms = librosa.feature.rms(y=y, frame_length=frame, hop_length=frame // 4)[0][: f0.size]
    return float(np.median(f0[rms > 0.1 * rms.max()]))


def _speech_class(x: np.ndarray, sr: int) -> str:
    """female_speech or male_speech by median f0 (YIN) of the voiced frames (165 Hz split)."""
    return "female_speech" if _median_f0(x, sr) >= 165 else "male_speech"


def _piano_phrase(rng: np.random.Generator) -> list[tuple[float, float, int, int]]:
    """1-8 notes/chords: single notes, melodies, chords, arpeggios, octaves over MIDI 28-100."""
    kind = rng.integers(4)
    centre = int(rng.integers(36, 90))
    vel = int(rng.integers(35, 120))
    notes: list[tuple[float, float, int, int]] = []
    if kind == 0:  # single note
        notes.append((0.0, float(rng.uniform(0.3, 3.0)), centre, vel))
    elif kind == 1:  # melody
        t, k = 0.0, centre
        for _ in range(int(rng.integers(3, 9))):
            d = float(rng.choice([0.15, 0.25, 0.35, 0.5, 0.75]))
            k = int(np.clip(k + rng.integers(-4, 5), 28, 100))
            notes.append(
                (t, d * rng.uniform(0.8, 1.3), k, int(np.clip(vel + rng.integers(-15, 16), 20, 127)))
            )
            t += d
    else:  # chord (2) or arpeggio (3)
        shape = [0, int(rng.choice([3, 4])), 7, 12, int(rng.choice([10, 11, 14]))][: int(rng.integers(2, 6))]
        step = 0.0 if kind == 2 else float(rng.uniform(0.06, 0.2))
        dur = float(rng.uniform(0.5, 3.0))
        for j, s in enumerate(shape):
            notes.append(
                (j * step, dur, int(np.clip(centre + s - 12 * (j == 0 and rng.random() < 0.3), 28, 100)), vel)
            )
    return notes


def _ring_phrase(rng: np.random.Generator) -> list[tuple[float, float, int, int]]:
    on, off = float(rng.uniform(0.8, 2.0)), float(rng.uniform(1.0, 3.0))
    key = int(rng.integers(52, 80))
    return [(r * (on + off), on, key, int(rng.integers(80, 127))) for r in range(int(rng.integers(1, 4)))]


def _ringtone_phrase(rng: np.random.Generator) -> list[tuple[float, float, int, int]]:
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16])
    base = int(rng.integers(64, 84))
    melody = [
        (float(rng.choice([0.1, 0.15, 0.2, 0.3])), base + int(scale[rng.integers(scale.size)]))
        for _ in range(int(rng.integers(4, 9)))
    ]
    notes, t = [], 0.0
    for _ in range(int(rng.integers(2, 4))):
        for d, k in melody:
            notes.append((t, d * 0.9, k, 110))
            t += d
        t += float(rng.uniform(0.3, 1.0))
    return notes


def install() -> None:
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES], check=True, env=env
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="library folder to create")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--scale", type=float, default=1.0, help="multiply every clip count (0.05 for a quick test)"
    )
    ap.add_argument("--jobs", type=int, default=2, help="parallel speech synthesizer processes")
    ap.add_argument("--install", action="store_true", help="apt-get install the packages first (root)")
    ap.add_argument(
        "--only", default="", help="comma list of steps: speech,voices,piano,phones,themes,opensfx"
    )
    ap.add_argument("--overwrite", action="store_true", help="replace an existing library folder")
    ap.add_argument(
        "--append", action="store_true", help="add the --only steps' clips to an existing library"
    )
    args = ap.parse_args(argv)
    if any(f in str(args.out.resolve()) for f in _FORBIDDEN):
        ap.error("the library must not be built under a shared/ folder (evaluation data)")
    if args.install:
        install()
    if args.append and not (args.out / "provenance.csv").exists():
        ap.error(f"{args.out / 'provenance.csv'} not found: --append needs an existing library")
    if args.out.exists() and any(args.out.iterdir()) and not args.append:
        if not args.overwrite:
            ap.error(f"{args.out} is not empty (use --overwrite)")
        shutil.rmtree(args.out)
    b = Builder(args.out, args.seed, args.scale, args.jobs)
    if args.append:  # continue each class's numbering after the clips already there
        b.rows = read_provenance(args.out / "provenance.csv")
        b.counts.update(r.cls for r in b.rows)
    steps = {
        "speech": b.speech,
        "voices": b.voices,
        "piano": b.piano,
        "phones": b.phones,
        "themes": b.themes,
        "opensfx": b.opensfx,
    }
    if args.only:
        steps = {k: v for k, v in steps.items() if k in args.only.split(",")}
    t0 = time.time()
    b.run(steps)
    total = sum(sf.info(str(args.out / r.clip)).duration for r in b.rows)
    for cls, n in sorted(b.counts.items()):
        secs = sum(sf.info(str(args.out / r.clip)).duration for r in b.rows if r.cls == cls)
        print(f"build_library: {cls:18s} {n:5d} clips {secs / 60:6.1f} min", file=sys.stderr)
    print(
        f"build_library: {len(b.rows)} clips, {total / 60:.1f} min, in {time.time() - t0:.0f} s -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
