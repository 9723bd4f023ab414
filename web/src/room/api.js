import { createClient } from 'graphql-ws';
import { endpoints } from '../endpoints.js';

// The page's own sign-in token. GraphiQL's Headers pane is read as a
// fallback, so a token pasted there also signs the page in.
const TOKEN_KEY = 'bullpen:token';

export function loadToken() {
  const own = localStorage.getItem(TOKEN_KEY);
  if (own) return own;
  // GraphiQL keeps the Headers pane of each tab in tabState (and in
  // "headers" when it persists them): the active tab's first.
  const texts = [];
  try {
    const tabs = JSON.parse(localStorage.getItem('graphiql:tabState') || 'null');
    const active = tabs?.tabs?.[tabs.activeTabIndex ?? 0];
    if (active?.headers) texts.push(active.headers);
  } catch {
    // not JSON: nothing there
  }
  texts.push(localStorage.getItem('graphiql:headers'));
  for (const text of texts) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(text || '{}') ?? {})) {
        const m = k.toLowerCase() === 'authorization' && /^Bearer\s+(\S+)$/i.exec(String(v));
        if (m) return m[1];
      }
    } catch {
      // not JSON: no token there
    }
  }
  return null;
}

export function saveToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

// GraphQLError is a response's first error, with its extensions.code.
export class GraphQLError extends Error {
  constructor(err) {
    super(err?.message ?? 'request failed');
    this.code = err?.extensions?.code;
  }
}

// gql runs a query or mutation over HTTP POST /query and returns its data,
// throwing the first error.
export async function gql(query, variables, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(endpoints(window.location).http, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new GraphQLError({ message: `HTTP ${res.status}` });
  }
  if (body.errors?.length) throw new GraphQLError(body.errors[0]);
  return body.data;
}

export const ENTRY = `rank participantId user { username displayName } portfolioValue cash totalReturn returnPercent`;
// TEAM_STANDING is a team's line on a snapshot's team board (null for a
// room without teams).
export const TEAM_STANDING = `rank score team { id name members { id user { username displayName } } }`;
// FILL is what a fill's price is made of (see model.js, fillBreakdown).
export const FILL = `id at quantity price midPrice spreadCost slippageCost impactCost commission`;
export const ORDER = `id symbol side type quantity limitPrice stopPrice status filledQuantity filledPrice
  averageFillPrice fills { ${FILL} }
  commission rejectReason rejectMessage createdAt filledAt note participant { id user { username } }`;
// EXECUTION is a room's execution model (selected on BullPen).
export const EXECUTION = `execution { preset spreadBps slippageBps priceImpact volumeLimitPercent }`;
// QUOTE is a price as the Quotes card shows it, with the two-sided market.
export const QUOTE = `symbol price bid ask volume at`;
export const POSITION = `symbol quantity averageCost costBasis marketPrice marketValue unrealizedPnl realizedPnl`;

// EVENT selects every kind of room event the page shows.
export const EVENT = `
  __typename sequence occurredAt
  ... on OrderEvent { kind order { ${ORDER} } }
  ... on PositionEvent { participantId position { ${POSITION} } }
  ... on LeaderboardEvent { snapshot { id takenAt final entries { ${ENTRY} } teams { ${TEAM_STANDING} } } }
  ... on RoomStateEvent { previousState state trigger startsAt endsAt actor { username } }
  ... on CorporateActionEvent { action { id kind symbol ratio amountPerShare exDate payDate } }
  ... on AnnouncementEvent { message }
`;

// eventLog reads the room's stored events after a sequence (all of them,
// page by page), of the given kinds or all.
export async function eventLog(id, token, { after = null, kinds = null, maxPages = 50 } = {}) {
  const out = [];
  const query = `query Log($id: ID!, $after: Int, $kinds: [BullPenEventKind!]) {
    bullPenEventLog(bullPenId: $id, afterSequence: $after, limit: 1000, kinds: $kinds) { ${EVENT} }
  }`;
  for (let page = 0; page < maxPages; page++) {
    const data = await gql(query, { id, after, kinds }, token);
    const evs = data.bullPenEventLog;
    out.push(...evs);
    if (evs.length < 1000) break;
    after = evs[evs.length - 1].sequence;
  }
  return out;
}

