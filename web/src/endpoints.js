// endpoints returns the same-origin GraphQL URLs for a page location:
// http(s)://host/query for queries and mutations, ws(s)://host/query for
// subscriptions (graphql-ws, "graphql-transport-ws" subprotocol).
export function endpoints(location) {
  const wsProtocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    http: `${location.origin}/query`,
    ws: `${wsProtocol}//${location.host}/query`,
  };
}
