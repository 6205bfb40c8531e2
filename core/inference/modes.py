"""The inference modes and their measured costs, without importing the inference code.

* fast (the default: ``rotations=None``): :data:`DEFAULT_ROTATIONS` = 1, no test-time
  rotation (the paper's protocol);
* accurate (``rotations=ACCURATE``, ``seld infer --accurate``, the app's "accurate"): the
  package's own ``rotations`` (16 for the bundled FOA model, 8 for MIC);
* any set by its size (``--rotations N``).

:data:`ROTATION_COST` is the whole run with ``n`` rotations over the fast one, features
included, as ``benchmarks/bench_speed.py`` measures it (bundled models, onnx backend, 2 CPU
threads; docs/results.md, "Speed"). The help texts and the app's tooltip show it.
"""

from __future__ import annotations

DEFAULT_ROTATIONS = 1
"""Test-time rotations of a run that asks for none (``rotations=None``): the fast mode."""
ACCURATE = "accurate"
"""``rotations=ACCURATE``: the package's own rotation set (its metadata's ``rotations``)."""
ROTATION_COST: dict[int, float] = {1: 1.0, 4: 2.8, 8: 4.8, 16: 9.4}
"""Measured cost of a whole run with ``n`` rotations, relative to one (see the module docstring)."""


def rotation_cost_text(n: int) -> str:
    """``"~9x slower"``: the measured cost of ``n`` rotations against one."""
    if n <= 1:
        return "no extra cost"
    return f"~{ROTATION_COST.get(n, float(n)):.0f}x slower"
