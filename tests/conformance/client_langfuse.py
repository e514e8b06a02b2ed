"""The Langfuse SDK (its own OTLP/HTTP exporter to ``/api/public/otel/v1/traces``) with its OpenAI
integration (``langfuse.openai``): trace attributes through ``propagate_attributes`` (v4+) or
``update_current_trace`` (v3), a retriever observation whose output is ``[]``, and the prompt linked to
the generation. The same script runs under v3 (in its own venv) and the current major."""

from __future__ import annotations

import json
import os
from importlib.metadata import version

from tests.conformance import scenario as s

os.environ["LANGFUSE_PUBLIC_KEY"] = "pk-lf-conformance"
os.environ["LANGFUSE_SECRET_KEY"] = "sk-lf-conformance"
os.environ["OTEL_SERVICE_NAME"] = s.service_name()
MAJOR = int(version("langfuse").split(".")[0])
if MAJOR >= 4:
    os.environ["LANGFUSE_BASE_URL"] = s.otlp_http()
else:
    os.environ["LANGFUSE_HOST"] = s.otlp_http()

from langfuse import get_client  # noqa: E402
from langfuse.openai import OpenAI  # noqa: E402

langfuse = get_client()
client = OpenAI(base_url=s.openai_base_url(), api_key="sk-conformance")
metadata = {"customer_tier": s.CUSTOMER_TIER, "intent": s.INTENT, s.LABEL[0]: s.LABEL[1]}
prompt = {"name": s.PROMPT_NAME, "version": int(s.PROMPT_VERSION)}


def rag() -> None:
    client.embeddings.create(model=s.EMBEDDING_MODEL, input=s.QUESTION)
    with langfuse.start_as_current_observation(name="retrieve", as_type="retriever", input=s.QUESTION) as hit:
        hit.update(output=[])
    client.chat.completions.create(
        model=s.CHAT_MODEL,
        messages=[{"role": "user", "content": s.QUESTION}],
        temperature=0,
        **({} if MAJOR >= 4 else {"langfuse_prompt": _v3_prompt()}),
    )


def _v3_prompt() -> object:
    """v3 links a prompt only through a PromptClient (normally fetched from the server)."""
    from langfuse.api.resources.prompts import Prompt_Text
    from langfuse.model import TextPromptClient

    return TextPromptClient(
        Prompt_Text(prompt="Answer: {{question}}", config={}, labels=[], tags=[], **prompt)  # type: ignore[arg-type]
    )


if MAJOR >= 4:
    from langfuse import propagate_attributes

    with (
        langfuse.start_as_current_observation(name="rag", as_type="span"),
        propagate_attributes(session_id=s.SESSION_ID, user_id=s.USER_ID, metadata=metadata, prompt=prompt),
    ):
        rag()
else:
    with langfuse.start_as_current_span(name="rag"):
        langfuse.update_current_trace(session_id=s.SESSION_ID, user_id=s.USER_ID, metadata=metadata)
        rag()
langfuse.flush()
langfuse.shutdown()
print(json.dumps({"ok": True, "langfuse": version("langfuse")}))
