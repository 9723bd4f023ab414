// Headless-browser tests of what a class does on the live room page alone
// (issue 20): players make and join teams from the Teams card (the team
// shown at once, the server's TEAM_FULL shown), nobody else gets the
// controls, the projector view has the team board, and a player's
// assignments move in their seat as they trade; nothing is wider than a
// 390 px phone. Against a real server on a temporary SQLite file (see
// harness.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openPage, overflow, PHONE, LAPTOP } from './harness.mjs';

let srv;
let browser;
let host; // admin (sets prices), owner of the rooms
const players = {};

before(async () => {
  srv = await new Server().start();
  host = await srv.signUp('host');
  for (const who of ['ann', 'ben', 'cat', 'dan', 'eve', 'fay']) players[who] = await srv.signUp(who);
  srv.grantAdmin('host');
  await srv.setQuote(host, 'AAPL', '100.00');
  await srv.setQuote(host, 'MSFT', '200.00');
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
    const card = await page.locator('#card-teams').textContent({ timeout: 1_000 }).catch(() => '(no team card)');
    const seat = await page.locator('#mine').textContent({ timeout: 1_000 }).catch(() => '(no seat)');
    throw new Error(`page never showed ${what}; team card: ${card}; seat: ${seat}`, { cause: err });
  }
}

const waitLive = (page) => waitFor(page, () => document.querySelector('#conn')?.textContent === 'live', null, 'a live connection');

// offline keeps a page's WebSocket down: it loads over HTTP and gets no
// live event, so what it shows after a click came from the click alone.
const offline = (page) => page.routeWebSocket(/\/query$/, (ws) => ws.close({ code: 4000, reason: 'test: offline' }));

