/**
 * Identity administration end to end (issue 12): an organisation admin manages service
 * accounts and their API keys through the API, behind the same gates as everything else.
 * A key made by `createApiKey` authenticates at once (`X-API-Key`); it is in that one
 * answer and nowhere else — not in a listing, a row or an audit event. Members, VPs and
 * auditors are FORBIDDEN on every operation; another organisation's admin gets NOT_FOUND
 * for acme's ids exactly as for ids that do not exist. Rotation keeps both keys working for
 * the overlap (none with 0), revocation and deactivation hold from the next request, and
 * each mutation leaves one audit event.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/authn/apiKeys.js';
import { loadApiKeyPepper } from '../../src/authn/apiKeyPepper.js';
import { DEMO_TENANTS, findDemoUser } from '../../src/demo/demoData.js';
import { denial, UUID } from '../support/expectations.js';
import { asTenantOwner } from '../support/serviceAccounts.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/testServer.js';

const ACME = DEMO_TENANTS.acme.id;
const DAY_MS = 24 * 60 * 60 * 1000;

const KEY_FIELDS =
  'id prefix lastFour scopes createdAt expiresAt revokedAt lastUsedAt replaces __typename';
const ACCOUNT_FIELDS = `id name description active createdAt deactivatedAt apiKeys { ${KEY_FIELDS} }`;
const CREATE_ACCOUNT = `mutation($n: String!, $d: String) {
  createServiceAccount(input: { name: $n, description: $d }) { ${ACCOUNT_FIELDS} } }`;
const DEACTIVATE = `mutation($id: String!) { deactivateServiceAccount(id: $id) { ${ACCOUNT_FIELDS} } }`;
const CREATE_KEY = `mutation($a: String!, $s: [String!]!, $e: DateTime) {
  createApiKey(input: { serviceAccountId: $a, scopes: $s, expiresAt: $e }) { key apiKey { ${KEY_FIELDS} } } }`;
const ROTATE = `mutation($id: String!, $o: Int) {
  rotateApiKey(id: $id, overlapSeconds: $o) { key apiKey { ${KEY_FIELDS} } } }`;
const REVOKE = `mutation($id: String!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const LIST = `query($after: String) { serviceAccounts(first: 50, after: $after) {
  totalCount edges { cursor node { ${ACCOUNT_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const ME = '{ me { subject scopes } }';

interface Key {
  id: string;
  prefix: string;
  lastFour: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  replaces: string | null;
}

interface Account {
  id: string;
  name: string;
  description: string | null;
  active: boolean;
  createdAt: string;
  deactivatedAt: string | null;
  apiKeys: Key[];
}

interface Created {
  key: string;
  apiKey: Key;
}

interface Err {
  message: string;
  path?: unknown[];
  extensions?: Record<string, unknown>;
}

let server: TestServer;
const tokens = new Map<string, string>();
/** Every key any test was given: none may appear in the audit trail. */
const issued: string[] = [];
/** When this file started (the audit trail is read from here on). */
const started = new Date(Date.now() - 1000);

function only(errors: Err[] | undefined): Err {
  expect(errors, JSON.stringify(errors)).toHaveLength(1);
  return errors![0]!;
}

async function gql<T>(
  who: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<T>> {
  return server.gql<T>(query, variables, tokens.get(who));
}

async function ok<T>(who: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await gql<T>(who, query, variables);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data!;
}

/** The one error of a refused mutation (no data), with its code. */
async function refused(
  who: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<Err> {
  const res = await gql(who, query, variables);
  expect(res.body.data ?? null).toBeNull();
  return only(res.body.errors);
}

async function createAccount(name = `svc ${randomUUID()}`, description?: string) {
  const data = await ok<{ createServiceAccount: Account }>('alice', CREATE_ACCOUNT, {
    n: name,
    d: description,
  });
  return data.createServiceAccount;
}

async function createKey(
  accountId: string,
  scopes: string[] = ['workflows:read'],
  expiresAt?: Date,
): Promise<Created> {
  const data = await ok<{ createApiKey: Created }>('alice', CREATE_KEY, {
    a: accountId,
    s: scopes,
    e: expiresAt?.toISOString(),
  });
  issued.push(data.createApiKey.key);
  return data.createApiKey;
}

async function rotate(id: string, overlapSeconds?: number): Promise<Created> {
  const data = await ok<{ rotateApiKey: Created }>('alice', ROTATE, {
    id,
    ...(overlapSeconds === undefined ? {} : { o: overlapSeconds }),
  });
  issued.push(data.rotateApiKey.key);
  return data.rotateApiKey;
}

/** `me` with `key` in `X-API-Key`. */
async function asKey(key: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': key },
    body: JSON.stringify({ query: ME }),
  });
  return { status: res.status, body: await res.json() };
}

