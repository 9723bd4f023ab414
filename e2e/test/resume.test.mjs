// Resuming bullPenEvents with afterSequence after the socket died mid-stream:
// the union of both streams is the whole log, once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, wsClient, record, BULLPEN_EVENTS, nonIncreasing } from './helpers.mjs';

const srv = useServer();

test('owner resumes bullPenEvents after a dropped socket with no gap and no duplicate', async (t) => {
  const room = await srv.setupRoom();
  const { owner, alice, bob } = room;
  const buy = (who, quantity) => srv.placeOrder(who.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity });

  const first = wsClient(srv, owner.token);
  t.after(() => first.dispose());
  // From the very beginning: sequence 1 is the room's start.
  const a = record(first, 'owner #1', BULLPEN_EVENTS, { id: room.id, after: 0 }, 'bullPenEvents');
  await a.waitFor((e) => e.sequence === 1 && e.__typename === 'RoomStateEvent', 5000, 'replayed start event');

  // Live events while connected.
  for (let i = 1; i <= 3; i++) await buy(alice, i);
  await buy(bob, 4);
  const live = await srv.lastSequence(room.id, owner.token);
  await a.until((r) => r.values.at(-1)?.sequence >= live, 5000, `sequence ${live}`);

  // Kill the socket mid-stream: events keep coming while it dies.
  const during = Promise.all([buy(alice, 5), buy(bob, 6), srv.setQuote('AAPL', '101.00')]);
  first.terminate();
  await during;
  const lastSeen = a.values.at(-1).sequence;
  // More events while nobody listens, including a leaderboard and both room moves.
  for (let i = 7; i <= 9; i++) await buy(i % 2 ? alice : bob, i);
  await srv.setQuote('AAPL', '102.50');
  await srv.move('pause', room.id, owner.token);
  await srv.move('resume', room.id, owner.token);
  const offline = await srv.lastSequence(room.id, owner.token);
  assert.ok(offline > lastSeen, 'events happened while disconnected');

  const second = wsClient(srv, owner.token);
  t.after(() => second.dispose());
  const b = record(second, 'owner #2', BULLPEN_EVENTS, { id: room.id, after: lastSeen }, 'bullPenEvents');
  await b.until((r) => r.values.at(-1)?.sequence >= offline, 5000, `replay up to ${offline}`);
  // And it continues live after the replay.
  await srv.move('pause', room.id, owner.token);
  await b.waitFor((e) => e.__typename === 'RoomStateEvent' && e.state === 'PAUSED' && e.sequence > offline, 5000, 'a live event after the replay');

  const final = await srv.lastSequence(room.id, owner.token);
  await b.until((r) => r.values.at(-1)?.sequence >= final, 5000, `sequence ${final}`);
  const union = [...a.values, ...b.values].map((e) => e.sequence);
  console.log(`resume: first stream 1..${lastSeen} (${a.values.length} events), resumed after ${lastSeen}, ${b.values.length} events up to ${final}`);
  assert.equal(nonIncreasing(union), null, 'in order, no duplicate');
  assert.deepEqual(union, Array.from({ length: final }, (_, i) => i + 1), 'every sequence from 1 to lastSequence exactly once');
  // The replayed events are the stored ones.
  const log = await srv.eventLog(room.id, owner.token, 0);
  assert.deepEqual([...a.values, ...b.values], log.filter((e) => e.sequence <= final));
  assert.deepEqual(b.errors, []);
  // graphql-ws reports the terminated socket to the first stream's sink.
  assert.ok(a.errors.length <= 1, JSON.stringify(a.errors));
});
