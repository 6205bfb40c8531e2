"""``seld synth --out ROOT``: generate a synthetic SELD dataset like TAU-NIGENS Spatial Sound Events 2020.

Writes ``foa_dev/``, ``mic_dev/`` and ``metadata_dev/`` (DCASE 2020 layout and label format)
plus ``synth_info.json``; see ``docs/SYNTHESIS.md`` and :mod:`core.synthesis.writer`.
Progress goes to stderr, one line per mix.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from core.common.errors import SeldError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="generate a synthetic SELD dataset (FOA + MIC + DCASE 2020 labels) in shoebox rooms",
        description="Synthesize spatial sound scenes in the manner of TAU-NIGENS Spatial Sound Events 2020: "
        "events of the 14 DCASE 2020 classes (built-in generators or your own NIGENS-style clip folder), "
        "stationary or moving, at most one (ov1) or two (ov2) at a time, in random shoebox rooms "
        "(image sources + diffuse tail with RT60 0.2-0.8 s) or, with --open-air, outdoors, with "
        "diffuse ambient noise; rendered to "
        "FOA (AmbiX) and to the tetrahedral MIC array. Writes <out>/foa_dev, mic_dev and metadata_dev "
        "with files fold<f>_room<r>_mix<mmm>_ov<1|2>.wav/.csv (24 kHz, 16-bit, 4 channels).",
    )
    p.add_argument("--out", type=Path, required=True, metavar="ROOT", help="dataset folder to create")
    p.add_argument(
        "--formats", default="foa,mic", metavar="LIST", help="formats to write: foa, mic or foa,mic (default)"
    )
    p.add_argument("--folds", default="1-6", metavar="LIST", help="folds, e.g. 1-6 (default), 1,3 or 2")
    p.add_argument(
        "--clips-per-fold", type=_positive_int, default=100, metavar="N", help="mixes per fold (default 100)"
    )
    p.add_argument(
        "--rooms-per-fold", type=_positive_int, default=3, metavar="N", help="rooms per fold (default 3)"
    )
    p.add_argument(
        "--duration", type=_duration, default=60.0, metavar="S", help="length of each mix in s (default 60)"
    )
    p.add_argument(
        "--sources",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of source clips in class sub-folders (NIGENS layout: DIR/alarm/*.wav, ...); "
        "default: the built-in generators",
    )
    p.add_argument(
        "--generators-share",
        type=_number(float, "a number", 0.0, 1.0, why="the share must be within 0 and 1"),
        default=0.0,
        metavar="F",
        help="with --sources: share (0-1) of events drawn from the built-in generator families "
        "(classes without clips: all of them when F > 0); default 0: clips only",
    )
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--snr-db",
        default="6:30",
        metavar="DB",
        help="ambient noise level below the events in dB: a value, or a range LOW:HIGH drawn per mix "
        "(default 6:30; 'inf' for none)",
    )
    p.add_argument(
        "--noise",
        default="all",
        metavar="LIST",
        help="ambient-noise types drawn per mix: all (default) or some of pink, brown, babble, hvac, "
        "traffic, wind, surf",
    )
    p.add_argument(
        "--gain-db",
        default="-12:12",
        metavar="DB",
        help="level of the events relative to -30 dBFS RMS (W): a value or LOW:HIGH drawn per mix "
        "(default -12:12, write --gain-db=-12:12); FOA peaks are kept below -3 dBFS",
    )
    p.add_argument(
        "--tilt-db-oct",
        default="-2:2",
        metavar="DB",
        help="equalisation tilt in dB/octave around 1 kHz (100 Hz-10 kHz), same on every channel: "
        "a value or LOW:HIGH drawn per mix (default -2:2, write --tilt-db-oct=-2:2)",
    )
    p.add_argument(
        "--noise-sources",
        type=_probability,
        default=0.3,
        metavar="P",
        help="probability of one directional, unlabelled noise source per mix (default 0.3)",
    )
    p.add_argument(
        "--label-decimals",
        type=int,
        choices=range(5),
        default=0,
        metavar="D",
        help="decimals of label azimuth/elevation (default 0: integer degrees, as TAU-NIGENS)",
    )
    p.add_argument(
        "--rirs",
        type=Path,
        metavar="PATH",
        help="render through measured room responses instead of a simulated room: a SOFA file or a "
        "folder of 4-channel WAVs with responses.csv (file,azimuth,elevation[,distance]); moving "
        "sources snap to the nearest measured direction every 100 ms (cross-faded); one format "
        "(--formats foa or mic, the responses' own)",
    )
    p.add_argument(
        "--ambience",
        type=Path,
        metavar="FILE",
        help="with --rirs: a recorded 4-channel ambience of that room as the background noise "
        "(cut or looped to length, at the --snr-db)",
    )
    p.add_argument(
        "--open-air",
        type=_probability,
        default=0.0,
        metavar="P",
        help="probability (0-1) that a room of a fold is an open-air scene instead: a ground (paving, "
        "concrete, grass or soil), half of the time a building facade 2-10 m away, no other surface "
        "and no reverberant tail (default 0)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the mixes of an existing dataset")
    p.set_defaults(func=run)


def _number(kind: type, what: str, low: float | None = None, high: float | None = None, why: str = ""):
    """An argparse type: ``kind`` (int or float) within ``[low, high]``; ``why`` explains a bad range."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if math.isnan(value) or (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(why or f"{what} out of range")
        return value

    return parse


