// The live room page, served at /rooms/{id}: the room's rules and state,
// its live leaderboard and equity curves, trade tape, quotes, and for a
// signed-in player their own seat with an order form. ?replay=1&speed=N
// replays a finished room from its event log.
import 'uplot/dist/uPlot.min.css';
import './room.css';

import { StrictMode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import uPlot from 'uplot';
import { ORDER, POSITION, eventLog, follow, gql, loadToken, saveToken } from './api.js';
import { RoomModel, countdown, money } from './model.js';

const ROOM_ID = decodeURIComponent(window.location.pathname.split('/')[2] ?? '');
const params = new URLSearchParams(window.location.search);
const REPLAY = params.get('replay') === '1';
const SPEEDS = [1, 2, 5, 10, 30, 60];
const clampSpeed = (n) => Math.min(60, Math.max(1, Math.round(Number(n)) || 1));
const FINISHED = ['ENDED', 'CANCELLED'];
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed'];

const ROOM_QUERY = `query Room($id: ID!) {
  me { id username }
  bullPen(id: $id) {
    id name description state startsAt endsAt startingCash commission allowShortSelling
    allowedSymbols maxParticipants visibility tradeVisibility participantCount lastSequence
    maxPositionPercent minSharePrice maxOrdersPerMinute maxOpenOrders rankBy
    owner { id username }
    me { id }
  }
  instruments { symbol name price }
}`;

const MINE_QUERY = `query Mine($id: ID!) {
  bullPen(id: $id) {
    me { id cash buyingPower portfolioValue totalReturn returnPercent rank positions { ${POSITION} } }
    orders(first: 50) { edges { node { ${ORDER} } } }
  }
}`;

const FILLS_QUERY = `query Fills($id: ID!) {
  bullPen(id: $id) { orders(status: FILLED, first: 50) { edges { node { ${ORDER} } } } }
}`;

const fmtTime = (s) => (s ? new Date(s).toLocaleTimeString() : '');
const fmtDate = (s) => (s ? new Date(s).toLocaleString() : '');
const pct = (s) => (s == null ? '–' : `${s}%`);

// useNow ticks every second (for countdowns).
function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

function App() {
  const [token, setToken] = useState(loadToken);
  const [load, setLoad] = useState({ status: 'loading' }); // loading | ready | notfound | error
  const [model, setModel] = useState(null);
  const [, setVersion] = useState(0);
  const bump = useCallback(() => setVersion((v) => v + 1), []);
  const [conn, setConn] = useState('connecting');
  const [quotes, setQuotes] = useState({});
  const [mine, setMine] = useState(null);
  const [note, setNote] = useState('');
  const [reload, setReload] = useState(0);

  const signIn = (t) => {
    saveToken(t);
    setToken(t);
  };

  // Load the room (again when the token changes: what one may see differs).
  useEffect(() => {
    let cancelled = false;
    setLoad({ status: 'loading' });
    setModel(null);
    setMine(null);
    (async () => {
      let data;
      try {
        data = await gql(ROOM_QUERY, { id: ROOM_ID }, token);
      } catch (err) {
        if (err.code === 'UNAUTHENTICATED' && token) {
          setNote('Your session has ended; signed out.');
          signIn(null);
          return;
        }
        if (!cancelled) setLoad({ status: err.code === 'NOT_FOUND' || err.code === 'BAD_USER_INPUT' ? 'notfound' : 'error', message: err.message });
        return;
      }
      if (cancelled) return;
      const room = data.bullPen;
      if (!room) {
        setLoad({ status: 'notfound' });
        return;
      }
      const q = {};
      const symbols = room.allowedSymbols ?? data.instruments.map((i) => i.symbol);
      for (const i of data.instruments) if (symbols.includes(i.symbol)) q[i.symbol] = { symbol: i.symbol, price: i.price };
      setQuotes(q);
      const m = new RoomModel(room);
      m.lastSeq = room.lastSequence;
      if (!REPLAY) {
        // The snapshot history for the curves, and the latest fills for the
        // tape; the subscription then replays everything after lastSequence
        // (overlaps are dropped by sequence and by order id).
        const [snaps, fills] = await Promise.all([
          eventLog(ROOM_ID, token, { kinds: ['LEADERBOARD'] }),
          gql(FILLS_QUERY, { id: ROOM_ID }, token).catch(() => null),
        ]);
        for (const ev of snaps) m.addSnapshot(ev.sequence, ev.snapshot);
        for (const e of fills?.bullPen?.orders.edges ?? []) m.addFill(e.node, null);
      }
      if (cancelled) return;
      setModel(m);
      setLoad({ status: 'ready', me: data.me, member: room.me, owner: room.owner, symbols, allSymbols: !room.allowedSymbols });
    })().catch((err) => !cancelled && setLoad({ status: 'error', message: err.message }));
    return () => {
      cancelled = true;
    };
  }, [token, reload]);

  const memberId = load.member?.id;
  const refreshMine = useMemo(() => {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        try {
          const d = await gql(MINE_QUERY, { id: ROOM_ID }, token);
          const me = d.bullPen?.me;
          setMine(me ? { ...me, orders: d.bullPen.orders.edges.map((e) => e.node).filter((o) => o.participant.id === me.id) } : null);
        } catch (err) {
          setNote(err.message);
        }
      }, 100);
    };
  }, [token]);

  useEffect(() => {
    if (load.status === 'ready' && memberId) refreshMine();
  }, [load.status, memberId, refreshMine]);

  // Follow the room live (not in replay).
  useEffect(() => {
    if (!model || REPLAY) return undefined;
    return follow({
      id: ROOM_ID,
      token,
      symbols: load.allSymbols ? null : load.symbols,
      after: () => model.lastSeq,
      onEvent: (ev) => {
        if (!model.apply(ev)) return;
        bump();
        const pid = ev.order?.participant?.id ?? ev.participantId;
        // Prices move the seat's value too: refresh it with each snapshot.
        if (memberId && (pid === memberId || ev.__typename === 'RoomStateEvent' || ev.__typename === 'LeaderboardEvent')) refreshMine();
      },
      onQuote: (q) => setQuotes((old) => ({ ...old, [q.symbol]: q })),
      onStatus: setConn,
    });
  }, [model]); // eslint-disable-line react-hooks/exhaustive-deps

  if (load.status === 'loading') return <p className="loading">Loading room {ROOM_ID}…</p>;
  if (load.status === 'notfound') {
    return (
      <main>
        <h1>Room {ROOM_ID} not found</h1>
        <p>It does not exist, or it is PRIVATE and you are not in it.</p>
        <SignIn token={token} me={null} onToken={signIn} />
      </main>
    );
  }
  if (load.status === 'error') return <p className="error">Could not load the room: {load.message}</p>;

  const room = model.room;
  const seesTrades = !!(load.owner?.id === load.me?.id || memberId);
  return (
    <main>
      <header>
        <div>
          <h1 id="room-name">{room.name}</h1>
          {room.description && <p className="desc">{room.description}</p>}
        </div>
        <SignIn token={token} me={load.me} onToken={signIn} />
      </header>
      {note && <p className="note">{note}</p>}
      {REPLAY ? (
        <Replay model={model} token={token} bump={bump} />
      ) : (
        <StatusBar room={room} conn={conn} now={null} />
      )}
      <Rules room={room} owner={load.owner} />
      <div className="grid">
        <section>
          <h2>Leaderboard</h2>
          <Leaderboard model={model} memberId={memberId} />
        </section>
        <section>
          <h2>Equity of the leaders</h2>
          <Chart model={model} />
        </section>
        {!REPLAY && memberId && <Mine mine={mine} room={room} symbols={load.symbols} token={token} onChange={refreshMine} />}
        {!REPLAY && load.me && !memberId && load.owner?.id !== load.me.id && !FINISHED.includes(room.state) && (
          <Join token={token} onJoined={() => setReload((n) => n + 1)} setNote={setNote} />
        )}
        <section>
          <h2>Trades</h2>
          <Tape model={model} room={room} seesTrades={seesTrades} />
        </section>
        <section>
          <h2>Quotes</h2>
          <Quotes quotes={quotes} />
        </section>
        <section className="wide">
          <h2>Events</h2>
          <Feed model={model} />
        </section>
      </div>
    </main>
  );
}

