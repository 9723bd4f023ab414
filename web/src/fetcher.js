import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';

import { endpoints } from './endpoints.js';

export { endpoints };

// authorizationOf finds the Authorization header (any case) among the
// headers typed in GraphiQL's Headers pane.
export function authorizationOf(headers) {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === 'authorization' && value != null && value !== '') {
      return String(value);
    }
  }
  return undefined;
}

// createBullpenFetcher returns GraphiQL's fetcher. Queries and mutations go
// over HTTP POST with the Headers pane's headers as usual. Subscriptions go
// over one WebSocket per distinct Authorization value: graphql-ws sends
// connectionParams {authorization: "Bearer …"} in its connection_init, taken
// from the Headers pane at the time the subscription starts. The clients are
// lazy, so a socket is open only while a subscription on it runs.
export function createBullpenFetcher(location = window.location) {
  const urls = endpoints(location);
  const wsClients = new Map();
  const wsClientFor = (authorization) => {
    const key = authorization ?? '';
    let client = wsClients.get(key);
    if (!client) {
      client = createClient({
        url: urls.ws,
        lazy: true,
        retryAttempts: 3,
        connectionParams: () => (authorization ? { authorization } : {}),
      });
      wsClients.set(key, client);
    }
    return client;
  };
  return (graphQLParams, opts) => {
    const fetcher = createGraphiQLFetcher({
      url: urls.http,
      wsClient: wsClientFor(authorizationOf(opts?.headers)),
    });
    return fetcher(graphQLParams, opts);
  };
}
