/**
 * Traces and OTLP metrics end to end, against the real OpenTelemetry Collector
 * (tools/otelcol.ts builds it; test/support/otelCollector.ts reads what it exports): a
 * Gatehouse process (`npm start`'s entry point) exporting OTLP to it answers a list query
 * and a mutation sent with a W3C `traceparent`. One trace per request holds the HTTP
 * server span (continuing the client's span), graphql-js's parse/validate/execute spans,
 * the SpiceDB check, the tenant transaction with its SQL statements, the policy
 * evaluation, and for the mutation the audit append and the relationship write — each
 * with the right parent and attributes. The same trace id is in the audit event, in
 * `extensions.traceId` of an error and in the log line of a denial; and no token, secret,
 * credential or variable value is in any span.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ensureDevSigningKey, mintDevToken } from '../../src/authn/devSigningKey.js';
import { DEMO_TENANTS, findDemoUser } from '../../src/demo/demoData.js';
import { OTELCOL_BIN } from '../../tools/otelcol.js';
import { startCollector, type OtelCollector, type ReceivedSpan } from '../support/otelCollector.js';
import {
  startServerProcess,
  stopServerProcess,
  type ServerProcess,
} from '../../tools/serverProcess.js';
import { usingPostgres } from '../support/testDatabase.js';
import { TEST_CREDENTIAL_KEYS } from '../support/testServer.js';

const missing = !existsSync(OTELCOL_BIN) && !process.env['CI'];
if (missing) process.stderr.write(`skipping the tracing tests: ${OTELCOL_BIN} is missing\n`);

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const LIST = 'query Workflows { workflows(first: 5) { edges { node { id name amount } } } }';
const SECRET_NAME = `confidential-${hex(6)}`;
const CREATE = `mutation CreateWorkflow($n: String!, $a: Decimal!) {
  createWorkflow(input: { name: $n, amount: $a }) { id }
}`;

/** The spans of `traceId`, and a lookup of one by name (exactly one). */
function traceOf(spans: ReceivedSpan[], traceId: string) {
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const byId = new Map(inTrace.map((s) => [s.spanId, s]));
  const named = (name: string | RegExp): ReceivedSpan[] =>
    inTrace.filter((s) => (typeof name === 'string' ? s.name === name : name.test(s.name)));
  const one = (name: string | RegExp): ReceivedSpan => {
    const found = named(name);
    expect(
      found.map((s) => s.name),
      `spans named ${String(name)}`,
    ).toHaveLength(1);
    return found[0]!;
  };
  /** Whether `span` descends from `ancestor` through spans of this trace. */
  const under = (span: ReceivedSpan, ancestor: ReceivedSpan): boolean => {
    for (let at = byId.get(span.parentSpanId); at; at = byId.get(at.parentSpanId)) {
      if (at.spanId === ancestor.spanId) return true;
    }
    return false;
  };
  return { spans: inTrace, named, one, under };
}

