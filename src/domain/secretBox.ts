/**
 * Encryption at rest for credential secrets: AES-256-GCM with a random 96-bit nonce,
 * sealed in the application so the database (and its backups, replicas and logs) only
 * ever hold ciphertext. The sealed form is `0x01 ‖ nonce ‖ ciphertext ‖ tag`, stored with
 * the id of the key that sealed it, and bound by authenticated data to the tenant and the
 * credential's id: a ciphertext copied into another row or tenant fails to open.
 *
 * Keys come from CREDENTIAL_KEYS (`<id>:<base64 32 bytes>`, comma-separated; the first one
 * seals, all of them open, so keys rotate without re-encrypting at once). Outside
 * production, without CREDENTIAL_KEYS, a development key is generated into DEV_KEYS_DIR.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileOnce } from '../writeFileOnce.js';
import path from 'node:path';
import { KEY_BYTES, parseSecretKeys, type CredentialKeys, type SecretKey } from '../config.js';

const VERSION = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const DEV_KEY_FILE = 'credential-key.json';

export interface Sealed {
  readonly ciphertext: Uint8Array<ArrayBuffer>;
  readonly keyId: string;
}

/** Which object a secret belongs to; part of the authenticated data. */
export interface SecretBinding {
  readonly tenantId: string;
  readonly id: string;
}

/** A sealed secret that cannot be opened: unknown key, wrong binding, or tampering. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

function aad(binding: SecretBinding): Buffer {
  return Buffer.from(`gatehouse/credential/v1/${binding.tenantId}/${binding.id}`, 'utf8');
}

export class SecretBox {
  readonly #keys: ReadonlyMap<string, Uint8Array>;
  readonly #active: SecretKey;

  constructor(keys: readonly SecretKey[]) {
    const [active] = keys;
    if (!active) throw new Error('SecretBox needs at least one key');
    for (const k of keys) {
      if (k.key.length !== KEY_BYTES) throw new Error(`key ${k.id} is not ${KEY_BYTES} bytes`);
    }
    this.#active = active;
    this.#keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id of the key new secrets are sealed with. */
  get activeKeyId(): string {
    return this.#active.id;
  }

  seal(plaintext: string, binding: SecretBinding): Sealed {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#active.key, nonce);
    cipher.setAAD(aad(binding));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([Buffer.of(VERSION), nonce, body, cipher.getAuthTag()]);
    return { ciphertext: new Uint8Array(sealed), keyId: this.#active.id };
  }

  open(sealed: Sealed, binding: SecretBinding): string {
    const key = this.#keys.get(sealed.keyId);
    if (!key) throw new SecretBoxError(`no key ${sealed.keyId} to open this secret`);
    const bytes = Buffer.from(sealed.ciphertext);
    if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== VERSION) {
      throw new SecretBoxError('not a sealed secret');
    }
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(aad(binding));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(1 + NONCE_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretBoxError('the secret does not open with its key and binding');
    }
  }
}

/** The development key: generated on first use into `dir` (0600), never committed. */
export async function ensureDevSecretKey(dir: string): Promise<SecretKey> {
  const file = path.join(dir, DEV_KEY_FILE);
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as { id: string; key: string };
    return parseSecretKeys(`${stored.id}:${stored.key}`)[0] as SecretKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = { id: 'dev', key: randomBytes(KEY_BYTES).toString('base64') };
  // Another process created it first (false): either way, read what is there.
  await writeFileOnce(file, JSON.stringify(key));
  return ensureDevSecretKey(dir);
}

/** The box for the configured keys, or for the generated development key. */
export async function openSecretBox(keys: CredentialKeys): Promise<SecretBox> {
  return new SecretBox(
    keys.kind === 'configured' ? keys.keys : [await ensureDevSecretKey(keys.keysDir)],
  );
}
