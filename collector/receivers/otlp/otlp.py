"""The ``otlp`` receiver: OTLP/gRPC and OTLP/HTTP servers feeding the pipelines that list it."""

from __future__ import annotations

from tracelock.collector.component import Factory, Receiver, Settings
from tracelock.collector.host import Host
from tracelock.collector.receivers.otlp.config import OTLPReceiverConfig
from tracelock.collector.receivers.otlp.grpc_server import GrpcTraceServer
from tracelock.collector.receivers.otlp.http_server import HttpTraceServer
from tracelock.errors import ConfigError

__all__ = ["FACTORY", "OTLPReceiver"]


class OTLPReceiver(Receiver):
    def __init__(self, settings: Settings, config: OTLPReceiverConfig) -> None:
        self.settings = settings
        self.config = config
        self.grpc: GrpcTraceServer | None = None
        self.http: HttpTraceServer | None = None

    def start(self, host: Host) -> None:
        protocols = self.config.protocols
        consumer = host.consumer(self.settings.id)
        where = f"receivers::{self.settings.id}::protocols"
        try:
            if protocols.grpc is not None:
                self.grpc = GrpcTraceServer(protocols.grpc, host, consumer)
                try:
                    self.grpc.start()
                except OSError as exc:
                    raise ConfigError(str(exc), field=f"{where}::grpc::endpoint") from exc
            if protocols.http is not None:
                self.http = HttpTraceServer(protocols.http, host, consumer)
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

    def addresses(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.grpc is not None and self.grpc.port is not None:
            out["grpc"] = f"{self.grpc.config.endpoint.rpartition(':')[0]}:{self.grpc.port}"
        if self.http is not None and self.http.url is not None:
            out["http"] = self.http.url
        return out

    def shutdown(self) -> None:
        if self.grpc is not None:
            self.grpc.shutdown()
            self.grpc = None
        if self.http is not None:
            self.http.shutdown()
            self.http = None


FACTORY = Factory(kind="receiver", type="otlp", config_model=OTLPReceiverConfig, create=OTLPReceiver)
