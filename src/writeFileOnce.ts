/**
 * Creates a file that several processes may race to create (the development keys in
 * DEV_KEYS_DIR, made on first start): the content is written whole under a name of its
 * own, then linked into place. A racing process finds no file or a complete one, never a
 * half-written one. Returns false when another process's file was there first (read that
 * one instead).
 */
import { randomBytes } from 'node:crypto';
import { link, rm, writeFile } from 'node:fs/promises';

export async function writeFileOnce(file: string, content: string): Promise<boolean> {
  const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(draft, content, { mode: 0o600, flag: 'wx' });
    await link(draft, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(draft, { force: true });
  }
}
