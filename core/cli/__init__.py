"""The ``seld`` command line: :mod:`core.cli.seld` (the program) and one module per sub-command.

Each sub-command module defines ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
``python -m core.cli`` (and ``torchrun -m core.cli``) runs the program.
"""

from core.cli.seld import main

__all__ = ["main"]
