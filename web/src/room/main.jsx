// The live room page, served at /rooms/{id}: the room's rules and state,
// its live leaderboard and equity curves, trade tape, quotes and recent
// events, and for a signed-in player their own seat with an order form.
// ?replay=1&speed=N replays a finished room from its event log;
// ?view=board is the projector view: the board, the chart and the tape in
// large type, with no controls.
import 'uplot/dist/uPlot.min.css';
import './room.css';

import { StrictMode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import uPlot from 'uplot';
import { EXECUTION, ORDER, POSITION, bookQuotes, eventLog, follow, gql, loadToken, saveToken } from './api.js';
import {
  FEED_MAX, RoomModel, assignmentText, progressText, clockLabels, countdown, marketAt, money, moneyLabels, percent, quantity, signedMoney, tick, tone, valueSeat,
  executionText, explains, fillLine, fillShort, hasCosts, orderStatusText, price, showsBook, whyPrice, working,
} from './model.js';

const ROOM_ID = decodeURIComponent(window.location.pathname.split('/')[2] ?? '');
const params = new URLSearchParams(window.location.search);
const REPLAY = params.get('replay') === '1';
const BOARD = params.get('view') === 'board';
// An invite link (/rooms/{id}?invite=CODE, given to the owner under the
// rules) lets a visitor join a PRIVATE room they cannot see yet.
const INVITE = params.get('invite');
const SPEEDS = [1, 2, 5, 10, 30, 60];
const clampSpeed = (n) => Math.min(60, Math.max(1, Math.round(Number(n)) || 1));
const FINISHED = ['ENDED', 'CANCELLED'];
const OPEN_FOR_ORDERS = ['ACTIVE', 'SCHEDULED', 'PAUSED'];

if (BOARD) document.documentElement.classList.add('board');

const HOURS = 'timeZone open close days isOpen nextOpen nextClose';
const HOURS_QUERY = `query Hours($id: ID!) { bullPen(id: $id) { tradingHours { ${HOURS} } } }`;

// REMOVED is what the board needs to mark the players the organiser
// removed; asked again after each announcement (a removal is one).
const REMOVED = 'id removedAt';
const REMOVED_QUERY = `query Removed($id: ID!) { bullPen(id: $id) { participants { ${REMOVED} } } }`;

// TEAM is a team as the Teams card lists it (BullPen.teams, createTeam,
// joinTeam): its members' ids tell the viewer's own team.
const TEAM = 'id name members { id user { username displayName } }';
const TEAMS_QUERY = `query Teams($id: ID!) { bullPen(id: $id) { teams { ${TEAM} } } }`;

const ROOM_QUERY = `query Room($id: ID!) {
  me { id username displayName }
  bullPen(id: $id) {
    id name description state startsAt endsAt startingCash commission allowShortSelling
    allowedSymbols maxParticipants visibility tradeVisibility participantCount lastSequence
    maxPositionPercent minSharePrice maxOrdersPerMinute maxOpenOrders rankBy
    ${EXECUTION}
    afterHours maxQuoteAgeSeconds requireNote inviteCode tradingHours { ${HOURS} }
    teamSize teamScoring teams { ${TEAM} }
    assignments { kind count orderType }
    participants { ${REMOVED} }
    owner { id username }
    me { id }
  }
  instruments { symbol name price }
}`;

// A player's own orders carry their trail too (not part of ORDER: the
// room's event stream asks only for fields every subscriber shares).
const MINE_QUERY = `query Mine($id: ID!) {
  bullPen(id: $id) {
    me { id cash buyingPower portfolioValue totalReturn returnPercent rank positions { ${POSITION} } assignments { kind required done met } }
    orders(first: 50) { edges { node { ${ORDER} trailAmount trailPercent } } }
  }
}`;

// The latest fills for the tape: of FILLED orders and of those whose rest
// still works.
const FILLS_QUERY = `query Fills($id: ID!) {
  bullPen(id: $id) {
    orders(status: FILLED, first: 50) { edges { node { ${ORDER} } } }
    partly: orders(status: PARTIALLY_FILLED, first: 50) { edges { node { ${ORDER} } } }
  }
}`;

// Times in 24 hours: short, the same width, and in the order they sort.
const fmtTime = (s) => (s ? new Date(s).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }) : '');
const fmtDate = (s) => (s ? new Date(s).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }) : '');
const words = (code) => code.toLowerCase().replaceAll('_', ' ');
const PHONE = window.matchMedia?.('(max-width: 480px)').matches ?? false;

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
      for (const i of data.instruments) if (symbols.includes(i.symbol)) q[i.symbol] = { symbol: i.symbol, price: i.price, at: null, change: null, changePercent: null };
      setQuotes(q);
      const m = new RoomModel(room);
      if (REPLAY) m.lastSeq = room.lastSequence;
      else {
        // The snapshot history for the curves, the room's recent events for
        // the feed (a page opened mid-game or after the end shows what
        // happened), and the latest fills for the tape; the subscription
        // then replays everything after the last of them (overlaps are
        // dropped by sequence and by order id).
        const after = Math.max(0, room.lastSequence - FEED_MAX);
        const [snaps, recent, fills] = await Promise.all([
          eventLog(ROOM_ID, token, { kinds: ['LEADERBOARD'] }),
          eventLog(ROOM_ID, token, { after, maxPages: 1 }),
          gql(FILLS_QUERY, { id: ROOM_ID }, token).catch(() => null),
        ]);
        for (const ev of snaps) m.addSnapshot(ev.sequence, ev.snapshot);
        // Teams no snapshot has ranked yet are listed too.
        m.mergeTeams(room.teams);
        for (const e of [...(fills?.bullPen?.orders.edges ?? []), ...(fills?.bullPen?.partly.edges ?? [])]) m.addFill(e.node, null);
        m.load(recent, after, room.lastSequence);
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
    if (load.status === 'ready' && memberId && !BOARD) refreshMine();
  }, [load.status, memberId, refreshMine]);

  // Follow the room live (not in replay).
  useEffect(() => {
    if (!model || REPLAY) return undefined;
    return follow({
      id: ROOM_ID,
      token,
      symbols: load.allSymbols ? null : load.symbols,
      after: () => model.lastSeq,
      finished: () => FINISHED.includes(model.room.state),
      onEvent: (ev) => {
        if (!model.apply(ev)) return;
        bump();
        const pid = ev.order?.participant?.id ?? ev.participantId;
        // Cash, buying power and rank come from the server: refresh them
        // with the player's own events and each snapshot. (Prices between
        // them move the seat through the quotes, below.)
        if (memberId && !BOARD && (pid === memberId || ev.__typename === 'RoomStateEvent' || ev.__typename === 'LeaderboardEvent' || ev.__typename === 'AnnouncementEvent')) refreshMine();
        // The organiser's hand: a removal ends a seat, marked on the board.
        if (ev.__typename === 'AnnouncementEvent') {
          gql(REMOVED_QUERY, { id: ROOM_ID }, token)
            .then((d) => {
              if (d.bullPen) model.setRemoved(d.bullPen.participants);
              bump();
            })
            .catch(() => {}); // marked at the next reload
        }
      },
      onQuote: (q) => setQuotes((old) => ({ ...old, [q.symbol]: tick(old[q.symbol], q) })),
      onStatus: setConn,
    });
  }, [model]); // eslint-disable-line react-hooks/exhaustive-deps

  useBookQuotes(load, model, token, setQuotes);

  if (load.status === 'loading') return <p className="loading">Loading room {ROOM_ID}…</p>;
  if (load.status === 'notfound') {
    return (
      <main>
        <header className="top">
          <h1>Room {ROOM_ID} not found</h1>
          {!BOARD && <Auth token={token} me={null} onToken={signIn} />}
        </header>
        <p>It does not exist, or it is PRIVATE and you are not in it.</p>
        {INVITE && !BOARD && (token ? (
          <Join token={token} invite={INVITE} onJoined={() => setReload((n) => n + 1)} setNote={setNote} />
        ) : (
          <p id="invite-signin">You have an invite to this room: sign in or sign up (at the top of the page) to join it.</p>
        ))}
        {note && <p className="note" role="status">{note}</p>}
      </main>
    );
  }
  if (load.status === 'error') return <p className="error">Could not load the room: {load.message}</p>;

  const room = model.room;
  const seesTrades = !!(load.owner?.id === load.me?.id || memberId);
  // The seat at the prices the Quotes card shows, in the same render.
  const prices = {};
  for (const q of Object.values(quotes)) if (q.price != null) prices[q.symbol] = q.price;
  const seat = mine && valueSeat(mine, prices, room.startingCash);
  // A player with a seat (not removed, not the owner) in no team may make
  // or join one while the room runs.
  const canJoinTeam = !!(room.teamSize && !REPLAY && memberId && !model.removed.has(memberId) && load.owner?.id !== load.me?.id
    && OPEN_FOR_ORDERS.includes(room.state) && !model.teamOf(memberId));

  const header = (
    <header className="top">
      <div className="title">
        <h1 id="room-name">{room.name}</h1>
        {room.description && <p className="desc">{room.description}</p>}
      </div>
      {!BOARD && <Auth token={token} me={load.me} onToken={signIn} />}
    </header>
  );
  const status = REPLAY ? (
    <Replay model={model} token={token} bump={bump} controls={!BOARD} />
  ) : (
    <>
      <StatusBar room={room} conn={conn} />
      <MarketBanner room={room} token={token} />
      <Announcement model={model} />
    </>
  );

  if (BOARD) {
    return (
      <main className="board-view">
        {header}
        {status}
        <div className={room.teamSize ? 'board-grid with-teams' : 'board-grid'}>
          <Card id="card-leaderboard" title="Leaderboard">
            <Leaderboard model={model} memberId={memberId} />
          </Card>
          <Card id="card-chart" title="Equity of the leaders">
            <Chart model={model} board />
          </Card>
          {room.teamSize && (
            <Card id="card-teams" title="Teams">
              <TeamBoard model={model} memberId={memberId} />
            </Card>
          )}
          <Card id="card-tape" title="Trades">
            <Tape model={model} room={room} seesTrades={seesTrades} />
          </Card>
        </div>
      </main>
    );
  }

  return (
    <main>
      {header}
      {note && <p className="note" role="status">{note}</p>}
      {status}
      <Rules room={room} owner={load.owner} />
      <div className="grid">
        <Card id="card-leaderboard" title="Leaderboard">
          <Leaderboard model={model} memberId={memberId} />
        </Card>
        {room.teamSize && (
          <Card id="card-teams" title="Teams">
            <TeamBoard model={model} memberId={memberId} token={token} bump={bump} canJoin={canJoinTeam} />
          </Card>
        )}
        <Card id="card-chart" title="Equity of the leaders">
          <Chart model={model} />
        </Card>
        {!REPLAY && memberId && <Mine seat={seat} room={room} symbols={load.symbols} token={token} onChange={refreshMine} />}
        {!REPLAY && load.me && !memberId && load.owner?.id !== load.me.id && !FINISHED.includes(room.state) && (
          <Join token={token} invite={INVITE} onJoined={() => setReload((n) => n + 1)} setNote={setNote} />
        )}
        {!REPLAY && !load.me && !FINISHED.includes(room.state) && (
          <Card id="card-play" title="Play">
            <p className="empty">Sign in or sign up (at the top of the page) to join this room and trade.</p>
          </Card>
        )}
        <Card id="card-tape" title="Trades">
          <Tape model={model} room={room} seesTrades={seesTrades} />
        </Card>
        <Card id="card-quotes" title="Quotes">
          <Quotes quotes={quotes} book={showsBook(room.execution)} />
        </Card>
        <Card id="card-events" title="Events" wide>
          <Feed model={model} />
        </Card>
      </div>
    </main>
  );
}

