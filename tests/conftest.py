"""Test configuration: headless Qt, the shared real-data folder, GL and GPU markers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Settings (recent files, ...) and logs written by the GUI under test go to a throw-away folder.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="seld-test-config-")
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="seld-test-data-")
# exported ONNX graphs of the models the tests open (core/packages/onnx_cache.py) stay out of the user's cache
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="seld-test-cache-")

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``../shared/data/real`` beside the checkout; the test skips when it is absent."""
    if not SHARED_REAL.is_dir():
        pytest.skip(f"real third-party data not available at {SHARED_REAL}")
    return SHARED_REAL


def _gl_available() -> tuple[bool, str]:
    if os.environ.get("QT_QPA_PLATFORM", "") == "offscreen" or not os.environ.get("DISPLAY"):
        return False, "no OpenGL display (Qt offscreen platform; run `make test` with xvfb-run installed)"
    return True, ""


def pytest_collection_modifyitems(config, items):
    ok, reason = _gl_available()
    has_cuda = False
    if any("gpu" in item.keywords for item in items):
        import torch

        has_cuda = torch.cuda.is_available()
    for item in items:
        if "gl" in item.keywords and not ok:
            item.add_marker(pytest.mark.skip(reason=reason))
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="no CUDA device on this machine"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item):
    """Each GUI test ends whole: its background work finishes before its widgets close, and
    the closed widgets are destroyed here rather than in the next test's event loop.

    pytest-qt closes a test's widgets with ``deleteLater``, which ``processEvents`` does not
    carry out: the C++ deletion would otherwise happen inside the next test's ``waitUntil``,
    while that test's own work runs in the thread pool (one segmentation fault was seen there).
    """
    import sys

    qt = "PySide6.QtCore" in sys.modules
    if qt:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(30000)
    result = yield  # pytest-qt closes the widgets, then the fixtures are torn down
    if qt:  # (no gc.collect() here: a full collection per test doubled the suite's time)
        from PySide6.QtCore import QCoreApplication, QEvent

        if QCoreApplication.instance() is not None:
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    return result


def pytest_sessionfinish(session, exitstatus):
    """Let background workers (a window's device probe imports torch) finish before exit."""
    import sys

    if "PySide6.QtCore" in sys.modules:
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(30000)
