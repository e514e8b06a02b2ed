"""Seed sampler: rules that flag production spans and traces as eval seeds, online and in batch.

The case file is a dataset seed: complaint-linked traces, thumbs-down, empty retrievals, expensive
unhappy traces, the first traces of a new feature and slices with a high complaint rate become eval
cases. Rules live in YAML (:mod:`tracelock.sampler.rules`) with CEL conditions; the collector applies
span rules to the stream and trace/slice rules to stored summaries (:mod:`tracelock.sampler.online`,
:mod:`tracelock.sampler.processor`); ``tracelock seeds run`` applies all rules to what is stored
(:mod:`tracelock.sampler.batch`); both write the same seed identity (:func:`seed_id`).
See docs/seeds.md.
"""

from __future__ import annotations

from tracelock.sampler.batch import RunReport, run_rules
from tracelock.sampler.export import dataset_rows, get_seed, seed_rows
from tracelock.sampler.identity import keep_sample, seed_id
from tracelock.sampler.online import SeedSampler
from tracelock.sampler.rules import RuleSet, load_rules

__all__ = [
    "RuleSet",
    "RunReport",
    "SeedSampler",
    "dataset_rows",
    "get_seed",
    "keep_sample",
    "load_rules",
    "run_rules",
    "seed_id",
    "seed_rows",
]
