/**
 * Credentials end to end: a secret is encrypted at rest, shown only to its owner, and —
 * being restricted data (`@classified(level: RESTRICTED)`) — only with a token whose `amr`
 * shows multi-factor authentication (gate 3, policies/rego/classification.rego). Admins
 * and auditors see that credentials exist, never their secrets; other tenants see nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CREDENTIALS, DEMO_TENANTS } from '../../src/demo/demoData.js';
import { parseSecretKeys } from '../../src/config.js';
import { SecretBox } from '../../src/domain/secretBox.js';
import { startTestServer, TEST_CREDENTIAL_KEYS, type TestServer } from '../support/testServer.js';

const ACME = DEMO_TENANTS.acme.id;
const MFA = { amr: ['pwd', 'otp', 'mfa'] };
const BOBS = DEMO_CREDENTIALS.find((c) => c.owner === 'bob')!;
const ALICES = DEMO_CREDENTIALS.find((c) => c.owner === 'alice')!;
const MALLORYS = DEMO_CREDENTIALS.find((c) => c.owner === 'mallory')!;

const READ = 'query($id: ID!) { credential(id: $id) { id name owner { displayName } secret } }';
const CREATE =
  'mutation($n: String!, $s: String!) { createCredential(input: { name: $n, secret: $s }) { id name } }';

interface Err {
  message: string;
  path?: unknown[];
  extensions?: Record<string, unknown>;
}

function only(errors: Err[] | undefined): Err {
  expect(errors).toHaveLength(1);
  return errors![0]!;
}

/** Bob's credential came back without its secret, withheld by `gate` at its path. */
function expectSecretWithheld(body: { data?: unknown; errors?: Err[] }, gate: string): void {
  expect(body.data).toEqual({
    credential: {
      id: BOBS.id,
      name: BOBS.name,
      owner: { displayName: 'Bob Engineer' },
      secret: null,
    },
  });
  const error = only(body.errors);
  expect(error.path).toEqual(['credential', 'secret']);
  expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', gate });
  expect(error.extensions?.['decisionId']).toEqual(expect.any(String));
  expect(JSON.stringify(body)).not.toContain(BOBS.secret);
}

