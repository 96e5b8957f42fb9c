/**
 * The generated rules on small schemas, with a scripted SpiceDB: CONDITIONAL_PERMISSION and
 * per-item errors fail closed, `onDeny: REJECT_OPERATION` rejects the whole operation, the
 * subscribe step of subscriptions is guarded (graphql-shield does not wrap it), and an
 * object reached through an interface gets the same decision as through its own type.
 */
import { ApolloServer } from '@apollo/server';
import { v1 } from '@authzed/authzed-node';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { execute, parse, subscribe, type ExecutionResult, type GraphQLError } from 'graphql';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/authn/Principal.js';
import { applyAuthorization } from '../../src/authz/authorizationMiddleware.js';
import { RequestAuthorizer } from '../../src/authz/RequestAuthorizer.js';
import { PolicyData } from '../../src/authz/opa/PolicyData.js';
import { PolicyEngine } from '../../src/authz/opa/PolicyEngine.js';
import type { SpiceDbConnection } from '../../src/authz/spicedb/SpiceDbConnection.js';
import type { AuthorizationContext } from '../../src/authz/AuthorizationContext.js';
import type { AuthorizationData } from '../../src/authz/AuthorizationData.js';
import { createLogger } from '../../src/observability/logger.js';
import { applyRejections } from '../../src/operation/Operation.js';
import {
  AllowAllAuthorizer,
  NaiveAuthorizer,
  NoPolicyAuthorizer,
} from '../../bench/authorizationBaselines.js';

const Perm = v1.CheckPermissionResponse_Permissionship;
type Answer = 'yes' | 'no' | 'conditional' | 'error';

const permissionshipOf = (answer: Answer) =>
  answer === 'yes'
    ? Perm.HAS_PERMISSION
    : answer === 'conditional'
      ? Perm.CONDITIONAL_PERMISSION
      : Perm.NO_PERMISSION;

/**
 * A SpiceDB whose CheckBulkPermissions (and CheckPermission, for the naive baseline)
 * answers by permission name; `calls` records the items of each RPC.
 */
function scriptedSpiceDb(
  answers: Record<string, Answer>,
  calls: string[][] = [],
): SpiceDbConnection {
  const permissions = {
    checkPermission: (req: v1.CheckPermissionRequest) => {
      calls.push([req.permission]);
      return Promise.resolve(
        v1.CheckPermissionResponse.create({
          permissionship: permissionshipOf(answers[req.permission] ?? 'no'),
        }),
      );
    },
    checkBulkPermissions: (req: v1.CheckBulkPermissionsRequest) => {
      calls.push(req.items.map((item) => item.permission));
      return Promise.resolve(
        v1.CheckBulkPermissionsResponse.create({
          pairs: req.items.map((item) => {
            const answer = answers[item.permission] ?? 'no';
            if (answer === 'error') {
              return {
                response: { oneofKind: 'error', error: { code: 13, message: 'boom', details: [] } },
              };
            }
            const permissionship = permissionshipOf(answer);
            return { response: { oneofKind: 'item', item: { permissionship } } };
          }),
        }),
      );
    },
  } as unknown as SpiceDbConnection['permissions'];
  return { kind: 'embedded', permissions, schema: permissions, close: () => undefined };
}

const principal: Principal = {
  kind: 'user',
  subject: 's',
  tenantId: '00000000-0000-4000-8000-000000000001',
  roles: [],
  scopes: [],
  amr: [],
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
  tokenId: undefined,
};
/** The tenant data the rules read, as a typed fake: an account `u` with no roles. */
function fakeData(overrides: Partial<AuthorizationData> = {}): AuthorizationData {
  return {
    tenantId: principal.tenantId,
    commits: 0,
    currentUser: () => Promise.resolve({ id: 'u', roles: [] }),
    currentCaller: () => Promise.resolve({ kind: 'user', id: 'u', roles: [] }),
    deactivated: () => Promise.resolve(false),
    recordedWrites: () => Promise.resolve({ token: undefined, writtenAt: new Map() }),
    nodeType: () => Promise.resolve(null),
    policyResource: () => Promise.resolve(null),
    policySettings: () => Promise.resolve(null),
    ...overrides,
  };
}
const data = fakeData();

function contextWith(
  answers: Record<string, Answer>,
  { Authorizer = RequestAuthorizer, calls = [] as string[][] } = {},
): AuthorizationContext {
  const logger = createLogger('silent');
  return {
    requestId: 'r',
    clientIp: '127.0.0.1',
    principal,
    logger,
    authz: new Authorizer(principal, data, {
      spicedb: scriptedSpiceDb(answers, calls),
      deadlineMs: 1_000,
      explain: false,
      logger,
    }),
  };
}

