// The graphql-ws client (graphql-transport-ws protocol) against the server:
// who sees which room events, in which order, and how fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer, wsClient, record, warmUp, now, nonIncreasing, eventParticipant, BULLPEN_EVENTS,
} from './helpers.mjs';

const srv = useServer();

const ORDER_UPDATES = `subscription($id: ID!) {
  orderUpdates(bullPenId: $id) { sequence bullPenId kind order { id status filledPrice participant { id } } }
}`;
const POSITION_UPDATES = `subscription($id: ID!) {
  positionUpdates(bullPenId: $id) { sequence bullPenId participantId position { symbol quantity averageCost } }
}`;

const isRoomWide = (ev) => ev.__typename === 'LeaderboardEvent' || ev.__typename === 'RoomStateEvent';

/** What a viewer may see of the log, by the contract's rules. */
function visible(log, { owner = false, participantId = null, member = false, tradesPublic = false }) {
  return log.filter((ev) => {
    if (isRoomWide(ev)) return true;
    if (owner) return true;
    if (!member) return false;
    return tradesPublic || eventParticipant(ev) === participantId;
  });
}

/** Latency rows: from the mutation's HTTP response (and request start) to each client's arrival. */
function latencies(label, t0, t1, recorders, pred) {
  const rows = [];
  for (const rec of recorders) {
    const i = rec.values.findIndex(pred);
    if (i < 0) continue;
    rows.push({ action: label, client: rec.name, afterResponseMs: +(rec.times[i] - t1).toFixed(2), afterRequestMs: +(rec.times[i] - t0).toFixed(2) });
  }
  return rows;
}

async function timed(fn) {
  const t0 = now();
  const result = await fn();
  return { result, t0, t1: now() };
}

const upTo = (rec, seq) => rec.values.filter((ev) => ev.sequence <= seq);

