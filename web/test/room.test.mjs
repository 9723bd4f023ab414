// Headless-browser tests of the live room page (/rooms/{id}) against a real
// server on a temporary SQLite file (see harness.mjs): events caused by
// mutations land on the page, a dropped socket resumes without a gap, who
// sees trades, a player's orders from the page, the replay; and the page's
// front: nothing wider than a phone or a laptop screen, numbers to the cent
// and percentages to two places, labelled tables and fields, a colour per
// player, sign-up, recent history on load, the seat at live prices, no
// live badge on an ended room, and the projector view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openPage, sleep, overflow, PHONE, LAPTOP, SMALL_PHONE } from './harness.mjs';
import { money } from '../src/room/model.js';

let srv;
let browser;
let alice; // admin (sets prices) and host
let bob;
let carol;

before(async () => {
  srv = await new Server().start();
  alice = await srv.signUp('alice');
  bob = await srv.signUp('bob');
  carol = await srv.signUp('carol');
  srv.grantAdmin('alice');
  await srv.setQuote(alice, 'AAPL', '100.00');
  await srv.setQuote(alice, 'MSFT', '200.00');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.close();
});

const text = (page, sel) => page.locator(sel).first().textContent({ timeout: 10_000 });

// feedSeqs lists the sequences the page's event feed shows, with repeats.
const feedSeqs = (page) => page.$$eval('#feed li', (lis) => lis.map((li) => Number(li.dataset.seq)));

async function waitFor(page, fn, arg, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: 15_000, polling: 100 });
  } catch (err) {
    const feed = await page.$$eval('#feed li', (l) => l.map((x) => x.textContent)).catch(() => []);
    throw new Error(`page never showed ${what}; feed:\n${feed.join('\n')}`, { cause: err });
  }
}

const waitLive = (page) => waitFor(page, () => document.querySelector('#conn')?.textContent === 'live', null, 'a live connection');

// waitSeqs waits until the feed shows every sequence of want.
function waitSeqs(page, want) {
  return waitFor(
    page,
    (w) => {
      const shown = new Set([...document.querySelectorAll('#feed li')].map((li) => Number(li.dataset.seq)));
      return w.every((s) => shown.has(s));
    },
    want,
    `sequences ${want.join(',')}`,
  );
}

// assertExactlyOnce checks the feed shows each sequence the viewer may see
// after `after` exactly once, and nothing else.
async function assertExactlyOnce(page, roomId, token, after) {
  const want = await srv.sequences(roomId, token, after);
  await waitSeqs(page, want);
  const shown = (await feedSeqs(page)).filter((s) => s > after).sort((a, b) => a - b);
  assert.deepEqual(shown, want, 'the feed shows each event exactly once, in full');
}

const lastSequence = async (roomId) => (await srv.gql('query R($id: ID!) { bullPen(id: $id) { lastSequence } }', { id: roomId })).bullPen.lastSequence;

test('events caused by mutations appear on the page: fills, rank changes, room state', async () => {
  const room = await srv.createRoom(alice, { name: 'Live cup', tradeVisibility: 'PUBLIC' });
  const bobPid = await srv.join(bob, room);
  const carolPid = await srv.join(carol, room);
  // Carol's token is where GraphiQL keeps its Headers pane (the page's own
  // sign-in is tested below).
  const setup = (page) =>
    page.addInitScript((t) => localStorage.setItem('graphiql:tabState', JSON.stringify({
      tabs: [{ id: 'a', query: '{ me { id } }', headers: JSON.stringify({ Authorization: `Bearer ${t}` }) }], activeTabIndex: 0,
    })), carol);
  const { context, page, offOrigin, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { setup });
  try {
    assert.equal(await text(page, '#whoami'), 'carol');
    assert.equal(await text(page, '#room-name'), 'Live cup');
    assert.equal(await text(page, '#room-state'), 'ACTIVE');
    assert.match(await text(page, '#countdown'), /^00:59:\d\d$|^01:00:00$/);
    await waitLive(page);
    const start = await lastSequence(room);

    // A fill lands on the tape and in the feed.
    const o1 = await srv.order(carol, room, { symbol: 'MSFT', side: 'BUY', quantity: 10 });
    const o2 = await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 10 });
    assert.equal(o2.status, 'FILLED');
    await page.locator(`#tape tr[data-order="${o1.id}"]`).waitFor({ timeout: 15_000 });
    await page.locator(`#tape tr[data-order="${o2.id}"]`).waitFor({ timeout: 15_000 });
    assert.match(await text(page, `#tape tr[data-order="${o2.id}"]`), /bob.*BUY.*10.*AAPL.*100\.00/);

    // Bob ahead, then carol: the leaderboard shows carol's rise. (A fill
    // after the new prices makes the server take a snapshot at once.)
    const ranks = ([first, second]) =>
      waitFor(
        page,
        ([a, b]) => document.querySelector(`#leaderboard tr[data-participant="${a}"]`)?.dataset.rank === '1' &&
          document.querySelector(`#leaderboard tr[data-participant="${b}"]`)?.dataset.rank === '2',
        [first, second],
        `participant ${first} first, ${second} second`,
      );
    await srv.setQuote(alice, 'AAPL', '120.00');
    await srv.setQuote(alice, 'MSFT', '190.00');
    await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 1 });
    await ranks([bobPid, carolPid]);
    await srv.setQuote(alice, 'MSFT', '250.00');
    await srv.order(carol, room, { symbol: 'MSFT', side: 'BUY', quantity: 1 });
    await ranks([carolPid, bobPid]);
    const carolRow = page.locator(`#leaderboard tr[data-participant="${carolPid}"]`);
    assert.equal(await carolRow.locator('.move.up').textContent({ timeout: 1_000 }), '▲1');
    assert.equal(await page.locator(`#leaderboard tr[data-participant="${bobPid}"] .move.down`).textContent({ timeout: 1_000 }), '▼1');
    // The viewer's own row is marked.
    assert.match(await carolRow.getAttribute('class'), /\bme\b/);
    assert.doesNotMatch((await page.locator(`#leaderboard tr[data-participant="${bobPid}"]`).getAttribute('class')) ?? '', /\bme\b/);
    // Carol's portfolio: 10 MSFT at 250.
    await waitFor(page, () => document.querySelector('#positions tr[data-symbol="MSFT"] td:nth-child(2)')?.textContent === '11', null, 'carol\'s MSFT position');
    assert.match(await text(page, '#positions tr[data-symbol="MSFT"]'), /2,750\.00/);
    // The curves have one point per snapshot.
    const snaps = await srv.gql('query L($id: ID!) { bullPenEventLog(bullPenId: $id, kinds: [LEADERBOARD], limit: 1000) { sequence } }', { id: room });
    await waitFor(page, (n) => Number(document.querySelector('#chart')?.dataset.points) >= n, snaps.bullPenEventLog.length, 'a point per snapshot');

    // The host pauses and resumes the room.
    await srv.gql('mutation P($id: ID!) { pauseBullPen(id: $id) { state } }', { id: room }, alice);
    await waitFor(page, () => document.querySelector('#room-state')?.textContent === 'PAUSED', null, 'PAUSED');
    await srv.gql('mutation P($id: ID!) { resumeBullPen(id: $id) { state } }', { id: room }, alice);
    await waitFor(page, () => document.querySelector('#room-state')?.textContent === 'ACTIVE', null, 'ACTIVE again');

    await assertExactlyOnce(page, room, carol, start);
    assert.deepEqual(offOrigin, [], 'requests off the server origin');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});

