/**
 * The pepper of API key hashes (authn/apiKeys.ts): API_KEY_PEPPER, or outside production a
 * development pepper generated on first use into DEV_KEYS_DIR (0600, never committed), as
 * the development credential and audit keys are. Changing the pepper invalidates every
 * API key: their hashes no longer match.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileOnce } from '../writeFileOnce.js';
import path from 'node:path';
import { API_KEY_PEPPER_MIN_BYTES, parseApiKeyPepper, type ApiKeyPepper } from '../config.js';

const DEV_FILE = 'api-key-pepper';

export async function loadApiKeyPepper(source: ApiKeyPepper): Promise<Uint8Array> {
  if (source.kind === 'configured') return source.pepper;
  const file = path.join(source.keysDir, DEV_FILE);
  try {
    return parseApiKeyPepper(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(source.keysDir, { recursive: true, mode: 0o700 });
  const pepper = randomBytes(API_KEY_PEPPER_MIN_BYTES);
  // Another process created it first: use theirs.
  if (!(await writeFileOnce(file, pepper.toString('base64')))) return loadApiKeyPepper(source);
  return new Uint8Array(pepper);
}
