// One Bullpen connection: urql over HTTP for queries and mutations, and
// graphql-ws over WebSocket for subscriptions, both carrying the token.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface Bullpen {
  urql: Client;
  ws: WsClient;
  close(): Promise<void>;
}

/** url is the HTTP endpoint, e.g. http://localhost:8080/query. */
export function connect(url: string, token?: string): Bullpen {
  const ws = createWsClient({
    url: url.replace(/^http/, 'ws'),
    // In a browser leave this out: the global WebSocket is used.
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    // Reconnect on drops; resume the room with afterSequence (see follow.ts).
    retryAttempts: 5,
    lazy: true,
  });
  const urql = new Client({
    url,
    // Events and orders change all the time: always ask the server.
    requestPolicy: 'network-only',
    fetchOptions: () => (token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { urql, ws, close: async () => { await ws.dispose(); } };
}