test('after a dropped socket and a server restart the page resumes without a gap', async () => {
  const room = await srv.createRoom(alice, { name: 'Flaky cup', tradeVisibility: 'PUBLIC' });
  await srv.join(bob, room);
  await srv.join(carol, room);
  // Every WebSocket of the page goes through this route: while `blocked`
  // a new one is closed at once, so the page cannot catch up until let.
  let blocked = false;
  const open = [];
  const setup = (page) =>
    page.routeWebSocket(/\/query$/, (ws) => {
      if (blocked) {
        ws.close({ code: 4000, reason: 'test: network down' });
        return;
      }
      open.push([ws, ws.connectToServer()]);
    });
  const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol, setup });
  try {
    await waitLive(page);
    const start = await lastSequence(room);
    await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 1 });
    await waitSeqs(page, await srv.sequences(room, carol, start));

    // Drop the socket, and keep the page off while events happen.
    blocked = true;
    for (const [ws, server] of open.splice(0)) {
      await server.close({ code: 4000, reason: 'test: dropped' });
      await ws.close({ code: 4000, reason: 'test: dropped' });
    }
    await waitFor(page, () => document.querySelector('#conn')?.textContent === 'reconnecting', null, 'reconnecting');
    const before = await lastSequence(room);
    await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 2 });
    await srv.order(carol, room, { symbol: 'MSFT', side: 'BUY', quantity: 3 });
    await srv.setQuote(alice, 'AAPL', '101.00');
    const missed = await srv.sequences(room, carol, before);
    assert.ok(missed.length >= 4, `events while the page was away: ${missed}`);
    const shownNow = await feedSeqs(page);
    assert.ok(missed.every((s) => !shownNow.includes(s)), 'the page saw events while its socket was down');

    // Let it reconnect: it catches up on exactly what it missed.
    blocked = false;
    await waitLive(page);
    await assertExactlyOnce(page, room, carol, start);

    // A server restart on the same database: events right after it are
    // shown once too, however the page's retry falls.
    await srv.restart();
    await srv.order(bob, room, { symbol: 'MSFT', side: 'BUY', quantity: 4 });
    await srv.gql('mutation P($id: ID!) { pauseBullPen(id: $id) { state } }', { id: room }, alice);
    await waitFor(page, () => document.querySelector('#room-state')?.textContent === 'PAUSED', null, 'PAUSED after the restart');
    await waitLive(page);
    await assertExactlyOnce(page, room, carol, start);
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});

test('trades: members see a PUBLIC room\'s tape, not a PRIVATE room\'s, and anonymous spectators see none', async () => {
  const pub = await srv.createRoom(alice, { name: 'Open book', tradeVisibility: 'PUBLIC' });
  const priv = await srv.createRoom(alice, { name: 'Closed book', tradeVisibility: 'PRIVATE' });
  for (const r of [pub, priv]) {
    await srv.join(bob, r);
    await srv.join(carol, r);
  }
  const pub1 = await openPage(browser, srv.url, `/rooms/${pub}`, { token: carol });
  // Carol's second room in a second tab of the same browser context.
  const privPage = await pub1.context.newPage();
  const privErrors = [];
  privPage.on('pageerror', (err) => privErrors.push(String(err)));
  await privPage.goto(`${srv.url}/rooms/${priv}`);
  const pages = {
    pub: pub1,
    priv: { context: pub1.context, page: privPage, offOrigin: pub1.offOrigin, pageErrors: privErrors },
    anon: await openPage(browser, srv.url, `/rooms/${pub}`),
  };
  try {
    for (const p of Object.values(pages)) await waitLive(p.page);
    const startPriv = await lastSequence(priv);
    const startPub = await lastSequence(pub);
    const fillPub = await srv.order(bob, pub, { symbol: 'AAPL', side: 'BUY', quantity: 7 });
    const fillPriv = await srv.order(bob, priv, { symbol: 'AAPL', side: 'BUY', quantity: 8 });

    await pages.pub.page.locator(`#tape tr[data-order="${fillPub.id}"]`).waitFor({ timeout: 15_000 });

    // The PRIVATE room's page: the leaderboard moves (the fill's snapshot
    // arrives), but no order of bob's ever shows.
    await waitFor(pages.priv.page, (s) => [...document.querySelectorAll('#feed li.LeaderboardEvent')].some((li) => Number(li.dataset.seq) > s), startPriv, 'a snapshot after the fill');
    assert.equal(await pages.priv.page.locator('#tape-private').count(), 1);
    assert.equal(await pages.priv.page.locator('#tape tr, #feed li.OrderEvent, #feed li.PositionEvent').count(), 0);
    assert.doesNotMatch(await pages.priv.page.locator('body').textContent(), new RegExp(`\\b8 AAPL|order ${fillPriv.id}\\b`));

    // Anonymous on the PUBLIC room: the leaderboard, no orders.
    await waitFor(pages.anon.page, (s) => [...document.querySelectorAll('#feed li.LeaderboardEvent')].some((li) => Number(li.dataset.seq) > s), startPub, 'a snapshot after the fill');
    assert.equal(await pages.anon.page.locator('#tape-members').count(), 1);
    assert.equal(await pages.anon.page.locator('#feed li.OrderEvent').count(), 0);
    for (const p of Object.values(pages)) {
      assert.deepEqual(p.offOrigin, [], 'requests off the server origin');
      assert.deepEqual(p.pageErrors, [], 'uncaught errors in the page');
    }
  } finally {
    await pages.pub.context.close();
    await pages.anon.context.close();
  }
});

