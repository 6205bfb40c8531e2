"""Training: the typed configuration, the trainer, checkpoints, evaluation during training."""
