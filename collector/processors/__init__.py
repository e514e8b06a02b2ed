"""processors components."""
