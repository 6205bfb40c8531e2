"""Compare ``seld features`` with the official DCASE 2020 extractor, run unmodified.

The official extractor is ``cls_feature_class.py`` of the DCASE 2020 Task 3 baseline
(https://github.com/sharathadavanne/seld-dcase2020). Its code is not part of this
repository: pass the folder of a checkout with ``--official``. This script imports its
``FeatureClass`` as it is and calls its own ``_load_audio``, ``_spectrogram``,
``_get_mel_spectrogram``, ``_get_foa_intensity_vectors`` and ``_get_gcc`` on each file, then
compares the result with ``core.dsp.features.extract_features(load_recording(file))``.

Two things of the extractor's time are restored, neither of which changes its code:

* modules it imports but does not use for features (``sklearn.externals.joblib``,
  ``IPython.embed``, ``matplotlib``) are stubbed when missing;
* librosa < 0.10 padded ``stft`` by reflection; librosa >= 0.10 defaults to zeros. The
  extractor calls ``librosa.core.stft`` without ``pad_mode``, so ``pad_mode="reflect"``
  is made the default again, as it was when the baseline was written.

The extractor pads a file shorter than 60 s with uniform noise of amplitude 1e-8
(``np.random.rand(...) * eps``) and cuts longer ones. For files shorter than 60 s the last
frames, whose window reaches past the end of the file, differ for that reason (reflection
here, random noise there); they are left out of the comparison and counted.

Usage::

    python experiments/official_features/compare.py --official PATH/seld-dcase2020 \\
        --format foa DATASET/foa_dev/*.wav
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.dsp.features import HOP, N_FFT, N_MELS, extract_features  # noqa: E402
from core.io.audio import load_recording  # noqa: E402


def _stub_missing_modules() -> None:
    for name in ("sklearn", "sklearn.preprocessing", "sklearn.externals", "sklearn.externals.joblib"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - any import failure: stub it
            sys.modules[name] = types.ModuleType(name)
    sys.modules["sklearn"].preprocessing = sys.modules["sklearn.preprocessing"]
    sys.modules["sklearn"].externals = sys.modules["sklearn.externals"]
    sys.modules["sklearn.externals"].joblib = sys.modules["sklearn.externals.joblib"]
    try:
        importlib.import_module("IPython")
    except ImportError:
        ipython = types.ModuleType("IPython")
        ipython.embed = lambda *a, **k: None
        sys.modules["IPython"] = ipython
    try:
        importlib.import_module("matplotlib.pyplot")
    except ImportError:
        mpl = types.ModuleType("matplotlib")
        plt = types.ModuleType("matplotlib.pyplot")
        plt.switch_backend = lambda *a, **k: None
        mpl.pyplot = plt
        sys.modules["matplotlib"] = mpl
        sys.modules["matplotlib.pyplot"] = plt


def _reflect_padding_by_default() -> None:
    import librosa

    stft = librosa.core.stft

    def stft_reflect(y, **kwargs):
        kwargs.setdefault("pad_mode", "reflect")
        return stft(y, **kwargs)

    librosa.core.stft = stft_reflect


def official_features(official: Path, wav: Path, fmt: str) -> np.ndarray:
    """The official extractor's features of ``wav``, as ``(channels, T, 64)`` float64."""
    _stub_missing_modules()
    _reflect_padding_by_default()
    sys.path.insert(0, str(official))
    cls_feature_class = importlib.import_module("cls_feature_class")
    params = {
        "feat_label_dir": str(wav.parent), "dataset_dir": str(wav.parent), "dataset": fmt,
        "fs": 24000, "hop_len_s": 0.02, "label_hop_len_s": 0.1, "max_audio_len_s": 60,
        "nb_mel_bins": 64, "unique_classes": {},
    }  # fmt: skip
    fc = cls_feature_class.FeatureClass(params)
    np.random.seed(0)  # the padding noise of files shorter than 60 s
    audio, _ = fc._load_audio(str(wav))
    spect = fc._spectrogram(audio)
    mel = fc._get_mel_spectrogram(spect)
    rest = fc._get_foa_intensity_vectors(spect) if fmt == "foa" else fc._get_gcc(spect)
    # both parts are (T, 64 * k) with the k channels interleaved in each band (band-major)
    parts = [x.reshape(x.shape[0], N_MELS, -1).transpose(2, 0, 1) for x in (mel, rest)]
    return np.concatenate(parts, axis=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official", type=Path, required=True, help="folder holding cls_feature_class.py")
    parser.add_argument("--format", choices=("foa", "mic"), required=True)
    parser.add_argument("wavs", type=Path, nargs="+", help="int16 4-channel 24 kHz WAV files")
    args = parser.parse_args()
    worst = {"log-mel (dB)": 0.0, "IV" if args.format == "foa" else "GCC": 0.0}
    for wav in args.wavs:
        ours = extract_features(load_recording(wav, fmt=args.format).samples, args.format)
        ref = official_features(args.official, wav, args.format)
        n = ours.shape[1]
        # frames whose window reaches past the end of a file shorter than 60 s see the official padding noise
        n_samples = load_recording(wav, fmt=args.format).n_samples
        exact = n if n_samples >= 60 * 24000 else min(n, (n_samples - N_FFT // 2) // HOP + 1)
        d = np.abs(ours[:, :exact].astype(np.float64) - ref[:, :exact])
        logmel, rest = d[:4].max(), d[4:].max()
        band = np.unravel_index(np.argmax(d[:4]), d[:4].shape)[2]
        print(
            f"{wav.name}: {exact} of {n} frames compared; log-mel max |diff| {logmel:.3g} dB "
            f"(band {band}), {list(worst)[1]} max |diff| {rest:.3g}"
        )
        worst["log-mel (dB)"] = max(worst["log-mel (dB)"], float(logmel))
        worst[list(worst)[1]] = max(worst[list(worst)[1]], float(rest))
    print("worst over all files: " + ", ".join(f"{k} {v:.3g}" for k, v in worst.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
