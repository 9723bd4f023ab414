// Headless-browser tests of the league page (/leagues/{id}) against a real
// server on a temporary SQLite file (see harness.mjs): the standings as the
// server adds them up, re-read live when a room of the league ends; a
// PRIVATE room counted only for who may see it; nothing wider than a
// laptop's or a phone's screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openPage, overflow, PHONE, LAPTOP } from './harness.mjs';

let srv;
let browser;
let admin; // sets prices, owns the rooms and the leagues
let ann;
let ben;
let cat;
let dan;

before(async () => {
  srv = await new Server().start();
  admin = await srv.signUp('admin');
  ann = await srv.signUp('ann');
  ben = await srv.signUp('ben');
  cat = await srv.signUp('cat');
  dan = await srv.signUp('dan');
  srv.grantAdmin('admin');
  await srv.setQuote(admin, 'AAPL', '100.00');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.close();
});


async function waitFor(page, fn, arg, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: 15_000, polling: 100 });
  } catch (err) {
    const rows = await page.$$eval('#standings tbody tr', (l) => l.map((x) => x.textContent)).catch(() => []);
    throw new Error(`page never showed ${what}; standings:\n${rows.join('\n')}`, { cause: err });
  }
}

// standings reads the page's standings as "user rank points rooms" lines.
const standings = (page) => page.$$eval('#standings tbody tr[data-user]', (rows) => rows.map((r) =>
  [r.dataset.user, r.querySelector('.rank').textContent, r.querySelector('.points').textContent, r.querySelector('.played').textContent].join(' ')));

// room opens an ACTIVE room of admin's with players; buys[i] shares of
// AAPL for player i (0: none).
async function room(name, players, buys, input = {}) {
  const id = await srv.createRoom(admin, { name, ...input });
  const code = input.visibility === 'PRIVATE'
    ? (await srv.gql('query R($id: ID!) { bullPen(id: $id) { inviteCode } }', { id }, admin)).bullPen.inviteCode : null;
  for (const p of players) {
    await srv.gql('mutation J($id: ID!, $c: String) { joinBullPen(bullPenId: $id, inviteCode: $c) { id } }', { id, c: code }, p);
  }
  for (const [i, n] of buys.entries()) if (n) await srv.order(players[i], id, { symbol: 'AAPL', side: 'BUY', quantity: n });
  return id;
}

const end = (id) => srv.gql('mutation E($id: ID!) { endBullPen(id: $id) { state } }', { id }, admin);

async function league(name, rooms) {
  const id = (await srv.gql('mutation L($n: String!) { createLeague(name: $n) { id } }', { n: name }, admin)).createLeague.id;
  for (const b of rooms) await srv.gql('mutation A($l: ID!, $b: ID!) { addRoomToLeague(leagueId: $l, bullPenId: $b) { id } }', { l: id, b }, admin);
  return id;
}

test('the standings are the server\'s, and the page reads them again when a room of the league ends', async () => {
  // Room 1: ann and ben gain alike (1, 1: 25 each), cat nothing (3: 15).
  const r1 = await room('Week 1', [ann, ben, cat], [10, 10, 0]);
  await srv.setQuote(admin, 'AAPL', '110.00');
  await end(r1);
  // Room 2, still running: cat gains (1: 25), ann nothing (2: 18).
  const r2 = await room('Week 2', [cat, ann], [10, 0]);
  await srv.setQuote(admin, 'AAPL', '120.00');
  const id = await league('Autumn season', [r1, r2]);

  const { context, page, pageErrors, offOrigin } = await openPage(browser, srv.url, `/leagues/${id}`, { token: ann });
  try {
    await page.locator('#league-name').waitFor({ timeout: 15_000 });
    assert.equal(await page.textContent('#league-name'), 'Autumn season');
    await waitFor(page, () => document.querySelector('#conn')?.textContent === 'live', null, 'a live connection');
    assert.deepEqual(await standings(page), ['ann 1 25 1', 'ben 1 25 1', 'cat 3 15 1']);
    assert.equal(await page.textContent('#rooms-ended'), '1 of 2 rooms ended');
    assert.match(await page.textContent('#standings tr.me'), /\(you\)/, 'the viewer\'s own line is marked');

    await end(r2);
    // ann 25+18, cat 15+25, ben 25.
    const want = ['ann 1 43 2', 'cat 2 40 2', 'ben 3 25 1'];
    await waitFor(page, (w) => [...document.querySelectorAll('#standings tbody tr[data-user]')]
      .map((r) => [r.dataset.user, r.querySelector('.rank').textContent, r.querySelector('.points').textContent, r.querySelector('.played').textContent].join(' '))
      .join('|') === w.join('|'), want, `standings ${want.join(', ')}`);
    assert.equal(await page.textContent('#rooms-ended'), '2 of 2 rooms ended');
    // Nothing is left to follow: no live badge.
    await waitFor(page, () => !document.querySelector('#conn'), null, 'the live badge gone');
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(offOrigin, []);
  } finally {
    await context.close();
  }
});

