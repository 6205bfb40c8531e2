"""Sound event labels: class sets, label tables, every DCASE CSV format, events, frame targets."""
