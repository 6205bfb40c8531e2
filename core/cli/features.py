"""``seld features AUDIO --format foa|mic --out FILE.npy``: unnormalised DCASE 2020 features.

The recording is read by the streaming path ``seld infer`` uses for long files
(:func:`core.io.audio.iter_blocks`, chunks of whole 2 s segments with their context,
:func:`core.inference.predict.file_features`), so the two commands accept and refuse the same
files with the same messages, and memory stays bounded by a chunk of audio plus the
features themselves however long the recording is (a header that claims an impossible
length allocates nothing). The features equal those of the whole file computed at once
(:func:`core.dsp.features.extract_features` of :func:`core.io.audio.load_recording`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from core.common.errors import AudioError, SeldError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "features",
        help="extract DCASE 2020 SELD features (log-mel + intensity vectors or GCC-PHAT)",
        description="Write the unnormalised DCASE 2020 features of a 4-channel recording as a "
        "float32 .npy array: FOA (7, T, 64) = log-mel W,Y,Z,X + intensity vectors x,y,z; "
        "MIC (10, T, 64) = log-mel M1..M4 + GCC-PHAT of the six pairs (lags -32..31). "
        "T = ceil(samples / 480) frames of 20 ms at 24 kHz.",
    )
    p.add_argument("audio", type=Path, help="WAV, FLAC or OGG file with 4 channels")
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("foa", "mic"),
        default=None,
        help="recording format; inferred from DCASE folder names (foa_dev, mic_eval, ...) when omitted",
    )
    p.add_argument("--out", type=Path, required=True, help="output .npy file")
    p.set_defaults(func=run)


def recording_features(path: Path, fmt: str | None) -> tuple[np.ndarray, str]:
    """``(features (C, T, 64) float32, format)`` of a recording, streamed (see the module docstring)."""
    from core.inference.predict import check_features_finite, file_features
    from core.io.audio import check_recording

    _, fmt_ = check_recording(path, fmt)
    feats = file_features(path, fmt_)
    if feats.shape[1] == 0:  # check_recording refuses empty files; a stream that yields nothing is one
        raise AudioError("contains no audio (0 frames)", path)
    check_features_finite(feats, str(path))
    return feats, fmt_


def run(args: argparse.Namespace) -> int:
    from core.common.atomic import atomic_open

    if args.out.suffix != ".npy":
        raise SeldError("the output file must end in .npy", args.out)
    feats, fmt = recording_features(args.audio, args.fmt)
    try:
        with atomic_open(args.out, "wb") as fh:
            np.save(fh, feats, allow_pickle=False)
    except OSError as err:
        raise SeldError(f"cannot write the features: {err.strerror or err}", args.out) from None
    print(
        f"{args.out}: {fmt} features {feats.shape[0]} x {feats.shape[1]} frames x {feats.shape[2]} bands",
        file=sys.stderr,
    )
    return 0
