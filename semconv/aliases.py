"""Names other instrumentation emits for tracelock's keys, and how their values convert.

Sources (see /work/shared/reference/semconv-aliases.md): OpenInference (Arize, Phoenix), OpenLLMetry
(traceloop), Langfuse OTLP ingestion, the Vercel AI SDK (as read by Langfuse), and deprecated OTel GenAI
names. Converters never raise: a value they cannot convert is returned unchanged, and validation
reports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tracelock.semconv.model import Alias, Expander, LabelSource

__all__ = ["ALIASES", "EXPANDERS", "LABEL_SOURCES", "VALUE_NORMALIZERS"]

# ---- value converters -------------------------------------------------------------------------------


def to_text(value: Any) -> Any:
    """Integer prompt versions (Langfuse, traceloop) become their string form; strings stay."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def to_int(value: Any) -> Any:
    """Token counts arrive as ints, floats or (through string-only stores) digit strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    return value


def to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


_PROVIDER_VALUES = {
    # OpenLLMetry legacy display names and deprecated OTel values -> current OTel values
    "openai": "openai",
    "anthropic": "anthropic",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "azure": "azure.ai.openai",
    "az.ai.openai": "azure.ai.openai",
    "aws": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "google": "gcp.gen_ai",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "cohere": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "ibm": "ibm.watsonx.ai",
}


def provider_value(value: Any) -> Any:
    """``Anthropic`` / ``MistralAI`` / ``az.ai.openai`` -> the current OTel provider value."""
    if not isinstance(value, str):
        return value
    return _PROVIDER_VALUES.get(value.strip().lower(), value)


def json_text(value: Any) -> Any:
    """A JSON-encoded scalar as its plain text: Langfuse SDKs ``json.dumps`` metadata values, so a tier
    arrives as ``"enterprise"`` (quotes included) and a count as ``3``. Objects, arrays, ``null`` and
    text that is not JSON are returned unchanged."""
    if not isinstance(value, str) or not (value[:1] in ('"', "t", "f") or value[:1].isdigit()):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if isinstance(decoded, bool):
        return "true" if decoded else "false"
    if isinstance(decoded, str):
        return decoded
    return value


def response_format_output_type(value: Any) -> Any:
    """Deprecated ``gen_ai.openai.request.response_format`` (``json_object``, ``json_schema``, ``text``,
    or the JSON of the whole response_format object) -> ``gen_ai.output.type``."""
    if not isinstance(value, str):
        return value
    kind = value.strip()
    if kind.startswith("{"):
        loaded = _json_object(kind)
        kind = str(loaded.get("type", "")) if loaded else kind
    if kind in ("json_object", "json_schema", "json"):
        return "json"
    if kind == "text":
        return "text"
    return value


# ---- expanders (one JSON attribute -> several keys) ---------------------------------------------------


def _json_object(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, (str, bytes)):
        try:
            loaded = json.loads(value)
        except (ValueError, TypeError):
            return None
        return loaded if isinstance(loaded, dict) else None
    return None


def _first(obj: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in obj and obj[name] is not None:
            return obj[name]
    return None


def expand_usage_details(value: Any) -> dict[str, Any]:
    """Langfuse ``langfuse.observation.usage_details`` (JSON): input/prompt(_tokens), output/completion."""
    obj = _json_object(value)
    if not obj:
        return {}
    out: dict[str, Any] = {}
    found_in = _first(obj, ("input", "input_tokens", "prompt_tokens", "prompt"))
    found_out = _first(obj, ("output", "output_tokens", "completion_tokens", "completion"))
    if found_in is not None:
        out["gen_ai.usage.input_tokens"] = to_int(found_in)
    if found_out is not None:
        out["gen_ai.usage.output_tokens"] = to_int(found_out)
    return out


def expand_cost_details(value: Any) -> dict[str, Any]:
    """Langfuse ``langfuse.observation.cost_details`` (JSON, USD): ``total``, else the sum of the parts."""
    obj = _json_object(value)
    if not obj:
        return {}
    total = obj.get("total")
    if total is None:
        parts = [v for v in obj.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if not parts:
            return {}
        total = sum(parts)
    converted = to_float(total)
    return {"tracelock.cost.usd": converted} if isinstance(converted, float) else {}


LABEL_SHORT_NAMES = ("intent", "feature", "language", "customer_tier")
_LABEL_CANONICAL = {
    "intent": "tracelock.intent",
    "feature": "tracelock.feature",
    "language": "tracelock.language",
    "customer_tier": "tracelock.customer.tier",
}
#: Bounds on the labels one span's foreign metadata may add (the rest is counted, not stored).
MAX_FOREIGN_LABELS = 32
MAX_LABEL_VALUE_CHARS = 256
_LABEL_NAME_CHARS = 100
LABELS_DROPPED = "tracelock.labels.dropped"


def _label_text(value: Any) -> str | None:
    """A metadata value as label text: scalars as their text, anything else as compact JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def bounded_labels(items: Mapping[str, Any]) -> dict[str, Any]:
    """``{name: value}`` of foreign metadata -> ``tracelock.label.<name>`` keys, at most
    :data:`MAX_FOREIGN_LABELS` of them with values of at most :data:`MAX_LABEL_VALUE_CHARS`; what does not
    fit (or has an unusable name) is counted in ``tracelock.labels.dropped``."""
    out: dict[str, Any] = {}
    dropped = 0
    for name, value in items.items():
        text = _label_text(value)
        if text is None:
            continue
        usable = 0 < len(name) <= _LABEL_NAME_CHARS and _LABEL_NAME.fullmatch(name) is not None
        if not usable or len(text) > MAX_LABEL_VALUE_CHARS or len(out) >= MAX_FOREIGN_LABELS:
            dropped += 1
            continue
        out["tracelock.label." + name] = text
    if dropped:
        out[LABELS_DROPPED] = dropped
    return out