async function create(server: TestServer, user: string, name: string, secret: string) {
  const res = await server.gql<{ createCredential: { id: string; name: string } }>(
    CREATE,
    { n: name, s: secret },
    await server.token(user),
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.createCredential.id;
}

/** The stored row of a credential, read as the app role inside its tenant (RLS applies). */
async function storedRow(server: TestServer, tenantId: string, id: string) {
  return server.gatehouse.database.tenants.transaction(
    { tenantId, subject: 'test' },
    'read',
    async (tx) => {
      const rows = await tx.$queryRawUnsafe<
        Array<{ json: string; secret_ciphertext: Uint8Array; secret_key_id: string }>
      >(
        'select row_to_json(c)::text as json, secret_ciphertext, secret_key_id from credentials c where id = $1::uuid',
        id,
      );
      return rows[0];
    },
  );
}

describe('credentials', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('the owner with multi-factor authentication reads the secret', async () => {
    const res = await server.gql(READ, { id: BOBS.id }, await server.token('bob', MFA));
    expect(res.body).toEqual({
      data: {
        credential: {
          id: BOBS.id,
          name: BOBS.name,
          owner: { displayName: 'Bob Engineer' },
          secret: BOBS.secret,
        },
      },
    });
  });

  it('the owner without multi-factor authentication: the secret is FORBIDDEN by the policy', async () => {
    const res = await server.gql(READ, { id: BOBS.id }, await server.token('bob'));
    expectSecretWithheld(res.body, 'policy');
  });

  it.each([
    ['alice', 'an organisation admin'],
    ['dave', 'an auditor'],
  ])('%s (%s) sees the credential but never its secret, even with MFA', async (user) => {
    const res = await server.gql(READ, { id: BOBS.id }, await server.token(user, MFA));
    expectSecretWithheld(res.body, 'relationship');
  });

  it.each([
    ['erin', 'another member of the organisation'],
    ['mallory', 'another tenant'],
  ])('%s (%s) gets null and FORBIDDEN, exactly as for an id that does not exist', async (user) => {
    const token = await server.token(user, MFA);
    const real = await server.gql(READ, { id: BOBS.id }, token);
    const missing = await server.gql(READ, { id: randomUUID() }, token);
    for (const res of [real, missing]) {
      expect(res.body.data).toEqual({ credential: null });
      expect(only(res.body.errors).extensions).toMatchObject({
        code: 'FORBIDDEN',
        gate: 'relationship',
      });
    }
    expect(JSON.stringify(real.body)).not.toContain(BOBS.name);
  });

  it('lists: owners see theirs, admins and auditors all (no secrets), other tenants none of acme', async () => {
    const LIST =
      '{ credentials(first: 100) { totalCount edges { node { id name secret } } pageInfo { hasNextPage } } }';
    const ids = async (user: string) => {
      const res = await server.gql<{
        credentials: { totalCount: number; edges: Array<{ node: { id: string } }> };
      }>(LIST, {}, await server.token(user));
      return {
        ids: res.body.data!.credentials.edges.map((e) => e.node.id),
        total: res.body.data!.credentials.totalCount,
        errors: res.body.errors ?? [],
        text: JSON.stringify(res.body),
      };
    };
    const bob = await ids('bob');
    expect(bob.ids).toContain(BOBS.id);
    expect(bob.ids).not.toContain(ALICES.id);
    const dave = await ids('dave');
    expect(dave.ids).toEqual(expect.arrayContaining([BOBS.id, ALICES.id]));
    expect(dave.total).toBe(dave.ids.length);
    // Every secret in the auditor's list is withheld, each with its own error.
    expect(dave.errors.length).toBe(dave.ids.length);
    expect(dave.errors.every((e) => e.extensions?.['code'] === 'FORBIDDEN')).toBe(true);
    for (const c of DEMO_CREDENTIALS) expect(dave.text).not.toContain(c.secret);
    const mallory = await ids('mallory');
    expect(mallory.ids).toContain(MALLORYS.id);
    expect(mallory.ids).not.toContain(BOBS.id);
    expect(mallory.text).not.toContain(BOBS.name);
    expect((await ids('erin')).total).toBe(0);
  });

  it('stores only ciphertext, bound to its row: no plaintext anywhere in the row', async () => {
    const secret = `plaintext-${randomUUID()}`;
    const id = await create(server, 'bob', `at rest ${randomUUID()}`, secret);
    const row = await storedRow(server, ACME, id);
    expect(row).toBeDefined();
    expect(row!.secret_key_id).toBe(TEST_CREDENTIAL_KEYS.split(':')[0]);
    expect(Buffer.from(row!.secret_ciphertext).includes(Buffer.from(secret))).toBe(false);
    expect(row!.json).not.toContain(secret);
    expect(row!.json).not.toContain(Buffer.from(secret).toString('hex'));
    // The mutation does not echo the secret, and the owner reads it back with MFA.
    const res = await server.gql(READ, { id }, await server.token('bob', MFA));
    expect((res.body.data as { credential: { secret: string } }).credential.secret).toBe(secret);
  });

  it('a ciphertext moved to another row does not open: INTERNAL_SERVER_ERROR, no plaintext', async () => {
    const donor = `donor-${randomUUID()}`;
    const donorId = await create(server, 'bob', `donor ${randomUUID()}`, donor);
    const victimId = await create(server, 'bob', `victim ${randomUUID()}`, 'victim secret');
    await server.gatehouse.database.tenants.transaction(
      { tenantId: ACME, subject: 'attacker with database access' },
      'write',
      (tx) =>
        tx.$executeRawUnsafe(
          `update credentials set secret_ciphertext = (select secret_ciphertext from credentials where id = $1::uuid)
            where id = $2::uuid`,
          donorId,
          victimId,
        ),
    );
    const res = await server.gql(READ, { id: victimId }, await server.token('bob', MFA));
    expect((res.body.data as { credential: { secret: unknown } }).credential.secret).toBeNull();
    const error = only(res.body.errors);
    expect(error.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(res.body)).not.toContain(donor);
    expect(JSON.stringify(res.body)).not.toMatch(/decrypt|cipher|key/i);
  });

  it('rejects bad input with BAD_USER_INPUT and duplicate names with CONFLICT', async () => {
    const token = await server.token('bob');
    const name = `dup ${randomUUID()}`;
    await create(server, 'bob', name, 'one');
    const dup = await server.gql(CREATE, { n: name, s: 'two' }, token);
    expect(only(dup.body.errors).extensions?.['code']).toBe('CONFLICT');
    for (const [n, s, field] of [
      ['ok name', '', 'secret'],
      ['ok name', 'x'.repeat(8193), 'secret'],
      ['', 'secret', 'name'],
      ['x'.repeat(201), 'secret', 'name'],
    ] as const) {
      const res = await server.gql(CREATE, { n, s }, token);
      expect(only(res.body.errors).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(res.body.data).toBeNull();
    }
    // An auditor may not create credentials at all.
    const auditor = await server.gql(CREATE, { n: 'x', s: 'y' }, await server.token('dave'));
    expect(only(auditor.body.errors).extensions).toMatchObject({
      code: 'FORBIDDEN',
      gate: 'relationship',
    });
  });

  it('rotation: the owner replaces the secret; nobody else can', async () => {
    const id = await create(server, 'bob', `rotate ${randomUUID()}`, 'first');
    const ROTATE =
      'mutation($id: ID!, $s: String!) { rotateCredential(id: $id, secret: $s) { id } }';
    const denied = await server.gql(ROTATE, { id, s: 'evil' }, await server.token('alice', MFA));
    expect(only(denied.body.errors).extensions).toMatchObject({
      code: 'FORBIDDEN',
      gate: 'relationship',
    });
    const rotated = await server.gql(ROTATE, { id, s: 'second' }, await server.token('bob'));
    expect(rotated.body.errors).toBeUndefined();
    const res = await server.gql(READ, { id }, await server.token('bob', MFA));
    expect((res.body.data as { credential: { secret: string } }).credential.secret).toBe('second');
  });

  it('deletion: an admin may delete a member credential; the owner then sees nothing', async () => {
    const id = await create(server, 'bob', `delete ${randomUUID()}`, 'gone soon');
    const DELETE = 'mutation($id: ID!) { deleteCredential(id: $id) }';
    const byErin = await server.gql(DELETE, { id }, await server.token('erin'));
    expect(only(byErin.body.errors).extensions?.['code']).toBe('FORBIDDEN');
    const byAlice = await server.gql(DELETE, { id }, await server.token('alice'));
    expect(byAlice.body).toEqual({ data: { deleteCredential: id } });
    const after = await server.gql(READ, { id }, await server.token('bob', MFA));
    expect(after.body.data).toEqual({ credential: null });
    expect(only(after.body.errors).extensions?.['code']).toBe('FORBIDDEN');
    expect(await storedRow(server, ACME, id)).toBeUndefined();
  });
});

describe('decisions after a mutation in the same operation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('are made afresh: a permission checked before a delete is not reused after it', async () => {
    const id = await create(server, 'bob', `multi ${randomUUID()}`, 'one');
    const res = await server.gql(
      `mutation($id: ID!) {
        before: rotateCredential(id: $id, secret: "two") { id }
        gone: deleteCredential(id: $id)
        after: rotateCredential(id: $id, secret: "three") { id }
      }`,
      { id },
      await server.token('bob'),
    );
    // `after` is refused by SpiceDB (the relationships went with the credential), not
    // answered from the decision made for `before`.
    expect(res.body.data).toBeNull();
    const errors = res.body.errors ?? [];
    expect(errors.map((e) => [e.path, e.extensions?.['code'], e.extensions?.['gate']])).toEqual([
      [['after'], 'FORBIDDEN', 'relationship'],
    ]);
    expect(await storedRow(server, ACME, id)).toBeUndefined();
  });
});

