// Unit tests of the room page's model (no browser): events applied once,
// rank moves, the tape, and exact money formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomModel, countdown, money } from '../src/room/model.js';

const entry = (pid, rank, value) => ({ rank, participantId: pid, user: { username: `u${pid}`, displayName: '' }, portfolioValue: value, cash: value, totalReturn: '0', returnPercent: '0' });
const board = (seq, entries, final = false) => ({ __typename: 'LeaderboardEvent', sequence: seq, occurredAt: '2026-01-01T00:00:00.000Z', snapshot: { id: String(seq), takenAt: `2026-01-01T00:00:0${seq}.000Z`, final, entries } });
const fill = (seq, id) => ({ __typename: 'OrderEvent', sequence: seq, occurredAt: '2026-01-01T00:00:00.000Z', kind: 'FILLED',
  order: { id, symbol: 'AAPL', side: 'BUY', type: 'MARKET', quantity: 3, filledQuantity: 3, filledPrice: '101.50', participant: { id: '1', user: { username: 'bob' } } } });

test('each event is applied once, in sequence order', () => {
  const m = new RoomModel({ state: 'ACTIVE' });
  assert.equal(m.apply(board(1, [entry('1', 1, '100'), entry('2', 2, '90')])), true);
  assert.equal(m.apply(board(1, [entry('1', 1, '100'), entry('2', 2, '90')])), false);
  assert.equal(m.apply({ __typename: 'RoomStateEvent', sequence: 2, occurredAt: 'x', previousState: 'ACTIVE', state: 'PAUSED', trigger: 'MANUAL', startsAt: 'a', endsAt: 'b', actor: { username: 'alice' } }), true);
  assert.equal(m.apply(board(1, [])), false, 'an older sequence after a newer one is a replayed overlap');
  assert.equal(m.room.state, 'PAUSED');
  assert.deepEqual(m.feed.map((f) => f.seq), [2, 1]);
  assert.match(m.feed[0].text, /ACTIVE → PAUSED by alice/);
});

test('rank moves are kept until the next change, flashes only on the change', () => {
  const m = new RoomModel({});
  m.apply(board(1, [entry('1', 1, '100'), entry('2', 2, '90')]));
  assert.equal(m.moves.size, 0);
  m.apply(board(2, [entry('2', 1, '120'), entry('1', 2, '100')]));
  assert.equal(m.moves.get('2'), 1);
  assert.equal(m.moves.get('1'), -1);
  assert.deepEqual([...m.flashed].sort(), ['1', '2']);
  m.apply(board(3, [entry('2', 1, '121'), entry('1', 2, '100')]));
  assert.equal(m.moves.get('2'), 1, 'still the last change');
  assert.equal(m.flashed.size, 0);
  // A history snapshot already seen (by sequence) is not added twice.
  m.addSnapshot(3, board(3, []).snapshot);
  assert.equal(m.snapshots.length, 3);
  const c = m.curves(5);
  assert.deepEqual(c.ids, ['2', '1']);
  assert.deepEqual(c.data, [[1767225601, 1767225602, 1767225603], [90, 120, 121], [100, 100, 100]]);
});

test('fills go on the tape once per order, newest first', () => {
  const m = new RoomModel({});
  m.addFill(fill(0, '7').order, null, '2026-01-01T00:00:00.000Z');
  m.apply(fill(5, '7'));
  m.apply(fill(6, '8'));
  assert.deepEqual(m.trades.map((t) => t.id), ['8', '7']);
  assert.equal(m.trades[0].price, '101.50');
  assert.deepEqual(m.feed.map((f) => f.seq), [6, 5]);
});

test('money groups digits without rounding; countdown', () => {
  assert.equal(money('1234567.891'), '1,234,567.891');
  assert.equal(money('-1000'), '-1,000');
  assert.equal(money('999.99'), '999.99');
  assert.equal(money(null), '–');
  assert.equal(countdown(90_061_000, 0), '1d 01:01:01');
  assert.equal(countdown(0, 5000), '00:00:00');
});