const directives = readFileSync('schema/directives.graphql', 'utf8');
const thing = { id: '00000000-0000-4000-8000-0000000000aa', name: 'thing', secret: 's3cret' };
const schema = applyAuthorization(
  makeExecutableSchema({
    typeDefs: [
      directives,
      /* GraphQL */ `
        interface Named {
          name: String
        }
        type Thing implements Named @resource(type: "thing") @permission(name: "view") {
          id: ID!
          name: String
          secret: String @permission(name: "admin")
          guarded: String @permission(name: "audit", onDeny: REJECT_OPERATION)
        }
        type Query {
          thing: Thing @authenticated
          named: Named @authenticated
        }
        type Subscription {
          things: Thing @permission(name: "watch", on: "$organization")
        }
      `,
    ],
    resolvers: {
      Query: { thing: () => thing, named: () => thing },
      Named: { __resolveType: () => 'Thing' },
      Subscription: {
        things: {
          subscribe: async function* () {
            yield await Promise.resolve({ things: thing });
          },
        },
      },
    },
  }),
).schema;

async function run(
  query: string,
  answers: Record<string, Answer>,
  options?: Parameters<typeof contextWith>[1],
) {
  const server = new ApolloServer<AuthorizationContext>({ schema });
  const response = await server.executeOperation(
    { query },
    { contextValue: contextWith(answers, options) },
  );
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return response.body.singleResult;
}

const codes = (r: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) =>
  (r.errors ?? []).map((e) => e.extensions?.['code']);

