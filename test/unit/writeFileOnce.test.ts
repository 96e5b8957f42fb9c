import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileOnce } from '../../src/writeFileOnce.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('writeFileOnce', () => {
  it('lets exactly one of many racing writers create the file, whole, and leaves no drafts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-once-'));
    dirs.push(dir);
    const file = path.join(dir, 'key');
    const contents = Array.from({ length: 20 }, (_, i) => `${i}:${'k'.repeat(100_000)}`);
    const won = await Promise.all(contents.map((c) => writeFileOnce(file, c)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await readFile(file, 'utf8')).toBe(contents[won.indexOf(true)]);
    expect(await readdir(dir)).toEqual(['key']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Once there, it stays as it is.
    expect(await writeFileOnce(file, 'other')).toBe(false);
    expect(await readFile(file, 'utf8')).toBe(contents[won.indexOf(true)]);
  });
});
