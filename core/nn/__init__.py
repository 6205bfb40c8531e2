"""The network: the paper's CRNN with self-attention, and its losses."""