test('a player signs in on the page, joins, places an order and cancels one', async () => {
  await srv.signUp('dave', 'dave-password');
  const room = await srv.createRoom(alice, { name: 'Walk-in cup', maxOpenOrders: 3, maxPositionPercent: '60', rankBy: 'SHARPE' });
  const { context, page, offOrigin, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`);
  try {
    // The room's rules are shown.
    await waitFor(page, () => /at most 3/.test(document.querySelector('dl.rules')?.textContent), null, 'the rules');
    const rules = await text(page, 'dl.rules');
    assert.match(rules, /Sharpe ratio/);
    assert.match(rules, /60(\.0+)?% of the portfolio/);
    await page.click('#signin-open');
    await page.fill('#signin input[name=username]', 'dave');
    await page.fill('#signin input[name=password]', 'dave-password');
    await page.click('#signin button[type=submit]');
    assert.equal(await text(page, '#whoami'), 'dave');
    assert.ok(await page.evaluate(() => localStorage.getItem('bullpen:token')), 'the token is kept');
    await page.click('#join');

    // A market buy fills and shows as a position.
    await page.locator('#order-form').waitFor({ timeout: 15_000 });
    await page.selectOption('#order-form select[name=symbol]', 'AAPL');
    await page.fill('#order-form input[name=quantity]', '5');
    await page.click('#order-form button[type=submit]');
    await waitFor(page, () => /FILLED/.test(document.querySelector('#order-msg')?.textContent), null, 'the fill');
    await waitFor(page, () => document.querySelector('#positions tr[data-symbol="AAPL"] td:nth-child(2)')?.textContent === '5', null, 'the AAPL position');

    // A limit buy far below the price rests; the player cancels it.
    await page.selectOption('#order-form select[name=type]', 'LIMIT');
    await page.fill('#order-form input[name=quantity]', '1');
    await page.fill('#order-form input[name=limitPrice]', '1.00');
    await page.click('#order-form button[type=submit]');
    await waitFor(page, () => document.querySelector('#orders tr[data-status="OPEN"]'), null, 'an open order');
    const orderId = await page.locator('#orders tr[data-status="OPEN"]').getAttribute('data-order');
    await page.click(`#orders tr[data-order="${orderId}"] button.cancel`);
    await waitFor(page, (id) => document.querySelector(`#orders tr[data-order="${id}"]`)?.dataset.status === 'CANCELLED', orderId, 'the cancel');

    // A trailing stop from the form rests with its trigger below the price.
    await page.selectOption('#order-form select[name=type]', 'TRAILING_STOP');
    await page.selectOption('#order-form select[name=side]', 'SELL');
    await page.fill('#order-form input[name=quantity]', '1');
    await page.fill('#order-form input[name=trailAmount]', '2.50');
    await page.click('#order-form button[type=submit]');
    await waitFor(page, () => /OPEN/.test(document.querySelector('#order-msg')?.textContent), null, 'the trailing stop at rest');

    // The server agrees.
    const token = (await srv.gql('mutation { signIn(input: {username: "dave", password: "dave-password"}) { token } }')).signIn.token;
    const d = await srv.gql('query O($id: ID!) { bullPen(id: $id) { me { positions { symbol quantity } } orders { edges { node { id status type } } } } }', { id: room }, token);
    assert.deepEqual(d.bullPen.me.positions.map((p) => [p.symbol, p.quantity]), [['AAPL', 5]]);
    assert.deepEqual(d.bullPen.orders.edges.map((e) => [e.node.type, e.node.status]).sort(), [['LIMIT', 'CANCELLED'], ['MARKET', 'FILLED'], ['TRAILING_STOP', 'OPEN']]);
    assert.equal(d.bullPen.orders.edges.find((e) => e.node.type === 'LIMIT').node.id, orderId);
    assert.deepEqual(offOrigin, [], 'requests off the server origin');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});

test('the trade journal: a room that requires notes says so, its order form needs one, the server refuses an order without, and the player sees their note on their order', async () => {
  const room = await srv.createRoom(alice, { name: 'Journal cup', requireNote: true });
  await srv.join(bob, room);
  await srv.join(carol, room);
  const { context, page, offOrigin, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: bob });
  try {
    await waitFor(page, () => /every order needs a note/.test(document.querySelector('#rule-journal')?.textContent), null, 'the journal rule');
    await page.locator('#order-form').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#order-note').evaluate((el) => el.required), true, 'the note is a required field');
    assert.match(await text(page, 'label[for=order-note]'), /required/);

    // Past the browser's own check (the field made optional), the server
    // refuses the order naming the note, and stores nothing.
    await page.locator('#order-note').evaluate((el) => { el.required = false; });
    await page.selectOption('#order-form select[name=symbol]', 'AAPL');
    await page.fill('#order-form input[name=quantity]', '3');
    await page.fill('#order-note', '   ');
    await page.click('#order-form button[type=submit]');
    await waitFor(page, () => /note/.test(document.querySelector('#order-msg')?.textContent), null, 'the refusal naming note');
    assert.match(await text(page, '#order-msg'), /required/);
    const none = await srv.gql('query O($id: ID!) { bullPen(id: $id) { orders { totalCount } } }', { id: room }, bob);
    assert.equal(none.bullPen.orders.totalCount, 0, 'the refused order was not stored');

    // With a note (two lines) it fills, and the note shows on the order.
    await page.fill('#order-note', 'breakout above 100\nstop at 95');
    await page.click('#order-form button[type=submit]');
    await waitFor(page, () => /FILLED/.test(document.querySelector('#order-msg')?.textContent), null, 'the fill');
    await waitFor(page, () => /breakout above 100\s+stop at 95/.test(document.querySelector('#orders tr[data-order] .journal')?.textContent), null, 'the note on the order');
    const d = await srv.gql('query O($id: ID!) { bullPen(id: $id) { orders { edges { node { note } } } } }', { id: room }, bob);
    assert.deepEqual(d.bullPen.orders.edges.map((e) => e.node.note), ['breakout above 100\nstop at 95']);
    assert.deepEqual(offOrigin, [], 'requests off the server origin');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }

  // Another player of the room (trades PRIVATE) sees neither the order nor
  // its note; in a room without the rule the note is optional.
  const other = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol });
  try {
    await other.page.locator('#order-form').waitFor({ timeout: 15_000 });
    assert.equal(await other.page.locator('.journal').count(), 0, "another player's note shows");
    assert.doesNotMatch(await other.page.content(), /breakout above 100/);
  } finally {
    await other.context.close();
  }
  const free = await srv.createRoom(alice, { name: 'Free cup' });
  await srv.join(bob, free);
  const plain = await openPage(browser, srv.url, `/rooms/${free}`, { token: bob });
  try {
    await plain.page.locator('#order-form').waitFor({ timeout: 15_000 });
    assert.equal(await plain.page.locator('#order-note').evaluate((el) => el.required), false, 'the note is optional');
    assert.equal(await plain.page.locator('#rule-journal').count(), 0);
  } finally {
    await plain.context.close();
  }
});

test("the organiser's hand: announcements show as a banner to everyone who sees the room, live and on load; a cash adjustment reaches only its player; a closed banner comes back for a newer one; a removed player is marked on the board", async () => {
  const room = await srv.createRoom(alice, { name: 'Announced cup' });
  const bobPid = await srv.join(bob, room);
  await srv.join(carol, room);
  const announce = (message) => srv.gql('mutation A($id: ID!, $m: String!) { announce(bullPenId: $id, message: $m) { sequence } }', { id: room, m: message }, alice);
  const banner = (page) => page.locator('#announcement .message').first().textContent({ timeout: 10_000 });
  const spectator = await openPage(browser, srv.url, `/rooms/${room}`);
  const player = await openPage(browser, srv.url, `/rooms/${room}`, { token: bob });
  try {
    await waitLive(spectator.page);
    await waitLive(player.page);
    assert.equal(await spectator.page.locator('#announcement').count(), 0, 'no banner before the first announcement');
    await announce('Half time!\nKeep your journals up.');
    for (const { page } of [spectator, player]) {
      await waitFor(page, () => /Half time!/.test(document.querySelector('#announcement')?.textContent), null, 'the announcement banner');
      assert.equal(await banner(page), 'Half time!\nKeep your journals up.');
    }
    // The adjustment of bob's cash is announced to bob (and the owner) only.
    await srv.gql('mutation C($p: ID!) { adjustCash(participantId: $p, amount: "250", reason: "best journal") { id } }', { p: bobPid }, alice);
    await waitFor(player.page, () => /adjusted bob's cash by \+250\.00/.test(document.querySelector('#announcement')?.textContent), null, "bob's adjustment");
    await player.page.click('#announcement button.close');
    assert.equal(await player.page.locator('#announcement').count(), 0, 'closed');
    await announce('Last hour.');
    for (const { page } of [spectator, player]) {
      await waitFor(page, () => /Last hour\./.test(document.querySelector('#announcement')?.textContent), null, 'the newer announcement');
    }
    assert.doesNotMatch(await spectator.page.locator('#feed').textContent(), /adjusted/, "a spectator's feed shows no adjustment");
    // A removal: announced to all, and the board marks the player.
    const carolPid = (await srv.gql('query P($id: ID!) { bullPen(id: $id) { participants { id user { username } } } }', { id: room }, alice))
      .bullPen.participants.find((p) => p.user.username === 'carol').id;
    await srv.gql('mutation R($p: ID!) { removeParticipant(participantId: $p, reason: "two accounts") { id } }', { p: carolPid }, alice);
    await waitFor(spectator.page, () => /carol was removed from the room by its organiser: two accounts/.test(document.querySelector('#announcement')?.textContent), null, 'the removal announced');
    await waitFor(spectator.page, (pid) => /\(removed\)/.test(document.querySelector(`#leaderboard tr[data-participant="${pid}"]`)?.textContent ?? ''), carolPid, 'carol marked removed on the board');
    assert.match(await player.page.locator('#feed').textContent(), /organiser: The organiser adjusted bob's cash/);
    for (const { offOrigin, pageErrors } of [spectator, player]) {
      assert.deepEqual(offOrigin, [], 'requests off the server origin');
      assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    }
  } finally {
    await spectator.context.close();
    await player.context.close();
  }
  // Opened later, the page shows the latest announcement from the log.
  const late = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol });
  try {
    await waitFor(late.page, () => /carol was removed/.test(document.querySelector('#announcement')?.textContent), null, 'the latest announcement on load');
  } finally {
    await late.context.close();
  }
});

