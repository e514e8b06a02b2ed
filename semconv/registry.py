"""Every key tracelock knows, as data: the single source of truth for names, types and categories.

OTel GenAI names are used wherever one exists (``gen_ai.*``, ``error.type``); ``tracelock.*`` names
only where no convention defines the concept (retriever/guardrail/dataset/judge versions, task labels,
parse failure, empty retrieval, complaint, eval keys). The GenAI conventions are at Development
stability and moved to ``open-telemetry/semantic-conventions-genai`` in 2026; the names are pinned
here, and ``SEMCONV_PIN`` records against what.
"""

from __future__ import annotations

from tracelock.semconv.model import Category, Fold, Key, Side, ValueType

__all__ = ["KEYS", "LABEL_PREFIX", "SEMCONV_PIN"]

SEMCONV_PIN = (
    "OTel GenAI semantic conventions (semantic-conventions-genai, 2026; semantic-conventions <= v1.41)"
)

LABEL_PREFIX = "tracelock.label."

_S, _I, _F, _B = ValueType.STRING, ValueType.INT, ValueType.FLOAT, ValueType.BOOL
_V, _L, _O, _E, _M = (
    Category.VERSION_KEY,
    Category.TASK_LABEL,
    Category.OUTCOME_SIGNAL,
    Category.EVAL_KEY,
    Category.META,
)
_ID = Category.IDENTITY
_RES, _SPAN, _BOTH = Side.RESOURCE, Side.SPAN, Side.BOTH
_MAX, _LLM_MAX, _LLM_SUM, _SUM, _LARGEST, _COUNT = (
    Fold.MAX,
    Fold.LLM_MAX,
    Fold.LLM_SUM,
    Fold.SUM,
    Fold.LARGEST,
    Fold.COUNT,
)

# Well-known provider values (OTel gen_ai.provider.name); other values are allowed.
PROVIDERS = (
    "openai",
    "anthropic",
    "aws.bedrock",
    "azure.ai.openai",
    "azure.ai.inference",
    "gcp.gemini",
    "gcp.vertex_ai",
    "gcp.gen_ai",
    "cohere",
    "mistral_ai",
    "x_ai",
    "deepseek",
    "groq",
    "perplexity",
    "ibm.watsonx.ai",
)