async function expectWorks(key: string, accountId: string): Promise<void> {
  const res = await asKey(key);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ data: { me: { subject: `service:${accountId}` } } });
}

async function expectRefused(key: string): Promise<void> {
  const res = await asKey(key);
  expect(res.status).toBe(401);
  expect(res.body).toEqual({
    errors: [
      {
        message: 'Authentication required',
        extensions: { code: 'UNAUTHENTICATED', reason: 'INVALID_CREDENTIALS' },
      },
    ],
  });
}

/** Every account the admin `who` lists (all pages). */
async function listAll(who: string): Promise<{ accounts: Account[]; text: string }> {
  const accounts: Account[] = [];
  let text = '';
  let after: string | null = null;
  for (;;) {
    const data: {
      serviceAccounts: {
        totalCount: number;
        edges: Array<{ node: Account }>;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    } = await ok(who, LIST, { after });
    text += JSON.stringify(data);
    accounts.push(...data.serviceAccounts.edges.map((e) => e.node));
    if (!data.serviceAccounts.pageInfo.hasNextPage) {
      expect(data.serviceAccounts.totalCount).toBe(accounts.length);
      return { accounts, text };
    }
    after = data.serviceAccounts.pageInfo.endCursor;
  }
}

async function listed(accountId: string): Promise<Account> {
  const account = (await listAll('alice')).accounts.find((a) => a.id === accountId);
  expect(account).toBeDefined();
  return account!;
}

/** What a listing says of a key's state (not `lastUsedAt`, which the verifier writes in batches). */
const state = (keys: readonly Key[]) =>
  keys.map(({ id, scopes, expiresAt, revokedAt, replaces }) => ({
    id,
    scopes,
    expiresAt,
    revokedAt,
    replaces,
  }));

/** A key id no key has (24 hex characters). */
const randomKeyId = () => randomBytes(12).toString('hex');

beforeAll(async () => {
  server = await startTestServer();
  for (const user of ['alice', 'bob', 'carol', 'dave', 'mallory']) {
    tokens.set(user, await server.token(user));
  }
});
afterAll(() => server.stop());

describe('an organisation admin', () => {
  it('creates an account and a key; the key authenticates as the account, with its scopes', async () => {
    const name = `deploy bot ${randomUUID()}`;
    const account = await createAccount(name, 'Deploys from CI');
    expect(account).toEqual({
      id: expect.stringMatching(UUID) as unknown,
      name,
      description: 'Deploys from CI',
      active: true,
      createdAt: expect.any(String) as unknown,
      deactivatedAt: null,
      apiKeys: [],
    });
    const expiresAt = new Date(Date.now() + 30 * DAY_MS);
    const { key, apiKey } = await createKey(account.id, ['workflows:read', 'audit:*'], expiresAt);
    expect(key).toMatch(/^ghk_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    const id = key.slice(4, 28);
    expect(apiKey).toEqual({
      id,
      prefix: `ghk_${id}`,
      lastFour: key.slice(-4),
      scopes: ['workflows:read', 'audit:*'],
      createdAt: expect.any(String) as unknown,
      expiresAt: expiresAt.toISOString(),
      revokedAt: null,
      lastUsedAt: null,
      replaces: null,
      __typename: 'ApiKey',
    });
    const me = await asKey(key);
    expect(me).toEqual({
      status: 200,
      body: {
        data: { me: { subject: `service:${account.id}`, scopes: ['workflows:read', 'audit:*'] } },
      },
    });
    // No expiry is fine too; duplicate scopes are dropped.
    const forever = await createKey(account.id, ['a', 'b:c', 'a']);
    expect(forever.apiKey).toMatchObject({ scopes: ['a', 'b:c'], expiresAt: null });
    await expectWorks(forever.key, account.id);
  });

  it('lists accounts with their keys: prefix, last four, scopes — never the key or its hash', async () => {
    const account = await createAccount();
    const first = await createKey(account.id, ['workflows:read']);
    const second = await createKey(account.id, ['workflows:write', 'teams:*']);
    const { accounts, text } = await listAll('alice');
    const found = accounts.find((a) => a.id === account.id);
    expect(found?.apiKeys).toEqual([second.apiKey, first.apiKey]); // newest first
    for (const { key } of [first, second]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(29)); // the secret
    }
    // Stored: the HMAC under the server's pepper, and nothing of the key but its id and last four.
    const pepper = await loadApiKeyPepper(server.config.apiKeyPepper);
    const [row] = await asTenantOwner(server.gatehouse.database, ACME, (tx) =>
      tx.$queryRawUnsafe<Array<{ json: string; hash: Uint8Array }>>(
        'select row_to_json(k)::text as json, hash from api_keys k where id = $1',
        first.apiKey.id,
      ),
    );
    expect(Buffer.from(row!.hash)).toEqual(Buffer.from(hashApiKey(pepper, first.key)));
    expect(row!.json).not.toContain(first.key.slice(29));
    expect(row!.json).not.toContain(first.key.slice(29, 40));
  });

  it('pages through the accounts with cursors', async () => {
    await createAccount();
    await createAccount();
    const PAGE = `query($after: String) { serviceAccounts(first: 1, after: $after) {
      totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`;
    type Page = {
      serviceAccounts: {
        totalCount: number;
        edges: Array<{ node: { id: string } }>;
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
    const one = await ok<Page>('alice', PAGE);
    const two = await ok<Page>('alice', PAGE, { after: one.serviceAccounts.pageInfo.endCursor });
    expect(one.serviceAccounts.edges).toHaveLength(1);
    expect(one.serviceAccounts.pageInfo.hasNextPage).toBe(true);
    expect(two.serviceAccounts.edges).toHaveLength(1);
    expect(two.serviceAccounts.edges[0]!.node.id).not.toBe(one.serviceAccounts.edges[0]!.node.id);
    expect(one.serviceAccounts.totalCount).toBeGreaterThanOrEqual(2);
    const bad = await gql('alice', PAGE, { after: 'not-a-cursor' });
    expect(only(bad.body.errors).extensions?.['code']).toBe('BAD_USER_INPUT');
  });
});

describe('who else', () => {
  let account: Account;
  let key: Created;
  beforeAll(async () => {
    account = await createAccount();
    key = await createKey(account.id);
  });

  it.each(['bob', 'carol', 'dave'])(
    '%s (not an org admin) is FORBIDDEN on every operation and sees nothing',
    async (who) => {
      const list = await gql(who, LIST);
      expect(list.body.data ?? null).toBeNull();
      expect(only(list.body.errors).extensions).toEqual(
        denial({ coordinate: 'Query.serviceAccounts' }),
      );
      expect(JSON.stringify(list.body)).not.toContain(account.id);
      // Decided on the organisation (manage_service_accounts), not on the id sent: no argument.
      const operations: Array<[string, Record<string, unknown>, string]> = [
        [CREATE_ACCOUNT, { n: `by ${who} ${randomUUID()}` }, 'createServiceAccount'],
        [DEACTIVATE, { id: account.id }, 'deactivateServiceAccount'],
        [CREATE_KEY, { a: account.id, s: ['workflows:read'] }, 'createApiKey'],
        [ROTATE, { id: key.apiKey.id }, 'rotateApiKey'],
        [REVOKE, { id: key.apiKey.id }, 'revokeApiKey'],
      ];
      for (const [query, variables, field] of operations) {
        const error = await refused(who, query, variables);
        expect(error.extensions).toEqual(denial({ coordinate: `Mutation.${field}` }));
        expect(JSON.stringify(error)).not.toContain(key.apiKey.lastFour);
      }
      // Nothing changed: the key still works, the account is active, it has one key.
      await expectWorks(key.key, account.id);
      const now = await listed(account.id);
      expect(now.active).toBe(true);
      expect(state(now.apiKeys)).toEqual(state([key.apiKey]));
    },
  );

  it('another organisation’s admin gets NOT_FOUND for acme’s ids, exactly as for random ones', async () => {
    const pairs: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      [DEACTIVATE, { id: account.id }, { id: randomUUID() }],
      [
        CREATE_KEY,
        { a: account.id, s: ['workflows:read'] },
        { a: randomUUID(), s: ['workflows:read'] },
      ],
      [ROTATE, { id: key.apiKey.id }, { id: randomKeyId() }],
      [REVOKE, { id: key.apiKey.id }, { id: randomKeyId() }],
    ];
    for (const [query, acme, random] of pairs) {
      const real = await refused('mallory', query, acme);
      const missing = await refused('mallory', query, random);
      expect(real.extensions).toEqual({ code: 'NOT_FOUND' });
      expect(real).toEqual(missing);
    }
    // Her list has none of acme's accounts.
    const theirs = await listAll('mallory');
    const acmeIds = (await listAll('alice')).accounts.map((a) => a.id);
    expect(theirs.accounts.filter((a) => acmeIds.includes(a.id))).toEqual([]);
    expect(theirs.text).not.toContain(account.name);
    // And nothing changed in acme.
    await expectWorks(key.key, account.id);
    const now = await listed(account.id);
    expect(now.active).toBe(true);
    expect(state(now.apiKeys)).toEqual(state([key.apiKey]));
  });

  it('a service account’s own key cannot manage service accounts', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': key.key },
      body: JSON.stringify({ query: REVOKE, variables: { id: key.apiKey.id } }),
    });
    const body = (await res.json()) as { data: unknown; errors: Err[] };
    expect(body.data).toBeNull();
    expect(only(body.errors).extensions?.['code']).toBe('FORBIDDEN');
    await expectWorks(key.key, account.id);
  });
});

