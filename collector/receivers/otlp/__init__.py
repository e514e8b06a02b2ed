"""otlp components."""
