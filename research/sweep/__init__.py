"""Sweeps: a config's `get_sweep(name)` expanded into runs, run here or written as cluster scripts."""
