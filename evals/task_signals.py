"""The task's own spans, folded into its eval span: the outcome signals an eval record must carry.

A task's LLM and tool calls are child spans of the eval span; the signals the processors stamp on them
(``tracelock.usage.context_tokens``, ``tracelock.parse_failure``) would otherwise stay on those spans,
and ``eval_records`` (built from the eval span alone) would say 0 context tokens and no parse failure
for an attempt whose model call failed to parse. :class:`TaskSignals` is a span processor that
``run_eval`` adds to the provider once; while an attempt is open it folds the spans that end in that
attempt's trace (context tokens: the largest, as ``trace_summaries`` folds them; parse failure: any),
and the runner copies the fold onto the eval span before it ends. Outside an attempt, ``on_end`` is
one dict lookup. Token and cost sums are not copied: they would count twice in ``trace_summaries``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

__all__ = ["SignalFold", "TaskSignals", "task_signals"]

_CONTEXT, _PARSE = "tracelock.usage.context_tokens", "tracelock.parse_failure"
_MARK = "_tracelock_task_signals"


@dataclass
class SignalFold:
    """What the task spans of one attempt said."""

    context_tokens: int | None = None
    parse_failure: bool = False
    spans: int = 0


class TaskSignals(SpanProcessor):
    def __init__(self) -> None:
        self._open: dict[int, SignalFold] = {}
        self._lock = threading.Lock()

    def watch(self, trace_id: int) -> SignalFold:
        """Start folding the spans of ``trace_id`` (the eval span's trace)."""
        fold = SignalFold()
        with self._lock:
            self._open[trace_id] = fold
        return fold

    def stop(self, trace_id: int) -> None:
        with self._lock:
            self._open.pop(trace_id, None)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        fold = self._open.get(context.trace_id) if context is not None else None
        if fold is None:
            return
        attributes = span.attributes or {}
        fold.spans += 1
        tokens = attributes.get(_CONTEXT)
        if isinstance(tokens, int) and not isinstance(tokens, bool):
            fold.context_tokens = max(fold.context_tokens or 0, tokens)
        if attributes.get(_PARSE) is True:
            fold.parse_failure = True

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def task_signals(provider: TracerProvider) -> TaskSignals:
    """The provider's TaskSignals, added on first use (after tracelock's own processors)."""
    existing = getattr(provider, _MARK, None)
    if isinstance(existing, TaskSignals):
        return existing
    processor = TaskSignals()
    provider.add_span_processor(processor)
    setattr(provider, _MARK, processor)
    return processor
