"""The DCASE SELD metrics."""
