"""Starting the window (seldgui.app): on screen first, the OpenGL sphere drawn just after."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.qt


def test_the_sphere_is_shown_on_the_event_loops_first_turn(qtbot):
    from PySide6.QtWidgets import QWidget

    from seldgui.app import show_window

    window = QWidget()
    qtbot.addWidget(window)
    native = QWidget(window)  # stands for the vispy canvas's native widget
    window.direction_view = SimpleNamespace(canvas=SimpleNamespace(native=native))
    show_window(window)
    assert window.isVisible() and not native.isVisible()  # the window does not wait for its first draw
    qtbot.waitUntil(native.isVisible, timeout=2000)


def test_a_window_without_the_sphere_or_with_it_hidden_is_shown_as_it_is(qtbot):
    from PySide6.QtWidgets import QWidget

    from seldgui.app import show_window

    plain = QWidget()  # the equirectangular map instead of the sphere: no canvas
    qtbot.addWidget(plain)
    show_window(plain)
    assert plain.isVisible()
    window = QWidget()
    qtbot.addWidget(window)
    native = QWidget(window)
    native.hide()
    window.direction_view = SimpleNamespace(canvas=SimpleNamespace(native=native))
    show_window(window)
    qtbot.wait(50)
    assert window.isVisible() and not native.isVisible()  # hidden on purpose: left hidden
