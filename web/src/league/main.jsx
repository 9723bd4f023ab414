// The live league page, served at /leagues/{id}: a league's standings over
// its ENDED rooms (points by final rank, as the server adds them up) and
// its rooms. While a room in it is not over, the page follows that room's
// state and reads the standings again when it changes; it shows only what
// the viewer may see (signed in with the token the room page keeps).
import '../room/room.css';
import './league.css';

import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { gql, loadToken } from '../room/api.js';
import { followRooms } from './follow.js';

const LEAGUE_ID = decodeURIComponent(window.location.pathname.split('/')[2] ?? '');
const FINISHED = ['ENDED', 'CANCELLED'];

const LEAGUE_QUERY = `query League($id: ID!) {
  me { id username }
  league(id: $id) {
    id name owner { username displayName }
    rooms { id name state startsAt endsAt participantCount }
    standings { rank points roomsPlayed user { id username displayName } }
  }
}`;

const fmtDate = (s) => (s ? new Date(s).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }) : '');

function App() {
  const [token] = useState(loadToken);
  const [load, setLoad] = useState({ status: 'loading' }); // loading | ready | notfound | error
  const [version, setVersion] = useState(0);
  const [conn, setConn] = useState(null);

  // Read the league, and again whenever a followed room changes state.
  useEffect(() => {
    let cancelled = false;
    gql(LEAGUE_QUERY, { id: LEAGUE_ID }, token).then(
      (data) => {
        if (cancelled) return;
        if (!data.league) setLoad({ status: 'notfound' });
        else setLoad({ status: 'ready', me: data.me, league: data.league });
      },
      (err) => {
        if (cancelled) return;
        setLoad({ status: err.code === 'BAD_USER_INPUT' || err.code === 'NOT_FOUND' ? 'notfound' : 'error', message: err.message });
      },
    );
    return () => { cancelled = true; };
  }, [token, version]);

  // Follow the rooms that are not over; the set changes when one ends (or
  // a room is added and shows on a later read).
  const live = load.status === 'ready' ? load.league.rooms.filter((b) => !FINISHED.includes(b.state)).map((b) => b.id) : [];
  const liveKey = live.join(',');
  useEffect(() => {
    if (!liveKey) {
      setConn(null);
      return undefined;
    }
    return followRooms({
      ids: liveKey.split(','),
      token,
      onChange: () => setVersion((v) => v + 1),
      onStatus: (s) => setConn(s === 'done' ? null : s),
    });
  }, [liveKey, token]);

  if (load.status === 'loading') return <p className="loading">Loading league {LEAGUE_ID}…</p>;
  if (load.status === 'notfound') {
    return (
      <main>
        <header className="top"><h1>League {LEAGUE_ID} not found</h1></header>
        <p>It does not exist, or every room in it is PRIVATE and you are in none of them.</p>
      </main>
    );
  }
  if (load.status === 'error') return <p className="error">Could not load the league: {load.message}</p>;

  const { league, me } = load;
  const ended = league.rooms.filter((b) => b.state === 'ENDED').length;
  return (
    <main>
      <header className="top">
        <div className="title">
          <h1 id="league-name">{league.name}</h1>
          <p className="desc">League of {league.owner.displayName || league.owner.username}</p>
        </div>
        <div className="auth">
          <span className="who">{me ? <>Signed in as <b id="whoami">{me.username}</b></> : 'Not signed in: sign in on a room page to see the PRIVATE rooms you are in'}</span>
        </div>
      </header>
      <div className="status">
        <span id="rooms-ended">{ended} of {league.rooms.length} {league.rooms.length === 1 ? 'room' : 'rooms'} ended</span>
        {conn && <span id="conn" className={`conn ${conn}`}>{conn}</span>}
        <span className="links"><a href="/">GraphiQL</a></span>
      </div>
      <div className="grid">
        <section className="card wide">
          <h2>Standings</h2>
          <Standings standings={league.standings} me={me} />
        </section>
        <section className="card wide">
          <h2>Rooms</h2>
          <Rooms rooms={league.rooms} />
        </section>
      </div>
    </main>
  );
}

function Standings({ standings, me }) {
  return (
    <div className="scroll">
      <table id="standings">
        <caption>
          Points per ended room by final rank: 25 18 15 12 10 8 6 4 2 1 for ranks 1 to 10. Tied players share the higher points;
          equal totals share a rank.
        </caption>
        <thead>
          <tr><th className="num">#</th><th>Player</th><th className="num">Points</th><th className="num">Rooms</th></tr>
        </thead>
        <tbody>
          {standings.length === 0 && <tr><td colSpan={4} className="empty">No room has ended yet.</td></tr>}
          {standings.map((s) => (
            <tr key={s.user.id} className={me?.id === s.user.id ? 'me' : undefined} data-user={s.user.username}>
              <td className="num rank">{s.rank}</td>
              <td className="player">
                {s.user.displayName || s.user.username}
                {me?.id === s.user.id && <span className="you"> (you)</span>}
              </td>
              <td className="num points">{s.points}</td>
              <td className="num played">{s.roomsPlayed}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Rooms({ rooms }) {
  return (
    <div className="scroll">
      <table id="rooms">
        <thead>
          <tr><th>Room</th><th>State</th><th className="num">Players</th><th>Ends</th></tr>
        </thead>
        <tbody>
          {rooms.length === 0 && <tr><td colSpan={4} className="empty">No rooms yet.</td></tr>}
          {rooms.map((b) => (
            <tr key={b.id} data-room={b.id}>
              <td className="room"><a href={`/rooms/${encodeURIComponent(b.id)}`}>{b.name}</a></td>
              <td><span className={`state ${b.state}`}>{b.state}</span></td>
              <td className="num">{b.participantCount}</td>
              <td>{fmtDate(b.endsAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

createRoot(document.getElementById('league')).render(<StrictMode><App /></StrictMode>);
