"""Third-party licences, generated from the installed packages' metadata (never written by hand).

:func:`third_party` walks the distributions SELD Studio requires, transitively, through
:mod:`importlib.metadata` (``Requires-Dist``; requirements that only an extra asks for are
not followed, other environment markers are evaluated with :mod:`packaging.markers` when it
is importable), and reads for each its name, version, licence and home page from the
metadata and the texts of the licence files it installed. :func:`licences_text` makes the
plain-text document the About dialog saves and ``seld licences --out`` writes; what it lists
is what is installed, so it is right for the environment it runs in (a wheel's, a checkout's).
"""

from __future__ import annotations

import csv
import email
import hashlib
import os
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from importlib import metadata
from pathlib import PurePosixPath

import core
from core.common.atomic import atomic_write_text
from core.common.errors import SeldError

ROOT = "seld-studio"
"""The distribution whose requirements are listed (this application's)."""

OWN_LICENCE = "BSD-3-Clause"
"""SELD Studio's licence (SPDX id), as ``pyproject.toml`` declares it."""

MAX_TEXT_BYTES = 200_000
"""The most bytes of one licence file the document quotes; a longer file is cut, and says so."""

UNKNOWN = "unknown (see the project's home page)"

QT_NOTE = (
    "Qt: SELD Studio uses Qt through Qt for Python (PySide6 and shiboken6), under the GNU Lesser "
    "General Public License version 3 (LGPL-3.0). PySide6 is not part of SELD Studio's wheel: pip "
    "installs it as a separate package, which you may replace with another build of a compatible "
    "version (for example one you compiled from the Qt sources yourself) without changing SELD Studio. "
    "The LGPL-3.0 text is at https://www.gnu.org/licenses/lgpl-3.0.txt and the Qt sources at "
    "https://download.qt.io/ and https://code.qt.io/."
)

_LICENCE_NAME = re.compile(r"(?i)^(licen[cs]e|copying|notice|authors)")
_ROUGH = ("licen", "copying", "notice", "authors")  # a cheap first pass over lowercased RECORD lines
_NOT_TEXT = frozenset(
    ".py .pyc .pyo .pyi .pyx .pxd .so .pyd .dll .dylib .a .lib .o .h .hh .hpp .c .cc .cpp .cu .js .ts "
    ".css .html .htm .json .xml .png .jpg .jpeg .gif .svg .ico .qml .ui .toml .cfg .ini .yaml .yml .gz "
    ".zip .whl .exe .bin .pkl .npy .npz".split()
)


@dataclass(frozen=True)
class LicenceText:
    """One licence file of a distribution: its path (as installed) and its text."""

    name: str
    text: str
    cut: bool = False


@dataclass(frozen=True)
class ThirdParty:
    """One installed distribution SELD Studio requires (directly or through another)."""

    name: str
    version: str
    licence: str
    home_page: str
    texts: tuple[LicenceText, ...] = ()


