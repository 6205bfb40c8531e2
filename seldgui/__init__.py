"""SELD Studio Qt application."""

from seldgui._qt_workarounds import make_bools_immortal

make_bools_immortal()
