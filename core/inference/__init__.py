"""Inference: a model on recordings, chunked and streamed."""
