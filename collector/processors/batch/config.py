"""Settings of the ``batch`` processor: the queue between acknowledgement and the writer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BatchConfig"]


class BatchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    send_batch_size: int = Field(32768, ge=1, description="Write when this many spans are queued.")
    timeout: float = Field(0.2, gt=0, le=60, description="...or when the oldest queued span is this old (s).")
    max_queue_spans: int = Field(
        100_000, ge=1, description="Acknowledged-but-unwritten spans above which exports are refused (429)."
    )
    queue_wait: float = Field(
        1.0,
        ge=0,
        le=30,
        description="How long (s) an export waits for room in a full queue before it is refused (429); "
        "0 refuses at once. Waiting costs the client nothing; a refusal makes it resend the whole request.",
    )
    queue_waiters: int = Field(
        8,
        ge=0,
        le=256,
        description="How many exports may wait for room at once; more are refused at once (keep it "
        "below the gRPC receiver's max_workers (16), so some threads always answer).",
    )
