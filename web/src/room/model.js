// RoomModel is what the page knows of one room, built from its events: the
// live page feeds it the subscription, the replay feeds it the stored log at
// the chosen speed. It is plain mutable data (a room's log may hold
// thousands of snapshots; copying them on every event would not do); the
// page re-renders after each batch of events.
//
// Every figure shown as text is computed from the server's exact decimal
// strings with big.js (never through a float) and formatted by the
// functions at the end of this file: money to cents, percentages to two
// places, a sign on every change.
import Big from 'big.js';

export const FEED_MAX = 500;
export const TAPE_MAX = 200;

export class RoomModel {
  constructor(room) {
    this.room = { ...room };
    this.snapshots = []; // { seq, takenAt (ms), final, entries, teams }, oldest first
    this.snapSeqs = new Set();
    this.moves = new Map(); // participantId -> last rank change (+ up, - down)
    this.flashed = new Set(); // participants whose rank changed in the latest snapshot
    this.trades = []; // fills, newest first
    this.tradeIds = new Set();
    this.feed = []; // every event applied, newest first
    this.lastSeq = 0;
    this.colors = new Map(); // participantId -> colour, fixed for the page's life
    this.announcement = null; // the organiser's latest word: { seq, at, message }
    this.removed = new Set(); // participants whose seat the organiser ended
    this.setRemoved(room.participants ?? []);
    this.teams = new Map(); // team id -> { id, name, members }: every team the page knows of
  }

  // mergeTeams takes teams as BullPen.teams, createTeam and joinTeam give
  // them, or as a snapshot's standings carry them ({ id, name, members }).
  // Nobody leaves a team, so of two lists of a team's members the longer
  // is the newer: a snapshot taken before a join never hides the joiner.
  mergeTeams(teams) {
    for (const t of teams ?? []) {
      const had = this.teams.get(t.id);
      if (!had || t.members.length >= had.members.length) this.teams.set(t.id, { id: t.id, name: t.name, members: t.members });
    }
  }

  // teamOf is the team a participant is in, or null.
  teamOf(participantId) {
    for (const t of this.teams.values()) if (t.members.some((m) => m.id === participantId)) return t;
    return null;
  }

  // teamBoard is the team board as the page shows it: the latest
  // snapshot's standings by rank (each team with the members the page
  // knows of now), then the teams no snapshot has ranked yet (just made),
  // in the order they were made, with rank and score null.
  teamBoard() {
    const ranked = [...(this.board?.teams ?? [])].sort((a, b) => a.rank - b.rank);
    const seen = new Set(ranked.map((s) => s.team.id));
    const rows = ranked.map((s) => ({ ...(this.teams.get(s.team.id) ?? s.team), rank: s.rank, score: s.score }));
    const fresh = [...this.teams.values()].filter((t) => !seen.has(t.id)).sort((a, b) => byId(a.id, b.id));
    return [...rows, ...fresh.map((t) => ({ ...t, rank: null, score: null }))];
  }

  // setRemoved takes the room's participants ({ id, removedAt }) and marks
  // those the organiser removed.
  setRemoved(participants) {
    this.removed = new Set(participants.filter((p) => p.removedAt).map((p) => p.id));
  }

  // colorOf is a participant's colour on the board and in the chart. Each
  // participant keeps the colour given when first seen (in the order of
  // their ids, that is of joining), so a change of rank never swaps two
  // players' colours.
  colorOf(participantId) {
    return this.colors.get(participantId) ?? '#6b7280';
  }

  meet(entries) {
    const fresh = entries.map((e) => e.participantId).filter((id) => !this.colors.has(id));
    fresh.sort(byId);
    for (const id of fresh) this.colors.set(id, playerColor(this.colors.size));
  }

  get board() {
    return this.snapshots.length ? this.snapshots[this.snapshots.length - 1] : null;
  }

