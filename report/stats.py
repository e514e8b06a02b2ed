"""Small, honest statistics for proportions: intervals and tests that stay quiet on tiny slices.

Rates in the reports are proportions of independent-enough units (traces, eval attempts). A Wilson
score interval is used because it behaves at 0/n and n/n and for small n, where the normal
approximation claims certainty it does not have. Differences between baseline and candidate use the
pooled two-proportion z-test; with fewer than ``MIN_EVENTS`` events or units the test is not run at all
(``p_value`` is None) rather than reported as significant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MIN_UNITS", "Proportion", "RateChange", "compare_rates", "wilson_interval"]

#: z for a two-sided 95 % interval.
Z95 = 1.959963984540054
#: Fewer units than this on either side: no test (the slice is too small to say anything).
MIN_UNITS = 5


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for successes/n; (0, 1) when n is 0 (nothing is known)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes <= 0 else max(0.0, centre - half)  # exact at the edges, no float dust
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Proportion:
    """successes out of n, with its rate and 95 % Wilson interval (rate None when n is 0)."""

    successes: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n)

    def as_dict(self) -> dict[str, object]:
        low, high = self.interval
        return {
            "count": self.successes,
            "n": self.n,
            "rate": self.rate,
            "ci95": [round(low, 6), round(high, 6)],
        }


def _normal_sf(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2))


@dataclass(frozen=True)
class RateChange:
    """Baseline vs candidate proportion with the two-sided p-value of the difference."""

    baseline: Proportion
    candidate: Proportion
    p_value: float | None

    @property
    def delta(self) -> float | None:
        if self.baseline.rate is None or self.candidate.rate is None:
            return None
        return self.candidate.rate - self.baseline.rate

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value is not None and self.p_value < alpha

    def as_dict(self) -> dict[str, object]:
        return {
            "baseline": self.baseline.as_dict(),
            "candidate": self.candidate.as_dict(),
            "delta": self.delta,
            "p_value": self.p_value,
            "significant": self.significant(),
        }


def compare_rates(base_successes: int, base_n: int, cand_successes: int, cand_n: int) -> RateChange:
    """Two-proportion z-test (pooled); no p-value when either side has fewer than MIN_UNITS units."""
    base = Proportion(base_successes, base_n)
    cand = Proportion(cand_successes, cand_n)
    if base_n < MIN_UNITS or cand_n < MIN_UNITS:
        return RateChange(base, cand, None)
    pooled = (base_successes + cand_successes) / (base_n + cand_n)
    variance = pooled * (1 - pooled) * (1 / base_n + 1 / cand_n)
    if variance <= 0:  # both 0 % or both 100 %: no difference to test
        return RateChange(base, cand, 1.0)
    z = (cand_successes / cand_n - base_successes / base_n) / math.sqrt(variance)
    return RateChange(base, cand, min(1.0, 2 * _normal_sf(abs(z))))
