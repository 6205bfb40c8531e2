"""Split a source library (experiments/sources/build_library.py) by package: one part to train on,
one kept apart for an independent held-out check.

    python experiments/bundled_models/split_library.py --library /work/sources_library \\
        --train /work/sources_train --held-out /work/sources_heldout

Each part is a NIGENS-layout folder of symbolic links to the library's clips (no audio is
copied) with its own ``provenance.csv`` (the library's rows of its clips). A clip goes to the
held-out part when its package is one of ``--hold-out`` (default: :data:`HELD_OUT`): other
speech synthesizers (festival's voices; training speech is espeak-ng and the real ALSA and
freedesktop recordings), another piano/phone sample set (the MuseScore soundfont) and other
phone rings (Oxygen), so that the held-out scenes sound like nothing the model was trained on.
Recorded voices are split by speaker: the clips made from the folders in
:data:`HELD_OUT_ORIGINALS` (two women and two men of klettres-data) are held out.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

HELD_OUT = (
    "festvox-us-slt-hts",
    "festvox-kallpc16k",
    "festvox-kdlpc16k",
    "musescore-general-soundfont-small",
    "oxygen-sounds",
)
HELD_OUT_ORIGINALS = tuple(
    f"/usr/share/klettres/{lang}/{kind}" for lang in ("it", "uk", "fr", "hu") for kind in ("alpha", "syllab")
)
"""Speakers kept apart: clips whose ``original`` is one of these folders go to the held-out part."""


def split(
    library: Path,
    train: Path,
    held_out: Path,
    hold_out: tuple[str, ...] = HELD_OUT,
    hold_out_originals: tuple[str, ...] = HELD_OUT_ORIGINALS,
) -> dict[str, int]:
    """Write both parts; returns the number of clips in each."""
    with open(library / "provenance.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    if "clip" not in fields or "package" not in fields:
        raise SystemExit(f"{library / 'provenance.csv'}: needs the columns clip and package")
    parts: dict[Path, list[dict[str, str]]] = {train: [], held_out: []}
    for row in rows:
        apart = row["package"] in hold_out or row.get("original", "") in hold_out_originals
        parts[held_out if apart else train].append(row)
    for root, chosen in parts.items():
        if root.exists() and any(root.iterdir()):
            raise SystemExit(f"{root}: not empty; choose a new folder")
        for row in chosen:
            target = (library / row["clip"]).resolve()
            link = root / row["clip"]
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, link)
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "provenance.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(chosen)
    return {"train": len(parts[train]), "held_out": len(parts[held_out])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--library", type=Path, required=True)
    p.add_argument("--train", type=Path, required=True)
    p.add_argument("--held-out", type=Path, required=True)
    p.add_argument("--hold-out", default=",".join(HELD_OUT), help="packages kept apart (comma-separated)")
    args = p.parse_args(argv)
    counts = split(args.library, args.train, args.held_out, tuple(args.hold_out.split(",")))
    print(
        f"train: {counts['train']} clips in {args.train}; held out: {counts['held_out']} in {args.held_out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
