"""exporters components."""
