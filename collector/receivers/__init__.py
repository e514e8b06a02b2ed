"""receivers components."""
