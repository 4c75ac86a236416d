"""Graph batches, segment operations and positional/structural encodings."""
