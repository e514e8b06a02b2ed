"""Failure types on both sides of the divergence report: how the offline attempts failed (exceptions by
type, parse failures, the scorers that failed) and each scorer's pass rate, beside the online signals of
the same kind, so "parse failures rose on refund-v4" can be matched to eval runs that fail the same way.

The counts come from ``deploy/sql/queries/eval_failures.sql`` (one pass over eval_records per report);
this module only turns them into proportions of each arm's attempts and names the types that rose on
both sides. An online signal and an offline class match by kind (:data:`ONLINE_TO_OFFLINE`): parse
failures with parse failures, errors with exceptions. A type "rose" online when the online change is
significant (report/stats.py decides, and says nothing on tiny slices) and offline when the candidate's
share of attempts with that class is higher than the baseline's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tracelock.report.stats import Proportion, RateChange

__all__ = ["ARMS", "ONLINE_TO_OFFLINE", "FailureTypes", "fold_failures"]

ARMS = ("baseline", "candidate")
#: online outcome (divergence.ONLINE_OUTCOMES) -> offline failure class prefix of the same kind.
ONLINE_TO_OFFLINE = {"parse_failure_rate": "parse_failure", "error_rate": "exception"}


@dataclass
class FailureTypes:
    """Per arm: each scorer's passes and each failure class's attempts, out of the arm's attempts."""

    attempts: dict[str, int]
    scorers: dict[str, dict[str, Proportion]] = field(default_factory=dict)
    classes: dict[str, dict[str, Proportion]] = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)

    def share(self, prefix: str, arm: str) -> Proportion:
        """Attempts of ``arm`` with a class of this kind (``exception`` sums the exception types: an
        attempt has one error at most, so none is counted twice)."""
        names = [n for n in self.classes if n == prefix or n.startswith(prefix + ":")]
        count = sum(self.classes[n][arm].successes for n in names)
        return Proportion(min(count, self.attempts[arm]), self.attempts[arm])

    def match(self, online_rates: Mapping[str, RateChange], alpha: float) -> None:
        """Name the failure kinds that rose online (significantly) and offline alike."""
        self.matched = []
        for online, prefix in ONLINE_TO_OFFLINE.items():
            change = online_rates.get(online)
            if change is None or not change.significant(alpha) or (change.delta or 0) <= 0:
                continue
            base, cand = self.share(prefix, "baseline"), self.share(prefix, "candidate")
            if base.rate is not None and cand.rate is not None and cand.rate > base.rate:
                self.matched.append(prefix)

    def as_dict(self) -> dict[str, Any]:
        def arms(by_arm: dict[str, Proportion]) -> dict[str, Any]:
            return {arm: by_arm[arm].as_dict() for arm in ARMS}

        return {
            "offline_scorers": {name: arms(v) for name, v in sorted(self.scorers.items())},
            "offline_failures": {name: arms(v) for name, v in sorted(self.classes.items())},
            "matched": self.matched,
        }


def fold_failures(rows: list[dict[str, Any]], attempts: Mapping[str, int]) -> FailureTypes:
    """Rows of eval_failures.sql for one slice (or all of them, summed) -> FailureTypes."""
    counts: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: {a: [0, 0] for a in ARMS})
    for row in rows:
        if row["arm"] not in ARMS:
            continue
        cell = counts[(row["kind"], row["name"])][row["arm"]]
        cell[0] += int(row["passes"] if row["kind"] == "scorer" else row["attempts"])
        cell[1] += int(row["attempts"])
    out = FailureTypes(attempts={arm: int(attempts.get(arm, 0)) for arm in ARMS})
    for (kind, name), by_arm in counts.items():
        if kind == "scorer":
            out.scorers[name] = {arm: Proportion(*by_arm[arm]) for arm in ARMS}
        else:
            out.classes[name] = {arm: Proportion(by_arm[arm][0], out.attempts[arm]) for arm in ARMS}
    return out
