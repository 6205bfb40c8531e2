"""Datasets: recording discovery and folds, the feature cache, training segments."""
