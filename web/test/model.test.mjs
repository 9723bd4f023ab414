// Unit tests of the room page's model (no browser): events applied once,
// rank moves, the tape, recent history, fixed colours, the seat at live
// prices, and exact number formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';

// Axis labels are in local time: pin it, so the expected labels hold anywhere.
process.env.TZ = 'UTC';

const {
  RoomModel, PALETTE, clockLabels, countdown, marketAt, money, moneyLabels, percent, playerColor, quantity, signedMoney, tick, tone, valueSeat,
} = await import('../src/room/model.js');

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

test("a margin call's forced fill (LIQUIDATED) goes on the tape and reads as a fill", () => {
  const m = new RoomModel({});
  m.apply({ ...fill(3, '9'), kind: 'LIQUIDATED' });
  assert.deepEqual(m.trades.map((t) => t.id), ['9']);
  assert.match(m.feed[0].text, /liquidated: BUY 3 AAPL MARKET @ 101\.50/);
});

test('money is to the cent, grouped, rounded half-even, with a real minus sign', () => {
  assert.equal(money('1234567.891'), '1,234,567.89');
  assert.equal(money('1234567.895'), '1,234,567.90');
  assert.equal(money('0.125'), '0.12', 'half-even');
  assert.equal(money('0.135'), '0.14', 'half-even');
  assert.equal(money('-1000'), '\u22121,000.00');
  assert.equal(money('-0.004'), '0.00', 'no sign on what rounds to zero');
  assert.equal(money('999.99'), '999.99');
  assert.equal(money('189.5'), '189.50');
  assert.equal(money('100000'), '100,000.00');
  assert.equal(money(null), '–');
  assert.equal(money('not a number'), '–');
  // Exact past a float's digits.
  assert.equal(money('12345678901234567.125'), '12,345,678,901,234,567.12');
});

test('changes carry their sign; percentages have two places', () => {
  assert.equal(signedMoney('12.5'), '+12.50');
  assert.equal(signedMoney('-3'), '\u22123.00');
  assert.equal(signedMoney('0'), '0.00');
  assert.equal(signedMoney('0.001'), '0.00', 'a gain that rounds to nothing has no sign');
  // The examples: 5.677%, 3.5596%, 0.0002%.
  assert.equal(percent('5.677'), '+5.68%');
  assert.equal(percent('3.5596'), '+3.56%');
  assert.equal(percent('0.0002'), '0.00%');
  assert.equal(percent('-0.0002'), '0.00%');
  assert.equal(percent('-12.3456'), '\u221212.35%');
  assert.equal(percent('0'), '0.00%');
  assert.equal(percent(null), '–');
  assert.equal(tone('5.677'), 'pos');
  assert.equal(tone('-0.01'), 'neg');
  assert.equal(tone('-0.004'), '', 'the colour follows what is shown');
  assert.equal(tone(null), '');
  assert.equal(quantity(1500), '1,500');
  assert.equal(quantity(-20), '\u221220');
});

test('countdown', () => {
  assert.equal(countdown(90_061_000, 0), '1d 01:01:01');
  assert.equal(countdown(0, 5000), '00:00:00');
});

test('a quote counts its change from the previous tick, exactly', () => {
  let q = { symbol: 'AAPL', price: '190.00', at: null, change: null, changePercent: null }; // as read on load
  q = tick(q, { symbol: 'AAPL', price: '191.90', at: 't1' });
  assert.equal(q.change, '1.9');
  assert.equal(q.changePercent, '1');
  q = tick(q, { symbol: 'AAPL', price: '191.80', at: 't2' });
  assert.equal(q.change, '-0.1', 'from the previous tick, not the first price');
  assert.equal(signedMoney(q.change), '\u22120.10');
  assert.equal(percent(q.changePercent), '\u22120.05%');
  assert.equal(tick(q, { symbol: 'AAPL', price: '191.80', at: 't2' }), q, 'the same tick twice changes nothing');
  // A symbol with no price before has no change yet.
  assert.equal(tick({ symbol: 'X', price: null }, { symbol: 'X', price: '5', at: 't' }).change, null);
  assert.equal(tick(undefined, { symbol: 'X', price: '5', at: 't' }).change, null);
  // 0.1 + 0.2 style: exact.
  assert.equal(tick({ price: '0.1' }, { symbol: 'X', price: '0.3', at: 't' }).change, '0.2');
});