describe('input', () => {
  let account: Account;
  let key: Created;
  beforeAll(async () => {
    account = await createAccount();
    key = await createKey(account.id);
  });

  it('a duplicate name is CONFLICT', async () => {
    const error = await refused('alice', CREATE_ACCOUNT, { n: account.name });
    expect(error.extensions).toEqual({ code: 'CONFLICT' });
  });

  it.each<[string, string, Record<string, unknown>, string]>([
    ['an empty name', CREATE_ACCOUNT, { n: '  ' }, 'name'],
    ['a name over 200 characters', CREATE_ACCOUNT, { n: 'x'.repeat(201) }, 'name'],
    ['a control character', CREATE_ACCOUNT, { n: 'bell\u0007' }, 'name'],
    ['a long description', CREATE_ACCOUNT, { n: 'ok', d: 'x'.repeat(2001) }, 'description'],
    ['no scopes', CREATE_KEY, { s: [] }, 'scopes'],
    ['33 scopes', CREATE_KEY, { s: Array.from({ length: 33 }, (_, i) => `s${i}`) }, 'scopes'],
    ['an upper-case scope', CREATE_KEY, { s: ['Workflows:read'] }, 'scopes'],
    ['a scope with a space', CREATE_KEY, { s: ['workflows read'] }, 'scopes'],
    ['an empty scope part', CREATE_KEY, { s: ['workflows:'] }, 'scopes'],
    ['a scope starting with a digit', CREATE_KEY, { s: ['1workflows'] }, 'scopes'],
    ['a scope over 100 characters', CREATE_KEY, { s: [`a${'b'.repeat(100)}`] }, 'scopes'],
    ['an expiry in the past', CREATE_KEY, { e: new Date(Date.now() - 1000) }, 'expiresAt'],
    [
      'an expiry beyond 365 days',
      CREATE_KEY,
      { e: new Date(Date.now() + 366 * DAY_MS) },
      'expiresAt',
    ],
    ['a malformed account id', CREATE_KEY, { a: 'nope' }, 'serviceAccountId'],
    ['a malformed account id', DEACTIVATE, { id: 'nope' }, 'id'],
    ['a malformed key id', REVOKE, { id: 'nope' }, 'id'],
    ['a malformed key id', ROTATE, { id: 'ABC' }, 'id'],
    ['a negative overlap', ROTATE, { o: -1 }, 'overlapSeconds'],
    ['an overlap beyond 30 days', ROTATE, { o: 2_592_001 }, 'overlapSeconds'],
    ['a null overlap', ROTATE, { o: null }, 'overlapSeconds'],
  ])('%s is BAD_USER_INPUT naming the field', async (_what, query, variables, field) => {
    const defaults: Record<string, unknown> =
      query === CREATE_KEY
        ? { a: account.id, s: ['workflows:read'] }
        : query === ROTATE || query === REVOKE
          ? { id: key.apiKey.id }
          : {};
    const vars = { ...defaults, ...variables };
    if (vars['e'] instanceof Date) vars['e'] = vars['e'].toISOString();
    const error = await refused('alice', query, vars);
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    // Nothing changed.
    await expectWorks(key.key, account.id);
  });

  it('a whole key where its id belongs is refused without repeating it', async () => {
    const error = await refused('alice', REVOKE, { id: key.key });
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
    expect(JSON.stringify(error)).not.toContain(key.key.slice(29));
    await expectWorks(key.key, account.id);
  });
});

