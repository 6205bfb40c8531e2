"""Sub-commands of the ``seld`` CLI, one module each.

Each module defines ``register(subparsers)`` which adds its parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
"""

COMMAND_MODULES = (
    "core.commands.features",
    "core.commands.score",
    "core.commands.infer",
    "core.commands.export_onnx",
    "core.commands.eval",
    "core.commands.train",
    "core.commands.synth",
)