test('tradeVisibility PRIVATE: owner sees every trade, members their own, spectators only room-wide events', async (t) => {
  const room = await srv.setupRoom({ tradeVisibility: 'PRIVATE' });
  const { owner, alice, bob } = room;
  const clients = {
    owner: wsClient(srv, owner.token),
    alice: wsClient(srv, alice.token),
    bob: wsClient(srv, bob.token),
    anonymous: wsClient(srv, null),
  };
  t.after(() => Promise.all(Object.values(clients).map((c) => c.dispose())));

  const start = await srv.lastSequence(room.id, owner.token);
  const ev = {};
  for (const [who, c] of Object.entries(clients)) {
    ev[who] = record(c, who, BULLPEN_EVENTS, { id: room.id, after: start }, 'bullPenEvents');
  }
  const alicePositions = record(clients.alice, 'alice positionUpdates', POSITION_UPDATES, { id: room.id }, 'positionUpdates');
  const aliceOrders = record(clients.alice, 'alice orderUpdates', ORDER_UPDATES, { id: room.id }, 'orderUpdates');
  // orderUpdates has no resume point: make sure it is live with a rejected
  // order (selling shares alice does not hold) before relying on it.
  await warmUp(aliceOrders,
    () => srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'SELL', quantity: 1 }),
    (o) => o.kind === 'REJECTED');

  // alice: MARKET buy fills at once at the set price.
  const buy = await timed(() => srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 10 }));
  assert.equal(buy.result.status, 'FILLED');
  assert.equal(buy.result.filledPrice, '100.00');
  // bob: LIMIT buy below the market rests OPEN.
  const limit = await timed(() => srv.placeOrder(bob.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', type: 'LIMIT', quantity: 5, limitPrice: '95.00' }));
  assert.equal(limit.result.status, 'OPEN');
  // The admin moves the price through bob's limit: it fills at the market price.
  const move = await timed(() => srv.setQuote('AAPL', '94.50'));

  // The leaderboard loop publishes a snapshot of the final standings:
  // bob 100000 - 472.50 + 5 * 94.50 = 100000.00, alice 100000 - 1000 + 10 * 94.50 = 99945.00.
  const lb = await ev.anonymous.waitFor((e) => e.__typename === 'LeaderboardEvent' &&
    e.snapshot.entries.some((x) => x.participantId === bob.participantId && x.portfolioValue === '100000.00') &&
    e.snapshot.entries.some((x) => x.participantId === alice.participantId && x.portfolioValue === '99945.00'), 8000, 'final leaderboard');
  assert.deepEqual(lb.value.snapshot.entries.map((x) => [x.rank, x.participantId, x.portfolioValue]),
    [[1, bob.participantId, '100000.00'], [2, alice.participantId, '99945.00']]);

  const pause = await timed(() => srv.move('pause', room.id, owner.token));
  assert.equal(pause.result.state, 'PAUSED');
  const resume = await timed(() => srv.move('resume', room.id, owner.token));
  assert.equal(resume.result.state, 'ACTIVE');

  const isResume = (e) => e.__typename === 'RoomStateEvent' && e.previousState === 'PAUSED' && e.state === 'ACTIVE';
  const resumed = await Promise.all(Object.values(ev).map((r) => r.waitFor(isResume, 5000, 'the resume event')));
  const end = resumed[0].value.sequence;
  for (const r of resumed) assert.equal(r.value.sequence, end);

  // Compare every stream with the stored log filtered by the contract's rules.
  const log = (await srv.eventLog(room.id, owner.token, start)).filter((e) => e.sequence <= end);
  assert.deepEqual(log.map((e) => e.sequence), Array.from({ length: end - start }, (_, i) => start + i + 1), 'the owner reads a gap-free log');
  assert.deepEqual(upTo(ev.owner, end), visible(log, { owner: true }), 'owner stream = whole log');
  assert.deepEqual(upTo(ev.alice, end), visible(log, { member: true, participantId: alice.participantId }), 'alice stream');
  assert.deepEqual(upTo(ev.bob, end), visible(log, { member: true, participantId: bob.participantId }), 'bob stream');
  assert.deepEqual(upTo(ev.anonymous, end), visible(log, {}), 'anonymous stream');

  // The same, spelled out.
  const kinds = (rec, pid) => upTo(rec, end).filter((e) => eventParticipant(e) === pid)
    .map((e) => (e.__typename === 'OrderEvent' ? `${e.kind}:${e.order.id}` : `POSITION:${e.position.symbol}:${e.position.quantity}`));
  // The warm-up probes: alice's rejected orders, all in the log; orderUpdates
  // has the ones after it went live.
  const rejected = log.filter((e) => e.kind === 'REJECTED' && eventParticipant(e) === alice.participantId).map((e) => `REJECTED:${e.order.id}`);
  const rejectedLive = rejected.slice(rejected.length - aliceOrders.values.filter((o) => o.kind === 'REJECTED').length);
  assert.ok(rejectedLive.length >= 1);
  assert.deepEqual(kinds(ev.owner, alice.participantId), [...rejected, `FILLED:${buy.result.id}`, 'POSITION:AAPL:10']);
  assert.deepEqual(kinds(ev.owner, bob.participantId), [`ACCEPTED:${limit.result.id}`, `FILLED:${limit.result.id}`, 'POSITION:AAPL:5']);
  assert.deepEqual(kinds(ev.alice, alice.participantId), [...rejected, `FILLED:${buy.result.id}`, 'POSITION:AAPL:10']);
  assert.deepEqual(kinds(ev.alice, bob.participantId), [], 'alice must not see bob\'s trades');
  assert.deepEqual(kinds(ev.bob, alice.participantId), [], 'bob must not see alice\'s trades');
  assert.deepEqual(kinds(ev.bob, bob.participantId), [`ACCEPTED:${limit.result.id}`, `FILLED:${limit.result.id}`, 'POSITION:AAPL:5']);
  assert.ok(ev.anonymous.values.every(isRoomWide), 'anonymous sees only LEADERBOARD and ROOM_STATE events');
  const bobFill = ev.owner.values.find((e) => e.__typename === 'OrderEvent' && e.order.id === limit.result.id && e.kind === 'FILLED');
  assert.equal(bobFill.order.filledPrice, '94.50');

  for (const [who, rec] of Object.entries(ev)) {
    assert.equal(nonIncreasing(rec.values.map((e) => e.sequence)), null, `${who}: sequences strictly increase`);
    const states = upTo(rec, end).filter((e) => e.__typename === 'RoomStateEvent')
      .map((e) => [e.previousState, e.state, e.trigger, e.actor?.username]);
    assert.deepEqual(states, [['ACTIVE', 'PAUSED', 'MANUAL', owner.user.username], ['PAUSED', 'ACTIVE', 'MANUAL', owner.user.username]], `${who}: room-state events`);
    assert.deepEqual(rec.errors, [], `${who}: no errors`);
  }

  // The specific subscriptions carry the same events as bullPenEvents.
  assert.deepEqual(aliceOrders.values.map((o) => `${o.kind}:${o.order.id}`), [...rejectedLive, `FILLED:${buy.result.id}`]);
  assert.deepEqual(alicePositions.values.map((p) => [p.participantId, p.position.symbol, p.position.quantity, p.position.averageCost]),
    [[alice.participantId, 'AAPL', 10, '100.00']]);
  const aliceFill = ev.alice.values.find((e) => e.__typename === 'OrderEvent' && e.kind === 'FILLED');
  assert.equal(aliceOrders.values.find((o) => o.kind === 'FILLED').sequence, aliceFill.sequence);

  const all = Object.values(ev);
  const rows = [
    ...latencies('alice MARKET buy -> FILLED', buy.t0, buy.t1, [...all, aliceOrders], (e) => e.kind === 'FILLED' && e.order.id === buy.result.id),
    ...latencies('alice MARKET buy -> position', buy.t0, buy.t1, [ev.owner, ev.alice, alicePositions], (e) => e.position && e.participantId === alice.participantId),
    ...latencies('bob LIMIT -> ACCEPTED', limit.t0, limit.t1, all, (e) => e.kind === 'ACCEPTED' && e.order.id === limit.result.id),
    ...latencies('setQuote -> bob FILLED', move.t0, move.t1, all, (e) => e.kind === 'FILLED' && e.order.id === limit.result.id),
    ...latencies('pauseBullPen -> RoomState', pause.t0, pause.t1, all, (e) => e.__typename === 'RoomStateEvent' && e.state === 'PAUSED'),
    ...latencies('resumeBullPen -> RoomState', resume.t0, resume.t1, all, isResume),
  ];
  console.log('graphql-ws latency (ms; negative = the event beat the HTTP response):');
  console.table(rows);
});

