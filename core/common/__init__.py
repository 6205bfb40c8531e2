"""The bottom layer: the error family, atomic writes, the progress/cancel protocol, observable signals."""
