"""The ``otlp`` receiver: OTLP/gRPC and OTLP/HTTP servers feeding ``host.ingest``."""

from __future__ import annotations

from tracelock.collector.component import Receiver
from tracelock.collector.host import Host
from tracelock.collector.receivers.otlp.config import OTLPReceiverConfig
from tracelock.collector.receivers.otlp.grpc_server import GrpcTraceServer
from tracelock.collector.receivers.otlp.http_server import HttpTraceServer
from tracelock.errors import ConfigError

__all__ = ["OTLPReceiver"]


class OTLPReceiver(Receiver):
    def __init__(self, config: OTLPReceiverConfig) -> None:
        self.config = config
        self.grpc: GrpcTraceServer | None = None
        self.http: HttpTraceServer | None = None

    def start(self, host: Host) -> None:
        protocols = self.config.protocols
        where = "receivers::otlp::protocols"
        try:
            if protocols.grpc is not None:
                self.grpc = GrpcTraceServer(protocols.grpc, host)
                try:
                    self.grpc.start()
                except OSError as exc:
                    raise ConfigError(str(exc), field=f"{where}::grpc::endpoint") from exc
            if protocols.http is not None:
                self.http = HttpTraceServer(protocols.http, host)
                try:
                    self.http.start()
                except OSError as exc:
                    endpoint = protocols.http.endpoint
                    raise ConfigError(
                        f"cannot listen on {endpoint}: {exc}", field=f"{where}::http::endpoint"
                    ) from exc
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        if self.grpc is not None:
            self.grpc.shutdown()
            self.grpc = None
        if self.http is not None:
            self.http.shutdown()
            self.http = None
