"""The ONNX graphs exported from model packages, cached on disk so that the onnx backend starts without torch.

Running a ``.safetensors`` package with onnxruntime needs its network as an ONNX graph.
Exporting it takes torch (about 2 s of imports) and the exporter (about 0.3 s), which used
to be paid on every ``seld infer`` and on the app's first run. The graph depends only on the
package file and on this SELD Studio (its network code and exporter), so it is exported once
and kept in the user's cache folder:

* folder: ``$XDG_CACHE_HOME/seld-studio/onnx`` (``~/.cache/seld-studio/onnx`` when
  ``XDG_CACHE_HOME`` is unset or not an absolute path), :func:`cache_dir`;
* key: the package's digest (sha256 of the whole file, :func:`package_digest`), the ONNX
  opset, :data:`CACHE_VERSION` and the SELD Studio version (:func:`entry_path`): a changed
  package (retrained, edited metadata) or another SELD Studio misses and is exported again;
* entry: one file, written atomically (:func:`core.common.atomic.atomic_write_bytes`):
  the line ``seld-onnx-cache 1 <sha256 of the graph>`` then the serialised ONNX graph (with
  the package metadata embedded, as ``seld export-onnx`` writes it). An entry whose digest
  does not match its bytes (truncated, damaged), that cannot be read, or that onnxruntime
  refuses is a corrupt entry: it is exported again and replaced (:func:`open_cached_onnx`);
* size: at most :data:`MAX_ENTRIES` entries (the least recently written are removed on a
  write); the bundled models make about 7 MB each.

A cache folder that cannot be written (read-only home) is not an error: the graph is then
exported in memory on every start, as before. :func:`open_cached_onnx` reads the package's
metadata from its header (no torch); only a miss imports torch, loads and checks the
package (:func:`core.packages.runtime.load_package`) and exports it.

Shipped graphs: a desktop bundle is built with its bundled models' graphs already exported
(``packaging/export_shipped_onnx.py``), as entries of this same layout and name in the
bundled models' folder (``seld_resources/models/``), so that the bundled models run with no
torch at all. They are looked up first (:func:`shipped_dirs`, :func:`shipped_onnx_bytes`),
read-only: only an entry whose name matches the package's digest, the opset,
:data:`CACHE_VERSION` and this SELD Studio's version, and whose bytes match their recorded
digest, is used; one that onnxruntime refuses is passed over for the user's cache. A shipped
entry is never written, replaced or pruned (nothing is written inside a bundle).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from core.common.errors import ModelError

if TYPE_CHECKING:
    from core.packages.onnx_export import OnnxModel

CACHE_VERSION = 1
"""Bumped when the entries' layout or the export changes in a way the version does not show."""
MAX_ENTRIES = 16
"""Entries kept; the least recently written beyond this are removed when one is written."""
MAGIC = b"seld-onnx-cache"
SUFFIX = ".onnx-cache"

SHIPPED_DIRS: list[Path] | None = None
"""The folders searched for shipped graphs before the cache; ``None``: the bundled models'
folders (:func:`core.io.resources.bundled_model_dirs`)."""

__all__ = [
    "CACHE_VERSION",
    "MAX_ENTRIES",
    "SHIPPED_DIRS",
    "cache_dir",
    "cached_onnx_bytes",
    "entry_path",
    "open_cached_onnx",
    "package_digest",
    "shipped_dirs",
    "shipped_onnx_bytes",
]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/seld-studio/onnx``, or ``~/.cache/seld-studio/onnx``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "seld-studio" / "onnx"


