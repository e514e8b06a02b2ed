"""Deterministic identities and choices, so the collector and ``tracelock seeds run`` agree.

A seed is identified by (rule, trace id, span id): the same match found online and later in batch has
the same :func:`seed_id`, and the seeds table (ReplacingMergeTree keyed by Rule, TraceId, SpanId) folds
the two rows. Sampling is a hash of (rule, trace id) compared with the rule's fraction, so both paths
keep the same traces, and every span of a kept trace is kept together.
"""

from __future__ import annotations

import hashlib

__all__ = ["SEED_ID_LENGTH", "keep_sample", "seed_id"]

SEED_ID_LENGTH = 16
_SEP = "\x1f"


def seed_id(rule: str, trace_id: str, span_id: str = "") -> str:
    """16 lowercase hex chars: sha256 of ``"tracelock.seed.v1" US rule US trace_id US span_id``.

    Ids are lowercased hex as stored in ``otel_traces``; ``span_id`` is empty for trace and slice seeds.
    """
    text = _SEP.join(("tracelock.seed.v1", rule, trace_id.lower(), span_id.lower()))
    return hashlib.sha256(text.encode()).hexdigest()[:SEED_ID_LENGTH]


def keep_sample(rule: str, trace_id: str, fraction: float) -> bool:
    """Whether a match of ``rule`` in ``trace_id`` survives sampling at ``fraction`` (deterministic)."""
    if fraction >= 1.0:
        return True
    digest = hashlib.blake2b(f"{rule}{_SEP}{trace_id.lower()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 < fraction
