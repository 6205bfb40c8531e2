"""Training: the typed configuration, the trainer, its events, the run folder, checkpoints, evaluation during training."""
