/**
 * The real OpenTelemetry Collector (tools/otelcol.ts, core components) as a process of the
 * test's own: an `otlp` receiver (HTTP and gRPC) on ports of its own choosing, traces and
 * metrics through `batch` to the `debug` exporter and to an `otlp_http` exporter (OTLP/JSON,
 * uncompressed) that posts to a small HTTP sink in this process, which keeps what arrives.
 * The collector's own telemetry is off (no listener on :8888), so collectors of parallel
 * tests never share a port. Stopped by pid.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { OTELCOL_BIN } from '../../tools/otelcol.js';
import { accepting, freePort } from '../../tools/ports.js';

/** An OTLP AnyValue, decoded: int64s are numbers (bigints past 2^53), bytes a Buffer. */
export type AttributeValue =
  | string
  | number
  | bigint
  | boolean
  | Buffer
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

/** OTLP's span kinds by the names of @opentelemetry/api's SpanKind (whose numbers differ). */
export type SpanKindName =
  'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';

export interface ReceivedSpan {
  /** Lower-case hex (32 and 16 digits), as OTLP/JSON spells them; parentSpanId '' for a root. */
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: SpanKindName;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Attributes;
  readonly events: readonly { name: string; timeUnixNano: bigint; attributes: Attributes }[];
  readonly status: { code: 'UNSET' | 'OK' | 'ERROR'; message: string };
  readonly resource: Attributes;
  readonly scope: { name: string; version: string };
}

export interface ReceivedDataPoint {
  readonly attributes: Attributes;
  readonly startTimeUnixNano: bigint;
  readonly timeUnixNano: bigint;
  /** Gauges and sums: asInt or asDouble. */
  readonly value?: number | bigint;
  /** Histograms (explicit buckets, exponential) and summaries. */
  readonly count?: number;
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
  readonly bucketCounts?: readonly number[];
  readonly explicitBounds?: readonly number[];
  readonly quantiles?: readonly { quantile: number; value: number }[];
}

export interface ReceivedMetric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly type: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
  /** Sums and histograms. */
  readonly temporality?: 'UNSPECIFIED' | 'DELTA' | 'CUMULATIVE';
  readonly isMonotonic?: boolean;
  readonly dataPoints: readonly ReceivedDataPoint[];
  readonly resource: Attributes;
  readonly scope: { name: string; version: string };
}

export interface OtelCollector {
  /** The collector's process. */
  readonly pid: number;
  /** Where an OTLP/HTTP exporter sends (`/v1/traces`, `/v1/metrics` under it). */
  readonly otlpHttpEndpoint: string;
  /** Where an OTLP/gRPC exporter sends. */
  readonly otlpGrpcEndpoint: string;
  /** Every span the collector has forwarded to the sink so far, in arrival order. */
  spans(): ReceivedSpan[];
  /** Every metric the collector has forwarded so far: one entry per metric per export. */
  metrics(): ReceivedMetric[];
  /** Resolves with spans() once `until(spans())` holds; rejects after timeoutMs. */
  waitForSpans(
    until: (spans: ReceivedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedSpan[]>;
  waitForMetrics(
    until: (metrics: ReceivedMetric[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedMetric[]>;
  /** What the collector wrote (its own log and the `debug` exporter's), the last 256 KiB. */
  output(): string;
  stop(): Promise<void>;
}

// OTLP/JSON as the collector's pdata writes it: camelCase keys, int64s and fixed64s as
// decimal strings, enums as numbers, ids as hex, empty fields left out.
interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values?: JsonAnyValue[] };
  kvlistValue?: { values?: JsonKeyValue[] };
}
interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}
interface JsonScope {
  name?: string;
  version?: string;
}
interface JsonSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: JsonKeyValue[];
  events?: { name?: string; timeUnixNano?: string; attributes?: JsonKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface JsonTraces {
  resourceSpans?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: { scope?: JsonScope; spans?: JsonSpan[] }[];
  }[];
}
interface JsonDataPoint {
  attributes?: JsonKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asInt?: string;
  asDouble?: number | string;
  count?: string;
  sum?: number | string;
  min?: number | string;
  max?: number | string;
  bucketCounts?: string[];
  explicitBounds?: (number | string)[];
  quantileValues?: { quantile?: number; value?: number | string }[];
}
interface JsonPoints {
  dataPoints?: JsonDataPoint[];
  aggregationTemporality?: number;
  isMonotonic?: boolean;
}
interface JsonMetric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: JsonPoints;
  sum?: JsonPoints;
  histogram?: JsonPoints;
  exponentialHistogram?: JsonPoints;
  summary?: JsonPoints;
}
interface JsonMetrics {
  resourceMetrics?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeMetrics?: { scope?: JsonScope; metrics?: JsonMetric[] }[];
  }[];
}

