/**
 * `npm run -s token -- <user> [--mfa] [--ttl=<seconds>] [--scope="<scopes>"]`
 * Prints a development-issuer JWT for a demo user (and nothing else on stdout, so it can
 * be captured). Refused when an identity provider is configured.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { ensureDevSigningKey, mintDevToken } from '../authn/devSigningKey.js';
import { DEMO_TENANTS, DEMO_USERS, findDemoUser } from '../demo/demoData.js';
import { runCli } from './runCli.js';

runCli(async () => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      mfa: { type: 'boolean', default: false },
      ttl: { type: 'string', default: '3600' },
      scope: { type: 'string', default: '' },
    },
  });
  const name = positionals[0];
  const user = name ? findDemoUser(name) : undefined;
  if (!user) {
    process.stderr.write(
      `usage: npm run -s token -- <user> [--mfa] [--ttl=<seconds>] [--scope="<scopes>"]\nusers: ${DEMO_USERS.map((u) => u.key).join(', ')}\n`,
    );
    return 2;
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
  const token = await mintDevToken(key, {
    subject: user.subject,
    tenantId: DEMO_TENANTS[user.tenant].id,
    tenantClaim: config.auth.tenantClaim.startsWith('/') ? 'tenant_id' : config.auth.tenantClaim,
    roles: user.roles,
    scopes: values.scope.split(' ').filter((s) => s.length > 0),
    amr: values.mfa ? ['pwd', 'otp', 'mfa'] : ['pwd'],
    email: user.email,
    ttlSeconds: ttl,
  });
  process.stdout.write(`${token}\n`);
  return 0;
});
