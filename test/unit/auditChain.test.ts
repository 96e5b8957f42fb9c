/**
 * The audit chain's pure parts: RFC 8785 canonical JSON, the documented hash formula
 * (recomputed here independently), verification of a chain against every kind of
 * tampering, Ed25519 checkpoints, and the trace id of a `traceparent`.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, type AuditEvent, type AuditEventInput } from '../../src/audit/AuditEvent.js';
import { chainHash } from '../../src/audit/auditHash.js';
import { AuditSigner, verifyCheckpoint } from '../../src/audit/AuditCheckpoint.js';
import { canonicalJson, CanonicalJsonError } from '../../src/audit/canonicalJson.js';
import { matchesFilter } from '../../src/audit/AuditFilter.js';
import { verifyCheckpoints } from '../../src/audit/verifyCheckpoints.js';
import { verifyEvents } from '../../src/audit/verifyAuditChain.js';
import { diff, jsonOf } from '../../src/domain/Changed.js';
import { traceIdOf } from '../../src/operation/traceContext.js';

describe('canonicalJson (RFC 8785)', () => {
  it.each([
    [{ b: 1, a: [true, null, 'x'] }, '{"a":[true,null,"x"],"b":1}'],
    // Members sorted by UTF-16 code units: "\u20ac" (€) before "\ud83d\ude00" (😀) before "ﬃ".
    [{ '\u{1F600}': 1, '\u20AC': 2, '\uFB03': 3, a: 4 }, '{"a":4,"€":2,"😀":1,"ﬃ":3}'],
    // ECMAScript number serialisation (RFC 8785 §3.2.2.3).
    [
      [1.0, 1e21, 1e-7, -0, 0.1, 123456789012345680000],
      '[1,1e+21,1e-7,0,0.1,123456789012345680000]',
    ],
    // JSON.stringify escapes: control characters as \u00xx, quotes and backslash.
    ['\u0007"\\/é', '"\\u0007\\"\\\\/é"'],
    [{ nested: { z: { y: 1, x: 2 } } }, '{"nested":{"z":{"x":2,"y":1}}}'],
  ])('%j → %s', (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a BigInt', 1n],
    ['a lone surrogate', '\uD800x'],
    ['a Date (not plain JSON)', new Date(0)],
    ['undefined', undefined],
  ])('refuses %s', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
  });
});

const TENANT = '00000000-0000-4000-8000-0000000000aa';

function input(action: string, extra: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    actor: {
      subject: 'demo|bob',
      userId: '00000000-0000-4000-a000-000000000002',
      kind: 'user',
      ip: '127.0.0.1',
    },
    action,
    resource: { type: 'workflow', id: '00000000-0000-4000-c000-000000000500' },
    outcome: 'SUCCEEDED',
    gate: null,
    reasons: [],
    requestId: 'req-1',
    traceId: null,
    decisions: [],
    changes: { name: { before: null, after: 'Laptops' } },
    ...extra,
  };
}

/** A valid chain of `n` events, built as appendAuditEvents builds them. */
function chain(n: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const unhashed = {
      ...input(seq % 2 ? 'workflow.create' : 'workflow.update'),
      tenantId: TENANT,
      seq,
      id: `00000000-0000-4000-e000-${String(seq).padStart(12, '0')}`,
      occurredAt: new Date(Date.UTC(2026, 11, 2, 10, 0, seq)),
    };
    const hash = chainHash(prevHash, unhashed);
    events.push({ ...unhashed, prevHash, hash });
    prevHash = hash;
  }
  return events;
}

const headOf = (events: readonly AuditEvent[]) => ({
  seq: events.at(-1)?.seq ?? 0,
  hash: events.at(-1)?.hash ?? GENESIS_HASH,
});

