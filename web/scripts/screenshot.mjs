// Takes the README's screenshots of the live room page: a server on a fresh
// SQLite file, four players trading through a few price moves in a
// REALISTIC room (bid and ask two cents either side of the price), the page
// as one of them on a 1280 px screen (the whole page, her fills' Why this
// price unfolded) and on a 390×844 phone (its first screen).
//
//   cd web && node scripts/screenshot.mjs [out.png [phone.png]]
//   (default ../docs/room-page.png and ../docs/room-page-phone.png)
import { resolve } from 'node:path';
import { Server, launch, openPage, repoRoot, sleep } from '../test/harness.mjs';

const out = resolve(process.argv[2] ?? resolve(repoRoot, 'docs', 'room-page.png'));
const phoneOut = resolve(process.argv[3] ?? resolve(repoRoot, 'docs', 'room-page-phone.png'));
const srv = await new Server().start();
let browser;
try {
  const alice = await srv.signUp('alice');
  srv.grantAdmin('alice');
  const prices = { AAPL: 190, MSFT: 400, NVDA: 120 };
  const quote = (s, p) => srv.setQuote(alice, s, p.toFixed(2), (p - 0.02).toFixed(2), (p + 0.02).toFixed(2), 10000);
  for (const [s, p] of Object.entries(prices)) await quote(s, p);
  const room = await srv.createRoom(alice, {
    name: 'Friday cup', description: 'One hour, three tickers, no shorts.', tradeVisibility: 'PUBLIC',
    startingCash: '10000', commission: '1', allowedSymbols: Object.keys(prices), execution: { preset: 'REALISTIC' },
  });
  const players = {};
  for (const name of ['bob', 'carol', 'dave', 'erin']) {
    players[name] = await srv.signUp(name);
    await srv.join(players[name], room);
  }
  const buys = { bob: ['AAPL', 20], carol: ['MSFT', 10], dave: ['NVDA', 40], erin: ['AAPL', 10] };
  for (const [name, [symbol, quantity]] of Object.entries(buys)) await srv.order(players[name], room, { symbol, side: 'BUY', quantity });

  browser = await launch();
  // Carol also has an order resting, so the seat shows every part.
  await srv.order(players.carol, room, { symbol: 'NVDA', side: 'BUY', quantity: 5, type: 'LIMIT', limitPrice: '110.00' });
  const { page } = await openPage(browser, srv.url, `/rooms/${room}`, { token: players.carol, viewport: { width: 1280, height: 800 } });
  await page.waitForFunction(() => document.querySelector('#conn')?.textContent === 'live');
  // Price moves, each followed by a small fill so a snapshot is taken at
  // once (a dirty room gets one within a second).
  const moves = [[1.01, 1.02, 0.98], [1.03, 1.0, 0.97], [1.0, 1.04, 1.01], [0.99, 1.05, 1.04], [1.02, 1.03, 1.06], [1.04, 1.01, 1.05]];
  for (const [i, m] of moves.entries()) {
    Object.keys(prices).forEach((s, j) => (prices[s] = Math.round(prices[s] * m[j] * 100) / 100));
    for (const [s, p] of Object.entries(prices)) await quote(s, p);
    const who = Object.keys(players)[i % 4];
    await srv.order(players[who], room, { symbol: buys[who][0], side: i % 2 ? 'SELL' : 'BUY', quantity: 1 });
    await sleep(1300);
  }
  await page.fill('#order-form input[name=quantity]', '5');
  for (const s of await page.locator('#orders tr.fills-row summary').all()) await s.click();
  await sleep(500);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
  const phone = await openPage(browser, srv.url, `/rooms/${room}`, { token: players.carol, viewport: { width: 390, height: 844 } });
  await phone.page.waitForFunction(() => document.querySelector('#conn')?.textContent === 'live' && document.querySelector('#chart canvas'));
  await sleep(500);
  await phone.page.screenshot({ path: phoneOut });
  console.log(`wrote ${phoneOut}`);
} finally {
  await browser?.close();
  await srv.close();
}
