"""The ``memory_limiter`` processor: refuse new exports (retryably) while the process RSS is over a cap."""
