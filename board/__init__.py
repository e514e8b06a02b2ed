"""The case board: a web UI over the same store, report, lock and seed code the CLI uses.

``tracelock board`` serves it (loopback by default); the collector can serve it too (``board:`` under
``service:`` in its config, :mod:`tracelock.board.serve`). Pages are rendered on the server from Jinja2
templates with SVG charts from :mod:`tracelock.report.svg`; every page's filters are in its URL, so a
link reproduces the page. The application is :func:`tracelock.board.app.create_app`.
"""
