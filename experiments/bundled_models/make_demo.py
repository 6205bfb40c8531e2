"""Make the bundled demo recording: one minute of FOA with moving and overlapping events.

Draws an ov2 scene from the built-in sources in a random shoebox room (seed ``--seed``,
independent of any training data set), renders it in FOA (AmbiX W, Y, Z, X, SN3D) and
writes ``resources/demo/demo_foa.flac`` (16-bit, 24 kHz) and its reference labels
``resources/demo/demo_foa.csv`` (DCASE 2020 format). The seed is the first from
``--seed`` on whose scene at least three events move and two overlap.

    python experiments/bundled_models/make_demo.py [--seed 7] [--out resources/demo]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.common.atomic import atomic_write_bytes  # noqa: E402
from core.labels.dcase_csv import write_labels  # noqa: E402
from core.synthesis.room import random_room  # noqa: E402
from core.synthesis.scene import make_scene  # noqa: E402
from core.synthesis.sources import SourceBank  # noqa: E402
from core.synthesis.spatial import render_scene  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "demo")
    args = ap.parse_args()
    bank = SourceBank.builtin()
    seed = args.seed
    while True:
        rng = np.random.default_rng([seed, 2020])
        room = random_room(rng, name="demo")
        scene = make_scene(bank, room, rng, 60.0, ov=2, snr_db=30.0)
        moving = sum(1 for e in scene.events if e.trajectory.moving)
        overlap = int(scene.activity().max())
        if moving >= 3 and overlap >= 2:
            break
        seed += 1
    audio = render_scene(scene, ("foa",))["foa"]
    args.out.mkdir(parents=True, exist_ok=True)
    bio = io.BytesIO()
    q = np.clip(np.round(audio.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)
    sf.write(bio, q.T, 24000, subtype="PCM_16", format="FLAC")
    atomic_write_bytes(args.out / "demo_foa.flac", bio.getvalue())
    write_labels(scene.labels(), args.out / "demo_foa.csv", fmt="dcase2020")
    classes = sorted({bank.classes[e.class_index] for e in scene.events})
    print(
        f"seed {seed}: {len(scene.events)} events ({moving} moving, up to {overlap} at once), "
        f"classes: {', '.join(classes)}; room {room.size if hasattr(room, 'size') else ''} RT60 "
        f"{getattr(room, 'rt60', float('nan')):.2f} s; {len(bio.getvalue()) / 1e6:.2f} MB FLAC"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
