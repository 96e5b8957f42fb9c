/**
 * The span of one GraphQL operation over WebSocket (graphql-ws), the counterpart of the
 * HTTP server span: a SERVER span continuing the `traceparent` of the upgrade request (if
 * it had one), started before the document is parsed and validated (their spans are its
 * children), then named `<type> <name>` (GraphQL semantic conventions) once it is known.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { propagation, ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import { getOperationAST, type DocumentNode } from 'graphql';
import { SpanKind, tracer } from '../observability/spans.js';

export function startOperationSpan(headers: IncomingHttpHeaders): Span {
  return tracer.startSpan(
    'graphql',
    {
      kind: SpanKind.SERVER,
      attributes: { 'network.protocol.name': 'websocket', 'url.path': '/graphql' },
    },
    propagation.extract(ROOT_CONTEXT, headers),
  );
}

export function nameOperationSpan(
  span: Span,
  document: DocumentNode,
  operationName: string | null | undefined,
): void {
  if (!span.isRecording()) return;
  const operation = getOperationAST(document, operationName);
  const type = operation?.operation ?? 'unknown';
  const name = operation?.name?.value;
  span.updateName(name ? `${type} ${name}` : type);
  span.setAttribute('graphql.operation.type', type);
  if (name) span.setAttribute('graphql.operation.name', name);
}