describe.skipIf(missing)('tracing to a real OpenTelemetry Collector', () => {
  let collector: OtelCollector;
  let server: ServerProcess;
  let keysDir: string;
  let token: (user: string) => Promise<string>;
  /** Every token sent, to look for in the spans. */
  const sent: string[] = [];

  beforeAll(async () => {
    collector = await startCollector();
    keysDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-tracing-'));
    server = await startServerProcess({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      DEV_KEYS_DIR: keysDir,
      SEED_DEMO_DATA: 'true',
      CREDENTIAL_KEYS: TEST_CREDENTIAL_KEYS,
      AUDIT_CHECKPOINT_INTERVAL: '0',
      ...(usingPostgres ? {} : { PGLITE_DATA_DIR: 'memory://' }),
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpEndpoint,
      OTEL_SERVICE_NAME: 'gatehouse-e2e',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
    });
    const key = await ensureDevSigningKey(keysDir);
    token = async (user) => {
      const demo = findDemoUser(user)!;
      const minted = await mintDevToken(key, {
        subject: demo.subject,
        tenantId: DEMO_TENANTS[demo.tenant].id,
        roles: demo.roles,
      });
      sent.push(minted);
      return minted;
    };
  });

  afterAll(async () => {
    await stopServerProcess(server);
    await collector.stop();
    if (keysDir) await rm(keysDir, { recursive: true, force: true });
  });

  async function post(
    user: string | undefined,
    query: string,
    variables: Record<string, unknown> | undefined,
    traceparent: string,
  ): Promise<{
    status: number;
    body: { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> };
  }> {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        traceparent,
        ...(user ? { Authorization: `Bearer ${await token(user)}` } : {}),
      },
      body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
    return { status: res.status, body: (await res.json()) as never };
  }

  it('follows a list query from the HTTP span to the SpiceDB call and the SQL', async () => {
    const traceId = hex(16);
    const clientSpan = hex(8);
    const res = await post('alice', LIST, undefined, `00-${traceId}-${clientSpan}-01`);
    expect(res.body.errors).toBeUndefined();
    // Every span of the request has ended once the HTTP span has (it ends last).
    await collector.waitForSpans((all) =>
      all.some((s) => s.traceId === traceId && s.name === 'POST /graphql'),
    );
    const t = traceOf(collector.spans(), traceId);

    const http = t.one('POST /graphql');
    expect(http.kind).toBe('SERVER');
    expect(http.parentSpanId).toBe(clientSpan); // the client's traceparent, continued
    expect(http.resource['service.name']).toBe('gatehouse-e2e');
    expect(http.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/graphql',
      'http.response.status_code': 200,
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'Workflows',
    });

    for (const name of ['graphql.parse', 'graphql.validate'])
      expect(t.under(t.one(name), http)).toBe(true);
    const execute = t.one('query Workflows');
    expect(execute.scope.name).toBe('@opentelemetry/instrumentation-graphql');
    expect(t.under(execute, http)).toBe(true);
    // Parsing the schema at start is not traced (it would be a root trace per file).
    expect(collector.spans().filter((s) => s.name === 'graphql.parseSchema')).toHaveLength(0);
    // Resolve spans are off by default.
    expect(t.named(/^graphql\.resolve/)).toHaveLength(0);

    const check = t.one('spicedb CheckBulkPermissions');
    expect(check.kind).toBe('CLIENT');
    expect(t.under(check, http)).toBe(true);
    expect(check.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'authzed.api.v1.PermissionsService',
      'rpc.method': 'CheckBulkPermissions',
    });
    expect(check.attributes['gatehouse.spicedb.items']).toBeGreaterThan(0);
    expect(typeof check.attributes['gatehouse.authz.cached']).toBe('number');
    expect(['minimize_latency', 'at_least_as_fresh']).toContain(
      check.attributes['gatehouse.spicedb.consistency'],
    );

    const tx = t.one('tenant transaction read');
    expect(t.under(tx, http)).toBe(true);
    expect(tx.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'gatehouse.tenant.id': DEMO_TENANTS.acme.id,
      'gatehouse.transaction.mode': 'read',
    });
    if (usingPostgres) {
      const statements = t.spans.filter(
        (s) => s.scope.name === '@opentelemetry/instrumentation-pg',
      );
      expect(statements.length).toBeGreaterThan(0);
      // Every statement of the request ran inside its tenant transaction (BEGIN … COMMIT,
      // within its span's time; a statement is the child of the span that caused it: the
      // transaction's own settings, or the resolver's execution), with its text and no
      // parameter values.
      const sql = statements.filter((s) => s.name.startsWith('pg.query'));
      const text = (s: ReceivedSpan): string => JSON.stringify(s.attributes['db.query.text']);
      // (The tenant setting goes with the BEGIN: one round trip, data/settingsInBegin.ts.)
      const begin = sql.find((s) => text(s).startsWith('"BEGIN; select set_config('));
      expect(begin, 'BEGIN with the tenant setting').toBeDefined();
      expect(text(begin!)).not.toContain(findDemoUser('alice')!.subject);
      expect(sql.map((s) => s.attributes['db.query.text'])).toContain('COMMIT');
      const settings = sql.find((s) => text(s).includes('set_config'));
      expect(settings && t.under(settings, tx), 'the settings statement').toBe(true);
      for (const s of sql) {
        expect(t.under(s, http), s.name).toBe(true);
        // Started within it — except COMMIT, which Prisma may send after its transaction
        // promise (the span's end) has settled.
        const within =
          s.startTimeUnixNano >= tx.startTimeUnixNano &&
          (s.startTimeUnixNano <= tx.endTimeUnixNano || s.attributes['db.query.text'] === 'COMMIT');
        expect(within, `${text(s)} within the transaction`).toBe(true);
        expect(
          Object.keys(s.attributes).some((k) => k.includes('values') || k.includes('parameter')),
        ).toBe(false);
      }
    }

    const policy = t.named(/^opa evaluate /);
    expect(policy.length).toBeGreaterThan(0);
    for (const p of policy) {
      expect(t.under(p, http)).toBe(true);
      expect(typeof p.attributes['gatehouse.policy.allow']).toBe('boolean');
    }
  });

  it('traces a mutation through its transaction, the audit append and the relationship write; the audit event has the trace id', async () => {
    const traceId = hex(16);
    const res = await post(
      'alice',
      CREATE,
      { n: SECRET_NAME, a: '4242.17' },
      `00-${traceId}-${hex(8)}-01`,
    );
    expect(res.body.errors).toBeUndefined();
    await collector.waitForSpans((all) =>
      all.some((s) => s.traceId === traceId && s.name === 'audit append'),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const t = traceOf(collector.spans(), traceId);
    const http = t.one('POST /graphql');
    expect(http.attributes['graphql.operation.type']).toBe('mutation');
    const write = t.one('tenant transaction write');
    expect(t.under(write, http)).toBe(true);
    const append = t.one('audit append');
    expect(t.under(append, write)).toBe(true);
    expect(append.attributes['gatehouse.audit.events']).toBe(1);
    const relay = t.named('spicedb WriteRelationships');
    expect(relay.length).toBeGreaterThan(0);
    expect(relay[0]!.attributes['gatehouse.spicedb.items']).toBeGreaterThan(0);

    // The audit trail records the same trace id (read by the auditor).
    const audit = await post(
      'dave',
      'query($f: AuditEventFilter) { auditEvents(first: 20, filter: $f) { edges { node { action traceId } } } }',
      { f: { action: 'workflow.create' } },
      `00-${hex(16)}-${hex(8)}-01`,
    );
    const edges = (
      audit.body.data as { auditEvents: { edges: Array<{ node: { traceId: string } }> } }
    ).auditEvents.edges;
    expect(edges.map((e) => e.node.traceId)).toContain(traceId);
  });

  it('puts the trace id in the error and in the log line of a denial', async () => {
    const traceId = hex(16);
    const denied = await post(
      'bob',
      '{ auditEvents { edges { node { action } } } }',
      undefined,
      `00-${traceId}-${hex(8)}-01`,
    );
    const error = denied.body.errors?.[0];
    expect(error?.extensions?.['code']).toBe('FORBIDDEN');
    expect(error?.extensions?.['traceId']).toBe(traceId);
    // A bad token: answered before GraphQL, with the trace id too.
    const badTrace = hex(16);
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: 'Bearer not-a-token',
        traceparent: `00-${badTrace}-${hex(8)}-01`,
      },
      body: JSON.stringify({ query: '{ health }' }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
    expect(body.errors[0]!.extensions['traceId']).toBe(badTrace);
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const denial = lines.find(
      (l) => l['msg'] === 'authorization denied' && l['traceId'] === traceId,
    );
    expect(denial, 'the denial is logged with its trace id').toBeDefined();
    expect(denial).toMatchObject({ tenantId: DEMO_TENANTS.acme.id, subject: 'demo|bob' });
  });

  it('traces an operation over WebSocket in the trace of its upgrade request', async () => {
    const traceId = hex(16);
    const upgradeSpan = hex(8);
    const headers = { traceparent: `00-${traceId}-${upgradeSpan}-01` };
    /** `ws` with the upgrade request's headers set (a browser cannot; a service can). */
    class TracedWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers });
      }
    }
    const client = createClient({
      url: `${server.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: TracedWebSocket,
      connectionParams: { authorization: `Bearer ${await token('alice')}` },
      retryAttempts: 0,
    });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        client.subscribe(
          { query: LIST },
          { next: resolve, error: reject, complete: () => undefined },
        );
      });
      expect((result as { errors?: unknown }).errors).toBeUndefined();
    } finally {
      await client.dispose();
    }
    await collector.waitForSpans((all) =>
      all.some((s) => s.traceId === traceId && s.name === 'query Workflows' && s.kind === 'SERVER'),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const t = traceOf(collector.spans(), traceId);
    const operation = t.named('query Workflows').find((s) => s.kind === 'SERVER')!;
    expect(operation.parentSpanId).toBe(upgradeSpan);
    expect(operation.attributes).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'Workflows',
      'network.protocol.name': 'websocket',
    });
    expect(t.under(t.one('tenant transaction read'), operation)).toBe(true);
    expect(t.under(t.one('graphql.validate'), operation)).toBe(true);
    // (The decision cache may answer the checks: then there is no SpiceDB call to trace.)
    for (const check of t.named('spicedb CheckBulkPermissions')) {
      expect(t.under(check, operation)).toBe(true);
    }
  });

  it('exports the metrics by OTLP too', async () => {
    const metrics = await collector.waitForMetrics((all) =>
      [
        'http.server.request.duration',
        'gatehouse.spicedb.duration',
        'gatehouse.authz.decisions',
      ].every((name) => all.some((m) => m.name === name)),
    );
    const http = metrics.filter((m) => m.name === 'http.server.request.duration').at(-1)!;
    expect(http.unit).toBe('s');
    expect(http.resource['service.name']).toBe('gatehouse-e2e');
    expect(http.dataPoints.some((p) => (p.count ?? 0) > 0)).toBe(true);
  });

  it('never puts a token, a secret or a variable value in a span', () => {
    expect(sent.length).toBeGreaterThan(3);
    const everything = JSON.stringify(collector.spans(), (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('utf8') : v,
    );
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of [
      ...sent, // every token sent, and each one's signature
      ...sent.map((t) => t.split('.')[2]!),
      'not-a-token',
      'Bearer',
      TEST_CREDENTIAL_KEYS.split(':')[1]!,
      SECRET_NAME,
      '4242.17',
    ]) {
      expect(everything, secret).not.toContain(secret);
    }
  });
});
