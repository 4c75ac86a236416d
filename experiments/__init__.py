"""Paper reproductions: one folder per paper table, plus the `run` entry point."""
