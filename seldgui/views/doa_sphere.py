"""3D direction-of-arrival sphere (vispy, embedded): needs OpenGL.

A unit sphere with an azimuth/elevation grid (every 30 degrees) and the front (+x), left
(+y) and up (+z) axes marked; the directions active at the playhead as class-coloured
markers (predictions filled, references outlined) with fading trails over the last
seconds. Rotate and zoom with the mouse (turntable camera). Redraws only when the
playhead or the labels change.

A click listens to that direction; in edit mode it sets the direction of the selected
event at the playhead instead, and a drag that starts on the selected event's marker
moves it over the sphere (the camera holds still meanwhile); the selected events' whole
trajectories are drawn with their keyframes. With the energy layer on, the sphere is
coloured by the session's model-free energy map at the playhead (FOA intensity / MIC
SRP-PHAT, computed in the background).

:func:`create_direction_view` returns this view where OpenGL works and the equirectangular
:class:`~seldgui.views.doa_map.DoaMapView` elsewhere, so the app runs on any machine.
"""

from __future__ import annotations

import logging
import os

import numpy as np
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.session.session import Session
from core.spatial.directions import azel_to_xyz as unit_vectors  # x front, y left, z up
from seldgui.style import class_color
from seldgui.views.doa_common import HIGHLIGHT_COLOR, highlight_arc, markers_and_trails, selected_paths

log = logging.getLogger("seldgui")

GRAB_DEG = 12.0  # a press this close to the selected event's marker drags it


def _rgba(cls: int, alpha: float = 1.0) -> tuple[float, float, float, float]:
    c = QColor(class_color(cls))
    return (c.redF(), c.greenF(), c.blueF(), alpha)


def _grid_lines() -> tuple[np.ndarray, np.ndarray]:
    """Vertices and segment connections of the azimuth/elevation grid on the unit sphere."""
    segments = []
    t = np.linspace(-180, 180, 73)
    for el in range(-60, 61, 30):  # parallels
        segments.append(unit_vectors(t, np.full_like(t, el)))
    e = np.linspace(-90, 90, 37)
    for az in range(-180, 180, 30):  # meridians
        segments.append(unit_vectors(np.full_like(e, az), e))
    pos = np.concatenate(segments)
    connect = []
    start = 0
    for seg in segments:
        idx = np.arange(start, start + len(seg) - 1)
        connect.append(np.stack([idx, idx + 1], axis=1))
        start += len(seg)
    return pos.astype(np.float32), np.concatenate(connect)


