"""The one list of component factories, by kind and type name.

Adding a component is one line here: ``register(<package>.<module>.FACTORY)``.
"""

from __future__ import annotations

from typing import Any

from tracelock.collector.component import Factory, Kind
from tracelock.collector.exporters.clickhouse import clickhouse as clickhouse_exporter
from tracelock.collector.processors.batch import batch as batch_processor
from tracelock.collector.processors.memory_limiter import memory_limiter as memory_limiter_processor
from tracelock.collector.processors.normalize import normalize as normalize_processor
from tracelock.collector.processors.seed_sampler import seed_sampler as seed_sampler_processor
from tracelock.collector.receivers.otlp import otlp as otlp_receiver

__all__ = ["FACTORIES", "get_factory", "register"]

FACTORIES: dict[tuple[Kind, str], Factory[Any]] = {}


def register(factory: Factory[Any]) -> Factory[Any]:
    key = (factory.kind, factory.type)
    if key in FACTORIES and FACTORIES[key] is not factory:
        raise ValueError(f"{factory.kind} type {factory.type!r} is registered twice")
    FACTORIES[key] = factory
    return factory


def get_factory(kind: Kind, type_name: str) -> Factory[Any] | None:
    return FACTORIES.get((kind, type_name))


register(otlp_receiver.FACTORY)
register(normalize_processor.FACTORY)
register(batch_processor.FACTORY)
register(memory_limiter_processor.FACTORY)
register(seed_sampler_processor.FACTORY)
register(clickhouse_exporter.FACTORY)
