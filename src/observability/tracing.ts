/**
 * The OpenTelemetry Node SDK for traces, started by main.ts before anything else is
 * imported, so that its instrumentations patch `http` (the server span of every request),
 * `pg` (a span per SQL statement), `@grpc/grpc-js` (the remote SpiceDB's RPCs), `ioredis`
 * (the shared rate-limit store) and graphql-js (parse, validate, execute).
 *
 * It starts only when tracing is asked for: `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_TRACES_EXPORTER` (other than `none`) is set,
 * and `OTEL_SDK_DISABLED` is not `true`. Otherwise nothing of the SDK is even loaded, and the
 * spans Gatehouse makes itself (observability/spans.ts) go to the API's no-op tracer.
 * Everything else comes from the standard variables, read by the SDK: service name and
 * resource attributes, sampler, OTLP protocol, endpoint, headers and timeouts, propagators.
 *
 * What never reaches a span: GraphQL variable values and literals (`allowValues: false`
 * masks them in `graphql.source`), SQL parameters, request headers, and the `query`,
 * `variables` and `extensions` parameters of a GET (redacted in `url.query`).
 */
/** `TRACE_RESOLVE_SPANS`: a span per resolved field (off: they multiply a list's cost). */
export const RESOLVE_SPANS_VARIABLE = 'TRACE_RESOLVE_SPANS';

/** Health probes make no traces: they would drown the requests. */
const PROBES = new Set(['/healthz', '/readyz']);

/** GET parameters that carry the document and its values. */
const REDACTED_QUERY_PARAMETERS = ['query', 'variables', 'extensions'];

export interface Tracing {
  readonly enabled: boolean;
  /** Flushes the spans still buffered and stops the exporter. */
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Whether the environment asks for traces (see the file's header). */
export function tracingWanted(env: Env): boolean {
  if ((env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '').trim();
  if (exporters !== '') return exporters.split(',').some((e) => e.trim() !== 'none');
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
}

/** `TRACE_RESOLVE_SPANS` as a boolean; anything but true/false is refused. */
export function resolveSpansWanted(env: Env): boolean {
  const value = (env[RESOLVE_SPANS_VARIABLE] ?? '').trim().toLowerCase();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`${RESOLVE_SPANS_VARIABLE} must be true or false, got ${JSON.stringify(value)}`);
}

/** Whether the standard variables name the service. */
export function serviceNamed(env: Env): boolean {
  return (
    Boolean(env['OTEL_SERVICE_NAME']) ||
    /(^|,)\s*service\.name\s*=/.test(env['OTEL_RESOURCE_ATTRIBUTES'] ?? '')
  );
}

const DISABLED: Tracing = { enabled: false, shutdown: () => Promise.resolve() };

export async function startTracing(env: Env = process.env): Promise<Tracing> {
  if (!tracingWanted(env)) return DISABLED;
  const resolveSpans = resolveSpansWanted(env);
  // graphql, pg, grpc-js and ioredis are CommonJS: require's hook patches them, even when
  // an ES module imports them. No ES-module loader hook (import-in-the-middle): it would
  // wrap every module imported after it, and it fails on tsx's compiled files.
  const [{ startNodeSdk }, http, graphql, pg, grpc, ioredis] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-graphql'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-grpc'),
    import('@opentelemetry/instrumentation-ioredis'),
  ]);
  const sdk = startNodeSdk({
    // `gatehouse` unless the environment names the service (OTEL_SERVICE_NAME, or
    // service.name in OTEL_RESOURCE_ATTRIBUTES): these attributes outrank both.
    resourceAttributes: serviceNamed(env) ? {} : { 'service.name': 'gatehouse' },
    // Metrics are the server's own (observability/Metrics.ts): one provider per instance.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new http.HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => PROBES.has((req.url ?? '').split('?')[0] ?? ''),
        redactedQueryParamsServer: REDACTED_QUERY_PARAMETERS,
        // The exporter's own requests and other outgoing calls are not Gatehouse's work.
        ignoreOutgoingRequestHook: () => true,
      }),
      new graphql.GraphQLInstrumentation({
        allowValues: false,
        ignoreResolveSpans: !resolveSpans,
        ignoreTrivialResolveSpans: true,
        mergeItems: true,
      }),
      new pg.PgInstrumentation({
        enhancedDatabaseReporting: false,
        requireParentSpan: true,
        // A span per pool checkout says little; the statements are what is traced.
        ignoreConnectSpans: true,
      }),
      new grpc.GrpcInstrumentation(),
      new ioredis.IORedisInstrumentation({
        requireParentSpan: true,
        // The command name only: keys name principals and addresses.
        dbStatementSerializer: (command) => command,
      }),
    ],
  });
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
