"""The ``seed_sampler`` collector processor: tracelock's seed rules inside the collector pipeline.

    processors:
      seed_sampler:
        rules: deploy/rules/default.yaml   # omitted: the built-in rules
        trace_rules_every: 30s             # 0s: trace/slice rules only via `tracelock seeds run`
        settle: 30s                        # a trace is evaluated once it ended this long ago
        lookback: 2h
    service:
      pipelines:
        traces: {processors: [normalize, seed_sampler, batch]}

The sampling itself (rules, conditions, seeds) is :mod:`tracelock.sampler`, which knows nothing of the
collector; this package only plugs it into a pipeline. The rules file is loaded and compiled when the
processor is created, so a bad file stops the collector from starting with the file's own error.
``consume`` evaluates span rules on each request's bytes and returns the batch with matched spans
stamped; a background thread applies trace and slice rules to stored summaries. A failure of either
never stops spans from flowing: it is counted and logged once.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from tracelock.collector.component import Factory, Processor, Settings, SpanBatch
from tracelock.collector.processors.seed_sampler.config import SeedSamplerConfig
from tracelock.sampler.metrics import SamplerMetrics
from tracelock.sampler.online import SeedSampler
from tracelock.sampler.rules import load_rules, parse_duration

if TYPE_CHECKING:
    from tracelock.collector.host import Host

__all__ = ["FACTORY", "SeedSamplerProcessor"]


class SeedSamplerProcessor(Processor):
    def __init__(self, settings: Settings, config: SeedSamplerConfig) -> None:
        self.settings = settings
        self.config = config
        self.rules = load_rules(path=config.rules) if config.rules else load_rules()
        self.sampler: SeedSampler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.metrics: SamplerMetrics | None = None

    def start(self, host: Host) -> None:
        self.sampler = SeedSampler(self.rules, host.store, stamp=self.config.stamp)
        self.metrics = SamplerMetrics(self.settings.metrics)
        self._stop.clear()
        every = parse_duration(self.config.trace_rules_every).total_seconds()
        if every > 0:
            self._thread = threading.Thread(
                target=self._trace_loop, args=(every,), name="seed-sampler-traces", daemon=True
            )
            self._thread.start()

    def consume(self, batch: SpanBatch) -> SpanBatch:
        sampler = self.sampler
        if sampler is None or sampler.engine.empty:
            return batch
        bodies = []
        changed = False
        for body in batch.bodies:
            try:
                new_body, seeds = sampler.process(body)
            except Exception as exc:  # the sampler must never cost the user their spans
                self._failed(exc)
                new_body, seeds = body, []
            changed = changed or new_body is not body
            bodies.append(new_body)
            if self.metrics is not None:
                for seed in seeds:
                    self.metrics.seeds.labels(rule=seed.rule, mode="online").inc()
        if self.metrics is not None:
            self.metrics.add_deltas(self.metrics.rule_errors, "errors", sampler.runtime_errors)
            self.metrics.add_deltas(self.metrics.rate_limited, "limited", sampler.limiter.refused)
        return replace(batch, bodies=tuple(bodies)) if changed else batch

    def run_trace_rules_once(self) -> None:
        if self.sampler is None:
            return
        try:
            report = self.sampler.run_trace_rules(
                settle=parse_duration(self.config.settle),
                lookback=parse_duration(self.config.lookback),
            )
        except Exception as exc:
            self._failed(exc)
            return
        if report is not None and self.metrics is not None:
            for rule in report.rules:  # refusals and errors repeat each pass: only new seeds are counted
                if rule.new:
                    self.metrics.seeds.labels(rule=rule.rule, mode="online").inc(rule.new)

    def _trace_loop(self, every: float) -> None:
        while not self._stop.wait(every):
            self.run_trace_rules_once()

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        if self.metrics is not None:
            self.metrics.failures.inc()
        if self.failures == 1:
            self.settings.logger.warning(
                "seed sampler failed (counted; spans still flow; logged once): %s", exc
            )

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.sampler = None


FACTORY = Factory(
    kind="processor", type="seed_sampler", config_model=SeedSamplerConfig, create=SeedSamplerProcessor
)