_LABEL_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def expand_label_metadata(value: Any) -> dict[str, Any]:
    """A metadata JSON object (OpenInference ``metadata``, Langfuse ``*.metadata``): the task labels in it
    become their keys, every other member a ``tracelock.label.*`` label (bounded by the caller,
    :func:`tracelock.semconv.normalize_attributes`, over all of a span's foreign labels)."""
    obj = _json_object(value)
    if not obj:
        return {}
    out: dict[str, Any] = {}
    foreign: dict[str, Any] = {}
    for name, member in obj.items():
        if name in _LABEL_CANONICAL and isinstance(member, str):
            out[_LABEL_CANONICAL[name]] = member
        elif name not in _LABEL_CANONICAL and name not in _KEYED_METADATA:
            foreign[name] = member
    for name, canonical in _KEYED_METADATA.items():
        if isinstance(obj.get(name), str):
            out[canonical] = obj[name]
    return out | {"tracelock.label." + name: member for name, member in foreign.items()}


# metadata members that are keys of their own, not labels
_KEYED_METADATA = {"session_id": "session.id", "user_id": "user.id"}


def expand_invocation_model(value: Any) -> dict[str, Any]:
    """OpenInference ``llm.invocation_parameters`` (the request's parameters as JSON): its ``model`` is
    what the application asked for (``llm.model_name`` is what answered)."""
    obj = _json_object(value)
    model = obj.get("model") if obj else None
    return {"gen_ai.request.model": model} if isinstance(model, str) and model else {}


# ---- the table -----------------------------------------------------------------------------------------

_OI, _TL, _LF, _DEP, _VAI = "openinference", "openllmetry", "langfuse", "otel-deprecated", "vercel-ai-sdk"
_RAW = "read as a fallback only: the source's own shape, not GenAI messages"


def _label_aliases() -> list[Alias]:
    out = []
    for short in LABEL_SHORT_NAMES:
        canonical = _LABEL_CANONICAL[short]
        out += [
            Alias(f"traceloop.association.properties.{short}", canonical, _TL),
            Alias(f"langfuse.observation.metadata.{short}", canonical, _LF, json_text),
            Alias(f"langfuse.trace.metadata.{short}", canonical, _LF, json_text),
        ]
    return out


