"""Graph and layout transformers for diagrams: the reusable library."""
