/**
 * The pepper of API key hashes (authn/apiKeys.ts): API_KEY_PEPPER, or outside production a
 * development pepper generated on first use into DEV_KEYS_DIR (0600, never committed), as
 * the development credential and audit keys are. Changing the pepper invalidates every
 * API key: their hashes no longer match.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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
  // Written whole under a name of its own, then linked into place: a process that races
  // this one either finds no file or a complete one, never a half-written one.
  const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(draft, pepper.toString('base64'), { mode: 0o600, flag: 'wx' });
    await link(draft, file);
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return await loadApiKeyPepper(source);
    throw error;
  } finally {
    await rm(draft, { force: true });
  }
  return new Uint8Array(pepper);
}
