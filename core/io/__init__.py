"""Reading recordings (WAV/FLAC/OGG at 24 kHz, streamed or whole) and the bundled resources."""