def canonical_name(name: str) -> str:
    """The PEP 503 normalized form of a distribution name (``PySide6_Essentials`` -> ``pyside6-essentials``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------- requirements

_REQ = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def _plain_requirement(text: str, extras: frozenset[str]) -> tuple[str, frozenset[str]] | None:
    """Without :mod:`packaging`: the name and extras; a marker naming an extra is followed only
    when it names one of ``extras``, any other marker is taken as true (the caller keeps only
    installed distributions)."""
    spec, _, marker = text.partition(";")
    m = _REQ.match(spec)
    if m is None:
        return None
    if marker.strip() and re.search(r"\bextra\b", marker):
        named = re.findall(r"""\bextra\s*==\s*['"]([^'"]+)['"]""", marker)
        if not {canonical_name(e) for e in named} & {canonical_name(e) for e in extras}:
            return None
    wanted = frozenset(e.strip() for e in (m.group(2) or "").split(",") if e.strip())
    return m.group(1), wanted


def followed_requirement(text: str, extras: Iterable[str] = ()) -> tuple[str, frozenset[str]] | None:
    """``(name, extras it asks for)`` of a ``Requires-Dist`` entry to follow, or ``None``.

    ``extras`` are the extras of the requiring distribution that are in use (none for SELD
    Studio itself). A requirement whose marker is false here is not followed: one that only an
    extra asks for (``pytest>=8; extra == "dev"``), or one for another platform or Python.
    """
    active = frozenset(extras)
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # packaging is not a requirement of SELD Studio: often, not always, installed
        return _plain_requirement(text, active)
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return _plain_requirement(text, active)
    if req.marker is not None:
        try:
            if not any(req.marker.evaluate({"extra": e}) for e in sorted(active) or [""]):
                return None
        except Exception:  # an odd marker: follow it only when it does not name an extra
            if re.search(r"\bextra\b", str(req.marker)):
                return None
    return req.name, frozenset(req.extras)


def _installed(name: str) -> metadata.Distribution | None:
    try:
        return metadata.distribution(name)
    except (metadata.PackageNotFoundError, ValueError):
        return None


def _headers(dist: metadata.Distribution) -> Message:
    """The metadata fields of ``dist``, parsed once.

    Only the header block is parsed (the long description after the first blank line is
    not: parsing it is most of the cost of ``dist.metadata``, and it is read 3 to 5 times).
    """
    text = None
    for name in ("METADATA", "PKG-INFO"):
        try:
            text = dist.read_text(name)
        except OSError:
            text = None
        if text:
            break
    if not text:
        return Message()
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    return email.message_from_string(head + "\n")


def _name_of(md: Message, fallback: str) -> str:
    name = md["Name"]
    return name.strip() if isinstance(name, str) and name.strip() else fallback


def _requirements(dist: metadata.Distribution, md: Message) -> list[str]:
    listed = md.get_all("Requires-Dist")
    if listed:
        return [r for r in listed if isinstance(r, str)]
    try:
        return list(dist.requires or ())  # an egg-info install keeps them in requires.txt
    except Exception:
        return []


def required_distributions(root: str = ROOT) -> dict[str, metadata.Distribution]:
    """The installed distributions ``root`` requires, transitively, by canonical name (not ``root``)."""
    return {key: dist for key, (dist, _md) in _walk(root).items()}


def _walk(root: str) -> dict[str, tuple[metadata.Distribution, Message]]:
    top = _installed(root)
    if top is None:
        return {}
    top_md = _headers(top)
    root_key = canonical_name(_name_of(top_md, root))
    found: dict[str, tuple[metadata.Distribution, Message]] = {}
    extras_done: dict[str, set[str]] = {}
    queue: list[tuple[metadata.Distribution, Message, frozenset[str]]] = [(top, top_md, frozenset())]
    while queue:
        dist, md, extras = queue.pop()
        for text in _requirements(dist, md):
            follow = followed_requirement(text, extras)
            if follow is None:
                continue
            name, wanted = follow
            key = canonical_name(name)
            if key == root_key:
                continue
            done = extras_done.setdefault(key, set())
            new = frozenset(wanted - done)
            if key in found:
                if not new:
                    continue
                dep, dep_md = found[key]
            else:
                installed = _installed(name)
                if installed is None:
                    continue
                dep, dep_md = installed, _headers(installed)
                found[key] = (dep, dep_md)
            done.update(new)
            queue.append((dep, dep_md, new))
    return found


# --------------------------------------------------------------------------- one distribution


def _field(md: Message, key: str) -> str:
    value = md[key]
    if not isinstance(value, str):
        return ""
    if "\n" in value:  # a folded field: undo the RFC 822 indentation (as importlib.metadata does)
        value = textwrap.dedent(" " * 8 + value)
    value = value.strip()
    return "" if value.upper() == "UNKNOWN" else value


def _licence_name(md: Message) -> str:
    expression = _field(md, "License-Expression")
    if expression:
        return " ".join(expression.split())
    field = _field(md, "License")
    if field:
        first = field.splitlines()[0].strip()
        # a short name ("MIT", "BSD 3-Clause License"), not the first line of a whole licence text
        if (
            first
            and len(first) < 100
            and re.search(r"[A-Za-z]", first)
            and not first.lower().startswith("copyright")
        ):
            return first
    trove = [
        c.split("::")[-1].strip()
        for c in md.get_all("Classifier") or []
        if isinstance(c, str) and c.startswith("License ::")
    ]
    if trove:
        return "; ".join(dict.fromkeys(trove))
    return UNKNOWN


_HOME_LABELS = ("homepage", "home", "home-page", "source", "source-code", "repository", "code", "github")


def _home_page(md: Message) -> str:
    home = _field(md, "Home-page")
    if home:
        return home
    urls: list[tuple[str, str]] = []
    for entry in md.get_all("Project-URL") or []:
        if isinstance(entry, str) and "," in entry:
            label, _, url = entry.partition(",")
            if url.strip():
                urls.append((re.sub(r"[\s_.]+", "-", label.strip().lower()), url.strip()))
    for wanted in _HOME_LABELS:
        for label, url in urls:
            if label == wanted:
                return url
    return urls[0][1] if urls else ""


_INFO = (".dist-info", ".egg-info")


def _licence_entry(path: str) -> tuple[tuple[int, int, int, str], str] | None:
    """``(sort key, display name)`` when ``path`` (a RECORD path) is a licence file, else ``None``.

    Licence files are the files under the distribution's own ``.dist-info/licenses`` folder
    (shown by their path inside it) and, anywhere else, files named LICENSE*, LICENCE*,
    COPYING*, NOTICE* or AUTHORS* that are not code (shown by their installed path, so that a
    vendored package's ``LICENSE`` is told from the distribution's own).
    """
    p = PurePosixPath(path.replace("\\", "/"))
    parts = p.parts
    if not parts:
        return None
    own_info = parts[0].endswith(_INFO)
    low = p.name.lower()
    rank = 2 if low.startswith("authors") else 1 if low.startswith("notice") else 0  # the licence first
    if own_info and len(parts) > 2 and parts[1].lower() in ("licenses", "licences"):
        shown = "/".join(parts[2:])
        return (0, len(parts) - 2, rank, shown.lower()), shown
    if not _LICENCE_NAME.match(p.name) or p.suffix.lower() in _NOT_TEXT:
        return None
    if own_info and len(parts) == 2:
        return (0, 1, rank, low), p.name
    return (1, len(parts), rank, path.lower()), path


def _candidate_paths(dist: metadata.Distribution) -> list[str]:
    """The installed paths of ``dist`` whose names may be licence files.

    The RECORD of a wheel install is read directly and filtered line by line before any
    parsing (torch's lists some 15,000 files); other installs go through ``dist.files``.
    """
    record = None
    try:
        record = dist.read_text("RECORD")
    except OSError:
        pass
    if record:
        lines = [line for line in record.splitlines() if _rough_match(line)]
        return [row[0] for row in csv.reader(lines) if row]
    try:
        files = dist.files or []
    except Exception:  # a damaged installed-files list: no texts rather than no document
        return []
    return [str(f) for f in files if _rough_match(str(f))]


def _rough_match(line: str) -> bool:
    low = line.lower()
    return any(word in low for word in _ROUGH)


def _read_capped(path: os.PathLike[str] | str) -> LicenceText | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TEXT_BYTES + 1)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    cut = len(data) > MAX_TEXT_BYTES
    text = data[:MAX_TEXT_BYTES].decode("utf-8", errors="replace")
    if cut:
        text += f"\n\n[cut here: the file has {size:,} bytes; the first {MAX_TEXT_BYTES:,} are shown]\n"
    return LicenceText("", text, cut)


def licence_texts(dist: metadata.Distribution) -> tuple[LicenceText, ...]:
    """The texts of the licence files ``dist`` installed (files under its ``.dist-info/licenses``
    folder, and files named LICENSE*, LICENCE*, COPYING*, NOTICE*, AUTHORS*), each once."""
    entries = []
    for path in _candidate_paths(dist):
        entry = _licence_entry(path)
        if entry is not None:
            entries.append((entry[0], entry[1], path))
    out: list[LicenceText] = []
    seen: set[bytes] = set()
    for _key, shown, path in sorted(entries):
        read = _read_capped(str(dist.locate_file(path)))
        if read is None or not read.text.strip():
            continue
        digest = hashlib.sha1(read.text.encode("utf-8", errors="replace")).digest()
        if digest in seen:  # the same text installed twice (a wheel's licenses/ copy and the package's)
            continue
        seen.add(digest)
        out.append(LicenceText(shown, read.text, read.cut))
    return tuple(out)


def describe(dist: metadata.Distribution, fallback_name: str = "", md: Message | None = None) -> ThirdParty:
    """The :class:`ThirdParty` of one installed distribution (``md``: its parsed metadata, if at hand)."""
    md = _headers(dist) if md is None else md
    texts = licence_texts(dist)
    field = _field(md, "License")
    if not texts and ("\n" in field or len(field) >= 100):  # a whole licence text in the metadata field
        texts = (LicenceText("License field of the package metadata", field + "\n"),)
    version = _field(md, "Version")
    return ThirdParty(
        name=_name_of(md, fallback_name),
        version=version or "?",
        licence=_licence_name(md),
        home_page=_home_page(md),
        texts=texts,
    )


def third_party(root: str = ROOT) -> list[ThirdParty]:
    """Every installed distribution ``root`` requires, transitively (not ``root`` itself),
    sorted by name (case-insensitively); empty when ``root`` is not installed."""
    items = [describe(dist, key, md) for key, (dist, md) in _walk(root).items()]
    return sorted(items, key=lambda t: (t.name.lower(), t.name))


# --------------------------------------------------------------------------- the document


def own_licence_text(root: str = ROOT) -> str | None:
    """The text of SELD Studio's LICENSE file, from the licence files of its installed distribution."""
    try:
        candidates = list(metadata.distributions(name=root))
    except Exception:
        return None
    for dist in candidates:
        for text in licence_texts(dist):
            if PurePosixPath(text.name).name.upper().startswith(("LICENSE", "LICENCE")):
                return text.text
    return None


def summary_table(items: Sequence[ThirdParty]) -> str:
    """Name, version and licence of every item, one a line, in aligned columns."""
    rows = [("name", "version", "licence")] + [(t.name, t.version, t.licence) for t in items]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]
    lines.insert(1, f"{'-' * w0}  {'-' * w1}  {'-' * 7}")
    return "\n".join(lines)


