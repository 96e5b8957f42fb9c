/**
 * GraphiQL in development (GRAPHIQL_ENABLED): a browser's navigation to GET /graphql gets
 * the IDE page, its files are under /graphiql/, and `/` redirects to /graphql. Everything
 * else — every API request, whatever its method or media type — is left to the API. When
 * the IDE is off none of this exists: the HTTP handler answers exactly as without it.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config.js';
import { devTokenMinter, DEV_TOKEN_TTL_SECONDS, isLoopbackHost } from './devTokens.js';
import { GRAPHIQL_ASSET_PREFIX, loadGraphiQLAssets, sendAsset } from './graphiqlAssets.js';
import { graphiqlPageCsp, renderGraphiQLPage } from './graphiqlPage.js';

const ENDPOINT = '/graphql';

export interface GraphiQLRoutes {
  /**
   * Answers the request when it is the IDE's and returns true; false leaves it untouched
   * for the API. `path` is the request's path, without a trailing slash.
   */
  answer(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

/**
 * A browser opening the endpoint: GET that accepts HTML and carries no `query` parameter
 * (GET /graphql?query=… stays a GraphQL request, whoever sends it).
 */
export function isIdeNavigation(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  if (!(req.headers.accept ?? '').toLowerCase().includes('text/html')) return false;
  return !new URL(req.url ?? '/', 'http://localhost').searchParams.has('query');
}

/** The IDE's routes, or undefined when it is off (no assets are read then). */
export async function loadGraphiQL(config: Config): Promise<GraphiQLRoutes | undefined> {
  if (!config.graphiql) return undefined;
  const assets = await loadGraphiQLAssets();
  const mintTokens = devTokenMinter(config);

  async function sendPage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A new nonce per response, as CSP nonces must be: one that repeats could be reused.
    const styleNonce = randomBytes(18).toString('base64');
    const tokens = mintTokens && isLoopbackHost(req.headers.host) ? await mintTokens() : [];
    const html = renderGraphiQLPage({
      endpoint: ENDPOINT,
      devTokens: tokens,
      devTokenTtlSeconds: DEV_TOKEN_TTL_SECONDS,
      styleNonce,
    });
    // Still `no-store` (securityHeaders.ts): the page may hold tokens.
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': graphiqlPageCsp(styleNonce),
      Vary: 'Accept',
    });
    res.end(html);
  }

  return {
    async answer(req, res, path) {
      const read = req.method === 'GET' || req.method === 'HEAD';
      if (path === ENDPOINT && isIdeNavigation(req)) {
        await sendPage(req, res);
        return true;
      }
      if (path === '/' && read) {
        res.writeHead(302, { Location: ENDPOINT }).end();
        return true;
      }
      const asset = path.startsWith(GRAPHIQL_ASSET_PREFIX)
        ? assets.get(path.slice(GRAPHIQL_ASSET_PREFIX.length))
        : undefined;
      if (asset && read) {
        sendAsset(req, res, asset);
        return true;
      }
      return false;
    },
  };
}
