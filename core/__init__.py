"""SELD Studio core: GUI-free audio, features, labels, metrics, models."""

__version__ = "0.1.0"