// bookQuotes reads the latest quote of each symbol (bid, ask and volume,
// which the instruments list has not): symbol -> quote. One request per 20
// symbols (aliases are limited, 50 by default); a request that fails
// leaves its symbols to their first tick.
export async function bookQuotes(symbols, token) {
  const out = {};
  const chunks = [];
  for (let i = 0; i < symbols.length; i += 20) chunks.push(symbols.slice(i, i + 20));
  await Promise.all(chunks.map(async (chunk) => {
    const vars = Object.fromEntries(chunk.map((s, i) => [`s${i}`, s]));
    const query = `query Book(${chunk.map((_, i) => `$s${i}: String!`).join(', ')}) {
      ${chunk.map((_, i) => `q${i}: quote(symbol: $s${i}) { ${QUOTE} }`).join('\n      ')}
    }`;
    try {
      for (const q of Object.values(await gql(query, vars, token))) if (q) out[q.symbol] = q;
    } catch {
      // shown from the next tick
    }
  }));
  return out;
}

// follow subscribes to the room's events and its symbols' quotes over a
// graphql-ws WebSocket and keeps doing so until stop() is called: when the
// socket drops it opens a new one after a short wait and subscribes with
// afterSequence set to the last sequence received, so the server replays
// what was missed and nothing is lost or repeated.
//
//   after()      the last sequence already shown (read on every (re)subscribe)
//   finished()   whether the room has ended: then a stream of its events
//                that completes is over (nothing more will happen), and
//                only the quotes are followed from then on
//   onEvent(ev)  each event, in order
//   onQuote(q)   each price
//   onStatus(s)  'connecting' | 'live' | 'reconnecting'
export function follow({ id, token, symbols, after, finished = () => false, onEvent, onQuote, onStatus }) {
  let stopped = false;
  let client = null;
  let wake = null;
  const url = endpoints(window.location).ws;

  let eventsOver = false;
  const run = async () => {
    let attempt = 0;
    while (!stopped) {
      onStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      client = createClient({
        url,
        retryAttempts: 0,
        lazy: true,
        keepAlive: 10_000,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        on: { connected: () => { attempt = 0; onStatus('live'); } },
      });
      const ended = [];
      if (!eventsOver) {
        ended.push(new Promise((resolve) => {
          client.subscribe(
            {
              query: `subscription Room($id: ID!, $after: Int) { bullPenEvents(bullPenId: $id, afterSequence: $after) { ${EVENT} } }`,
              variables: { id, after: after() },
            },
            { next: (r) => r.data && onEvent(r.data.bullPenEvents), error: () => resolve('error'), complete: () => resolve('events done') },
          );
        }));
      }
      // symbols null: every instrument's price.
      const quotes = new Promise((resolve) => {
        client.subscribe(
          { query: `subscription Q($s: [String!]) { quotes(symbols: $s) { ${QUOTE} } }`, variables: { s: symbols } },
          { next: (r) => r.data && onQuote(r.data.quotes), error: () => resolve('error'), complete: () => resolve('quotes done') },
        );
      });
      ended.push(quotes);
      // Either subscription ending means the socket is gone (or the server
      // ended the stream): start over on a fresh socket. A finished room's
      // event stream completing is its end: keep following the quotes.
      let why = await Promise.race(ended);
      if (why === 'events done' && finished()) {
        eventsOver = true;
        why = await quotes;
      }
      const c = client;
      client = null;
      await c.dispose();
      if (stopped) break;
      attempt++;
      onStatus('reconnecting');
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.min(500 * 2 ** Math.min(attempt - 1, 4), 8_000));
      });
    }
  };
  run();
  return () => {
    stopped = true;
    wake?.();
    client?.dispose();
  };
}
