/**
 * The peer of the list benchmark (bench/authzList.ts): PostGraphile v5 (amber preset) in a
 * process of its own, on the same database as Gatehouse and as the same non-superuser app
 * role (DATABASE_URL's `gatehouse_app`, checked as Gatehouse checks it at start:
 * src/data/rlsCheck.ts), so FORCE row-level security applies to it exactly as to Gatehouse.
 *
 * Per request it verifies the same ES256 development JWT Gatehouse verifies (issuer,
 * audience, `exp`, `sub`, the tenant claim as a UUID) against the development signing key's
 * public JWK (src/authn/devSigningKey.ts), and hands PostGraphile the transaction-local
 * setting src/data/TenantDatabase.ts sets: `app.tenant_id` (the tenant claim). PostGraphile
 * applies it with `set_config(…, true)` in the request's transaction. No token: no
 * settings, so the RLS policies match no row; a token that does not verify: 401 before any
 * GraphQL work (a grafserv middleware).
 *
 * Environment: DATABASE_URL, PEER_PUBLIC_JWK (JSON), PEER_POOL_MAX (default 10, Gatehouse's
 * DB_POOL_MAX default). Listens on 127.0.0.1, a free port, and prints one JSON line
 * `{"url": …}` when ready; SIGTERM stops it.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { DEV_AUDIENCE, DEV_ISSUER } from '../src/config.js';
import { assertAppRoleIsConfined } from '../src/data/rlsCheck.js';
import { connectPostgres } from '../src/data/SqlClient.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The development issuer's tenant claim (AUTH_TENANT_CLAIM's default). */
const TENANT_CLAIM = 'tenant_id';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`postgraphilePeer: ${name} is required`);
  return value;
}

const databaseUrl = required('DATABASE_URL');
const publicJwk = JSON.parse(required('PEER_PUBLIC_JWK')) as JWK;
const keySet = createLocalJWKSet({ keys: [publicJwk] });

// The role Gatehouse refuses to start with, PostGraphile does not get either.
const check = await connectPostgres(databaseUrl);
try {
  await assertAppRoleIsConfined(check);
} finally {
  await check.close();
}

/** The settings of one request, from its bearer token (none without one); undefined: refused. */
async function pgSettingsOf(
  authorization: string | undefined,
): Promise<Record<string, string> | undefined> {
  if (authorization === undefined) return {};
  const [scheme, token] = authorization.split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token) return undefined;
  try {
    const { payload } = await jwtVerify(token, keySet, {
      algorithms: ['ES256'],
      issuer: DEV_ISSUER,
      audience: DEV_AUDIENCE,
      requiredClaims: ['exp', 'sub', TENANT_CLAIM],
    });
    const tenant = payload[TENANT_CLAIM];
    if (typeof tenant !== 'string' || !UUID.test(tenant)) return undefined;
    // As src/data/TenantDatabase.ts sets it (PostGraphile: set_config(…, true)).
    return { 'app.tenant_id': tenant };
  } catch {
    return undefined;
  }
}

/** Each request's verified settings, from the HTTP middleware to the GraphQL context. */
const settingsOf = new WeakMap<IncomingMessage, Record<string, string>>();

/**
 * Verifies the token before GraphQL, as Gatehouse does: a refused one is answered 401
 * here (grafserv middleware), with no GraphQL work.
 */
const DevJwtPlugin: GraphileConfig.Plugin = {
  name: 'BenchDevJwtPlugin',
  version: '0.0.0',
  grafserv: {
    middleware: {
      async processRequest(next, event) {
        const req = event.requestDigest.requestContext.node?.req;
        const settings = req && (await pgSettingsOf(req.headers.authorization));
        if (!req || settings === undefined) {
          return {
            type: 'buffer',
            statusCode: 401,
            headers: { 'content-type': 'application/json' },
            buffer: Buffer.from(JSON.stringify({ errors: [{ message: 'unauthenticated' }] })),
          };
        }
        settingsOf.set(req, settings);
        return next();
      },
    },
  },
};

const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  plugins: [DevJwtPlugin],
  pgServices: [
    makePgService({
      connectionString: databaseUrl,
      schemas: ['public'],
      // No subscriptions here: no LISTEN connection.
      pubsub: false,
      poolConfig: {
        max: Number(process.env['PEER_POOL_MAX'] ?? '10'),
        application_name: 'postgraphile-peer',
      },
    }),
  ],
  grafast: {
    context(requestContext) {
      const req = requestContext.node?.req;
      return { pgSettings: (req && settingsOf.get(req)) ?? {} };
    },
  },
  grafserv: { graphqlPath: '/graphql', graphiql: false },
});

const serv = pgl.createServ(grafserv);
const server = createServer();
await serv.addTo(server, false);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
if (address === null || typeof address === 'string') throw new Error('no TCP address');
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => {
    void Promise.resolve(pgl.release()).then(() => process.exit(0));
  });
});