test('a finished room replays from its log to the final leaderboard', async () => {
  const room = await srv.createRoom(alice, { name: 'Replay cup' });
  const bobPid = await srv.join(bob, room);
  const carolPid = await srv.join(carol, room);
  await srv.setQuote(alice, 'AAPL', '100.00');
  await srv.setQuote(alice, 'MSFT', '200.00');
  await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 100 });
  await srv.order(carol, room, { symbol: 'MSFT', side: 'BUY', quantity: 100 });
  await srv.setQuote(alice, 'AAPL', '90.00');
  await srv.setQuote(alice, 'MSFT', '230.00');
  await srv.gql('mutation E($id: ID!) { endBullPen(id: $id) { state } }', { id: room }, alice);
  const final = (await srv.gql('query F($id: ID!) { bullPen(id: $id) { leaderboard { final entries { rank participantId portfolioValue } } } }', { id: room })).bullPen.leaderboard;
  assert.equal(final.final, true);
  assert.deepEqual(final.entries.map((e) => e.participantId), [carolPid, bobPid]);

  const { context, page, offOrigin, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}?replay=1&speed=60`);
  try {
    assert.equal(await page.locator('#replay-speed').inputValue({ timeout: 15_000 }), '60');
    await waitFor(page, () => /done/.test(document.querySelector('#replay-progress')?.textContent), null, 'the replay\'s end');
    assert.equal(await text(page, '#room-state'), 'ENDED');
    assert.equal(await page.locator('#leaderboard').getAttribute('data-final'), 'true');
    const rows = await page.$$eval('#leaderboard tbody tr', (trs) => trs.map((tr) => [tr.dataset.participant, tr.children[3].textContent]));
    assert.deepEqual(rows, final.entries.map((e) => [e.participantId, money(e.portfolioValue)]));
    // Every event of the log was played once.
    await assertExactlyOnce(page, room, null, 0);

    assert.deepEqual(offOrigin, [], 'requests off the server origin');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});

// ---- The page's front: layout, numbers, labels, colours, history. ----

// lines counts the lines an element's text takes.
const lines = (page, sel) => page.$eval(sel, (el) => {
  const r = document.createRange();
  r.selectNodeContents(el);
  return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size;
});

// aPlayerWithEverything is a room where carol holds a long and a short, has
// filled, resting, rejected and trailing orders, and others trade too.
async function aPlayerWithEverything(name) {
  const room = await srv.createRoom(alice, { name, tradeVisibility: 'PUBLIC', allowShortSelling: true, startingCash: '250000', minSharePrice: '5' });
  await srv.join(bob, room);
  await srv.join(carol, room);
  await srv.setQuote(alice, 'AAPL', '100.00');
  await srv.setQuote(alice, 'MSFT', '200.00');
  await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 1234 });
  await srv.order(carol, room, { symbol: 'MSFT', side: 'SELL', quantity: 250 });
  await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 10, type: 'LIMIT', limitPrice: '95.1234' });
  await srv.order(carol, room, { symbol: 'MSFT', side: 'BUY', quantity: 5, type: 'STOP_LIMIT', stopPrice: '210.00', limitPrice: '212.50' });
  await srv.order(carol, room, { symbol: 'AAPL', side: 'SELL', quantity: 3, type: 'TRAILING_STOP', trailAmount: '2.50' });
  const rejected = await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 1_000_000 });
  assert.equal(rejected.status, 'REJECTED');
  await srv.order(bob, room, { symbol: 'MSFT', side: 'BUY', quantity: 12 });
  await srv.setQuote(alice, 'AAPL', '103.17');
  await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 1 });
  return room;
}

test('nothing is wider than the screen at 1280×800, 390×844 and 360×740, for a player holding positions with orders', async () => {
  const room = await aPlayerWithEverything('Wide cup');
  for (const viewport of [PHONE, SMALL_PHONE, LAPTOP]) {
    const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol, viewport });
    try {
      await waitLive(page);
      await waitFor(page, () => document.querySelectorAll('#positions tbody tr').length === 2 && document.querySelectorAll('#orders tbody tr').length === 6, null, 'two positions and six orders');
      await page.locator('#tape tbody tr').first().waitFor({ timeout: 15_000 });
      await page.locator('#leaderboard tbody tr').first().waitFor({ timeout: 15_000 });
      assert.deepEqual(await overflow(page), [], `nothing wider than ${viewport.width} px`);
      // The seat's tables fit a 390 px phone outright (no sideways scroll).
      if (viewport !== SMALL_PHONE) {
        for (const t of ['#positions', '#leaderboard', '#tape', '#quotes']) {
          const [tw, cw] = await page.$eval(t, (el) => [el.scrollWidth, el.parentElement.clientWidth]);
          assert.ok(tw <= cw, `${t} is ${tw} px in a ${cw} px card at ${viewport.width} px`);
        }
      }
      assert.equal(await lines(page, '#signout'), 1, 'the sign-out button keeps to one line');
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  }
  // Signed out, on a phone: Sign in and Sign up each on one line, and the
  // sign-up form fits.
  const { context, page } = await openPage(browser, srv.url, `/rooms/${room}`, { viewport: SMALL_PHONE });
  try {
    await page.locator('#signin-open').waitFor({ timeout: 15_000 });
    assert.equal(await lines(page, '#signin-open'), 1, '"Sign in" does not wrap');
    assert.equal(await lines(page, '#signup-open'), 1, '"Sign up" does not wrap');
    await page.click('#signup-open');
    await page.locator('#signup').waitFor();
    assert.deepEqual(await overflow(page), []);
  } finally {
    await context.close();
  }
});

test('numbers: money to the cent, percentages to two places, signed and coloured; tables have headers and fields labels', async () => {
  const room = await aPlayerWithEverything('Tidy cup');
  const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol });
  try {
    await waitLive(page);
    await waitFor(page, () => document.querySelectorAll('#positions tbody tr').length === 2, null, 'two positions');
    const MONEY = /^−?\d{1,3}(,\d{3})*\.\d\d$/;
    const PERCENT = /^([+−]\d+\.\d\d|0\.00)%$/;
    // The leaderboard: value to the cent, return to two places with its sign and colour.
    await page.locator('#leaderboard tbody tr').first().waitFor({ timeout: 15_000 });
    for (const [value, ret, cls] of await page.$$eval('#leaderboard tbody tr', (trs) => trs.map((tr) => [tr.children[3].textContent, tr.children[4].textContent, tr.children[4].className]))) {
      assert.match(value, MONEY);
      assert.match(ret, PERCENT);
      assert.equal(/\bpos\b/.test(cls), ret.startsWith('+'), `${ret} is green exactly when it is a gain`);
      assert.equal(/\bneg\b/.test(cls), ret.startsWith('−'), `${ret} is red exactly when it is a loss`);
    }
    // The seat: carol's long AAPL at 103.17 (avg 100) and short MSFT.
    // (A cell's first part: on a phone the average cost also shows under the price.)
    const cells = (tr) => [...tr.children].map((td) => td.firstElementChild?.textContent ?? td.textContent);
    const aapl = await page.$eval('#positions tr[data-symbol="AAPL"]', cells);
    assert.deepEqual(aapl, ['AAPL', '1,234', '100.00', '103.17', '127,311.78', '+3,911.78']);
    const msft = await page.$eval('#positions tr[data-symbol="MSFT"]', cells);
    assert.deepEqual(msft, ['MSFT', '−250', '200.00', '200.00', '−50,000.00', '0.00']);
    assert.match(await text(page, '#my-value'), MONEY);
    assert.match(await text(page, '#my-return'), /^([+−][\d,]+\.\d\d|0\.00) \(([+−]\d+\.\d\d|0\.00)%\)$/);
    assert.match(await page.getAttribute('#positions tr[data-symbol="AAPL"] td.pnl', 'class'), /\bpos\b/);
    // An order's prices to the cent (95.1234 is shown 95.12), its reject reason in words.
    assert.match(await text(page, '#orders tbody'), /limit 95\.12(?!\d)/);
    assert.match(await text(page, '#orders tbody'), /REJECTED: insufficient buying power/);

    // The quote column is labelled, and counts from the previous tick.
    assert.equal(await text(page, '#quotes thead'), 'SymbolPriceLast tick');
    await srv.setQuote(alice, 'MSFT', '202.00');
    await waitFor(page, () => document.querySelector('#quotes tr[data-symbol="MSFT"] .price')?.textContent === '202.00', null, 'MSFT at 202');
    assert.equal(await text(page, '#quotes tr[data-symbol="MSFT"] .change'), '+2.00 (+1.00%)');
    await srv.setQuote(alice, 'MSFT', '201.00');
    await waitFor(page, () => document.querySelector('#quotes tr[data-symbol="MSFT"] .price')?.textContent === '201.00', null, 'MSFT at 201');
    assert.equal(await text(page, '#quotes tr[data-symbol="MSFT"] .change'), '−1.00 (−0.50%)', 'from 202, the tick before, not from the first price');
    assert.match(await page.getAttribute('#quotes tr[data-symbol="MSFT"] .change', 'class'), /\bneg\b/);
    for (const price of await page.$$eval('#tape tbody tr', (trs) => trs.map((tr) => tr.children[5].textContent))) assert.match(price, MONEY, 'a trade\'s price');

    // Column headers, by their accessible names.
    const headers = async (sel) => (await page.locator(`${sel} thead th`).allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(await headers('#orders'), ['Order', 'Type', 'Status']);
    assert.deepEqual(await headers('#tape'), ['Time', 'Player', 'Side', 'Qty', 'Symbol', 'Price']);
    assert.deepEqual(await headers('#positions'), ['Symbol', 'Qty', 'Avg cost', 'Price', 'Value', 'Unrealized P&L']);
    assert.deepEqual(await headers('#leaderboard'), ['#', 'Rank change', 'Player', 'Value', 'Return']);
    for (const name of ['Order', 'Type', 'Status']) assert.equal(await page.locator('#orders').getByRole('columnheader', { name, exact: true }).count(), 1, `orders: ${name}`);
    for (const name of ['Time', 'Player', 'Side', 'Qty', 'Symbol', 'Price']) assert.equal(await page.locator('#tape').getByRole('columnheader', { name, exact: true }).count(), 1, `trades: ${name}`);
    // The order form's fields, by their labels.
    const form = page.locator('#order-form');
    for (const label of ['Symbol', 'Side', 'Type', 'Quantity']) assert.equal(await form.getByLabel(label, { exact: true }).count(), 1, `field ${label}`);
    await form.getByLabel('Type', { exact: true }).selectOption('STOP_LIMIT');
    for (const label of ['Stop price', 'Limit price']) assert.equal(await form.getByLabel(label, { exact: true }).count(), 1, `field ${label}`);
    await form.getByLabel('Type', { exact: true }).selectOption('TRAILING_STOP');
    assert.equal(await form.getByLabel('Trail amount', { exact: true }).count(), 1);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});

// colours reads each participant's colour from the leaderboard's swatch
// and from the chart's legend.
const colours = (page) => page.evaluate(() => {
  const board = Object.fromEntries([...document.querySelectorAll('#leaderboard tbody tr')].map((tr) => [tr.dataset.participant, tr.querySelector('.swatch').dataset.color]));
  const legend = Object.fromEntries([...document.querySelectorAll('#chart-legend li')].map((li) => [li.dataset.participant, li.querySelector('.swatch').dataset.color]));
  return { board, legend };
});

test('each player keeps one colour on the board and in the chart when the lead changes', async () => {
  const room = await srv.createRoom(alice, { name: 'Colour cup' });
  const bobPid = await srv.join(bob, room);
  const carolPid = await srv.join(carol, room);
  await srv.setQuote(alice, 'AAPL', '100.00');
  await srv.setQuote(alice, 'MSFT', '200.00');
  const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol });
  try {
    await waitLive(page);
    const leads = (first) => waitFor(page, (pid) => document.querySelector(`#leaderboard tr[data-participant="${pid}"]`)?.dataset.rank === '1', first, `participant ${first} first`);
    await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 100 });
    await srv.order(carol, room, { symbol: 'MSFT', side: 'BUY', quantity: 50 });
    await srv.setQuote(alice, 'AAPL', '110.00');
    await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 1 });
    await leads(bobPid);
    await waitFor(page, () => document.querySelectorAll('#chart-legend li').length === 2, null, 'two lines in the chart');
    const before = await colours(page);
    assert.notEqual(before.board[bobPid], before.board[carolPid], 'two players, two colours');
    assert.deepEqual(before.legend, before.board, 'the chart uses the board\'s colours');
    assert.deepEqual(await page.$$eval('#chart-legend li', (lis) => lis.map((li) => li.dataset.participant)), [bobPid, carolPid]);

    await srv.setQuote(alice, 'MSFT', '260.00');
    await srv.order(carol, room, { symbol: 'MSFT', side: 'BUY', quantity: 1 });
    await leads(carolPid);
    await waitFor(page, (pid) => document.querySelector('#chart-legend li')?.dataset.participant === pid, carolPid, 'carol first in the legend');
    const after = await colours(page);
    assert.deepEqual(after.board, before.board, 'colours stay with the players, not the ranks');
    assert.deepEqual(after.legend, before.board);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});

