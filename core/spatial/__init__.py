"""Directions and sound fields: Ambisonics conventions, the tetrahedral array, exact rotations."""