  // addSnapshot appends a leaderboard snapshot (once per sequence) and
  // records how each participant's rank moved since the previous one.
  addSnapshot(seq, snap) {
    if (this.snapSeqs.has(seq)) return;
    this.snapSeqs.add(seq);
    const prev = this.board;
    // teams: the team board ranked from the same entries, null for a room
    // without teams.
    const s = { seq, id: snap.id, takenAt: Date.parse(snap.takenAt), final: snap.final, entries: snap.entries, teams: snap.teams ?? null };
    this.meet(snap.entries);
    this.mergeTeams((snap.teams ?? []).map((t) => t.team));
    // Snapshots arrive in sequence order; one older than the latest (a
    // history page read after live events) is slotted in, moving no rank.
    if (prev && prev.seq > seq) {
      this.snapshots.push(s);
      this.snapshots.sort((a, b) => a.seq - b.seq);
      return;
    }
    this.snapshots.push(s);
    this.flashed = new Set();
    if (prev) {
      const before = new Map(prev.entries.map((e) => [e.participantId, e.rank]));
      for (const e of s.entries) {
        const was = before.get(e.participantId);
        if (was !== undefined && was !== e.rank) {
          this.moves.set(e.participantId, was - e.rank);
          this.flashed.add(e.participantId);
        }
      }
    }
  }

  // addFill puts an order's fills on the tape, one line each (once per
  // fill: an event's order carries its fills so far, so a fill seen with
  // an earlier event is not added again). An order without fills (an old
  // server) is one line at its filled price.
  addFill(order, seq, at) {
    const base = {
      seq,
      id: order.id,
      pid: order.participant?.id ?? null,
      user: order.participant?.user?.username ?? '?',
      side: order.side,
      symbol: order.symbol,
    };
    const lines = order.fills?.length
      ? order.fills.map((f) => ({ ...base, key: `f${f.id}`, at: f.at, quantity: f.quantity, price: f.price, fill: f }))
      : [{ ...base, key: `o${order.id}`, at: at ?? order.filledAt, quantity: order.filledQuantity || order.quantity, price: order.filledPrice, fill: null }];
    for (const t of lines) {
      if (this.tradeIds.has(t.key)) continue;
      this.tradeIds.add(t.key);
      this.trades.unshift(t);
    }
    if (seq == null) this.trades.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    if (this.trades.length > TAPE_MAX) this.trades.length = TAPE_MAX;
  }

  // apply takes one event of the room's stream. Events at or below the last
  // sequence applied are ignored (a replayed overlap), so each is applied
  // exactly once; it returns whether ev was applied.
  apply(ev) {
    if (ev.sequence <= this.lastSeq) return false;
    this.lastSeq = ev.sequence;
    switch (ev.__typename) {
      case 'LeaderboardEvent':
        this.addSnapshot(ev.sequence, ev.snapshot);
        break;
      case 'RoomStateEvent':
        Object.assign(this.room, { state: ev.state, startsAt: ev.startsAt, endsAt: ev.endsAt });
        break;
      case 'AnnouncementEvent':
        // The banner shows the latest (the server sends each viewer only
        // those they may see: an adjustment of cash to its player).
        this.announcement = { seq: ev.sequence, at: ev.occurredAt, message: ev.message };
        break;
      case 'OrderEvent':
        // A margin call's forced fill (LIQUIDATED) and a fill that leaves
        // shares working (PARTIALLY_FILLED) are fills on the tape too.
        if (isFill(ev.kind)) this.addFill(ev.order, ev.sequence, ev.occurredAt);
        break;
      default:
    }
    this.feed.unshift({ seq: ev.sequence, at: ev.occurredAt, kind: ev.__typename, text: describe(ev) });
    if (this.feed.length > FEED_MAX) this.feed.length = FEED_MAX;
    return true;
  }

  // load takes the room's recent history from its event log (oldest first)
  // when the page opens: events after `after` are applied as if they had
  // just arrived, and the live stream resumes after the last of them or
  // after lastSequence, whichever is later.
  load(events, after, lastSequence) {
    this.lastSeq = Math.max(this.lastSeq, after ?? 0);
    for (const ev of events) this.apply(ev);
    this.lastSeq = Math.max(this.lastSeq, lastSequence ?? 0);
    // Nothing has just changed: no row flashes on opening the page.
    this.flashed = new Set();
  }

  // curves gives uPlot's data for the equity curves of the top n
  // participants of the latest snapshot: [[t…], [value…]…], their names,
  // ids and colours. (Numbers only for drawing; every figure shown as text
  // is formatted from the server's exact decimal strings.)
  curves(n = 5) {
    const board = this.board;
    if (!board) return { names: [], ids: [], colors: [], values: [], data: [[]] };
    const top = [...board.entries].sort((a, b) => a.rank - b.rank).slice(0, n);
    const ids = top.map((e) => e.participantId);
    const xs = [];
    const ys = ids.map(() => []);
    const values = ids.map(() => []); // the exact strings, for the legend
    for (const s of this.snapshots) {
      xs.push(s.takenAt / 1000);
      const by = new Map(s.entries.map((e) => [e.participantId, e.portfolioValue]));
      ids.forEach((id, i) => {
        const v = by.get(id);
        ys[i].push(v === undefined ? null : Number(v));
        values[i].push(v ?? null);
      });
    }
    return {
      names: top.map((e) => e.user.displayName || e.user.username),
      ids,
      colors: ids.map((id) => this.colorOf(id)),
      values,
      data: [xs, ...ys],
    };
  }
}

