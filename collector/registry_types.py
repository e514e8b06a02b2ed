"""What a component factory is: its kind, its type name, its config model and a constructor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from tracelock.collector.component import Component

__all__ = ["Factory", "Kind"]

Kind = Literal["receiver", "processor", "exporter"]


@dataclass(frozen=True)
class Factory:
    """Builds one component type. ``create(config)`` gets a validated instance of ``config_model``."""

    kind: Kind
    type: str
    config_model: type[BaseModel]
    create: Callable[[Any], Component]

    def default_config(self) -> BaseModel:
        return self.config_model()