describe('generated rules, failing closed', () => {
  it('allows with HAS_PERMISSION', async () => {
    const r = await run('{ thing { name secret } }', { view: 'yes', admin: 'yes' });
    expect(r.data).toEqual({ thing: { name: 'thing', secret: 's3cret' } });
  });

  it('denies CONDITIONAL_PERMISSION (caveats without context)', async () => {
    const r = await run('{ thing { name secret } }', { view: 'yes', admin: 'conditional' });
    expect(r.data).toEqual({ thing: { name: 'thing', secret: null } });
    expect(codes(r)).toEqual(['FORBIDDEN']);
  });

  it('answers a per-item SpiceDB error with AUTHZ_UNAVAILABLE', async () => {
    const r = await run('{ thing { name secret } }', { view: 'yes', admin: 'error' });
    expect(r.data).toEqual({ thing: { name: 'thing', secret: null } });
    expect(codes(r)).toEqual(['AUTHZ_UNAVAILABLE']);
  });

  it('composes type and field directives: a denied type hides every field', async () => {
    const r = await run('{ thing { name secret } }', { view: 'no', admin: 'yes' });
    expect(r.data).toEqual({ thing: { name: null, secret: null } });
    expect(codes(r)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
  });

  it('gives an object reached through an interface the same decision', async () => {
    const direct = await run('{ thing { name } }', { view: 'no' });
    const viaInterface = await run('{ named { name } }', { view: 'no' });
    expect(direct.data).toEqual({ thing: { name: null } });
    expect(viaInterface.data).toEqual({ named: { name: null } });
    expect(codes(viaInterface)).toEqual(codes(direct));
  });

  it('rejects the whole operation when a REJECT_OPERATION field is denied', async () => {
    const contextValue = contextWith({ view: 'yes', audit: 'no' });
    const executed = await execute({
      schema,
      document: parse('{ thing { name guarded } }'),
      contextValue,
    });
    // The rule records the rejection; the operation's end answers with it alone.
    expect(contextValue.authz.rejections.map((e) => e.extensions['code'])).toEqual(['FORBIDDEN']);
    const r = applyRejections(executed, contextValue.authz.rejections, (e: GraphQLError) => e);
    expect(r.data).toBeUndefined();
    expect(codes(r)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(r)).not.toContain('thing');
  });

  it('refuses a deactivated account as a whole, before any relationship is asked', async () => {
    const calls: string[][] = [];
    const logger = createLogger('silent');
    const deactivated = fakeData({ deactivated: () => Promise.resolve(true) });
    const contextValue: AuthorizationContext = {
      ...contextWith({}),
      authz: new RequestAuthorizer(principal, deactivated, {
        spicedb: scriptedSpiceDb({ view: 'yes', admin: 'yes' }, calls),
        deadlineMs: 1_000,
        explain: false,
        logger,
      }),
    };
    const executed = await execute({
      schema,
      document: parse('{ thing { name secret } named { name } }'),
      contextValue,
    });
    const r = applyRejections(executed, contextValue.authz.rejections, (e: GraphQLError) => e);
    expect(r.data).toBeUndefined();
    expect(
      new Set(r.errors?.map((e) => [e.extensions['code'], e.extensions['reason']].join())),
    ).toEqual(new Set(['UNAUTHENTICATED,ACCOUNT_DEACTIVATED']));
    expect(calls).toEqual([]);
    expect(JSON.stringify(r)).not.toContain('s3cret');
  });

  it('fails closed when the account cannot be read', async () => {
    const logger = createLogger('silent');
    const broken = fakeData({ deactivated: () => Promise.reject(new Error('connection lost')) });
    const contextValue: AuthorizationContext = {
      ...contextWith({}),
      authz: new RequestAuthorizer(principal, broken, {
        spicedb: scriptedSpiceDb({ view: 'yes' }, []),
        deadlineMs: 1_000,
        explain: false,
        logger,
      }),
    };
    const executed = await execute({ schema, document: parse('{ thing { name } }'), contextValue });
    const r = applyRejections(executed, contextValue.authz.rejections, (e: GraphQLError) => e);
    expect(codes(r)).toEqual(['AUTHZ_UNAVAILABLE']);
    expect(r.data).toEqual({ thing: null });
  });

  it('guards the subscribe step of a subscription', async () => {
    const attempt = (answers: Record<string, Answer>) =>
      subscribe({
        schema,
        document: parse('subscription { things { name } }'),
        contextValue: contextWith(answers),
      });
    const denied = (await attempt({ watch: 'no', view: 'yes' })) as ExecutionResult;
    expect(codes(denied as never)).toEqual(['FORBIDDEN']);
    const allowed = (await attempt({
      watch: 'yes',
      view: 'yes',
    })) as AsyncIterableIterator<ExecutionResult>;
    const first = await allowed.next();
    expect(first.value).toEqual({ data: { things: { name: 'thing' } } });
  });
});

describe('gate 3 directives', () => {
  const build = (sdl: string) => () =>
    applyAuthorization(
      makeExecutableSchema({
        typeDefs: [directives, sdl],
        resolverValidationOptions: { requireResolversToMatchSchema: 'ignore' },
      }),
    );

  it('refuses policies that cannot name their object, listing each coordinate', () => {
    expect(
      build(/* GraphQL */ `
        type Thing @resource(type: "thing") @permission(name: "view") {
          id: ID!
          note: String @policy(name: "classification", action: "read")
          bad: String @policy(name: "classification", action: "read", on: "nope", type: "thing")
          unknown: String @policy(name: "no/such/policy", action: "read")
        }
        type Query {
          thing: Thing @authenticated @policy(name: "classification", action: "read")
          other(id: ID!): Thing @permission(name: "view", on: "id") @classified(level: RESTRICTED)
        }
      `),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'Query.other: @classified belongs on fields of objects, not root fields',
          'Query.thing: @policy on a root field needs on: (it has no parent object)',
          'Thing.bad: @policy(on:) needs an argument of the field and type:',
          'Thing.unknown: @policy(name: "no/such/policy") names no compiled decision',
        ],
      }),
    );
  });

  it('fails closed with AUTHZ_UNAVAILABLE (gate policy) when policy data cannot be loaded', async () => {
    const failing = fakeData({ policySettings: () => Promise.reject(new Error('database down')) });
    const logger = createLogger('silent');
    const authz = new RequestAuthorizer(principal, failing, {
      spicedb: scriptedSpiceDb({}),
      deadlineMs: 1_000,
      explain: false,
      logger,
      policies: await PolicyEngine.loadFile(),
      policyData: new PolicyData(await PolicyEngine.loadFile(), { ttlMs: 0 }),
    });
    const decision = await authz.policy(
      { decision: 'gatehouse/classification/decision', action: 'read', classification: 'internal' },
      { parent: thing },
      { args: {}, field: 'Thing.name', ip: '127.0.0.1', requestId: 'r' },
    );
    expect(decision).toMatchObject({ kind: 'deny', gate: 'policy', code: 'AUTHZ_UNAVAILABLE' });
  });
});

