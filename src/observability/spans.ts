/**
 * Gatehouse's own spans (the instrumentations of observability/tracing.ts make the HTTP,
 * GraphQL, SQL and gRPC ones). Without the SDK started, the API's tracer is a no-op: a span
 * then costs a few object allocations, and attributes are only computed for a span that
 * records (`span.isRecording()`).
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

export const tracer = trace.getTracer('gatehouse');

export { SpanKind };

/**
 * Runs `work` in a span named `name` (the active span while it runs, so the SQL or RPC
 * spans it causes are its children); an error thrown ends it with status ERROR (its
 * message recorded as an exception event) and is rethrown.
 */
export function inSpan<T>(
  name: string,
  options: { readonly kind?: SpanKind; readonly attributes?: Attributes },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks `span` failed with `error`. */
export function failed(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.name : 'error',
  });
  if (error instanceof Error) span.recordException(error);
}

/** The trace id of the active span, or undefined when none records (no SDK, not sampled). */
export function activeTraceId(): string | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId } = span.spanContext();
  return trace.isSpanContextValid(span.spanContext()) ? traceId : undefined;
}