test('tradeVisibility PUBLIC: members see each other\'s trades, spectators still do not', async (t) => {
  const room = await srv.setupRoom({ tradeVisibility: 'PUBLIC' });
  const { owner, alice, bob } = room;
  const clients = { alice: wsClient(srv, alice.token), bob: wsClient(srv, bob.token), anonymous: wsClient(srv, null) };
  t.after(() => Promise.all(Object.values(clients).map((c) => c.dispose())));
  const start = await srv.lastSequence(room.id, owner.token);
  const ev = {};
  for (const [who, c] of Object.entries(clients)) ev[who] = record(c, who, BULLPEN_EVENTS, { id: room.id, after: start }, 'bullPenEvents');
  const aliceOrders = record(clients.alice, 'alice orderUpdates', ORDER_UPDATES, { id: room.id }, 'orderUpdates');
  await warmUp(aliceOrders,
    () => srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'SELL', quantity: 1 }),
    (o) => o.kind === 'REJECTED');

  const a = await srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 3 });
  const b = await srv.placeOrder(bob.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 7 });
  assert.equal(a.status, 'FILLED');
  assert.equal(b.status, 'FILLED');
  await aliceOrders.waitFor((o) => o.kind === 'FILLED' && o.order.id === b.id, 5000, 'bob\'s fill on alice\'s orderUpdates');
  await srv.move('pause', room.id, owner.token);
  const paused = await Promise.all(Object.values(ev).map((r) => r.waitFor((e) => e.__typename === 'RoomStateEvent' && e.state === 'PAUSED', 5000, 'pause event')));
  const end = paused[0].value.sequence;

  const log = (await srv.eventLog(room.id, owner.token, start)).filter((e) => e.sequence <= end);
  assert.deepEqual(upTo(ev.alice, end), visible(log, { member: true, participantId: alice.participantId, tradesPublic: true }));
  assert.deepEqual(upTo(ev.bob, end), visible(log, { member: true, participantId: bob.participantId, tradesPublic: true }));
  assert.deepEqual(upTo(ev.anonymous, end), visible(log, {}));
  // Spelled out: alice sees bob's order and position; the spectator none.
  const bobs = ev.alice.values.filter((e) => eventParticipant(e) === bob.participantId)
    .map((e) => (e.__typename === 'OrderEvent' ? `${e.kind}:${e.order.id}` : `POSITION:${e.position.quantity}`));
  assert.deepEqual(bobs, [`FILLED:${b.id}`, 'POSITION:7']);
  assert.ok(ev.bob.values.some((e) => eventParticipant(e) === alice.participantId && e.kind === 'FILLED'), 'bob sees alice\'s fill');
  assert.ok(ev.anonymous.values.every(isRoomWide), 'anonymous sees no trades');
  assert.ok(ev.anonymous.values.some((e) => e.__typename === 'RoomStateEvent'), 'anonymous sees the room state');
  for (const [who, rec] of Object.entries(ev)) {
    assert.equal(nonIncreasing(rec.values.map((e) => e.sequence)), null, `${who}: sequences strictly increase`);
  }
});

