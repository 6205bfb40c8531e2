"""Atomic writes: the temporary files a killed writer leaves are cleaned up by the next write,
and nothing that is not ours (or still being written) is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.common import atomic
from core.common.atomic import (
    STALE_AFTER_S,
    atomic_open,
    atomic_path,
    atomic_write_text,
    remove_stale_temporaries,
    temporary_name,
)

ROOT = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def _others(folder: Path, target: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != target)


def test_the_temporary_name_encodes_host_and_pid_and_matches_only_its_target():
    name = temporary_name("labels.csv", pid=4242)
    assert name.startswith(f".labels.csv.{atomic.MACHINE_KEY}-4242-") and name.endswith(".tmp")
    assert atomic._pattern("labels.csv").fullmatch(name)
    assert not atomic._pattern("labels").fullmatch(name)
    assert not atomic._pattern("csv").fullmatch(name)
    assert not atomic._pattern("labels.csv.x").fullmatch(name)


def test_a_leftover_of_a_dead_writer_is_removed_by_the_next_write_even_when_fresh(tmp_path):
    target = tmp_path / "labels.csv"
    leftover = tmp_path / temporary_name(target.name, pid=_dead_pid())
    leftover.write_text("half a file")
    atomic_write_text(target, "1,2,0,10,20\n")
    assert target.read_text() == "1,2,0,10,20\n"
    assert _others(tmp_path, target) == []


def test_a_writer_killed_in_the_middle_of_a_large_write_leaves_a_temporary_the_next_write_removes(tmp_path):
    target = tmp_path / "features.npy"
    target.write_bytes(b"old")
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from core.common.atomic import atomic_open
        with atomic_open({str(target)!r}, "wb") as fh:
            for _ in range(32):
                fh.write(b"x" * (1 << 20))
            fh.flush()
            print("writing", flush=True)
            for _ in range(600):
                fh.write(b"y" * (1 << 16))
                time.sleep(0.1)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    (leftover,) = [p for p in tmp_path.iterdir() if p != target]
    assert leftover.name.startswith(".features.npy.") and leftover.stat().st_size >= 32 << 20
    assert target.read_bytes() == b"old"
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and not leftover.exists()
    assert _others(tmp_path, target) == []


def test_a_live_concurrent_writer_is_not_disturbed(tmp_path):
    target = tmp_path / "labels.csv"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from core.common.atomic import atomic_open
        with atomic_open({str(target)!r}) as fh:
            fh.write("from the other writer\\n")
            fh.flush()
            print("writing", flush=True)
            sys.stdin.readline()
        print("done", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
        (theirs,) = [p for p in tmp_path.iterdir()]
        assert f"-{proc.pid}-" in theirs.name
        atomic_write_text(target, "mine\n")
        assert theirs.exists() and target.read_text() == "mine\n"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "done"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert target.read_text() == "from the other writer\n"  # its rename still worked
    assert _others(tmp_path, target) == []


def test_only_stale_temporaries_of_exactly_our_pattern_and_target_are_removed(tmp_path):
    target = tmp_path / "labels.csv"
    old = STALE_AFTER_S + 60
    stale, kept = [], []

    def make(name: str, age: float, into: list) -> Path:
        p = tmp_path / name
        p.write_text(name)
        _age(p, age)
        into.append(p.name)
        return p

    # stale: ours, old, whoever wrote them (this host and a live pid, another host, older versions)
    make(temporary_name(target.name, pid=os.getppid()), old, stale)
    make(f".labels.csv.0123abcd-{os.getpid() + 1}-89abcdef.tmp", old, stale)
    make(".labels.csv.0123456789ab.tmp", old, stale)
    # fresh, from a live process, another host or an older version: may be being written
    make(temporary_name(target.name, pid=os.getppid()), 5, kept)
    make(
        f".labels.csv.0123abcd-{_dead_pid()}-89abcdef.tmp", 5, kept
    )  # another host: its pids mean nothing here
    make(".labels.csv.0123456789ab.tmp".replace("0123", "ffff"), 5, kept)
    # not ours, however old: other targets, other programs, near misses
    for name in (
        temporary_name("labels.csv.bak", pid=_dead_pid()),
        temporary_name("labels", pid=_dead_pid()),
        ".labels.csv.swp",
        ".labels.csv.0123456789ab.tmp.bak",
        ".labels.csv.0123456789AB.tmp",
        ".labels.csv.012345678.tmp",
        f".labels.csv.{atomic.MACHINE_KEY}-0-89abcdef.tmp",
        "labels.csv.0123456789ab.tmp",
        ".other.csv.0123456789ab.tmp",
        ".hidden",
    ):
        make(name, old, kept)
    folder = tmp_path / f".labels.csv.{atomic.MACHINE_KEY}-{_dead_pid()}-89abcdef.tmp"
    folder.mkdir()
    link = tmp_path / f".labels.csv.{atomic.MACHINE_KEY}-{_dead_pid()}-0badf00d.tmp"
    link.symlink_to(tmp_path / ".hidden")
    atomic_write_text(target, "x\n")
    assert target.read_text() == "x\n"
    assert _others(tmp_path, target) == sorted([*kept, folder.name, link.name])
    assert not any((tmp_path / n).exists() for n in stale)


def test_cleaning_up_never_raises(tmp_path):
    assert remove_stale_temporaries(tmp_path / "missing" / "x.csv") == []
    assert remove_stale_temporaries(tmp_path / "x.csv", now=float("nan")) == []


def test_atomic_path_serves_writers_that_take_a_file_name(tmp_path):
    target = tmp_path / "state.safetensors"
    leftover = tmp_path / temporary_name(target.name, pid=_dead_pid())
    leftover.write_bytes(b"half")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.exists() and not leftover.exists()
        tmp.write_bytes(b"tensors")
        assert not target.exists()
    assert target.read_bytes() == b"tensors" and _others(tmp_path, target) == []
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"broken")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"tensors" and _others(tmp_path, target) == []


def test_a_write_keeps_going_when_a_leftover_cannot_be_removed(tmp_path, monkeypatch):
    target = tmp_path / "labels.csv"
    leftover = tmp_path / temporary_name(target.name, pid=_dead_pid())
    leftover.write_text("half")
    real_unlink = os.unlink

    def refusing_unlink(path, *args, **kwargs):
        if Path(path) == leftover:
            raise PermissionError(13, "Permission denied")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", refusing_unlink)
    with atomic_open(target) as fh:
        fh.write("ok\n")
    assert target.read_text() == "ok\n" and leftover.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_process_that_ended_but_is_not_reaped_counts_as_gone():
    """A killed trainer is a zombie until its parent reaps it: its run must already show as died."""
    from core.common.processes import process_gone

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not process_gone(child.pid)  # running
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not process_gone(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process_gone(child.pid)  # a zombie: not yet waited for
        assert Path(f"/proc/{child.pid}").exists()
    finally:
        child.kill()
        child.wait()
    assert process_gone(child.pid)
