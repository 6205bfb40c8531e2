"""The annotation document, its edits (undo), its checks and its autosave."""