describe('rotation', () => {
  it('both keys work during the overlap; the old key’s expiry comes forward, never later', async () => {
    const account = await createAccount();
    const before = Date.now();
    const old = await createKey(
      account.id,
      ['workflows:read', 'teams:*'],
      new Date(before + 30 * DAY_MS),
    );
    const next = await rotate(old.apiKey.id);
    const after = Date.now();
    expect(next.key).not.toBe(old.key);
    expect(next.apiKey).toMatchObject({
      replaces: old.apiKey.id,
      scopes: ['workflows:read', 'teams:*'],
      revokedAt: null,
    });
    // The new key has the old one's lifetime (30 days, from now).
    const lifetime = Date.parse(old.apiKey.expiresAt!) - Date.parse(old.apiKey.createdAt);
    const nextExpiry = Date.parse(next.apiKey.expiresAt!);
    expect(nextExpiry).toBeGreaterThanOrEqual(before + lifetime - 1000);
    expect(nextExpiry).toBeLessThanOrEqual(after + lifetime + 1000);
    await expectWorks(old.key, account.id);
    await expectWorks(next.key, account.id);
    // The old key now expires 7 days (the default overlap) after the rotation.
    const listedOld = (await listed(account.id)).apiKeys.find((k) => k.id === old.apiKey.id)!;
    const oldExpiry = Date.parse(listedOld.expiresAt!);
    expect(oldExpiry).toBeGreaterThanOrEqual(before + 7 * DAY_MS - 1000);
    expect(oldExpiry).toBeLessThanOrEqual(after + 7 * DAY_MS + 1000);

    // A key expiring sooner than the overlap keeps its expiry.
    const soon = await createKey(account.id, ['a'], new Date(Date.now() + DAY_MS));
    await rotate(soon.apiKey.id, 2_592_000);
    const listedSoon = (await listed(account.id)).apiKeys.find((k) => k.id === soon.apiKey.id)!;
    expect(listedSoon.expiresAt).toBe(soon.apiKey.expiresAt);
    await expectWorks(soon.key, account.id);
  });

  it('with overlap 0 the old key is refused at once; a key without expiry gives one without', async () => {
    const account = await createAccount();
    const old = await createKey(account.id, ['workflows:read']);
    const next = await rotate(old.apiKey.id, 0);
    expect(next.apiKey).toMatchObject({ replaces: old.apiKey.id, expiresAt: null });
    await expectRefused(old.key);
    await expectWorks(next.key, account.id);
    // The old key is expired now: it is not rotated again.
    expect((await refused('alice', ROTATE, { id: old.apiKey.id })).extensions).toEqual({
      code: 'CONFLICT',
    });
  });

  it('a revoked key is not rotated (CONFLICT)', async () => {
    const account = await createAccount();
    const old = await createKey(account.id);
    await ok('alice', REVOKE, { id: old.apiKey.id });
    expect((await refused('alice', ROTATE, { id: old.apiKey.id })).extensions).toEqual({
      code: 'CONFLICT',
    });
    expect((await listed(account.id)).apiKeys).toHaveLength(1);
  });
});

