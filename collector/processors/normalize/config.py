"""Settings of the ``normalize`` processor."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["NormalizeConfig"]


class NormalizeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aliases: bool = Field(True, description="Rename the semconv registry's aliases to canonical keys.")
    extra_aliases: dict[str, str] = Field(
        default_factory=dict, description="More alias -> canonical renames (yours win over the registry's)."
    )
    stamp_origin: bool = Field(True, description="Set tracelock.origin (live|eval) on spans that lack it.")
    max_attribute_value_chars: int = Field(
        65536, ge=64, le=16 * 1024 * 1024, description="Longer attribute values are truncated."
    )
