"""Source library: generator families, the mixed clip/generator bank, and the library builder's core."""

from __future__ import annotations

import importlib.util
import io
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.labels.classes import DCASE2020
from core.synthesis.generators import FAMILIES, GENERATORS, TARGET_RMS_DBFS, active_rms, render_variant
from core.synthesis.library import (
    LIBRARY_PEAK_DBFS,
    LIBRARY_RMS_DBFS,
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
from core.synthesis.sources import SourceBank

SR = 24000
REPO = Path(__file__).resolve().parents[1]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _centroid(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float((spec * f).sum() / spec.sum())


def _low_share(x: np.ndarray, hz: float) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    return float(spec[np.fft.rfftfreq(x.size, 1 / SR) < hz].sum() / spec.sum())


# --------------------------------------------------------------------------- families

FAMILY_CASES = [(k, spec) for k, specs in FAMILIES.items() for spec in specs[1:]]


def test_every_class_has_several_families_the_classic_one_first():
    assert list(FAMILIES) == list(GENERATORS)
    for key, specs in FAMILIES.items():
        assert specs[0] is GENERATORS[key] and specs[0].family == "classic"
        assert len(specs) >= 2
        assert len({s.family for s in specs}) == len(specs)
        assert all(s.key == key and s.fn.__doc__ and len(s.fn.__doc__) > 60 for s in specs)


@pytest.mark.parametrize(("key", "spec"), FAMILY_CASES, ids=[f"{k}-{s.family}" for k, s in FAMILY_CASES])
def test_new_families_give_finite_normalised_events_in_their_duration_range(key, spec):
    from scipy import signal

    from core.synthesis.generators import MIN_DURATION_S, _sos, finish

    lo, hi = spec.duration_s
    for seed in range(5):
        raw = spec.fn(_rng(seed), SR)
        x = finish(signal.sosfilt(_sos(SR, "highpass", 10.0), raw), SR, MIN_DURATION_S)
        again = finish(
            signal.sosfilt(_sos(SR, "highpass", 10.0), spec.fn(_rng(seed), SR)), SR, MIN_DURATION_S
        )
        np.testing.assert_array_equal(x, again)
        assert np.all(np.isfinite(x)) and np.abs(x).max() > 0.05
        assert lo - 0.01 <= x.size / SR <= hi + 0.01, (key, spec.family, x.size / SR)
        assert abs(20 * np.log10(active_rms(x, SR)) - TARGET_RMS_DBFS) < 0.05


def _family(key: str, family: str):
    return next(s for s in FAMILIES[key] if s.family == family)


def _run(key: str, family: str, seed: int) -> np.ndarray:
    return np.asarray(_family(key, family).fn(_rng(seed), SR), dtype=np.float64)


def test_families_are_class_plausible():
    for seed in range(4):
        assert 2500 <= _centroid(_run("alarm", "detector", seed)) <= 5000  # piezo at 2.8-3.6 kHz
        assert 400 <= _centroid(_run("alarm", "siren", seed)) <= 2500
        assert _low_share(_run("running_engine", "two_stroke", seed), 2000) > 0.8
        assert _low_share(_run("running_engine", "motor", seed), 4000) > 0.8
        assert _centroid(_run("crash", "glass", seed)) > 1500
        assert _centroid(_run("barking_dog", "small", seed)) > _centroid(_run("barking_dog", "large", seed))
    from tests.test_synth_sources import _median_f0

    for seed in range(3):
        assert 70 <= _median_f0(_run("male_speech", "deep", seed), 50, 400) <= 135
        assert 155 <= _median_f0(_run("female_speech", "expressive", seed), 60, 400) <= 325
        assert 750 <= _median_f0(_run("female_scream", "shriek", seed), 200, 1600) <= 1450
        assert 190 <= _median_f0(_run("male_scream", "yell", seed), 100, 1500) <= 460


def test_render_variant_is_deterministic_and_reaches_every_family():
    for key, specs in FAMILIES.items():
        seen = set()
        for seed in range(40):
            x, fam = render_variant(key, _rng(seed))
            y, fam2 = render_variant(key, _rng(seed))
            assert fam == fam2
            np.testing.assert_array_equal(x, y)
            seen.add(fam)
            if len(seen) == len(specs):
                break
        assert seen == {s.family for s in specs}, key


# --------------------------------------------------------------------------- mixed bank


@pytest.fixture
def small_lib(tmp_path: Path) -> Path:
    t = np.arange(int(1.5 * SR)) / SR
    for cls, f in (("piano", 440.0), ("female_speech", 200.0)):
        for i in range(3):
            write_clip(tmp_path / cls / f"c{i}.wav", 0.3 * np.sin(2 * np.pi * f * (1 + 0.1 * i) * t))
    return tmp_path


def test_mixed_bank_covers_every_class_and_is_deterministic(small_lib: Path):
    plain = SourceBank.from_folder(small_lib)
    assert plain.available_classes == [DCASE2020.index("female speech"), DCASE2020.index("piano")]
    mixed = SourceBank.from_folder(small_lib, generators_share=0.3)
    assert mixed.available_classes == list(range(14))
    piano = DCASE2020.index("piano")
    origins = []
    for seed in range(40):
        a = mixed.sample(piano, _rng(seed))
        b = mixed.sample(piano, _rng(seed))
        np.testing.assert_array_equal(a.samples, b.samples)
        assert a.origin == b.origin
        origins.append(a.origin)
    share = np.mean([o.startswith("builtin:") for o in origins])
    assert 0.1 <= share <= 0.55
    assert any(o.endswith(".wav") for o in origins)
    for i in range(14):  # classes without clips come from the generator families
        if i not in (piano, DCASE2020.index("female speech")):
            assert mixed.sample(i, _rng(i)).origin.startswith(f"builtin:{DCASE2020.id(i)}")
    # share 0 samples exactly like the plain folder bank; share 1 only generators
    for seed in range(5):
        np.testing.assert_array_equal(
            SourceBank.from_folder(small_lib, generators_share=0.0).sample(piano, _rng(seed)).samples,
            plain.sample(piano, _rng(seed)).samples,
        )
        assert (
            SourceBank.from_folder(small_lib, generators_share=1.0)
            .sample(piano, _rng(seed))
            .origin.startswith("builtin:piano")
        )
    with pytest.raises(ValueError):
        SourceBank.from_folder(small_lib, generators_share=1.5)


def test_builtin_bank_with_variety_uses_families():
    bank = SourceBank.builtin(variety=True)
    origins = {bank.sample(0, _rng(s)).origin for s in range(30)}
    assert "builtin:alarm" in origins and any(o.startswith("builtin:alarm/") for o in origins)
    assert SourceBank.builtin().sample(0, _rng(1)).origin == "builtin:alarm"


# --------------------------------------------------------------------------- builder core


def test_prepare_clip_makes_mono_24k_trimmed_normalised_peak_safe():
    sr = 44100
    t = np.arange(sr) / sr
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    x = np.concatenate([np.zeros(sr // 2), tone, np.zeros(sr // 2)])
    stereo = np.stack([x, x], axis=1)
    y = prepare_clip(stereo, sr)
    assert y is not None and y.dtype == np.float32
    assert abs(y.size / SR - 1.0) < 0.01
    assert abs(20 * np.log10(active_rms(y, SR)) - LIBRARY_RMS_DBFS) < 0.1
    spiky = np.zeros(sr)
    spiky[::4410] = 1.0
    z = prepare_clip(spiky + 1e-3 * np.sin(2 * np.pi * 300 * t), sr)
    assert z is not None and np.abs(z).max() <= 10 ** (LIBRARY_PEAK_DBFS / 20) + 1e-4
    assert prepare_clip(np.zeros(sr), sr) is None
    assert prepare_clip(tone[:1000], sr) is None  # too short
    assert prepare_clip(np.full(10, np.nan), sr) is None


def test_clip_and_provenance_files_round_trip(tmp_path: Path):
    x = prepare_clip(0.1 * np.sin(np.arange(SR) * 0.2), SR)
    assert x is not None
    write_clip(tmp_path / "piano" / "a.wav", x)
    info = sf.info(str(tmp_path / "piano" / "a.wav"))
    assert info.samplerate == SR and info.channels == 1 and info.subtype == "PCM_16"
    rows = [
        ProvenanceRow(
            "piano/a.wav", "piano", "fluid-soundfont-gm", "3.1-5.3", "MIT", "FluidR3_GM.sf2", "x, y"
        ),
        ProvenanceRow("alarm/b.wav", "alarm", "generated", "-", "-", "-", 'quote " and, comma'),
    ]
    write_provenance(rows, tmp_path / "provenance.csv")
    assert read_provenance(tmp_path / "provenance.csv") == sorted(rows, key=lambda r: r.clip)
    assert SourceBank.from_folder(tmp_path).clip_count(DCASE2020.index("piano")) == 1


def test_midi_file_is_a_valid_smf():
    data = midi_file([(0.0, 0.5, 60, 100), (0.5, 0.5, 64, 90)], program=0, program_changes=[(0.4, 12)])
    assert data[:4] == b"MThd" and struct.unpack(">IHHH", data[4:14]) == (6, 0, 1, 480)
    assert data[14:18] == b"MTrk" and struct.unpack(">I", data[18:22])[0] == len(data) - 22
    assert data.endswith(b"\xff\x2f\x00") and b"\xc0\x0c" in data and b"\x90\x3c\x64" in data
    with pytest.raises(ValueError):
        midi_file([(0.0, 0.5, 200, 100)])


def test_read_opensfx_cat_on_a_synthetic_container(tmp_path: Path):
    buf = io.BytesIO()
    sf.write(buf, np.zeros(100), 11025, format="WAV", subtype="PCM_16")
    wav = buf.getvalue()
    names = [b"first. License: CC0\x00", b"second\x00"]
    entries = [bytes([len(n)]) + n + wav for n in names]
    header_len = 8 * len(entries)
    offsets, pos = [], header_len
    for e in entries:
        offsets.append((pos, len(e)))
        pos += len(e)
    data = b"".join(
        struct.pack("<II", o | (0x80000000 if i == 0 else 0), n) for i, (o, n) in enumerate(offsets)
    )
    (tmp_path / "x.cat").write_bytes(data + b"".join(entries))
    out = read_opensfx_cat(tmp_path / "x.cat")
    assert [n for n, _ in out] == ["first. License: CC0", "second"]
    assert sf.info(io.BytesIO(out[1][1])).samplerate == 11025


def test_sentence_and_pitch_helpers():
    a, b = sentence(_rng(1)), sentence(_rng(1))
    assert a == b and a[0].isupper() and a[-1] in ".?" and 4 <= len(a.split()) <= 14
    assert sentence(_rng(1), "de") != a
    x = np.sin(np.arange(SR) * 0.1)
    assert abs(resample_pitch(x, 12.0).size - SR / 2) <= 2
    np.testing.assert_array_equal(resample_pitch(x, 0.0), x)


def _load_builder():
    path = REPO / "experiments" / "sources" / "build_library.py"
    spec = importlib.util.spec_from_file_location("build_library", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_library"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_builder_refuses_shared_folders_and_builds_a_tiny_library(tmp_path: Path):
    mod = _load_builder()
    with pytest.raises(SystemExit):
        mod.main(["--out", "/work/shared/data/real/x", "--scale", "0.01"])
    missing = [t for t in ("espeak-ng", "fluidsynth") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs the Debian tools {', '.join(missing)} (apt-get install espeak-ng fluidsynth ...)")
    out = tmp_path / "lib"
    assert mod.main(["--out", str(out), "--scale", "0.01", "--only", "speech,piano"]) == 0
    rows = read_provenance(out / "provenance.csv")
    assert {r.cls for r in rows} >= {"female_speech", "male_speech", "piano"}
    for r in rows:
        x, sr = sf.read(str(out / r.clip))
        assert sr == SR and x.ndim == 1 and np.abs(x).max() > 0.01 and r.licence and r.version
    bank = SourceBank.from_folder(out, generators_share=0.5)
    assert bank.available_classes == list(range(14))


def _voice(f0: float, seconds: float, seed: int) -> np.ndarray:
    """A vowel-like tone: harmonics of ``f0`` under a speech-like 1/k roll-off, with a little vibrato."""
    t = np.arange(int(seconds * 44100)) / 44100
    rng = _rng(seed)
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / 44100
    x = sum(np.sin(k * phase + rng.uniform(0, 6)) / k for k in range(1, 25) if k * f0 < 8000)
    return (0.3 * x / np.abs(x).max() * np.hanning(t.size) ** 0.2).astype(np.float32)


def test_voices_step_assigns_each_speaker_by_f0_and_appends(tmp_path: Path, monkeypatch):
    """Speakers at 120 / 230 Hz become male / female speech; one at 172 Hz is left out, not guessed.
    --append keeps the library's rows and numbers new clips after them."""
    mod = _load_builder()
    voices = tmp_path / "klettres"
    for lang, f0 in (("aa", 120.0), ("bb", 230.0), ("cc", 172.0)):
        folder = voices / lang / "alpha"
        folder.mkdir(parents=True)
        for i in range(6):
            sf.write(str(folder / f"{i}.ogg"), _voice(f0 * (1 + 0.02 * i), 0.6, i), 44100)
    monkeypatch.setattr(mod, "KLETTRES", voices)
    out = tmp_path / "lib"
    write_clip(out / "female_speech" / "espeak_0001.wav", _voice(220.0, 0.5, 9)[::2])
    old = ProvenanceRow(
        "female_speech/espeak_0001.wav", "female_speech", "espeak-ng-data", "1", "GPL-3+", "v", "p"
    )
    write_provenance([old], out / "provenance.csv")
    with pytest.raises(SystemExit):  # without --append a non-empty library is refused
        mod.main(["--out", str(out), "--only", "voices"])
    assert mod.main(["--out", str(out), "--only", "voices", "--append", "--seed", "3"]) == 0
    rows = read_provenance(out / "provenance.csv")
    assert rows[0] == old
    new = [r for r in rows if r.package == "klettres-data"]
    by_speaker = {(r.original, r.cls) for r in new}
    assert by_speaker == {
        (str(voices / "aa" / "alpha"), "male_speech"),
        (str(voices / "bb" / "alpha"), "female_speech"),
    }
    assert len(new) == 2 * 8  # at least 8 clips per speaker (the floor for small sets)
    female = sorted(r.clip for r in new if r.cls == "female_speech")
    assert female[0] == "female_speech/klettres_bb_0002.wav"  # numbered after the existing clip
    for r in new:
        x, sr = sf.read(str(out / r.clip))
        assert sr == SR and 2 * 0.5 <= x.size / SR <= 6 * 0.7 + 5 * 0.3  # 2-6 pieces and pauses


def test_split_library_holds_out_speakers_by_original_folder(tmp_path: Path):
    path = REPO / "experiments" / "bundled_models" / "split_library.py"
    spec = importlib.util.spec_from_file_location("split_library", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    lib = tmp_path / "lib"
    rows = [
        ProvenanceRow(
            "male_speech/klettres_fr_0001.wav",
            "male_speech",
            "klettres-data",
            "1",
            "GPL-2+",
            "/k/fr/alpha",
            "p",
        ),
        ProvenanceRow(
            "male_speech/klettres_en_0002.wav",
            "male_speech",
            "klettres-data",
            "1",
            "GPL-2+",
            "/k/en/alpha",
            "p",
        ),
        ProvenanceRow(
            "piano/fluidsynth_0001.wav", "piano", "musescore-general-soundfont-small", "1", "MIT", "sf3", "p"
        ),
    ]
    for r in rows:
        write_clip(lib / r.clip, _voice(110.0, 0.5, 1)[::2])
    write_provenance(rows, lib / "provenance.csv")
    counts = mod.split(lib, tmp_path / "train", tmp_path / "held", hold_out_originals=("/k/fr/alpha",))
    assert counts == {"train": 1, "held_out": 2}
    assert [r.clip for r in read_provenance(tmp_path / "held" / "provenance.csv")] == [
        rows[0].clip,
        rows[2].clip,
    ]
    assert (tmp_path / "train" / rows[1].clip).resolve() == (lib / rows[1].clip).resolve()
