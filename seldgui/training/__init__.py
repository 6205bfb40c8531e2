"""The Train page: a dataset, a training form, runs started in their own process and followed
from their run folder, the runs list with a comparison, and a run's results.

:class:`~seldgui.training.page.TrainingPage` is what the window adds as its "Train" tab; the
modules under it each hold one part (``dataset_panel``, ``form``, ``live_view``,
``runs_panel``, ``results``), with ``process`` (starting a run, following its events) and
``prompts`` (the dialogs, replaceable in tests).
"""

from seldgui.training.page import TrainingPage

__all__ = ["TrainingPage"]
