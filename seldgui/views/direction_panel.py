"""The direction side panel: the 3D sphere (where OpenGL works) and the equirectangular map
in tabs, and the switch of the model-free energy layer."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QTabWidget, QVBoxLayout, QWidget

from core.session.session import Session
from seldgui.views.doa_map import DoaMapView
from seldgui.views.doa_sphere import create_direction_view


class DirectionPanel(QWidget):
    """``set_energy(on)`` is called when the energy switch is flipped."""

    def __init__(self, session: Session, set_energy, parent: QWidget | None = None):
        super().__init__(parent)
        self.direction_view = create_direction_view(session, self)
        is_map = isinstance(self.direction_view, DoaMapView)
        self.map_view = self.direction_view if is_map else DoaMapView(session, self)
        self.tabs = QTabWidget(self)
        if not is_map:
            self.tabs.addTab(self.direction_view, "Sphere")
        self.tabs.addTab(self.map_view, "Map")
        self.energy_box = QCheckBox("Energy map at the playhead (model-free)")
        self.energy_box.setToolTip(
            "where the sound energy comes from, before any model runs: FOA intensity, MIC SRP-PHAT"
        )
        self.energy_box.toggled.connect(set_energy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.energy_box)