function StatusBar({ room, conn, now: fixedNow }) {
  const tick = useNow();
  const now = fixedNow ?? tick;
  let clock = null;
  if (room.state === 'SCHEDULED') clock = <>starts in <b id="countdown">{countdown(Date.parse(room.startsAt), now)}</b></>;
  else if (room.state === 'ACTIVE' || room.state === 'PAUSED') clock = <>ends in <b id="countdown">{countdown(Date.parse(room.endsAt), now)}</b></>;
  else clock = <>{room.state === 'ENDED' ? 'ended' : 'cancelled'} {fmtDate(room.state === 'ENDED' ? room.endsAt : room.startsAt)}</>;
  return (
    <div className="status">
      <span id="room-state" className={`state ${room.state}`}>{room.state}</span>
      <span>{clock}</span>
      {conn && <span id="conn" className={`conn ${conn}`}>{conn}</span>}
      {!fixedNow && FINISHED.includes(room.state) && (
        <a id="replay-link" href={`?replay=1&speed=10`}>Replay this room</a>
      )}
    </div>
  );
}

function Rules({ room, owner }) {
  return (
    <dl className="rules">
      <dt>Host</dt><dd>{owner?.username}</dd>
      <dt>Runs</dt><dd>{fmtDate(room.startsAt)} – {fmtDate(room.endsAt)}</dd>
      <dt>Starting cash</dt><dd>{money(room.startingCash)}</dd>
      <dt>Commission</dt><dd>{money(room.commission)} per fill</dd>
      <dt>Short selling</dt><dd>{room.allowShortSelling ? 'allowed' : 'not allowed'}</dd>
      <dt>Symbols</dt><dd>{room.allowedSymbols ? room.allowedSymbols.join(', ') : 'all'}</dd>
      <dt>Players</dt><dd>{room.participantCount}{room.maxParticipants ? ` of ${room.maxParticipants}` : ''}</dd>
      <dt>Room</dt><dd>{room.visibility}, trades {room.tradeVisibility}</dd>
      <dt>Ranked by</dt><dd>{room.rankBy === 'SHARPE' ? 'Sharpe ratio' : 'return'}</dd>
      {room.maxPositionPercent && <><dt>Largest position</dt><dd>{room.maxPositionPercent}% of the portfolio</dd></>}
      {room.minSharePrice && <><dt>Lowest buy price</dt><dd>{money(room.minSharePrice)}</dd></>}
      {room.maxOrdersPerMinute && <><dt>Orders a minute</dt><dd>at most {room.maxOrdersPerMinute}</dd></>}
      {room.maxOpenOrders && <><dt>Open orders</dt><dd>at most {room.maxOpenOrders}</dd></>}
    </dl>
  );
}

