// The legacy subscriptions-transport-ws client (protocol `graphql-ws`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { SubscriptionClient } from 'subscriptions-transport-ws';
import { useServer, Recorder, warmUp, withTimeout, BULLPEN_EVENTS } from './helpers.mjs';

const srv = useServer();

const ORDER_UPDATES = `subscription OrderUpdates($id: ID!) {
  orderUpdates(bullPenId: $id) { sequence kind order { id status side quantity filledQuantity filledPrice participant { id } } }
}`;

function legacyClient(token) {
  let connected;
  const ready = new Promise((resolve, reject) => { connected = { resolve, reject }; });
  const client = new SubscriptionClient(srv.wsUrl, {
    connectionParams: token ? { authToken: token } : {},
    reconnect: false,
    connectionCallback: (err) => (err ? connected.reject(Object.assign(new Error('connection_error'), { payload: err })) : connected.resolve()),
  }, WebSocket);
  client.ready = ready;
  return client;
}

test('SubscriptionClient receives a FILLED orderUpdates event after a MARKET order', async (t) => {
  const room = await srv.setupRoom();
  const { alice } = room;
  const client = legacyClient(alice.token);
  t.after(() => client.close());
  await withTimeout(client.ready, 5000, 'connection_ack');

  const rec = new Recorder('legacy orderUpdates', 'orderUpdates');
  const sub = client.request({ query: ORDER_UPDATES, variables: { id: room.id } }).subscribe(rec);
  t.after(() => sub.unsubscribe());
  // No resume point for orderUpdates: probe with a rejected order until the
  // subscription is live.
  await warmUp(rec, () => srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'SELL', quantity: 1 }),
    (e) => e.kind === 'REJECTED');

  const order = await srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 12 });
  assert.equal(order.status, 'FILLED');
  const { value } = await rec.waitFor((e) => e.kind === 'FILLED', 5000, 'FILLED event');
  assert.equal(value.order.id, order.id);
  assert.equal(value.order.status, 'FILLED');
  assert.equal(value.order.side, 'BUY');
  assert.equal(value.order.quantity, 12);
  assert.equal(value.order.filledQuantity, 12);
  assert.equal(value.order.filledPrice, '100.00');
  assert.equal(value.order.participant.id, alice.participantId);
  assert.deepEqual(rec.errors, []);
  const seqs = rec.values.map((e) => e.sequence);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
});

test('SubscriptionClient: a refused subscription reports the GraphQL error', async (t) => {
  const room = await srv.setupRoom();
  const client = legacyClient(null); // anonymous spectator
  t.after(() => client.close());
  await withTimeout(client.ready, 5000, 'connection_ack');
  const rec = new Recorder('anonymous orderUpdates');
  const sub = client.request({ query: ORDER_UPDATES, variables: { id: room.id } }).subscribe(rec);
  t.after(() => sub.unsubscribe());
  // The legacy protocol has no `error` message for execution errors: the
  // server sends `data` with errors, then `complete`.
  await rec.until((r) => r.values.length || r.errors.length, 5000, 'a result or an error');
  const errors = rec.values[0]?.errors ?? rec.errors[0];
  assert.ok(Array.isArray(errors), JSON.stringify({ values: rec.values, errors: rec.errors }));
  assert.equal(errors[0].extensions?.code, 'FORBIDDEN');
});

test('SubscriptionClient: a bad token is refused with connection_error', async (t) => {
  const client = legacyClient('bogus');
  t.after(() => client.close());
  await assert.rejects(withTimeout(client.ready, 5000, 'connection_error'), (err) => {
    assert.equal(err.message, 'connection_error');
    return true;
  });
});

test('SubscriptionClient: bullPenEvents with afterSequence as an Int variable replays the log', async (t) => {
  const room = await srv.setupRoom();
  await srv.placeOrder(room.alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 3 });
  const last = await srv.lastSequence(room.id, room.owner.token);
  const client = legacyClient(room.owner.token);
  t.after(() => client.close());
  await withTimeout(client.ready, 5000, 'connection_ack');
  const rec = new Recorder('legacy bullPenEvents', 'bullPenEvents');
  const sub = client.request({ query: BULLPEN_EVENTS, variables: { id: room.id, after: 0 } }).subscribe(rec);
  t.after(() => sub.unsubscribe());
  await rec.waitCount(last, 5000);
  // A leaderboard snapshot may follow the fill at once; messages the server
  // writes together arrive together, so look at the first `last` only.
  assert.deepEqual(rec.values.slice(0, last).map((e) => e.sequence), Array.from({ length: last }, (_, i) => i + 1));
  assert.deepEqual(rec.values.slice(0, last), (await srv.eventLog(room.id, room.owner.token, 0)).slice(0, last));
  assert.deepEqual(rec.errors, []);
});