ALIASES: tuple[Alias, ...] = (
    Alias("llm.request.model_name", "gen_ai.request.model", _OI, note="OpenInference main, unreleased"),
    Alias("langfuse.observation.model.name", "gen_ai.request.model", _LF),
    Alias("ai.model.id", "gen_ai.request.model", _VAI),
    Alias("llm.response.model_name", "gen_ai.response.model", _OI, note="OpenInference main, unreleased"),
    Alias(
        "llm.model_name",
        "gen_ai.response.model",
        _OI,
        note="the instrumentors set it from the response; the request model is in llm.invocation_parameters",
    ),
    Alias("llm.response.model", "gen_ai.response.model", "legacy"),
    Alias("gen_ai.system", "gen_ai.provider.name", _DEP, provider_value, "also OpenLLMetry legacy packages"),
    Alias("llm.system", "gen_ai.provider.name", _OI, provider_value, "AI product; llm.provider = host"),
    Alias("traceloop.prompt.key", "gen_ai.prompt.name", _TL),
    Alias("langfuse.observation.prompt.name", "gen_ai.prompt.name", _LF),
    Alias("langfuse.prompt.name", "gen_ai.prompt.name", _LF),
    Alias("prompt.id", "gen_ai.prompt.name", _OI, note="an id in the prompt vendor's store"),
    Alias("llm.prompt_template.version", "gen_ai.prompt.version", _OI, to_text),
    Alias("traceloop.prompt.version", "gen_ai.prompt.version", _TL, to_text),
    Alias("langfuse.observation.prompt.version", "gen_ai.prompt.version", _LF, to_text, "an int"),
    Alias("langfuse.prompt.version", "gen_ai.prompt.version", _LF, to_text),
    Alias("langfuse.experiment.dataset.id", "tracelock.dataset.id", _LF),
    *_label_aliases(),
    Alias("gen_ai.openai.request.response_format", "gen_ai.output.type", _DEP, response_format_output_type),
    Alias("llm.token_count.prompt", "gen_ai.usage.input_tokens", _OI, to_int),
    Alias("gen_ai.usage.prompt_tokens", "gen_ai.usage.input_tokens", _DEP, to_int, "OpenLLMetry legacy too"),
    Alias("llm.token_count.completion", "gen_ai.usage.output_tokens", _OI, to_int),
    Alias(
        "gen_ai.usage.completion_tokens",
        "gen_ai.usage.output_tokens",
        _DEP,
        to_int,
        "also OpenLLMetry legacy",
    ),
    Alias("langfuse.experiment.id", "tracelock.eval.run_id", _LF),
    Alias("langfuse.experiment.item.id", "tracelock.eval.case_id", _LF),
    Alias("langfuse.session.id", "session.id", _LF, note="compat name; current SDKs send session.id"),
    Alias("traceloop.association.properties.session_id", "session.id", _TL),
    Alias("langfuse.user.id", "user.id", _LF, note="compat name; current SDKs send user.id"),
    Alias("traceloop.association.properties.user_id", "user.id", _TL),
    # Content: read as a fallback where a message body is wanted, never copied (large, other shapes:
    # input.value is the raw request JSON or text, not GenAI messages).
    Alias("input.value", "gen_ai.input.messages", _OI, copy=False, note=_RAW),
    Alias("langfuse.observation.input", "gen_ai.input.messages", _LF, copy=False, note=_RAW),
    Alias("traceloop.entity.input", "gen_ai.input.messages", _TL, copy=False, note=_RAW),
    Alias("output.value", "gen_ai.output.messages", _OI, copy=False, note=_RAW),
    Alias("langfuse.observation.output", "gen_ai.output.messages", _LF, copy=False, note=_RAW),
    Alias("traceloop.entity.output", "gen_ai.output.messages", _TL, copy=False, note=_RAW),
)

_USAGE = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
_META = (*_LABEL_CANONICAL.values(), *_KEYED_METADATA.values(), LABELS_DROPPED)

EXPANDERS: tuple[Expander, ...] = (
    Expander("langfuse.observation.usage_details", _LF, expand_usage_details, _USAGE),
    Expander("langfuse.observation.cost_details", _LF, expand_cost_details, ("tracelock.cost.usd",)),
    Expander("metadata", _OI, expand_label_metadata, _META, "JSON object; other members become labels"),
    Expander("langfuse.trace.metadata", _LF, expand_label_metadata, _META, "JSON object form"),
    Expander("langfuse.observation.metadata", _LF, expand_label_metadata, _META, "JSON object form"),
    Expander(
        "llm.invocation_parameters", _OI, expand_invocation_model, ("gen_ai.request.model",), "its model"
    ),
)

#: Attribute-name prefixes whose every other key is a foreign label: ``<prefix><name>`` ->
#: ``tracelock.label.<name>`` (the names the aliases above map to keys are not labels).
LABEL_SOURCES: tuple[LabelSource, ...] = (
    LabelSource("langfuse.trace.metadata.", _LF, json_text),
    LabelSource("langfuse.observation.metadata.", _LF, json_text),
    LabelSource("traceloop.association.properties.", _TL),
)

# Applied to every value of the key, whatever name it came under (canonical included).
VALUE_NORMALIZERS = {
    "gen_ai.provider.name": provider_value,
}
