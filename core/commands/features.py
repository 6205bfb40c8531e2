"""``seld features AUDIO --format foa|mic --out FILE.npy``: unnormalised DCASE 2020 features."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from core.atomic import atomic_write_bytes
from core.errors import SeldError


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


def run(args: argparse.Namespace) -> int:
    from core.audio import load_recording
    from core.features import extract_features

    if args.out.suffix != ".npy":
        raise SeldError("the output file must end in .npy", args.out)
    rec = load_recording(args.audio, fmt=args.fmt)
    feats = extract_features(rec.samples, rec.fmt)
    buf = _npy_bytes(feats)
    try:
        atomic_write_bytes(args.out, buf)
    except OSError as err:
        raise SeldError(f"cannot write the features: {err.strerror or err}", args.out) from None
    print(
        f"{args.out}: {rec.fmt} features {feats.shape[0]} x {feats.shape[1]} frames x {feats.shape[2]} bands",
        file=sys.stderr,
    )
    return 0


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    bio = io.BytesIO()
    np.save(bio, array, allow_pickle=False)
    return bio.getvalue()
