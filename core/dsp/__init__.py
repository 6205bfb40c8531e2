"""Signal processing: the DCASE 2020 features, display spectrograms and overviews, energy maps."""