const SPAN_KINDS: readonly SpanKindName[] = [
  'UNSPECIFIED',
  'INTERNAL',
  'SERVER',
  'CLIENT',
  'PRODUCER',
  'CONSUMER',
];
const STATUS_CODES = ['UNSET', 'OK', 'ERROR'] as const;
const TEMPORALITIES = ['UNSPECIFIED', 'DELTA', 'CUMULATIVE'] as const;
const METRIC_TYPES = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** A JSON double: a number, or "NaN", "Infinity", "-Infinity" as strings. */
function double(value: number | string | undefined): number {
  return typeof value === 'string' ? Number(value) : (value ?? 0);
}

function int64(value: string | number | undefined): number | bigint {
  const big = BigInt(value ?? 0);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(big)
    : big;
}

function anyValue(value: JsonAnyValue | undefined): AttributeValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return int64(value.intValue);
  if (value.doubleValue !== undefined) return double(value.doubleValue);
  if (value.bytesValue !== undefined) return Buffer.from(value.bytesValue, 'base64');
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(anyValue);
  if (value.kvlistValue) return attributes(value.kvlistValue.values);
  return null;
}

function attributes(list: JsonKeyValue[] | undefined): Attributes {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, anyValue(value)]));
}

function scope(value: JsonScope | undefined): { name: string; version: string } {
  return { name: value?.name ?? '', version: value?.version ?? '' };
}

function flattenSpans(body: JsonTraces): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span): ReceivedSpan => ({
        traceId: span.traceId ?? '',
        spanId: span.spanId ?? '',
        parentSpanId: span.parentSpanId ?? '',
        name: span.name ?? '',
        kind: SPAN_KINDS[span.kind ?? 0] ?? 'UNSPECIFIED',
        startTimeUnixNano: BigInt(span.startTimeUnixNano ?? 0),
        endTimeUnixNano: BigInt(span.endTimeUnixNano ?? 0),
        attributes: attributes(span.attributes),
        events: (span.events ?? []).map((event) => ({
          name: event.name ?? '',
          timeUnixNano: BigInt(event.timeUnixNano ?? 0),
          attributes: attributes(event.attributes),
        })),
        status: {
          code: STATUS_CODES[span.status?.code ?? 0] ?? 'UNSET',
          message: span.status?.message ?? '',
        },
        resource: attributes(rs.resource?.attributes),
        scope: scope(ss.scope),
      })),
    ),
  );
}

function dataPoint(point: JsonDataPoint): ReceivedDataPoint {
  const optional = {
    ...(point.asInt !== undefined && { value: int64(point.asInt) }),
    ...(point.asDouble !== undefined && { value: double(point.asDouble) }),
    ...(point.count !== undefined && { count: Number(point.count) }),
    ...(point.sum !== undefined && { sum: double(point.sum) }),
    ...(point.min !== undefined && { min: double(point.min) }),
    ...(point.max !== undefined && { max: double(point.max) }),
    ...(point.bucketCounts && { bucketCounts: point.bucketCounts.map(Number) }),
    ...(point.explicitBounds && { explicitBounds: point.explicitBounds.map(double) }),
    ...(point.quantileValues && {
      quantiles: point.quantileValues.map((q) => ({
        quantile: q.quantile ?? 0,
        value: double(q.value),
      })),
    }),
  };
  return {
    attributes: attributes(point.attributes),
    startTimeUnixNano: BigInt(point.startTimeUnixNano ?? 0),
    timeUnixNano: BigInt(point.timeUnixNano ?? 0),
    ...optional,
  };
}

function flattenMetrics(body: JsonMetrics): ReceivedMetric[] {
  return (body.resourceMetrics ?? []).flatMap((rm) =>
    (rm.scopeMetrics ?? []).flatMap((sm) =>
      (sm.metrics ?? []).map((metric): ReceivedMetric => {
        const type = METRIC_TYPES.find((t) => metric[t] !== undefined) ?? 'gauge';
        const points = metric[type] ?? {};
        return {
          name: metric.name ?? '',
          description: metric.description ?? '',
          unit: metric.unit ?? '',
          type,
          ...(points.aggregationTemporality !== undefined && {
            temporality: TEMPORALITIES[points.aggregationTemporality] ?? 'UNSPECIFIED',
          }),
          ...(type === 'sum' && { isMonotonic: points.isMonotonic ?? false }),
          dataPoints: (points.dataPoints ?? []).map(dataPoint),
          resource: attributes(rm.resource?.attributes),
          scope: scope(sm.scope),
        };
      }),
    ),
  );
}

