"""The collector's configuration file: the OpenTelemetry Collector's shape, validated once at start.

Every problem is collected with its YAML path (``receivers::otlp::protocols::grpc::endpoint``) and all
are reported together; references between sections (a pipeline naming an undefined exporter, an
exporter claimed by two pipelines) are checked here, once, as is every component's own config (an
exporter's endpoint and database included), so ``--check`` finds what start would.

``service::pipelines`` holds any number of pipelines named ``traces`` or ``traces/<name>``; each lists
its receivers (a receiver may feed several pipelines), its processors (run in order, once per request)
and its exporters (each with its own queue; a request is acknowledged once every exporter of the
pipeline holds it durably). An exporter belongs to one pipeline: its write-ahead log is replayed through
that pipeline's processors. ``tracelock collector`` without a file runs :data:`DEFAULT_CONFIG`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracelock.board.serve import BoardConfig
from tracelock.collector.component import Kind
from tracelock.collector.registry import get_factory
from tracelock.collector.security.config import AdminConfig
from tracelock.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "CollectorConfig",
    "ComponentSpec",
    "load_config",
    "parse_config",
    "read_config",
]

DEFAULT_CONFIG: dict[str, Any] = {
    "receivers": {"otlp": {}},
    "processors": {"normalize": {}, "batch": {}},
    "exporters": {"clickhouse": {}},
    "service": {
        "pipelines": {
            "traces": {
                "receivers": ["otlp"],
                "processors": ["normalize", "batch"],
                "exporters": ["clickhouse"],
            }
        }
    },
}


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receivers: list[str] = Field(min_length=1)
    processors: list[str] = Field(default_factory=list)
    exporters: list[str] = Field(min_length=1)


class WalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directory: Path | None = Field(None, description="Default: <data-dir>/collector/wal.")
    max_mib: int = Field(1024, ge=1, description="Unwritten WAL bytes above which exports are refused.")
    segment_mib: int = Field(64, ge=1)
    fsync: bool = Field(True, description="fsync before acknowledging (turn off only for benchmarks).")


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipelines: dict[str, PipelineConfig] = Field(min_length=1)
    wal: WalConfig = Field(default_factory=WalConfig)
    admin: AdminConfig = Field(default_factory=AdminConfig)
    board: BoardConfig | None = Field(None, description="Serve the case board too (tracelock.board.serve).")
    drain_timeout: float = Field(
        30.0, gt=0, description="Seconds SIGTERM waits for queued spans to be written."
    )


class ComponentSpec(BaseModel):
    """One configured component: ``type[/name]`` id, its factory's validated config."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    kind: Kind
    type: str
    config: Any  # the factory's own config model


class CollectorConfig(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    receivers: dict[str, ComponentSpec]
    processors: dict[str, ComponentSpec]
    exporters: dict[str, ComponentSpec]
    service: ServiceConfig


def _path(parts: tuple[Any, ...]) -> str:
    return "::".join(str(p) for p in parts)


def _errors(exc: ValidationError, prefix: tuple[Any, ...]) -> list[str]:
    out = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        out.append(f"{_path(prefix + loc)}: {message}")
    return out


def parse_config(raw: Any, source: str = "config") -> CollectorConfig:
    """Validate a config mapping (already parsed YAML); raise ConfigError listing every problem."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping with receivers/processors/exporters/service"
        )
    known = {"receivers", "processors", "exporters", "service", "extensions"}
    problems += [
        f"{key}: unknown section (expected one of {', '.join(sorted(known))})"
        for key in raw
        if key not in known
    ]
    sections: dict[str, dict[str, ComponentSpec]] = {}
    kinds: tuple[tuple[str, Kind], ...] = (
        ("receivers", "receiver"),
        ("processors", "processor"),
        ("exporters", "exporter"),
    )
    for section, kind in kinds:
        specs: dict[str, ComponentSpec] = {}
        entries = raw.get(section) or {}
        if not isinstance(entries, dict):
            problems.append(f"{section}: expected a mapping of component ids")
            entries = {}
        for comp_id, body in entries.items():
            type_name = str(comp_id).split("/", 1)[0]
            factory = get_factory(kind, type_name)
            if factory is None:
                problems.append(f"{section}::{comp_id}: unknown {kind} type {type_name!r}")
                continue
            try:
                config = factory.config_model.model_validate(body or {})
            except ValidationError as exc:
                problems += _errors(exc, (section, comp_id))
                continue
            specs[str(comp_id)] = ComponentSpec(id=str(comp_id), kind=kind, type=type_name, config=config)
        sections[section] = specs
    service = None
    try:
        service = ServiceConfig.model_validate(raw.get("service") or {})
    except ValidationError as exc:
        problems += _errors(exc, ("service",))
    if service is not None:
        problems += _pipeline_problems(service, raw)
    if problems:
        listing = "\n  ".join(problems)
        error = ConfigError(f"{source}: {len(problems)} problem(s):\n  {listing}")
        error.field = problems[0].split(":")[0]  # the first bad path, for callers; the message lists all
        raise error
    assert service is not None
    return CollectorConfig(
        receivers=sections["receivers"],
        processors=sections["processors"],
        exporters=sections["exporters"],
        service=service,
    )


def _pipeline_problems(service: ServiceConfig, raw: dict[str, Any]) -> list[str]:
    """Cross-references: pipeline names, components defined, batch last, one pipeline per exporter."""
    problems: list[str] = []
    exporter_owner: dict[str, str] = {}
    for name, pipeline in service.pipelines.items():
        if name.split("/", 1)[0] != "traces" or name.endswith("/"):
            expected = "('traces' or 'traces/<name>')"
            problems.append(f"service::pipelines::{name}: only traces pipelines are supported {expected}")
        for section in ("receivers", "processors", "exporters"):
            ids: list[str] = getattr(pipeline, section)
            for index, comp_id in enumerate(ids):
                where = f"service::pipelines::{name}::{section}::{index}"
                if comp_id not in (raw.get(section) or {}):
                    problems.append(f"{where}: {comp_id!r} is not defined under {section}")
                elif ids.index(comp_id) != index:
                    problems.append(f"{where}: {comp_id!r} is listed twice")
                elif section == "exporters" and comp_id in exporter_owner:
                    owner = exporter_owner[comp_id]
                    problems.append(f"{where}: {comp_id!r} is already used by pipeline {owner!r}")
                elif section == "exporters":
                    exporter_owner[comp_id] = name
        types = [p.split("/", 1)[0] for p in pipeline.processors]
        if "batch" in types and types.index("batch") != len(types) - 1:
            problems.append(f"service::pipelines::{name}::processors: 'batch' must be the last processor")
    return problems


def read_config(path: str | Path | None) -> Any:
    """The YAML in ``path`` as data (a copy of the defaults when ``path`` is None), not yet validated."""
    if path is None:
        return copy.deepcopy(DEFAULT_CONFIG)
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


def load_config(path: str | Path | None) -> CollectorConfig:
    """The config in ``path`` (YAML), or the defaults when ``path`` is None."""
    return parse_config(read_config(path), str(path) if path is not None else "defaults")
