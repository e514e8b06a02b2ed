"""clickhouse components."""
