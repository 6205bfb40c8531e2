"""Build the sdist and the wheel, install the wheel in a fresh virtual environment outside the
source tree, and use it as a new user would (issue 18).

    python packaging/check_wheel.py                 # build, install, check; temp folder removed
    python packaging/check_wheel.py --keep /tmp/w   # keep the build, the venv and the outputs there

Steps, each of which must pass:

1. ``python -m build`` makes ``seld_studio-<version>.tar.gz`` and ``seld_studio-<version>-py3-none-any.whl``
   (``<version>`` is ``core.__version__``, the one place it lives);
2. the wheel holds the core, the GUI, both bundled models, the demo recording and its labels,
   the icons, the desktop entry and the licence; no tests, experiments or caches;
3. a fresh venv gets the wheel and the CPU build of torch (``torch==2.13.0`` on the same pip
   command, as the README says), installed from a folder outside the source tree;
4. in a working folder outside the source tree, with that venv's commands only:
   ``seld --version``; ``seld infer`` on the installed demo with the installed bundled model;
   ``seld score`` of that prediction against the demo's labels; ``seld synth`` of a tiny
   dataset; ``seld train`` on it for a few steps; ``seld eval`` of the run's model;
   ``seld licences``; and ``seldgui`` opening the demo (Qt offscreen, or under Xvfb with
   ``--screenshot``), checked through the window's session.

Prints each step with its time; exits non-zero at the first failure, naming the step.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TORCH_PIN = os.environ.get("TORCH_PIN", "torch==2.13.0")

GUI_PROBE = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
import seldgui.app as seldgui_app

start = __import__("time").monotonic()
def probe():
    for w in QApplication.topLevelWidgets():
        rec = getattr(getattr(w, "session", None), "recording", None)
        if rec is not None and w.isVisible():
            print("OPENED", rec.path, "|", w.windowTitle(), "|", len(w.session.reference_events), "reference events")
            shot = sys.argv[1] if len(sys.argv) > 1 else ""
            if shot:
                w.grab().save(shot)
            QTimer.singleShot(300, lambda: app.exit(0))
            return
    if __import__("time").monotonic() - start > 90:
        print("TIMEOUT: no window showed a recording within 90 s")
        app.exit(3)
        return
    QTimer.singleShot(200, probe)

QTimer.singleShot(200, probe)
sys.exit(seldgui_app.main([]))
"""


class CheckFailed(RuntimeError):
    pass


def run(step: str, cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 1800) -> str:
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t0
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise CheckFailed(f"{step}: exit {proc.returncode} after {took:.1f} s\n$ {' '.join(cmd)}\n{tail}")
    print(f"[ok] {step} ({took:.1f} s)", flush=True)
    return proc.stdout + proc.stderr