// Card is one titled box of the page's grid.
function Card({ id, title, wide, children }) {
  return (
    <section id={id} className={wide ? 'card wide' : 'card'} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {children}
    </section>
  );
}

// Scroll holds a table that may be wider than a phone: it scrolls sideways
// inside its card, never the page.
function Scroll({ children }) {
  return <div className="scroll">{children}</div>;
}

function StatusBar({ room, conn }) {
  const now = useNow();
  const finished = FINISHED.includes(room.state);
  let clock;
  if (room.state === 'SCHEDULED') clock = <>starts in <b id="countdown">{countdown(Date.parse(room.startsAt), now)}</b></>;
  else if (room.state === 'ACTIVE' || room.state === 'PAUSED') clock = <>ends in <b id="countdown">{countdown(Date.parse(room.endsAt), now)}</b></>;
  else clock = <>{room.state === 'ENDED' ? 'ended' : 'cancelled'} {fmtDate(room.state === 'ENDED' ? room.endsAt : room.startsAt)}</>;
  return (
    <div className="status">
      <span id="room-state" className={`state ${room.state}`}>{room.state}</span>
      <span className="clock">{clock}</span>
      {/* A finished room has nothing left to follow: no live badge. */}
      {!finished && conn && <span id="conn" className={`conn ${conn}`}>{conn}</span>}
      {!BOARD && (
        <span className="links">
          {finished && <a id="replay-link" href="?replay=1&speed=10">Replay this room</a>}
          <a id="board-link" href="?view=board">Projector view</a>
        </span>
      )}
    </div>
  );
}

