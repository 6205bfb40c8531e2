"""The guard against the Qt bindings' singleton reference leak (see seldgui/_qt_workarounds.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="True, False and None are immortal on 3.12+")
def test_importing_the_gui_package_makes_the_singletons_effectively_immortal():
    code = (
        "import sys\n"
        "before = [sys.getrefcount(v) for v in (True, False, None)]\n"
        "import seldgui\n"
        "after = [sys.getrefcount(v) for v in (True, False, None)]\n"
        "print(*[a - b for a, b in zip(after, before)])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert [int(v) >= 2**30 for v in out.stdout.split()] == [True, True, True]