describe('the hash chain', () => {
  it('is SHA-256(previous hash bytes ‖ JCS of the documented members), recomputed by hand', () => {
    const [first] = chain(1);
    const body =
      '{"action":"workflow.create","actor":{"ip":"127.0.0.1","kind":"user","subject":"demo|bob",' +
      '"userId":"00000000-0000-4000-a000-000000000002"},"changes":{"name":{"after":"Laptops","before":null}},' +
      '"decisions":[],"gate":null,"id":"00000000-0000-4000-e000-000000000001",' +
      '"occurredAt":"2026-12-02T10:00:01.000Z","outcome":"SUCCEEDED","reasons":[],"requestId":"req-1",' +
      '"resource":{"id":"00000000-0000-4000-c000-000000000500","type":"workflow"},"seq":1,' +
      `"tenantId":"${TENANT}","traceId":null,"v":1}`;
    const expected = createHash('sha256')
      .update(Buffer.alloc(32))
      .update(body, 'utf8')
      .digest('hex');
    expect(first!.prevHash).toBe(GENESIS_HASH);
    expect(first!.hash).toBe(expected);
  });

  it('verifies an untouched chain, whole or in part', async () => {
    const events = chain(5);
    expect(await verifyEvents(events, headOf(events))).toEqual({
      valid: true,
      checkedCount: 5,
      headSeq: 5,
      headHash: events[4]!.hash,
      firstInvalidSeq: null,
      problem: null,
    });
    const part = await verifyEvents(events.slice(1, 3), headOf(events), { fromSeq: 2, toSeq: 3 });
    expect(part).toMatchObject({ valid: true, checkedCount: 2 });
  });

  const tampered: Array<[string, (e: AuditEvent[]) => AuditEvent[], number, RegExp]> = [
    [
      'one field of one event changed',
      (e) => e.map((x) => (x.seq === 3 ? { ...x, reasons: ['nothing to see'] } : x)),
      3,
      /does not match its hash/,
    ],
    ['one event deleted', (e) => e.filter((x) => x.seq !== 3), 3, /event 3 is missing/],
    [
      'two events swapped (their seq exchanged)',
      (e) => {
        const out = e.map((x) => ({ ...x }));
        out[1] = { ...e[3]!, seq: 2 };
        out[3] = { ...e[1]!, seq: 4 };
        return out;
      },
      2,
      /does not (link|match)/,
    ],
    [
      'a forged event inserted past the head',
      (e) => {
        const last = e.at(-1)!;
        const forged = { ...last, seq: last.seq + 1, id: 'f', prevHash: last.hash };
        return [...e, { ...forged, hash: chainHash(last.hash, forged) }];
      },
      6,
      /past the chain head/,
    ],
    ['the last event deleted', (e) => e.slice(0, -1), 5, /event 5 is missing/],
  ];

  it.each(tampered)('detects %s at the exact seq', async (_name, tamper, seq, problem) => {
    const events = chain(5);
    const result = await verifyEvents(tamper(events), headOf(events));
    expect(result.valid).toBe(false);
    expect(result.firstInvalidSeq).toBe(seq);
    expect(result.problem).toMatch(problem);
  });

  it('cannot see a rewrite that recomputed every hash and the head: checkpoints do', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = new AuditSigner(privateKey);
    const events = chain(5);
    const pinned = [3, 5].map((seq) =>
      signer.sign({ tenantId: TENANT, seq, hash: events[seq - 1]!.hash, signedAt: new Date() }),
    );
    // A superuser rewrites event 2 and recomputes everything after it.
    const rewritten: AuditEvent[] = [];
    let prevHash = GENESIS_HASH;
    for (const e of events) {
      const body = e.seq === 2 ? { ...e, reasons: ['rewritten'] } : e;
      const hash = chainHash(prevHash, body);
      rewritten.push({ ...body, prevHash, hash });
      prevHash = hash;
    }
    expect((await verifyEvents(rewritten, headOf(rewritten))).valid).toBe(true);
    const hashAt = (seq: number) => Promise.resolve(rewritten.find((e) => e.seq === seq)?.hash);
    expect(await verifyCheckpoints(pinned, signer.publicKey, hashAt)).toMatchObject({
      checkedCount: 0,
      firstInvalidSeq: 3,
      problem: expect.stringMatching(/rewritten/) as unknown,
    });
    const honest = (seq: number) => Promise.resolve(events.find((e) => e.seq === seq)?.hash);
    expect(await verifyCheckpoints(pinned, signer.publicKey, honest)).toMatchObject({
      checkedCount: 2,
      firstInvalidSeq: null,
    });
  });

  it('refuses a checkpoint with a forged signature or signed by another key', () => {
    const signer = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
    const other = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
    const c = signer.sign({ tenantId: TENANT, seq: 1, hash: 'a'.repeat(64), signedAt: new Date() });
    expect(verifyCheckpoint(c, signer.publicKey)).toBe(true);
    expect(verifyCheckpoint({ ...c, hash: 'b'.repeat(64) }, signer.publicKey)).toBe(false);
    expect(verifyCheckpoint({ ...c, seq: 2 }, signer.publicKey)).toBe(false);
    expect(verifyCheckpoint(c, other.publicKey)).toBe(false);
    expect(verifyCheckpoint({ ...c, keyId: other.keyId }, other.publicKey)).toBe(false);
  });
});

describe('live-feed filters', () => {
  const [event] = chain(1);
  it.each([
    [{}, true],
    [{ action: 'workflow.create' }, true],
    [{ action: 'workflow.' }, true],
    [{ action: 'workflow' }, false],
    [{ action: 'credential.' }, false],
    [{ outcome: 'DENIED' as const }, false],
    [{ resourceType: 'workflow', resourceId: '00000000-0000-4000-c000-000000000500' }, true],
    [{ actorUserId: '00000000-0000-4000-a000-000000000003' }, false],
    [{ since: new Date(Date.UTC(2026, 11, 2, 10, 0, 1)) }, true],
    [{ until: new Date(Date.UTC(2026, 11, 2, 10, 0, 1)) }, false],
    [{ decisionId: '00000000-0000-4000-8000-000000000001' }, false],
  ])('%j matches: %s', (filter, expected) => {
    expect(matchesFilter(filter, event!)).toBe(expected);
  });
});

describe('changes and trace context', () => {
  it('records only fields that changed, as JSON (exact decimals, ISO dates)', () => {
    const decimal = { toFixed: () => '25000.5' };
    expect(jsonOf(decimal)).toBe('25000.5');
    expect(jsonOf(new Date(Date.UTC(2026, 0, 1)))).toBe('2026-01-01T00:00:00.000Z');
    expect(
      diff({ name: 'a', amount: 1, teamId: null }, { name: 'b', amount: 1, teamId: 't' }, [
        'name',
        'amount',
        'teamId',
      ]),
    ).toEqual({ name: { before: 'a', after: 'b' }, teamId: { before: null, after: 't' } });
  });

  it.each([
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '4bf92f3577b34da6a3ce929d0e0e4736'],
    [
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future',
      '4bf92f3577b34da6a3ce929d0e0e4736',
    ],
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', null],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', null],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', null],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', null],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', null],
    ['garbage', null],
  ])('traceparent %s → %s', (header, traceId) => {
    expect(traceIdOf(header)).toBe(traceId);
  });
});
