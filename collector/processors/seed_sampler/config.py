"""Settings of the ``seed_sampler`` processor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tracelock.sampler.rules import parse_duration

__all__ = ["SeedSamplerConfig"]


class SeedSamplerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: str | None = Field(None, description="Rules file (YAML); the built-in rules when omitted.")
    trace_rules_every: str = Field(
        "30s", description="How often trace and slice rules run; 0s turns them off."
    )
    settle: str = Field("30s", description="A trace is evaluated once its last span ended this long ago.")
    lookback: str = Field("2h", description="How far back each trace/slice pass looks.")
    stamp: bool = Field(True, description="Stamp tracelock.seed.rules / tracelock.seed.ids on matched spans.")

    @field_validator("trace_rules_every", "settle", "lookback")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value
