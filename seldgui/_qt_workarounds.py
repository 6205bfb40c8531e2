"""Workarounds for defects of the Qt bindings that SELD Studio cannot fix at the source.

Singleton reference leak (CPython < 3.12): with PySide6 6.12 and pyqtgraph 0.14, adding and
removing plot items releases one reference to ``False`` more than it takes (measured with
``sys.getrefcount(False)``: a few references per hundred plot updates). ``False`` is not
immortal before Python 3.12, so its count drifts down; when it reaches zero CPython aborts
with "bool_dealloc: deallocating True or False" — at interpreter exit at the latest, or
mid-session in a long one; the same happens to ``None``. We give ``True``, ``False`` and
``None`` a large number of extra
references once at start-up, which makes them effectively immortal, as they are in 3.12+.
"""

from __future__ import annotations

import ctypes
import sys

_EXTRA_REFERENCES = 1 << 30


def make_bools_immortal() -> None:
    """Add ~10^9 references to True, False and None (no-op on 3.12+, where they are immortal)."""
    if sys.version_info >= (3, 12) or getattr(make_bools_immortal, "done", False):
        return
    for value in (True, False, None):
        # ob_refcnt is the first field of every object (CPython); add to it in one step
        refcnt = ctypes.c_ssize_t.from_address(id(value))
        refcnt.value += _EXTRA_REFERENCES
    make_bools_immortal.done = True  # type: ignore[attr-defined]
