"""Reading run directories and comparing them with the papers' numbers."""
