"""Spatial scene synthesis in the manner of the TAU-NIGENS Spatial Sound Events 2020 generator.

* :mod:`core.synthesis.sources` - mono source events per class: built-in generators
  (:mod:`core.synthesis.generators`) or a NIGENS-like folder of clips (``SourceBank``).
"""