const snapshotSeqs = async (room) =>
  (await srv.gql('query L($id: ID!) { bullPenEventLog(bullPenId: $id, kinds: [LEADERBOARD], limit: 1000) { sequence } }', { id: room })).bullPenEventLog;

test('the equity chart: a dollar axis, a clock axis whose labels never overlap on a phone, values in the legend only on hover', async () => {
  const room = await srv.createRoom(alice, { name: 'Chart cup' });
  await srv.join(bob, room);
  await srv.join(carol, room);
  await srv.setQuote(alice, 'AAPL', '100.00');
  await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 100 });
  // Four snapshots, each awaited (the server takes at most about one a
  // second per room).
  for (const p of ['101.00', '99.50', '102.25', '100.75']) {
    const seen = (await snapshotSeqs(room)).length;
    await srv.setQuote(alice, 'AAPL', p);
    await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 1 });
    while ((await snapshotSeqs(room)).length === seen) await new Promise((r) => setTimeout(r, 50));
  }
  for (const viewport of [PHONE, LAPTOP]) {
    const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol, viewport });
    try {
      await waitFor(page, () => Number(document.querySelector('#chart')?.dataset.points) >= 4, null, 'the curves');
      await waitFor(page, () => JSON.parse(document.querySelector('#chart')?.dataset.xticks ?? '[]').length >= 2, null, 'time ticks');
      const { ticks, width } = await page.$eval('#chart', (el) => ({ ticks: JSON.parse(el.dataset.xticks), width: Number(el.dataset.width) }));
      for (const t of ticks) assert.match(t.text, /^\d\d:\d\d(:\d\d)?$/, 'a clock time');
      for (let i = 1; i < ticks.length; i++) {
        const gap = (ticks[i].x - ticks[i].w / 2) - (ticks[i - 1].x + ticks[i - 1].w / 2);
        assert.ok(gap >= 8, `labels ${ticks[i - 1].text} and ${ticks[i].text} overlap or touch (${gap} px apart) at ${viewport.width} px`);
      }
      assert.ok(ticks.every((t) => t.x + t.w / 2 <= width + 1), 'labels inside the chart');
      // Idle: names, no values and no placeholders.
      const idle = await text(page, '#chart-legend');
      assert.doesNotMatch(idle, /--|\d/);
      assert.match(idle, /bob/);
      // On hover: the time and each value, in dollars and cents.
      const box = await page.locator('#chart .u-over').boundingBox();
      await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
      await waitFor(page, () => document.querySelector('#chart-time'), null, 'the hover legend');
      assert.match(await text(page, '#chart-legend'), /^\d\d:\d\d:\d\d.*bob\d{1,3}(,\d{3})*\.\d\d/);
      await page.mouse.move(box.x + box.width / 2, box.y + box.height + 200);
      await waitFor(page, () => !document.querySelector('#chart-time'), null, 'the idle legend again');
      assert.doesNotMatch(await text(page, '#chart-legend'), /\d/);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  }
});

