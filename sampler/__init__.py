"""Seed sampler: rules that flag production spans and traces as eval seeds, online and in batch.

The case file is a dataset seed: complaint-linked traces, thumbs-down, empty retrievals, expensive
unhappy traces, the first traces of a new feature and slices with a high complaint rate become eval
cases. Rules live in YAML (:mod:`tracelock.sampler.rules`) with CEL conditions; the collector applies
span and trace rules to the stream (:mod:`tracelock.sampler.online`), ``tracelock seeds run`` applies
all rules to what is stored (:mod:`tracelock.sampler.batch`); both write the same seed identity.
"""