function Leaderboard({ model, memberId }) {
  const board = model.board;
  if (!board) return <p className="empty">No snapshot yet.</p>;
  const entries = [...board.entries].sort((a, b) => a.rank - b.rank);
  return (
    <table id="leaderboard" data-seq={board.seq} data-final={board.final}>
      <thead>
        <tr><th>#</th><th></th><th>Player</th><th>Value</th><th>Return</th></tr>
      </thead>
      <tbody>
        {entries.map((e) => {
          const move = model.moves.get(e.participantId) ?? 0;
          const cls = [e.participantId === memberId ? 'me' : '', model.flashed.has(e.participantId) ? 'flash' : ''].join(' ').trim();
          return (
            // A changed rank re-mounts the row so the flash animation runs again.
            <tr key={`${e.participantId}-${model.flashed.has(e.participantId) ? board.seq : ''}`} className={cls} data-participant={e.participantId} data-rank={e.rank}>
              <td>{e.rank}</td>
              <td className={`move ${move > 0 ? 'up' : move < 0 ? 'down' : ''}`} title="last rank change">
                {move > 0 ? `▲${move}` : move < 0 ? `▼${-move}` : ''}
              </td>
              <td>{e.user.displayName || e.user.username}{e.participantId === memberId && <span className="you"> (you)</span>}</td>
              <td className="num">{money(e.portfolioValue)}</td>
              <td className={`num ${e.totalReturn.startsWith('-') ? 'neg' : 'pos'}`}>{pct(e.returnPercent)}</td>
            </tr>
          );
        })}
      </tbody>
      {board.final && <caption>final standings</caption>}
    </table>
  );
}

