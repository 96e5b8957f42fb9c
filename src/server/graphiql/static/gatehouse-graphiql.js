/*
 * The GraphiQL page's script (served as /graphiql/gatehouse-graphiql.js; a file, not an
 * inline script, so the page's CSP stays `script-src 'self'`). Reads the page's settings
 * from its JSON data block and renders GraphiQL 3 from the UMD globals React, ReactDOM and
 * GraphiQL, which the scripts before this one define.
 */
(function () {
  'use strict';

  const settings = JSON.parse(document.getElementById('graphiql-settings').textContent);
  // The nonce the page's CSP allows for the <style> element GraphiQL's dialogs create:
  // the bundled react-style-singleton sets it from this global (webpack's name for it).
  window.__webpack_nonce__ = settings.styleNonce;
  const http = new URL(settings.endpoint, window.location.href);
  const ws = new URL(http);
  ws.protocol = http.protocol === 'https:' ? 'wss:' : 'ws:';

  // Queries and mutations: POST with Content-Type application/json (Apollo's CSRF
  // prevention accepts it). Subscriptions: graphql-ws on the same path; the header
  // editor's JSON becomes the connection_init payload, whose `Authorization` Gatehouse
  // reads as it reads the HTTP header.
  const fetcher = GraphiQL.createFetcher({ url: http.href, subscriptionUrl: ws.href });

  const ME =
    '{\n  me {\n    subject\n    tenant { slug }\n    user { displayName roles }\n  }\n}\n';
  const hours = Math.round(settings.devTokenTtlSeconds / 360) / 10;

  function devTab(token) {
    return {
      query:
        `# ${token.user}: ${token.description}.\n` +
        `# The Headers pane holds a development token for ${token.user} (valid ${hours} h;\n` +
        '# reload the page for fresh ones). Every other tab is another demo user.\n' +
        `query ${token.user} ${ME}`,
      headers: JSON.stringify({ Authorization: token.authorization }, null, 2),
    };
  }

  const tokens = settings.devTokens;
  const props = {
    fetcher,
    defaultEditorToolsVisibility: 'headers',
    shouldPersistHeaders: false,
    storage: pageStorage({ tabsInMemory: tokens.length > 0 }),
  };
  if (tokens.length > 0) {
    props.defaultTabs = tokens.map(devTab);
    props.defaultHeaders = devTab(tokens[0]).headers;
  } else {
    // Development tokens are offered in development only, and to loopback addresses only.
    props.defaultQuery =
      '# Send a token in the Headers pane: { "Authorization": "Bearer <token>" }.\n' + ME;
  }

  /**
   * localStorage for what GraphiQL keeps (theme, panes, history), never a header: GraphiQL
   * leaves headers out of its tabs (shouldPersistHeaders: false) but not out of its query
   * history, so this drops them from history entries before they are stored. With the
   * development tokens, tabs stay in memory too: a reload brings fresh tokens in fresh
   * tabs instead of stored tabs without them.
   */
  function pageStorage({ tabsInMemory }) {
    const HISTORY = new Set(['graphiql:queries', 'graphiql:favorites']);
    const inMemory = new Set(tabsInMemory ? ['graphiql:tabState', 'graphiql:headers'] : []);
    const memory = new Map();
    const local = window.localStorage;
    const mine = (key) => key.startsWith('graphiql:');
    return {
      getItem: (key) => (inMemory.has(key) ? (memory.get(key) ?? null) : local.getItem(key)),
      setItem(key, value) {
        if (inMemory.has(key)) memory.set(key, String(value));
        else if (!HISTORY.has(key)) local.setItem(key, value);
        else {
          const kept = withoutHeaders(value);
          if (kept !== undefined) local.setItem(key, kept);
        }
      },
      removeItem: (key) => (inMemory.has(key) ? memory.delete(key) : local.removeItem(key)),
      clear() {
        memory.clear();
        Object.keys(local)
          .filter(mine)
          .forEach((key) => local.removeItem(key));
      },
      get length() {
        return Object.keys(local).filter(mine).length + memory.size;
      },
    };
  }

  /** A stored history list (`{"queries": [{query, headers, …}]}`) without headers. */
  function withoutHeaders(value) {
    try {
      const stored = JSON.parse(value);
      for (const list of Object.values(stored)) {
        if (Array.isArray(list)) list.forEach((entry) => delete entry.headers);
      }
      return JSON.stringify(stored);
    } catch {
      return undefined; // not the expected form: not stored rather than stored with a token
    }
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, props),
  );
})();
