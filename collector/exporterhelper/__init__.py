"""What every exporter gets without writing it (the OpenTelemetry Collector's exporterhelper shape).

An exporter implements only "write this batch" (:meth:`Exporter.consume`). Around it this package
owns: the classification of write errors (:mod:`.errors`: the data's fault, permanent, or the
store's, retryable), bounded interruptible backoff (:mod:`.retry`), and quarantine (:mod:`.sender`,
:mod:`.dead_letter`): a batch that fails permanently is bisected down to the requests that cause it,
those go to a dead-letter directory with their error, and the rest is written. The sending queue,
whose durable form is the write-ahead log, and batching live in
:class:`~tracelock.collector.pipeline.Pipeline`.
"""

from tracelock.collector.exporterhelper.dead_letter import DeadLetter, DeadLetters
from tracelock.collector.exporterhelper.errors import PermanentWriteError, is_permanent
from tracelock.collector.exporterhelper.retry import RetryPolicy
from tracelock.collector.exporterhelper.sender import BatchSender, Interrupted

__all__ = [
    "BatchSender",
    "DeadLetter",
    "DeadLetters",
    "Interrupted",
    "PermanentWriteError",
    "RetryPolicy",
    "is_permanent",
]