test('a visitor signs up on the page, joins and trades', async () => {
  const room = await srv.createRoom(alice, { name: 'Sign-up cup' });
  const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { viewport: PHONE });
  try {
    await page.click('#signup-open');
    const form = page.locator('#signup');
    await form.getByLabel('Username').fill('frank');
    await form.getByLabel(/^Password/).fill('frank-password');
    await form.getByLabel(/^Display name/).fill('Frank F.');
    await form.getByRole('button', { name: 'Create account' }).click();
    assert.equal(await text(page, '#whoami'), 'frank');
    assert.ok(await page.evaluate(() => localStorage.getItem('bullpen:token')), 'the token is kept');
    await page.click('#join');
    await page.locator('#order-form').waitFor({ timeout: 15_000 });
    await page.locator('#order-form').getByLabel('Quantity').fill('2');
    await page.click('#order-form button[type=submit]');
    await waitFor(page, () => document.querySelector('#positions tr[data-symbol="AAPL"] td:nth-child(2)')?.textContent === '2', null, 'frank\'s AAPL');
    // The server knows frank, with his display name, in the room.
    const token = (await srv.gql('mutation { signIn(input: {username: "frank", password: "frank-password"}) { token user { displayName } } }')).signIn;
    assert.equal(token.user.displayName, 'Frank F.');
    // A taken name is refused on the page, with the server's reason.
    await page.click('#signout');
    await page.click('#signup-open');
    await form.getByLabel('Username').fill('frank');
    await form.getByLabel(/^Password/).fill('another-password');
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#signup .error').waitFor({ timeout: 10_000 });
    assert.match(await text(page, '#signup .error'), /frank|taken|exists/i);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});

test('the Events card shows the room\'s recent history on load, mid-game and after the end; an ended room has no live badge', async () => {
  const room = await srv.createRoom(alice, { name: 'History cup', tradeVisibility: 'PUBLIC' });
  await srv.join(bob, room);
  await srv.join(carol, room);
  await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 4 });
  await srv.order(carol, room, { symbol: 'MSFT', side: 'BUY', quantity: 2 });

  // Mid-game: everything so far is there before anything new happens.
  let { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol });
  try {
    const want = await srv.sequences(room, carol);
    await waitSeqs(page, want);
    // Each event once, in full; a leaderboard snapshot may land after
    // want was read, so the feed is the log as it stands now, up to what
    // it shows.
    const shown = (await feedSeqs(page)).sort((a, b) => a - b);
    const now = await srv.sequences(room, carol);
    assert.ok(shown.length >= want.length, `the feed shows ${shown}, want at least ${want}`);
    assert.deepEqual(shown, now.slice(0, shown.length));
    assert.match(await text(page, '#feed'), /bob filled: BUY 4 AAPL MARKET @ \d+\.\d\d/);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }

  await srv.gql('mutation E($id: ID!) { endBullPen(id: $id) { state } }', { id: room }, alice);
  // After the end, for a member and for an anonymous spectator (who sees no orders).
  for (const token of [carol, null]) {
    let acked;
    const connected = new Promise((r) => (acked = r));
    const setup = (p) => p.on('websocket', (ws) => ws.on('framereceived', (f) => String(f.payload).includes('connection_ack') && acked()));
    ({ context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token, setup }));
    try {
      const want = await srv.sequences(room, token);
      await waitSeqs(page, want);
      assert.deepEqual((await feedSeqs(page)).sort((a, b) => a - b), want);
      assert.match(await text(page, '#feed li'), /leaderboard \(final\)|ACTIVE → ENDED/);
      assert.equal(await text(page, '#room-state'), 'ENDED');
      // Connected (the quotes still flow), and still no live badge.
      await connected;
      assert.equal(await page.locator('#conn').count(), 0, 'no connection badge on an ended room');
      assert.doesNotMatch(await text(page, '.status'), /\blive\b/);
      assert.equal(await page.locator('#leaderboard caption').textContent(), 'Final standings');
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  }
});

test('a page open when its room ends shows the end, its event stream completes, and the same socket keeps the quotes', async () => {
  const room = await srv.createRoom(alice, { name: 'Closing cup' });
  await srv.join(carol, room);
  await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 3 });
  const sockets = [];
  const sent = {}; // subscribe frames' queries by operation id
  const completed = [];
  const setup = (p) =>
    p.on('websocket', (ws) => {
      sockets.push(ws);
      ws.on('framesent', (f) => {
        const m = JSON.parse(String(f.payload));
        if (m.type === 'subscribe') sent[m.id] = m.payload.query;
      });
      ws.on('framereceived', (f) => {
        const m = JSON.parse(String(f.payload));
        if (m.type === 'complete') completed.push(m.id);
      });
    });
  const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol, setup });
  try {
    await waitLive(page);
    await srv.gql('mutation E($id: ID!) { endBullPen(id: $id) { state } }', { id: room }, alice);
    await waitSeqs(page, await srv.sequences(room, carol));
    assert.equal(await text(page, '#room-state'), 'ENDED');
    assert.equal(await page.locator('#leaderboard').getAttribute('data-final'), 'true');
    const events = Object.keys(sent).filter((id) => sent[id].includes('bullPenEvents'));
    assert.equal(events.length, 1, 'one subscription to the room\'s events');
    for (const deadline = Date.now() + 15_000; !completed.includes(events[0]); await sleep(50)) {
      assert.ok(Date.now() < deadline, 'the server never completed the ended room\'s event stream');
    }
    // A price set after the end reaches the page on the socket it had.
    await srv.setQuote(alice, 'AAPL', '104.37');
    await waitFor(page, () => /104\.37/.test(document.querySelector('#card-quotes')?.textContent ?? ''), null, 'the new price');
    assert.equal(sockets.length, 1, 'the page opened another socket');
    assert.equal(Object.keys(sent).filter((id) => sent[id].includes('bullPenEvents')).length, 1, 'the page subscribed to the events again');
    assert.equal(await page.locator('#conn').count(), 0, 'a live badge on an ended room');
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});

