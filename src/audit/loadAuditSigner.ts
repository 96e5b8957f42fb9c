/**
 * The checkpoint signer of the configuration: AUDIT_SIGNING_KEY, or outside production a
 * development key generated on first use into DEV_KEYS_DIR (0600, never committed).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileOnce } from '../writeFileOnce.js';
import path from 'node:path';
import { parseAuditSigningKey, type AuditSigningKey } from '../config.js';
import { AuditSigner } from './AuditCheckpoint.js';

const DEV_FILE = 'audit-signing-key.pem';

export async function loadAuditSigner(key: AuditSigningKey): Promise<AuditSigner> {
  if (key.kind === 'configured') return new AuditSigner(key.key);
  const file = path.join(key.keysDir, DEV_FILE);
  try {
    return new AuditSigner(parseAuditSigningKey(await readFile(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(key.keysDir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Another process created it first: use theirs.
  if (!(await writeFileOnce(file, pem))) return loadAuditSigner(key);
  return new AuditSigner(privateKey);
}
