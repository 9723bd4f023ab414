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

// ---- Why this price (issue 19): fills with their breakdown. ----

const {
  executionText, explains, fillBreakdown, fillLine, fillShort, hasCosts, orderStatusText, price, showsBook, whyPrice, working,
} = await import('../src/room/model.js');

// A THIN_BOOK room (spread 50 bps, slippage 10, impact 5, 2% of a tick's
// volume): a market buy of 500 against 100.00 (bid 99.95, ask 100.05,
// volume 10,000) fills 200 at 100.00 + 0.25 + 0.10 + 5 × (200/10,000)² ×
// 100 = 100.55; the next tick, 101.00 (100.90 / 101.10, volume 5,000),
// fills 100 at 101.00 + 0.2525 + 0.101 + 0.202 = 101.5555. The server's
// costs are for the whole fill.
const fill1 = { id: '11', at: '2026-01-01T00:00:01.000Z', quantity: 200, price: '100.55', midPrice: '100', spreadCost: '50', slippageCost: '20', impactCost: '40', commission: '1.00' };
const fill2 = { id: '12', at: '2026-01-01T00:00:02.000Z', quantity: 100, price: '101.5555', midPrice: '101', spreadCost: '25.25', slippageCost: '10.1', impactCost: '20.2', commission: '0' };
const thinOrder = (status, fills, filledQuantity) => ({
  id: '20', symbol: 'AAPL', side: 'BUY', type: 'MARKET', quantity: 500, status, filledQuantity, filledPrice: fills.at(-1).price,
  averageFillPrice: fills.length > 1 ? '100.8852' : fills[0].price, fills, participant: { id: '1', user: { username: 'bob' } },
});
const orderEvent = (seq, kind, order) => ({ __typename: 'OrderEvent', sequence: seq, occurredAt: '2026-01-01T00:00:00.000Z', kind, order });

test('price is exact to four places at most, two at least, grouped', () => {
  assert.equal(price('100'), '100.00');
  assert.equal(price('100.5'), '100.50');
  assert.equal(price('100.2053'), '100.2053');
  assert.equal(price('100.2050'), '100.205', 'trailing zeros past the cents go');
  assert.equal(price('1234.5'), '1,234.50');
  assert.equal(price('0.00005'), '0.0000', 'past four places, half-even');
  assert.equal(price('1.23455'), '1.2346');
  assert.equal(price(null), '–');
});

test("a fill's breakdown is per share, exact: the costs over its quantity, added to the mid for a buy", () => {
  const b = fillBreakdown(fill1, 'BUY');
  assert.deepEqual(
    [b.mid, b.spread, b.slippage, b.impact, b.costs, b.price, b.commission, b.exact],
    ['100', '0.25', '0.1', '0.2', '0.55', '100.55', '1', true],
  );
  assert.equal(whyPrice(fill1, 'BUY'), 'mid 100.00 + spread 0.25 + slippage 0.10 + impact 0.20 = 100.55');
  assert.equal(whyPrice(fill2, 'BUY'), 'mid 101.00 + spread 0.2525 + slippage 0.101 + impact 0.202 = 101.5555');
  assert.equal(fillLine(fill1, 'BUY'), '200 shares: mid 100.00 + spread 0.25 + slippage 0.10 + impact 0.20 = 100.55 a share; commission 1.00');
  assert.equal(fillLine(fill2, 'BUY'), '100 shares: mid 101.00 + spread 0.2525 + slippage 0.101 + impact 0.202 = 101.5555 a share', 'no commission on a later fill');
  assert.equal(fillShort(fill2, 'BUY'), 'mid 101.00, costs 0.5555/share');
  // A cost that does not divide to four places is still exact (no float):
  // 0.0003 a share over 3 shares is 0.0009, not 0.00089999….
  const odd = { ...fill1, quantity: 3, price: '100.0003', spreadCost: '0.0009', slippageCost: '0', impactCost: '0' };
  assert.equal(fillBreakdown(odd, 'BUY').spread, '0.0003');
  assert.equal(fillBreakdown(odd, 'BUY').exact, true);
  assert.equal(whyPrice(odd, 'BUY'), 'mid 100.00 + spread 0.0003 = 100.0003', 'a zero cost is left out');
});

test("a sell's costs come off the mid; a fill without costs says so", () => {
  const sell = { ...fill1, price: '99.45' };
  assert.equal(fillBreakdown(sell, 'SELL').exact, true);
  assert.equal(fillBreakdown(fill1, 'SELL').exact, false, '100.55 is not what a sell of mid 100 with 0.55 costs gets');
  assert.equal(whyPrice(sell, 'SELL'), 'mid 100.00 \u2212 spread 0.25 \u2212 slippage 0.10 \u2212 impact 0.20 = 99.45');
  const plain = { ...fill1, price: '100.00', midPrice: '100.00', spreadCost: '0', slippageCost: '0', impactCost: '0' };
  assert.equal(hasCosts(plain), false);
  assert.equal(hasCosts(fill1), true);
  assert.equal(whyPrice(plain, 'BUY'), 'mid 100.00, no costs = 100.00');
});

