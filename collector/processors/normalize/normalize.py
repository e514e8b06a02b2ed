"""Normalise: add tracelock's canonical keys beside their aliases, stamp eval/live, cap value sizes,
price spans that carry tokens but no cost.

The work is declared on the batch (:class:`AttributeRewrite`) and done by ClickHouse while it parses
the spans, so normalising costs nothing per span in Python. The alias table comes from the semconv
registry (``tracelock.semconv``: OpenInference, OpenLLMetry, Langfuse and deprecated OTel names).
Requests carrying JSON expanders or value converters take the Python path of ``expand.py`` first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from tracelock.collector.component import AttributeRewrite, Factory, Processor, Settings, SpanBatch
from tracelock.collector.processors.normalize.config import NormalizeConfig
from tracelock.collector.processors.normalize.expand import expand_request
from tracelock.collector.processors.normalize.truncation import TruncationWarnings
from tracelock.processors.signals import PriceTable

__all__ = ["FACTORY", "NormalizeProcessor", "default_rewrite", "price_rows", "semconv_aliases"]


def semconv_aliases() -> dict[str, str]:
    """alias -> canonical key, in the registry's precedence order (earlier aliases win)."""
    from tracelock.semconv.index import ALIAS_RANK, ALIAS_TO_CANONICAL

    return {name: ALIAS_TO_CANONICAL[name] for name in sorted(ALIAS_TO_CANONICAL, key=ALIAS_RANK.__getitem__)}


def price_rows(prices: str | Mapping[str, Any] | None) -> tuple[tuple[str, float, float], ...]:
    """(model, USD per input token, USD per output token), longest model name first, from the SDK
    processor's price table format (loaded and checked by its own :class:`PriceTable`)."""
    if prices is None:
        return ()
    table = PriceTable.from_file(prices) if isinstance(prices, str) else PriceTable(prices)
    names = json.loads(Path(prices).read_text()) if isinstance(prices, str) else prices
    rows = []
    for model in sorted(names, key=len, reverse=True):
        price = table.get(model)
        if price is not None:
            rows.append((model, price.input_per_million / 1e6, price.output_per_million / 1e6))
    return tuple(rows)


def default_rewrite(config: NormalizeConfig | None = None) -> AttributeRewrite:
    """The rewrite the collector applies with a given (or the default) normalise configuration."""
    config = config or NormalizeConfig()
    aliases = semconv_aliases() if config.aliases else {}
    aliases.update(config.extra_aliases)
    return AttributeRewrite(
        aliases=aliases,
        max_value_chars=config.max_attribute_value_chars,
        stamp_origin=config.stamp_origin,
        prices=price_rows(config.prices),
    )


class NormalizeProcessor(Processor):
    def __init__(self, settings: Settings, config: NormalizeConfig) -> None:
        self.config = config
        self.rewrite = default_rewrite(config)
        self.truncation = TruncationWarnings(config.max_attribute_value_chars, settings.logger)

    def consume(self, batch: SpanBatch) -> SpanBatch:
        for body in batch.bodies:
            self.truncation.check(body)
        bodies = tuple(expand_request(body) for body in batch.bodies) if self.config.aliases else batch.bodies
        return replace(batch, bodies=bodies, rewrite=self.rewrite)


FACTORY = Factory(kind="processor", type="normalize", config_model=NormalizeConfig, create=NormalizeProcessor)
