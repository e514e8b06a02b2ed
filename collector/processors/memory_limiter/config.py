"""Settings of the ``memory_limiter`` processor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MemoryLimiterConfig"]


class MemoryLimiterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit_mib: int = Field(1024, ge=64, description="Resident set size the collector must stay under.")
    spike_limit_mib: int = Field(
        0,
        ge=0,
        description="Headroom kept below limit_mib for what the byte budget does not see (chDB caches, the "
        "allocator's slack): exports are refused from limit_mib - spike_limit_mib on.",
    )
    check_interval_s: float = Field(0.1, gt=0, le=10, description="How often RSS is read.")
    retry_after_s: float = Field(1.0, gt=0, le=60, description="Retry-After sent with the refusal.")

    @model_validator(mode="after")
    def _spike_below_limit(self) -> MemoryLimiterConfig:
        if self.spike_limit_mib >= self.limit_mib:
            raise ValueError(
                f"spike_limit_mib ({self.spike_limit_mib}) must be below limit_mib ({self.limit_mib})"
            )
        return self

    @property
    def refuse_above_mib(self) -> int:
        """Where refusing starts: the hard limit minus the headroom (the OTel Collector's soft limit)."""
        return self.limit_mib - self.spike_limit_mib