test('a partly filled order reads "x/y filled", works, and explains its fills', () => {
  const part = thinOrder('PARTIALLY_FILLED', [fill1], 200);
  assert.equal(orderStatusText(part), '200/500 filled @ 100.55');
  assert.equal(working(part), true);
  assert.equal(explains(part), true);
  const more = thinOrder('PARTIALLY_FILLED', [fill1, fill2], 300);
  assert.equal(orderStatusText(more), '300/500 filled @ avg 100.8852');
  assert.equal(orderStatusText({ ...more, status: 'CANCELLED' }), 'CANCELLED, 300/500 filled @ avg 100.8852');
  assert.equal(working({ ...more, status: 'CANCELLED' }), false);
  assert.equal(orderStatusText({ ...thinOrder('FILLED', [fill1, fill2], 500) }), 'FILLED @ avg 100.8852');
  assert.equal(orderStatusText({ status: 'OPEN', quantity: 5, filledQuantity: 0, fills: [] }), 'OPEN');
  assert.equal(orderStatusText({ status: 'FILLED', quantity: 5, filledQuantity: 5, filledPrice: '100.00', averageFillPrice: '100.0000', fills: [{ ...fill1, quantity: 5 }] }), 'FILLED @ 100.00');
  // A single fill at the last price has nothing to explain.
  const plain = { ...fill1, price: '100.00', midPrice: '100.00', spreadCost: '0', slippageCost: '0', impactCost: '0' };
  assert.equal(explains({ fills: [plain] }), false);
  assert.equal(explains({ fills: [plain, plain] }), true, 'several fills are explained');
});

test('partial fills go on the tape one line per fill, each once, and read as fills in the feed', () => {
  const m = new RoomModel({});
  assert.equal(m.apply(orderEvent(1, 'PARTIALLY_FILLED', thinOrder('PARTIALLY_FILLED', [fill1], 200))), true);
  assert.deepEqual(m.trades.map((t) => [t.id, t.fill.id, t.quantity, t.price]), [['20', '11', 200, '100.55']]);
  assert.equal(m.feed[0].text, 'bob partially filled: BUY 200/500 AAPL MARKET @ 100.55');
  // The next event's order carries both fills: only the new one is added.
  m.apply(orderEvent(2, 'PARTIALLY_FILLED', thinOrder('PARTIALLY_FILLED', [fill1, fill2], 300)));
  assert.deepEqual(m.trades.map((t) => [t.fill.id, t.quantity, t.price, t.at]), [['12', 100, '101.5555', fill2.at], ['11', 200, '100.55', fill1.at]]);
  assert.equal(m.feed[0].text, 'bob partially filled: BUY 300/500 AAPL MARKET @ 101.5555 (2 fills, avg 100.8852)');
  // Loaded again (the page's fills query): nothing doubles.
  m.addFill(thinOrder('PARTIALLY_FILLED', [fill1, fill2], 300), null);
  assert.equal(m.trades.length, 2);
  // A page that opened after the first fill still gets it from a later event.
  const late = new RoomModel({});
  late.apply(orderEvent(2, 'PARTIALLY_FILLED', thinOrder('PARTIALLY_FILLED', [fill1, fill2], 300)));
  assert.deepEqual(late.trades.map((t) => t.fill.id), ['12', '11']);
});

test('the execution model in words, and when the page shows bid and ask', () => {
  assert.equal(executionText(null), 'FRICTIONLESS: every order fills in full at the last price, with no costs but the commission');
  assert.equal(executionText({ preset: 'FRICTIONLESS', spreadBps: 0, slippageBps: 0, priceImpact: '0', volumeLimitPercent: null }), executionText(null));
  assert.equal(
    executionText({ preset: 'THIN_BOOK', spreadBps: 50, slippageBps: 10, priceImpact: '5', volumeLimitPercent: '2' }),
    "THIN_BOOK: buys at the ask, sells at the bid; spread at least 50 bps, slippage 10 bps, impact 5 × (shares / tick volume)² of the price; a fill takes at most 2% of a tick's volume, the rest waits for later ticks",
  );
  assert.equal(
    executionText({ preset: 'FRICTIONLESS', spreadBps: 0, slippageBps: 3, priceImpact: '0.0', volumeLimitPercent: null }),
    'FRICTIONLESS: fills at the last price; slippage 3 bps; orders fill in full',
    'a preset with an override says what it charges',
  );
  assert.equal(showsBook({ preset: 'REALISTIC' }), true);
  assert.equal(showsBook({ preset: 'FRICTIONLESS' }), false);
  assert.equal(showsBook(undefined), false);
});

