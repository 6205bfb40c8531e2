"""The ``seld`` command line: ``seld <command> ...``.

Sub-commands live beside this module in :mod:`core.cli` (one module each). Every
:class:`~core.common.errors.SeldError` is printed as ``seld: error: <message>`` with exit
status 2, never as a traceback; so is a command that needs torch where it is missing (the
lean desktop bundle).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from core import __version__
from core.common.errors import SeldError

COMMAND_MODULES = (
    "core.cli.features",
    "core.cli.score",
    "core.cli.infer",
    "core.cli.export_onnx",
    "core.cli.eval",
    "core.cli.train",
    "core.cli.synth",
    "core.cli.licences",
)
"""The sub-command modules, in the order ``seld --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seld",
        description="SELD Studio command line: features, scoring, training and inference for "
        "sound event localization and detection on 4-channel FOA/MIC recordings.",
    )
    parser.add_argument("--version", action="version", version=f"seld-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SeldError as err:
        print(f"seld: error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        from core.common.optional import is_torch_missing, torch_missing_message

        if not is_torch_missing(err):
            raise
        print(f"seld: error: {torch_missing_message(f'seld {args.command}')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seld: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
