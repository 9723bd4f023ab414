// Headless-browser test of the embedded GraphiQL page.
//
//   npm test                       builds the server from the repo root (..),
//                                  starts it on a free port and stops it after
//   BULLPEN_URL=http://127.0.0.1:8080 npm test
//                                  uses a running server instead (it must run
//                                  with -market manual, and its account
//                                  "admin" must hold the admin role:
//                                  bullpen admin grant admin -db …)
//
// Chromium is Debian's (/usr/bin/chromium, or BULLPEN_CHROMIUM); Playwright
// never downloads a browser here. Every request that is not to the server's
// own origin is aborted and recorded, and the test fails if there was one:
// the page must work offline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const SCREENSHOT = process.env.BULLPEN_SCREENSHOT || '/tmp/graphiql.png';

let baseURL;
let server; // child process when we started the server
let work; // temp dir when we started the server
let bin; // the server binary when we built it
let browser;

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitReady(url, proc, logFile) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) {
      throw new Error(`server exited with ${proc.exitCode}:\n${readFileSync(logFile, 'utf8')}`);
    }
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${url}/readyz not 200 within 60s` + (logFile ? `:\n${readFileSync(logFile, 'utf8')}` : ''));
}

before(async () => {
  if (process.env.BULLPEN_URL) {
    baseURL = process.env.BULLPEN_URL.replace(/\/+$/, '');
  } else {
    work = mkdtempSync(join(tmpdir(), 'bullpen-graphiql-'));
    bin = join(work, 'bullpen');
    execFileSync('go', ['build', '-o', bin, '.'], { cwd: repoRoot, stdio: 'inherit' });
    const port = await freePort();
    const logFile = join(work, 'server.log');
    const log = openSync(logFile, 'a');
    server = spawn(
      bin,
      ['-addr', `127.0.0.1:${port}`, '-db', `sqlite:${join(work, 't.db')}`, '-market', 'manual', '-bcrypt-cost', '4'],
      { cwd: work, stdio: ['ignore', log, log] },
    );
    baseURL = `http://127.0.0.1:${port}`;
    await waitReady(baseURL, server, logFile);
  }
  await waitReady(baseURL);
  browser = await chromium.launch({
    executablePath: process.env.BULLPEN_CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

// openPage opens path in a fresh browser context (empty localStorage) where
// every request off the server's origin is aborted and recorded.
async function openPage(path) {
  const origin = new URL(baseURL).origin;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const offOrigin = [];
  const pageErrors = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    const u = new URL(url);
    if (u.protocol === 'data:' || u.protocol === 'blob:' || u.origin === origin) {
      return route.continue();
    }
    if (!offOrigin.includes(url)) offOrigin.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('request', (req) => {
    const u = new URL(req.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== origin && !offOrigin.includes(req.url())) {
      offOrigin.push(req.url());
    }
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const sockets = [];
  page.on('websocket', (ws) => {
    const rec = { url: ws.url(), sent: [], received: [], closed: false };
    sockets.push(rec);
    ws.on('framesent', (f) => rec.sent.push(String(f.payload)));
    ws.on('framereceived', (f) => rec.received.push(String(f.payload)));
    ws.on('close', () => (rec.closed = true));
  });
  await page.goto(baseURL + path, { waitUntil: 'load' });
  // GraphiQL rendered: its container and the Monaco operation editor.
  try {
    await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
    await page.waitForSelector('.graphiql-query-editor .monaco-editor .view-lines', { timeout: 30_000 });
  } catch (err) {
    const title = await page.title().catch(() => '?');
    throw new Error(
      `GraphiQL did not render at ${baseURL + path} (title ${JSON.stringify(title)}); ` +
        `blocked off-origin requests: ${JSON.stringify(offOrigin)}; page errors: ${JSON.stringify(pageErrors)}`,
      { cause: err },
    );
  }
  return { context, page, offOrigin, pageErrors, sockets };
}

const paneText = (page, selector) =>
  page.evaluate((sel) => (document.querySelector(sel)?.textContent ?? '').replace(/\u00a0/g, ' '), selector);
const responseText = (page) => paneText(page, '.graphiql-response');
const queryText = (page) => paneText(page, '.graphiql-query-editor');

async function waitForResponse(page, needle, timeout = 15_000) {
  try {
    await page.waitForFunction(
      (n) => (document.querySelector('.graphiql-response')?.textContent ?? '').includes(n),
      needle,
      { timeout, polling: 100 },
    );
  } catch (err) {
    throw new Error(`response pane never showed ${JSON.stringify(needle)}; it shows:\n${await responseText(page)}`, { cause: err });
  }
}

function executeButton(page) {
  return page.locator('.graphiql-execute-button, button[aria-label*="Execute"]').first();
}

async function gql(query, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`${baseURL}/query`, { method: 'POST', headers, body: JSON.stringify({ query }) });
  const body = await r.json();
  return body;
}

test('GraphiQL renders offline, from the embedded bundle only', async () => {
  const { context, page, offOrigin, pageErrors } = await openPage('/');
  try {
    assert.equal(await page.title(), 'Bullpen GraphiQL');
    // The default operation is in the editor.
    await page.waitForFunction(() => document.querySelector('.graphiql-query-editor')?.textContent.includes('instruments'), null, { timeout: 15_000 });
    // At 1280 px every line of the starter comment fits in the editor (no
    // line runs under its edge or the scrollbar).
    await page.waitForFunction(() => document.querySelector('.graphiql-query-editor')?.textContent.includes('view=board'), null, { timeout: 15_000 });
    const cut = await page.evaluate(() => {
      const editor = document.querySelector('.graphiql-query-editor .monaco-editor');
      const scrollbar = editor.querySelector('.scrollbar.vertical');
      const edge = (scrollbar ?? editor).getBoundingClientRect()[scrollbar ? 'left' : 'right'];
      return [...editor.querySelectorAll('.view-line')]
        .filter((line) => line.firstElementChild && line.firstElementChild.getBoundingClientRect().right > edge)
        .map((line) => line.textContent.replace(/\u00a0/g, ' '));
    });
    assert.deepEqual(cut, [], 'starter lines cut off at 1280 px');
    // The schema was introspected (the docs explorer button is there and the
    // execute button is enabled).
    await executeButton(page).waitFor({ state: 'visible' });
    await page.waitForTimeout(500); // let workers and lazy chunks load
    assert.deepEqual(offOrigin, [], 'requests off the server origin were attempted');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});

test('a query from ?query= runs and shows its result', async () => {
  const query = '{ instruments { symbol } }';
  const { context, page, offOrigin, pageErrors } = await openPage('/?query=' + encodeURIComponent(query));
  try {
    await page.waitForFunction(() => document.querySelector('.graphiql-query-editor')?.textContent.includes('instruments'), null, { timeout: 15_000 });
    assert.match(await queryText(page), /\{ instruments \{ symbol \} \}/);
    await executeButton(page).click();
    await waitForResponse(page, 'AAPL');
    await page.screenshot({ path: SCREENSHOT });
    assert.deepEqual(offOrigin, [], 'requests off the server origin were attempted');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});

test('?variables= prefills the variables editor', async () => {
  const query = 'query Q($s: String!) { quote(symbol: $s) { symbol } }';
  const variables = JSON.stringify({ s: 'AAPL' });
  const { context, page, offOrigin, pageErrors } = await openPage(
    `/?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(variables)}`,
  );
  try {
    // With variables given, GraphiQL opens the Variables pane.
    await page.waitForFunction(
      () => (document.querySelector('.graphiql-editor-tool')?.textContent ?? '').replace(/\u00a0/g, ' ').includes('"s":"AAPL"'),
      null,
      { timeout: 15_000 },
    );
    await executeButton(page).click();
    await waitForResponse(page, '"data"');
    assert.doesNotMatch(await responseText(page), /"errors"/);
    assert.deepEqual(offOrigin, [], 'requests off the server origin were attempted');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});

test('a subscription runs over WebSocket with the Headers pane token', async () => {
  let auth = await gql('mutation { signUp(input:{username:"admin", password:"password123"}) { token } }');
  if (auth.errors) {
    // A reused server (BULLPEN_URL) may know admin already.
    auth = await gql('mutation { signIn(input:{username:"admin", password:"password123"}) { token } }');
  }
  assert.ok(auth.data?.signUp?.token || auth.data?.signIn?.token, `no token: ${JSON.stringify(auth)}`);
  const token = auth.data.signUp?.token ?? auth.data.signIn.token;
  if (bin && auth.data.signUp) {
    // The role is granted to an existing account, as an operator does.
    execFileSync(bin, ['admin', 'grant', 'admin', '-db', `sqlite:${join(work, 't.db')}`], { stdio: 'inherit' });
  }

  const subscription = 'subscription { quotes(symbols: ["AAPL"]) { symbol price } }';
  const { context, page, offOrigin, pageErrors, sockets } = await openPage('/?query=' + encodeURIComponent(subscription));
  try {
    await page.waitForFunction(() => document.querySelector('.graphiql-query-editor')?.textContent.includes('quotes'), null, { timeout: 15_000 });

    // Type the token into the Headers pane as a person would.
    await page.getByRole('button', { name: /^headers$/i }).click();
    const headers = page.locator('.graphiql-editor-tool .monaco-editor').last();
    await headers.waitFor({ state: 'visible' });
    await headers.click();
    await page.keyboard.press('ControlOrMeta+KeyA');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));
    await page.waitForFunction(
      (t) => (document.querySelector('.graphiql-editor-tool')?.textContent ?? '').replace(/\u00a0/g, ' ').includes(t),
      token.slice(-12),
      { timeout: 5_000 },
    );

    await executeButton(page).click();

    // The socket is same-origin ws(s)://…/query and its connection_init
    // carries the token from the Headers pane.
    const wsURL = new URL(baseURL);
    wsURL.protocol = wsURL.protocol === 'https:' ? 'wss:' : 'ws:';
    wsURL.pathname = '/query';
    const deadline = Date.now() + 10_000;
    let sock;
    while (Date.now() < deadline) {
      sock = sockets.find((s) => s.sent.some((m) => m.includes('"subscribe"')));
      if (sock) break;
      await sleep(100);
    }
    assert.ok(sock, `no graphql-ws subscribe frame was sent; sockets: ${JSON.stringify(sockets)}; response pane:\n${await responseText(page)}`);
    assert.equal(sock.url, wsURL.href);
    const init = JSON.parse(sock.sent.find((m) => m.includes('connection_init')));
    assert.equal(init.payload?.authorization, `Bearer ${token}`);

    // The server may register the subscriber a moment after the subscribe
    // frame, so set the price until the event shows (bounded), nudging it
    // in between so that every try is a change.
    let shown = false;
    for (let i = 0; i < 10 && !shown; i++) {
      if (i > 0) {
        const nudge = await gql('mutation { setQuote(symbol: "AAPL", price: "123.00") { price } }', token);
        assert.equal(nudge.errors, undefined, JSON.stringify(nudge.errors));
      }
      const set = await gql('mutation { setQuote(symbol: "AAPL", price: "123.45") { price } }', token);
      assert.equal(set.errors, undefined, JSON.stringify(set.errors));
      try {
        await waitForResponse(page, '123.45', 1_500);
        shown = true;
      } catch (err) {
        if (i === 9) throw new Error(`${err.message}\nWebSocket frames: ${JSON.stringify(sockets)}`);
      }
    }
    assert.match(await responseText(page), /"symbol": "AAPL"/);
    await page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, '-subscription.png') });
    assert.deepEqual(offOrigin, [], 'requests off the server origin were attempted');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } finally {
    await context.close();
  }
});

// A frontend on another origin (here the page is served from 127.0.0.1 and
// calls localhost: a different origin to the browser, as a dev server on
// :5173 would be) may call /query with fetch and open a WebSocket: real
// Chromium enforces CORS, which Node clients do not.
test('a browser app on another local origin can fetch /query (CORS) and subscribe', async () => {
  const other = baseURL.replace('127.0.0.1', 'localhost');
  if (other === baseURL) return; // BULLPEN_URL already uses localhost: nothing to cross
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(baseURL + '/schema.graphql');
    const result = await page.evaluate(async (url) => {
      // application/json makes both requests preflighted.
      const r = await fetch(url + '/query', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: '{ instruments { symbol } }' }),
      });
      const body = await r.json();
      // A bad token is refused, and the page can read why.
      const bad = await fetch(url + '/query', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-a-token' },
        body: JSON.stringify({ query: '{ instruments { symbol } }' }),
      });
      const badBody = await bad.json();
      const ws = await new Promise((resolve) => {
        const sock = new WebSocket(url.replace('http', 'ws') + '/query', 'graphql-transport-ws');
        sock.onopen = () => sock.send(JSON.stringify({ type: 'connection_init' }));
        sock.onmessage = (e) => { resolve(JSON.parse(e.data).type); sock.close(); };
        sock.onerror = () => resolve('error');
      });
      return { status: r.status, symbols: (body.data?.instruments ?? []).length, ws,
        badStatus: bad.status, badCode: badBody.errors?.[0]?.extensions?.code, badData: 'data' in badBody };
    }, other);
    assert.equal(result.status, 200);
    assert.equal(result.badStatus, 401, JSON.stringify(result));
    assert.equal(result.badCode, 'UNAUTHENTICATED', JSON.stringify(result));
    assert.equal(result.badData, false, JSON.stringify(result));
    assert.ok(result.symbols >= 28, JSON.stringify(result));
    assert.equal(result.ws, 'connection_ack');
  } finally {
    await context.close();
  }
});
