import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/**
 * Reads the request body as UTF-8, refusing more than `limit` bytes without buffering them.
 * With a declared length (the usual case) the chunks are copied into one buffer of that
 * size as they arrive, so a large body is not copied a second time to join it.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const header = req.headers['content-length'];
  const declared = header === undefined ? undefined : Number(header);
  if (declared !== undefined && declared > limit) throw new BodyTooLargeError();
  if (declared !== undefined && Number.isSafeInteger(declared) && declared >= 0) {
    // Node's HTTP parser delivers exactly the declared length, never more.
    const body = Buffer.allocUnsafe(declared);
    let size = 0;
    for await (const chunk of req) {
      const buf = chunk as Buffer;
      size += buf.copy(body, size);
    }
    return body.toString('utf8', 0, size);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