test('a seat is valued at the live prices, longs and shorts as the server does', () => {
  const seat = {
    cash: '8100.00', buyingPower: '7000', rank: 2, portfolioValue: 'stale', totalReturn: 'stale', returnPercent: 'stale',
    positions: [
      { symbol: 'AAPL', quantity: 10, averageCost: '190', costBasis: '1900.00', marketPrice: '190.00', marketValue: '1900.00', unrealizedPnl: '0' },
      { symbol: 'MSFT', quantity: -5, averageCost: '400', costBasis: '2000.00', marketPrice: '400.00', marketValue: '-2000.00', unrealizedPnl: '0' },
      { symbol: 'NVDA', quantity: 0, averageCost: '0', costBasis: '0', marketPrice: '120', marketValue: '0', unrealizedPnl: '0' },
    ],
  };
  const v = valueSeat(seat, { AAPL: '195.55', MSFT: '390.10' }, '10000');
  assert.deepEqual(v.positions.map((p) => [p.symbol, p.marketPrice, p.marketValue, p.unrealizedPnl]), [
    ['AAPL', '195.55', '1955.5', '55.5'],
    ['MSFT', '390.10', '-1950.5', '49.5'], // a short gains as the price falls
  ]);
  // 8100 + 1955.50 - 1950.50
  assert.equal(v.portfolioValue, '8105');
  assert.equal(v.totalReturn, '-1895');
  assert.equal(percent(v.returnPercent), '\u221218.95%');
  assert.equal(v.cash, '8100.00');
  assert.equal(v.rank, 2);
  // A symbol without a live price keeps the server's.
  assert.equal(valueSeat(seat, {}, '10000').portfolioValue, '8000');
});

test('recent history fills the feed on load, and the stream resumes after it', () => {
  const m = new RoomModel({ state: 'ACTIVE' });
  m.load([fill(8, '1'), board(9, [entry('1', 1, '100')]), { __typename: 'RoomStateEvent', sequence: 11, occurredAt: 'x', previousState: 'ACTIVE', state: 'ENDED', trigger: 'MANUAL', startsAt: 'a', endsAt: 'b', actor: { username: 'alice' } }], 7, 12);
  assert.deepEqual(m.feed.map((f) => f.seq), [11, 9, 8]);
  assert.equal(m.room.state, 'ENDED');
  assert.equal(m.lastSeq, 12, 'lastSequence when it is later than the history');
  assert.equal(m.apply(fill(12, '2')), false);
  assert.equal(m.apply(fill(13, '2')), true);
  assert.equal(m.flashed.size, 0, 'nothing flashes on opening the page');
  assert.match(m.feed.find((f) => f.seq === 8).text, /bob filled: BUY 3 AAPL MARKET @ 101\.50/);
});

test('each player keeps one colour, whatever their rank', () => {
  const m = new RoomModel({});
  m.apply(board(1, [entry('10', 1, '100'), entry('9', 2, '90'), entry('11', 3, '80')]));
  const before = ['9', '10', '11'].map((id) => m.colorOf(id));
  assert.deepEqual(before, PALETTE.slice(0, 3), 'in the order of joining (ids), not of rank');
  m.apply(board(2, [entry('11', 1, '130'), entry('9', 2, '120'), entry('10', 3, '100'), entry('12', 4, '90')]));
  assert.deepEqual(['9', '10', '11'].map((id) => m.colorOf(id)), before);
  assert.equal(m.colorOf('12'), PALETTE[3]);
  const c = m.curves(2);
  assert.deepEqual(c.ids, ['11', '9']);
  assert.deepEqual(c.colors, [m.colorOf('11'), m.colorOf('9')]);
  assert.deepEqual(c.values, [['80', '130'], ['90', '120']]);
  // Past the palette, colours still differ.
  assert.notEqual(playerColor(10), playerColor(11));
  assert.ok(!PALETTE.includes(playerColor(10)));
});

test('axis labels: a clock that follows the tick spacing, dollars on the value axis', () => {
  const t = Date.UTC(2026, 11, 5, 14, 5, 30) / 1000;
  assert.deepEqual(clockLabels([t, t + 30], 30), ['14:05:30', '14:06:00']);
  assert.deepEqual(clockLabels([t - 30, t + 270], 300), ['14:05', '14:10']);
  assert.deepEqual(clockLabels([t], 86400), ['5 Dec']);
  assert.deepEqual(moneyLabels([99800, 100000.00000001, 100200], 200), ['$99,800', '$100,000', '$100,200']);
  assert.deepEqual(moneyLabels([10.25, 10.5], 0.25), ['$10.25', '$10.50']);
});

test('marketAt follows the trading hours the server gave to their next change, then says they are stale', () => {
  const closed = { isOpen: false, nextOpen: '2026-03-09T13:30:00.000Z', nextClose: '2026-03-09T20:00:00.000Z' };
  const t = (s) => Date.parse(s);
  assert.equal(marketAt(null, t('2026-03-07T12:00:00Z')), null);
  assert.deepEqual(marketAt(closed, t('2026-03-07T12:00:00Z')), { open: false, nextOpen: closed.nextOpen, until: t(closed.nextOpen) });
  assert.deepEqual(marketAt(closed, t('2026-03-09T13:30:00Z')), { open: true, until: t(closed.nextClose), stale: false });
  assert.equal(marketAt(closed, t('2026-03-09T20:00:00Z')).stale, true);
  const open = { isOpen: true, nextOpen: '2026-03-10T13:30:00.000Z', nextClose: '2026-03-09T20:00:00.000Z' };
  assert.deepEqual(marketAt(open, t('2026-03-09T19:59:59Z')), { open: true, until: t(open.nextClose) });
  assert.deepEqual(marketAt(open, t('2026-03-09T20:00:00Z')), { open: false, nextOpen: open.nextOpen, until: t(open.nextOpen), stale: false });
  assert.equal(marketAt(open, t('2026-03-10T13:30:00Z')).stale, true);
});
