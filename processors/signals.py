"""Derive outcome signals on the SDK side, where the data is: cost, empty retrieval, parse failures,
context tokens.

Runs in ``_on_ending`` (the SDK calls it on every processor before any ``on_end``), so every exporter
of the provider, including ones the application added first, sees the derived attributes. The SDK marks
the attributes immutable just before ``_on_ending`` (the spec's OnEnding allows changes), so the derived
values go into the span's attribute dict directly, within the span's attribute limit. A signal the
application already set is never overwritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from tracelock import env
from tracelock.errors import ConfigError
from tracelock.processors.problems import PROBLEMS, ProblemLog

__all__ = ["DEFAULT_PARSE_ERRORS", "ModelPrice", "PriceTable", "SignalsProcessor", "estimate_tokens"]

IN, OUT = "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"
_OI_IN, _LEGACY_IN = "llm.token_count.prompt", "gen_ai.usage.prompt_tokens"
_IN_ALIASES = (_OI_IN, _LEGACY_IN)
_OUT_ALIASES = ("llm.token_count.completion", "gen_ai.usage.completion_tokens")
COST, EMPTY, DOCS = "tracelock.cost.usd", "tracelock.retrieval.empty", "tracelock.retrieval.document_count"
CONTEXT, PARSE = "tracelock.usage.context_tokens", "tracelock.parse_failure"
REQ_MODEL, RESP_MODEL = "gen_ai.request.model", "gen_ai.response.model"

# exception types (last dotted part) that mean "the model's output did not parse"
DEFAULT_PARSE_ERRORS = frozenset(
    {"JSONDecodeError", "ValidationError", "OutputParserException", "ToolArgumentsError", "ParseError"}
)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (~4 characters per token for English); pass your own for accuracy."""
    return (len(text) + 3) // 4


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens."""

    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1e6


class PriceTable:
    """Model name -> price; an exact name first, else the longest listed prefix (``gpt-4o-mini`` prices
    ``gpt-4o-mini-2024-07-18``). No prices are built in: they change, and a wrong default is worse than
    none. Load from code, or a JSON file ``{"model": {"input_per_million": x, "output_per_million": y}}``
    (also ``[x, y]``), e.g. via ``TRACELOCK_PRICES=/path/prices.json``."""

    def __init__(
        self, prices: Mapping[str, ModelPrice | tuple[float, float] | Mapping[str, float]] | None = None
    ):
        self._prices: dict[str, ModelPrice] = {}
        for model, price in (prices or {}).items():
            self._prices[model] = _as_price(model, price)
        self._by_length = sorted(self._prices, key=len, reverse=True)
        self._cache: dict[str, ModelPrice | None] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> PriceTable:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read price table: {exc}", field=str(path)) from exc
        if not isinstance(data, dict):
            raise ConfigError("price table must be a JSON object of model -> price", field=str(path))
        return cls(data)

    @classmethod
    def from_env(cls) -> PriceTable:
        path = os.environ.get(env.PRICES)
        return cls.from_file(path) if path else cls()

    def __len__(self) -> int:
        return len(self._prices)

    def get(self, model: str) -> ModelPrice | None:
        try:
            return self._cache[model]
        except KeyError:
            pass
        found = self._prices.get(model)
        if found is None:
            found = next((self._prices[p] for p in self._by_length if model.startswith(p)), None)
        if len(self._cache) < 4096:
            self._cache[model] = found
        return found


def _as_price(model: str, price: Any) -> ModelPrice:
    if isinstance(price, ModelPrice):
        return price
    try:
        if isinstance(price, Mapping):
            return ModelPrice(float(price["input_per_million"]), float(price["output_per_million"]))
        inp, out = price
        return ModelPrice(float(inp), float(out))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            "expected {input_per_million, output_per_million} or [input, output] USD per million tokens",
            field=f"prices.{model}",
        ) from exc


def _alias_tokens(attrs: Mapping[str, Any]) -> tuple[Any, Any]:
    """Token counts under OpenInference or legacy names, when the canonical ones are absent."""
    tokens_in = next((attrs[a] for a in _IN_ALIASES if a in attrs), None)
    tokens_out = next((attrs[a] for a in _OUT_ALIASES if a in attrs), None)
    return tokens_in, tokens_out


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (float, str)):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


class SignalsProcessor(SpanProcessor):
    """Adds ``tracelock.cost.usd``, ``tracelock.retrieval.document_count``/``.empty``,
    ``tracelock.usage.context_tokens`` and ``tracelock.parse_failure`` to spans that carry the data.

    - cost: input/output tokens (canonical, OpenInference or legacy names) x ``prices`` for the span's
      response model, else request model, else the Resource's ``gen_ai.request.model``;
    - retrieval (``gen_ai.operation.name = retrieval`` or OpenInference ``RETRIEVER``): document count
      from ``tracelock.retrieval.document_count``, ``gen_ai.retrieval.documents`` (JSON list) or
      OpenInference ``retrieval.documents.N.*``; zero documents -> ``tracelock.retrieval.empty = true``;
      context tokens from the documents' text with ``token_counter``;
    - parse failure: a recorded exception whose type is in ``parse_errors``.
    """

    def __init__(
        self,
        prices: PriceTable | Mapping[str, Any] | None = None,
        *,
        parse_errors: Iterable[str] = DEFAULT_PARSE_ERRORS,
        token_counter: Callable[[str], int] = estimate_tokens,
        problems: ProblemLog = PROBLEMS,
    ) -> None:
        self.prices = prices if isinstance(prices, PriceTable) else PriceTable(prices)
        self._parse_errors = frozenset(parse_errors)
        self._count_tokens = token_counter
        self._problems = problems
        self._priced = len(self.prices) > 0
        self._rates: dict[Any, tuple[float, float] | None] = {}
        self._resource_obj: object = None
        self._resource_model: str | None = None
        self._check: Callable[[Span], None] | None = None
        self._check_every = self._countdown = 0

    def _on_ending(self, span: Span) -> None:
        # hot path (<= 1 us budget): dict reads on the span's own attribute dict and direct writes into
        # it (SDK internals: see _sdk.py); no allocation and no call for a span that yields no signal;
        # rarer paths live in their own methods
        try:
            bounded: Any = span._attributes  # annotations on locals cost nothing at run time
            attrs: dict[str, Any] = bounded._dict
            has_events = span._events._dq  # type: ignore[attr-defined]
        except AttributeError:  # another SDK's span: nothing to derive from safely
            return
        try:
            maxlen = bounded.maxlen
            if self._priced and COST not in attrs:
                tokens_in = attrs.get(IN)
                tokens_out = attrs.get(OUT)
                if tokens_in is None and tokens_out is None and (_OI_IN in attrs or _LEGACY_IN in attrs):
                    tokens_in, tokens_out = _alias_tokens(attrs)  # rare: plain lookups first
                if tokens_in is not None or tokens_out is not None:
                    model = attrs.get(RESP_MODEL) or attrs.get(REQ_MODEL) or self._model_of(span)
                    try:
                        rates = self._rates[model]
                    except KeyError:
                        rates = self._rates_for(model, span.name)
                    if rates is not None:
                        if type(tokens_in) is not int:
                            tokens_in = _int(tokens_in) or 0
                        if type(tokens_out) is not int:
                            tokens_out = _int(tokens_out) or 0
                        if maxlen is None or len(attrs) < maxlen or not self._full(span, 1):
                            attrs[COST] = tokens_in * rates[0] + tokens_out * rates[1]
            op = attrs.get("gen_ai.operation.name")
            if (
                op == "retrieval" or (op is None and attrs.get("openinference.span.kind") == "RETRIEVER")
            ) and (maxlen is None or len(attrs) + 3 <= maxlen or not self._full(span, 3)):
                self._retrieval(attrs)
            if (
                has_events
                and PARSE not in attrs
                and (maxlen is None or len(attrs) < maxlen or not self._full(span, 1))
            ):
                self._parse_failure(span, attrs)
            if self._check_every:  # sampled registry check of the finished span (see TracelockProcessor)
                self._countdown -= 1
                if self._countdown <= 0:
                    self._countdown = self._check_every
                    self._check(span)  # type: ignore[misc]
        except Exception as exc:  # never into the request path
            self._problems.report(
                "internal_error", "signals", repr(exc), span_name=getattr(span, "name", None)
            )

    def _full(self, span: Span, adding: int) -> bool:
        """True (and reported) when ``adding`` attributes would pass the span's attribute limit (the hot
        path checks the common case itself and calls this only near the limit)."""
        bounded: Any = span._attributes
        maxlen = bounded.maxlen
        if maxlen is None or len(bounded._dict) + adding <= maxlen:
            return False
        self._problems.report("dropped", "signals", "span attribute limit reached", span_name=span.name)
        return True

    def run_after(self, check: Callable[[Span], None], every: int) -> None:
        """Call ``check(span)`` at the end of ``_on_ending`` on one span in ``every`` (0: never); the
        combined processor runs the registry validation this way, inside a call the SDK makes anyway."""
        self._check = check
        self._check_every = self._countdown = every

    def _rates_for(self, model: Any, span_name: str) -> tuple[float, float] | None:
        """USD per token for ``model`` (cached, misses too, up to 4096 models)."""
        price = self.prices.get(model) if isinstance(model, str) else None
        rates = (price.input_per_million / 1e6, price.output_per_million / 1e6) if price else None
        if price is None:
            self._problems.report(
                "no_price", str(model), "no price for this model: cost not derived", span_name=span_name
            )
        if len(self._rates) < 4096:
            self._rates[model] = rates
        return rates

    def _model_of(self, span: Span) -> str | None:
        resource = span.resource
        if resource is not self._resource_obj:
            model = resource.attributes.get(REQ_MODEL) if resource is not None else None
            self._resource_model = model if isinstance(model, str) else None
            self._resource_obj = resource
        return self._resource_model

    def _retrieval(self, attrs: dict[str, Any]) -> None:
        texts: list[str] | None = None
        count = _int(attrs.get(DOCS))
        if count is None:
            docs = attrs.get("gen_ai.retrieval.documents")
            if isinstance(docs, str):
                try:
                    loaded = json.loads(docs)
                except ValueError:
                    loaded = None
                if isinstance(loaded, list):
                    count = len(loaded)
                    texts = [
                        d["content"]
                        for d in loaded
                        if isinstance(d, dict) and isinstance(d.get("content"), str)
                    ]
        if count is None:  # OpenInference: retrieval.documents.<i>.document.{id,content,score,metadata}
            indices = set()
            texts = []
            for name, value in attrs.items():
                if name.startswith("retrieval.documents."):
                    index = name[20:].split(".", 1)[0]
                    indices.add(index)
                    if name.endswith(".document.content") and isinstance(value, str):
                        texts.append(value)
            if indices:
                count = len(indices)
        if count is None:
            return
        if DOCS not in attrs:
            attrs[DOCS] = count
        if EMPTY not in attrs:
            attrs[EMPTY] = count == 0
        if texts and CONTEXT not in attrs:
            attrs[CONTEXT] = sum(self._count_tokens(t) for t in texts)

    def _parse_failure(self, span: Span, attrs: dict[str, Any]) -> None:
        for event in span._events:
            if event.name != "exception":
                continue
            kind = (event.attributes or {}).get("exception.type")
            if isinstance(kind, str) and kind.rsplit(".", 1)[-1] in self._parse_errors:
                attrs[PARSE] = True
                return

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
