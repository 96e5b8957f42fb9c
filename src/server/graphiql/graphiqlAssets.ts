/**
 * The files the GraphiQL page loads, served by Gatehouse itself (no CDN): GraphiQL's and
 * React's UMD builds from node_modules, and the page's own script and styles. Read once at
 * start into memory, each with a strong ETag; a browser revalidates (`no-cache`) and gets
 * a 304 until the server restarts with different files.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the assets are served: `/graphiql/<name>`. */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql/';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

// From the project root, so the same path holds for src/ (tsx) and dist/ (the build): the
// page's files are not TypeScript and stay in src/, which the image ships.
const STATIC_DIR = fileURLToPath(new URL('../../../src/server/graphiql/static/', import.meta.url));

const require = createRequire(import.meta.url);

/**
 * A file of an installed package. Through its package.json: graphiql, react and react-dom
 * export none of their UMD files, so `resolve('graphiql/graphiql.min.js')` is refused.
 */
function packageFile(name: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${name}/package.json`)), file);
}

/** Each asset's name under the prefix, its file and its media type. */
const SOURCES: ReadonlyArray<readonly [name: string, file: () => string, type: string]> = [
  ['react.production.min.js', () => packageFile('react', 'umd/react.production.min.js'), JS],
  [
    'react-dom.production.min.js',
    () => packageFile('react-dom', 'umd/react-dom.production.min.js'),
    JS,
  ],
  ['graphiql.min.js', () => packageFile('graphiql', 'graphiql.min.js'), JS],
  ['graphiql.min.css', () => packageFile('graphiql', 'graphiql.min.css'), CSS],
  ['gatehouse-graphiql.js', () => path.join(STATIC_DIR, 'gatehouse-graphiql.js'), JS],
  ['gatehouse-graphiql.css', () => path.join(STATIC_DIR, 'gatehouse-graphiql.css'), CSS],
];

export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/** Reads every asset; a missing file stops the start (the IDE would be broken). */
export async function loadGraphiQLAssets(): Promise<ReadonlyMap<string, StaticAsset>> {
  const entries = await Promise.all(
    SOURCES.map(async ([name, file, contentType]) => {
      const body = await readFile(file());
      const digest = createHash('sha256').update(body).digest('base64url').slice(0, 27);
      return [name, { body, contentType, etag: `"${digest}"` }] as const;
    }),
  );
  return new Map(entries);
}

/** Whether `If-None-Match` names this version (or `*`). */
function notModified(req: IncomingMessage, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/** Answers GET or HEAD of one asset (the caller found it by name). */
export function sendAsset(req: IncomingMessage, res: ServerResponse, asset: StaticAsset): void {
  // Public files, the same for everyone: cacheable, but revalidated on every use.
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('ETag', asset.etag);
  if (notModified(req, asset.etag)) {
    res.writeHead(304).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': asset.contentType, 'Content-Length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}
