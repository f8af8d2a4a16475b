"""MJCF files: the SO-101 arm and the scenes built around it."""