// teamRows reads the team board: "rank|name|score|members[|seats]" per row.
const teamRows = (page) =>
  page.$$eval('#team-board tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()).join('|')));

// teamSeats is teamRows without rank and score (which depend on whether a
// snapshot has ranked the team yet): "name|members[|seats]".
const teamSeats = async (page) => (await teamRows(page)).map((r) => r.split('|').filter((_, i) => i !== 0 && i !== 2).join('|'));

// controls counts the team controls on a page: the form and Join buttons.
const controls = async (page) => (await page.locator('#team-form').count()) + (await page.locator('button.join-team').count());

const clean = (...pages) => {
  for (const { offOrigin, pageErrors } of pages) {
    assert.deepEqual(offOrigin, [], 'requests off the server origin');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  }
};

test('teams from the page: a player makes one, another joins it, a third finds it full (TEAM_FULL), and nobody else gets the controls', async () => {
  const room = await srv.createRoom(host, { name: 'Class cup', startingCash: '1000', teamSize: 2 });
  const pid = {};
  for (const who of ['ann', 'ben', 'cat', 'dan', 'eve']) pid[who] = await srv.join(players[who], room);
  const teams = async () => (await srv.gql('query T($id: ID!) { bullPen(id: $id) { teams { name members { user { username } } } } }', { id: room }, host)).bullPen.teams
    .map((t) => `${t.name}: ${t.members.map((m) => m.user.username).join(', ')}`);

  // Ann, offline, makes Bulls: her card lists it at once, unranked, hers,
  // and her controls go (she is in a team now).
  const ann = await openPage(browser, srv.url, `/rooms/${room}`, { token: players.ann, setup: offline });
  try {
    await ann.page.locator('#team-form').waitFor({ timeout: 15_000 });
    assert.match(await ann.page.locator('#card-teams').textContent(), /No teams yet/);
    await ann.page.getByLabel("New team's name").fill('Bulls');
    await ann.page.getByRole('button', { name: 'Create team' }).click();
    await waitFor(ann.page, () => document.querySelectorAll('#team-board tbody tr').length === 1, null, 'Bulls on the board');
    assert.deepEqual(await teamRows(ann.page), ['–|Bulls (yours)|–|ann']);
    assert.match(await ann.page.locator('#team-msg').textContent(), /You made team Bulls/);
    assert.equal(await controls(ann.page), 0, 'no controls for a player in a team');
    assert.notEqual(await ann.page.locator('#conn').textContent(), 'live', 'the page was offline: the team came from the click');
    clean(ann);
  } finally {
    await ann.context.close();
  }
  assert.deepEqual(await teams(), ['Bulls: ann']);

  // Cat opens the page offline now: Bulls has a seat left, with a Join button.
  const cat = await openPage(browser, srv.url, `/rooms/${room}`, { token: players.cat, setup: offline });
  // Ben, live, sees Bulls with 1/2 and joins it from the page.
  const ben = await openPage(browser, srv.url, `/rooms/${room}`, { token: players.ben });
  try {
    await waitFor(cat.page, () => document.querySelector('#team-board button.join-team') !== null, null, 'a Join button (cat)');
    assert.deepEqual(await teamSeats(cat.page), ['Bulls|ann|1/2Join'], 'cat sees Bulls with a seat left');

    await waitLive(ben.page);
    await waitFor(ben.page, () => document.querySelector('#team-board button.join-team') !== null, null, 'a Join button (ben)');
    assert.deepEqual(await teamSeats(ben.page), ['Bulls|ann|1/2Join']);
    await ben.page.getByRole('button', { name: 'Join team Bulls' }).click();
    await waitFor(ben.page, () => /ann, ben/.test(document.querySelector('#team-board tbody tr')?.textContent ?? ''), null, 'ben in Bulls');
    assert.match(await ben.page.locator('#team-msg').textContent(), /You joined team Bulls/);
    assert.match(await ben.page.locator('#team-board tr.me').textContent(), /Bulls \(yours\)/);
    assert.equal(await controls(ben.page), 0, 'no controls once in a team');
    // The next snapshot ranks Bulls (a live page gets it without a reload).
    await waitFor(ben.page, () => document.querySelector('#team-board tbody tr')?.dataset.rank === '1', null, 'Bulls ranked');
    assert.deepEqual(await teamRows(ben.page), ['1|Bulls (yours)|0.00%|ann, ben']);
    assert.deepEqual(await teams(), ['Bulls: ann, ben']);

    // Cat's page still offers the seat ben took: joining answers TEAM_FULL,
    // whose message shows; the card then shows Bulls full and no Join.
    await cat.page.getByRole('button', { name: 'Join team Bulls' }).click();
    await waitFor(cat.page, () => /full/.test(document.querySelector('#team-msg')?.textContent ?? ''), null, 'the TEAM_FULL message');
    assert.match(await cat.page.locator('#team-msg').textContent(), /team "Bulls" is full: it has 2 members/);
    await waitFor(cat.page, () => document.querySelector('#team-board button.join-team') === null, null, 'Bulls shown full');
    assert.deepEqual(await teamSeats(cat.page), ['Bulls|ann, ben|2/2 full']);
    assert.deepEqual(await teams(), ['Bulls: ann, ben'], 'cat is in no team');
    // She makes her own; a name taken (whatever its case) is refused with the server's words.
    await cat.page.getByLabel("New team's name").fill('bulls');
    await cat.page.getByRole('button', { name: 'Create team' }).click();
    await waitFor(cat.page, () => /bulls/i.test(document.querySelector('#team-msg')?.textContent ?? '') && !/is full/.test(document.querySelector('#team-msg').textContent), null, 'the taken name refused');
    assert.equal(await cat.page.locator('#team-form').count(), 1, 'still in no team');
    await cat.page.getByLabel("New team's name").fill('Bears');
    await cat.page.getByRole('button', { name: 'Create team' }).click();
    await waitFor(cat.page, () => /You made team Bears/.test(document.querySelector('#team-msg')?.textContent ?? ''), null, 'Bears made');
    assert.deepEqual(await teamSeats(cat.page), ['Bulls|ann, ben', 'Bears (yours)|cat']);
    // Bears is new: no snapshot has ranked it on cat's offline page.
    assert.equal(await cat.page.locator('#team-board tbody tr').nth(1).locator('td').first().textContent(), '–');
    // Ben's live page gets Bears from the next snapshot.
    await waitFor(ben.page, () => /Bears/.test(document.querySelector('#team-board')?.textContent ?? ''), null, 'Bears on ben\'s page');
    clean(cat, ben);
  } finally {
    await cat.context.close();
    await ben.context.close();
  }
  assert.deepEqual(await teams(), ['Bulls: ann, ben', 'Bears: cat']);

  // No controls for the owner, a spectator, or a removed player.
  await srv.gql('mutation R($p: ID!) { removeParticipant(participantId: $p, reason: "left the class") { id } }', { p: pid.dan }, host);
  for (const [who, token] of [['the owner', host], ['a spectator', null], ['a removed player', players.dan]]) {
    const v = await openPage(browser, srv.url, `/rooms/${room}`, { token });
    try {
      await waitLive(v.page);
      await waitFor(v.page, () => document.querySelectorAll('#team-board tbody tr').length === 2, null, `the teams (${who})`);
      assert.equal(await controls(v.page), 0, `no team controls for ${who}`);
      clean(v);
    } finally {
      await v.context.close();
    }
  }

  // Eve, in no team, on a phone: the card with its Join buttons and form
  // fits the screen, and she joins Bears from it.
  const eve = await openPage(browser, srv.url, `/rooms/${room}`, { token: players.eve, viewport: PHONE });
  try {
    await waitLive(eve.page);
    await waitFor(eve.page, () => document.querySelectorAll('#team-board tbody tr').length === 2 && document.querySelector('#team-form'), null, 'the teams and the form on a phone');
    assert.deepEqual(await overflow(eve.page), [], 'nothing wider than 390 px');
    const [tw, cw] = await eve.page.$eval('#team-board', (el) => [el.scrollWidth, el.parentElement.clientWidth]);
    assert.ok(tw <= cw, `#team-board is ${tw} px in a ${cw} px card`);
    await eve.page.getByRole('button', { name: 'Join team Bears' }).click();
    await waitFor(eve.page, () => /You joined team Bears/.test(document.querySelector('#team-msg')?.textContent ?? ''), null, 'eve in Bears');
    assert.deepEqual(await overflow(eve.page), [], 'nothing wider than 390 px after joining');
    clean(eve);
  } finally {
    await eve.context.close();
  }

  // The projector view has the team board, without controls, beside the
  // players' board on a screen and below it on a phone.
  for (const viewport of [LAPTOP, PHONE]) {
    const board = await openPage(browser, srv.url, `/rooms/${room}?view=board`, { token: players.fay, viewport });
    try {
      await waitFor(board.page, () => /cat, eve/.test(document.querySelector('#team-board')?.textContent ?? ''), null, 'the team board on the projector');
      assert.deepEqual((await teamRows(board.page)).map((r) => r.replace(/^\d\|/, '#|')), ['#|Bulls|0.00%|ann, ben', '#|Bears|0.00%|cat, eve']);
      assert.equal(await controls(board.page), 0, 'no controls on the projector');
      assert.deepEqual(await overflow(board.page), [], `nothing wider than ${viewport.width} px on the projector`);
      if (viewport.width === 1280) {
        for (const id of ['#card-leaderboard', '#card-teams', '#card-chart', '#card-tape']) {
          const b = await board.page.locator(id).boundingBox();
          assert.ok(b && b.y + b.height <= viewport.height + 1 && b.height > 80, `${id} at ${JSON.stringify(b)} fits the screen`);
        }
      }
      clean(board);
    } finally {
      await board.context.close();
    }
  }
});

test('assignments: the rules list them for everyone, the player\'s seat shows their progress, which moves as they trade and write notes', async () => {
  const room = await srv.createRoom(host, {
    name: 'Graded cup',
    startingCash: '10000',
    assignments: [
      { kind: 'ORDERS_OF_TYPE', count: 1, orderType: 'LIMIT' },
      { kind: 'DISTINCT_SYMBOLS', count: 2 },
      { kind: 'NOTES_WRITTEN', count: 1 },
      { kind: 'MAX_DRAWDOWN_BELOW', count: 10 },
    ],
  });
  await srv.join(players.ann, room);
  const rules = ['Fill 1 LIMIT order', 'Hold 2 symbols at once', 'Write 1 note', 'Keep max drawdown below 10%'];

  const spectator = await openPage(browser, srv.url, `/rooms/${room}`);
  try {
    await waitLive(spectator.page);
    assert.deepEqual(await spectator.page.$$eval('#rule-assignments li', (lis) => lis.map((li) => li.textContent)), rules);
    assert.equal(await spectator.page.locator('#assignments').count(), 0, 'a spectator has no seat');
    clean(spectator);
  } finally {
    await spectator.context.close();
  }

  // progress reads the seat's list: "what|done|met" per assignment.
  const progress = (page) => page.$$eval('#assignments li', (lis) => lis.map((li) => `${li.querySelector('.what').textContent}|${li.querySelector('.done').textContent}|${li.dataset.met}`));
  const ann = await openPage(browser, srv.url, `/rooms/${room}`, { token: players.ann, viewport: PHONE });
  try {
    await waitLive(ann.page);
    await waitFor(ann.page, () => document.querySelectorAll('#assignments li[data-met]:not([data-met=""])').length === 4, null, 'the assignments in the seat');
    assert.deepEqual(await ann.page.$$eval('#rule-assignments li', (lis) => lis.map((li) => li.textContent)), rules);
    assert.deepEqual(await progress(ann.page), [
      'Fill 1 LIMIT order|0/1|false',
      'Hold 2 symbols at once|0/2|false',
      'Write 1 note|0/1|false',
      'Keep max drawdown below 10%|0% / 10%|true',
    ]);
    assert.deepEqual(await overflow(ann.page), [], 'nothing wider than 390 px with the assignments');

    // A limit buy above the price fills at once: the LIMIT order and one symbol.
    const form = ann.page.locator('#order-form');
    await form.locator('select[name=type]').selectOption('LIMIT');
    await form.locator('select[name=symbol]').selectOption('AAPL');
    await form.locator('input[name=quantity]').fill('5');
    await form.locator('input[name=limitPrice]').fill('101.00');
    await form.getByRole('button', { name: 'Place order' }).click();
    await waitFor(ann.page, () => document.querySelector('#assignments li[data-kind=ORDERS_OF_TYPE]')?.dataset.met === 'true', null, 'the LIMIT order counted');
    await waitFor(ann.page, () => document.querySelector('#assignments li[data-kind=DISTINCT_SYMBOLS] .done')?.textContent === '1/2', null, 'one symbol held');
    assert.deepEqual(await progress(ann.page), [
      'Fill 1 LIMIT order|1/1|true',
      'Hold 2 symbols at once|1/2|false',
      'Write 1 note|0/1|false',
      'Keep max drawdown below 10%|0% / 10%|true',
    ]);
    assert.match(await ann.page.locator('#assignments li[data-kind=ORDERS_OF_TYPE] .met').textContent(), /✓/);

    // A market buy of MSFT with a note: two symbols at once, a note written.
    await form.locator('select[name=type]').selectOption('MARKET');
    await form.locator('select[name=symbol]').selectOption('MSFT');
    await form.locator('input[name=quantity]').fill('2');
    await form.locator('textarea[name=note]').fill('Spreading the risk.');
    await form.getByRole('button', { name: 'Place order' }).click();
    await waitFor(ann.page, () => document.querySelector('#assignments li[data-kind=NOTES_WRITTEN]')?.dataset.met === 'true'
      && document.querySelector('#assignments li[data-kind=DISTINCT_SYMBOLS]')?.dataset.met === 'true', null, 'the note and the second symbol counted');
    assert.deepEqual(await progress(ann.page), [
      'Fill 1 LIMIT order|1/1|true',
      'Hold 2 symbols at once|2/2|true',
      'Write 1 note|1/1|true',
      'Keep max drawdown below 10%|0% / 10%|true',
    ]);
    assert.deepEqual(await overflow(ann.page), [], 'nothing wider than 390 px after trading');
    clean(ann);
  } finally {
    await ann.context.close();
  }
  // The server agrees.
  const d = await srv.gql('query A($id: ID!) { bullPen(id: $id) { me { assignments { kind done met } } } }', { id: room }, players.ann);
  assert.deepEqual(d.bullPen.me.assignments.map((a) => `${a.kind} ${a.done} ${a.met}`), ['ORDERS_OF_TYPE 1 true', 'DISTINCT_SYMBOLS 2 true', 'NOTES_WRITTEN 1 true', 'MAX_DRAWDOWN_BELOW 0 true']);
});
