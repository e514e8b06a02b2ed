"""The demo's refund assistant as functions a lock gate can run: the prompt that broke and the fix.

``refund_v4`` is refund-v4 as production saw it: for enterprise customers it pulls the whole contract
into the context, the refund-terms tool output no longer parses, and the answer is the apology the
complaints were about. ``refund_v5`` is the fixed prompt: the contract is summarised first and every
tier gets its answer. Both take the lock case too (``task(input, case)``): the customer tier is one of
its labels, so the tier-specific bug replays without a runner of its own::

    tracelock lock check --runner "python -m tracelock.lock.run_tasks tracelock.demo.app:refund_v4"

Both return the reply as the production span records it (:func:`messages`); the simulator writes the
same texts (:func:`answer`), so a trace locked from the demo data holds exactly what refund-v4 says on
replay.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["answer", "messages", "refund_v4", "refund_v5"]

_TIER = "tracelock.customer.tier"
_INTENT = re.compile(r"\(([a-z ]+)\)")


def answer(intent: str, *, failed: bool) -> str:
    """The assistant's reply: the refund terms, or the apology when the terms did not parse."""
    if failed:
        return "I could not read the refund terms for this account."
    return f"Refunds for {intent.replace('_', ' ')} are processed within 14 days."


def messages(role: str, text: str) -> list[dict[str, Any]]:
    """Chat content as the GenAI semantic conventions record it (``gen_ai.*.messages``)."""
    return [{"role": role, "parts": [{"type": "text", "content": text}]}]


def _intent(inputs: Any) -> str:
    text = inputs[0]["parts"][0]["content"] if isinstance(inputs, list) and inputs else str(inputs)
    found = _INTENT.search(str(text))
    return found.group(1) if found else "refund request"


def refund_v4(inputs: Any, case: Any) -> list[dict[str, Any]]:
    """refund-v4: the enterprise contract overflows the context and the answer is the apology."""
    return messages("assistant", answer(_intent(inputs), failed=case.labels.get(_TIER) == "enterprise"))


def refund_v5(inputs: Any, case: Any) -> list[dict[str, Any]]:
    """The fixed prompt: every tier gets its refund terms."""
    return messages("assistant", answer(_intent(inputs), failed=False))
