// The OpenTelemetry JS SDK with OTel's GenAI instrumentation for the `openai` npm package
// (@opentelemetry/instrumentation-openai), exporting OTLP/HTTP protobuf. As in client_openai_v2.py,
// session/user/prompt/tier/intent/label ride on the app's span; the retrieval is a GenAI `retrieval`
// span with no documents. Environment: see scenario.py.
"use strict";
const { NodeTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-node");
const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-proto");
const { resourceFromAttributes } = require("@opentelemetry/resources");
const { registerInstrumentations } = require("@opentelemetry/instrumentation");
const { OpenAIInstrumentation } = require("@opentelemetry/instrumentation-openai");

const env = process.env;
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": `conformance-${env.CONFORMANCE_CASE}` }),
  spanProcessors: [
    new BatchSpanProcessor(new OTLPTraceExporter({ url: `${env.CONFORMANCE_OTLP_HTTP}/v1/traces` })),
  ],
});
provider.register();
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()], tracerProvider: provider });

const { OpenAI } = require("openai"); // after the instrumentation is registered
const s = JSON.parse(env.CONFORMANCE_SCENARIO);
const client = new OpenAI({ baseURL: env.OPENAI_BASE_URL, apiKey: "sk-conformance" });
const tracer = provider.getTracer("conformance-app");

async function main() {
  const app = {
    "session.id": s.SESSION_ID,
    "user.id": s.USER_ID,
    "gen_ai.prompt.name": s.PROMPT_NAME,
    "gen_ai.prompt.version": s.PROMPT_VERSION,
    "tracelock.customer.tier": s.CUSTOMER_TIER,
    "tracelock.intent": s.INTENT,
    [`tracelock.label.${s.LABEL[0]}`]: s.LABEL[1],
  };
  await tracer.startActiveSpan("rag", { attributes: app }, async (root) => {
    await client.embeddings.create({ model: s.EMBEDDING_MODEL, input: s.QUESTION });
    tracer
      .startSpan("retrieval kb-refunds", {
        attributes: {
          "gen_ai.operation.name": "retrieval",
          "gen_ai.data_source.id": "kb-refunds",
          "gen_ai.retrieval.documents": "[]",
        },
      })
      .end();
    await client.chat.completions.create({
      model: s.CHAT_MODEL,
      messages: [{ role: "user", content: s.QUESTION }],
      temperature: 0,
    });
    root.end();
  });
  await provider.shutdown();
  console.log(JSON.stringify({ ok: true }));
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
