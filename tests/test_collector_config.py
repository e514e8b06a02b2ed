"""Collector configuration: defaults run, every problem is reported with its YAML path, and the registry
contract (default configs validate; shutdown without start; start -> shutdown -> start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tracelock.collector.component import Exporter, Processor, Receiver, Settings
from tracelock.collector.config import DEFAULT_CONFIG, load_config, parse_config
from tracelock.collector.host import Host
from tracelock.collector.registry import FACTORIES
from tracelock.errors import ConfigError
from tracelock.store import StoreSettings


def test_defaults_listen_on_loopback_4317_4318() -> None:
    config = load_config(None)
    otlp = config.receivers["otlp"].config.protocols
    assert (otlp.grpc.endpoint, otlp.http.endpoint) == ("127.0.0.1:4317", "127.0.0.1:4318")
    assert list(config.service.pipelines["traces"].processors) == ["normalize", "batch"]


def test_every_problem_is_listed_with_its_yaml_path(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(
        "receivers:\n"
        "  otlp:\n"
        "    protocols:\n"
        "      grpc: {endpoint: 'localhost'}\n"
        "      http: {endpiont: '127.0.0.1:4318'}\n"
        "  zipkin: {}\n"
        "processors:\n"
        "  batch: {send_batch_size: 0}\n"
        "  normalize: {}\n"
        "exporters: {clickhouse: {}}\n"
        "service:\n"
        "  pipelines:\n"
        "    traces: {receivers: [otlp], processors: [batch, normalize], exporters: [kafka]}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.splitlines()[0] == f"{path}: 6 problem(s):"
    assert message.splitlines()[1:] == [
        "  receivers::otlp::protocols::grpc::endpoint: Value error, endpoint 'localhost' must be host:port",
        "  receivers::otlp::protocols::http::endpiont: unknown field",
        "  receivers::zipkin: unknown receiver type 'zipkin'",
        "  processors::batch::send_batch_size: Input should be greater than or equal to 1",
        "  service::pipelines::traces::exporters::0: 'kafka' is not defined under exporters",
        "  service::pipelines::traces::processors: 'batch' must be the last processor",
    ]


def test_bad_yaml_and_unknown_section() -> None:
    with pytest.raises(ConfigError, match="recievers: unknown section"):
        parse_config({**DEFAULT_CONFIG, "recievers": {}})


def test_cli_check_exit_code_2_on_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("exporters: {clickhouse: {databse: x}}\n")
    out = subprocess.run(
        [sys.executable, "-m", "tracelock", "collector", "--check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert "exporters::clickhouse::databse: unknown field" in out.stderr


@pytest.mark.parametrize("key", sorted(FACTORIES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_component_contract(key: tuple[str, str], tmp_path: Path, chdb_session_dir: Path) -> None:
    factory = FACTORIES[key]
    config = factory.default_config()
    if factory.type == "otlp":  # the contract must not depend on free default ports
        config = factory.config_model.model_validate(
            {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}}
        )
    component = factory.create(Settings.create(factory.kind, factory.type), config)
    assert isinstance(component, Receiver | Processor | Exporter)
    component.shutdown()  # shutdown without start
    host = Host(StoreSettings(data_dir=chdb_session_dir, database="t_contract"))
    for _ in range(2):
        component.start(host)
        component.shutdown()
    host.close_store()


def test_listed_protocols_are_the_enabled_ones() -> None:
    config = parse_config({**DEFAULT_CONFIG, "receivers": {"otlp": {"protocols": {"http": None}}}})
    protocols = config.receivers["otlp"].config.protocols
    assert protocols.grpc is None and protocols.http.endpoint == "127.0.0.1:4318"


def test_a_busy_port_is_a_config_error_naming_the_endpoint(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        config = tmp_path / "busy.yaml"
        config.write_text(
            f"receivers: {{otlp: {{protocols: {{http: {{endpoint: '127.0.0.1:{port}'}}}}}}}}\n"
            "processors: {batch: {}}\nexporters: {clickhouse: {}}\n"
            "service: {pipelines: {traces: {receivers: [otlp], processors: [batch], "
            "exporters: [clickhouse]}}}\n"
        )
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "tracelock",
                "--data-dir",
                str(tmp_path / "d"),
                "collector",
                "--config",
                str(config),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    assert out.returncode == 2, out.stderr
    assert f"receivers::otlp::protocols::http::endpoint: cannot listen on 127.0.0.1:{port}" in out.stderr


def test_the_exporters_writer_count_is_checked_at_load() -> None:
    config = {**DEFAULT_CONFIG, "exporters": {"clickhouse": {"num_consumers": 0}}}
    with pytest.raises(ConfigError, match=r"exporters::clickhouse::num_consumers: Input should be greater"):
        parse_config(config)
    two = parse_config({**DEFAULT_CONFIG, "exporters": {"clickhouse": {"num_consumers": 2}}})
    assert two.exporters["clickhouse"].config.num_consumers == 2


@pytest.mark.parametrize(("value", "message"), [(0, "greater than or equal to 1"), ("big", "valid integer")])
def test_the_exporters_parse_block_size_is_checked_at_load(value: object, message: str) -> None:
    config = {**DEFAULT_CONFIG, "exporters": {"clickhouse": {"parse_block_mib": value}}}
    named = rf"exporters::clickhouse::parse_block_mib: Input should be .*{message}"
    with pytest.raises(ConfigError, match=named):
        parse_config(config)
    small = parse_config({**DEFAULT_CONFIG, "exporters": {"clickhouse": {"parse_block_mib": 1}}})
    assert small.exporters["clickhouse"].config.parse_block_mib == 1
