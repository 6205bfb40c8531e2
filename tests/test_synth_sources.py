"""Source events for scene synthesis: the built-in class generators and NIGENS-like folders."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from core.common.errors import SeldError
from core.dsp.features import mel_filterbank
from core.labels.classes import DCASE2020, STARSS23
from core.synthesis.generators import (
    GENERATORS,
    MAX_DURATION_S,
    MIN_DURATION_S,
    TARGET_RMS_DBFS,
    active_rms,
    frame_rms,
    piano_inharmonicity,
    piano_note,
    piano_partials,
)
from core.synthesis.sources import SourceBank, SourceClip, generate, load_clip, match_class_name

SR = 24000


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _db(x: float) -> float:
    return 20.0 * np.log10(x)


def _median_f0(x: np.ndarray, fmin: float, fmax: float) -> float:
    """Median YIN f0 over the frames within 20 dB of the loudest."""
    y = x.astype(np.float64)
    f0 = librosa.yin(y, fmin=fmin, fmax=fmax, sr=SR, frame_length=1024, hop_length=240)
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=240)[0][: f0.size]
    return float(np.median(f0[rms > 0.1 * rms.max()]))


def _peak_near(spec: np.ndarray, freqs: np.ndarray, f: float, rel: float = 0.02) -> float:
    """Frequency of the largest spectrum bin within ``f`` ± ``rel``."""
    band = (freqs > f * (1 - rel)) & (freqs < f * (1 + rel))
    return float(freqs[band][np.argmax(spec[band])])


def _onsets(x: np.ndarray, min_gap_s: float, rel_height: float) -> np.ndarray:
    """Times (s) of the peaks of the 10-ms RMS envelope at least ``min_gap_s`` apart."""
    env = np.concatenate([[0.0], frame_rms(x.astype(np.float64), SR, 0.01)])  # a peak in frame 0 counts
    peaks, _ = signal.find_peaks(env, height=rel_height * env.max(), distance=max(1, int(min_gap_s / 0.01)))
    return (peaks - 1) * 0.01


# --------------------------------------------------------------------------- all classes


def test_there_is_one_generator_per_dcase2020_class():
    assert list(GENERATORS) == list(DCASE2020.ids)
    for spec in GENERATORS.values():
        lo, hi = spec.duration_s
        assert MIN_DURATION_S <= lo < hi <= MAX_DURATION_S
        assert spec.fn.__doc__ and len(spec.fn.__doc__) > 60  # what it models and what varies


@pytest.mark.parametrize("key", list(GENERATORS))
def test_every_class_gives_clean_normalised_events_in_its_duration_range(key):
    lo, hi = GENERATORS[key].duration_s
    lengths = []
    for seed in range(4):
        x = generate(key, _rng(seed))
        assert x.dtype == np.float32 and x.ndim == 1
        assert np.all(np.isfinite(x))
        lengths.append(x.size / SR)
        assert lo - 0.01 <= x.size / SR <= hi + 0.01
        assert abs(_db(active_rms(x, SR)) - TARGET_RMS_DBFS) < 0.05
        peak = np.abs(x).max()
        assert peak > 0.05
        # fades at both ends, and no leading silence: the first 20 ms hold sound above -60 dB of the peak
        assert abs(x[0]) < 0.01 * peak and abs(x[-1]) < 0.01 * peak
        assert np.abs(x[: int(0.02 * SR)]).max() > 1e-3 * peak
    assert len(set(lengths)) > 1  # the duration varies with the seed


def test_same_seed_same_samples_other_seed_other_samples():
    for key in GENERATORS:
        a, b = generate(key, _rng(7)), generate(key, _rng(7))
        np.testing.assert_array_equal(a, b)
        c = generate(key, _rng(8))
        assert a.size != c.size or not np.array_equal(a, c)


def test_generate_accepts_index_name_id_and_alias_and_other_rates():
    ref = generate(0, _rng(3))
    for name in ("alarm", "Alarm", "ALARM"):
        np.testing.assert_array_equal(generate(name, _rng(3)), ref)
    np.testing.assert_array_equal(generate("dog", _rng(3)), generate(3, _rng(3)))
    np.testing.assert_array_equal(generate("crying_baby", _rng(3)), generate("crying baby", _rng(3)))
    with pytest.raises(SeldError, match="spaceship"):
        generate("spaceship", _rng(0))
    x48 = generate("alarm", _rng(3), sr=48000)  # the alarm draws no noise: same parameters at any rate
    assert abs(x48.size / 48000 - ref.size / SR) < 0.002
    spec = np.abs(np.fft.rfft(x48.astype(np.float64)))
    f48 = np.fft.rfftfreq(x48.size, 1 / 48000)[np.argmax(spec)]
    f24 = np.fft.rfftfreq(ref.size, 1 / SR)[np.argmax(np.abs(np.fft.rfft(ref.astype(np.float64))))]
    assert abs(f48 - f24) < 2.0
    with pytest.raises(ValueError):
        generate("piano", _rng(3), sr=8000)


# --------------------------------------------------------------------------- signatures


def test_alarm_dominant_frequency_is_in_its_band():
    for seed in range(6):
        x = generate("alarm", _rng(seed)).astype(np.float64)
        spec = np.abs(np.fft.rfft(x))
        f = np.fft.rfftfreq(x.size, 1 / SR)[np.argmax(spec)]
        assert 1450.0 <= f <= 3550.0


def test_piano_partials_follow_the_stiff_string_law():
    for seed, midi in ((0, 45), (1, 57), (2, 64)):
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        b = piano_inharmonicity(f0)
        x = piano_note(f0, 2.0, SR, _rng(seed), b=b)
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size), n=8 * x.size))
        freqs = np.fft.rfftfreq(8 * x.size, 1 / SR)

        # f0 from the spectrum: the lowest strong peak is the first partial f0 sqrt(1 + B)
        peaks, _ = signal.find_peaks(spec, height=0.05 * spec.max())
        f1 = freqs[peaks[0]]
        assert abs(f1 / (f0 * np.sqrt(1 + b)) - 1) < 0.002
        f0_est = f1 / np.sqrt(1 + b)
        expected = piano_partials(f0_est, b, 10)
        for n in range(2, 11):
            assert abs(_peak_near(spec, freqs, expected[n - 1]) / expected[n - 1] - 1) < 0.001
        # inharmonicity is measurable: partial 10 lies well above 10 f1
        assert _peak_near(spec, freqs, expected[9]) / (10 * f1) - 1 > 0.5 * (
            np.sqrt(1 + 100 * b) / np.sqrt(1 + b) - 1
        )


def test_speech_f0_male_below_female_and_within_ranges():
    male = [_median_f0(generate("male speech", _rng(s)), 60, 400) for s in range(5)]
    female = [_median_f0(generate("female speech", _rng(s)), 60, 400) for s in range(5)]
    assert all(85 <= f <= 155 for f in male), male
    assert all(165 <= f <= 255 for f in female), female
    assert max(male) < min(female)


def test_scream_and_cry_f0_within_ranges():
    for s in range(4):
        assert 300 <= _median_f0(generate("male scream", _rng(s)), 200, 1500) <= 700
        assert 600 <= _median_f0(generate("female scream", _rng(s)), 200, 1500) <= 1200
        assert 350 <= _median_f0(generate("crying baby", _rng(s)), 200, 1500) <= 550


def test_engine_energy_is_below_500_hz():
    for seed in range(5):
        x = generate("running engine", _rng(seed)).astype(np.float64)
        power = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(x.size, 1 / SR)
        assert power[freqs < 500].sum() / power.sum() > 0.9


def test_fire_crackles_give_a_high_crest_factor():
    def crest(x: np.ndarray) -> float:
        return float(np.abs(x).max() / active_rms(x, SR))

    fire = [crest(generate("burning fire", _rng(s))) for s in range(6)]
    engine = [crest(generate("running engine", _rng(s))) for s in range(3)]
    alarm = [crest(generate("alarm", _rng(s))) for s in range(3)]
    assert min(fire) > 10.0  # > 20 dB
    assert min(fire) > 2 * max(engine + alarm)


def test_footsteps_come_at_the_stated_rate():
    for seed in range(6):
        x = generate("footsteps", _rng(seed))
        on = _onsets(x, 0.25, 0.25)
        assert on.size >= 3
        rate = (on.size - 1) / (on[-1] - on[0])
        assert 1.4 <= rate <= 2.6
        assert on.size == pytest.approx(x.size / SR * rate, abs=1.5)


def test_knocks_come_in_groups_of_two_to_five():
    for seed in range(8):
        on = _onsets(generate("knocking on door", _rng(seed)), 0.08, 0.2)
        ioi = np.diff(on)
        groups = np.split(on, np.flatnonzero(ioi > 0.5) + 1)
        assert 1 <= len(groups) <= 2
        assert all(2 <= g.size <= 5 for g in groups), [g.size for g in groups]
        within = ioi[ioi <= 0.5]
        assert np.all((within >= 0.1) & (within <= 0.28)), within


def test_ringing_phone_shows_its_cadence():
    for seed in range(8):
        x = generate("ringing phone", _rng(seed))
        env = _db(frame_rms(x.astype(np.float64), SR, 0.05) + 1e-12)
        on = env > env.max() - 20
        edges = np.flatnonzero(np.diff(on.astype(int))) + 1
        runs = np.split(on, edges)
        on_runs = [r.size * 0.05 for r in runs if r[0]]
        off_runs = [r.size * 0.05 for r in runs if not r[0]]
        assert len(on_runs) >= 2
        assert all(0.25 <= d <= 1.3 for d in on_runs), on_runs
        assert max(off_runs) >= 1.3
        assert 0.3 < 1 - on.mean() < 0.85


def _mean_log_mel(x: np.ndarray) -> np.ndarray:
    """Mean log-mel spectrum (dB, level removed) over the frames within 40 dB of the loudest."""
    n_fft, hop = 1024, 480
    xp = np.pad(x.astype(np.float64), (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop] * np.hanning(n_fft)
    mel = (np.abs(np.fft.rfft(frames, axis=1)) ** 2) @ mel_filterbank()
    energy = mel.sum(axis=1)
    log = 10 * np.log10(mel[energy > 1e-4 * energy.max()] + 1e-10).mean(axis=0)
    return log - log.mean()


def test_classes_are_recognisable_by_a_nearest_centroid_classifier():
    train = {k: np.array([_mean_log_mel(generate(k, _rng(100 + s))) for s in range(8)]) for k in GENERATORS}
    mu = np.array([f.mean(axis=0) for f in train.values()])
    sd = np.array([f.std(axis=0) + 1.0 for f in train.values()])  # per-class spread per band (dB)
    hits_scaled = hits_plain = total = 0
    for i, key in enumerate(GENERATORS):
        for s in range(6):
            f = _mean_log_mel(generate(key, _rng(900 + s)))
            scaled = (((mu - f) / sd) ** 2).sum(axis=1) + 2 * np.log(sd).sum(axis=1)
            hits_scaled += int(np.argmin(scaled) == i)
            hits_plain += int(np.argmin(((mu - f) ** 2).sum(axis=1)) == i)
            total += 1
    assert hits_scaled / total >= 0.9
    assert hits_plain / total >= 0.75


# --------------------------------------------------------------------------- builtin bank


def test_builtin_bank_samples_every_class_deterministically():
    bank = SourceBank.builtin()
    assert bank.classes is DCASE2020 and bank.available_classes == list(range(14))
    for i in bank.available_classes:
        clip = bank.sample(i, _rng(i))
        assert isinstance(clip, SourceClip)
        assert clip.class_index == i and clip.class_name == DCASE2020[i]
        assert clip.origin == f"builtin:{DCASE2020.id(i)}"
        np.testing.assert_array_equal(clip.samples, bank.sample(i, _rng(i)).samples)
    with pytest.raises(dataclasses.FrozenInstanceError):
        clip.class_index = 0  # type: ignore[misc]


def test_builtin_bank_cuts_long_events_to_an_active_excerpt():
    bank = SourceBank.builtin()
    engine = DCASE2020.index("running engine")
    for seed in range(3):
        clip = bank.sample(engine, _rng(seed), max_duration_s=1.0)
        assert 0.3 * SR < clip.samples.size <= SR
        assert abs(_db(active_rms(clip.samples, SR)) - TARGET_RMS_DBFS) < 0.05
        assert np.abs(clip.samples[: int(0.02 * SR)]).max() > 1e-3 * np.abs(clip.samples).max()
    phone = DCASE2020.index("ringing phone")
    for seed in range(4):  # an excerpt of a phone never lands in the silence between rings
        clip = bank.sample(phone, _rng(seed), max_duration_s=0.5)
        assert frame_rms(clip.samples.astype(np.float64), SR, 0.05)[:4].min() > 0.01
    with pytest.raises(ValueError):
        bank.sample(engine, _rng(0), max_duration_s=0.0)


def test_builtin_bank_for_other_class_sets():
    bank = SourceBank.builtin(STARSS23)
    assert bank.available_classes == [0, 1, 3, 6, 12]  # speech x2, telephone, footsteps, knock
    assert bank.sample(3, _rng(0)).origin == "builtin:ringing_phone"
    with pytest.raises(SeldError, match="clapping"):
        bank.sample(2, _rng(0))


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Crying Baby", "crying baby"),
        ("crying_baby", "crying baby"),
        ("cryingBaby", "crying baby"),
        ("crying-babies", "crying baby"),
        ("baby", "crying baby"),
        ("dogs", "barking dog"),
        ("engine", "running engine"),
        ("phone", "ringing phone"),
        ("knock", "knocking on door"),
        ("fire", "burning fire"),
        ("footstep", "footsteps"),
        ("Footsteps", "footsteps"),
        ("femaleScream", "female scream"),
        ("male_speech", "male speech"),
        ("01_alarm", "alarm"),
        ("spaceship", None),
    ],
)
def test_folder_names_match_classes_tolerantly(name, expected):
    i = match_class_name(name)
    assert (None if i is None else DCASE2020[i]) == expected


def test_aliases_reach_other_class_sets():
    assert STARSS23[match_class_name("phone", STARSS23)] == "telephone"
    assert STARSS23[match_class_name("knocking", STARSS23)] == "knock"
    assert match_class_name("baby", STARSS23) is None


# --------------------------------------------------------------------------- folders


def _tone(freq: float, dur: float, sr: int, pad: float = 0.25) -> np.ndarray:
    t = np.arange(int(dur * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    z = np.zeros(int(pad * sr))
    return np.concatenate([z, x, z])


@pytest.fixture()
def nigens(tmp_path: Path) -> Path:
    root = tmp_path / "nigens"
    for d in ("Alarm", "dog", "crying-baby", "knock", "general"):
        (root / d).mkdir(parents=True)
    sf.write(root / "Alarm" / "a1.wav", _tone(2000, 1.0, SR), SR)
    (root / "Alarm" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    (root / "Alarm" / "notes.txt").write_text("not audio")
    (root / "Alarm" / "._a1.wav").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # ignored, no warning
    stereo = np.stack([_tone(500, 1.0, 44100), _tone(1500, 1.0, 44100)], axis=1)
    sf.write(root / "dog" / "bark_stereo.wav", stereo, 44100)
    sf.write(root / "crying-baby" / "cry.flac", _tone(440, 0.8, 48000), 48000)
    sf.write(root / "general" / "other.wav", _tone(300, 0.5, SR), SR)
    return root


def test_folder_bank_maps_mixes_resamples_and_warns(nigens: Path):
    bank = SourceBank.from_folder(nigens)
    assert bank.available_classes == [0, 1, 3]  # alarm, crying baby, barking dog; knock/ is empty
    assert any("broken.wav" in w for w in bank.warnings)
    assert any("general" in w for w in bank.warnings)
    assert len(bank.warnings) == 2
    assert bank.clip_count(0) == 1

    dog = bank.sample(3, _rng(0))
    assert dog.class_name == "barking dog" and dog.origin.endswith("bark_stereo.wav")
    assert dog.samples.dtype == np.float32 and dog.samples.ndim == 1
    assert abs(dog.samples.size - SR) <= 48  # 1 s of sound at 24 kHz (± resampler ringing), silence trimmed
    assert abs(_db(active_rms(dog.samples, SR)) - TARGET_RMS_DBFS) < 0.05
    power = np.abs(np.fft.rfft(dog.samples * np.hanning(dog.samples.size))) ** 2
    freqs = np.fft.rfftfreq(dog.samples.size, 1 / SR)
    p500, p1500 = (power[np.abs(freqs - f) < 20].sum() for f in (500, 1500))
    assert p500 + p1500 > 0.99 * power.sum()
    assert abs(10 * np.log10(p500 / p1500)) < 0.2  # both channels in the mono mix, equally

    cry = bank.sample(1, _rng(0))
    assert abs(cry.samples.size - int(0.8 * SR)) <= 48  # 48 kHz FLAC resampled

    with pytest.raises(SeldError, match="knocking on door"):
        bank.sample(9, _rng(0))


def test_folder_bank_clips_are_independent_copies(nigens: Path):
    bank = SourceBank.from_folder(nigens)
    a = bank.sample(0, _rng(1))
    a.samples[:] = 0.0
    b = bank.sample(0, _rng(1))
    assert np.abs(b.samples).max() > 0.05


def test_folder_bank_errors(tmp_path: Path, nigens: Path):
    (nigens / "spaceship").mkdir()
    with pytest.raises(SeldError) as err:
        SourceBank.from_folder(nigens)
    assert str(nigens) in str(err.value) and "spaceship" in str(err.value) and "barking dog" in str(err.value)

    broken = tmp_path / "broken"
    (broken / "alarm").mkdir(parents=True)
    (broken / "alarm" / "x.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(SeldError, match="no usable"):
        SourceBank.from_folder(broken)
    with pytest.raises(SeldError, match="no class sub-folders"):
        SourceBank.from_folder(tmp_path / "broken" / "alarm")
    with pytest.raises(SeldError, match="not a folder"):
        SourceBank.from_folder(tmp_path / "missing")


def test_folder_bank_cuts_long_clips_to_random_active_excerpts(tmp_path: Path):
    root = tmp_path / "bank"
    (root / "fire").mkdir(parents=True)
    rng = _rng(0)
    long = np.concatenate([np.zeros(SR), 0.1 * rng.standard_normal(6 * SR)])
    sf.write(root / "fire" / "long.wav", long, SR)
    bank = SourceBank.from_folder(root)
    fire = DCASE2020.index("burning fire")
    clips = [bank.sample(fire, _rng(s), max_duration_s=1.5).samples for s in range(4)]
    for c in clips:
        assert 0.5 * SR < c.size <= int(1.5 * SR)
        assert abs(_db(active_rms(c, SR)) - TARGET_RMS_DBFS) < 0.05
    np.testing.assert_array_equal(clips[0], bank.sample(fire, _rng(0), max_duration_s=1.5).samples)
    assert not all(np.array_equal(clips[0], c) for c in clips[1:])
    whole = bank.sample(fire, _rng(0)).samples
    assert abs(whole.size - 6 * SR) <= 24  # the leading second of silence is trimmed


def test_real_speech_clips_load_like_the_builtins(tmp_path: Path, real_data: Path):
    src = real_data / "mono_events"
    female = sorted(src.glob("vctk_*female_speech.wav"))
    male = sorted(src.glob("*male_speech_cc0.wav"))
    if not female or not male:
        pytest.skip("real speech clips not found in mono_events/")
    root = tmp_path / "real"
    (root / "femaleSpeech").mkdir(parents=True)
    (root / "male speech").mkdir()
    for f in female:
        shutil.copy(f, root / "femaleSpeech" / f.name)
    shutil.copy(male[0], root / "male speech" / male[0].name)
    bank = SourceBank.from_folder(root)
    assert bank.available_classes == [DCASE2020.index("female speech"), DCASE2020.index("male speech")]
    assert bank.warnings == []
    f_clip = bank.sample(DCASE2020.index("female speech"), _rng(0))
    m_clip = bank.sample(DCASE2020.index("male speech"), _rng(0))
    assert abs(m_clip.samples.size / SR - sf.info(male[0]).duration) < 0.1
    for clip in (f_clip, m_clip):
        assert abs(_db(active_rms(clip.samples, SR)) - TARGET_RMS_DBFS) < 0.05
    np.testing.assert_array_equal(load_clip(m_clip.origin), m_clip.samples)
    # the real voices fall in the f0 ranges the built-in speech generators use
    f0_f, f0_m = _median_f0(f_clip.samples, 60, 400), _median_f0(m_clip.samples, 60, 400)
    assert 165 <= f0_f <= 255 and 85 <= f0_m <= 155