def version() -> str:
    text = (REPO / "core" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not found:
        raise CheckFailed("core/__init__.py: no __version__ line")
    return found.group(1)


def check_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    need = [
        "core/__init__.py",
        "core/cli/seld.py",
        "seldgui/app.py",
        "seld_resources/models/foa_crnn.safetensors",
        "seld_resources/models/mic_crnn.safetensors",
        "seld_resources/demo/demo_foa.flac",
        "seld_resources/demo/demo_foa.csv",
        "seld_resources/desktop/seld-studio.desktop",
        "seld_resources/icons/hicolor/256x256/apps/seld-studio.png",
    ]
    missing = [n for n in need if n not in names]
    if missing:
        raise CheckFailed(f"{wheel.name}: missing {', '.join(missing)}")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        raise CheckFailed(f"{wheel.name}: no LICENSE in its .dist-info/licenses")
    stray = sorted(
        n for n in names if n.startswith(("tests/", "experiments/", "benchmarks/")) or "__pycache__" in n
    )
    if stray:
        raise CheckFailed(f"{wheel.name}: holds files that are not the app: {', '.join(stray[:5])}")
    size = wheel.stat().st_size / 1e6
    print(
        f"[ok] wheel contents: {len(names)} files, {size:.1f} MB, models, demo, icons, desktop entry, LICENSE"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    p.add_argument("--screenshot", type=Path, default=None, help="save the window opened on the demo here")
    p.add_argument("--python", default=sys.executable, help="the Python that builds and makes the venv")
    args = p.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="seld_wheel_"))
    work.mkdir(parents=True, exist_ok=True)
    if REPO in work.resolve().parents or work.resolve() == REPO:
        p.error("--keep must be outside the source tree")
    ver = version()
    try:
        dist = work / "dist"
        shutil.rmtree(dist, ignore_errors=True)
        run(
            "python -m build (sdist + wheel)",
            [args.python, "-m", "build", "--outdir", str(dist), str(REPO)],
            work,
        )
        wheel = dist / f"seld_studio-{ver}-py3-none-any.whl"
        sdist = dist / f"seld_studio-{ver}.tar.gz"
        for f in (wheel, sdist):
            if not f.is_file():
                raise CheckFailed(
                    f"build: {f.name} not made (found: {', '.join(x.name for x in dist.iterdir())})"
                )
        check_wheel_contents(wheel)

        venv = work / "venv"
        shutil.rmtree(venv, ignore_errors=True)
        run("fresh venv", [args.python, "-m", "venv", str(venv)], work)
        bin_ = venv / "bin"
        run(
            f"pip install {TORCH_PIN} + the wheel",
            [str(bin_ / "pip"), "install", "-q", TORCH_PIN, str(wheel)],
            work,
        )

        use = work / "use"
        shutil.rmtree(use, ignore_errors=True)
        use.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(PATH=f"{bin_}{os.pathsep}{env.get('PATH', '')}", OMP_NUM_THREADS="2")
        seld = str(bin_ / "seld")
        out = run("seld --version", [seld, "--version"], use, env)
        if ver not in out:
            raise CheckFailed(f"seld --version: {out.strip()!r} does not say {ver}")
        where = run(
            "installed resources",
            [
                str(bin_ / "python"),
                "-c",
                "import core, sys; from core.io.resources import bundled_model_path, demo_recording_path;"
                "print(core.__file__); print(bundled_model_path('foa')); print(demo_recording_path())",
            ],
            use,
            env,
        ).split()
        if any(str(REPO) in w for w in where[:3]):
            raise CheckFailed(f"the venv imports from the source tree: {where}")
        core_file, model, demo = where[:3]
        print(f"     core: {core_file}\n     model: {model}\n     demo: {demo}")
        run("seld infer (bundled model, demo)", [seld, "infer", demo, "--out", str(use / "pred")], use, env)
        pred = next((use / "pred").glob("*.csv"))
        scores = run("seld score", [seld, "score", str(Path(demo).with_suffix(".csv")), str(pred)], use, env)
        found = re.search(r"SELD ([0-9.]+)", scores)
        if not found or not float(found.group(1)) < 0.6:
            raise CheckFailed(f"seld score: the bundled model on the demo scored {scores.strip()[:300]}")
        print(f"     demo SELD {found.group(1)}")
        run(
            "seld synth (tiny dataset)",
            [
                seld,
                "synth",
                "--out",
                "data",
                "--formats",
                "foa",
                "--folds",
                "1-3",
                "--clips-per-fold",
                "1",
                "--duration",
                "12",
                "--seed",
                "5",
            ],
            use,
            env,
        )
        run(
            "seld train (6 steps)",
            [
                seld,
                "train",
                "--data",
                "data",
                "--out",
                "run",
                "--train-folds",
                "3",
                "--val-folds",
                "2",
                "--test-folds",
                "1",
                "--batch-size",
                "2",
                "--epochs",
                "2",
                "--steps-per-epoch",
                "3",
                "--progress",
                "none",
            ],
            use,
            env,
        )
        run(
            "seld eval (the run's model)",
            [seld, "eval", "--model", "run/best.safetensors", "--data", "data"],
            use,
            env,
        )
        run("seld licences", [seld, "licences"], use, env)
        gui_env = dict(env)
        shot = [str(args.screenshot.resolve())] if args.screenshot else []
        if args.screenshot and shutil.which("xvfb-run"):
            gui_env["QT_QPA_PLATFORM"] = "xcb"
            cmd = [
                "xvfb-run",
                "-a",
                "-s",
                "-screen 0 1600x1000x24",
                str(bin_ / "python"),
                "-c",
                GUI_PROBE,
                *shot,
            ]
        else:
            gui_env.setdefault("QT_QPA_PLATFORM", "offscreen")
            cmd = [str(bin_ / "python"), "-c", GUI_PROBE, *shot]
        out = run("seldgui opens the demo", cmd, use, gui_env, timeout=300)
        line = next((ln for ln in out.splitlines() if ln.startswith("OPENED")), "")
        if "demo_foa" not in line:
            raise CheckFailed(f"seldgui: the window did not show the demo: {out[-500:]}")
        print(f"     {line}")
    except CheckFailed as err:
        print(f"[FAILED] {err}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"check_wheel: seld-studio {ver}: every step passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