def package_digest(path: str | os.PathLike[str]) -> str:
    """The sha256 (hex) of the file at ``path`` (about 5 ms for a bundled 7 MB package)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError as err:
        raise ModelError(f"cannot read the model package: {err.strerror or err}", os.fspath(path)) from None
    return h.hexdigest()


def entry_path(digest: str, opset: int | None = None, folder: Path | None = None) -> Path:
    """The cache entry of the package whose sha256 is ``digest``."""
    from core import __version__
    from core.packages.onnx_export import DEFAULT_OPSET

    op = DEFAULT_OPSET if opset is None else int(opset)
    name = f"{digest}-opset{op}-v{CACHE_VERSION}-seld{__version__}{SUFFIX}"
    return (cache_dir() if folder is None else folder) / name


def _pack(graph: bytes) -> bytes:
    return MAGIC + b" 1 " + hashlib.sha256(graph).hexdigest().encode("ascii") + b"\n" + graph


def _unpack(data: bytes) -> bytes | None:
    """The graph of an entry, or ``None`` when the entry is not whole (digest, layout)."""
    head, sep, graph = data.partition(b"\n")
    parts = head.split(b" ")
    if not sep or len(parts) != 3 or parts[0] != MAGIC or parts[1] != b"1":
        return None
    if hashlib.sha256(graph).hexdigest().encode("ascii") != parts[2]:
        return None
    return graph


def _read_entry(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return _unpack(data)


def _write_entry(path: Path, graph: bytes) -> bool:
    """Write an entry atomically and prune the folder; ``False`` when the cache cannot be written."""
    from core.common.atomic import atomic_write_bytes

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, _pack(graph))
    except OSError:
        return False
    _prune(path.parent, keep=path)
    return True


def _prune(folder: Path, keep: Path) -> None:
    with contextlib.suppress(OSError):
        entries = sorted(
            (p for p in folder.iterdir() if p.name.endswith(SUFFIX) and p != keep),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in entries[MAX_ENTRIES - 1 :]:
            with contextlib.suppress(OSError):
                old.unlink()


def shipped_dirs() -> list[Path]:
    """The folders that may hold shipped graphs, in search order (:data:`SHIPPED_DIRS`)."""
    if SHIPPED_DIRS is not None:
        return [Path(d) for d in SHIPPED_DIRS]
    from core.io.resources import bundled_model_dirs

    return bundled_model_dirs()


def shipped_onnx_bytes(digest: str, opset: int | None = None) -> bytes | None:
    """The shipped graph of the package whose sha256 is ``digest``, or ``None``.

    Only an entry named for this digest, opset, :data:`CACHE_VERSION` and SELD Studio version
    (:func:`entry_path` in a shipped folder) whose bytes match their recorded digest counts; a
    damaged one is passed over (the user's cache is used instead), never repaired.
    """
    for folder in shipped_dirs():
        graph = _read_entry(entry_path(digest, opset, folder=folder))
        if graph is not None:
            return graph
    return None


def _export(package: str) -> bytes:
    """Load and check the package with torch, and export its graph (the miss path)."""
    from core.common.optional import require_torch

    require_torch(f"{os.path.basename(package)} has no cached ONNX graph here; exporting one")
    from core.packages.onnx_export import onnx_bytes
    from core.packages.runtime import load_package

    return onnx_bytes(load_package(package, device="cpu"))


def cached_onnx_bytes(
    package: str | os.PathLike[str],
    *,
    folder: Path | None = None,
    rebuild: bool = False,
    shipped: bool = True,
) -> tuple[bytes, str]:
    """The ONNX graph of the package at ``package`` and how it was got: ``"shipped"`` (a graph
    shipped with this SELD Studio, :func:`shipped_onnx_bytes`; looked up first unless
    ``shipped=False`` or ``rebuild``), ``"hit"``, ``"miss"`` (exported and stored) or
    ``"rebuilt"`` (the entry was corrupt, or ``rebuild``: exported and replaced). A cache that
    cannot be written still returns the exported graph."""
    p = os.fspath(package)
    digest = package_digest(p)
    if shipped and not rebuild:
        graph = shipped_onnx_bytes(digest)
        if graph is not None:
            return graph, "shipped"
    entry = entry_path(digest, folder=folder)
    status = "miss"
    if entry.exists():
        graph = None if rebuild else _read_entry(entry)
        if graph is not None:
            return graph, "hit"
        status = "rebuilt"
    graph = _export(p)
    _write_entry(entry, graph)
    return graph, status


def open_cached_onnx(
    package: str | os.PathLike[str],
    *,
    device: str | None = "cpu",
    threads: int | None = None,
    folder: Path | None = None,
    shipped: bool = True,
) -> OnnxModel:
    """A package run by onnxruntime from its shipped or cached graph (exported and cached on a miss).

    The metadata comes from the package's header (checked as :func:`read_package_meta`
    checks it). A shipped graph onnxruntime cannot open is passed over for the cache; a cache
    entry it cannot open is rebuilt once. ``.cache_status`` on the result says ``"shipped"``,
    ``"hit"``, ``"miss"`` or ``"rebuilt"``.
    """
    from core.packages.onnx_export import OnnxModel
    from core.packages.package_file import read_package_meta

    p = os.fspath(package)
    meta = read_package_meta(p)
    graph, status = cached_onnx_bytes(p, folder=folder, shipped=shipped)
    try:
        model = OnnxModel(graph, device=device, threads=threads, meta=meta)
    except ModelError:
        if status == "shipped":
            return open_cached_onnx(p, device=device, threads=threads, folder=folder, shipped=False)
        if status != "hit":
            raise
        graph, status = cached_onnx_bytes(p, folder=folder, rebuild=True)
        status = "rebuilt"
        model = OnnxModel(graph, device=device, threads=threads, meta=meta)
    model.path = p
    model.cache_status = status
    return model
