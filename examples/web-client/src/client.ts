/**
 * Apollo Client 4 for Gatehouse: queries and mutations as HTTP POSTs to /graphql with the
 * bearer token, subscriptions over graphql-ws on the same URL, one normalised cache.
 */
import { ApolloClient, ApolloLink, HttpLink } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { createCache } from './cache.js';

// Gatehouse decides every field on its own: a field the caller may not read is null with a
// FORBIDDEN error at its path, in a 200 that carries every other field's data (README,
// "GraphQL over HTTP: the answers"). Apollo's default `errorPolicy: 'none'` would throw
// the whole result away for one denied cell, so this client keeps the data and the errors
// (`errorPolicy: 'all'` below). Declared here so that Apollo's result types reflect it;
// Apollo declares its default options as namespaces, which only namespace syntax augments.
/* eslint-disable @typescript-eslint/no-namespace */
declare module '@apollo/client' {
  export namespace ApolloClient {
    export namespace DeclareDefaultOptions {
      interface WatchQuery {
        errorPolicy: 'all';
      }
      interface Query {
        errorPolicy: 'all';
      }
      interface Mutate {
        errorPolicy: 'all';
      }
    }
  }
}
/* eslint-enable @typescript-eslint/no-namespace */

export interface GatehouseClientOptions {
  /** The GraphQL endpoint, e.g. `http://localhost:4000/graphql`; WebSockets use its ws(s) twin. */
  readonly url: string;
  /**
   * The bearer token. Asked for every HTTP request and every WebSocket connection, so a
   * refreshed token is used from then on. A socket whose token expires is closed with 4401,
   * which graphql-ws does not retry: its subscriptions end with that close event, and
   * subscribing again opens a socket with the token this returns then.
   */
  readonly token: () => string | Promise<string>;
  /** A WebSocket class where there is no global one (browsers and Node 22+ have it). */
  readonly webSocketImpl?: unknown;
}

export interface GatehouseClient {
  readonly apollo: ApolloClient;
  /** Stops the client's queries and closes its WebSocket. */
  close(): Promise<void>;
}

/** The WebSocket URL of a GraphQL endpoint: the same host and path, ws: or wss:. */
export function webSocketUrl(url: string): string {
  const ws = new URL(url);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  return ws.href;
}

export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  const sockets: Client = createClient({
    url: webSocketUrl(options.url),
    // Gatehouse reads the token from the `connection_init` payload.
    connectionParams: async () => ({ authorization: `Bearer ${await options.token()}` }),
    ...(options.webSocketImpl === undefined ? {} : { webSocketImpl: options.webSocketImpl }),
  });
  const http = new SetContextLink(async (context) => ({
    // Keeps the headers an earlier link or the call's `context` set.
    headers: {
      ...(context['headers'] as Record<string, string> | undefined),
      authorization: `Bearer ${await options.token()}`,
    },
  })).concat(new HttpLink({ uri: options.url }));
  const apollo = new ApolloClient({
    // Subscriptions need the socket (over HTTP they are 400 SUBSCRIPTION_REQUIRES_WEBSOCKET);
    // queries and mutations go over HTTP, where the rate-limit headers and status codes are.
    link: ApolloLink.split(
      ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
      new GraphQLWsLink(sockets),
      http,
    ),
    cache: createCache(),
    defaultOptions: {
      watchQuery: { errorPolicy: 'all' },
      query: { errorPolicy: 'all' },
      mutate: { errorPolicy: 'all' },
    },
  });
  return {
    apollo,
    async close() {
      apollo.stop();
      await sockets.dispose();
    },
  };
}
