"""SELD Studio bundled data (models, demo recording, icons); installed as ``seld_resources``."""