_positive_int = _number(int, "a whole number", 1, why="must be at least 1")
_seed = _number(int, "a whole number", 0, why="the seed must not be negative")
_duration = _number(
    float, "a number of seconds", 1.0, 3600.0, why="the duration must be between 1 and 3600 s"
)
_probability = _number(float, "a probability", 0.0, 1.0, why="the probability must be 0-1")


def run(args: argparse.Namespace) -> int:
    from core.synthesis.sources import SourceBank
    from core.synthesis.writer import (
        SynthConfig,
        parse_folds,
        parse_formats,
        parse_noise_types,
        parse_span,
        plan_mixes,
        synthesize_dataset,
    )

    config = SynthConfig(
        formats=parse_formats(args.formats),
        folds=parse_folds(args.folds),
        clips_per_fold=args.clips_per_fold,
        rooms_per_fold=args.rooms_per_fold,
        duration_s=args.duration,
        seed=args.seed,
        snr_db=parse_span(args.snr_db, "the SNR (--snr-db)"),
        noise_types=parse_noise_types(args.noise),
        gain_db=parse_span(args.gain_db, "the gain (--gain-db)"),
        tilt_db_oct=parse_span(args.tilt_db_oct, "the tilt (--tilt-db-oct)"),
        noise_source_probability=args.noise_sources,
        label_decimals=args.label_decimals,
        sources=str(args.sources) if args.sources is not None else None,
        rirs=str(args.rirs) if args.rirs is not None else None,
        ambience=str(args.ambience) if args.ambience is not None else None,
        generators_share=args.generators_share,
        open_air=args.open_air,
    )
    config.validate()
    if args.sources is not None:
        if not args.sources.exists():
            raise SeldError("source folder not found (--sources)", args.sources)
        bank = SourceBank.from_folder(args.sources, generators_share=args.generators_share)
        for line in bank.warnings:
            print(f"seld synth: warning: {line}", file=sys.stderr)
    else:
        bank = SourceBank.builtin(variety=True)  # every generator family of each class
    total = len(plan_mixes(config))
    formats = " + ".join(f.upper() for f in config.formats)
    print(
        f"seld synth: {total} mixes of {config.duration_s:g} s ({formats}), folds "
        f"{','.join(map(str, config.folds))}, seed {config.seed} -> {args.out}",
        file=sys.stderr,
    )

    from core.cli.render import ProgressRenderer
    from core.common.progress import Progress

    renderer = ProgressRenderer()

    def progress(done: int, n: int, name: str) -> None:
        renderer.update("seld synth", Progress(done, n, "mixes"), note=name)

    try:
        result = synthesize_dataset(args.out, config, bank, overwrite=args.overwrite, progress=progress)
    finally:
        renderer.close()
    print(
        f"seld synth: wrote {len(result.mixes)} mixes ({len(result.files)} files) to {result.root} "
        f"in {result.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0
