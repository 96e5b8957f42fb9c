/**
 * deploy/.env.example read as an operator would fill it in: its variables, and a value of
 * the form each placeholder names (`<...>` replaced).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export function parseEnvFile(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    });
}

const ed25519 = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'der' })
  .toString('base64');

/** A value of the form the placeholder names. */
export function filledIn(name: string, value: string): string {
  if (!value.includes('<')) return value;
  switch (name) {
    case 'CREDENTIAL_KEYS':
      return `k1:${randomBytes(32).toString('base64')}`;
    case 'API_KEY_PEPPER':
    case 'SPICEDB_PRESHARED_KEY':
      return randomBytes(32).toString('base64');
    case 'AUDIT_SIGNING_KEY':
      return ed25519;
    default:
      return value.replace(/<[^>]*>/g, 'filled-in');
  }
}
