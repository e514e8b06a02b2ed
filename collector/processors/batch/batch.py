"""The batch processor: where the pipeline turns asynchronous.

Processors listed before ``batch`` run on the receiving thread, before the acknowledgement; the batch
processor then admits the spans (or refuses them with :class:`Overloaded` when ``max_queue_spans`` are
already waiting), and one writer thread takes queued batches, merged up to ``send_batch_size`` spans
or ``timeout`` seconds, to the exporter. Its ``consume`` passes data through unchanged; the queue
itself lives in :class:`tracelock.collector.pipeline.Pipeline`, configured from here.
"""

from __future__ import annotations

from tracelock.collector.component import Factory, Processor, Settings, SpanBatch
from tracelock.collector.processors.batch.config import BatchConfig

__all__ = ["FACTORY", "BatchProcessor"]


class BatchProcessor(Processor):
    def __init__(self, settings: Settings, config: BatchConfig) -> None:
        self.config = config

    def consume(self, batch: SpanBatch) -> SpanBatch:
        return batch


FACTORY = Factory(kind="processor", type="batch", config_model=BatchConfig, create=BatchProcessor)
