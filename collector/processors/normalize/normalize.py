"""Normalise: alias attribute names to tracelock's canonical keys, stamp eval/live, cap value sizes.

The work is declared on the batch (:class:`AttributeRewrite`) and done by ClickHouse while it parses
the spans, so normalising costs nothing per span in Python. The alias table comes from the semconv
registry (``tracelock.semconv``: OpenInference, OpenLLMetry, Langfuse and deprecated OTel names).
Requests carrying JSON expanders or value converters take the Python path of ``expand.py`` first.
"""

from __future__ import annotations

from dataclasses import replace

from tracelock.collector.component import AttributeRewrite, Factory, Processor, Settings, SpanBatch
from tracelock.collector.processors.normalize.config import NormalizeConfig
from tracelock.collector.processors.normalize.expand import expand_request

__all__ = ["FACTORY", "NormalizeProcessor", "default_rewrite", "semconv_aliases"]


def semconv_aliases() -> dict[str, str]:
    """alias -> canonical key, in the registry's precedence order (earlier aliases win)."""
    from tracelock.semconv.index import ALIAS_RANK, ALIAS_TO_CANONICAL

    return {name: ALIAS_TO_CANONICAL[name] for name in sorted(ALIAS_TO_CANONICAL, key=ALIAS_RANK.__getitem__)}


def default_rewrite(config: NormalizeConfig | None = None) -> AttributeRewrite:
    """The rewrite the collector applies with a given (or the default) normalise configuration."""
    config = config or NormalizeConfig()
    aliases = semconv_aliases() if config.aliases else {}
    aliases.update(config.extra_aliases)
    return AttributeRewrite(
        aliases=aliases, max_value_chars=config.max_attribute_value_chars, stamp_origin=config.stamp_origin
    )


class NormalizeProcessor(Processor):
    def __init__(self, settings: Settings, config: NormalizeConfig) -> None:
        self.config = config
        self.rewrite = default_rewrite(config)

    def consume(self, batch: SpanBatch) -> SpanBatch:
        bodies = tuple(expand_request(body) for body in batch.bodies) if self.config.aliases else batch.bodies
        return replace(batch, bodies=bodies, rewrite=self.rewrite)


FACTORY = Factory(kind="processor", type="normalize", config_model=NormalizeConfig, create=NormalizeProcessor)
