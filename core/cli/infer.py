"""``seld infer AUDIO_OR_FOLDER... [--model PACKAGE] [--out DIR]``: detect and localize sound events.

Writes one DCASE 2020 label CSV (``frame,class,track,azimuth,elevation``, polar degrees)
per recording, named ``<stem>.csv``, into ``--out`` (default: the current folder). Folders
are searched (recursively) for ``.wav``, ``.flac`` and ``.ogg`` files.

The recordings' format is never assumed: it is ``--format`` when given (it overrides the
folder names), else the one a DCASE folder in each path names (``foa_dev``, ``mic_eval``,
...), else (the bundled demo recording only) the one SELD Studio knows. A recording of
unknown format, or of another format than the model's, is refused before any work, with
what the model expects and what is known of the recording. Without ``--model`` the
bundled model for the recordings' format is used, when one is installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.common.errors import ModelError, SeldError
from core.data.recordings import collect_recordings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "infer",
        help="detect and localize sound events in recordings with a model package",
        description="Run a SELD model on 4-channel recordings and write one DCASE 2020 label CSV per "
        "recording (<stem>.csv: frame,class,track,azimuth,elevation in degrees, 100 ms frames). The whole "
        "recording is cut into 2 s segments, each run through the network; a class is active where its "
        "detection output exceeds the threshold. Long files are streamed with bounded memory.",
    )
    p.add_argument(
        "inputs", nargs="+", type=Path, metavar="AUDIO_OR_FOLDER", help="recordings or folders of them"
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="PACKAGE",
        help="model package (.safetensors) or exported .onnx file; default: the bundled model",
    )
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("foa", "mic"),
        default=None,
        help="the recordings' format (overrides DCASE folder names); required when no folder in a "
        "recording's path names it (foa_dev, mic_eval, ...)",
    )
    p.add_argument("--out", type=Path, default=Path("."), metavar="DIR", help="output folder (default: .)")
    p.add_argument("--device", default="auto", metavar="auto|cpu|cuda", help="where to run (default: auto)")
    p.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="auto (default): onnxruntime on the CPU (the fastest there), torch on a GPU",
    )
    p.add_argument(
        "--threshold",
        type=_threshold_arg,
        default=None,
        help="detection threshold in (0, 1); default: the package's (0.5)",
    )
    add_rotations_argument(p)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.set_defaults(func=run)


def add_rotations_argument(p: argparse.ArgumentParser) -> None:
    """``--rotations N`` / ``--accurate``: the test-time rotation set (``seld infer``, ``seld eval``).

    The help shows the measured cost factors (:data:`core.inference.modes.ROTATION_COST`).
    """
    from core.inference.modes import ROTATION_COST

    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--rotations",
        type=int,
        choices=(1, 4, 8, 16),
        default=None,
        help="test-time rotations: average the outputs over this many exact turns of the sound field "
        "(FOA: 1, 4, 8, 16; MIC: 1, 4, 8); the whole run costs about "
        + ", ".join(f"{f:g}x" for n, f in ROTATION_COST.items() if n > 1)
        + f" the default for {', '.join(str(n) for n in ROTATION_COST if n > 1)} (measured on 2 CPU threads); "
        "default: 1 (fast: no rotation, the paper's protocol)",
    )
    group.add_argument(
        "--accurate",
        action="store_true",
        help="run the model package's own rotation set (bundled models: FOA 16, about "
        f"{ROTATION_COST[16]:g}x slower; MIC 8, about {ROTATION_COST[8]:g}x slower), usually a little "
        "more accurate",
    )


def requested_rotations(args: argparse.Namespace) -> int | str | None:
    """What ``--rotations`` / ``--accurate`` ask for, as :func:`core.inference.predict.inference_rotations` takes it."""
    from core.inference.modes import ACCURATE

    return ACCURATE if getattr(args, "accurate", False) else args.rotations


def _threshold_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("the threshold must be between 0 and 1")
    return value


def rotations_text(n: int) -> str:
    from core.inference.modes import rotation_cost_text

    return "no test-time rotation" if n == 1 else f"{n} test-time rotations, {rotation_cost_text(n)}"


def resolve_model_path(model: Path | None, recordings: list[Path], fmt: str | None = None) -> Path:
    """``--model``, or the bundled model for the recordings' format (``fmt``, else the first one known).

    Without ``--model`` the format must be known (``--format``, a DCASE folder, or the
    bundled demo recording): the bundled model is never picked by an assumed format.
    """
    if model is not None:
        return model
    from core.inference.predict import known_format
    from core.io.resources import bundled_model_path

    known = [known_format(r, fmt) for r in recordings]
    chosen = next((f for f in known if f is not None), None)
    if chosen is None:
        raise SeldError(
            "the recording format is unknown: no folder in its path is named foa/mic or starts with "
            "foa_/mic_ (as in DCASE foa_dev, mic_eval), and it is never assumed; declare it with "
            "--format foa (Ambisonics, AmbiX W,Y,Z,X) or --format mic (tetrahedral array M1..M4) and the "
            "bundled model for that format is used",
            recordings[0],
        )
    path = bundled_model_path(chosen)
    if path is None:
        raise ModelError(f"no bundled {chosen.upper()} model is installed yet; pass --model PACKAGE")
    return path


def check_formats(meta, recordings: list[Path], model_path: Path, fmt: str | None = None) -> None:
    """Refuse (before any work) recordings whose format is unknown or not the model's.

    ``meta`` is the model's :class:`~core.packages.schema.PackageMeta`; ``fmt`` the user's
    ``--format`` (which overrides folder names).
    """
    from core.inference.predict import FORMAT_NAMES, format_recordings, known_format, unknown_format_message
    from core.io.audio import infer_format

    expects = f"the model {model_path} ({meta.describe()}) expects {format_recordings(meta.fmt)}"
    for rec in recordings:
        if fmt is not None:
            if fmt != meta.fmt:
                raise ModelError(
                    f"{expects} but --format says this recording is {FORMAT_NAMES[fmt]}; use a "
                    f"{fmt.upper()} model",
                    rec,
                )
            continue
        named = infer_format(rec)
        if named is not None and named != meta.fmt:
            raise ModelError(
                f"the model {model_path} was trained on {meta.fmt.upper()} recordings but this recording's "
                f"folder says {named.upper()}; use a {named.upper()} model (or, if the folder name is wrong, "
                f"declare the format with --format {meta.fmt})",
                rec,
            )
        if known_format(rec) is None:
            raise ModelError(unknown_format_message(meta, "--format {fmt}"), rec)


def run(args: argparse.Namespace) -> int:
    from core.cli.render import ProgressRenderer, show_batch_event
    from core.inference.batch import FileDone, FileFailed, output_paths, prepare_output_folder, run_batch
    from core.inference.predict import inference_rotations, open_model

    recordings = collect_recordings(args.inputs)
    output_paths(recordings, args.out)  # two recordings of one name are refused before any work
    fmt = getattr(args, "fmt", None)
    model_path = resolve_model_path(args.model, recordings, fmt)
    if args.threads is not None and args.threads < 1:
        raise SeldError("--threads must be at least 1")
    model = open_model(model_path, backend=args.backend, device=args.device, threads=args.threads)
    if args.threads is not None and model.backend == "torch":  # (onnxruntime takes them when opened)
        import torch

        torch.set_num_threads(args.threads)
    check_formats(model.meta, recordings, model_path, fmt)
    # a MIC model with --rotations 16 fails before any work
    rotations = len(inference_rotations(model.meta, requested_rotations(args)))
    prepare_output_folder(args.out)
    print(
        f"seld infer: {model.meta.describe()} ({model.backend} backend, {rotations_text(rotations)}), "
        f"{len(recordings)} "
        f"recording{'s' if len(recordings) != 1 else ''}",
        file=sys.stderr,
    )
    renderer = ProgressRenderer()
    batch = run_batch(
        model, recordings, out_dir=args.out, threshold=args.threshold, rotations=rotations, fmt=fmt
    )
    failures = 0
    try:
        for event in batch:
            show_batch_event(renderer, event)
            if isinstance(event, FileFailed):
                print(f"seld: error: {event.message}", file=sys.stderr)
                failures += 1
            elif isinstance(event, FileDone):
                r = event.result
                frames = r.prediction.n_frames
                print(
                    f"{r.output}: {len(r.table)} rows, {frames} frames ({r.prediction.duration_s:.1f} s) in "
                    f"{r.seconds:.2f} s"
                )
    finally:
        renderer.close()
    if failures:
        print(f"seld infer: {failures} of {len(recordings)} recordings failed", file=sys.stderr)
        return 2
    return 0
