"""The case board: a web UI over the same store, report, lock and seed code the CLI uses.

``tracelock board`` serves it (loopback by default); the collector can serve it too (``board:`` in its
config). Pages are rendered on the server from Jinja2 templates with SVG charts from
:mod:`tracelock.report.svg`; every page's filters are in its URL, so a link reproduces the page.
"""

from tracelock.board.app import BoardOptions, create_app

__all__ = ["BoardOptions", "create_app"]