/** The otlp_http exporter's destination: keeps each export's body, flattened. */
async function startSink(): Promise<{
  server: http.Server;
  port: number;
  spans: ReceivedSpan[];
  metrics: ReceivedMetric[];
}> {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        if (request.method !== 'POST') throw new Error(`${request.method ?? ''} not accepted`);
        let body = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const json: unknown = JSON.parse(body.toString('utf8'));
        if (request.url === '/v1/traces') spans.push(...flattenSpans(json as JsonTraces));
        else if (request.url === '/v1/metrics')
          metrics.push(...flattenMetrics(json as JsonMetrics));
        else if (request.url !== '/v1/logs') throw new Error(`no ${request.url ?? ''} here`);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (error) {
        response.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, port: (server.address() as net.AddressInfo).port, spans, metrics };
}

function collectorConfig(
  ports: { http: number; grpc: number; sink: number },
  forward: boolean,
): string {
  const pipeline = {
    receivers: ['otlp'],
    processors: ['batch'],
    exporters: forward ? ['debug', 'otlp_http'] : ['debug'],
  };
  return stringify({
    receivers: {
      otlp: {
        protocols: {
          http: { endpoint: `127.0.0.1:${ports.http}` },
          grpc: { endpoint: `127.0.0.1:${ports.grpc}` },
        },
      },
    },
    processors: { batch: { timeout: '200ms' } },
    exporters: {
      debug: { verbosity: 'basic' },
      // `otlphttp` until v0.16x; v0.165 names it `otlp_http` and keeps the old name as a
      // deprecated alias that logs a warning.
      otlp_http: {
        endpoint: `http://127.0.0.1:${ports.sink}`,
        encoding: 'json',
        compression: 'none',
        // A refused export is a test failure to see in output(), not something to retry.
        retry_on_failure: { enabled: false },
      },
    },
    service: {
      // level none: no meter provider, so no Prometheus reader on localhost:8888 (an empty
      // `readers` list with the default level is refused by the config's validation).
      telemetry: { metrics: { level: 'none' }, logs: { level: 'info' } },
      pipelines: { traces: pipeline, metrics: pipeline },
    },
  });
}

const OUTPUT_LIMIT = 256 * 1024;

async function waitFor<T>(
  what: string,
  items: () => T[],
  until: (items: T[]) => boolean,
  timeoutMs: number,
  output: () => string,
): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = items();
    if (until(now)) return now;
    if (Date.now() > deadline)
      throw new Error(
        `the collector forwarded ${now.length} ${what} in ${timeoutMs} ms, none that satisfied the wait; its output:\n${output()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts the collector. `forward: false` (benchmarks) keeps only the `debug` exporter:
 * nothing reaches spans() or metrics(), and the collector does less work per span.
 */
export async function startCollector(
  options: { readonly forward?: boolean } = {},
): Promise<OtelCollector> {
  if (!existsSync(OTELCOL_BIN))
    throw new Error(`${OTELCOL_BIN} is missing: run \`npm run otelcol:build\` (needs Go)`);
  const sink = await startSink();
  const ports = { http: await freePort(), grpc: await freePort(), sink: sink.port };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-otelcol-'));
  const config = path.join(dir, 'collector.yaml');
  await writeFile(config, collectorConfig(ports, options.forward ?? true));

  const child = spawn(OTELCOL_BIN, ['--config', config], {
    detached: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;

  const cleanUp = async () => {
    await new Promise<void>((resolve) => {
      sink.server.closeAllConnections();
      sink.server.close(() => resolve());
    });
    await rm(dir, { recursive: true, force: true });
  };
  const stopCollector = async () => {
    if (running()) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(kill);
    }
  };

  const deadline = Date.now() + 30_000;
  while (!((await accepting(ports.http)) && (await accepting(ports.grpc)))) {
    if (!running() || Date.now() > deadline) {
      const why = running()
        ? 'did not listen within 30 s'
        : `exited (${child.exitCode ?? child.signalCode ?? ''})`;
      await stopCollector();
      await cleanUp();
      throw new Error(
        `the OpenTelemetry Collector ${why} on 127.0.0.1:${ports.http} (OTLP/HTTP) and 127.0.0.1:${ports.grpc} (gRPC); its output:\n${output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    pid: child.pid!,
    otlpHttpEndpoint: `http://127.0.0.1:${ports.http}`,
    otlpGrpcEndpoint: `http://127.0.0.1:${ports.grpc}`,
    spans: () => [...sink.spans],
    metrics: () => [...sink.metrics],
    waitForSpans: (until, timeoutMs = 10_000) =>
      waitFor(
        'spans',
        () => [...sink.spans],
        until,
        timeoutMs,
        () => output,
      ),
    waitForMetrics: (until, timeoutMs = 10_000) =>
      waitFor(
        'metrics',
        () => [...sink.metrics],
        until,
        timeoutMs,
        () => output,
      ),
    output: () => output,
    async stop() {
      await stopCollector();
      await cleanUp();
    },
  };
}