test('PRIVATE room: spectators and non-members get NOT_FOUND (as for an unknown id), members get events', async (t) => {
  const room = await srv.setupRoom({ visibility: 'PRIVATE' });
  const { owner, alice } = room;
  const carol = await srv.signUpUser('carol');
  const clients = { anonymous: wsClient(srv, null), carol: wsClient(srv, carol.token), alice: wsClient(srv, alice.token) };
  t.after(() => Promise.all(Object.values(clients).map((c) => c.dispose())));
  const start = await srv.lastSequence(room.id, owner.token);

  const refused = [
    record(clients.anonymous, 'anonymous bullPenEvents', BULLPEN_EVENTS, { id: room.id, after: start }, 'bullPenEvents'),
    record(clients.carol, 'carol bullPenEvents', BULLPEN_EVENTS, { id: room.id }, 'bullPenEvents'),
    record(clients.carol, 'carol orderUpdates', ORDER_UPDATES, { id: room.id }, 'orderUpdates'),
    record(clients.anonymous, 'anonymous orderUpdates', ORDER_UPDATES, { id: room.id }, 'orderUpdates'),
  ];
  const member = record(clients.alice, 'alice', BULLPEN_EVENTS, { id: room.id, after: start }, 'bullPenEvents');
  for (const rec of refused) {
    const err = await rec.waitError(5000);
    // graphql-ws hands the `error` message's payload (the GraphQL errors) to sink.error.
    assert.ok(Array.isArray(err), `${rec.name}: sink.error gets the GraphQL errors array, got ${JSON.stringify(err)}`);
    assert.equal(err[0].extensions?.code, 'NOT_FOUND', `${rec.name}: ${JSON.stringify(err)}`);
    assert.deepEqual(rec.values, [], `${rec.name}: no data`);
  }
  // The refused subscriptions did not close the sockets: they still work.
  const pubRoom = await srv.setupRoom({ tradeVisibility: 'PRIVATE' });
  const anonOrders = record(clients.anonymous, 'anonymous orderUpdates (public room)', ORDER_UPDATES, { id: pubRoom.id }, 'orderUpdates');
  const anonEvents = record(clients.anonymous, 'anonymous bullPenEvents (public room)', BULLPEN_EVENTS, { id: pubRoom.id, after: 0 }, 'bullPenEvents');
  const anonErr = await anonOrders.waitError(5000);
  assert.equal(anonErr[0].extensions?.code, 'FORBIDDEN', JSON.stringify(anonErr));
  await anonEvents.waitFor((e) => e.__typename === 'RoomStateEvent' && e.state === 'ACTIVE', 5000, 'public room start (replayed)');

  const order = await srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 1 });
  await srv.move('pause', room.id, owner.token);
  await member.waitFor((e) => e.__typename === 'RoomStateEvent' && e.state === 'PAUSED', 5000, 'pause event');
  assert.ok(member.values.some((e) => e.__typename === 'OrderEvent' && e.order.id === order.id && e.kind === 'FILLED'), 'member sees own fill');
  assert.deepEqual(member.errors, []);
});