// Announcement is the organiser's latest word (announce, and the
// removals and adjustments of cash the viewer may see) as a banner, until
// the viewer closes it; a newer one shows again.
function Announcement({ model }) {
  const [closed, setClosed] = useState(0); // the sequence closed
  const a = model.announcement;
  if (!a || a.seq <= closed) return null;
  return (
    <div id="announcement" className="announcement" role="status" data-seq={a.seq}>
      <b>From the organiser</b> <time dateTime={a.at}>{fmtTime(a.at)}</time>
      <p className="message">{a.message}</p>
      <button type="button" className="close" onClick={() => setClosed(a.seq)} aria-label="Close the announcement">×</button>
    </div>
  );
}

// MarketBanner says, in a room with trading hours whose market is closed,
// when it opens next and what an order placed now does. It asks the
// server again once the hours it has are out of date.
function MarketBanner({ room, token }) {
  const now = useNow();
  const [hours, setHours] = useState(room.tradingHours);
  const market = marketAt(hours, now);
  const stale = !!market?.stale;
  useEffect(() => {
    if (!stale) return undefined;
    let cancelled = false;
    const t = setTimeout(async () => {
      try {
        const d = await gql(HOURS_QUERY, { id: room.id }, token);
        if (!cancelled && d.bullPen) setHours(d.bullPen.tradingHours);
      } catch {
        // shown as it was; a reload asks again
      }
    }, 2000);
    return () => {
      cancelled = true;
      clearTimeout(t);
    };
  }, [stale, hours, room.id, token]);
  if (!market || market.open || FINISHED.includes(room.state)) return null;
  const queued = room.afterHours !== 'REJECT';
  return (
    <div id="market-closed" className="market-closed" role="status" data-next-open={market.nextOpen ?? ''}>
      <b>Market closed.</b>{' '}
      {market.nextOpen ? <>It opens <time dateTime={market.nextOpen}>{fmtDate(market.nextOpen)}</time>.</> : 'No next session.'}{' '}
      {queued ? 'Orders placed now wait for the first price of the next session.' : 'Orders placed now are rejected.'}
    </div>
  );
}

// hoursText is a room's trading hours in a line: "09:30–16:00
// America/New_York, MON–FRI".
function hoursText(h) {
  return `${h.open}–${h.close} ${h.timeZone}, ${h.days.join(' ')}`;
}

const inviteLink = (code) => `${window.location.origin}/rooms/${encodeURIComponent(ROOM_ID)}?invite=${encodeURIComponent(code)}`;

// Rules are open from the start, but on a phone, where they would push the
// board off the first screen.
function Rules({ room, owner }) {
  return (
    <details id="rules" open={!PHONE}>
      <summary>Rules</summary>
      <dl className="rules">
      <dt>Host</dt><dd>{owner?.username}</dd>
      <dt>Runs</dt><dd>{fmtDate(room.startsAt)} – {fmtDate(room.endsAt)}</dd>
      <dt>Starting cash</dt><dd>{money(room.startingCash)}</dd>
      <dt>Commission</dt><dd>{money(room.commission)} per order</dd>
      <ExecutionRule execution={room.execution} />
      <dt>Short selling</dt><dd>{room.allowShortSelling ? 'allowed' : 'not allowed'}</dd>
      <dt>Symbols</dt><dd>{room.allowedSymbols ? room.allowedSymbols.join(', ') : 'all'}</dd>
      <dt>Players</dt><dd>{room.participantCount}{room.maxParticipants ? ` of ${room.maxParticipants}` : ''}</dd>
      <dt>Room</dt><dd>{room.visibility}, trades {room.tradeVisibility}</dd>
      <dt>Ranked by</dt><dd>{room.rankBy === 'SHARPE' ? 'Sharpe ratio' : 'return'}</dd>
      {room.maxPositionPercent && <><dt>Largest position</dt><dd>{room.maxPositionPercent}% of the portfolio</dd></>}
      {room.minSharePrice && <><dt>Lowest buy price</dt><dd>{money(room.minSharePrice)}</dd></>}
      {room.maxOrdersPerMinute && <><dt>Orders a minute</dt><dd>at most {room.maxOrdersPerMinute}</dd></>}
      {room.maxOpenOrders && <><dt>Open orders</dt><dd>at most {room.maxOpenOrders}</dd></>}
      {room.tradingHours && <><dt>Trading hours</dt><dd id="rule-hours">{hoursText(room.tradingHours)}; after hours orders {room.afterHours === 'REJECT' ? 'are rejected' : 'wait for the open'}</dd></>}
      {room.maxQuoteAgeSeconds && <><dt>Price age</dt><dd>at most {room.maxQuoteAgeSeconds} s</dd></>}
      {room.requireNote && <><dt>Trade journal</dt><dd id="rule-journal">every order needs a note</dd></>}
      {room.assignments?.length > 0 && (
        <>
          <dt className="rule-row">Assignments</dt>
          <dd id="rule-assignments" className="rule-row">
            <ul className="assignment-rules">{room.assignments.map((a, i) => <li key={i} data-kind={a.kind}>{assignmentText(a)}</li>)}</ul>
          </dd>
        </>
      )}
      {room.teamSize && <><dt>Teams</dt><dd id="rule-teams">up to {room.teamSize} players, scored by {TEAM_SCORING[room.teamScoring] ?? room.teamScoring}</dd></>}
      {room.inviteCode && <><dt>Invite link</dt><dd id="rule-invite"><a href={inviteLink(room.inviteCode)}>{inviteLink(room.inviteCode)}</a> (only you see it; send it to your players)</dd></>}
      </dl>
    </details>
  );
}