test('a PRIVATE room counts only for who may see it; a league of hidden rooms is not found', async () => {
  // PRIVATE: dan gains (1: 25), ben nothing (2: 18).
  const hidden = await room('Private week', [dan, ben], [10, 0], { visibility: 'PRIVATE' });
  await srv.setQuote(admin, 'AAPL', '130.00');
  await end(hidden);
  // PUBLIC: ann alone (1: 25).
  const open = await room('Open week', [ann], [0]);
  await end(open);
  const id = await league('Mixed season', [hidden, open]);
  const onlyHidden = await league('Hidden season', [hidden]);

  for (const [who, token, want, rooms] of [
    ['anonymous', null, ['ann 1 25 1'], 1],
    ['cat, not in the PRIVATE room', cat, ['ann 1 25 1'], 1],
    ['dan, in it', dan, ['ann 1 25 1', 'dan 1 25 1', 'ben 3 18 1'], 2],
  ]) {
    const { context, page } = await openPage(browser, srv.url, `/leagues/${id}`, { token });
    try {
      await page.locator('#standings').waitFor({ timeout: 15_000 });
      assert.deepEqual(await standings(page), want, who);
      assert.equal(await page.locator('#rooms tbody tr[data-room]').count(), rooms, `${who}: rooms listed`);
    } finally {
      await context.close();
    }
  }
  const { context, page } = await openPage(browser, srv.url, `/leagues/${onlyHidden}`, { token: cat });
  try {
    await page.locator('h1').waitFor({ timeout: 15_000 });
    assert.equal(await page.textContent('h1'), `League ${onlyHidden} not found`);
  } finally {
    await context.close();
  }
});

test('nothing is wider than the screen at 1280×800 and 390×844', async () => {
  const long = 'A league with a rather long name that has to wrap on a phone screen somewhere';
  const r = await room('A room whose name is long enough to wrap in the rooms table on a phone', [ann, ben, cat, dan], [1, 2, 3, 0]);
  await srv.setQuote(admin, 'AAPL', '140.00');
  await end(r);
  const live = await room('Still running', [ann], [0]);
  const id = await league(long, [r, live]);
  for (const viewport of [LAPTOP, PHONE]) {
    const { context, page, pageErrors } = await openPage(browser, srv.url, `/leagues/${id}`, { token: ann, viewport });
    try {
      await page.locator('#standings tbody tr[data-user]').first().waitFor({ timeout: 15_000 });
      await waitFor(page, () => document.querySelector('#conn')?.textContent === 'live', null, 'a live connection');
      assert.deepEqual(await overflow(page), [], `nothing wider than ${viewport.width} px`);
      for (const t of ['#standings', '#rooms']) {
        const [tw, cw] = await page.$eval(t, (el) => [el.scrollWidth, el.parentElement.clientWidth]);
        assert.ok(tw <= cw, `${t} is ${tw} px in a ${cw} px card at ${viewport.width} px`);
      }
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  }
});
