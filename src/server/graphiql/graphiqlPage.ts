/**
 * The GraphiQL page: HTML that loads the assets (graphiqlAssets.ts) and carries the page's
 * settings — the development tokens among them — as a JSON data block, which no browser
 * executes. All code is in files under /graphiql/, so no script is inline and the page's
 * CSP needs no 'unsafe-inline' or hash for scripts.
 */
import { GRAPHIQL_ASSET_PREFIX } from './graphiqlAssets.js';
import type { DevTokenHeader } from './devTokens.js';

/**
 * The page's own CSP (every other response keeps securityHeaders.ts's `default-src
 * 'none'`), with this response's style nonce. Each source is there because the IDE does
 * not work without it (test/e2e/graphiql.test.ts fails on any violation):
 */
export function graphiqlPageCsp(styleNonce: string): string {
  return [
    // Anything not listed below: nothing.
    "default-src 'none'",
    // React, ReactDOM, GraphiQL and the page's script, all from /graphiql/; no inline
    // script, no eval.
    "script-src 'self'",
    // graphiql.min.css and the page's styles from /graphiql/, and the one <style> element
    // GraphiQL writes itself: its dialogs (settings, shortcuts) lock the page's scroll with
    // a stylesheet of the scrollbar's width (react-remove-scroll), which carries this
    // nonce. Narrower than 'unsafe-inline': no injected <style> or style attribute applies.
    `style-src 'self' 'nonce-${styleNonce}'`,
    // graphiql.min.css embeds its fonts (Fira Code, Roboto) as data: URIs.
    'font-src data:',
    // POST /graphql (the queries, and introspection for the schema) and graphql-ws on
    // ws(s)://<this host>/graphql: 'self' covers the WebSocket scheme of the same origin.
    "connect-src 'self'",
    // No <base>, no form posts, no framing (clickjacking): nothing the IDE uses.
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** What the page's script reads from its data block (static/gatehouse-graphiql.js). */
export interface GraphiQLPageSettings {
  /** Path of the endpoint (HTTP and WebSocket). */
  readonly endpoint: string;
  /** A tab per demo user with its header; empty outside development. */
  readonly devTokens: readonly DevTokenHeader[];
  readonly devTokenTtlSeconds: number;
  /** This response's nonce for the <style> element GraphiQL creates (see the CSP). */
  readonly styleNonce: string;
}

/**
 * JSON safe inside `<script type="application/json">`: no `<` (so no `</script>` or
 * `<!--`), and no characters an older parser would take as line ends.
 */
function dataBlock(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

export function renderGraphiQLPage(settings: GraphiQLPageSettings): string {
  const asset = (name: string): string => `${GRAPHIQL_ASSET_PREFIX}${name}`;
  const script = (name: string): string => `<script src="${asset(name)}" defer></script>`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Gatehouse · GraphiQL</title>',
    `<link rel="stylesheet" href="${asset('graphiql.min.css')}">`,
    `<link rel="stylesheet" href="${asset('gatehouse-graphiql.css')}">`,
    `<script id="graphiql-settings" type="application/json">${dataBlock(settings)}</script>`,
    script('react.production.min.js'),
    script('react-dom.production.min.js'),
    script('graphiql.min.js'),
    script('gatehouse-graphiql.js'),
    '</head>',
    '<body>',
    '<div id="graphiql">Loading GraphiQL…</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
