"""FOA room responses from another room simulator (pyroomacoustics), for a held-out check.

The held-out scenes of ``heldout_v2`` share our own room renderer with the training data; only
their source material is new. This script makes responses with an independent renderer so
that a held-out fold differs in the room model too: pyroomacoustics' image-source model with
its own materials database, air absorption and fractional-delay filters. Each direction's
first-order Ambisonic (AmbiX: ACN order W, Y, Z, X; SN3D) response is pyroomacoustics' own
rendering for four coincident microphones: an omni (W) and three figure-of-eight capsules
pointing along +y, +z and +x (their gain is the signed cosine of the arrival angle, which is
the SN3D first-order component). Written as a WAV folder with ``responses.csv`` for
``seld synth --rirs``::

    python experiments/bundled_models/pra_responses.py --out /work/data/pra_rooms
    seld synth --out /work/data/heldout_pra_r1 --formats foa --folds 7 --clips-per-fold 4 \\
        --rirs /work/data/pra_rooms/room1 --sources /work/sources_heldout_v2b --generators-share 0

pyroomacoustics is not a dependency of SELD Studio (see docs/SYNTHESIS.md for why our own
renderer is used for training); install it beside the project to run this script.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 24000

ROOMS = {  # name -> (size m, wall materials (pyroomacoustics database names), max image order)
    # image sources only: pyroomacoustics' ray tracing gives energy histograms, which cannot
    # carry a figure-of-eight's sign; the orders reach about 0.35-0.45 s of each response
    "room1": (
        (5.2, 4.1, 2.7),
        dict(
            east="plasterboard",
            west="plasterboard",
            north="glass_window",
            south="brickwork",
            floor="linoleum_on_concrete",
            ceiling="ceiling_plasterboard",
        ),
        25,
    ),
    "room2": (
        (8.3, 6.0, 3.2),
        dict(
            east="hard_surface",
            west="brick_wall_rough",
            north="wood_1.6cm",
            south="glass_window",
            floor="linoleum_on_concrete",
            ceiling="ceiling_fissured_tile",
        ),
        20,
    ),
    "room3": (
        (4.0, 3.3, 2.5),
        dict(
            east="ceramic_tiles",
            west="ceramic_tiles",
            north="ceramic_tiles",
            south="wooden_door",
            floor="ceramic_tiles",
            ceiling="ceiling_plasterboard",
        ),
        30,
    ),
}
AZIMUTHS = np.arange(-180, 180, 20)
ELEVATIONS = (-40, -20, 0, 20, 40)
DISTANCE_M = 1.4


def foa_mics(position: np.ndarray):  # type: ignore[no-untyped-def]
    """Four coincident capsules: omni, figure-of-eight along +y, +z, +x (AmbiX order)."""
    import pyroomacoustics as pra
    from pyroomacoustics.directivities import DirectionVector, FigureEight, Omnidirectional

    dirs = [
        Omnidirectional(),
        FigureEight(orientation=DirectionVector(azimuth=90, colatitude=90, degrees=True)),
        FigureEight(orientation=DirectionVector(azimuth=0, colatitude=0, degrees=True)),
        FigureEight(orientation=DirectionVector(azimuth=0, colatitude=90, degrees=True)),
    ]
    return pra.MicrophoneArray(np.repeat(position[:, None], 4, axis=1), SAMPLE_RATE, directivity=dirs)


def room_responses(
    size: tuple[float, float, float],
    materials: dict[str, str],
    max_order: int,
    directions: list[tuple[float, float]],
) -> tuple[list[np.ndarray], np.ndarray]:
    """One (n, 4) FOA response per direction, and the receiver position."""
    import pyroomacoustics as pra

    dims = np.asarray(size, dtype=float)
    rx = np.array([dims[0] * 0.47, dims[1] * 0.53, 1.3])
    mats = {k: pra.Material(v) for k, v in materials.items()} or None
    room = pra.ShoeBox(
        dims, fs=SAMPLE_RATE, materials=mats, max_order=max_order, air_absorption=True, ray_tracing=False
    )
    for az, el in directions:
        a, e = np.radians(az), np.radians(el)
        pos = rx + DISTANCE_M * np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
        room.add_source(pos)
    room.add_microphone_array(foa_mics(rx))
    room.compute_rir()
    out = []
    for s in range(len(directions)):
        chans = [np.asarray(room.rir[m][s], dtype=np.float64) for m in range(4)]
        n = max(c.size for c in chans)
        out.append(np.stack([np.pad(c, (0, n - c.size)) for c in chans], axis=1))
    return out, rx


def check_encoding() -> float:
    """Largest error of the direct path's Y/W, Z/W, X/W against the SN3D gains (anechoic room)."""
    dirs = [(30.0, 0.0), (-120.0, 20.0), (75.0, -40.0), (180.0, 40.0)]
    irs, _ = room_responses((9.0, 9.0, 6.0), {}, 0, dirs)  # direct path only
    worst = 0.0
    for (az, el), ir in zip(dirs, irs, strict=True):
        k = int(np.argmax(np.abs(ir[:, 0])))
        a, e = np.radians(az), np.radians(el)
        want = np.array([np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])
        worst = max(worst, float(np.max(np.abs(ir[k, 1:] / ir[k, 0] - want))))
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rooms", default=",".join(ROOMS))
    args = ap.parse_args(argv)
    err = check_encoding()
    print(f"pra_responses: direct-path SN3D gains within {err:.4f} of the formula", file=sys.stderr)
    if err > 0.02:  # fractional-delay peak sampling; a sign or axis error would be >= 0.5
        raise SystemExit("pra_responses: the figure-of-eight capsules do not give AmbiX SN3D gains")
    directions = [(float(az), float(el)) for el in ELEVATIONS for az in AZIMUTHS]
    for name in args.rooms.split(","):
        size, materials, order = ROOMS[name]
        t0 = time.time()
        irs, rx = room_responses(size, materials, order, directions)
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        peak = max(float(np.abs(ir).max()) for ir in irs)
        with open(folder / "responses.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["file", "azimuth", "elevation", "distance"])
            for i, ((az, el), ir) in enumerate(zip(directions, irs, strict=True)):
                sf.write(
                    str(folder / f"ir_{i:03d}.wav"),
                    (0.5 * ir / peak).astype(np.float32),
                    SAMPLE_RATE,
                    subtype="FLOAT",
                )
                w.writerow([f"ir_{i:03d}.wav", f"{az:g}", f"{el:g}", f"{DISTANCE_M:g}"])
        w0 = irs[len(directions) // 2][:, 0]
        edc = np.cumsum(w0[::-1] ** 2)[::-1]
        edc_db = 10 * np.log10(edc / edc[0] + 1e-30)
        t = np.arange(edc_db.size) / SAMPLE_RATE
        fit = (edc_db <= -5) & (edc_db >= -25)
        t20 = -60.0 / np.polyfit(t[fit], edc_db[fit], 1)[0] if fit.sum() > 10 else float("nan")
        print(
            f"pra_responses: {name} {size} m, order {order}, receiver {np.round(rx, 2).tolist()}: "
            f"{len(irs)} responses of {irs[0].shape[0] / SAMPLE_RATE:.2f} s, broadband T20 {t20:.2f} s, "
            f"{time.time() - t0:.0f} s -> {folder}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