test('a tick keeps the two-sided market', () => {
  const t = tick({ symbol: 'AAPL', price: '100', at: 'a' }, { symbol: 'AAPL', price: '101', bid: '100.95', ask: '101.05', volume: 5000, at: 'b' });
  assert.deepEqual([t.bid, t.ask, t.volume, t.change], ['100.95', '101.05', 5000, '1']);
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

test('corporate actions read in the feed: a split by its ratio, a dividend by its amount and pay date', () => {
  const m = new RoomModel({ state: 'ACTIVE' });
  const ev = (seq, action) => ({ __typename: 'CorporateActionEvent', sequence: seq, occurredAt: '2026-01-01T00:00:00.000Z', action });
  m.apply(ev(1, { id: '1', kind: 'SPLIT', symbol: 'KO', ratio: '1.5', amountPerShare: null, exDate: '2026-01-01T00:00:00.000Z', payDate: null }));
  m.apply(ev(2, { id: '2', kind: 'DIVIDEND', symbol: 'KO', ratio: null, amountPerShare: '0.5', exDate: '2026-01-01T00:00:00.000Z', payDate: '2026-01-02T14:30:00.000Z' }));
  assert.deepEqual(m.feed.map((f) => f.text), [
    'KO dividend: 0.50 a share to holders today, paid 2026-01-02 14:30 UTC',
    'KO split: 1.5 shares for each share held',
  ]);
});

test('the team board: the snapshot\'s standings by rank, then teams no snapshot has ranked yet, each with the members known now', () => {
  const m = new RoomModel({ teamSize: 3 });
  const member = (id) => ({ id, user: { username: `u${id}`, displayName: '' } });
  const team = (id, name, ...ids) => ({ id, name, members: ids.map(member) });
  assert.deepEqual(m.teamBoard(), []);
  // The page opens: BullPen.teams (in the order made), no snapshot yet.
  m.mergeTeams([team('1', 'Bulls', '1'), team('2', 'Bears', '2')]);
  assert.deepEqual(m.teamBoard().map((t) => `${t.rank ?? '–'} ${t.name} ${t.members.length}`), ['– Bulls 1', '– Bears 1']);
  assert.equal(m.teamOf('2').name, 'Bears');
  assert.equal(m.teamOf('3'), null);
  // A join answered before the snapshot that has it: the longer list stays.
  m.mergeTeams([team('1', 'Bulls', '1', '3')]);
  const ev = board(1, [entry('1', 1, '100'), entry('2', 1, '100'), entry('3', 3, '90')]);
  ev.snapshot.teams = [{ rank: 1, score: '5', team: team('2', 'Bears', '2') }, { rank: 2, score: '-5', team: team('1', 'Bulls', '1') }];
  m.apply(ev);
  assert.deepEqual(m.teamBoard().map((t) => `${t.rank ?? '–'} ${t.name} ${t.score} ${t.members.map((x) => x.id).join(',')}`), ['1 Bears 5 2', '2 Bulls -5 1,3']);
  assert.equal(m.teamOf('3').name, 'Bulls');
  // A team made since is listed after the ranked ones, unranked; a later
  // snapshot's members are taken.
  m.mergeTeams([team('4', 'Stags', '4')]);
  assert.deepEqual(m.teamBoard().map((t) => `${t.rank ?? '–'} ${t.name}`), ['1 Bears', '2 Bulls', '– Stags']);
  const ev2 = board(2, [entry('4', 1, '100')]);
  ev2.snapshot.teams = [{ rank: 1, score: '0', team: team('4', 'Stags', '4', '5') }];
  m.apply(ev2);
  assert.deepEqual(m.teamBoard().map((t) => `${t.rank ?? '–'} ${t.name} ${t.members.length}`), ['1 Stags 2', '– Bulls 2', '– Bears 1'], 'unranked in the order made');
});

test('assignments in words, and a player\'s progress on them', async () => {
  const { assignmentText, progressText } = await import('../src/room/model.js');
  assert.equal(assignmentText({ kind: 'ORDERS_OF_TYPE', count: 3, orderType: 'LIMIT' }), 'Fill 3 LIMIT orders');
  assert.equal(assignmentText({ kind: 'ORDERS_OF_TYPE', count: 1, orderType: 'STOP_LIMIT' }), 'Fill 1 STOP LIMIT order');
  assert.equal(assignmentText({ kind: 'DISTINCT_SYMBOLS', count: 4 }), 'Hold 4 symbols at once');
  assert.equal(assignmentText({ kind: 'NOTES_WRITTEN', count: 5 }), 'Write 5 notes');
  assert.equal(assignmentText({ kind: 'NOTES_WRITTEN', count: 1 }), 'Write 1 note');
  assert.equal(assignmentText({ kind: 'MAX_DRAWDOWN_BELOW', count: 10 }), 'Keep max drawdown below 10%');
  assert.equal(progressText({ kind: 'ORDERS_OF_TYPE', required: 3, done: 4, met: true }), '4/3');
  assert.equal(progressText({ kind: 'MAX_DRAWDOWN_BELOW', required: 10, done: 5, met: true }), '5% / 10%');
});
