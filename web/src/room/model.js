// RoomModel is what the page knows of one room, built from its events: the
// live page feeds it the subscription, the replay feeds it the stored log at
// the chosen speed. It is plain mutable data (a room's log may hold
// thousands of snapshots; copying them on every event would not do); the
// page re-renders after each batch of events.
export const FEED_MAX = 500;
export const TAPE_MAX = 200;

export class RoomModel {
  constructor(room) {
    this.room = { ...room };
    this.snapshots = []; // { seq, takenAt (ms), final, entries }, oldest first
    this.snapSeqs = new Set();
    this.moves = new Map(); // participantId -> last rank change (+ up, - down)
    this.flashed = new Set(); // participants whose rank changed in the latest snapshot
    this.trades = []; // fills, newest first
    this.tradeIds = new Set();
    this.feed = []; // every event applied, newest first
    this.lastSeq = 0;
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
    const s = { seq, id: snap.id, takenAt: Date.parse(snap.takenAt), final: snap.final, entries: snap.entries };
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

  // addFill puts a filled order on the tape (once per order).
  addFill(order, seq, at) {
    if (this.tradeIds.has(order.id)) return;
    this.tradeIds.add(order.id);
    this.trades.unshift({
      seq,
      id: order.id,
      at: at ?? order.filledAt,
      user: order.participant?.user?.username ?? '?',
      side: order.side,
      quantity: order.filledQuantity || order.quantity,
      symbol: order.symbol,
      price: order.filledPrice,
    });
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
      case 'OrderEvent':
        if (ev.kind === 'FILLED') this.addFill(ev.order, ev.sequence, ev.occurredAt);
        break;
      default:
    }
    this.feed.unshift({ seq: ev.sequence, at: ev.occurredAt, kind: ev.__typename, text: describe(ev) });
    if (this.feed.length > FEED_MAX) this.feed.length = FEED_MAX;
    return true;
  }

  // curves gives uPlot's data for the equity curves of the top n
  // participants of the latest snapshot: [[t…], [value…]…] and their names.
  // (Numbers only for drawing; every figure shown as text is the server's
  // exact decimal string.)
  curves(n = 5) {
    const board = this.board;
    if (!board) return { names: [], ids: [], data: [[]] };
    const top = [...board.entries].sort((a, b) => a.rank - b.rank).slice(0, n);
    const ids = top.map((e) => e.participantId);
    const xs = [];
    const ys = ids.map(() => []);
    for (const s of this.snapshots) {
      xs.push(s.takenAt / 1000);
      const by = new Map(s.entries.map((e) => [e.participantId, e.portfolioValue]));
      ids.forEach((id, i) => {
        const v = by.get(id);
        ys[i].push(v === undefined ? null : Number(v));
      });
    }
    return { names: top.map((e) => e.user.displayName || e.user.username), ids, data: [xs, ...ys] };
  }
}

// describe is the one-line text of an event in the feed.
export function describe(ev) {
  switch (ev.__typename) {
    case 'OrderEvent': {
      const o = ev.order;
      const who = o.participant?.user?.username ?? '?';
      let text = `${who} ${ev.kind.toLowerCase()}: ${o.side} ${o.quantity} ${o.symbol} ${o.type}`;
      if (ev.kind === 'FILLED') text += ` @ ${o.filledPrice}`;
      else if (o.limitPrice) text += ` limit ${o.limitPrice}`;
      if (ev.kind === 'REJECTED' && o.rejectReason) text += ` (${o.rejectReason})`;
      return text;
    }
    case 'PositionEvent':
      return `position ${ev.position.symbol}: ${ev.position.quantity} shares`;
    case 'LeaderboardEvent': {
      const lead = [...ev.snapshot.entries].sort((a, b) => a.rank - b.rank)[0];
      return `leaderboard${ev.snapshot.final ? ' (final)' : ''}` + (lead ? `: 1. ${lead.user.username} ${money(lead.portfolioValue)}` : '');
    }
    case 'RoomStateEvent':
      return `room ${ev.previousState} → ${ev.state}` + (ev.actor ? ` by ${ev.actor.username}` : ` (${ev.trigger.toLowerCase()})`);
    default:
      return ev.__typename;
  }
}

// money groups the integer digits of an exact decimal string: "12345.60" ->
// "12,345.60". It never goes through a float.
export function money(s) {
  if (s == null) return '–';
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(String(s));
  if (!m) return String(s);
  return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (m[3] ?? '');
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
