"""Render the reference page of every key (docs/semconv.md) from the registry, so it cannot drift.

python -m tracelock.semconv             # rewrite docs/semconv.md
python -m tracelock.semconv --check     # exit 1 when the page is out of date (CI)
"""

from __future__ import annotations

from collections import defaultdict

from tracelock.semconv.aliases import ALIASES, EXPANDERS, VALUE_NORMALIZERS
from tracelock.semconv.model import Category, Key
from tracelock.semconv.registry import KEYS, SEMCONV_PIN

__all__ = ["render_markdown"]

_TITLES = {
    Category.VERSION_KEY: (
        "Version keys",
        "What produced the answer. Process-constant ones go on the Resource.",
    ),
    Category.TASK_LABEL: (
        "Task labels",
        "What was asked. Per request: `tracelock.labels(...)`, carried in Baggage.",
    ),
    Category.OUTCOME_SIGNAL: (
        "Outcome signals",
        "How it went. Latency is the span's own duration (`Duration`).",
    ),
    Category.IDENTITY: (
        "Identity keys",
        "Who asked: the session and the user, for joining complaints and feedback to traces.",
    ),
    Category.EVAL_KEY: ("Eval keys", "Which eval attempt produced the span; set by `eval_context(...)`."),
    Category.META: (
        "Reading spans",
        "Origin, operation and content: needed to read spans, not join dimensions.",
    ),
}

