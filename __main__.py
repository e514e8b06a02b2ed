"""``python -m tracelock`` runs the CLI (the same as the ``tracelock`` command)."""

from tracelock.cli.main import main

main()
