"""SELD Studio Qt application."""
