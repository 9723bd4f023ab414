// Shared by room.test.mjs and scripts/screenshot.mjs: build and run the
// server on a temporary SQLite file (and restart it on the same file),
// launch Debian's Chromium, call /query, and open pages that may load
// nothing off the server's origin.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// Server is one bullpen binary on a loopback port with its own SQLite file
// and the manual market (prices only from setQuote).
export class Server {
  async start() {
    this.work = mkdtempSync(join(tmpdir(), 'bullpen-room-'));
    this.bin = join(this.work, 'bullpen');
    execFileSync('go', ['build', '-o', this.bin, '.'], { cwd: repoRoot, stdio: 'inherit' });
    this.db = `sqlite:${join(this.work, 't.db')}`;
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    await this.run();
    return this;
  }

  async run() {
    this.logFile = join(this.work, 'server.log');
    const log = openSync(this.logFile, 'a');
    this.proc = spawn(
      this.bin,
      ['-addr', `127.0.0.1:${this.port}`, '-db', this.db, '-market', 'manual', '-bcrypt-cost', '4'],
      { cwd: this.work, stdio: ['ignore', log, log] },
    );
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`server exited with ${this.proc.exitCode}:\n${readFileSync(this.logFile, 'utf8')}`);
      try {
        if ((await fetch(`${this.url}/readyz`)).status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`server not ready within 60s:\n${readFileSync(this.logFile, 'utf8')}`);
  }

  async stop() {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (p.exitCode === null) {
      p.kill('SIGKILL');
      await exited;
    }
  }

  // restart stops the process and starts a new one on the same port and
  // database: every socket drops, nothing stored is lost.
  async restart() {
    await this.stop();
    await this.run();
  }

  async close() {
    await this.stop();
    if (this.work) rmSync(this.work, { recursive: true, force: true });
  }

  // gql runs an operation and returns its data; errors throw.
  async gql(query, variables, token) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const r = await fetch(`${this.url}/query`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = await r.json();
    if (body.errors) throw new Error(`${query.slice(0, 60)}…: ${JSON.stringify(body.errors)}`);
    return body.data;
  }

  async signUp(username, password = 'password123') {
    const d = await this.gql('mutation U($u: String!, $p: String!) { signUp(input: {username: $u, password: $p}) { token user { id } } }', { u: username, p: password });
    return d.signUp.token;
  }

  grantAdmin(username) {
    execFileSync(this.bin, ['admin', 'grant', username, '-db', this.db], { stdio: 'inherit' });
  }

  // setQuote sets a price, and optionally the bid, ask and volume with it.
  setQuote(admin, symbol, price, bid = null, ask = null, volume = null) {
    return this.gql(
      'mutation S($s: String!, $p: Decimal!, $b: Decimal, $a: Decimal, $v: Int) { setQuote(symbol: $s, price: $p, bid: $b, ask: $a, volume: $v) { price } }',
      { s: symbol, p: price, b: bid, a: ask, v: volume },
      admin,
    );
  }

  // createRoom opens a room that is ACTIVE at once and lasts an hour.
  async createRoom(owner, input = {}) {
    const d = await this.gql(
      'mutation C($in: CreateBullPenInput!) { createBullPen(input: $in) { id state } }',
      { in: { name: 'Test cup', endsAt: new Date(Date.now() + 3600_000).toISOString(), allowedSymbols: ['AAPL', 'MSFT'], ...input } },
      owner,
    );
    return d.createBullPen.id;
  }

  async join(token, roomId) {
    return (await this.gql('mutation J($id: ID!) { joinBullPen(bullPenId: $id) { id } }', { id: roomId }, token)).joinBullPen.id;
  }

  async order(token, roomId, input) {
    const d = await this.gql(
      'mutation P($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }',
      { in: { bullPenId: roomId, type: 'MARKET', ...input } },
      token,
    );
    return d.placeOrder;
  }

  // sequences lists the sequences of the room's log the token's holder
  // may see, after a sequence.
  async sequences(roomId, token, after = null) {
    const d = await this.gql(
      'query L($id: ID!, $a: Int) { bullPenEventLog(bullPenId: $id, afterSequence: $a, limit: 1000) { sequence } }',
      { id: roomId, a: after },
      token,
    );
    return d.bullPenEventLog.map((e) => e.sequence);
  }
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.BULLPEN_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

// openPage opens baseURL+path in a fresh context (with token, if given, in
// the page's localStorage) where every request off the server's origin is
// aborted and recorded in offOrigin, and uncaught errors in pageErrors;
// setup(page) runs before the page loads.
export async function openPage(browser, baseURL, path, { token, setup, viewport = { width: 1280, height: 900 } } = {}) {
  const origin = new URL(baseURL).origin;
  const context = await browser.newContext({ viewport });
  const offOrigin = [];
  const pageErrors = [];
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.protocol === 'data:' || u.protocol === 'blob:' || u.origin === origin) return route.continue();
    offOrigin.push(u.href);
    return route.abort('blockedbyclient');
  });
  if (token) await context.addInitScript((t) => localStorage.setItem('bullpen:token', t), token);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  if (setup) await setup(page);
  await page.goto(baseURL + path, { waitUntil: 'load' });
  return { context, page, offOrigin, pageErrors };
}

// Viewports the page tests use.
export const PHONE = { width: 390, height: 844 };
export const LAPTOP = { width: 1280, height: 800 };
export const SMALL_PHONE = { width: 360, height: 740 };

// overflow lists what sticks out of the viewport sideways: the document's
// own scroll width, and every element whose box passes the viewport's edge
// unless it is inside a box that scrolls (or clips) and itself fits, as a
// wide table inside its card does.
export function overflow(page) {
  return page.evaluate(() => {
    const W = window.innerWidth;
    const out = [];
    if (document.documentElement.scrollWidth > W) out.push(`document scrollWidth ${document.documentElement.scrollWidth} > ${W}`);
    const contained = (el) => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        if (!/(auto|scroll|hidden)/.test(getComputedStyle(a).overflowX)) continue;
        const r = a.getBoundingClientRect();
        if (r.left >= -0.5 && r.right <= W + 0.5) return true;
      }
      return false;
    };
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if ((r.right > W + 0.5 || r.left < -0.5) && !contained(el)) {
        out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\s+/g, '.') : ''} spans ${Math.round(r.left)}..${Math.round(r.right)} of ${W}`);
      }
    }
    return out;
  });
}