describe('@classified: one decision per field and operation, about the data class', () => {
  const classified = applyAuthorization(
    makeExecutableSchema({
      typeDefs: [
        directives,
        /* GraphQL */ `
          type Thing @resource(type: "thing") @authenticated {
            id: ID!
            label: String @classified(level: CONFIDENTIAL)
            secret: String @classified(level: RESTRICTED)
          }
          type Query {
            things: [Thing!]! @authenticated
          }
        `,
      ],
      resolvers: {
        Query: {
          things: () => ['a', 'b', 'c'].map((id) => ({ id, label: `l-${id}`, secret: `s-${id}` })),
        },
      },
    }),
  ).schema;

  async function setup(amr: string[]) {
    const engine = await PolicyEngine.loadFile();
    const inputs: unknown[] = [];
    const evaluate = engine.evaluate.bind(engine);
    engine.evaluate = (name, input) => {
      inputs.push(input);
      return evaluate(name, input);
    };
    let commits = 0;
    const base = fakeData();
    const account: AuthorizationData = {
      tenantId: base.tenantId,
      currentUser: () => base.currentUser(),
      currentCaller: () => base.currentCaller(),
      deactivated: () => base.deactivated(),
      recordedWrites: (objects) => base.recordedWrites(objects),
      nodeType: (id) => base.nodeType(id),
      policyResource: (type, id) => base.policyResource(type, id),
      policySettings: () => base.policySettings(),
      get commits() {
        return commits;
      },
    };
    const logger = createLogger('silent');
    const caller = { ...principal, amr };
    const authz = new RequestAuthorizer(caller, account, {
      spicedb: scriptedSpiceDb({}),
      deadlineMs: 1_000,
      explain: false,
      logger,
      policies: engine,
      policyData: new PolicyData(engine, { ttlMs: 0 }),
    });
    const context: AuthorizationContext = {
      requestId: 'r',
      clientIp: '127.0.0.1',
      principal: caller,
      logger,
      authz,
    };
    return { inputs, authz, context, commit: () => void (commits += 1) };
  }

  it('decides a classified field once for a whole list, without the row in the input', async () => {
    const { inputs, context } = await setup(['pwd']);
    const server = new ApolloServer<AuthorizationContext>({ schema: classified });
    const response = await server.executeOperation(
      { query: '{ things { id label secret } }' },
      { contextValue: context },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    const r = response.body.singleResult;
    expect(r.data).toEqual({
      things: ['a', 'b', 'c'].map((id) => ({ id, label: `l-${id}`, secret: null })),
    });
    expect(codes(r)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(r.errors?.map((e) => e.extensions?.['gate'])).toEqual(['policy', 'policy', 'policy']);
    // One evaluation per classified field, not per row; the input names no object.
    expect(inputs).toHaveLength(2);
    for (const input of inputs) {
      expect(input).toMatchObject({ action: 'read', principal: { userId: 'u', amr: ['pwd'] } });
      expect(Object.keys((input as { resource: object }).resource).sort()).toEqual([
        'classification',
        'type',
      ]);
      expect(JSON.stringify(input)).not.toMatch(/l-a|s-a/);
    }
    expect(inputs.map((i) => (i as { resource: unknown }).resource)).toEqual([
      { type: 'thing', classification: 'confidential' },
      { type: 'thing', classification: 'restricted' },
    ]);
  });

  it("is made with a list's bulk check, so every row's field finds it known without a promise", async () => {
    const policy = {
      decision: 'gatehouse/classification/decision' as const,
      action: 'read',
      target: { kind: 'class' as const, resourceType: 'thing' },
      classification: 'restricted',
    };
    const context = { args: {}, field: 'Thing.secret', ip: '127.0.0.1', requestId: 'r' };
    // Without the look-ahead, the first row's field starts the decision (a promise).
    const plain = await setup(['otp']);
    await plain.authz.filter(['a', 'b'], 'thing', (id) => id, 'view');
    const first = plain.authz.policy(policy, { classOf: 'thing' }, context);
    expect(first).toBeInstanceOf(Promise);
    // With it, the decision is made with the check, and the rows find it known.
    const ahead = await setup(['otp']);
    await ahead.authz.filter(['a', 'b'], 'thing', (id) => id, 'view', {
      permissions: [],
      classified: [{ field: 'Thing.secret', policy }],
      context: { ip: '127.0.0.1', requestId: 'r' },
    });
    const known = ahead.authz.policy(policy, { classOf: 'thing' }, context);
    expect(known).not.toBeInstanceOf(Promise);
    // The same decision, from the same single evaluation with the same input.
    expect(known).toEqual(await first);
    expect(ahead.inputs).toHaveLength(1);
    expect(plain.inputs).toHaveLength(1);
    const { time: _t1, ...aheadInput } = (ahead.inputs[0] as { context: object }).context as {
      time: string;
    };
    const { time: _t2, ...plainInput } = (plain.inputs[0] as { context: object }).context as {
      time: string;
    };
    expect(aheadInput).toEqual(plainInput);
    expect({ ...(ahead.inputs[0] as object), context: null }).toEqual({
      ...(plain.inputs[0] as object),
      context: null,
    });
  });

  it('is not made for an empty list', async () => {
    const { inputs, authz } = await setup(['otp']);
    await authz.filter([], 'thing', (id: string) => id, 'view', {
      permissions: [],
      classified: [
        {
          field: 'Thing.secret',
          policy: {
            decision: 'gatehouse/classification/decision',
            action: 'read',
            target: { kind: 'class', resourceType: 'thing' },
            classification: 'restricted',
          },
        },
      ],
      context: { ip: '127.0.0.1', requestId: 'r' },
    });
    expect(inputs).toHaveLength(0);
  });

  it('decides again after a mutation commits in the same operation', async () => {
    const { inputs, authz, commit } = await setup(['otp']);
    const requirement = {
      decision: 'gatehouse/classification/decision' as const,
      action: 'read',
      classification: 'restricted',
    };
    const context = { args: {}, field: 'Thing.secret', ip: '127.0.0.1', requestId: 'r' };
    expect(await authz.policy(requirement, { classOf: 'thing' }, context)).toEqual({
      kind: 'allow',
    });
    // Known now: answered without a promise or another evaluation.
    expect(authz.policy(requirement, { classOf: 'thing' }, context)).toEqual({ kind: 'allow' });
    expect(inputs).toHaveLength(1);
    commit();
    await authz.policy(requirement, { classOf: 'thing' }, context);
    expect(inputs).toHaveLength(2);
  });
});

describe('benchmark baselines, injected as RequestAuthorizer subclasses', () => {
  const query = '{ thing { name secret } }';

  it('naive: one CheckPermission per check (no batching, no memo), the same answer', async () => {
    const answers: Record<string, Answer> = { view: 'yes', admin: 'no' };
    const batched: string[][] = [];
    const naive: string[][] = [];
    const shipped = await run(query, answers, { calls: batched });
    const baseline = await run(query, answers, { Authorizer: NaiveAuthorizer, calls: naive });
    expect(baseline.data).toEqual({ thing: { name: 'thing', secret: null } });
    expect(shipped.data).toEqual(baseline.data);
    expect(codes(baseline)).toEqual(['FORBIDDEN']);
    expect(codes(shipped)).toEqual(['FORBIDDEN']);
    // `name` needs view; `secret` view and admin: one bulk request, or three of one item.
    expect(batched).toEqual([['view', 'admin']]);
    expect(naive.sort()).toEqual([['admin'], ['view'], ['view']]);
  });

  it('naive: a list is filtered object by object', async () => {
    const calls: string[][] = [];
    const { authz } = contextWith({ view: 'yes' }, { Authorizer: NaiveAuthorizer, calls });
    const kept = await authz.filter(['a', 'b', 'c'], 'thing', (id) => id, 'view', {
      permissions: ['admin'],
      classified: [],
      context: { ip: '127.0.0.1', requestId: 'r' },
    });
    expect(kept).toEqual(['a', 'b', 'c']);
    expect(calls).toEqual([['view'], ['view'], ['view']]);
  });

  it('no-policy allows gate 3 only; allow-all allows everything without asking SpiceDB', async () => {
    const target = { parent: thing };
    const requirement = {
      decision: 'gatehouse/classification/decision' as const,
      action: 'read',
      classification: 'restricted',
    };
    const context = { args: {}, field: 'Thing.secret', ip: '127.0.0.1', requestId: 'r' };
    const noPolicy = contextWith({ view: 'no' }, { Authorizer: NoPolicyAuthorizer }).authz;
    expect(noPolicy.policy(requirement, target, context)).toEqual({ kind: 'allow' });
    expect(await noPolicy.relationship('thing', 'a', 'view')).toMatchObject({ kind: 'deny' });
    // The shipped authorizer, without a policy engine, denies.
    expect(await contextWith({}).authz.policy(requirement, target, context)).toMatchObject({
      kind: 'deny',
      gate: 'policy',
    });

    const calls: string[][] = [];
    const allowAll = contextWith({ view: 'no' }, { Authorizer: AllowAllAuthorizer, calls }).authz;
    expect(allowAll.relationship('thing', 'a', 'view')).toEqual({ kind: 'allow' });
    expect(allowAll.policy(requirement, target, context)).toEqual({ kind: 'allow' });
    expect(await allowAll.filter(['a', 'b'], 'thing', (id) => id, 'view')).toEqual(['a', 'b']);
    expect(calls).toHaveLength(0);
  });
});
