"""The refund-v3 -> refund-v4 story as numbers: who sends what, and how each prompt behaves.

Everything the demo's report later "finds" is caused here, by probabilities, never written into the
report: refund-v4 is better on short consumer cases (the offline set), but pulls whole enterprise
contracts and long tool outputs into the context, which breaks tool-output parsing and brings
complaints. The offline dataset is consumer-heavy, as in the story. The two weeks end at the start of
the current UTC day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["ROLLOUT_AT", "START", "STORY", "Outcome", "Request", "Story", "behave", "requests"]

_DAYS_PER_VERSION = 7
# Dated relative to now, so `--since 7d` finds the refund-v4 week: the story ends at the start of today
# (UTC), which keeps it the same for every run on one day (the demo is deterministic per seed and day).
START = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
    days=2 * _DAYS_PER_VERSION
)
ROLLOUT_AT = START + timedelta(days=_DAYS_PER_VERSION)


@dataclass(frozen=True)
class Story:
    """The knobs: traffic mix and each prompt version's behaviour."""

    tiers: tuple[tuple[str, float], ...] = (("consumer", 0.68), ("smb", 0.16), ("enterprise", 0.16))
    intents: tuple[tuple[str, float], ...] = (
        ("refund_status", 0.4),
        ("refund_request", 0.4),
        ("refund_policy", 0.2),
    )
    languages: tuple[tuple[str, float], ...] = (("en", 0.8), ("de", 0.1), ("fr", 0.1))
    offline_pass: tuple[tuple[str, float], ...] = (("refund-v3", 0.84), ("refund-v4", 0.89))
    eval_cases: int = 200
    eval_enterprise_cases: int = 3
    eval_repeats: int = 3


STORY = Story()


@dataclass(frozen=True)
class Request:
    """One production request."""

    index: int
    at: datetime
    prompt_version: str
    tier: str
    intent: str
    language: str


@dataclass(frozen=True)
class Outcome:
    """What happened to one request (or eval attempt) under a prompt version."""

    context_tokens: int
    input_tokens: int
    output_tokens: int
    documents: int
    parse_failure: bool
    complaint: bool
    thumbs_down: bool
    latency_ms: float


def _pick(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def requests(rng: random.Random, per_version: int, story: Story = STORY) -> list[Request]:
    """``per_version`` requests of refund-v3 (the week before the rollout), then of refund-v4 (after)."""
    out: list[Request] = []
    for v, version in enumerate(("refund-v3", "refund-v4")):
        span = timedelta(days=_DAYS_PER_VERSION) / per_version
        for i in range(per_version):
            jitter = timedelta(seconds=rng.uniform(0, span.total_seconds() * 0.9))
            at = START + timedelta(days=_DAYS_PER_VERSION * v) + span * i + jitter
            out.append(
                Request(
                    len(out),
                    at,
                    version,
                    _pick(rng, story.tiers),
                    _pick(rng, story.intents),
                    _pick(rng, story.languages),
                )
            )
    return out


def behave(rng: random.Random, prompt_version: str, tier: str, *, offline: bool = False) -> Outcome:
    """Sample one request's outcome. Offline cases are short consumer-style tickets whatever the tier."""
    v4 = prompt_version == "refund-v4"
    big_account = tier == "enterprise" and not offline
    if big_account:  # v4 pulls the whole contract and every tool output into the context
        context = int(rng.gauss(7200, 1100) if v4 else rng.gauss(1900, 300))
    elif tier == "smb" and not offline:
        context = int(rng.gauss(1500, 250) * (1.15 if v4 else 1.0))
    else:
        context = int(rng.gauss(900, 150) * (1.1 if v4 else 1.0))
    context = max(200, context)
    parse_p = (0.16 if v4 else 0.025) if big_account else (0.018 if v4 else 0.022)
    parse_failure = rng.random() < parse_p
    complaint_p = (
        (0.028 if v4 else 0.032) + (0.45 if parse_failure else 0.0) + (0.05 if context > 6000 else 0.0)
    )
    if tier == "enterprise":
        complaint_p += 0.01
    complaint = rng.random() < complaint_p
    thumbs_down = not complaint and rng.random() < (0.05 + (0.06 if big_account and v4 else 0.0))
    output_tokens = int(rng.gauss(220, 40))
    return Outcome(
        context_tokens=context,
        input_tokens=context + int(rng.gauss(350, 40)),
        output_tokens=max(20, output_tokens),
        documents=0 if rng.random() < 0.03 else rng.randint(2, 8),
        parse_failure=parse_failure,
        complaint=complaint,
        thumbs_down=thumbs_down,
        latency_ms=300 + context * 0.12 + rng.uniform(0, 200),
    )
