#!/usr/bin/env python3
"""Time from starting SELD Studio to its window on screen, under Xvfb (issue 18).

    packaging/measure_start.py "dist/SELD Studio/seld-studio" --runs 7
    packaging/measure_start.py "dist/SELD Studio/seld-studio" --cold --runs 7
    packaging/measure_start.py .venv/bin/seldgui --runs 5        # the same for an installed app

Starts a private Xvfb display, then for each run starts the program (no argument: it opens the
bundled demo) with fresh, empty user folders (XDG config, cache, data: no settings, no recent
files, no autosave to restore) and polls ``xdotool search --sync``-free
``xdotool search --onlyvisible --pid PID --name "SELD Studio"`` every 20 ms until its window is
mapped; that time is the run's. The program is then ended (SIGTERM to the process started here).

``--cold``: before the first run, the program's folder (every file of the bundle) is evicted
from the page cache (``posix_fadvise(DONTNEED)``, those files only), as after a reboot; the
first run is then reported as cold and the others as warm. Without ``--cold`` every run is warm
(one unreported run first warms the cache). Prints each run, with the CPU time the program had
used by then (user + system, all threads: what a busy machine does not inflate as it does the
wall time), and the medians of the warm runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TITLE = "SELD Studio"


def evict(folder: Path) -> int:
    """Drop ``folder``'s files from the page cache; the number of bytes asked to drop."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                total += os.fstat(fd).st_size
            finally:
                os.close(fd)
    return total


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """A private Xvfb (1600 x 1000), on a display number it picks itself (``-displayfd``), once it is ready."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write,),
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # written when the server accepts connections
    if not number.isdigit():
        proc.kill()
        raise SystemExit("could not start Xvfb")
    return proc, f":{number}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (all its threads), from ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(program: list[str], display: str, timeout: float) -> tuple[float, float]:
    """Seconds to the window on screen, and the CPU seconds the program had used by then."""
    home = Path(tempfile.mkdtemp(prefix="seld_start_"))
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(
        DISPLAY=display,
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
    )
    log = open(home / "log", "w+")
    t0 = time.monotonic()
    proc = subprocess.Popen(program, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            found = subprocess.run(
                ["xdotool", "search", "--all", "--onlyvisible", "--pid", str(proc.pid), "--name", TITLE],
                env=env,
                capture_output=True,
                text=True,
            )
            if found.returncode == 0 and found.stdout.strip():
                return time.monotonic() - t0, cpu_seconds(proc.pid)
            if proc.poll() is not None:
                log.seek(0)
                tail = log.read()[-3000:]
                raise SystemExit(
                    f"measure_start: {program[0]} ended (exit {proc.returncode}) before its window showed:\n{tail}"
                )
            if time.monotonic() - t0 > timeout:
                raise SystemExit(f"measure_start: no window within {timeout:.0f} s")
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("program", help="the program to start (the bundle's seld-studio, or seldgui)")
    p.add_argument("args", nargs="*", help="its arguments (none: it opens the demo)")
    p.add_argument("--runs", type=int, default=7, help="warm runs (default 7)")
    p.add_argument("--cold", action="store_true", help="evict the program's folder from the page cache first")
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args(argv)
    program = [str(Path(args.program).absolute()), *args.args]
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"measure_start: {tool} is not installed")
    xvfb, display = start_xvfb()
    try:
        print(f"{program[0]}: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        if args.cold:
            folder = Path(program[0]).parent
            dropped = evict(folder)
            cold, cpu = one_run(program, display, args.timeout)
            print(
                f"cold: {cold:.2f} s, {cpu:.2f} s CPU (page cache of {folder} dropped first: {dropped / 1e6:.0f} MB)"
            )
        else:
            one_run(program, display, args.timeout)  # warms the page cache; not reported
        warm, cpus = [], []
        for i in range(args.runs):
            took, cpu = one_run(program, display, args.timeout)
            warm.append(took)
            cpus.append(cpu)
            print(f"warm {i + 1}: {took:.2f} s, {cpu:.2f} s CPU", flush=True)
        print(
            f"warm: median {statistics.median(warm):.2f} s over {len(warm)} runs "
            f"(min {min(warm):.2f}, max {max(warm):.2f}); CPU time to the window: median "
            f"{statistics.median(cpus):.2f} s; load average {os.getloadavg()[0]:.1f}"
        )
    finally:
        xvfb.terminate()
        xvfb.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
