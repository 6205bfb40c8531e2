"""The Batch page: a model on many recordings, their dataset-wide metrics and the error inspector.

``runner.py`` runs the batch off the GUI thread (:class:`~seldgui.batch.runner.BatchRunner`) and
scores it; ``table.py`` is the batch table; ``metrics_view.py`` the dataset-wide metrics;
``errors_view.py`` the error inspector and the confusion table; ``page.py`` puts them together
with the export of predictions and metrics, and opens a recording of the batch in the Review tab.
"""