test('the seat follows the quotes: a new price moves its value in the same moment as the Quotes card', async () => {
  const room = await srv.createRoom(alice, { name: 'Seat cup', startingCash: '10000' });
  await srv.join(carol, room);
  await srv.setQuote(alice, 'AAPL', '100.00');
  await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 10 });
  const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol });
  try {
    await waitLive(page);
    await waitFor(page, () => document.querySelector('#positions tr[data-symbol="AAPL"] td:nth-child(4)')?.firstChild.textContent === '100.00', null, 'the AAPL position');
    // Whatever the seat shows at the moment the Quotes card first shows the
    // new price, recorded as that change reaches the DOM.
    await page.evaluate(() => {
      window.seenWithQuote = null;
      const obs = new MutationObserver(() => {
        if (window.seenWithQuote || document.querySelector('#quotes tr[data-symbol="AAPL"] .price')?.textContent !== '123.46') return;
        const cell = (n) => document.querySelector(`#positions tr[data-symbol="AAPL"] td:nth-child(${n})`).firstChild.textContent;
        window.seenWithQuote = {
          price: cell(4),
          value: cell(5),
          pnl: cell(6),
          total: document.querySelector('#my-value')?.textContent,
          ret: document.querySelector('#my-return')?.textContent,
        };
      });
      obs.observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await srv.setQuote(alice, 'AAPL', '123.46');
    await waitFor(page, () => window.seenWithQuote, null, 'the new quote');
    const cash = (await srv.gql('query M($id: ID!) { bullPen(id: $id) { me { cash } } }', { id: room }, carol)).bullPen.me.cash;
    assert.equal(money(cash), '9,000.00');
    assert.deepEqual(await page.evaluate(() => window.seenWithQuote), {
      price: '123.46', value: '1,234.60', pnl: '+234.60', total: '10,234.60', ret: '+234.60 (+2.35%)',
    });
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});

test('?view=board, the projector view: the board, the chart and the tape in large type, and no controls', async () => {
  const room = await aPlayerWithEverything('Projector cup');
  for (const viewport of [LAPTOP, { width: 1920, height: 1080 }, PHONE]) {
    const { context, page, pageErrors, offOrigin } = await openPage(browser, srv.url, `/rooms/${room}?view=board`, { token: alice, viewport });
    try {
      await waitLive(page);
      await page.locator('#leaderboard tbody tr').first().waitFor({ timeout: 15_000 });
      await page.locator('#tape tbody tr').first().waitFor({ timeout: 15_000 });
      await waitFor(page, () => Number(document.querySelector('#chart')?.dataset.points) >= 1, null, 'the chart');
      assert.equal(await text(page, '#room-name'), 'Projector cup');
      assert.equal(await page.locator('button, input, select, textarea, a[href], form, summary').count(), 0, 'no controls');
      assert.equal(await page.locator('#quotes, #feed, #mine, dl.rules').count(), 0, 'only the board, the chart and the tape');
      const size = await page.$eval('#leaderboard tbody td.player', (td) => parseFloat(getComputedStyle(td).fontSize));
      if (viewport !== PHONE) {
        assert.ok(size >= 20, `the board's type is large (${size} px at ${viewport.width} px)`);
        // The whole view fits the screen, as a projector shows it.
        assert.ok(await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight), 'no scrolling on a projector');
      }
      assert.deepEqual(await overflow(page), []);
      assert.deepEqual(offOrigin, []);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  }
});

// ---- Why this price (issue 19): the execution model, bid and ask, and
// each fill's breakdown on the player's orders and on the tape. ----

// orderWhat is what an order's row says of its status.
const orderWhat = (page, id) => page.evaluate((i) => document.querySelector(`#orders tr[data-order="${i}"] .what`)?.textContent, id);

test('why this price: in a THIN_BOOK room a partial fill shows "x/y filled" and each fill\'s breakdown, the tape explains each fill, the quotes show bid and ask', async () => {
  const room = await srv.createRoom(alice, { name: 'Thin cup', tradeVisibility: 'PUBLIC', commission: '1.00', execution: { preset: 'THIN_BOOK' } });
  await srv.join(bob, room);
  await srv.join(carol, room);
  await srv.setQuote(alice, 'AAPL', '100.00', '99.95', '100.05', 10000);
  let o;
  const { context, page, offOrigin, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol });
  try {
    await waitLive(page);
    // The rules say how orders fill and what they cost.
    assert.equal(
      await text(page, '#rule-execution'),
      "THIN_BOOK: buys at the ask, sells at the bid; spread at least 50 bps, slippage 10 bps, impact 5 × (shares / tick volume)² of the price; a fill takes at most 2% of a tick's volume, the rest waits for later ticks",
    );
    // The Quotes card has the bid and ask from the start, and the volume.
    assert.equal(await text(page, '#quotes thead'), 'SymbolPriceBid / askLast tick');
    await waitFor(page, () => document.querySelector('#quotes tr[data-symbol="AAPL"] .book')?.textContent === '99.95 / 100.05vol 10,000', null, 'AAPL\'s bid and ask');

    // 2% of 10,000 is 200 shares: 200 of 500 fill at 100.00 + 0.25 spread
    // (50 bps wider than the feed's 0.05) + 0.10 slippage + 5 × (200 /
    // 10,000)² × 100.00 = 0.20 impact.
    o = await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 500 });
    assert.equal(o.status, 'PARTIALLY_FILLED');
    await waitFor(page, (id) => document.querySelector(`#orders tr[data-order="${id}"]`)?.dataset.status === 'PARTIALLY_FILLED', o.id, 'the partial fill');
    assert.equal(await orderWhat(page, o.id), '200/500 filled @ 100.55');
    assert.equal(await page.locator(`#orders tr[data-order="${o.id}"] button.cancel`).count(), 1, 'the rest can be cancelled');
    const why = page.locator(`#orders tr[data-fills-for="${o.id}"]`);
    assert.equal(await why.locator('summary').textContent(), 'Why this price');
    assert.equal(await why.locator('ol.fills').isVisible(), false, 'folded until asked');
    await why.locator('summary').click();
    assert.deepEqual(await why.locator('ol.fills li').allInnerTexts(), [
      '200 shares: mid 100.00 + spread 0.25 + slippage 0.10 + impact 0.20 = 100.55 a share; commission 1.00',
    ]);
    // The tape: the fill, and under it its mid and costs a share.
    const trade = page.locator(`#tape tr.trade[data-order="${o.id}"]`);
    await trade.waitFor({ timeout: 15_000 });
    assert.match(await trade.textContent(), /carol.*BUY.*200.*AAPL.*100\.55$/);
    const fillId = await trade.getAttribute('data-fill');
    assert.equal(await text(page, `#tape tr.why[data-fill="${fillId}"]`), 'Why this price: mid 100.00, costs 0.55/share');
    assert.equal(
      await page.getAttribute(`#tape tr.why[data-fill="${fillId}"] td`, 'title'),
      'Why this price: mid 100.00 + spread 0.25 + slippage 0.10 + impact 0.20 = 100.55 a share',
    );

    // The next tick (2% of 5,000: 100 shares) fills 100 more at 101.00 +
    // 0.2525 + 0.101 + 0.202; the average is (200 × 100.55 + 100 ×
    // 101.5555) / 300 = 100.8852 (to four places).
    await srv.setQuote(alice, 'AAPL', '101.00', '100.90', '101.10', 5000);
    await waitFor(page, (id) => /^300\//.test(document.querySelector(`#orders tr[data-order="${id}"] .what`)?.textContent), o.id, 'the second fill');
    assert.equal(await orderWhat(page, o.id), '300/500 filled @ avg 100.8852');
    assert.equal(await why.locator('summary').textContent(), 'Why this price (2 fills)');
    assert.equal(await why.locator('ol.fills').isVisible(), true, 'still unfolded after the update');
    assert.deepEqual(await why.locator('ol.fills li').allInnerTexts(), [
      '200 shares: mid 100.00 + spread 0.25 + slippage 0.10 + impact 0.20 = 100.55 a share; commission 1.00',
      '100 shares: mid 101.00 + spread 0.2525 + slippage 0.101 + impact 0.202 = 101.5555 a share',
    ]);
    await waitFor(page, (id) => document.querySelectorAll(`#tape tr.trade[data-order="${id}"]`).length === 2, o.id, 'two fills on the tape');
    assert.deepEqual(
      await page.$$eval(`#tape tr.trade[data-order="${o.id}"]`, (trs) => trs.map((tr) => [tr.children[3].textContent, tr.children[5].textContent, tr.nextElementSibling.textContent])),
      [['100', '101.5555', 'Why this price: mid 101.00, costs 0.5555/share'], ['200', '100.55', 'Why this price: mid 100.00, costs 0.55/share']],
      'newest first, each with its own breakdown',
    );
    assert.match(await text(page, '#feed'), /carol partially filled: BUY 300\/500 AAPL MARKET @ 101\.5555 \(2 fills, avg 100\.8852\)/);
    assert.equal(await text(page, '#quotes tr[data-symbol="AAPL"] .book'), '100.90 / 101.10vol 5,000');
    // The server agrees.
    const d = await srv.gql('query O($id: ID!) { bullPen(id: $id) { orders { edges { node { id filledQuantity averageFillPrice fills { price } } } } } }', { id: room }, carol);
    const node = d.bullPen.orders.edges.find((e) => e.node.id === o.id).node;
    assert.deepEqual([node.filledQuantity, node.averageFillPrice, node.fills.map((f) => f.price)], [300, '100.8852', ['100.55', '101.5555']]);

    // Cancelling the rest leaves what filled, explained.
    await page.click(`#orders tr[data-order="${o.id}"] button.cancel`);
    await waitFor(page, (id) => document.querySelector(`#orders tr[data-order="${id}"]`)?.dataset.status === 'CANCELLED', o.id, 'the cancel');
    assert.equal(await orderWhat(page, o.id), 'CANCELLED, 300/500 filled @ avg 100.8852');
    assert.equal(await page.locator(`#orders tr[data-order="${o.id}"] button.cancel`).count(), 0);
    assert.equal(await why.locator('ol.fills li').count(), 2);
    assert.deepEqual(await overflow(page), []);
    assert.deepEqual(offOrigin, []);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }

  // Opened afresh on a phone, by bob (a member of a PUBLIC room): the tape
  // has carol's fills, from the server's orders, each explained.
  const again = await openPage(browser, srv.url, `/rooms/${room}`, { token: bob, viewport: PHONE });
  try {
    await waitFor(again.page, (id) => document.querySelectorAll(`#tape tr.trade[data-order="${id}"]`).length === 2, o.id, 'carol\'s two fills');
    assert.deepEqual(
      await again.page.$$eval(`#tape tr.trade[data-order="${o.id}"]`, (trs) => trs.map((tr) => tr.nextElementSibling.textContent)),
      ['Why this price: mid 101.00, costs 0.5555/share', 'Why this price: mid 100.00, costs 0.55/share'],
    );
    assert.deepEqual(await overflow(again.page), []);
    assert.deepEqual(again.pageErrors, []);
  } finally {
    await again.context.close();
  }
});

