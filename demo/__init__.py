"""``tracelock demo``: the refund-v3 -> refund-v4 story, simulated with the real OTel SDK and the
tracelock processors, loaded through the collector's write path, reported by the same code users run.
"""
