"""The Qt-free session model the GUI observes, and playback."""
