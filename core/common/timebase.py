"""Time and frames: the one place where seconds become frame indices and back.

Two frame grids are used: DCASE label frames of :data:`LABEL_HOP_S` (100 ms; labels,
targets, events, annotation, metrics) and feature frames of :data:`FEATURE_HOP_S` (20 ms;
spectrograms). Frame ``f`` spans ``[f hop, (f + 1) hop)``.

One rounding rule, with a tolerance of :data:`EPS_FRAMES` of a frame for decimal times that
binary floating point cannot hold (``0.3 / 0.1`` is ``2.9999999999999996``):

* :func:`frame_at`: the frame that *contains* a time (``floor``), for the playhead,
  clicks and markers;
* :func:`nearest_boundary`: the frame *boundary* nearest a time (``floor(x + 1/2)``, halves
  up, never Python's half-to-even ``round``), for event edges, drags and lengths in frames;
* :func:`frame_start` and :func:`frame_centre` go back to seconds.
"""

from __future__ import annotations

import math

LABEL_HOP_S = 0.1
"""Duration of one DCASE label frame in seconds."""
FEATURE_HOP_S = 0.02
"""Duration of one feature frame (the 480-sample hop at 24 kHz) in seconds."""
EPS_FRAMES = 1e-6
"""How far (in frames) below a frame boundary a time still counts as on it."""


def frame_at(seconds: float, hop_s: float = LABEL_HOP_S) -> int:
    """The frame containing time ``seconds`` (0 for negative times)."""
    return max(0, math.floor(seconds / hop_s + EPS_FRAMES))


def nearest_boundary(seconds: float, hop_s: float = LABEL_HOP_S) -> int:
    """The frame boundary nearest time ``seconds`` (halves go up; 0 for negative times)."""
    return max(0, math.floor(seconds / hop_s + 0.5 + EPS_FRAMES))


def frame_start(frame: float, hop_s: float = LABEL_HOP_S) -> float:
    """The time at which ``frame`` starts."""
    return frame * hop_s


def frame_centre(frame: float, hop_s: float = LABEL_HOP_S) -> float:
    """The time at the middle of ``frame``."""
    return (frame + 0.5) * hop_s
