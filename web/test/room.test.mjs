// Headless-browser tests of the live room page (/rooms/{id}) against a real
// server on a temporary SQLite file (see harness.mjs): events caused by
// mutations land on the page, a dropped socket resumes without a gap, who
// sees trades, a player's orders from the page, and the replay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openPage } from './harness.mjs';

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
    assert.deepEqual(rows, final.entries.map((e) => [e.participantId, e.portfolioValue.replace(/\B(?=(\d{3})+(?!\d))/g, ',')]));
    // Every event of the log was played once.
    await assertExactlyOnce(page, room, null, 0);

    assert.deepEqual(offOrigin, [], 'requests off the server origin');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});
