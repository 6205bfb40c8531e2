"""The one exception family of the core.

Every problem with user input (a broken audio file, a malformed label CSV, a model
package that does not fit) is raised as a :class:`SeldError` whose message names the
file and the problem, so that the CLI and the GUI can show it as it is, without a
traceback.
"""

from __future__ import annotations

import os


class SeldError(Exception):
    """A user-facing error: ``str(err)`` is ``"<file>: <problem>"`` (or just the problem).

    Attributes
    ----------
    path:
        The file the problem is in, or ``None`` when no file is involved.
    problem:
        What is wrong, in words a user understands.
    line:
        1-based line number inside ``path`` when the problem is in a text file.
    """

    def __init__(self, problem: str, path: str | os.PathLike[str] | None = None, line: int | None = None):
        self.problem = problem
        self.path = os.fspath(path) if path is not None else None
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        if self.path is None:
            return self.problem
        where = self.path if self.line is None else f"{self.path}, line {self.line}"
        return f"{where}: {self.problem}"


class AudioError(SeldError):
    """A recording cannot be read or is not a usable 4-channel SELD recording."""


class LabelError(SeldError):
    """A DCASE metadata / label CSV is malformed or inconsistent."""


class ModelError(SeldError):
    """A model package is missing, malformed or does not fit the data."""


FIELD_PREVIEW_CHARS = 40
"""The most characters of a user's field (a label value, a JSON string) a message quotes."""


def quote_field(text: object, limit: int = FIELD_PREVIEW_CHARS) -> str:
    """``repr`` of a user's field for a message, cut to ``limit`` characters with its length said.

    A 10,000-character field is never echoed whole: ``'aaaa…' (10000 characters)``.
    """
    s = str(text)
    if len(s) <= limit:
        return repr(s)
    return f"{s[:limit]!r}… ({len(s)} characters)"
