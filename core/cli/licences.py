"""``seld licences``: the third-party packages SELD Studio uses and their licences.

Generated from the installed packages' metadata (:mod:`core.common.licences`), so it lists
what is installed here. Without options it prints a table (name, version, licence);
``--full`` prints the whole document (SELD Studio's own licence, the note on Qt, every
package's licence texts) and ``--out FILE`` writes that document to FILE.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.common.errors import SeldError
from core.common.licences import ROOT, licences_text, summary_table, third_party, write_licences


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "licences",
        help="list the third-party packages and their licences (from the installed packages' metadata)",
        description="List the installed packages SELD Studio requires (directly or through another "
        "package) with their versions and licences, read from the packages' metadata. --full prints the "
        "whole document with every package's licence texts; --out FILE writes it to FILE.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the full document (licence texts included) to FILE",
    )
    p.add_argument("--full", action="store_true", help="print the full document instead of the table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    items = third_party()
    if not items:
        raise SeldError(
            f"no package metadata to read: {ROOT} is not installed as a package in this environment "
            "(install it with pip install -e . or from its wheel)"
        )
    if args.out is not None:
        write_licences(args.out, items)
    if args.full:
        sys.stdout.write(licences_text(items))
    elif args.out is None:
        print(summary_table(items))
    if args.out is not None:
        print(f"seld licences: wrote {args.out} ({len(items)} packages)", file=sys.stderr)
    return 0