def licences_text(items: Sequence[ThirdParty], root: str = ROOT) -> str:
    """The third-party licence document: SELD Studio's own licence, the Qt note, a summary
    table, then each distribution's licence texts under a heading."""
    rule = "=" * 78
    title = f"SELD Studio {core.__version__}: licences"
    out = [
        title,
        "=" * len(title),
        "",
        textwrap.fill(
            "This document is generated from the metadata of the installed Python packages "
            "(importlib.metadata): the packages SELD Studio requires, directly or through another "
            "package, as installed where it was generated, with the licence each declares and the "
            "licence files each ships. Nothing in it is written by hand.",
            78,
        ),
        "",
        textwrap.fill(QT_NOTE, 78),
        "",
        rule,
        f"SELD Studio {core.__version__}",
        f"Licence: {OWN_LICENCE}",
        rule,
        "",
    ]
    own = own_licence_text(root)
    if own:
        out += [own.rstrip("\n"), ""]
    else:
        out += [
            f"SPDX licence identifier: {OWN_LICENCE} (the LICENSE file is not found among the installed "
            "package's licence files)",
            "",
        ]
    out += [f"Third-party packages ({len(items)})", "-" * 26, ""]
    if items:
        out += [summary_table(items), ""]
    else:
        out += [
            f"none found: {root} is not installed as a package here (pip install -e . installs it), so "
            "there is no metadata to read its requirements from",
            "",
        ]
    for t in items:
        out += ["", rule, f"{t.name} {t.version}", f"Licence: {t.licence}"]
        if t.home_page:
            out.append(f"Home page: {t.home_page}")
        out += [rule, ""]
        if not t.texts:
            out += ["(the installed package ships no licence file; see its home page)", ""]
        for text in t.texts:
            out += [f"--- {text.name} ---", "", text.text.rstrip("\n"), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def write_licences(path: str | os.PathLike[str], items: Sequence[ThirdParty] | None = None) -> None:
    """Write :func:`licences_text` (of :func:`third_party` unless ``items`` are given) to ``path``
    atomically; :class:`SeldError` naming ``path`` when it cannot be written."""
    text = licences_text(third_party() if items is None else items)
    try:
        atomic_write_text(path, text)
    except OSError as err:
        raise SeldError(f"cannot write the licences: {err.strerror or err}", path) from None
