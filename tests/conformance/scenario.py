"""The one story every conformance client tells, in its own convention: a RAG request that embeds the
question, retrieves nothing, and answers with a chat completion, for one session, user and prompt.

Client scripts (``client_*.py``) run in their own process (instrumentors patch the ``openai`` module
globally) with the collector's endpoints and the stub's URL in the environment.
"""

from __future__ import annotations

import os

CHAT_MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
QUESTION = "Where is my refund?"
SESSION_ID = "sess-42"
USER_ID = "user-7"
CUSTOMER_TIER = "enterprise"
INTENT = "refund"
LABEL = ("team", "billing")  # a foreign metadata key that is none of tracelock's: becomes a label
PROMPT_NAME = "refund-answer"
PROMPT_VERSION = "7"


def case() -> str:
    return os.environ["CONFORMANCE_CASE"]


def service_name() -> str:
    return f"conformance-{case()}"


def openai_base_url() -> str:
    return os.environ["OPENAI_BASE_URL"]


def otlp_http() -> str:
    """Base URL of the collector's OTLP/HTTP receiver (``http://127.0.0.1:PORT``)."""
    return os.environ["CONFORMANCE_OTLP_HTTP"]


def otlp_grpc() -> str:
    return os.environ["CONFORMANCE_OTLP_GRPC"]
