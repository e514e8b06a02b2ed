"""Seed sampler: rules that flag production spans and traces as eval seeds, online and in batch.

The case file is a dataset seed: complaint-linked traces, thumbs-down, empty retrievals, expensive
unhappy traces, the first traces of a new feature and slices with a high complaint rate become eval
cases. Rules live in YAML (:mod:`tracelock.sampler.rules`) with CEL conditions; the collector applies
span rules to the stream and trace/slice rules to stored summaries (:mod:`tracelock.sampler.online`,
plugged into the pipeline by :mod:`tracelock.collector.processors.seed_sampler`); ``tracelock seeds
run`` applies all rules to what is stored (:mod:`tracelock.sampler.batch`); both write the same seed
identity (:func:`seed_id`). See docs/seeds.md.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> defining module; imported on first use so `import tracelock.sampler.variables` (the CLI)
# stays cheap
_EXPORTS = {
    "RuleSet": "tracelock.sampler.rules",
    "RunReport": "tracelock.sampler.batch",
    "SeedSampler": "tracelock.sampler.online",
    "dataset_rows": "tracelock.sampler.export",
    "get_seed": "tracelock.sampler.export",
    "keep_sample": "tracelock.sampler.identity",
    "load_rules": "tracelock.sampler.rules",
    "run_rules": "tracelock.sampler.batch",
    "seed_id": "tracelock.sampler.identity",
    "seed_rows": "tracelock.sampler.export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tracelock.sampler' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
