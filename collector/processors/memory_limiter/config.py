"""Settings of the ``memory_limiter`` processor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MemoryLimiterConfig"]


class MemoryLimiterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit_mib: int = Field(1024, ge=64, description="Resident set size above which exports are refused.")
    check_interval_s: float = Field(0.1, gt=0, le=10, description="How often RSS is read.")
    retry_after_s: float = Field(1.0, gt=0, le=60, description="Retry-After sent with the refusal.")