class DoaSphereView(QWidget):
    """Owns a vispy ``SceneCanvas`` and puts its native widget into the layout."""

    kind = "sphere"

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        from vispy import scene

        self.session = session
        self.canvas = scene.SceneCanvas(keys=None, bgcolor="#101010", show=False)
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.cameras.TurntableCamera(
            fov=40, azimuth=-90, elevation=22, distance=4.4
        )  # behind the listener, looking front
        grid_pos, grid_connect = _grid_lines()
        scene.visuals.Line(
            grid_pos, connect=grid_connect, color=(0.45, 0.45, 0.45, 0.5), parent=self.view.scene
        )
        axes = np.array(
            [[0, 0, 0], [1.25, 0, 0], [0, 0, 0], [0, 1.25, 0], [0, 0, 0], [0, 0, 1.25]], np.float32
        )
        colors = np.array(
            [[1, 0.3, 0.3, 1]] * 2 + [[0.3, 1, 0.3, 1]] * 2 + [[0.4, 0.6, 1, 1]] * 2, np.float32
        )
        scene.visuals.Line(axes, connect="segments", color=colors, width=2, parent=self.view.scene)
        for text, pos in (("front", (1.4, 0, 0)), ("left", (0, 1.4, 0)), ("up", (0, 0, 1.4))):
            scene.visuals.Text(text, pos=pos, color="white", font_size=10, parent=self.view.scene)
        self.references = scene.visuals.Markers(parent=self.view.scene)
        self.predictions = scene.visuals.Markers(parent=self.view.scene)
        self.trails = scene.visuals.Line(parent=self.view.scene, connect="segments", width=2)
        self._counts = (0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas.native)
        self.listen_marker = scene.visuals.Markers(parent=self.view.scene)
        self.listen_marker.visible = False
        self._press_pos = None
        self.canvas.events.mouse_press.connect(self._on_press)
        self.canvas.events.mouse_release.connect(self._on_release)
        self.canvas.events.mouse_move.connect(self._on_move)
        self.paths = scene.visuals.Line(parent=self.view.scene, connect="segments", width=1)
        self.keyframes = scene.visuals.Markers(parent=self.view.scene)
        self._grab = None  # the gesture of a marker drag in progress
        self.energy = scene.visuals.Mesh(parent=self.view.scene)
        self.energy.set_gl_state("translucent", depth_test=True, cull_face=False)
        self.energy.visible = False
        self.energy_peak: tuple[float, float] | None = None
        session.energy_changed.connect(self._on_energy)
        session.selection_changed.connect(lambda *_: self.refresh())
        session.editing_changed.connect(lambda *_: self.refresh())
        session.listen_changed.connect(self._on_listen)
        for signal in (session.playhead_changed, session.reference_changed, session.predictions_changed):
            signal.connect(lambda *_: self.refresh())
        # the highlight: its reference (ring) and predicted (disc) directions and the arc between them
        self.highlight_ref = scene.visuals.Markers(parent=self.view.scene)
        self.highlight_pred = scene.visuals.Markers(parent=self.view.scene)
        self.highlight_arc = scene.visuals.Line(parent=self.view.scene, width=3)
        for visual in (self.highlight_ref, self.highlight_pred, self.highlight_arc):
            visual.visible = False
        session.highlight_changed.connect(lambda _h: self._draw_highlight())
        self.refresh()

    def _draw_highlight(self) -> None:
        from vispy.color import Color

        h = self.session.highlight
        color = Color(HIGHLIGHT_COLOR).rgba
        shown = 0
        for direction, visual, predicted in (
            (h and h.ref_direction, self.highlight_ref, False),
            (h and h.pred_direction, self.highlight_pred, True),
        ):
            if not direction:
                visual.visible = False
                continue
            pos = unit_vectors([direction[0]], [direction[1]]).astype(np.float32) * 1.02
            if predicted:
                visual.set_data(pos, symbol="x", face_color=color, edge_color=color, size=20, edge_width=3)
            else:
                visual.set_data(pos, face_color=(0, 0, 0, 0), edge_color=color, size=28, edge_width=3)
            visual.visible = True
            shown += 1
        az, el = highlight_arc(h.ref_direction, h.pred_direction) if h is not None else ((), ())
        if len(az) >= 2:
            self.highlight_arc.set_data(unit_vectors(az, el).astype(np.float32) * 1.02, color=color)
            self.highlight_arc.visible = True
        else:
            self.highlight_arc.visible = False
        self._highlight_count = shown
        turn_to = h and (h.ref_direction or h.pred_direction)
        if turn_to:  # look at it from behind the listener (the default view looks front from azimuth -90)
            self.view.camera.azimuth = float(turn_to[0]) - 90.0
        self.canvas.update()

    @property
    def highlight_count(self) -> int:
        """Highlight markers shown (reference, prediction)."""
        return getattr(self, "_highlight_count", 0)

    # ------------------------------------------------------------------ listen to a direction
    def direction_at(self, x: float, y: float) -> tuple[float, float] | None:
        """(azimuth, elevation) of the sphere point under canvas pixel (x, y), nearest the eye."""
        tr = self.view.scene.transform
        p0 = np.asarray(tr.imap([x, y, 0, 1]), float)
        p1 = np.asarray(tr.imap([x, y, 1, 1]), float)
        p0, p1 = p0[:3] / p0[3], p1[:3] / p1[3]
        d = p1 - p0
        d /= np.linalg.norm(d)
        b = float(np.dot(p0, d))
        c = float(np.dot(p0, p0)) - 1.0
        disc = b * b - c
        if disc < 0:
            return None
        t = -b - np.sqrt(disc)
        if t < 0:
            t = -b + np.sqrt(disc)
        q = p0 + t * d
        return float(np.degrees(np.arctan2(q[1], q[0]))), float(np.degrees(np.arcsin(np.clip(q[2], -1, 1))))

    def _selected_marker(self) -> tuple[float, float] | None:
        """The direction of the one selected event at the playhead, while editing."""
        if not self.session.editing or len(self.session.selected_ids) != 1:
            return None
        event = self.session.annotation.get(next(iter(self.session.selected_ids)))
        frame = self.session.playhead_frame
        if event is None or not event.start <= frame < event.end:
            return None
        return event.direction_at(frame)

    def _on_press(self, event) -> None:
        self._press_pos = event.pos
        marker = self._selected_marker()
        if marker is None or event.button != 1:
            return
        direction = self.direction_at(*event.pos[:2])
        if direction is None:
            return
        from core.spatial.directions import angular_distance

        if angular_distance(direction[0], direction[1], marker[0], marker[1]) <= GRAB_DEG:
            self._grab = object()
            self.view.camera.interactive = False  # the drag moves the marker, not the camera

    def _on_move(self, event) -> None:
        if self._grab is None:
            return
        direction = self.direction_at(*event.pos[:2])
        if direction is not None:
            self.session.pick_direction(direction[0], direction[1], self._grab)

    def _on_release(self, event) -> None:
        if self._grab is not None:
            self._on_move(event)
            self._grab = None
            self.view.camera.interactive = True
            self._press_pos = None
            return
        if self._press_pos is None or event.button != 1:
            return
        moved = np.hypot(*(np.asarray(event.pos, float) - np.asarray(self._press_pos, float)))
        self._press_pos = None
        if moved <= 3:  # a click, not a rotation
            direction = self.direction_at(*event.pos[:2])
            if direction is not None:
                self.session.pick_direction(*direction)

    def _on_listen(self, direction) -> None:
        if direction is None:
            self.listen_marker.visible = False
        else:
            pos = unit_vectors([direction[0]], [direction[1]]).astype(np.float32)
            self.listen_marker.set_data(pos, symbol="cross", size=22, face_color="white", edge_color="white")
            self.listen_marker.visible = True
        self.canvas.update()

    def refresh(self) -> None:
        markers, trails = markers_and_trails(self.session)
        for predicted, visual in ((False, self.references), (True, self.predictions)):
            chosen = [m for m in markers if m.predicted == predicted]
            if not chosen:
                visual.visible = False
                continue
            pos = unit_vectors([m.azimuth for m in chosen], [m.elevation for m in chosen]).astype(np.float32)
            colors = np.array([_rgba(m.cls) for m in chosen], np.float32)
            if predicted:
                visual.set_data(pos, face_color=colors, edge_color=colors, size=11, edge_width=0)
            else:
                visual.set_data(pos * 1.01, face_color=(0, 0, 0, 0), edge_color=colors, size=18, edge_width=3)
            visual.visible = True
        self._counts = (sum(not m.predicted for m in markers), sum(m.predicted for m in markers))
        segs, cols = [], []
        for trail in trails:
            pts = unit_vectors(trail.azimuth, trail.elevation)
            for i in range(len(pts) - 1):
                segs += [pts[i], pts[i + 1]]
                a = float(trail.alpha[i + 1]) * (0.6 if trail.predicted else 0.9)
                cols += [_rgba(trail.cls, a)] * 2
        self._draw_paths()
        if segs:
            self.trails.set_data(
                np.asarray(segs, np.float32), color=np.asarray(cols, np.float32), connect="segments"
            )
            self.trails.visible = True
        else:
            self.trails.visible = False
        self.canvas.update()

    # ------------------------------------------------------------------ energy layer
    def _on_energy(self, m) -> None:
        """Colour the sphere by the energy map (FOA intensity / MIC SRP-PHAT), or not (``None``)."""
        if m is None:
            self.energy.visible = False
            self.energy_peak = None
            self.canvas.update()
            return
        import pyqtgraph as pg  # its colour maps ship with it (vispy's inferno needs matplotlib)

        n_el, n_az = m.values.shape
        az, el = np.meshgrid(m.azimuths, m.elevations)  # (n_el, n_az)
        vertices = unit_vectors(az.ravel(), el.ravel()) * 0.995
        idx = np.arange(n_el * n_az).reshape(n_el, n_az)
        nxt = np.roll(idx, -1, axis=1)  # azimuth wraps around
        a, b, c, d = idx[:-1], nxt[:-1], idx[1:], nxt[1:]
        faces = np.concatenate(
            [np.stack([a, b, c], -1).reshape(-1, 3), np.stack([b, d, c], -1).reshape(-1, 3)]
        )
        colors = np.asarray(pg.colormap.get("inferno").map(m.values.ravel(), mode="float"), np.float32)
        colors[:, 3] = 0.15 + 0.75 * m.values.ravel()
        self.energy.set_data(vertices=vertices.astype(np.float32), faces=faces, vertex_colors=colors)
        self.energy.visible = True
        self.energy_peak = m.peak()
        self.canvas.update()

    def _draw_paths(self) -> None:
        paths = selected_paths(self.session)
        if not paths:
            self.paths.visible = False
            self.keyframes.visible = False
            return
        segs = []
        for p in paths:
            pts = unit_vectors(p.azimuth, p.elevation) * 1.005
            for i in range(len(pts) - 1):
                segs += [pts[i], pts[i + 1]]
        if segs:
            self.paths.set_data(np.asarray(segs, np.float32), color=(1, 1, 1, 0.6), connect="segments")
            self.paths.visible = True
        keys = np.concatenate([unit_vectors(p.key_azimuth, p.key_elevation) for p in paths]) * 1.01
        self.keyframes.set_data(
            keys.astype(np.float32),
            symbol="square",
            size=8,
            face_color=(0, 0, 0, 0),
            edge_color="white",
            edge_width=1.5,
        )
        self.keyframes.visible = True

    @property
    def marker_count(self) -> tuple[int, int]:
        """(reference markers, predicted markers) shown now."""
        return self._counts


def opengl_available() -> tuple[bool, str]:
    """Whether an OpenGL view can be created here, and why not."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal"):
        return False, f"the Qt platform {platform!r} has no OpenGL"
    if os.name == "posix" and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return False, "no display"
    try:
        import vispy  # noqa: F401
    except ImportError:
        return False, "vispy is not installed"
    return True, ""


def create_direction_view(session: Session, parent: QWidget | None = None) -> QWidget:
    """The 3D sphere where OpenGL works, else the equirectangular map."""
    from seldgui.views.doa_map import DoaMapView

    ok, why = opengl_available()
    if ok:
        try:
            from vispy import app as vispy_app

            vispy_app.use_app("pyside6")
            return DoaSphereView(session, parent)
        except Exception as err:  # noqa: BLE001 - any GL/vispy failure falls back to the map
            why = f"{type(err).__name__}: {err}"
    log.info("direction view: equirectangular map (%s)", why)
    return DoaMapView(session, parent)
