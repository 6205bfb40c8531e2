"""Inference: a model on a recording (chunked and streamed), on a batch of recordings, and scored on folds."""
