"""batch components."""