describe('revocation and deactivation', () => {
  it('a revoked key is refused from the next request; revoking again changes nothing', async () => {
    const account = await createAccount();
    const { key, apiKey } = await createKey(account.id);
    const other = await createKey(account.id);
    await expectWorks(key, account.id);
    const first = await ok<{ revokeApiKey: Key }>('alice', REVOKE, { id: apiKey.id });
    expect(first.revokeApiKey).toMatchObject({
      id: apiKey.id,
      revokedAt: expect.any(String) as unknown,
    });
    await expectRefused(key);
    await expectWorks(other.key, account.id);
    const again = await ok<{ revokeApiKey: Key }>('alice', REVOKE, { id: apiKey.id });
    expect(state([again.revokeApiKey])).toEqual(state([first.revokeApiKey]));
    await expectRefused(key);
  });

  it('a deactivated account’s keys are all refused; it gets no new keys', async () => {
    const account = await createAccount();
    const keys = [await createKey(account.id), await createKey(account.id, ['a'])];
    for (const k of keys) await expectWorks(k.key, account.id);
    const data = await ok<{ deactivateServiceAccount: Account }>('alice', DEACTIVATE, {
      id: account.id,
    });
    expect(data.deactivateServiceAccount).toMatchObject({
      id: account.id,
      active: false,
      deactivatedAt: expect.any(String) as unknown,
    });
    expect(data.deactivateServiceAccount.apiKeys.map((k) => k.id).sort()).toEqual(
      keys.map((k) => k.apiKey.id).sort(),
    );
    for (const k of keys) await expectRefused(k.key);
    // Idempotent.
    const again = await ok<{ deactivateServiceAccount: Account }>('alice', DEACTIVATE, {
      id: account.id,
    });
    const { apiKeys: keysAfter, ...accountAfter } = again.deactivateServiceAccount;
    const { apiKeys: keysBefore, ...accountBefore } = data.deactivateServiceAccount;
    expect(accountAfter).toEqual(accountBefore);
    expect(state(keysAfter)).toEqual(state(keysBefore));
    for (const [query, variables] of [
      [CREATE_KEY, { a: account.id, s: ['a'] }],
      [ROTATE, { id: keys[0]!.apiKey.id }],
    ] as const) {
      expect((await refused('alice', query, variables)).extensions).toEqual({ code: 'CONFLICT' });
    }
  });
});

