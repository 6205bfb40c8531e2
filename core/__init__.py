"""SELD Studio core: the GUI-free library under the app and the ``seld`` command.

Sub-packages, from the bottom layer up (:data:`LAYERS`); a module imports only from its own
package or from a package below it, and no import chain comes back to where it started
(``tests/test_architecture.py`` checks both on every file):

``common``     errors, atomic writes, the progress/cancel protocol, observable signals
``spatial``    directions on the sphere, Ambisonics, the tetrahedral array, rotations, the format guess
``io``         reading recordings (whole, streamed, on demand; one recording protocol), resources
``dsp``        the DCASE 2020 features, display spectrograms, overviews, energy maps
``labels``     class sets, label tables, the DCASE CSV formats, events, frame targets
``metrics``    the DCASE SELD metrics
``data``       datasets and folds, the feature cache, training segments
``nn``         the paper's CRNN and its losses
``packages``   model packages (safetensors + JSON), ONNX, warm starts, devices
``training``   the configuration, the trainer, checkpoints, evaluation during training
``inference``  a model on recordings
``annotation`` the annotation document, its edits, checks and autosave
``session``    the session model the GUI observes, playback
``synthesis``  the scene synthesizer (``seld synth``)
``cli``        the ``seld`` command, one module per sub-command
"""

__version__ = "0.1.0"

LAYERS: tuple[str, ...] = (
    "common",
    "spatial",
    "io",
    "dsp",
    "labels",
    "metrics",
    "data",
    "nn",
    "packages",
    "training",
    "inference",
    "annotation",
    "session",
    "synthesis",
    "cli",
)
"""The sub-packages of ``core`` from the bottom up: imports run only downward."""