// aPlayerWithCosts is a room of the given execution preset where carol's
// market orders fill in part (a buy of 2,345 AAPL and a short sale of 250
// MSFT against a tick's 10,000 and 8,000 shares), one rests, and each
// later tick fills more (the buy stays partly filled); bob trades too.
async function aPlayerWithCosts(name, preset) {
  const room = await srv.createRoom(alice, { name, tradeVisibility: 'PUBLIC', allowShortSelling: true, startingCash: '500000', commission: '4.95', execution: { preset } });
  await srv.join(bob, room);
  await srv.join(carol, room);
  await srv.setQuote(alice, 'AAPL', '100.00', '99.98', '100.02', 10000);
  await srv.setQuote(alice, 'MSFT', '200.00', '199.90', '200.10', 8000);
  await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 2345 });
  await srv.order(carol, room, { symbol: 'MSFT', side: 'SELL', quantity: 250 });
  await srv.order(carol, room, { symbol: 'AAPL', side: 'BUY', quantity: 10, type: 'LIMIT', limitPrice: '95.1234' });
  await srv.order(bob, room, { symbol: 'MSFT', side: 'BUY', quantity: 12 });
  await srv.setQuote(alice, 'AAPL', '103.17', '103.11', '103.23', 9000);
  await srv.setQuote(alice, 'MSFT', '201.37', '201.30', '201.44', 3000);
  await srv.order(bob, room, { symbol: 'AAPL', side: 'BUY', quantity: 1 });
  return room;
}

test('nothing is wider than the screen at 1280×800, 390×844 and 360×740 with partial fills, their breakdowns, and bid and ask (REALISTIC and THIN_BOOK)', async () => {
  for (const preset of ['REALISTIC', 'THIN_BOOK']) {
    const room = await aPlayerWithCosts(`${preset} cup`, preset);
    const mine = (await srv.gql('query O($id: ID!) { bullPen(id: $id) { orders { edges { node { status participant { user { username } } } } } } }', { id: room }, carol))
      .bullPen.orders.edges.filter((e) => e.node.participant.user.username === 'carol');
    assert.ok(mine.some((e) => e.node.status === 'PARTIALLY_FILLED'), `${preset}: carol has an order partly filled`);
    for (const viewport of [PHONE, SMALL_PHONE, LAPTOP]) {
      const { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${room}`, { token: carol, viewport });
      try {
        await waitLive(page);
        await waitFor(page, (n) => document.querySelectorAll('#orders tbody tr[data-order]').length === n, mine.length, 'carol\'s orders');
        await page.locator('#orders tr.fills-row').first().waitFor({ timeout: 15_000 });
        await page.locator('#tape tr.why').first().waitFor({ timeout: 15_000 });
        await waitFor(page, () => /\d/.test(document.querySelector('#quotes tr[data-symbol="MSFT"] .book .ask')?.textContent), null, 'bid and ask');
        // Every breakdown unfolded.
        for (const s of await page.locator('#orders tr.fills-row summary').all()) await s.click();
        assert.ok(await page.locator('#orders ol.fills li').count() >= 3, 'the fills listed');
        if (viewport !== LAPTOP) await page.locator('#rules summary').click();
        assert.ok(await page.locator('#rule-execution').isVisible(), 'the execution model in the rules');
        assert.deepEqual(await overflow(page), [], `${preset}: nothing wider than ${viewport.width} px`);
        if (viewport !== SMALL_PHONE) {
          for (const t of ['#orders', '#tape', '#quotes']) {
            const [tw, cw] = await page.$eval(t, (el) => [el.scrollWidth, el.parentElement.clientWidth]);
            assert.ok(tw <= cw, `${preset}: ${t} is ${tw} px in a ${cw} px card at ${viewport.width} px`);
          }
        }
        assert.deepEqual(pageErrors, []);
      } finally {
        await context.close();
      }
    }
  }
});

test('a room with trading hours shows a market-closed banner with the next open while closed; an always-open room shows none', async () => {
  // Open on one weekday (UTC) that is not today's: closed now, whatever the hour.
  const days = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  const other = days[(new Date().getUTCDay() + 3) % 7];
  const closed = await srv.createRoom(alice, {
    name: 'After hours cup', afterHours: 'REJECT', maxQuoteAgeSeconds: 300,
    tradingHours: { timeZone: 'UTC', open: '09:30', close: '16:00', days: [other] },
  });
  const { bullPen } = await srv.gql('query H($id: ID!) { bullPen(id: $id) { tradingHours { isOpen nextOpen } } }', { id: closed });
  assert.equal(bullPen.tradingHours.isOpen, false);
  let { context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${closed}`, { token: bob });
  try {
    const banner = page.locator('#market-closed');
    await banner.waitFor({ timeout: 15_000 });
    assert.equal(await banner.getAttribute('data-next-open'), bullPen.tradingHours.nextOpen);
    assert.equal(await banner.locator('time').getAttribute('datetime'), bullPen.tradingHours.nextOpen);
    assert.match(await banner.textContent(), /^Market closed\. It opens .+\. Orders placed now are rejected\.$/);
    assert.match(await text(page, '#rule-hours'), new RegExp(`^09:30–16:00 UTC, ${other}; after hours orders are rejected$`));
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
  const always = await srv.createRoom(alice, { name: 'Always open cup' });
  ({ context, page, pageErrors } = await openPage(browser, srv.url, `/rooms/${always}`, { token: bob }));
  try {
    await page.locator('#room-state').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#market-closed').count(), 0);
    assert.equal(await page.locator('#rule-hours').count(), 0);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});
