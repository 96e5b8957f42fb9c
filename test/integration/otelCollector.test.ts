/**
 * The OpenTelemetry Collector helper (test/support/otelCollector.ts) against the real
 * collector: a span and a metric posted by hand as OTLP/JSON to its OTLP/HTTP receiver come
 * out of its otlp_http exporter into the helper's sink with their ids, attributes, resource
 * and scope, decoded. The end-to-end telemetry tests rely on exactly this path.
 * The global setup builds .tools/bin/otelcol (tools/otelcol.ts); should it still be missing,
 * the suite is skipped locally and fails in CI.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OTELCOL_BIN } from '../../tools/otelcol.js';
import { type OtelCollector, startCollector } from '../support/otelCollector.js';

const missing = !existsSync(OTELCOL_BIN) && !process.env['CI'];
if (missing)
  process.stderr.write(
    `skipping the OpenTelemetry Collector tests: ${OTELCOL_BIN} is missing (npm run otelcol:build)\n`,
  );

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const RESOURCE = [
  { key: 'service.name', value: { stringValue: 'gatehouse-test' } },
  { key: 'service.instance.id', value: { stringValue: 'instance-1' } },
];

async function post(collector: OtelCollector, signal: 'traces' | 'metrics', body: unknown) {
  const response = await fetch(`${collector.otlpHttpEndpoint}/v1/${signal}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  await response.body?.cancel();
}

describe.skipIf(missing)('the OpenTelemetry Collector helper', () => {
  let collector: OtelCollector;
  beforeAll(async () => {
    collector = await startCollector();
  });
  afterAll(async () => {
    await collector.stop();
  });

  it('listens on ports of its own choosing, none of them the collector defaults', () => {
    const http = new URL(collector.otlpHttpEndpoint);
    const grpc = new URL(collector.otlpGrpcEndpoint);
    expect(http.hostname).toBe('127.0.0.1');
    expect(grpc.hostname).toBe('127.0.0.1');
    expect(http.port).not.toBe(grpc.port);
    expect(['4317', '4318', '8888']).not.toContain(http.port);
    expect(['4317', '4318', '8888']).not.toContain(grpc.port);
  });

  it('forwards a span with its ids, kind, status, attributes, resource and scope', async () => {
    const traceId = hex(16);
    const spanId = hex(8);
    const parentSpanId = hex(8);
    const start = BigInt(Date.now()) * 1_000_000n;
    await post(collector, 'traces', {
      resourceSpans: [
        {
          resource: { attributes: RESOURCE },
          scopeSpans: [
            {
              scope: { name: '@gatehouse/test', version: '1.2.3' },
              spans: [
                {
                  traceId,
                  spanId,
                  parentSpanId,
                  name: 'graphql.execute',
                  kind: 2, // SPAN_KIND_SERVER
                  startTimeUnixNano: String(start),
                  endTimeUnixNano: String(start + 1_500_000n),
                  attributes: [
                    { key: 'graphql.operation.name', value: { stringValue: 'Viewer' } },
                    { key: 'gatehouse.fields', value: { intValue: '7' } },
                    { key: 'gatehouse.cost', value: { doubleValue: 2.5 } },
                    { key: 'gatehouse.denied', value: { boolValue: true } },
                    {
                      key: 'gatehouse.gates',
                      value: {
                        arrayValue: { values: [{ stringValue: 'jwt' }, { stringValue: 'opa' }] },
                      },
                    },
                  ],
                  events: [
                    {
                      name: 'exception',
                      timeUnixNano: String(start + 1_000n),
                      attributes: [{ key: 'exception.type', value: { stringValue: 'Forbidden' } }],
                    },
                  ],
                  status: { code: 2, message: 'denied by policy' },
                },
              ],
            },
          ],
        },
      ],
    });

    const spans = await collector.waitForSpans((all) => all.some((s) => s.spanId === spanId));
    expect(spans.filter((s) => s.spanId === spanId)).toEqual([
      {
        traceId,
        spanId,
        parentSpanId,
        name: 'graphql.execute',
        kind: 'SERVER',
        startTimeUnixNano: start,
        endTimeUnixNano: start + 1_500_000n,
        attributes: {
          'graphql.operation.name': 'Viewer',
          'gatehouse.fields': 7,
          'gatehouse.cost': 2.5,
          'gatehouse.denied': true,
          'gatehouse.gates': ['jwt', 'opa'],
        },
        events: [
          {
            name: 'exception',
            timeUnixNano: start + 1_000n,
            attributes: { 'exception.type': 'Forbidden' },
          },
        ],
        status: { code: 'ERROR', message: 'denied by policy' },
        resource: { 'service.name': 'gatehouse-test', 'service.instance.id': 'instance-1' },
        scope: { name: '@gatehouse/test', version: '1.2.3' },
      },
    ]);
    // The ids arrive as OTLP/JSON's lower-case hex, not base64.
    expect(spans.find((s) => s.spanId === spanId)?.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('forwards a metric with its type, temporality, unit and data points', async () => {
    const name = `gatehouse.test.requests.${hex(4)}`;
    const now = BigInt(Date.now()) * 1_000_000n;
    await post(collector, 'metrics', {
      resourceMetrics: [
        {
          resource: { attributes: RESOURCE },
          scopeMetrics: [
            {
              scope: { name: '@gatehouse/test' },
              metrics: [
                {
                  name,
                  description: 'Requests by outcome',
                  unit: '{request}',
                  sum: {
                    aggregationTemporality: 2, // CUMULATIVE
                    isMonotonic: true,
                    dataPoints: [
                      {
                        attributes: [{ key: 'outcome', value: { stringValue: 'allowed' } }],
                        startTimeUnixNano: String(now - 60_000_000_000n),
                        timeUnixNano: String(now),
                        asInt: '5',
                      },
                      {
                        attributes: [{ key: 'outcome', value: { stringValue: 'denied' } }],
                        startTimeUnixNano: String(now - 60_000_000_000n),
                        timeUnixNano: String(now),
                        asInt: '2',
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    });

    const metrics = await collector.waitForMetrics((all) => all.some((m) => m.name === name));
    expect(metrics.filter((m) => m.name === name)).toEqual([
      {
        name,
        description: 'Requests by outcome',
        unit: '{request}',
        type: 'sum',
        temporality: 'CUMULATIVE',
        isMonotonic: true,
        dataPoints: [
          {
            attributes: { outcome: 'allowed' },
            startTimeUnixNano: now - 60_000_000_000n,
            timeUnixNano: now,
            value: 5,
          },
          {
            attributes: { outcome: 'denied' },
            startTimeUnixNano: now - 60_000_000_000n,
            timeUnixNano: now,
            value: 2,
          },
        ],
        resource: { 'service.name': 'gatehouse-test', 'service.instance.id': 'instance-1' },
        scope: { name: '@gatehouse/test', version: '' },
      },
    ]);
  });

  it('logs what passes through with the debug exporter, its own telemetry off', async () => {
    // The debug exporter gets the same batches as the sink, and logs them as they come.
    await vi.waitFor(() =>
      expect(collector.output()).toMatch(/"otelcol\.component\.id": "debug".*"spans": 1/),
    );
    expect(collector.output()).toMatch(/Internal metrics telemetry disabled/);
  });
});
