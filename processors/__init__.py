"""OpenTelemetry SDK span processors that stamp tracelock's shared keys on live and eval spans.

tracelock.instrument(service_name="support-bot", model="gpt-4o-mini", prompt_version="refund-v4")
with tracelock.labels(intent="refund", customer_tier="enterprise"):
    ...                                    # every span started here carries the labels
with tracelock.processors.eval_context(run_id="r1", case_id="c7", repeat=0):
    ...                                    # ... and tracelock.origin = "eval" plus the eval keys
"""

from __future__ import annotations

from tracelock.processors.combined import TracelockProcessor
from tracelock.processors.context import STAMP_KEY, current_keys, eval_context, labels, stamp_from_baggage
from tracelock.processors.problems import PROBLEMS, ProblemLog
from tracelock.processors.prompt import prompt_hash
from tracelock.processors.setup import instrument
from tracelock.processors.shared_keys import (
    VERSION_KEYWORDS,
    SharedKeysProcessor,
    shared_keys_resource,
    version_keys,
)
from tracelock.processors.signals import (
    DEFAULT_PARSE_ERRORS,
    ModelPrice,
    PriceTable,
    SignalsProcessor,
    estimate_tokens,
)

__all__ = [
    "DEFAULT_PARSE_ERRORS",
    "PROBLEMS",
    "STAMP_KEY",
    "VERSION_KEYWORDS",
    "ModelPrice",
    "PriceTable",
    "ProblemLog",
    "SharedKeysProcessor",
    "SignalsProcessor",
    "TracelockProcessor",
    "current_keys",
    "estimate_tokens",
    "eval_context",
    "instrument",
    "labels",
    "prompt_hash",
    "shared_keys_resource",
    "stamp_from_baggage",
    "version_keys",
]