function Swatch({ color }) {
  return <span className="swatch" style={{ background: color }} data-color={color} aria-hidden="true" />;
}

function Leaderboard({ model, memberId }) {
  const board = model.board;
  if (!board) return <p className="empty">No snapshot yet.</p>;
  const entries = [...board.entries].sort((a, b) => a.rank - b.rank);
  return (
    <Scroll>
      <table id="leaderboard" data-seq={board.seq} data-final={board.final}>
        {board.final && <caption>Final standings</caption>}
        <thead>
          <tr>
            <th scope="col" className="num">#</th>
            <th scope="col"><span className="sr-only">Rank change</span></th>
            <th scope="col">Player</th>
            <th scope="col" className="num">Value</th>
            <th scope="col" className="num">Return</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => {
            const move = model.moves.get(e.participantId) ?? 0;
            const cls = [e.participantId === memberId ? 'me' : '', model.flashed.has(e.participantId) ? 'flash' : ''].join(' ').trim();
            return (
              // A changed rank re-mounts the row so the flash animation runs again.
              <tr key={`${e.participantId}-${model.flashed.has(e.participantId) ? board.seq : ''}`} className={cls} data-participant={e.participantId} data-rank={e.rank}>
                <td className="num rank">{e.rank}</td>
                <td className={`move ${move > 0 ? 'up' : move < 0 ? 'down' : ''}`} title="last rank change">
                  {move > 0 ? `▲${move}` : move < 0 ? `▼${-move}` : ''}
                </td>
                <td className="player">
                  <Swatch color={model.colorOf(e.participantId)} />
                  {e.user.displayName || e.user.username}
                  {e.participantId === memberId && <span className="you"> (you)</span>}
                  {model.removed.has(e.participantId) && <span className="removed" title="removed by the organiser"> (removed)</span>}
                </td>
                <td className="num">{money(e.portfolioValue)}</td>
                <td className={`num ${tone(e.returnPercent)}`}>{percent(e.returnPercent)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Scroll>
  );
}

// TEAM_SCORING says how a room's teams are scored (BullPen.teamScoring).
const TEAM_SCORING = {
  AVERAGE: "the members' average return",
  SUM: "the members' portfolio values added up",
  BEST: "the best member's return",
};

// TeamBoard is the team board of the latest snapshot, live as the players'
// board is: each team's rank, name, score (a return, or for SUM a value)
// and members, the viewer's own team marked; teams no snapshot has ranked
// yet follow, unranked ("–"). A player in no team (canJoin) also gets a
// Join button on each team with a seat left, and a form to make a team;
// the card shows the change at once, and the server's refusal if any.
function TeamBoard({ model, memberId, token, bump, canJoin: mayJoin = false }) {
  const [msg, setMsg] = useState('');
  // Asked again of the model at each render: a team just made or joined
  // ends the controls in the same render that shows it as the viewer's.
  const canJoin = mayJoin && !model.teamOf(memberId);
  const [busy, setBusy] = useState(false);
  const board = model.board;
  const rows = model.teamBoard();
  const size = model.room.teamSize;
  const sum = model.room.teamScoring === 'SUM';

  // act runs createTeam or joinTeam, shows its team at once, and reads the
  // room's teams again (after a refusal too: a team found full shows so).
  const act = async (query, vars, done) => {
    setBusy(true);
    try {
      const d = await gql(query, vars, token);
      const team = d.createTeam ?? d.joinTeam;
      model.mergeTeams([team]);
      setMsg(done(team));
    } catch (err) {
      setMsg(err.message);
    }
    try {
      const d = await gql(TEAMS_QUERY, { id: ROOM_ID }, token);
      if (d.bullPen) model.mergeTeams(d.bullPen.teams);
    } catch {
      // the next snapshot brings them
    }
    setBusy(false);
    bump();
  };
  const create = (e) => {
    e.preventDefault();
    const name = String(new FormData(e.target).get('name') ?? '');
    act(`mutation T($id: ID!, $n: String!) { createTeam(bullPenId: $id, name: $n) { ${TEAM} } }`, { id: ROOM_ID, n: name },
      (t) => `You made team ${t.name}.`);
  };
  const join = (t) => act(`mutation J($t: ID!) { joinTeam(teamId: $t) { ${TEAM} } }`, { t: t.id }, (got) => `You joined team ${got.name}.`);

  const note = msg && <p id="team-msg" className="note" role="status">{msg}</p>;
  const form = canJoin && (
    <form id="team-form" onSubmit={create} aria-label="Make a team">
      <Field id="team-name" label="New team's name">
        <input id="team-name" name="name" required autoComplete="off" />
      </Field>
      <button type="submit" className="primary" disabled={busy}>Create team</button>
    </form>
  );
  if (!rows.length) {
    return (
      <>
        <p className="empty">{canJoin ? 'No teams yet: make the first one.' : 'No teams yet: the players make and join them on this page.'}</p>
        {form}
        {note}
      </>
    );
  }
  return (
    <>
      <Scroll>
        <table id="team-board" data-seq={board?.seq} data-final={board?.final}>
          {board?.final && <caption>Final team standings</caption>}
          <thead>
            <tr>
              <th scope="col" className="num">#</th>
              <th scope="col">Team</th>
              <th scope="col" className="num">{sum ? 'Value' : 'Return'}</th>
              <th scope="col">Members</th>
              {canJoin && <th scope="col" className="join-col">Seats</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => {
              const mine = memberId && t.members.some((m) => m.id === memberId);
              const full = t.members.length >= size;
              return (
                <tr key={t.id} className={mine ? 'me' : ''} data-team={t.id} data-rank={t.rank ?? ''}>
                  <td className="num rank">{t.rank ?? '–'}</td>
                  <td className="team">{t.name}{mine && <span className="you"> (yours)</span>}</td>
                  <td className={`num ${sum ? '' : tone(t.score)}`}>{sum ? money(t.score) : percent(t.score)}</td>
                  <td className="members">{t.members.map((m) => m.user.displayName || m.user.username).join(', ')}</td>
                  {canJoin && (
                    <td className="join-col">
                      <span className="seats">{t.members.length}/{size}</span>
                      {full ? <span className="full"> full</span> : (
                        <button type="button" className="join-team" disabled={busy} onClick={() => join(t)} aria-label={`Join team ${t.name}`}>Join</button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </Scroll>
      {form}
      {note}
    </>
  );
}

// TIME_STEPS are the x axis's tick spacings, in seconds: uPlot's own jump
// from one to five minutes, so a five-minute game on a phone got one tick.
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

// yAxisSize fits the y axis to its widest label.
function yAxisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  const longest = (values ?? []).reduce((a, v) => (v && v.length > a.length ? v : a), '');
  u.ctx.font = axis.font[0];
  return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / (window.devicePixelRatio || 1)) + 4;
}

// Chart draws the equity curves of the five leaders, each player in their
// own colour, a dollar y axis and a clock x axis; its legend names the
// lines and, while the pointer is over the chart, gives each value at that
// time.
function Chart({ model, board = false }) {
  const el = useRef(null);
  const plot = useRef(null);
  const key = useRef('');
  const [hover, setHover] = useState(null);
  const last = model.board?.seq ?? 0;
  const count = model.snapshots.length;
  // Curves are rebuilt when a snapshot arrives, not on every render (the
  // legend re-renders the chart as the pointer moves).
  const curves = useMemo(() => model.curves(5), [model, last, count]); // eslint-disable-line react-hooks/exhaustive-deps
  const { names, ids, colors, data } = curves;

  useEffect(() => {
    const k = ids.map((id, i) => `${id}:${names[i]}:${colors[i]}`).join('|');
    if (!ids.length) {
      plot.current?.destroy();
      plot.current = null;
      key.current = '';
      return;
    }
    if (plot.current && key.current === k) {
      plot.current.setData(data);
      return;
    }
    plot.current?.destroy();
    key.current = k;
    const font = board ? '16px system-ui, sans-serif' : '12px system-ui, sans-serif';
    const labelFont = board ? '600 16px system-ui, sans-serif' : '600 12px system-ui, sans-serif';
    const xLabels = { ticks: [] };
    const root = el.current;
    plot.current = new uPlot(
      {
        width: root.clientWidth || 500,
        height: root.clientHeight || 240,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { size: board ? 10 : 7 } },
        scales: {
          // One snapshot gets a minute around it (uPlot would give it a
          // day), and a flat line a percent of value around it (rather
          // than zero to twice it).
          x: { time: true, range: (u, min, max) => {
            const xs = u.data[0];
            return xs.length && xs[0] === xs[xs.length - 1] ? [xs[0] - 30, xs[0] + 30] : [min, max];
          } },
          y: { range: (u, min, max) => {
            if (min == null) return [0, 1];
            const pad = min === max ? Math.max(1, Math.abs(min) * 0.01) : (max - min) * 0.08;
            return [min - pad, max + pad];
          } },
        },
        axes: [
          {
            font,
            stroke: '#374151',
            grid: { stroke: '#eef0f3' },
            ticks: { stroke: '#d1d5db' },
            // One line per label, far enough apart that none overlap on a
            // phone; the format follows the tick spacing.
            space: board ? 110 : 70,
            incrs: TIME_STEPS,
            values: (u, splits, ai, space, incr) => {
              const labels = clockLabels(splits, incr);
              xLabels.ticks = splits.map((s, i) => [s, labels[i]]);
              return labels;
            },
          },
          {
            font,
            labelFont,
            stroke: '#374151',
            grid: { stroke: '#eef0f3' },
            ticks: { stroke: '#d1d5db' },
            label: 'Portfolio value ($)',
            labelSize: board ? 26 : 20,
            space: board ? 50 : 36,
            size: yAxisSize,
            values: (u, splits, ai, space, incr) => moneyLabels(splits, incr),
          },
        ],
        series: [{}, ...names.map((label, i) => ({
          label, stroke: colors[i], width: board ? 3 : 2, spanGaps: true,
          points: { show: (u) => u.data[0].length < 2, size: board ? 10 : 7 },
        }))],
        hooks: {
          setCursor: [(u) => setHover(u.cursor.idx ?? null)],
          // What the x axis drew, for the tests: each label's centre and
          // width in CSS pixels.
          draw: [(u) => {
            const ctx = document.createElement('canvas').getContext('2d');
            ctx.font = font;
            const left = u.bbox.left / (window.devicePixelRatio || 1);
            const ticks = xLabels.ticks
              .filter(([s, t]) => t != null && s >= u.scales.x.min && s <= u.scales.x.max)
              .map(([s, t]) => ({ x: Math.round(left + u.valToPos(s, 'x')), w: Math.ceil(ctx.measureText(t).width), text: t }));
            root.dataset.xticks = JSON.stringify(ticks);
            root.dataset.width = String(u.width);
          }],
        },
      },
      data,
      root,
    );
  });

  useEffect(() => {
    const root = el.current;
    const ro = new ResizeObserver(() => {
      if (plot.current && root.clientWidth) plot.current.setSize({ width: root.clientWidth, height: root.clientHeight || 240 });
    });
    ro.observe(root);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  const idx = hover != null && hover < data[0].length ? hover : null;
  return (
    <>
      <div id="chart" ref={el} data-points={data[0].length} role="img" aria-label="Equity of the leaders over time">
        {!ids.length && <p className="empty">No snapshot yet.</p>}
      </div>
      {ids.length > 0 && (
        <div id="chart-legend" className={idx != null ? 'hover' : ''}>
          {idx != null && <span id="chart-time">{fmtTime(data[0][idx] * 1000)}</span>}
          <ul>
            {ids.map((id, i) => (
              <li key={id} data-participant={id}>
                <Swatch color={colors[i]} />
                <span className="name">{names[i]}</span>
                {idx != null && <span className="val">{money(curves.values[i][idx])}</span>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </>
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
    <div className="scroll tall">
      <table id="tape">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Player</th>
            <th scope="col">Side</th>
            <th scope="col" className="num">Qty</th>
            <th scope="col">Symbol</th>
            <th scope="col" className="num">Price</th>
          </tr>
        </thead>
        <tbody>
          {model.trades.map((t) => <TapeRows key={t.key} model={model} t={t} />)}
        </tbody>
      </table>
    </div>
  );
}

function Quotes({ quotes, book = false }) {
  const rows = Object.values(quotes).sort((a, b) => a.symbol.localeCompare(b.symbol));
  return (
    <div className="scroll tall">
      <table id="quotes">
        <caption>
          Last tick: the change from the price before it.
          {book && ' Buys fill at the ask, sells at the bid, plus the costs in the rules.'}
        </caption>
        <thead>
          <tr>
            <th scope="col">Symbol</th>
            <th scope="col" className="num">Price</th>
            {book && <BookHead />}
            <th scope="col" className="num">Last tick</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((q) => (
            <tr key={q.symbol} data-symbol={q.symbol}>
              <td>{q.symbol}</td>
              <td className="num price">{money(q.price)}</td>
              {book && <BookCell q={q} />}
              <td className={`num change ${tone(q.change)}`}>
                {q.change != null ? <>{signedMoney(q.change)} <span className="pct">({percent(q.changePercent)})</span></> : '–'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Feed({ model }) {
  if (!model.feed.length) return <p className="empty" id="feed-empty">Nothing has happened in this room yet.</p>;
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

// Field is a form control with its label above it.
function Field({ id, label, children }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}

// Auth signs a visitor in, or up (a new account, signed in at once), or out.
function Auth({ token, me, onToken }) {
  const [mode, setMode] = useState(null); // null | 'in' | 'up'
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  if (token && me) {
    return (
      <div className="auth">
        <span className="who">Signed in as <b id="whoami">{me.username}</b></span>
        <button type="button" id="signout" onClick={() => { gql('mutation { signOut }', null, token).catch(() => {}); onToken(null); }}>Sign out</button>
      </div>
    );
  }
  if (!mode) {
    return (
      <div className="auth">
        <button type="button" id="signin-open" onClick={() => setMode('in')}>Sign in</button>
        <button type="button" id="signup-open" className="primary" onClick={() => setMode('up')}>Sign up</button>
      </div>
    );
  }
  const up = mode === 'up';
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    setBusy(true);
    try {
      const vars = { u: f.get('username'), p: f.get('password') };
      let d;
      if (up) {
        d = await gql(
          'mutation Up($u: String!, $p: String!, $n: String) { signUp(input: {username: $u, password: $p, displayName: $n}) { token } }',
          { ...vars, n: f.get('displayName') || null },
        );
      } else {
        d = await gql('mutation In($u: String!, $p: String!) { signIn(input: {username: $u, password: $p}) { token } }', vars);
      }
      setError('');
      onToken((up ? d.signUp : d.signIn).token);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const id = up ? 'signup' : 'signin';
  return (
    <form className="auth-form" id={id} onSubmit={submit} aria-label={up ? 'Sign up' : 'Sign in'}>
      <Field id={`${id}-username`} label="Username">
        <input id={`${id}-username`} name="username" autoComplete="username" required autoFocus />
      </Field>
      <Field id={`${id}-password`} label={up ? 'Password (8 or more characters)' : 'Password'}>
        <input id={`${id}-password`} name="password" type="password" autoComplete={up ? 'new-password' : 'current-password'} required minLength={up ? 8 : undefined} />
      </Field>
      {up && (
        <Field id={`${id}-name`} label="Display name (optional)">
          <input id={`${id}-name`} name="displayName" autoComplete="nickname" />
        </Field>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>{up ? 'Create account' : 'Sign in'}</button>
        <button type="button" onClick={() => { setMode(null); setError(''); }}>Cancel</button>
        <button type="button" className="link" onClick={() => { setMode(up ? 'in' : 'up'); setError(''); }}>
          {up ? 'I have an account' : 'New here? Sign up'}
        </button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}

function Join({ token, invite, onJoined, setNote }) {
  const join = async () => {
    try {
      await gql('mutation J($id: ID!, $invite: String) { joinBullPen(bullPenId: $id, inviteCode: $invite) { id } }', { id: ROOM_ID, invite: invite || null }, token);
      setNote('');
      onJoined();
    } catch (err) {
      setNote(err.message);
    }
  };
  return (
    <Card id="card-play" title="Play">
      <button type="button" id="join" className="primary" onClick={join}>Join this room</button>
    </Card>
  );
}

// orderTerms is an order's type and prices in words: "limit 1.00",
// "trailing stop 2.50 (stop 97.50)".
function orderTerms(o) {
  const parts = [words(o.type)];
  if (o.type === 'TRAILING_STOP') {
    parts.push(o.trailAmount ? money(o.trailAmount) : o.trailPercent ? `${o.trailPercent}%` : '');
    if (o.stopPrice) parts.push(`(stop ${money(o.stopPrice)})`);
  } else {
    if (o.stopPrice) parts.push(`stop ${money(o.stopPrice)}`);
    if (o.limitPrice) parts.push(`${o.type === 'STOP_LIMIT' ? 'limit ' : ''}${money(o.limitPrice)}`);
  }
  return parts.filter(Boolean).join(' ');
}

function Mine({ seat, room, symbols, token, onChange }) {
  const [msg, setMsg] = useState('');
  const [type, setType] = useState('MARKET');
  if (!seat) return <Card id="mine" title="Your seat" wide><p className="empty">Loading…</p></Card>;
  const place = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    // The server takes a Decimal in one exact form: what a person types
    // around it (spaces) is not part of the number.
    const field = (name) => String(f.get(name) ?? '').trim();
    const input = { bullPenId: ROOM_ID, symbol: f.get('symbol'), side: f.get('side'), type, quantity: Number(field('quantity')) };
    if (type === 'LIMIT' || type === 'STOP_LIMIT') input.limitPrice = field('limitPrice');
    if (type === 'STOP' || type === 'STOP_LIMIT') input.stopPrice = field('stopPrice');
    if (type === 'TRAILING_STOP') input.trailAmount = field('trailAmount');
    // The trade journal: the note as typed (the server trims it); left
    // out when empty, so a room that requires one answers naming it.
    const note = String(f.get('note') ?? '');
    if (note.trim()) input.note = note;
    try {
      const d = await gql(`mutation P($in: PlaceOrderInput!) {
        placeOrder(input: $in) { id status quantity filledQuantity filledPrice averageFillPrice fills { id } rejectReason rejectMessage }
      }`, { in: input }, token);
      const o = d.placeOrder;
      setMsg(`Order ${o.id}: ${orderStatusText(o)}` + (o.rejectMessage ? ` — ${o.rejectMessage}` : ''));
    } catch (err) {
      setMsg(err.message);
    }
    onChange();
  };
  const cancel = async (id) => {
    try {
      const d = await gql('mutation C($id: ID!) { cancelOrder(orderId: $id) { id status } }', { id }, token);
      setMsg(`Order ${d.cancelOrder.id}: ${d.cancelOrder.status}`);
    } catch (err) {
      setMsg(err.message);
    }
    onChange();
  };
  const positions = seat.positions;
  return (
    <Card id="mine" title="Your seat" wide>
      <dl className="figures">
        <div><dt>Value</dt><dd id="my-value">{money(seat.portfolioValue)}</dd></div>
        <div>
          <dt>Return</dt>
          <dd id="my-return" className={tone(seat.returnPercent)}>{signedMoney(seat.totalReturn)} ({percent(seat.returnPercent)})</dd>
        </div>
        <div><dt>Cash</dt><dd id="my-cash">{money(seat.cash)}</dd></div>
        <div><dt>Buying power</dt><dd id="my-buying-power">{money(seat.buyingPower)}</dd></div>
        <div><dt>Rank</dt><dd id="my-rank">{seat.rank ?? '–'}</dd></div>
      </dl>
      {room.assignments?.length > 0 && <Assignments rules={room.assignments} progress={seat.assignments ?? []} />}
      <div className="seat-tables">
        <div>
          <h3 id="positions-title">Positions</h3>
          {positions.length ? (
            <Scroll>
              <table id="positions" aria-labelledby="positions-title">
                <thead>
                  <tr>
                    <th scope="col">Symbol</th>
                    <th scope="col" className="num">Qty</th>
                    <th scope="col" className="num avg-col">Avg cost</th>
                    <th scope="col" className="num">Price<span className="avg-below"> / avg cost</span></th>
                    <th scope="col" className="num">Value</th>
                    <th scope="col" className="num">Unrealized P&amp;L</th>
                  </tr>
                </thead>
                <tbody>
                  {positions.map((p) => (
                    <tr key={p.symbol} data-symbol={p.symbol}>
                      <td>{p.symbol}</td>
                      <td className="num qty">{quantity(p.quantity)}</td>
                      <td className="num avg-col">{money(p.averageCost)}</td>
                      <td className="num price">
                        <span className="now">{money(p.marketPrice)}</span>
                        <span className="avg-below">{money(p.averageCost)}</span>
                      </td>
                      <td className="num value">{money(p.marketValue)}</td>
                      <td className={`num pnl ${tone(p.unrealizedPnl)}`}>{signedMoney(p.unrealizedPnl)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          ) : <p className="empty">No positions.</p>}
        </div>
        <div>
          <h3 id="orders-title">Orders</h3>
          {seat.orders.length ? (
            <Scroll>
              <table id="orders" aria-labelledby="orders-title">
                <thead>
                  <tr>
                    <th scope="col">Order</th>
                    <th scope="col">Type</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {seat.orders.map((o) => <OrderRows key={o.id} o={o} cancel={cancel} />)}
                </tbody>
              </table>
            </Scroll>
          ) : <p className="empty">No orders.</p>}
        </div>
      </div>
      {OPEN_FOR_ORDERS.includes(room.state) && (
        <form id="order-form" onSubmit={place} aria-label="Place an order">
          <Field id="order-symbol" label="Symbol">
            <select id="order-symbol" name="symbol" defaultValue={symbols[0]}>{symbols.map((s) => <option key={s}>{s}</option>)}</select>
          </Field>
          <Field id="order-side" label="Side">
            <select id="order-side" name="side" defaultValue="BUY"><option>BUY</option><option>SELL</option></select>
          </Field>
          <Field id="order-type" label="Type">
            <select id="order-type" name="type" value={type} onChange={(e) => setType(e.target.value)}>
              <option value="MARKET">market</option>
              <option value="LIMIT">limit</option>
              <option value="STOP">stop</option>
              <option value="STOP_LIMIT">stop limit</option>
              <option value="TRAILING_STOP">trailing stop</option>
            </select>
          </Field>
          <Field id="order-quantity" label="Quantity">
            <input id="order-quantity" name="quantity" type="number" min="1" step="1" defaultValue="10" required />
          </Field>
          {(type === 'STOP' || type === 'STOP_LIMIT') && (
            <Field id="order-stop" label="Stop price"><input id="order-stop" name="stopPrice" required inputMode="decimal" placeholder="0.00" /></Field>
          )}
          {(type === 'LIMIT' || type === 'STOP_LIMIT') && (
            <Field id="order-limit" label="Limit price"><input id="order-limit" name="limitPrice" required inputMode="decimal" placeholder="0.00" /></Field>
          )}
          {type === 'TRAILING_STOP' && (
            <Field id="order-trail" label="Trail amount"><input id="order-trail" name="trailAmount" required inputMode="decimal" placeholder="0.00" /></Field>
          )}
          <Field id="order-note" label={room.requireNote ? 'Note (required)' : 'Note'}>
            <textarea id="order-note" name="note" rows={1} maxLength={500} required={room.requireNote}
              placeholder={room.requireNote ? 'Why this trade? (required)' : 'Why this trade? (optional)'} />
          </Field>
          <button type="submit" className="primary">Place order</button>
        </form>
      )}
      {msg && <p id="order-msg" className="note" role="status">{msg}</p>}
    </Card>
  );
}

// Assignments is the player's progress on the room's assignments, in the
// room's order (each progress is the rule of the same place): what to do,
// done/required, and a tick once met.
function Assignments({ rules, progress }) {
  return (
    <div className="assignments">
      <h3 id="assignments-title">Assignments</h3>
      <ul id="assignments" aria-labelledby="assignments-title">
        {rules.map((a, i) => {
          const p = progress[i];
          return (
            <li key={i} data-kind={a.kind} data-met={p ? String(p.met) : ''}>
              <span className="what">{assignmentText(a)}</span>
              <span className="done">{p ? progressText(p) : '–'}</span>
              <span className={p?.met ? 'met yes' : 'met'} title={p?.met ? 'met' : 'not met yet'}>
                {p?.met ? '✓' : '○'}<span className="sr-only">{p?.met ? ' met' : ' not met yet'}</span>
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

// Replay plays the room's stored log into the model at speed× the pace the
// events happened, with controls to pause, change speed, restart and skip.
function Replay({ model, token, bump, controls = true }) {
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
  const head = (
    <>
      <span id="room-state" className={`state ${model.room.state}`}>{model.room.state}</span>
      <span>replay {new Date(p.t || Date.now()).toLocaleTimeString()}</span>
      <span id="replay-progress">{p.idx} / {events.length} events{done ? ' — done' : ''}</span>
    </>
  );
  // The projector view plays the replay through, with no controls.
  if (!controls) return <div className="status replay" id="replay">{head}</div>;
  return (
    <div className="status replay" id="replay">
      {head}
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

// ---- Why this price: the execution model, the two-sided market and each
// fill's breakdown (issue 19). ----

// ExecutionRule is the room's execution model in its rules, on a row of
// its own: how orders fill and what they cost.
function ExecutionRule({ execution }) {
  return (
    <>
      <dt className="rule-row">Execution</dt>
      <dd id="rule-execution" className="rule-row" data-preset={execution?.preset ?? 'FRICTIONLESS'}>{executionText(execution)}</dd>
    </>
  );
}

// useBookQuotes gives the Quotes card each symbol's bid, ask and volume
// when the page opens on a room that trades at them (the instruments list
// has the last price only); ticks bring them from then on.
function useBookQuotes(load, model, token, setQuotes) {
  const book = load.status === 'ready' && showsBook(model?.room.execution);
  useEffect(() => {
    if (!book) return undefined;
    let cancelled = false;
    bookQuotes(load.symbols, token).then((got) => {
      if (cancelled) return;
      setQuotes((old) => {
        const out = { ...old };
        for (const [sym, q] of Object.entries(got)) {
          if (out[sym] && out[sym].bid == null) out[sym] = { ...out[sym], bid: q.bid, ask: q.ask, volume: q.volume };
        }
        return out;
      });
    });
    return () => {
      cancelled = true;
    };
  }, [book, model]); // eslint-disable-line react-hooks/exhaustive-deps
}

function BookHead() {
  return <th scope="col" className="num book">Bid / ask</th>;
}

// BookCell is a quote's bid and ask, and the volume traded since the tick
// before (what a fill's share of a tick is measured against).
function BookCell({ q }) {
  return (
    <td className="num book">
      <span className="bid">{price(q.bid)}</span>
      <span className="sep"> / </span>
      <span className="ask">{price(q.ask)}</span>
      {q.volume != null && <span className="vol">vol {quantity(q.volume)}</span>}
    </td>
  );
}

// TapeRows is one fill on the tape and, when it paid costs, a line under
// it with its mid and its costs a share (the whole sum in its tooltip).
function TapeRows({ model, t }) {
  const why = t.fill && hasCosts(t.fill);
  return (
    <>
      <tr data-order={t.id} data-fill={t.fill?.id} className={`trade ${t.side}${why ? ' has-why' : ''}`}>
        <td className="time">{fmtTime(t.at)}</td>
        <td className="player">{t.pid && <Swatch color={model.colorOf(t.pid)} />}{t.user}</td>
        <td className="side">{t.side}</td>
        <td className="num">{quantity(t.quantity)}</td>
        <td>{t.symbol}</td>
        <td className="num price">{price(t.price)}</td>
      </tr>
      {why && (
        <tr className="why" data-fill={t.fill.id}>
          <td colSpan={6} title={`Why this price: ${whyPrice(t.fill, t.side)} a share`}>
            <span className="sr-only">Why this price: </span>{fillShort(t.fill, t.side)}
          </td>
        </tr>
      )}
    </>
  );
}

// OrderRows is one of the player's orders: what it is, its terms, its
// status with what has filled (and, while it works, a Cancel button);
// then, when its fills have costs or are several, "Why this price": each
// fill's mid, spread, slippage and impact a share, and its commission.
function OrderRows({ o, cancel }) {
  const n = o.fills?.length ?? 0;
  return (
    <>
      <tr data-order={o.id} data-status={o.status} className={explains(o) ? 'has-fills' : undefined}>
        <td className={`order ${o.side}`}>
          {o.side} {quantity(o.quantity)} {o.symbol}
          <time className="placed" dateTime={o.createdAt} title="placed">{fmtTime(o.createdAt)}</time>
          {o.note && <q className="journal" title="your note">{o.note}</q>}
        </td>
        <td className="terms">{orderTerms(o)}</td>
        <td className="ostatus" title={o.rejectMessage ?? undefined}>
          <span className="what">{orderStatusText(o)}{o.rejectReason ? `: ${words(o.rejectReason)}` : ''}</span>
          {working(o) && <button type="button" className="cancel" onClick={() => cancel(o.id)} aria-label={`Cancel order ${o.id}`}>Cancel</button>}
        </td>
      </tr>
      {explains(o) && (
        <tr className="fills-row" data-fills-for={o.id}>
          <td colSpan={3}>
            <details>
              <summary>Why this price{n > 1 ? ` (${n} fills)` : ''}</summary>
              <ol className="fills">
                {o.fills.map((f) => <li key={f.id} data-fill={f.id}>{fillLine(f, o.side)}</li>)}
              </ol>
            </details>
          </td>
        </tr>
      )}
    </>
  );
}

createRoot(document.getElementById('room')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