NOTES = """\
## Notes on sources

- OTel GenAI names are at **Development** stability and, since May 2026, defined in
  `open-telemetry/semantic-conventions-genai` (same names; the main repository lists them as moved).
- `gen_ai.prompt.version`: added by semantic-conventions-genai PR #179 (merged June 2026, with
  `gen_ai.prompt.variable.<key>`); the registry snapshot read for this page (`model/gen-ai/registry.yaml`)
  still lists only `gen_ai.prompt.name`. tracelock uses the PR's name.
- Langfuse prompt versions are integers (its SDKs write `prompt.version` as a number into
  `langfuse.observation.prompt.version`; ingestion falls back to `langfuse.prompt.version`); normalisation
  turns them into their string form.
- Not aliased on purpose: `gen_ai.guardrail.policy.version` (per policy on `apply_guardrail` spans, not the
  process's guardrail configuration), `feature_flag.result.variant` (a service evaluates many flags),
  `llm.provider` (the hosting platform, not the provider), Langfuse `langfuse.experiment.item.version`
  (per item, not a dataset version).
- Normalisation loses nothing: the collector adds each canonical key beside the attribute it comes
  from, which stays as sent. The one per-key exception is content (`input.value`, `output.value`,
  Langfuse `langfuse.observation.input`/`output`, traceloop `traceloop.entity.input`/`output`): it is
  never copied (large, and in the source's own shape - OpenInference's `input.value` is the raw request
  JSON, not GenAI messages); readers that want a message body fall back to it.
- No mapping asserts what the source did not say: OpenInference `llm.model_name` is set from the
  response, so it is `gen_ai.response.model`; the request model comes from `llm.invocation_parameters`.
  `output.mime_type` describes `output.value`, not a requested output type, and is not mapped.
- Free-form metadata becomes labels: every member of OpenInference `metadata` and of Langfuse
  `langfuse.{trace,observation}.metadata` (JSON object or `.<key>` attributes), and every traceloop
  association property, other than the keys mapped above, is stamped `tracelock.label.<key>`; at most 32
  per span, values up to 256 characters, the rest counted in `tracelock.labels.dropped`. Langfuse SDKs
  JSON-encode metadata values (`"enterprise"` with the quotes): they are decoded.
- Columns: `otel_traces` rows written by tracelock's collector read the canonical keys; where the table
  has other writers (the contrib ClickHouse exporter), their rows fall back to the aliases above.
  ClickHouse evaluates every branch of a MATERIALIZED column on insert, so the fallbacks cost each span
  ~4 µs even when it is tracelock's: they are there only on a table with other writers (adopted by
  `tracelock init`, or holding spans without the `tracelock.origin` stamp when migration 0090 ran), and
  `tracelock init --other-writers` / `--tracelock-only` switches. Trace summaries take the model,
  provider and tokens from the trace's LLM-operation spans (not embedding, retrieval or tool spans);
  embedding tokens are `EmbeddingTokens`.
- Signals for any client: `tracelock.retrieval.empty` also from an OpenInference RETRIEVER span without
  `retrieval.documents.*` and a Langfuse retriever observation with output `[]`; `tracelock.parse_failure`
  also from an `exception` event of a JSON/validation/output-parser error type; `tracelock.cost.usd`
  computed by the collector from `normalize.prices` when a span has tokens and no cost.
- A value longer than `normalize.max_attribute_value_chars` is truncated; the span names it in
  `tracelock.truncated` and the collector logs one warning per attribute name.
- Spans carrying eval keys but no `tracelock.origin` are normalised to `tracelock.origin = eval`.
- ClickHouse stores every attribute value as text: `12` and `"12"`, `true` and `"true"` are the same
  value, and are not reported as conflicts.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _format(key: Key) -> str:
    if key.allowed:
        return "one of " + ", ".join(f"`{v}`" for v in sorted(key.allowed))
    if key.pattern:
        return f"matches `{key.pattern}`"
    parts = []
    if key.unit:
        parts.append(f"unit `{key.unit}`")
    if key.examples:
        parts.append("e.g. " + ", ".join(f"`{v}`" for v in key.examples[:4]))
    return "; ".join(parts)


def render_markdown() -> str:
    """The whole page as Markdown (deterministic: registry order)."""
    aliases_of: dict[str, list[str]] = defaultdict(list)
    for alias in ALIASES:
        aliases_of[alias.canonical].append(f"`{alias.name}`")
    for expander in EXPANDERS:
        for target in expander.targets:
            aliases_of[target].append(f"`{expander.name}` (JSON)")

    lines = [
        "# tracelock semantic conventions",
        "",
        "<!-- Generated by `python -m tracelock.semconv` from tracelock/semconv/registry.py and aliases.py."
        " Do not edit by hand: tests fail when this page is out of date. -->",
        "",
        "The keys tracelock joins production traces, eval records and complaints on. The OTel GenAI name is",
        "used wherever one exists; `tracelock.*` only where no convention defines the concept.",
        f"Pinned against: {SEMCONV_PIN}.",
        "",
        "Side: `resource` = process-constant, set once on the OTel Resource; `span` = per request;",
        "`both` = either (the store reads the span first, then the resource). Short name = the keyword",
        "of `tracelock.instrument(...)`, `tracelock.labels(...)` and the `keys`/`labels` of eval JSONL.",
        "",
    ]
    for category, (title, blurb) in _TITLES.items():
        lines += [f"## {title}", "", blurb, ""]
        lines += [
            "| Key | Type | Side | Short name | Column (summary fold) | Values | Meaning | Also read from |"
        ]
        lines += ["| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for key in KEYS:
            if key.category is not category:
                continue
            name = f"`{key.name}<name>`" if key.prefix else f"`{key.name}`"
            origin = " (OTel)" if key.source == "otel" else ""
            row = [
                name + origin,
                key.type.value,
                key.side.value,
                f"`{key.short}`" + "".join(f", `{x}`" for x in key.synonyms),
                f"`{key.column}` ({key.fold.value})" if key.column and key.fold else "",
                _format(key),
                key.brief,
                ", ".join(aliases_of.get(key.name, [])),
            ]
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
        lines.append("")

    lines += ["## Aliases", "", "Precedence when sources disagree: the canonical name, then this order.", ""]
    lines += [
        "| Attribute | Canonical key | Source | Value conversion | Note |",
        "| --- | --- | --- | --- | --- |",
    ]
    for alias in ALIASES:
        convert = f"`{alias.convert.__name__}`" if alias.convert else ""
        row = [f"`{alias.name}`", f"`{alias.canonical}`", alias.source, convert, alias.note]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    lines += ["", "## JSON attributes expanded into several keys", ""]
    lines += ["| Attribute | Source | Produces | Note |", "| --- | --- | --- | --- |"]
    for expander in EXPANDERS:
        targets = ", ".join(f"`{t}`" for t in expander.targets)
        lines.append(
            "| "
            + " | ".join(_cell(c) for c in (f"`{expander.name}`", expander.source, targets, expander.note))
            + " |"
        )
    lines += ["", "## Value normalisation", ""]
    for name, fn in VALUE_NORMALIZERS.items():
        lines.append(f"- `{name}`: `{fn.__name__}` ({_cell((fn.__doc__ or '').strip())})")
    lines += ["", NOTES]
    return "\n".join(lines).rstrip() + "\n"
