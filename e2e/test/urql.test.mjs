// urql: the documented subscriptionExchange + graphql-ws pattern, with
// fetchExchange for mutations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, fetchExchange, subscriptionExchange, gql } from '@urql/core';
import { pipe, subscribe } from 'wonka';
import { useServer, wsClient, Recorder, BULLPEN_EVENTS, nonIncreasing } from './helpers.mjs';

const srv = useServer();

function urql(token) {
  const ws = wsClient(srv, token);
  const client = new Client({
    url: srv.url,
    fetchOptions: () => ({ headers: token ? { authorization: `Bearer ${token}` } : {} }),
    exchanges: [
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
  client.dispose = () => ws.dispose();
  return client;
}

/** pipe(client.subscription(...), subscribe(...)) into a Recorder. */
function recordUrql(client, name, query, variables, field) {
  const rec = new Recorder(name);
  const { unsubscribe } = pipe(
    client.subscription(query, variables),
    subscribe((result) => {
      if (result.error) rec.error(result.error);
      else rec.next(result.data[field]);
    }),
  );
  rec.unsubscribe = unsubscribe;
  return rec;
}

const PLACE_ORDER = gql`mutation Place($in: PlaceOrderInput!) { placeOrder(input: $in) { id status filledPrice } }`;

test('urql subscription (graphql-ws via subscriptionExchange) receives the room events', async (t) => {
  const room = await srv.setupRoom({ tradeVisibility: 'PUBLIC' });
  const alice = urql(room.alice.token);
  const bob = urql(room.bob.token);
  const owner = urql(room.owner.token);
  t.after(() => Promise.all([alice.dispose(), bob.dispose(), owner.dispose()]));
  const start = await srv.lastSequence(room.id, room.owner.token);

  // alice follows the room; the room's trades are public, so she sees bob's.
  const rec = recordUrql(alice, 'urql alice', BULLPEN_EVENTS, { id: room.id, after: start }, 'bullPenEvents');
  t.after(() => rec.unsubscribe());

  const res = await bob.mutation(PLACE_ORDER, { in: { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 4 } }).toPromise();
  assert.equal(res.error, undefined);
  assert.equal(res.data.placeOrder.status, 'FILLED');
  const fill = await rec.waitFor((e) => e.__typename === 'OrderEvent' && e.order.id === res.data.placeOrder.id, 5000, 'bob\'s fill');
  assert.equal(fill.value.kind, 'FILLED');
  assert.equal(fill.value.order.participant.id, room.bob.participantId);
  const pos = await rec.waitFor((e) => e.__typename === 'PositionEvent', 5000, 'bob\'s position');
  assert.equal(pos.value.participantId, room.bob.participantId);
  assert.equal(pos.value.position.quantity, 4);

  const paused = await owner.mutation(gql`mutation($id: ID!) { pauseBullPen(id: $id) { state } }`, { id: room.id }).toPromise();
  assert.equal(paused.data.pauseBullPen.state, 'PAUSED');
  await rec.waitFor((e) => e.__typename === 'RoomStateEvent' && e.state === 'PAUSED', 5000, 'pause');
  // The fill triggers a leaderboard snapshot within about a second.
  await rec.waitFor((e) => e.__typename === 'LeaderboardEvent', 8000, 'leaderboard');

  assert.equal(nonIncreasing(rec.values.map((e) => e.sequence)), null);
  assert.deepEqual(rec.errors, []);
  const log = await srv.eventLog(room.id, room.owner.token, start);
  const last = rec.values.at(-1).sequence;
  assert.deepEqual(rec.values, log.filter((e) => e.sequence <= last), 'alice (public trades) sees the whole log');
});

test('urql: a refused subscription (a PRIVATE room, to an outsider) surfaces a CombinedError with NOT_FOUND', async (t) => {
  const room = await srv.setupRoom({ visibility: 'PRIVATE' });
  const anon = urql(null);
  t.after(() => anon.dispose());
  const rec = recordUrql(anon, 'urql anonymous', BULLPEN_EVENTS, { id: room.id }, 'bullPenEvents');
  t.after(() => rec.unsubscribe());
  const err = await rec.waitError(5000);
  assert.equal(err.name, 'CombinedError');
  assert.equal(err.graphQLErrors[0].extensions.code, 'NOT_FOUND', err.message);
});
