"""Settings of the ``normalize`` processor."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["NormalizeConfig"]


class NormalizeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aliases: bool = Field(
        True,
        description="Add the canonical key beside each of the semconv registry's aliases (both are kept).",
    )
    extra_aliases: dict[str, str] = Field(
        default_factory=dict, description="More alias -> canonical copies (yours win over the registry's)."
    )
    prices: str | dict[str, Any] | None = Field(
        None,
        description="Price table for spans with tokens and no tracelock.cost.usd: a JSON file path or "
        "{model: {input_per_million, output_per_million}} (the SDK's TRACELOCK_PRICES format).",
    )
    stamp_origin: bool = Field(True, description="Set tracelock.origin (live|eval) on spans that lack it.")
    max_attribute_value_chars: int = Field(
        65536, ge=64, le=16 * 1024 * 1024, description="Longer attribute values are truncated."
    )
