"""The one list of component factories, by kind and type name.

Adding a component is one line here: ``register(<package>.factory.FACTORY)``.
"""

from __future__ import annotations

from tracelock.collector.exporters.clickhouse import factory as clickhouse_exporter
from tracelock.collector.processors.batch import factory as batch_processor
from tracelock.collector.processors.memory_limiter import factory as memory_limiter_processor
from tracelock.collector.processors.normalize import factory as normalize_processor
from tracelock.collector.receivers.otlp import factory as otlp_receiver
from tracelock.collector.registry_types import Factory, Kind
from tracelock.sampler import processor as seed_sampler_processor

__all__ = ["FACTORIES", "get_factory", "register"]

FACTORIES: dict[tuple[Kind, str], Factory] = {}


def register(factory: Factory) -> Factory:
    key = (factory.kind, factory.type)
    if key in FACTORIES and FACTORIES[key] is not factory:
        raise ValueError(f"{factory.kind} type {factory.type!r} is registered twice")
    FACTORIES[key] = factory
    return factory


def get_factory(kind: Kind, type_name: str) -> Factory | None:
    return FACTORIES.get((kind, type_name))


register(otlp_receiver.FACTORY)
register(normalize_processor.FACTORY)
register(batch_processor.FACTORY)
register(memory_limiter_processor.FACTORY)
register(seed_sampler_processor.FACTORY)
register(clickhouse_exporter.FACTORY)
