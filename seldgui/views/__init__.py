"""Views: each observes the Qt-free session model and never changes another view."""
