// graphql-sse (distinct connections mode) against POST /query with
// Accept: text/event-stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-sse';
import { useServer, Recorder, BULLPEN_EVENTS, collect, nonIncreasing, withTimeout } from './helpers.mjs';

const srv = useServer();

function sseClient(token) {
  return createClient({
    url: srv.url,
    singleConnection: false,
    retryAttempts: 0,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

test('graphql-sse client receives bullPenEvents after mutations', async (t) => {
  const room = await srv.setupRoom();
  const { owner, alice } = room;
  const client = sseClient(owner.token);
  t.after(() => client.dispose());
  const start = await srv.lastSequence(room.id, owner.token);

  const rec = new Recorder('sse owner', 'bullPenEvents');
  // Over SSE (POST, JSON body) afterSequence can be a variable.
  const stop = client.subscribe({ query: BULLPEN_EVENTS, variables: { id: room.id, after: start } }, rec);
  t.after(() => stop());

  const order = await srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 8 });
  assert.equal(order.status, 'FILLED');
  await srv.move('pause', room.id, owner.token);
  await rec.waitFor((e) => e.__typename === 'RoomStateEvent' && e.state === 'PAUSED', 5000, 'pause');
  const fill = rec.values.find((e) => e.__typename === 'OrderEvent' && e.order.id === order.id);
  assert.equal(fill?.kind, 'FILLED');
  assert.equal(fill.order.filledPrice, '100.00');
  const pos = rec.values.find((e) => e.__typename === 'PositionEvent');
  assert.equal(pos?.participantId, alice.participantId);
  assert.equal(pos.position.quantity, 8);
  assert.equal(nonIncreasing(rec.values.map((e) => e.sequence)), null);
  assert.equal(rec.values[0].sequence, start + 1);
  const log = await srv.eventLog(room.id, owner.token, start);
  const last = rec.values.at(-1).sequence;
  assert.deepEqual(rec.values, log.filter((e) => e.sequence <= last), 'the owner\'s stream is the log');
  assert.deepEqual(rec.errors, []);
});

test('graphql-sse client: iterate() yields the replayed events', async (t) => {
  const room = await srv.setupRoom();
  const client = sseClient(room.owner.token);
  t.after(() => client.dispose());
  await srv.placeOrder(room.bob.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 1 });
  const last = await srv.lastSequence(room.id, room.owner.token);
  const results = await collect(client.iterate({ query: BULLPEN_EVENTS, variables: { id: room.id, after: 0 } }), last, 5000);
  assert.deepEqual(results.map((r) => r.data.bullPenEvents.sequence), Array.from({ length: last }, (_, i) => i + 1));
});

test('graphql-sse: an anonymous orderUpdates subscription gets FORBIDDEN', async (t) => {
  const room = await srv.setupRoom();
  const client = sseClient(null);
  t.after(() => client.dispose());
  const rec = new Recorder('sse anonymous');
  const stop = client.subscribe({ query: 'subscription($id: ID!) { orderUpdates(bullPenId: $id) { sequence } }', variables: { id: room.id } }, rec);
  t.after(() => stop());
  await rec.until((r) => r.completed || r.errors.length, 5000, 'the stream to end');
  // The server answers like graphql-sse's own server: one `next` event
  // carrying the errors, then `complete`.
  const errors = rec.values[0]?.errors ?? rec.errors[0];
  assert.ok(Array.isArray(errors), JSON.stringify({ values: rec.values, errors: rec.errors }));
  assert.equal(errors[0].extensions?.code, 'FORBIDDEN');
  assert.equal(rec.values[0]?.data ?? null, null);
});

test('SSE over GET with an Int variable (afterSequence)', async (t) => {
  const room = await srv.setupRoom();
  const ac = new AbortController();
  t.after(() => ac.abort());
  const url = new URL(srv.url);
  url.searchParams.set('query', 'subscription($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { sequence } }');
  url.searchParams.set('variables', JSON.stringify({ id: room.id, after: 0 }));
  const res = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${room.owner.token}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  let text = '';
  await withTimeout((async () => {
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
  })(), 5000, 'first SSE event');
  const data = JSON.parse(text.match(/^data: (.*)$/m)[1]);
  assert.deepEqual(data, { data: { bullPenEvents: { sequence: 1 } } });
});
