// Headless-browser tests of the room page's team board (issue 20, teams)
// against a real server on a temporary SQLite file (see harness.mjs): the
// board shows beside the players' board in a room with teams, follows each
// LeaderboardEvent live (a new team, a join, a change of lead), marks the
// viewer's team, fits a phone, and is absent in a room without teams.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openPage, PHONE } from './harness.mjs';

let srv;
let browser;
let host; // admin (sets prices) and host
const players = {};

before(async () => {
  srv = await new Server().start();
  host = await srv.signUp('host');
  for (const who of ['ann', 'ben', 'cat', 'dan']) players[who] = await srv.signUp(who);
  srv.grantAdmin('host');
  await srv.setQuote(host, 'AAPL', '100.00');
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
    const board = await page.locator('#card-teams').textContent({ timeout: 1_000 }).catch(() => '(no team card)');
    throw new Error(`page never showed ${what}; team card: ${board}`, { cause: err });
  }
}

const createTeam = (token, room, name) =>
  srv.gql('mutation T($id: ID!, $n: String!) { createTeam(bullPenId: $id, name: $n) { id } }', { id: room, n: name }, token).then((d) => d.createTeam.id);
const joinTeam = (token, team) => srv.gql('mutation J($t: ID!) { joinTeam(teamId: $t) { id } }', { t: team }, token);

// teamRows reads the team board: "rank|name|score|members" per row.
const teamRows = (page) =>
  page.$$eval('#team-board tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()).join('|')));

test('the team board: beside the players\' board, live from each LeaderboardEvent, the viewer\'s team marked, and absent without teams', async () => {
  const room = await srv.createRoom(host, { name: 'Team cup', startingCash: '1000', teamSize: 2 });
  for (const token of Object.values(players)) await srv.join(token, room);
  const spectator = await openPage(browser, srv.url, `/rooms/${room}`);
  const player = await openPage(browser, srv.url, `/rooms/${room}`, { token: players.ben });
  try {
    for (const { page } of [spectator, player]) {
      await waitFor(page, () => document.querySelector('#conn')?.textContent === 'live', null, 'a live connection');
      assert.equal(await page.locator('#card-teams').count(), 1, 'a room with teams has the team card');
      assert.match(await page.locator('#rule-teams').textContent(), /up to 2 players, scored by the members' average return/);
    }
    // Beside the players' board: the same row of the grid, to its right.
    const lb = await spectator.page.locator('#card-leaderboard').boundingBox();
    const tb = await spectator.page.locator('#card-teams').boundingBox();
    assert.ok(Math.abs(lb.y - tb.y) < 2 && tb.x > lb.x + lb.width - 1, `the team card at ${JSON.stringify(tb)} is beside the board at ${JSON.stringify(lb)}`);

    // Teams made: the next snapshot (the board is marked) shows them.
    const bulls = await createTeam(players.ann, room, 'Bulls');
    await joinTeam(players.ben, bulls);
    const bears = await createTeam(players.cat, room, 'Bears');
    for (const { page } of [spectator, player]) {
      await waitFor(page, () => document.querySelectorAll('#team-board tbody tr').length === 2, null, 'two teams on the board');
    }
    // Nobody traded: both at 0%, tied at rank 1, in the order they were made.
    assert.deepEqual(await teamRows(spectator.page), ['1|Bulls|0.00%|ann, ben', '1|Bears|0.00%|cat']);
    // Ben's page marks his team.
    assert.match(await player.page.locator('#team-board tr.me').textContent(), /Bulls \(yours\)/);
    assert.equal(await spectator.page.locator('#team-board tr.me').count(), 0);

    // Dan joins Bears and buys 10 AAPL at 100; AAPL at 120: dan +20%,
    // Bears (0 + 20) / 2 = 10% ahead of Bulls at 0%.
    await joinTeam(players.dan, bears);
    await srv.order(players.dan, room, { symbol: 'AAPL', side: 'BUY', quantity: 10 });
    await srv.setQuote(host, 'AAPL', '120.00');
    await srv.order(players.ann, room, { symbol: 'AAPL', side: 'BUY', quantity: 1 }); // a fill: a snapshot at once
    for (const { page } of [spectator, player]) {
      await waitFor(page, () => document.querySelector('#team-board tbody tr')?.textContent.includes('Bears'), null, 'Bears ahead');
    }
    assert.deepEqual(await teamRows(spectator.page), ['1|Bears|+10.00%|cat, dan', '2|Bulls|0.00%|ann, ben']);
    assert.match(await spectator.page.locator('#team-board tbody tr').first().locator('td').nth(2).getAttribute('class'), /\bpos\b/);

    for (const { offOrigin, pageErrors } of [spectator, player]) {
      assert.deepEqual(offOrigin, [], 'requests off the server origin');
      assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    }
  } finally {
    await spectator.context.close();
    await player.context.close();
  }

  // On a phone the board fits the screen.
  const phone = await openPage(browser, srv.url, `/rooms/${room}`, { viewport: PHONE });
  try {
    await waitFor(phone.page, () => document.querySelectorAll('#team-board tbody tr').length === 2, null, 'the team board on a phone');
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width}px wide on a 390px phone`);
  } finally {
    await phone.context.close();
  }

  // A room without teams has no team card and no teams rule.
  const plain = await srv.createRoom(host, { name: 'Solo cup' });
  await srv.join(players.ann, plain);
  const solo = await openPage(browser, srv.url, `/rooms/${plain}`);
  try {
    await waitFor(solo.page, () => document.querySelector('#leaderboard') !== null, null, 'the players\' board');
    assert.equal(await solo.page.locator('#card-teams').count(), 0, 'no team card');
    assert.equal(await solo.page.locator('#rule-teams').count(), 0, 'no teams rule');
    assert.deepEqual(solo.pageErrors, [], 'uncaught errors in the page');
  } finally {
    await solo.context.close();
  }
});