test('roomStateChanged and leaderboardUpdates reach an anonymous spectator of a PUBLIC room', async (t) => {
  const room = await srv.setupRoom();
  const { owner, alice, bob } = room;
  const anon = wsClient(srv, null);
  t.after(() => anon.dispose());
  const lb = record(anon, 'anonymous leaderboardUpdates', `subscription($id: ID!) {
    leaderboardUpdates(bullPenId: $id) { sequence bullPenId snapshot { final entries { rank participantId portfolioValue cash } } }
  }`, { id: room.id }, 'leaderboardUpdates');
  const rs = record(anon, 'anonymous roomStateChanged', `subscription($id: ID!) {
    roomStateChanged(bullPenId: $id) { sequence bullPenId previousState state trigger actor { username } startsAt endsAt elapsedSeconds remainingSeconds }
  }`, { id: room.id }, 'roomStateChanged');
  // No resume point: toggle the room until the spectator sees a move.
  let state = 'ACTIVE';
  await warmUp(rs, async () => {
    state = state === 'ACTIVE' ? 'PAUSED' : 'ACTIVE';
    await srv.move(state === 'PAUSED' ? 'pause' : 'resume', room.id, owner.token);
  }, () => true);
  if (state === 'PAUSED') {
    await srv.move('resume', room.id, owner.token);
    await rs.waitFor((e) => e.state === 'ACTIVE', 5000, 'resume');
  }
  const moves = rs.values.map((e) => `${e.previousState}->${e.state}`);
  for (let i = 1; i < moves.length; i++) assert.notEqual(moves[i], moves[i - 1], 'moves alternate');
  const last = rs.values.at(-1);
  assert.equal(last.bullPenId, room.id);
  assert.equal(last.trigger, 'MANUAL');
  assert.equal(last.actor.username, owner.user.username);
  assert.ok(last.remainingSeconds > 3000 && last.remainingSeconds <= 7200, `remainingSeconds ${last.remainingSeconds}`);
  assert.ok(last.elapsedSeconds >= 0);

  // A price move after alice's buy separates the standings; the loop publishes them.
  await srv.placeOrder(alice.token, { bullPenId: room.id, symbol: 'AAPL', side: 'BUY', quantity: 100 });
  await srv.setQuote('AAPL', '110.00');
  const snap = await lb.waitFor((e) => e.snapshot.entries.some((x) => x.portfolioValue === '101000.00'), 8000, 'standings after the price move');
  assert.deepEqual(snap.value.snapshot.entries.map((x) => [x.rank, x.participantId, x.portfolioValue, x.cash]),
    [[1, alice.participantId, '101000.00', '90000.00'], [2, bob.participantId, '100000.00', '100000.00']]);
  assert.equal(snap.value.snapshot.final, false);
  assert.deepEqual([...lb.errors, ...rs.errors], []);
  assert.equal(nonIncreasing([...lb.values, ...rs.values].map((e) => e.sequence).sort((a, b) => a - b)), null, 'no event twice');
});

test('Int variables over WebSocket are exact: afterSequence: $after replays, a negative one is BAD_USER_INPUT', async (t) => {
  // Regression: the transport once decoded subscribe payloads without
  // UseNumber, so every Int variable failed with INTERNAL_SERVER_ERROR.
  const room = await srv.setupRoom();
  const client = wsClient(srv, room.owner.token);
  t.after(() => client.dispose());
  const rec = record(client, 'owner (afterSequence: 0)', BULLPEN_EVENTS, { id: room.id, after: 0 }, 'bullPenEvents');
  const first = await rec.waitFor(() => true, 5000, 'the replayed start');
  assert.equal(first.value.sequence, 1);
  assert.equal(first.value.__typename, 'RoomStateEvent');
  const bad = record(client, 'owner (afterSequence: -1)', BULLPEN_EVENTS, { id: room.id, after: -1 }, 'bullPenEvents');
  const err = await bad.waitError(5000);
  assert.equal(err[0].extensions?.code, 'BAD_USER_INPUT', JSON.stringify(err));
  assert.deepEqual(rec.errors, []);
});
