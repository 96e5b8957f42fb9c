import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, readBody } from '../../src/server/readBody.js';

/** A request whose body arrives in `chunks`, with `content-length` when given. */
function request(chunks: readonly string[], contentLength?: number): IncomingMessage {
  const stream = Readable.from(chunks.map((c) => Buffer.from(c, 'utf8')));
  const headers = contentLength === undefined ? {} : { 'content-length': String(contentLength) };
  return Object.assign(stream, { headers }) as unknown as IncomingMessage;
}

describe('readBody', () => {
  it('joins chunks of a declared length, a character split across two chunks included', async () => {
    const euro = Buffer.from('€', 'utf8'); // three bytes
    const stream = Readable.from([
      Buffer.from('{"a":"'),
      euro.subarray(0, 1),
      euro.subarray(1),
      Buffer.from('"}'),
    ]);
    const req = Object.assign(stream, { headers: { 'content-length': '11' } });
    expect(await readBody(req as unknown as IncomingMessage, 100)).toBe('{"a":"€"}');
  });

  it('reads a body without a declared length (chunked)', async () => {
    expect(await readBody(request(['ab', 'cd']), 100)).toBe('abcd');
  });

  it('refuses a declared length over the limit before reading anything', async () => {
    await expect(readBody(request(['x'], 101), 100)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('refuses a chunked body once it passes the limit', async () => {
    const chunks = Array.from({ length: 11 }, () => 'x'.repeat(10));
    await expect(readBody(request(chunks), 100)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('never returns more than the declared length', async () => {
    expect(await readBody(request(['abcdef'], 3), 100)).toBe('abc');
  });
});
