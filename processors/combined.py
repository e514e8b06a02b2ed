"""One SDK processor that runs :class:`SharedKeysProcessor` and :class:`SignalsProcessor` together.

The SDK calls ``on_start``, ``_on_ending`` and ``on_end`` on every registered processor for every span;
each no-op call costs ~0.05-0.1 us. Registering the pair as one processor whose hooks *are* the parts'
bound methods removes those calls from the <= 1 us budget, while each part stays small and usable alone.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from tracelock.processors.shared_keys import SharedKeysProcessor
from tracelock.processors.signals import SignalsProcessor

__all__ = ["TracelockProcessor"]


class TracelockProcessor(SpanProcessor):
    """``on_start`` stamps the shared keys; ``_on_ending`` derives signals and, on one span in
    ``shared.validate_every``, checks the span against the registry; ``on_end`` does nothing."""

    def __init__(self, shared: SharedKeysProcessor, signals: SignalsProcessor) -> None:
        self.shared = shared
        self.signals = signals
        self.on_start = shared.on_start  # type: ignore[method-assign]
        self._on_ending = signals._on_ending  # type: ignore[method-assign]
        signals.run_after(shared.validate, shared.validate_every)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        self.shared.shutdown()
        self.signals.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
