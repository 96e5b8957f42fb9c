/**
 * `npm run -s token -- <user> [--mfa] [--ttl=<seconds>] [--scope="<scopes>"]`
 * `npm run -s token -- --subject=<sub> --tenant=<tenant id> [--email=<email>
 *   [--email-verified]] [--name=<name>] [--groups=<g1,g2>] [--mfa] [--ttl] [--scope]`
 * Prints a development-issuer JWT (and nothing else on stdout, so it can be captured): for
 * a demo user, or for any subject of any tenant — an organisation made with
 * `npm run tenant:create`, an invited user, groups for the group mapping (in the
 * AUTH_GROUPS_CLAIM claim, `groups` when unset). Refused when an identity provider is
 * configured.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { ensureDevSigningKey, mintDevToken } from '../authn/devSigningKey.js';
import { DEMO_TENANTS, DEMO_USERS, findDemoUser } from '../demo/demoData.js';
import { runCli } from './runCli.js';

const USAGE = `usage: npm run -s token -- <user> [--mfa] [--ttl=<seconds>] [--scope="<scopes>"]
       npm run -s token -- --subject=<sub> --tenant=<tenant id> [--email=<email> [--email-verified]]
                           [--name=<name>] [--groups=<g1,g2>] [--mfa] [--ttl=<seconds>] [--scope="<scopes>"]
users: ${DEMO_USERS.map((u) => u.key).join(', ')}
`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `{ a: { b: value } }` for the JSON pointer `/a/b`; `{ name: value }` for a claim name. */
function claimAt(claim: string, value: unknown): Record<string, unknown> {
  if (!claim.startsWith('/')) return { [claim]: value };
  const keys = claim
    .slice(1)
    .split('/')
    .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
  return keys.reduceRight<Record<string, unknown>>(
    (inner, key) => ({ [key]: inner }),
    value as never,
  );
}

runCli(async () => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      mfa: { type: 'boolean', default: false },
      ttl: { type: 'string', default: '3600' },
      scope: { type: 'string', default: '' },
      subject: { type: 'string' },
      tenant: { type: 'string' },
      email: { type: 'string' },
      'email-verified': { type: 'boolean', default: false },
      name: { type: 'string' },
      groups: { type: 'string' },
    },
  });
  const name = positionals[0];
  const demo = name ? findDemoUser(name) : undefined;
  const custom = values.subject !== undefined;
  if (custom === (name !== undefined) || (!custom && !demo)) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (custom) {
    if (values.subject!.length < 1 || values.subject!.length > 255) {
      process.stderr.write('--subject must be 1 to 255 characters\n');
      return 2;
    }
    if (!values.tenant || !UUID.test(values.tenant)) {
      process.stderr.write('--tenant must be a tenant id (a UUID) with --subject\n');
      return 2;
    }
  }
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) {
    process.stderr.write('--ttl must be 1 to 86400 seconds\n');
    return 2;
  }
  const config = loadConfig();
  if (config.auth.jwks.kind !== 'dev') {
    process.stderr.write(
      'npm run token mints development tokens only; an identity provider is configured\n',
    );
    return 2;
  }
  const key = await ensureDevSigningKey(config.auth.jwks.keysDir);
  const groups = values.groups?.split(',').filter((g) => g.length > 0);
  const token = await mintDevToken(key, {
    subject: custom ? values.subject! : demo!.subject,
    tenantId: custom ? values.tenant!.toLowerCase() : DEMO_TENANTS[demo!.tenant].id,
    tenantClaim: config.auth.tenantClaim.startsWith('/') ? 'tenant_id' : config.auth.tenantClaim,
    roles: custom ? [] : demo!.roles,
    scopes: values.scope.split(' ').filter((s) => s.length > 0),
    amr: values.mfa ? ['pwd', 'otp', 'mfa'] : ['pwd'],
    ...(custom ? (values.email ? { email: values.email } : {}) : { email: demo!.email }),
    ttlSeconds: ttl,
    extra: {
      ...(values['email-verified'] ? { email_verified: true } : {}),
      ...(values.name ? { name: values.name } : {}),
      ...(groups ? claimAt(config.auth.groupsClaim ?? 'groups', groups) : {}),
    },
  });
  process.stdout.write(`${token}\n`);
  return 0;
});
