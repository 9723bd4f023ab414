// Headless-browser test of the invite link: the owner of a PRIVATE room
// finds it under the rules; a visitor who opens it signs up on the page
// and joins a room they could not see; a wrong code joins nobody.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openPage } from './harness.mjs';

let srv;
let browser;
let alice;
let bob;

before(async () => {
  srv = await new Server().start();
  alice = await srv.signUp('alice');
  bob = await srv.signUp('bob');
  srv.grantAdmin('alice');
  await srv.setQuote(alice, 'AAPL', '100.00');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.close();
});

const text = (page, sel) => page.locator(sel).first().textContent({ timeout: 10_000 });

test('an invite link: the owner finds it under the rules, a visitor signs up from it and joins the PRIVATE room; a wrong code joins nobody', async () => {
  const room = await srv.createRoom(alice, { name: 'Class 7B', visibility: 'PRIVATE' });
  const { inviteCode } = (await srv.gql('query R($id: ID!) { bullPen(id: $id) { inviteCode } }', { id: room }, alice)).bullPen;
  assert.ok(inviteCode, 'the owner reads the invite code');

  // The owner's page gives the link; nobody else's does.
  const owner = await openPage(browser, srv.url, `/rooms/${room}`, { token: alice });
  let link;
  try {
    link = await owner.page.locator('#rule-invite a').getAttribute('href', { timeout: 10_000 });
    assert.equal(link, `${srv.url}/rooms/${room}?invite=${inviteCode}`);
    assert.deepEqual(owner.pageErrors, []);
  } finally {
    await owner.context.close();
  }

  // Without the code, bob cannot see the room nor join it from the page.
  const wrong = await openPage(browser, srv.url, `/rooms/${room}?invite=WRONG`, { token: bob });
  try {
    assert.match(await text(wrong.page, 'h1'), /not found/);
    await wrong.page.click('#join');
    await wrong.page.locator('p.note').waitFor({ timeout: 10_000 });
    assert.match(await text(wrong.page, 'p.note'), /not found|invite/i);
    assert.equal(await wrong.page.locator('#room-name').count(), 0, 'still no room');
  } finally {
    await wrong.context.close();
  }

  // A visitor opens the link, signs up, joins and sees the room.
  const { context, page, pageErrors } = await openPage(browser, srv.url, new URL(link).pathname + new URL(link).search);
  try {
    assert.match(await text(page, 'h1'), /not found/);
    assert.match(await text(page, '#invite-signin'), /invite/);
    await page.click('#signup-open');
    const form = page.locator('#signup');
    await form.getByLabel('Username').fill('dora');
    await form.getByLabel(/^Password/).fill('dora-password');
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.click('#join');
    assert.equal(await text(page, '#room-name'), 'Class 7B');
    await page.locator('#order-form').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#rule-invite').count(), 0, 'a player is not shown the invite link');
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
  const { participants } = (await srv.gql('query R($id: ID!) { bullPen(id: $id) { participants { user { username } } } }', { id: room }, alice)).bullPen;
  assert.deepEqual(participants.map((p) => p.user.username), ['dora']);
});
