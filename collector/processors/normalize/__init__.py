"""normalize components."""
