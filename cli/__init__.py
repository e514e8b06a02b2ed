"""The ``tracelock`` command: thin commands over the library."""