function Chart({ model }) {
  const el = useRef(null);
  const plot = useRef(null);
  const names = useRef('');
  const { names: ns, data } = model.curves(5);
  useEffect(() => {
    const key = ns.join('\u0000');
    if (!ns.length) {
      plot.current?.destroy();
      plot.current = null;
      names.current = '';
      return;
    }
    if (plot.current && names.current === key) {
      plot.current.setData(data);
      return;
    }
    plot.current?.destroy();
    names.current = key;
    plot.current = new uPlot(
      {
        width: el.current.clientWidth || 500,
        height: 240,
        scales: { x: { time: true } },
        axes: [{}, { size: 70 }],
        series: [{}, ...ns.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true }))],
      },
      data,
      el.current,
    );
  });
  useEffect(() => {
    const resize = () => plot.current?.setSize({ width: el.current.clientWidth, height: 240 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
    };
  }, []);
  return (
    <div id="chart" ref={el} data-points={data[0].length}>
      {!ns.length && <p className="empty">No snapshot yet.</p>}
    </div>
  );
}

function Tape({ model, room, seesTrades }) {
  if (room.tradeVisibility !== 'PUBLIC') {
    return <p id="tape-private" className="empty">This room keeps its trades private: each player sees only their own.</p>;
  }
  if (!seesTrades) {
    return <p id="tape-members" className="empty">Trades are public to the room's members: sign in and join to see the tape.</p>;
  }
  if (!model.trades.length) return <p id="tape" className="empty">No trades yet.</p>;
  return (
    <table id="tape">
      <tbody>
        {model.trades.map((t) => (
          <tr key={t.id} data-order={t.id} className={t.side}>
            <td>{fmtTime(t.at)}</td>
            <td>{t.user}</td>
            <td>{t.side}</td>
            <td className="num">{t.quantity}</td>
            <td>{t.symbol}</td>
            <td className="num">{money(t.price)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Quotes({ quotes }) {
  const rows = Object.values(quotes).sort((a, b) => a.symbol.localeCompare(b.symbol));
  return (
    <table id="quotes">
      <tbody>
        {rows.map((q) => (
          <tr key={q.symbol} data-symbol={q.symbol}>
            <td>{q.symbol}</td>
            <td className="num price">{money(q.price)}</td>
            <td className={`num ${q.change?.startsWith('-') ? 'neg' : 'pos'}`}>{q.changePercent != null ? pct(q.changePercent) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Feed({ model }) {
  return (
    <ol id="feed">
      {model.feed.map((f) => (
        <li key={f.seq} data-seq={f.seq} className={f.kind}>
          <span className="seq">#{f.seq}</span> <span className="at">{fmtTime(f.at)}</span> {f.text}
        </li>
      ))}
    </ol>
  );
}

function SignIn({ token, me, onToken }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState('');
  if (token && me) {
    return (
      <div className="signin">
        signed in as <b id="whoami">{me.username}</b>{' '}
        <button type="button" onClick={() => { gql('mutation { signOut }', null, token).catch(() => {}); onToken(null); }}>Sign out</button>
      </div>
    );
  }
  if (!open) {
    return (
      <div className="signin">
        <button type="button" id="signin-open" onClick={() => setOpen(true)}>Sign in</button>
      </div>
    );
  }
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      const d = await gql(
        'mutation In($u: String!, $p: String!) { signIn(input: {username: $u, password: $p}) { token } }',
        { u: f.get('username'), p: f.get('password') },
      );
      setError('');
      onToken(d.signIn.token);
    } catch (err) {
      setError(err.message);
    }
  };
  return (
    <form className="signin" id="signin" onSubmit={submit}>
      <input name="username" placeholder="username" autoComplete="username" required />
      <input name="password" type="password" placeholder="password" autoComplete="current-password" required />
      <button type="submit">Sign in</button>
      {error && <span className="error">{error}</span>}
    </form>
  );
}

function Join({ token, onJoined, setNote }) {
  const join = async () => {
    try {
      await gql('mutation J($id: ID!) { joinBullPen(bullPenId: $id) { id } }', { id: ROOM_ID }, token);
      onJoined();
    } catch (err) {
      setNote(err.message);
    }
  };
  return (
    <section>
      <h2>Play</h2>
      <button type="button" id="join" onClick={join}>Join this room</button>
    </section>
  );
}

function Mine({ mine, room, symbols, token, onChange }) {
  const [msg, setMsg] = useState('');
  const [type, setType] = useState('MARKET');
  if (!mine) return <section id="mine"><h2>Your seat</h2><p className="empty">Loading…</p></section>;
  const place = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const input = { bullPenId: ROOM_ID, symbol: f.get('symbol'), side: f.get('side'), type, quantity: Number(f.get('quantity')) };
    if (type === 'LIMIT' || type === 'STOP_LIMIT') input.limitPrice = f.get('limitPrice');
    if (type === 'STOP' || type === 'STOP_LIMIT') input.stopPrice = f.get('stopPrice');
    if (type === 'TRAILING_STOP') input.trailAmount = f.get('trailAmount');
    try {
      const d = await gql(`mutation P($in: PlaceOrderInput!) { placeOrder(input: $in) { id status filledPrice rejectReason rejectMessage } }`, { in: input }, token);
      const o = d.placeOrder;
      setMsg(`order ${o.id}: ${o.status}` + (o.filledPrice ? ` @ ${o.filledPrice}` : '') + (o.rejectMessage ? ` — ${o.rejectMessage}` : ''));
    } catch (err) {
      setMsg(err.message);
    }
    onChange();
  };
  const cancel = async (id) => {
    try {
      const d = await gql('mutation C($id: ID!) { cancelOrder(orderId: $id) { id status } }', { id }, token);
      setMsg(`order ${d.cancelOrder.id}: ${d.cancelOrder.status}`);
    } catch (err) {
      setMsg(err.message);
    }
    onChange();
  };
  const positions = (mine.positions ?? []).filter((p) => p.quantity !== 0);
  return (
    <section id="mine" className="wide">
      <h2>Your seat</h2>
      <dl className="rules">
        <dt>Cash</dt><dd id="my-cash">{money(mine.cash)}</dd>
        <dt>Buying power</dt><dd>{money(mine.buyingPower)}</dd>
        <dt>Value</dt><dd>{money(mine.portfolioValue)} ({pct(mine.returnPercent)})</dd>
        <dt>Rank</dt><dd>{mine.rank ?? '–'}</dd>
      </dl>
      <h3>Positions</h3>
      {positions.length ? (
        <table id="positions">
          <thead><tr><th>Symbol</th><th>Qty</th><th>Avg cost</th><th>Price</th><th>Value</th><th>Unrealized</th></tr></thead>
          <tbody>
            {positions.map((p) => (
              <tr key={p.symbol} data-symbol={p.symbol}>
                <td>{p.symbol}</td><td className="num">{p.quantity}</td><td className="num">{money(p.averageCost)}</td>
                <td className="num">{money(p.marketPrice)}</td><td className="num">{money(p.marketValue)}</td>
                <td className={`num ${p.unrealizedPnl.startsWith('-') ? 'neg' : 'pos'}`}>{money(p.unrealizedPnl)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="empty">No positions.</p>}
      <h3>Orders</h3>
      {mine.orders.length ? (
        <table id="orders">
          <tbody>
            {mine.orders.map((o) => (
              <tr key={o.id} data-order={o.id} data-status={o.status}>
                <td>{fmtTime(o.createdAt)}</td><td>{o.side}</td><td className="num">{o.quantity}</td><td>{o.symbol}</td>
                <td>{o.type}{o.limitPrice ? ` ${o.limitPrice}` : ''}{o.stopPrice ? ` stop ${o.stopPrice}` : ''}</td>
                <td className="ostatus">{o.status}{o.filledPrice ? ` @ ${o.filledPrice}` : ''}{o.rejectReason ? ` (${o.rejectReason})` : ''}</td>
                <td>{o.status === 'OPEN' && <button type="button" className="cancel" onClick={() => cancel(o.id)}>Cancel</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="empty">No orders.</p>}
      {(room.state === 'ACTIVE' || room.state === 'SCHEDULED' || room.state === 'PAUSED') && (
        <form id="order-form" onSubmit={place}>
          <select name="symbol" defaultValue={symbols[0]}>{symbols.map((s) => <option key={s}>{s}</option>)}</select>
          <select name="side" defaultValue="BUY"><option>BUY</option><option>SELL</option></select>
          <select name="type" value={type} onChange={(e) => setType(e.target.value)}>
            <option>MARKET</option><option>LIMIT</option><option>STOP</option><option>STOP_LIMIT</option><option>TRAILING_STOP</option>
          </select>
          <input name="quantity" type="number" min="1" defaultValue="10" required aria-label="quantity" />
          {(type === 'LIMIT' || type === 'STOP_LIMIT') && <input name="limitPrice" placeholder="limit price" required inputMode="decimal" />}
          {(type === 'STOP' || type === 'STOP_LIMIT') && <input name="stopPrice" placeholder="stop price" required inputMode="decimal" />}
          {type === 'TRAILING_STOP' && <input name="trailAmount" placeholder="trail amount" required inputMode="decimal" />}
          <button type="submit">Place order</button>
        </form>
      )}
      {msg && <p id="order-msg" className="note">{msg}</p>}
    </section>
  );
}

// Replay plays the room's stored log into the model at speed× the pace the
// events happened, with controls to pause, change speed, restart and skip.
function Replay({ model, token, bump }) {
  const [events, setEvents] = useState(null);
  const [speed, setSpeed] = useState(clampSpeed(params.get('speed') ?? 1));
  const [playing, setPlaying] = useState(true);
  const [, setTick] = useState(0);
  const player = useRef({ idx: 0, t: 0, base: null });

  useEffect(() => {
    eventLog(ROOM_ID, token).then(setEvents, (err) => setEvents({ error: err.message }));
  }, [token]);

  const reset = useCallback(() => {
    if (!Array.isArray(events)) return;
    const first = events.find((e) => e.__typename === 'RoomStateEvent');
    const fresh = new RoomModel({ ...player.current.base });
    fresh.room.state = first ? first.previousState : player.current.base.state;
    Object.assign(model, fresh);
    player.current.idx = 0;
    player.current.t = events.length ? Date.parse(events[0].occurredAt) : 0;
    bump();
  }, [events, model, bump]);

  useEffect(() => {
    if (!Array.isArray(events)) return;
    player.current.base = { ...model.room };
    reset();
  }, [events]); // eslint-disable-line react-hooks/exhaustive-deps

  const step = useCallback((until) => {
    const p = player.current;
    let n = 0;
    while (p.idx < events.length && Date.parse(events[p.idx].occurredAt) <= until) {
      model.apply(events[p.idx]);
      p.idx++;
      n++;
    }
    p.t = Math.min(until, Date.parse(events[events.length - 1]?.occurredAt ?? 0) || until);
    if (n) bump();
    setTick((x) => x + 1);
  }, [events, model, bump]);

  const done = Array.isArray(events) && player.current.idx >= events.length;
  useEffect(() => {
    if (!Array.isArray(events) || !playing || done) return undefined;
    const every = 100;
    const timer = setInterval(() => step(player.current.t + every * speed), every);
    return () => clearInterval(timer);
  }, [events, playing, speed, done, step]);

  if (events === null) return <div className="status">Loading the event log…</div>;
  if (events.error) return <div className="status error">Could not load the log: {events.error}</div>;
  const p = player.current;
  const setSpeedURL = (s) => {
    setSpeed(s);
    const u = new URL(window.location.href);
    u.searchParams.set('speed', String(s));
    window.history.replaceState(null, '', u);
  };
  return (
    <div className="status replay" id="replay">
      <span id="room-state" className={`state ${model.room.state}`}>{model.room.state}</span>
      <span>replay {new Date(p.t || Date.now()).toLocaleTimeString()}</span>
      <span id="replay-progress">{p.idx} / {events.length} events{done ? ' — done' : ''}</span>
      <button type="button" id="replay-play" onClick={() => (done ? (reset(), setPlaying(true)) : setPlaying(!playing))}>
        {done ? 'Replay again' : playing ? 'Pause' : 'Play'}
      </button>
      <label>
        speed{' '}
        <select id="replay-speed" value={speed} onChange={(e) => setSpeedURL(Number(e.target.value))}>
          {[...new Set([...SPEEDS, speed])].sort((a, b) => a - b).map((s) => <option key={s} value={s}>{s}×</option>)}
        </select>
      </label>
      <button type="button" onClick={() => p.idx < events.length && step(Date.parse(events[p.idx].occurredAt))}>Next event</button>
      <button type="button" id="replay-end" onClick={() => step(Infinity)}>To the end</button>
      <a href={window.location.pathname}>Live view</a>
    </div>
  );
}

createRoot(document.getElementById('room')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
