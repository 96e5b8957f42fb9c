import { activeTraceId } from '../observability/spans.js';

/**
 * The trace id of a request: its span's when tracing (observability/tracing.ts; the span
 * continues an incoming `traceparent`), else that of its `traceparent` header, else null.
 * Recorded in audit events, log lines and `extensions.traceId` of errors.
 */
export function requestTraceId(traceparent: string | string[] | undefined): string | null {
  return activeTraceId() ?? traceIdOf(traceparent);
}

/**
 * The trace id of an incoming W3C `traceparent` header
 * (https://www.w3.org/TR/trace-context/#traceparent-header), recorded in audit events, or
 * null when there is none or it is malformed (an invalid header is ignored, as the spec says).
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;

export function traceIdOf(traceparent: string | string[] | undefined): string | null {
  if (typeof traceparent !== 'string') return null;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match) return null;
  const [, version, traceId, parentId, , rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (ZEROS.test(traceId) || ZEROS.test(parentId)) return null;
  return traceId;
}
