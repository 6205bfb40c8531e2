"""Helpers for the GUI tests."""

from __future__ import annotations


def drop_paths(widget, *paths) -> None:
    """Deliver a drop of local files/folders onto ``widget`` (as dragging them from a file manager)."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    widget.dropEvent(event)


def widget_point(plot_widget, view_box, x: float, y: float):
    """The viewport pixel of view coordinates (x, y) in a pyqtgraph view box."""
    from PySide6.QtCore import QPointF

    return plot_widget.mapFromScene(view_box.mapViewToScene(QPointF(x, y)))


def mouse_drag(plot_widget, view_box, points, modifiers=None) -> None:
    """A left-button drag through view coordinates ``points`` (press, moves, release).

    Real ``QMouseEvent``s go to the viewport, with the button held during the moves (which
    ``QTest.mouseMove`` does not guarantee), so pyqtgraph sees a genuine drag.
    """
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    mods = modifiers if modifiers is not None else Qt.KeyboardModifier.NoModifier
    viewport = plot_widget.viewport()
    left = Qt.MouseButton.LeftButton
    pixels = [QPointF(widget_point(plot_widget, view_box, x, y)) for x, y in points]

    def send(kind, pos, button, buttons):
        glob = QPointF(viewport.mapToGlobal(pos.toPoint()))
        QApplication.sendEvent(viewport, QMouseEvent(kind, pos, glob, button, buttons, mods))
        QApplication.processEvents()

    send(QEvent.Type.MouseButtonPress, pixels[0], left, left)
    # pyqtgraph starts a drag after a few pixels of motion: step through the path finely
    path = [pixels[0]]
    for a, b in zip(pixels, pixels[1:], strict=False):
        for i in range(1, 9):
            path.append(a + (b - a) * (i / 8))
    for p in path[1:]:
        send(QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, left)
    send(QEvent.Type.MouseButtonRelease, pixels[-1], left, Qt.MouseButton.NoButton)


def wait_until_settled(qtbot, state, timeout: int = 10000) -> None:
    """Wait until ``state()`` (a tuple whose first two items are a width and a height) shows a
    non-empty size and gives the same value on two polls in a row: the layout is done."""
    seen: list[tuple] = []

    def settled() -> bool:
        now = tuple(state())
        done = bool(seen) and seen[-1] == now and now[0] > 1 and now[1] > 1
        seen.append(now)
        return done

    qtbot.waitUntil(settled, timeout=timeout)


def wait_for_layout(qtbot, plot_widget, view_box, timeout: int = 10000) -> None:
    """Wait until pyqtgraph has laid ``view_box`` out (it does so lazily, after show): a
    non-empty geometry whose view-to-pixel mapping no longer changes."""

    def state() -> tuple:
        rect = view_box.sceneBoundingRect()
        (x0, x1), (y0, y1) = view_box.viewRange()
        a, b = widget_point(plot_widget, view_box, x0, y0), widget_point(plot_widget, view_box, x1, y1)
        return (rect.width(), rect.height(), a.x(), a.y(), b.x(), b.y())

    wait_until_settled(qtbot, state, timeout)


def refuse_to_ask(path, guess):
    """A test that opens a file of unknown format must answer the format question itself
    (a real dialog would wait for a click that never comes)."""
    raise AssertionError(f"the format of {path} was asked about (guess: {guess})")


def make_window(qtbot, monkeypatch, settings_path, errors: list | None = None):
    """A shown main window with settings of its own in ``settings_path``; error dialogs go to
    ``errors`` as (title, message), and closing it discards unsaved test edits without asking."""
    from PySide6.QtWidgets import QMessageBox

    from seldgui import main_window
    from seldgui.settings import Settings

    sink = errors if errors is not None else []
    monkeypatch.setattr(
        main_window, "show_error", lambda _parent, title, message: sink.append((title, message))
    )
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Discard)
    win = main_window.MainWindow(settings=Settings.at(settings_path))
    win.loader.ask_format = refuse_to_ask
    win.dialogs = sink
    qtbot.addWidget(win)
    win.show()
    return win
