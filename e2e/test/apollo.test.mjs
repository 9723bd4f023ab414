// Apollo Client 4 the way an app sets it up: HttpLink for queries and
// mutations, GraphQLWsLink (graphql-ws) for subscriptions, joined by split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import WebSocket from 'ws';
import { useServer, wsClient, Recorder, BULLPEN_EVENTS, nonIncreasing } from './helpers.mjs';

// Apollo's GraphQLWsLink reads the global WebSocket (WebSocket.CLOSED) when
// it classifies an error; Node 20 has none (Node 22 does), so without this
// every subscription error becomes "ReferenceError: WebSocket is not defined".
globalThis.WebSocket ??= WebSocket;

const srv = useServer();

function apollo(token) {
  const ws = wsClient(srv, token);
  const http = new HttpLink({ uri: srv.url, fetch, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const link = ApolloLink.split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === 'OperationDefinition' && def.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    http,
  );
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache({
      possibleTypes: { BullPenEvent: ['OrderEvent', 'PositionEvent', 'LeaderboardEvent', 'RoomStateEvent', 'CorporateActionEvent', 'AnnouncementEvent'] },
    }),
  });
  client.close = async () => { client.stop(); await ws.dispose(); };
  return client;
}

const PLACE_ORDER = gql`mutation Place($in: PlaceOrderInput!) {
  placeOrder(input: $in) { id status filledPrice quantity }
}`;
const PAUSE = gql`mutation Pause($id: ID!) { pauseBullPen(id: $id) { id state } }`;
const ROOM = gql`query Room($id: ID!) { bullPen(id: $id) { id state lastSequence } }`;

test('Apollo client.subscribe gets order, position, leaderboard and room-state events after client.mutate', async (t) => {
  const room = await srv.setupRoom();
  const owner = apollo(room.owner.token);
  const alice = apollo(room.alice.token);
  t.after(() => Promise.all([owner.close(), alice.close()]));

  const { data } = await owner.query({ query: ROOM, variables: { id: room.id }, fetchPolicy: 'network-only' });
  assert.equal(data.bullPen.state, 'ACTIVE');
  const start = data.bullPen.lastSequence;

  const rec = new Recorder('apollo owner');
  const sub = owner.subscribe({ query: gql(BULLPEN_EVENTS), variables: { id: room.id, after: start } })
    .subscribe({
      next: (result) => {
        if (result.error) rec.error(result.error);
        else rec.next(result.data.bullPenEvents);
      },
      error: rec.error,
      complete: rec.complete,
    });
  t.after(() => sub.unsubscribe());

  const placed = await alice.mutate({ mutation: PLACE_ORDER, variables: { in: { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 25 } } });
  assert.equal(placed.data.placeOrder.status, 'FILLED');
  assert.equal(placed.data.placeOrder.filledPrice, '100.00');
  const orderId = placed.data.placeOrder.id;

  const fill = await rec.waitFor((e) => e.__typename === 'OrderEvent' && e.order.id === orderId, 5000, 'OrderEvent');
  assert.equal(fill.value.kind, 'FILLED');
  assert.equal(fill.value.order.filledPrice, '100.00');
  const pos = await rec.waitFor((e) => e.__typename === 'PositionEvent', 5000, 'PositionEvent');
  assert.equal(pos.value.participantId, room.alice.participantId);
  assert.deepEqual({ ...pos.value.position }, { __typename: 'Position', symbol: 'AAPL', quantity: 25, averageCost: '100.00', marketPrice: '100.00' });
  const lb = await rec.waitFor((e) => e.__typename === 'LeaderboardEvent', 8000, 'LeaderboardEvent');
  assert.equal(lb.value.snapshot.entries.length, 2);
  assert.ok(lb.value.snapshot.entries.every((x) => x.portfolioValue === '100000.00'), 'a buy at the market price keeps the portfolio value');
  assert.deepEqual(lb.value.snapshot.entries.map((x) => x.rank), [1, 1], 'ties share a rank');

  const paused = await owner.mutate({ mutation: PAUSE, variables: { id: room.id } });
  assert.equal(paused.data.pauseBullPen.state, 'PAUSED');
  const rs = await rec.waitFor((e) => e.__typename === 'RoomStateEvent', 5000, 'RoomStateEvent');
  assert.equal(rs.value.previousState, 'ACTIVE');
  assert.equal(rs.value.state, 'PAUSED');
  assert.equal(rs.value.trigger, 'MANUAL');
  assert.equal(rs.value.actor.username, room.owner.user.username);

  assert.equal(nonIncreasing(rec.values.map((e) => e.sequence)), null);
  assert.equal(rec.values[0].sequence, start + 1, 'the stream starts right after the resume point');
  assert.deepEqual(rec.errors, []);
});

test('Apollo: a subscription the caller may not have reports FORBIDDEN', async (t) => {
  const room = await srv.setupRoom();
  const anon = apollo(null);
  t.after(() => anon.close());
  const rec = new Recorder('apollo anonymous orderUpdates');
  const sub = anon.subscribe({
    query: gql`subscription($id: ID!) { orderUpdates(bullPenId: $id) { sequence kind } }`,
    variables: { id: room.id },
  }).subscribe({
    next: (result) => (result.error ? rec.error(result.error) : rec.next(result.data)),
    error: rec.error,
    complete: rec.complete,
  });
  t.after(() => sub.unsubscribe());
  const err = await rec.waitError(5000);
  // Apollo 4 wraps GraphQL errors in a CombinedGraphQLErrors with .errors.
  const errors = err.errors ?? err.graphQLErrors ?? err;
  assert.equal(errors[0]?.extensions?.code, 'FORBIDDEN', `${err}: ${JSON.stringify(errors)}`);
});
