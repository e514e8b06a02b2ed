"""A small OpenAI-compatible HTTP server for the conformance clients: chat completions and embeddings,
with usage, on a local port. Answers are fixed so every client's tokens and models can be asserted."""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# What every case asserts against (tests/test_conformance.py imports these).
CHAT_RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
CHAT_USAGE = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
ANSWER = "Your refund is on its way."
EMBEDDING_USAGE = {"prompt_tokens": 8, "total_tokens": 8}


async def chat_completions(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "id": "chatcmpl-conformance",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": CHAT_RESPONSE_MODEL,
            "system_fingerprint": "fp_conformance",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": CHAT_USAGE,
        }
    )


async def embeddings(request: Request) -> JSONResponse:
    body: dict[str, Any] = await request.json()
    inputs = body.get("input")
    count = len(inputs) if isinstance(inputs, list) else 1
    return JSONResponse(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(count)],
            "model": body.get("model", ""),
            "usage": EMBEDDING_USAGE,
        }
    )


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
        ]
    )
