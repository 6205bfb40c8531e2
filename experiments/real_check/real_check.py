"""The bundled models on real material: the checks of issue 17, for reporting only.

    python experiments/real_check/real_check.py [--foa PACKAGE] [--mic PACKAGE] [--real ../shared/data/real]

Reads third-party recordings in ``../shared/data/real`` (see its README for origins and
licences). They are for **evaluation only**: this script reports numbers; nothing here is
used to train a model, choose a checkpoint or tune a threshold.

1. **MIC in a real room**: two real recordings of female speech (VCTK p225_001 and
   p336_413) convolved with a measured room response of a real Eigenmike em32 (3D-MARCo,
   loudspeaker at +90° azimuth, 3 m; capsules 6, 10, 26, 22 = the DCASE MIC format). The
   speech frames are those whose dry level is within 30 dB of the loudest 100 ms; the check
   is the share of them where the model finds *female speech* within 25° of (+90°, 0°).
2. **The same speech in free field**: a plane wave from (+90°, 0°) in FOA (AmbiX SN3D), with
   a little noise; the same share, and the classes the FOA model names.
3. **FOA on a real outdoor ambience with no event** (EigenScape "Beach", 1 s): the frames
   where the model detects anything (the fewer the better).

Prints one block per check; the model runs with its fast default (no test-time rotation).
With ``--snr-sweep``, check 2 is repeated with diffuse-like noise (independent Gaussian noise,
each first-order channel at 1/3 of W's power) at SNRs of 80, 40, 30, 20 and 10 dB re the dry
speech's mean power (on top of check 2's own noise), and check 3 with the beach scaled by -30 to +10 dB: diagnoses of the two
FOA failures, reporting only like the rest.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

FEMALE_SPEECH = 6  # DCASE 2020 class index
SPEECH_FILES = ("vctk_p225_001_female_speech.wav", "vctk_p336_413_female_speech.wav")
ROOM_RESPONSE = "rirs/3d_marco/plus90deg_3m_em32_tetra_MICformat_caps6-10-26-22.wav"
SOURCE_DIRECTION = (90.0, 0.0)
BEACH = "ambisonic_recordings/eigenscape/Beach.1_foa_acn_sn3d_WYZX.wav"
FS = 24000
HOP = 2400


def _read_24k(path: Path) -> np.ndarray:
    """``(C, N)`` float64 at 24 kHz."""
    import soundfile as sf
    import soxr

    x, sr = sf.read(path, always_2d=True)
    if sr != FS:
        x = soxr.resample(x, sr, FS, quality="VHQ")
    return np.ascontiguousarray(x.T, dtype=np.float64)


def _pad(x: np.ndarray, seconds: float = 0.5) -> np.ndarray:
    pad = np.zeros((x.shape[0], int(seconds * FS)))
    return np.concatenate([pad, x, pad], axis=1)


def _recording(samples: np.ndarray, fmt: str, name: str):
    from core.io.audio import Recording

    peak = float(np.max(np.abs(samples))) or 1.0
    x = (samples / peak * 0.5).astype(np.float32)  # -6 dBFS peak, as a recording would be
    return Recording(samples=x, sample_rate=FS, fmt=fmt, path=name, original_rate=FS)


def _speech_frames(dry: np.ndarray) -> np.ndarray:
    """Frames (100 ms) whose dry level is within 30 dB of the loudest one."""
    n = dry.shape[-1] // HOP
    rms = np.sqrt(np.mean(dry[: n * HOP].reshape(n, HOP) ** 2, axis=1) + 1e-20)
    return np.flatnonzero(20 * np.log10(rms / rms.max()) > -30.0)


def _found(
    table, frames: np.ndarray, cls: int, direction: tuple[float, float], within: float
) -> tuple[float, Counter]:
    """Share of ``frames`` with class ``cls`` predicted within ``within`` degrees; every class named."""
    from core.spatial.directions import angular_distance

    named: Counter = Counter()
    hits = 0
    by_frame: dict[int, list] = {}
    for row in table.rows:
        by_frame.setdefault(row.frame, []).append(row)
        named[row.cls] += 1
    for f in frames:
        for row in by_frame.get(int(f), []):
            if row.cls == cls and angular_distance(row.azimuth, row.elevation, *direction) <= within:
                hits += 1
                break
    return hits / max(len(frames), 1), named


def _run(model, rec):
    from core.inference.predict import predict, prediction_to_table

    return prediction_to_table(predict(model, rec))


def _names(model, named: Counter) -> str:
    classes = model.meta.class_set_obj()
    return ", ".join(f"{classes[c]} ({n})" for c, n in named.most_common()) or "nothing"


def _report(label: str, model, samples: np.ndarray, fmt: str, name: str, frames: np.ndarray, rng) -> None:
    """Run ``model`` on ``samples`` (with a little noise) and print the female-speech share and the classes named."""
    samples = samples + rng.standard_normal(samples.shape) * 1e-4 * np.max(np.abs(samples))
    share, named = _found(
        _run(model, _recording(samples, fmt, name)), frames, FEMALE_SPEECH, SOURCE_DIRECTION, 25.0
    )
    print(
        f"[{label}] {name}: female speech within 25° in {share:.0%} of {len(frames)} speech frames; "
        f"named: {_names(model, named)}"
    )


def _plane_wave_foa(x: np.ndarray, az: float, el: float) -> np.ndarray:
    a, e = np.radians(az), np.radians(el)
    g = np.array([1.0, np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])
    return g[:, None] * x[None, :]


def _report_beach(label: str, model, samples: np.ndarray) -> None:
    """Run ``model`` on the beach ambience (no event) and print the frames with a detection."""
    table = _run(model, _recording(samples, "foa", "beach"))
    detected = {r.frame for r in table.rows}
    named = Counter(r.cls for r in table.rows)
    print(
        f"[{label}] detections in {len(detected)} of {samples.shape[1] // HOP} frames; "
        f"named: {_names(model, named)}"
    )


SWEEP_SNR_DB = (80, 40, 30, 20, 10)
SWEEP_GAIN_DB = (-30, -20, -10, 0, 10)


def _diffuse_like_noise(shape: tuple[int, ...], speech_power: float, snr_db: float, rng) -> np.ndarray:
    """Independent Gaussian noise in 4 FOA channels, W at ``speech_power / 10^(snr/10)`` and each
    first-order channel at a third of that (the SN3D power ratio of a diffuse field)."""
    noise = rng.standard_normal(shape) * np.sqrt(speech_power / 10 ** (snr_db / 10))
    noise[1:] *= 1 / np.sqrt(3)
    return noise


def main(argv: list[str] | None = None) -> int:
    from core.inference.predict import open_model
    from core.io.resources import bundled_model_path

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--foa", type=Path, default=bundled_model_path("foa"))
    p.add_argument("--mic", type=Path, default=bundled_model_path("mic"))
    p.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    p.add_argument(
        "--snr-sweep", action="store_true", help="repeat check 2 at SNRs 80-10 dB and check 3 at -30..+10 dB"
    )
    args = p.parse_args(argv)
    if not args.real.is_dir():
        print(f"no real data at {args.real}", file=sys.stderr)
        return 1
    foa, mic = open_model(args.foa), open_model(args.mic)
    rng = np.random.default_rng(0)
    rir = _read_24k(args.real / ROOM_RESPONSE)
    print(f"models: FOA {args.foa.name}, MIC {args.mic.name}")
    for name in SPEECH_FILES:
        dry = _read_24k(args.real / "mono_events" / name)[0]
        frames = _speech_frames(_pad(dry[None])[0])
        from scipy.signal import fftconvolve

        wet = fftconvolve(dry[None, :], rir, axes=-1)
        wet = _pad(wet)
        _report("MIC, real room", mic, wet, "mic", name, frames, rng)
        field = _pad(_plane_wave_foa(dry, *SOURCE_DIRECTION))
        _report("FOA, free field", foa, field, "foa", name, frames, rng)
        if args.snr_sweep:
            for snr in SWEEP_SNR_DB:
                noise = _diffuse_like_noise(field.shape, np.mean(dry**2), snr, np.random.default_rng(0))
                _report(f"FOA, free field, SNR {snr} dB", foa, field + noise, "foa", name, frames, rng)
    beach = _read_24k(args.real / BEACH)
    _report_beach("FOA, beach ambience, no event", foa, beach)
    if args.snr_sweep:
        for gain in SWEEP_GAIN_DB:
            _report_beach(f"FOA, beach ambience at {gain:+d} dB", foa, beach * 10 ** (gain / 20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
