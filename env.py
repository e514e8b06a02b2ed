"""Every environment variable tracelock reads, named once, and the one precedence rule for settings.

Precedence, as in the OpenTelemetry SDK's OTLP exporters: the explicit argument (or CLI flag), then the
``TRACELOCK_*`` variable, then the general ``OTEL_*`` variable (honoured as the SDK defines it), then
the default. :func:`setting` applies it; callers pass the names below, never a literal.

The CLI declares its flags' variables with these names too (``envvar=env.DATA_DIR``), so ``--help``
and this module cannot disagree.
"""

from __future__ import annotations

import os
from typing import overload

__all__ = [
    "CASES",
    "CLICKHOUSE_URL",
    "COLLECTOR_TOKEN",
    "COLLECTOR_TOKENS",
    "DATABASE",
    "DATA_DIR",
    "ENDPOINT",
    "GRPC_ENDPOINT",
    "HTTP_ENDPOINT",
    "LOCKS",
    "OTEL_PROTOCOL",
    "OTEL_TRACES_PROTOCOL",
    "PRICES",
    "PROTOCOL",
    "RELEASE",
    "RESULTS",
    "RUN_ID",
    "TEST_CLICKHOUSE_URL",
    "TRACE_URL",
    "USER",
    "setting",
]

# -- store (every command) --------------------------------------------------------------------------
DATA_DIR = "TRACELOCK_DATA_DIR"
CLICKHOUSE_URL = "TRACELOCK_CLICKHOUSE_URL"
DATABASE = "TRACELOCK_DATABASE"
# -- SDK side (tracelock.instrument) ----------------------------------------------------------------
ENDPOINT = "TRACELOCK_ENDPOINT"
PROTOCOL = "TRACELOCK_PROTOCOL"
PRICES = "TRACELOCK_PRICES"
OTEL_TRACES_PROTOCOL = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
OTEL_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
# -- collector --------------------------------------------------------------------------------------
COLLECTOR_TOKENS = "TRACELOCK_COLLECTOR_TOKENS"
COLLECTOR_TOKEN = "TRACELOCK_COLLECTOR_TOKEN"  # the receiver token a client command sends (replay)
GRPC_ENDPOINT = "TRACELOCK_GRPC_ENDPOINT"
HTTP_ENDPOINT = "TRACELOCK_HTTP_ENDPOINT"
# -- reports and locks ------------------------------------------------------------------------------
TRACE_URL = "TRACELOCK_TRACE_URL"
LOCKS = "TRACELOCK_LOCKS"
RESULTS = "TRACELOCK_RESULTS"
CASES = "TRACELOCK_CASES"
RUN_ID = "TRACELOCK_RUN_ID"
RELEASE = "TRACELOCK_RELEASE"
USER = "TRACELOCK_USER"
# -- tests ------------------------------------------------------------------------------------------
TEST_CLICKHOUSE_URL = "TRACELOCK_TEST_CLICKHOUSE_URL"


@overload
def setting(explicit: str | None, *names: str, default: str) -> str: ...
@overload
def setting(explicit: str | None, *names: str, default: None = None) -> str | None: ...
def setting(explicit: str | None, *names: str, default: str | None = None) -> str | None:
    """``explicit`` when given, else the first of the variables ``names`` that is set and not empty,
    else ``default``. Pass the ``TRACELOCK_*`` name before the ``OTEL_*`` ones."""
    if explicit is not None:
        return explicit
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default