KEYS: tuple[Key, ...] = (
    # --- version keys: what produced the answer (process-constant: Resource; may be per span) ---
    Key("gen_ai.request.model", _S, _V, _BOTH, "model", "Model the application asked for.",
        examples=("gpt-4o-mini",), source="otel", column="RequestModel", fold=_LLM_MAX,
        synonyms=("request.model",)),
    Key("gen_ai.response.model", _S, _V, _SPAN, "response_model",
        "Model that actually answered (may differ when a provider routes or falls back).", source="otel",
        column="ResponseModel", fold=_LLM_MAX),
    Key("gen_ai.provider.name", _S, _V, _BOTH, "provider",
        "GenAI provider; replaces the deprecated gen_ai.system.", examples=PROVIDERS, source="otel",
        column="ProviderName", fold=_LLM_MAX),
    Key("gen_ai.prompt.name", _S, _V, _BOTH, "prompt_name", "Name of the prompt template.", source="otel",
        column="PromptName", fold=_MAX),
    Key("gen_ai.prompt.version", _S, _V, _BOTH, "prompt_version",
        "Version of the prompt template (string form, also for integer versions).",
        examples=("refund-v4", "4"), source="otel", column="PromptVersion", fold=_MAX,
        synonyms=("prompt", "prompt.version")),
    Key("tracelock.prompt.hash", _S, _V, _BOTH, "prompt_hash",
        "Content hash of the prompt template file (sha256:<hex>), as a lock file records it: says whether "
        "the prompt a span ran with is the one a lock last passed with.",
        pattern=r"sha256:[0-9a-f]{64}"),
    Key("tracelock.retriever.version", _S, _V, _BOTH, "retriever_version",
        "Version of the retriever: index build, embedding model, chunking (no standard key exists).",
        column="RetrieverVersion", fold=_MAX, synonyms=("retriever", "retriever.version")),
    Key("tracelock.guardrail.version", _S, _V, _BOTH, "guardrail_version",
        "Version of the guardrail configuration (process-wide; OTel's gen_ai.guardrail.policy.version is "
        "per policy on apply_guardrail spans).", column="GuardrailVersion", fold=_MAX,
        synonyms=("guardrail", "guardrail.version")),
    Key("tracelock.dataset.id", _S, _V, _BOTH, "dataset_id", "Eval dataset the case comes from."),
    Key("tracelock.dataset.version", _S, _V, _BOTH, "dataset_version", "Version of that dataset."),
    Key("tracelock.judge.model", _S, _V, _BOTH, "judge_model", "Model used as the eval judge."),
    Key("tracelock.judge.version", _S, _V, _BOTH, "judge_version", "Version of the judge prompt/rubric."),
    Key("tracelock.experiment.bucket", _S, _V, _BOTH, "experiment_bucket",
        "Online A/B bucket or feature-flag variant the request ran under.", examples=("control", "b"),
        column="ExperimentBucket", fold=_MAX, synonyms=("bucket", "experiment.bucket")),
    # --- task labels: what was asked (per request: span, from tracelock.labels / Baggage) ---
    Key("tracelock.intent", _S, _L, _SPAN, "intent", "What the user wants.", examples=("refund",),
        column="Intent", fold=_MAX),
    Key("tracelock.feature", _S, _L, _SPAN, "feature", "Product feature that made the call.",
        examples=("support_chat",), column="Feature", fold=_MAX),
    Key("tracelock.language", _S, _L, _SPAN, "language",
        "Natural language of the request, a BCP 47 tag (not telemetry.sdk.language).",
        pattern=r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", examples=("en", "de", "pt-BR"),
        column="Language", fold=_MAX),
    Key("tracelock.customer.tier", _S, _L, _SPAN, "customer_tier", "Customer segment.",
        examples=("free", "pro", "enterprise"), column="CustomerTier", fold=_MAX,
        synonyms=("customer.tier", "tier", "plan_tier")),
    Key("gen_ai.output.type", _S, _L, _SPAN, "output_format", "Requested output modality.",
        allowed=frozenset({"text", "json", "image", "speech"}), source="otel",
        column="OutputFormat", fold=_MAX, synonyms=("output.type",)),
    Key(LABEL_PREFIX, _S, _L, _SPAN, "<name>",
        "User-defined label: tracelock.labels(<name>=...) stamps tracelock.label.<name>.", prefix=True),
    # --- outcome signals: how it went ---
    Key("gen_ai.usage.input_tokens", _I, _O, _SPAN, "input_tokens", "Prompt tokens, cached included.",
        unit="{token}", source="otel", column="InputTokens", fold=_LLM_SUM),
    Key("gen_ai.usage.output_tokens", _I, _O, _SPAN, "output_tokens", "Completion tokens.", unit="{token}",
        source="otel", column="OutputTokens", fold=_LLM_SUM),
    Key("tracelock.usage.context_tokens", _I, _O, _SPAN, "context_tokens",
        "Tokens of retrieved or tool context placed in the prompt.", unit="{token}",
        column="ContextTokens", fold=_LARGEST),
    Key("tracelock.cost.usd", _F, _O, _SPAN, "cost_usd",
        "Cost of the call in USD (tokens x price table when the app does not set it).", unit="USD",
        column="CostUsd", fold=_SUM),
    Key("tracelock.parse_failure", _B, _O, _SPAN, "parse_failure",
        "The model's tool call or structured (JSON) output failed to parse.",
        column="ParseFailure", fold=_COUNT, summary_column="ParseFailures"),
    Key("tracelock.retrieval.empty", _B, _O, _SPAN, "retrieval_empty", "A retrieval returned no documents.",
        column="EmptyRetrieval", fold=_COUNT, summary_column="EmptyRetrievals"),
    Key("tracelock.retrieval.document_count", _I, _O, _SPAN, "retrieval_document_count",
        "Documents a retrieval returned.", unit="{document}"),
    Key("tracelock.feedback.complaint", _B, _O, _SPAN, "complaint", "The user complained about the answer.",
        column="Complaint", fold=_COUNT, summary_column="Complaints"),
    Key("tracelock.feedback.score", _F, _O, _SPAN, "feedback_score", "User feedback score (thumbs = 0/1)."),
    Key("error.type", _S, _O, _SPAN, "error_type", "Class of error the operation ended with.",
        examples=("timeout", "RateLimitError"), source="otel"),
    # --- identity: who asked ---
    Key("session.id", _S, _ID, _SPAN, "session_id",
        "Session (conversation) the request belongs to (OTel session.id; OpenInference and Langfuse use it).",
        source="otel", column="SessionId", fold=_MAX),
    Key("user.id", _S, _ID, _SPAN, "user_id", "End user who made the request (OTel user.id).",
        source="otel", column="UserId", fold=_MAX),
    # --- eval keys: which eval attempt produced the span ---
    Key("tracelock.eval.run_id", _S, _E, _BOTH, "run_id", "Eval run (one execution of a suite)."),
    Key("tracelock.eval.case_id", _S, _E, _SPAN, "case_id", "Case within the dataset."),
    Key("tracelock.eval.repeat", _I, _E, _SPAN, "repeat", "Attempt number of the case in the run (from 0)."),
    Key("tracelock.eval.score", _F, _E, _SPAN, "score", "Score the judge or check gave the attempt."),
    Key("tracelock.eval.passed", _B, _E, _SPAN, "passed", "Whether the attempt passed."),
    Key("tracelock.eval.expected", _S, _E, _SPAN, "expected", "Expected output of the case (JSON text)."),
    Key("tracelock.eval.artifacts_url", _S, _E, _SPAN, "artifacts_url",
        "Path or URL of the attempt's artifacts (the case's, or the task's own)."),
    Key("tracelock.eval.source_trace_id", _S, _E, _SPAN, "source_trace_id",
        "Production trace the case came from (hex), when it was seeded or locked from one."),
    Key("tracelock.eval.source_span_id", _S, _E, _SPAN, "source_span_id",
        "Production span the case came from (hex)."),
    # --- meta: needed to read spans ---
    Key("tracelock.origin", _S, _M, _BOTH, "origin",
        "live or eval; every span tracelock stamps has it (spans without it count as live).",
        allowed=frozenset({"live", "eval"}), column="Origin", fold=Fold.MIN),
    Key("tracelock.seed.rules", _S, _M, _SPAN, "seed_rules",
        "Comma-separated names of the seed rules that flagged the span (stamped by the collector)."),
    Key("tracelock.seed.ids", _S, _M, _SPAN, "seed_ids", "Comma-separated seed ids of those rules."),
    Key("tracelock.labels.dropped", _I, _M, _SPAN, "labels_dropped",
        "Foreign metadata keys not turned into labels (over the count or size bound; set by the collector)."),
    Key("tracelock.truncated", _S, _M, _SPAN, "truncated",
        "Comma-separated names of the attributes whose values the collector truncated."),
    Key("gen_ai.operation.name", _S, _M, _SPAN, "operation",
        "Operation the span performs.", examples=("chat", "retrieval", "execute_tool"), source="otel"),
    Key("gen_ai.input.messages", _S, _M, _SPAN, "input", "Input messages (JSON text; opt-in content).",
        source="otel"),
    Key("gen_ai.output.messages", _S, _M, _SPAN, "output", "Output messages (JSON text; opt-in content).",
        source="otel"),
)  # fmt: skip