// isFill reports whether an OrderEvent's kind is a fill: a FILLED order,
// a fill that leaves shares working (PARTIALLY_FILLED), or an order the
// server placed and filled on a margin call (LIQUIDATED).
export const isFill = (kind) => kind === 'FILLED' || kind === 'PARTIALLY_FILLED' || kind === 'LIQUIDATED';

// describe is the one-line text of an event in the feed.
export function describe(ev) {
  switch (ev.__typename) {
    case 'OrderEvent': {
      const o = ev.order;
      const who = o.participant?.user?.username ?? '?';
      const partly = ev.kind === 'PARTIALLY_FILLED';
      let text = `${who} ${ev.kind.toLowerCase().replaceAll('_', ' ')}: ${o.side} ${partly ? `${o.filledQuantity}/` : ''}${o.quantity} ${o.symbol} ${o.type}`;
      if (isFill(ev.kind)) text += ` @ ${price(o.filledPrice)}` + fillsNote(o);
      else if (o.limitPrice) text += ` limit ${money(o.limitPrice)}`;
      if (ev.kind === 'REJECTED' && o.rejectReason) text += ` (${o.rejectReason})`;
      return text;
    }
    case 'PositionEvent':
      return `position ${ev.position.symbol}: ${quantity(ev.position.quantity)} share${Math.abs(ev.position.quantity) === 1 ? '' : 's'}`;
    case 'LeaderboardEvent': {
      const lead = [...ev.snapshot.entries].sort((a, b) => a.rank - b.rank)[0];
      return `leaderboard${ev.snapshot.final ? ' (final)' : ''}` + (lead ? `: 1. ${lead.user.username} ${money(lead.portfolioValue)}` : '');
    }
    case 'RoomStateEvent':
      return `room ${ev.previousState} → ${ev.state}` + (ev.actor ? ` by ${ev.actor.username}` : ` (${ev.trigger.toLowerCase()})`);
    case 'CorporateActionEvent': {
      const a = ev.action;
      if (!a) return ev.__typename;
      return a.kind === 'SPLIT'
        ? `${a.symbol} split: ${a.ratio} shares for each share held`
        : `${a.symbol} dividend: ${money(a.amountPerShare)} a share to holders today, paid ${new Date(a.payDate).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    }
    case 'AnnouncementEvent':
      return `organiser: ${ev.message}`;
    default:
      return ev.__typename;
  }
}

// assignmentText is one of a room's assignments in words: "Fill 3 LIMIT
// orders", "Hold 4 symbols at once", "Write 5 notes", "Keep max drawdown
// below 10%".
export function assignmentText(a) {
  const n = a.count;
  const s = n === 1 ? '' : 's';
  switch (a.kind) {
    case 'ORDERS_OF_TYPE':
      return `Fill ${n} ${(a.orderType ?? '').replaceAll('_', ' ')} order${s}`;
    case 'DISTINCT_SYMBOLS':
      return `Hold ${n} symbol${s} at once`;
    case 'NOTES_WRITTEN':
      return `Write ${n} note${s}`;
    case 'MAX_DRAWDOWN_BELOW':
      return `Keep max drawdown below ${n}%`;
    default:
      return `${a.kind} ${n}`;
  }
}

// progressText is a player's progress on an assignment
// (AssignmentProgress): "1/3", and for the drawdown the largest so far
// (rounded up to a whole percent) against the bound: "5% / 10%".
export function progressText(p) {
  return p.kind === 'MAX_DRAWDOWN_BELOW' ? `${p.done}% / ${p.required}%` : `${p.done}/${p.required}`;
}

// byId orders participant ids (decimal strings) by number, so the order
// is that of joining.
function byId(a, b) {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

// PALETTE is ten colours that stay apart on white and on a projector; past
// ten, hues go round the circle by the golden angle.
export const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#92400e', '#475569'];

export function playerColor(i) {
  if (i < PALETTE.length) return PALETTE[i];
  return `hsl(${Math.round((i * 137.508) % 360)} 70% 40%)`;
}

// big reads an exact decimal string (or number) into a Big, or null.
export function big(s) {
  if (s == null || s === '') return null;
  try {
    return Big(s);
  } catch {
    return null;
  }
}

const MINUS = '\u2212'; // a real minus sign: as wide as "+" in tabular figures

// fixed rounds an exact decimal half-even to `places` and groups its
// integer digits: ("12345.675", 2) -> "12,345.68"; a negative that
// rounds to zero loses its sign.
function fixed(b, places) {
  let t = b.toFixed(places, Big.roundHalfEven);
  let sign = '';
  if (t.startsWith('-')) {
    t = t.slice(1);
    if (/[1-9]/.test(t)) sign = MINUS;
  }
  const [int, frac] = t.split('.');
  return sign + int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac ? `.${frac}` : '');
}

// money formats an amount to cents with grouped digits: "12345.6" ->
// "12,345.60", "-3" -> "−3.00". Null (or not a number) is "–".
export function money(s) {
  const b = big(s);
  return b ? fixed(b, 2) : '–';
}

// signedMoney is money with a "+" on a gain: a change, a P&L.
export function signedMoney(s) {
  const b = big(s);
  if (!b) return '–';
  const t = fixed(b, 2);
  return /^[0-9]/.test(t) && /[1-9]/.test(t) ? `+${t}` : t;
}

// percent formats a percentage (already ×100) to two places with its sign:
// "5.6770" -> "+5.68%", "-0.0002" -> "0.00%".
export function percent(s) {
  const b = big(s);
  if (!b) return '–';
  const t = fixed(b, 2);
  return (/^[0-9]/.test(t) && /[1-9]/.test(t) ? `+${t}` : t) + '%';
}

// tone is the colour class of a change: 'pos', 'neg', or '' when it
// rounds to zero at `places`.
export function tone(s, places = 2) {
  const b = big(s);
  if (!b) return '';
  const r = b.round(places, Big.roundHalfEven);
  return r.gt(0) ? 'pos' : r.lt(0) ? 'neg' : '';
}

// quantity groups a share count: 1500 -> "1,500", -20 -> "−20".
export function quantity(n) {
  return n == null ? '–' : fixed(Big(n), 0);
}

// tick is a new quote q as the page shows it: with its change from the
// price shown before it (prev: the previous tick, or the price read when
// the page opened), exact, and that change as a percentage of that price.
// Without a previous price there is no change yet; the same tick seen
// twice changes nothing.
export function tick(prev, q) {
  if (prev?.at && prev.at === q.at && prev.price === q.price) return prev;
  const was = big(prev?.price);
  const now = big(q.price);
  const out = {
    symbol: q.symbol, price: q.price, at: q.at, change: null, changePercent: null,
    // The two-sided market, when the quote carries it.
    bid: q.bid ?? null, ask: q.ask ?? null, volume: q.volume ?? null,
  };
  if (!was || !now || was.eq(0)) return out;
  const change = now.minus(was);
  return { ...out, change: change.toFixed(), changePercent: change.times(100).div(was).toFixed() };
}

// valueSeat values a seat at the page's live prices (symbol -> exact
// price string), as the server does (game/portfolio.go): each position at
// quantity × price, its unrealized P&L against its cost basis (a short's
// cost basis is what it was sold for), the seat's value cash plus every
// position, its return against the room's starting cash. A symbol the page
// has no price for keeps the server's.
export function valueSeat(seat, prices, startingCash) {
  let value = big(seat.cash) ?? Big(0);
  const positions = (seat.positions ?? []).filter((p) => p.quantity !== 0).map((p) => {
    const price = prices[p.symbol] ?? p.marketPrice;
    const mv = Big(p.quantity).times(price);
    const basis = big(p.costBasis);
    value = value.plus(mv);
    let unrealized = p.unrealizedPnl;
    if (basis) unrealized = (p.quantity > 0 ? mv.minus(basis) : basis.plus(mv)).toFixed();
    return { ...p, marketPrice: String(price), marketValue: mv.toFixed(), unrealizedPnl: unrealized };
  });
  const start = big(startingCash);
  const totalReturn = start ? value.minus(start) : null;
  return {
    ...seat,
    positions,
    portfolioValue: value.toFixed(),
    totalReturn: totalReturn ? totalReturn.toFixed() : seat.totalReturn,
    returnPercent: start && !start.eq(0) ? totalReturn.times(100).div(start).toFixed() : seat.returnPercent,
  };
}

// clockLabels are the x axis's labels for time ticks (seconds) `incr`
// seconds apart: hours and minutes, with seconds when ticks are less than
// a minute apart, and the day instead when they are a day or more apart.
export function clockLabels(splits, incr) {
  const pad = (x) => String(x).padStart(2, '0');
  return splits.map((t) => {
    if (t == null) return null;
    const d = new Date(t * 1000);
    if (incr >= 86400) return `${d.getDate()} ${MONTHS[d.getMonth()]}`;
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return incr < 60 ? `${hm}:${pad(d.getSeconds())}` : hm;
  });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// moneyLabels are the y axis's labels, in dollars: whole dollars, or cents
// when ticks are less than a dollar apart.
export function moneyLabels(splits, incr) {
  return splits.map((v) => (v == null ? null : `$${fixed(Big(v), incr < 1 ? 2 : 0)}`));
}

// countdown formats the time left until `to` (ms) from `now` (ms).
export function countdown(to, now) {
  let s = Math.max(0, Math.floor((to - now) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const pad = (x) => String(x).padStart(2, '0');
  return (d ? `${d}d ` : '') + `${pad(h)}:${pad(m)}:${pad(s)}`;
}

// ---- Why this price: fills and the execution model (issue 19) ----

// decimals is how many decimal places an exact number has.
function decimals(b) {
  return Math.max(0, b.c.length - b.e - 1);
}

// price formats a price as exactly as it is, grouped, with two to four
// decimal places (a fill's price has up to four): "100" -> "100.00",
// "100.2053" -> "100.2053", "1234.5" -> "1,234.50"; past four places it
// rounds half-even.
export function price(s) {
  const b = big(s);
  return b ? fixed(b, Math.min(4, Math.max(2, decimals(b)))) : '–';
}

// fillBreakdown is what a fill's price is made of, per share, exactly:
// the fill's costs (spread, slippage, impact) are for its whole quantity,
// so each is divided by it. A buy pays the mid plus the costs, a sell gets
// the mid less them; exact tells whether they add up to the price (they
// always do from this server). The commission is the fill's, not a share's.
export function fillBreakdown(fill, side) {
  const q = Big(fill.quantity);
  const per = (s) => (big(s) ?? Big(0)).div(q);
  const spread = per(fill.spreadCost);
  const slippage = per(fill.slippageCost);
  const impact = per(fill.impactCost);
  const costs = spread.plus(slippage).plus(impact);
  const mid = Big(fill.midPrice);
  const p = Big(fill.price);
  const sell = side === 'SELL';
  return {
    quantity: fill.quantity,
    sell,
    price: p.toFixed(),
    mid: mid.toFixed(),
    spread: spread.toFixed(),
    slippage: slippage.toFixed(),
    impact: impact.toFixed(),
    costs: costs.toFixed(),
    commission: big(fill.commission)?.toFixed() ?? '0',
    exact: (sell ? mid.minus(costs) : mid.plus(costs)).eq(p),
  };
}

// hasCosts reports whether a fill paid anything on top of (or got less
// than) its mid: under FRICTIONLESS it did not.
export function hasCosts(fill) {
  return !Big(fillBreakdown(fill, 'BUY').costs).eq(0);
}

// whyPrice is a fill's price explained per share, for a player's own
// orders: "mid 100.00 + spread 0.25 + slippage 0.10 + impact 0.20 =
// 100.55" (a sell subtracts), leaving out the costs that are zero.
export function whyPrice(fill, side) {
  const b = fillBreakdown(fill, side);
  const op = b.sell ? ' \u2212 ' : ' + ';
  const parts = [['spread', b.spread], ['slippage', b.slippage], ['impact', b.impact]].filter(([, v]) => !Big(v).eq(0));
  if (!parts.length) return `mid ${price(b.mid)}, no costs = ${price(b.price)}`;
  return `mid ${price(b.mid)}${parts.map(([n, v]) => `${op}${n} ${price(v)}`).join('')} = ${price(b.price)}`;
}

// fillLine is one fill of a player's order in full: its shares, why its
// price, and its commission when it paid one: "200 shares: mid 100.00 +
// spread 0.25 + slippage 0.10 + impact 0.20 = 100.55 a share; commission
// 1.00".
export function fillLine(fill, side) {
  const b = fillBreakdown(fill, side);
  const fee = Big(b.commission).eq(0) ? '' : `; commission ${money(b.commission)}`;
  return `${quantity(fill.quantity)} share${fill.quantity === 1 ? '' : 's'}: ${whyPrice(fill, side)} a share${fee}`;
}

// fillShort is a fill's price explained in short, for the tape: "mid
// 100.00, costs 0.55/share".
export function fillShort(fill, side) {
  const b = fillBreakdown(fill, side);
  return `mid ${price(b.mid)}, costs ${price(b.costs)}/share`;
}

// orderStatusText is an order's status with what has filled: "FILLED @
// 100.55", "FILLED @ avg 100.8852" (several fills), "300/500 filled @ avg
// 100.8852" while the rest works, "CANCELLED, 300/500 filled @ avg …"
// when the rest was cancelled (or expired); else the status alone.
export function orderStatusText(o) {
  const n = o.filledQuantity ?? 0;
  const avg = o.averageFillPrice ?? o.filledPrice;
  const at = avg ? ` @ ${(o.fills?.length ?? 0) > 1 ? 'avg ' : ''}${price(avg)}` : '';
  const part = `${quantity(n)}/${quantity(o.quantity)} filled${at}`;
  if (o.status === 'PARTIALLY_FILLED') return part;
  if (o.status === 'FILLED') return `FILLED${at}`;
  if (n > 0) return `${o.status}, ${part}`;
  return o.status;
}

// working reports whether an order still works (may fill, may be
// cancelled): OPEN, or PARTIALLY_FILLED with shares left.
export const working = (o) => o.status === 'OPEN' || o.status === 'PARTIALLY_FILLED';

// explains reports whether an order's fills have anything to explain
// beyond "filled at the last price": costs, or more than one fill.
export function explains(o) {
  return (o.fills?.length ?? 0) > 1 || (o.fills ?? []).some(hasCosts);
}

// fillsNote is what an order event adds about the order's fills so far
// when there were several: "(2 fills, avg 100.8852)".
function fillsNote(o) {
  const n = o.fills?.length ?? 0;
  return n > 1 && o.averageFillPrice ? ` (${n} fills, avg ${price(o.averageFillPrice)})` : '';
}

// showsBook reports whether a room's orders trade at the bid and ask (any
// preset but FRICTIONLESS, which fills at the last price): then the page
// shows them.
export const showsBook = (execution) => !!execution && execution.preset !== 'FRICTIONLESS';

// executionText is a room's execution model in words, for its rules:
// "REALISTIC: buys at the ask, sells at the bid; spread at least 10 bps,
// slippage 2 bps, impact 0.5 × (shares / tick volume)² of the price; a fill
// takes at most 10% of a tick's volume".
export function executionText(e) {
  const none = 'FRICTIONLESS: every order fills in full at the last price, with no costs but the commission';
  if (!e) return none;
  const n = (s) => big(s)?.toString() ?? '0';
  const costs = [];
  if (e.spreadBps > 0) costs.push(`spread at least ${e.spreadBps} bps`);
  if (e.slippageBps > 0) costs.push(`slippage ${e.slippageBps} bps`);
  if (big(e.priceImpact)?.gt(0)) costs.push(`impact ${n(e.priceImpact)} × (shares / tick volume)² of the price`);
  const at = e.preset === 'FRICTIONLESS' ? 'fills at the last price' : 'buys at the ask, sells at the bid';
  const size = e.volumeLimitPercent ? `a fill takes at most ${n(e.volumeLimitPercent)}% of a tick's volume, the rest waits for later ticks` : 'orders fill in full';
  if (e.preset === 'FRICTIONLESS' && !costs.length && !e.volumeLimitPercent) return none;
  return `${e.preset}: ${at}; ${costs.length ? costs.join(', ') : 'no costs but the commission'}; ${size}`;
}

// marketAt is whether the room's market is open at now, from hours as
// the server last gave them: the first transition they name (nextClose
// while open, nextOpen while closed) is followed; past it, stale says to
// ask again.
export function marketAt(hours, now) {
  if (!hours) return null;
  const open = Date.parse(hours.nextOpen);
  const close = Date.parse(hours.nextClose);
  if (hours.isOpen) {
    if (!(now >= close)) return { open: true, until: close };
    return { open: false, nextOpen: hours.nextOpen, until: open, stale: !(now < open) };
  }
  if (!(now >= open)) return { open: false, nextOpen: hours.nextOpen, until: open };
  return { open: true, until: close, stale: !(now < close) };
}
