// A walk through a Bullpen game with typed operations: sign in (or up),
// open or join a room, follow its events, place orders, drop the
// connection and resume without losing an event.
//
//   BULLPEN_URL=http://localhost:8080/query npm start
//
// BULLPEN_USER / BULLPEN_PASSWORD sign in (signing up when the account does
// not exist; default: a new user), BULLPEN_ROOM joins that room instead of
// opening one, BULLPEN_SYMBOL picks what to trade (default AAPL). The
// market must have a price for it: the default simulated market does.
import { connect, type Bullpen } from './client.js';
import { describe, followRoom, type RoomEvent } from './follow.js';
import { CreateRoom, JoinRoom, PlaceOrder, Room, SignIn, SignUp } from './operations.js';
import type { OrderSide } from './gql/graphql.js';

const url = process.env.BULLPEN_URL ?? 'http://localhost:8080/query';
const symbol = process.env.BULLPEN_SYMBOL ?? 'AAPL';
const username = process.env.BULLPEN_USER ?? `starter_${Date.now().toString(36)}`;
const password = process.env.BULLPEN_PASSWORD ?? 'correct horse battery';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function signIn(anon: Bullpen): Promise<string> {
  const input = { username, password };
  const inRes = await anon.urql.mutation(SignIn, { input }).toPromise();
  if (inRes.data) return inRes.data.signIn.token;
  const upRes = await anon.urql.mutation(SignUp, { input: { ...input, displayName: username } }).toPromise();
  if (!upRes.data) throw new Error(`sign up ${username}: ${upRes.error?.message}`);
  console.log(`signed up ${upRes.data.signUp.user.username} (${upRes.data.signUp.user.id})`);
  return upRes.data.signUp.token;
}

async function openRoom(conn: Bullpen): Promise<{ id: string; owner: boolean }> {
  if (process.env.BULLPEN_ROOM) return { id: process.env.BULLPEN_ROOM, owner: false };
  // No startsAt: the room starts at once. endsAt is relative to now.
  const endsAt = new Date(Date.now() + 60 * 60 * 1000).toISOString();
  const res = await conn.urql.mutation(CreateRoom, {
    input: { name: 'Typed starter', endsAt, startingCash: '10000', allowedSymbols: [symbol] },
  }).toPromise();
  if (!res.data) throw new Error(`createBullPen: ${res.error?.message}`);
  console.log(`opened room ${res.data.createBullPen.id}: ${res.data.createBullPen.state} until ${res.data.createBullPen.endsAt}`);
  return { id: res.data.createBullPen.id, owner: true };
}

/** Places a market order, retrying while the market has no price yet. */
async function marketOrder(conn: Bullpen, roomId: string, side: OrderSide, quantity: number) {
  for (let attempt = 0; ; attempt++) {
    const res = await conn.urql.mutation(PlaceOrder, { input: { bullPenId: roomId, symbol, side, quantity } }).toPromise();
    if (!res.data) throw new Error(`placeOrder: ${res.error?.message}`);
    const o = res.data.placeOrder;
    if (o.status === 'REJECTED' && o.rejectReason === 'NO_PRICE' && attempt < 20) {
      await sleep(500);
      continue;
    }
    console.log(`placed ${side} ${quantity} ${symbol}: ${o.status}${o.filledPrice ? ` at ${o.filledPrice}` : ''}`);
    return o;
  }
}

function waitFor(events: RoomEvent[], pred: (e: RoomEvent) => boolean, what: string, ms = 15_000): Promise<RoomEvent> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const hit = events.find(pred);
      if (hit) resolve(hit);
      else if (Date.now() > deadline) reject(new Error(`no ${what} within ${ms} ms`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

async function main() {
  const anon = connect(url);
  const token = await signIn(anon);
  await anon.close();

  let conn = connect(url, token);
  const room = await openRoom(conn);
  const joined = await conn.urql.mutation(JoinRoom, { id: room.id }).toPromise();
  if (!joined.data) throw new Error(`joinBullPen: ${joined.error?.message}`);
  console.log(`joined with ${joined.data.joinBullPen.cash} cash`);

  // Start from the room as it is now: read lastSequence, follow after it.
  const state = await conn.urql.query(Room, { id: room.id }).toPromise();
  if (!state.data?.bullPen) throw new Error(`bullPen: ${state.error?.message ?? 'not found'}`);
  const start = state.data.bullPen.lastSequence;
  const events: RoomEvent[] = [];
  const onEvent = (e: RoomEvent) => { events.push(e); console.log(describe(e)); };
  let follower = followRoom(conn, room.id, start, onEvent);

  const buy = await marketOrder(conn, room.id, 'BUY', 10);
  await waitFor(events, (e) => e.__typename === 'OrderEvent' && e.order.id === buy.id, `event of order ${buy.id}`);

  // The connection drops; an order goes through meanwhile.
  follower.stop();
  await conn.close();
  const resumeAfter = follower.lastSequence;
  console.log(`-- disconnected after #${resumeAfter}`);
  const other = connect(url, token);
  const sell = await marketOrder(other, room.id, 'SELL', 5);
  await other.close();

  // Resume: the missed events are replayed, then the stream goes on live.
  conn = connect(url, token);
  console.log(`-- resuming after #${resumeAfter}`);
  follower = followRoom(conn, room.id, resumeAfter, onEvent);
  await waitFor(events, (e) => e.__typename === 'OrderEvent' && e.order.id === sell.id, `event of order ${sell.id}`);
  await waitFor(events, (e) => e.__typename === 'PositionEvent' && e.sequence > resumeAfter, 'position event after the resume');
  follower.stop();
  await conn.close();

  // The owner sees every event of the room: the sequences run without a gap.
  const seqs = events.map((e) => e.sequence);
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== start + 1 + i && room.owner) {
      throw new Error(`sequence ${seqs[i]} at position ${i}, want ${start + 1 + i}: a gap or a duplicate (${seqs.join(',')})`);
    }
  }
  console.log(`ok: ${events.length} events, #${seqs[0]}..#${seqs[seqs.length - 1]}, none lost across the reconnect`);
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