// Last: reads what the tests above left in acme's audit trail.
describe('the audit trail', () => {
  const EVENT = `action outcome actor { subject kind userId } resource { type id } reasons changes`;
  type Event = {
    action: string;
    outcome: string;
    actor: { subject: string; kind: string; userId: string | null };
    resource: { type: string; id: string | null } | null;
    reasons: string[];
    changes: Record<string, { before: unknown; after: unknown }> | null;
  };

  async function events(filter: Record<string, unknown>): Promise<Event[]> {
    const out: Event[] = [];
    let after: string | null = null;
    for (;;) {
      const data: {
        auditEvents: {
          edges: Array<{ node: Event }>;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      } = await ok(
        'dave',
        `query($f: AuditEventFilter, $after: String) { auditEvents(first: 100, after: $after, filter: $f) {
          edges { node { ${EVENT} } } pageInfo { hasNextPage endCursor } } }`,
        { f: { since: started.toISOString(), ...filter }, after },
      );
      out.push(...data.auditEvents.edges.map((e) => e.node));
      if (!data.auditEvents.pageInfo.hasNextPage) return out.reverse();
      after = data.auditEvents.pageInfo.endCursor;
    }
  }

  it('holds one event per mutation, with the right action and no key material', async () => {
    const alice = findDemoUser('alice')!;
    const account = await createAccount(`audited ${randomUUID()}`);
    const created = await createKey(account.id, ['workflows:read']);
    const rotated = await rotate(created.apiKey.id, 60);
    await ok('alice', REVOKE, { id: rotated.apiKey.id });
    await ok('alice', DEACTIVATE, { id: account.id });

    const succeeded = async (resourceType: string, id: string) =>
      events({ resourceType, resourceId: id, outcome: 'SUCCEEDED' });
    const onAccount = await succeeded('service_account', account.id);
    const onKey = await succeeded('api_key', created.apiKey.id);
    const onRotated = await succeeded('api_key', rotated.apiKey.id);
    const actor = { subject: alice.subject, kind: 'USER', userId: alice.id };
    expect(onAccount).toEqual([
      {
        action: 'service_account.create',
        outcome: 'SUCCEEDED',
        actor,
        resource: { type: 'service_account', id: account.id },
        reasons: [],
        changes: {
          name: { before: null, after: account.name },
          active: { before: null, after: true },
        },
      },
      {
        action: 'service_account.deactivate',
        outcome: 'SUCCEEDED',
        actor,
        resource: { type: 'service_account', id: account.id },
        reasons: [],
        changes: {
          active: { before: true, after: false },
          deactivatedAt: { before: null, after: expect.any(String) as unknown },
        },
      },
    ]);
    expect(onKey).toEqual([
      {
        action: 'api_key.create',
        outcome: 'SUCCEEDED',
        actor,
        resource: { type: 'api_key', id: created.apiKey.id },
        reasons: [],
        changes: {
          serviceAccountId: { before: null, after: account.id },
          scopes: { before: null, after: ['workflows:read'] },
          key: { before: null, after: '[redacted]' },
        },
      },
      {
        action: 'api_key.rotate',
        outcome: 'SUCCEEDED',
        actor,
        resource: { type: 'api_key', id: created.apiKey.id },
        reasons: [],
        changes: {
          expiresAt: { before: null, after: expect.any(String) as unknown },
          replacedBy: { before: null, after: rotated.apiKey.id },
          key: { before: '[redacted]', after: '[redacted]' },
        },
      },
    ]);
    expect(onRotated).toEqual([
      {
        action: 'api_key.revoke',
        outcome: 'SUCCEEDED',
        actor,
        resource: { type: 'api_key', id: rotated.apiKey.id },
        reasons: [],
        changes: { revokedAt: { before: null, after: expect.any(String) as unknown } },
      },
    ]);
  });

  it('records refused and failed attempts too, and never a key, its secret or its hash', async () => {
    const all = await events({});
    const ours = all.filter(
      (e) => e.action.startsWith('service_account.') || e.action.startsWith('api_key.'),
    );
    // bob, carol and dave were refused; bad input and conflicts failed. (mallory's
    // NOT_FOUNDs are in her own organisation's trail.)
    for (const who of ['demo|bob', 'demo|carol', 'demo|dave']) {
      expect(ours.some((e) => e.outcome === 'DENIED' && e.actor.subject === who)).toBe(true);
    }
    for (const code of ['BAD_USER_INPUT', 'CONFLICT']) {
      expect(ours.some((e) => e.outcome === 'FAILED' && e.reasons[0]?.startsWith(code))).toBe(true);
    }
    expect(issued.length).toBeGreaterThan(10);
    const pepper = await loadApiKeyPepper(server.config.apiKeyPepper);
    // (Lower-cased too: an event keeps an object id as the client sent it, lower-cased.)
    const text = JSON.stringify(all);
    const lower = text.toLowerCase();
    for (const key of issued) {
      expect(text).not.toContain(key);
      expect(lower).not.toContain(key.slice(29).toLowerCase());
      const hash = Buffer.from(hashApiKey(pepper, key));
      expect(text).not.toContain(hash.toString('hex'));
      expect(text).not.toContain(hash.toString('base64'));
    }
    // Not even the whole key pasted as an id (an event's object is never a key).
    expect(text).not.toMatch(/ghk_[0-9a-f]{24}_/);
  });
});
