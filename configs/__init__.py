"""Shared config fragments: trainer defaults, mesh and optimizer presets, argument parsing."""