describe('credential key rotation', () => {
  const newKey = `k2026:${Buffer.alloc(32, 9).toString('base64')}`;

  /** Re-seals a credential's stored secret with `keys` (as a server holding them would). */
  async function resealWith(server: TestServer, id: string, keys: string, secret: string) {
    const sealed = new SecretBox(parseSecretKeys(keys)).seal(secret, { tenantId: ACME, id });
    await server.gatehouse.database.tenants.transaction(
      { tenantId: ACME, subject: 'test' },
      'write',
      (tx) =>
        tx.credential.updateMany({
          where: { tenantId: ACME, id },
          data: { secretCiphertext: sealed.ciphertext, secretKeyId: sealed.keyId },
        }),
    );
  }

  it('a new active key seals new secrets while the old key still opens old ones', async () => {
    const server = await startTestServer({ CREDENTIAL_KEYS: `${newKey},${TEST_CREDENTIAL_KEYS}` });
    try {
      const id = await create(server, 'bob', `new key ${randomUUID()}`, 'sealed with k2026');
      expect((await storedRow(server, ACME, id))!.secret_key_id).toBe('k2026');
      const oldId = await create(server, 'bob', `old key ${randomUUID()}`, 'placeholder');
      await resealWith(server, oldId, TEST_CREDENTIAL_KEYS, 'sealed with the old key');
      expect((await storedRow(server, ACME, oldId))!.secret_key_id).toBe('test');
      const token = await server.token('bob', MFA);
      const secretOf = async (cid: string) =>
        (
          (await server.gql(READ, { id: cid }, token)).body.data as {
            credential: { secret: string };
          }
        ).credential.secret;
      expect(await secretOf(id)).toBe('sealed with k2026');
      expect(await secretOf(oldId)).toBe('sealed with the old key');
    } finally {
      await server.stop();
    }
  });

  it('without the key that sealed a secret, reading it is INTERNAL_SERVER_ERROR, never garbage', async () => {
    const server = await startTestServer({ CREDENTIAL_KEYS: newKey });
    try {
      const id = await create(server, 'bob', `lost key ${randomUUID()}`, 'placeholder');
      await resealWith(
        server,
        id,
        `retired:${Buffer.alloc(32, 3).toString('base64')}`,
        'lost-secret-value',
      );
      const res = await server.gql(READ, { id }, await server.token('bob', MFA));
      expect((res.body.data as { credential: { secret: unknown } }).credential.secret).toBeNull();
      expect(only(res.body.errors).extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(res.body)).not.toContain('lost-secret-value');
    } finally {
      await server.stop();
    }
  });
});
