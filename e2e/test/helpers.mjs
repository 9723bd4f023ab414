// Shared harness for the real-client compatibility tests: builds the Go
// server, starts one instance per test file on a free port with a throwaway
// SQLite database and the manual market, and offers small helpers (GraphQL
// over HTTP, users, rooms, prices, event recorders).
//
// Environment:
//   BULLPEN_E2E_BIN   use this prebuilt server binary instead of `go build`
//   BULLPEN_E2E_LOG=1 copy the server's log to stderr while the tests run

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createWriteStream, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { before, after } from 'node:test';
import WebSocket from 'ws';
import { createClient as createWsClient } from 'graphql-ws';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PASSWORD = 'password123';
export const ADMIN = 'admin';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

// ---------------------------------------------------------------- build

/** Builds the server into dir (retrying while others' edits break the build). */
export async function buildServer(dir, { deadlineMs = 180_000 } = {}) {
  if (process.env.BULLPEN_E2E_BIN) return process.env.BULLPEN_E2E_BIN;
  const bin = path.join(dir, 'bullpen');
  const deadline = Date.now() + deadlineMs;
  let lastErr;
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    try {
      await new Promise((resolve, reject) => {
        execFile('go', ['build', '-o', bin, '.'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
          if (err) reject(new Error(`go build failed (attempt ${attempt}):\n${stderr}`));
          else resolve();
        });
      });
      return bin;
    } catch (err) {
      lastErr = err;
      // The Go code is being edited concurrently: a broken build is usually brief.
      await sleep(3000);
    }
  }
  throw lastErr;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- server

let uniq = 0;
/** A username that is unique within this process and valid (3-32 chars). */
export function uniqueName(prefix) {
  uniq++;
  return `${prefix}_${process.pid.toString(36)}${uniq.toString(36)}`.slice(0, 32);
}

export class Server {
  constructor({ extraArgs = [] } = {}) {
    this.extraArgs = extraArgs;
    this.proc = null;
    this.dir = null;
    this.adminToken = null;
  }

  get url() { return `http://${this.host}/query`; }
  get wsUrl() { return `ws://${this.host}/query`; }
  get base() { return `http://${this.host}`; }

  async start() {
    this.dir = await mkdtemp(path.join(os.tmpdir(), 'bullpen-e2e-'));
    this.bin = await buildServer(this.dir);
    let lastErr;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      this.host = `127.0.0.1:${port}`;
      try {
        await this.#spawn(port, attempt);
        return this;
      } catch (err) {
        lastErr = err;
        await this.stop({ keepDir: true });
      }
    }
    throw lastErr;
  }

  async #spawn(port, attempt) {
    const logPath = path.join(this.dir, `server-${attempt}.log`);
    this.logPath = logPath;
    const log = createWriteStream(logPath);
    this.db = `sqlite:${path.join(this.dir, `x${attempt}.db`)}`;
    const args = ['-addr', `127.0.0.1:${port}`, '-db', this.db,
      '-market', 'manual', '-bcrypt-cost', '4', '-ws-init-timeout', '1s', '-keepalive', '1s',
      ...this.extraArgs];
    const proc = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    for (const s of [proc.stdout, proc.stderr]) {
      s.pipe(log, { end: false });
      if (process.env.BULLPEN_E2E_LOG) s.pipe(process.stderr, { end: false });
    }
    let gone = false;
    this.exited.then(() => { gone = true; });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (gone) throw new Error(`server exited during start-up:\n${this.logTail()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      await sleep(50);
    }
    throw new Error(`server not ready within 20s:\n${this.logTail()}`);
  }

  logTail(lines = 40) {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch { return '(no log)'; }
  }

  async stop({ keepDir = false } = {}) {
    const proc = this.proc;
    this.proc = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      // The server drains for up to 10 s; past that, kill it.
      let timer;
      const killed = await Promise.race([this.exited, new Promise((r) => { timer = setTimeout(r, 12_000, null); })]);
      clearTimeout(timer);
      if (!killed) {
        proc.kill('SIGKILL');
        await this.exited;
      }
    }
    if (!keepDir && this.dir) {
      await rm(this.dir, { recursive: true, force: true });
      this.dir = null;
    }
  }

  // ------------------------------------------------------------ GraphQL over HTTP

  /** POSTs an operation; returns the whole response body ({data, errors}). */
  async gqlRaw(query, variables = {}, token) {
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`HTTP ${res.status}: not JSON: ${text.slice(0, 500)}`);
    }
  }

  /** POSTs an operation and returns data; GraphQL errors throw (err.errors, err.code). */
  async gql(query, variables = {}, token) {
    const body = await this.gqlRaw(query, variables, token);
    if (body.errors?.length) {
      const err = new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
      err.errors = body.errors;
      err.code = body.errors[0]?.extensions?.code;
      throw err;
    }
    return body.data;
  }

  /** Signs up a fresh user (name made unique); returns {token, user}. */
  async signUpUser(name, { exact = false } = {}) {
    const username = exact ? name : uniqueName(name);
    const d = await this.gql(`mutation($in: SignUpInput!) { signUp(input: $in) { token user { id username displayName } } }`,
      { in: { username, password: PASSWORD } });
    return d.signUp;
  }

  /** Signs up a fresh user; returns the token. */
  async signUp(name) {
    return (await this.signUpUser(name)).token;
  }

  /**
   * The admin's token: "admin" signs up, and `bullpen admin grant admin`
   * gives the account the role in the server's database, as an operator
   * would (signing up under a name of -admins gives nothing).
   */
  async admin() {
    if (!this.adminToken) {
      const d = await this.gqlRaw(`mutation($in: SignUpInput!) { signUp(input: $in) { token } }`,
        { in: { username: ADMIN, password: PASSWORD } });
      if (d.data?.signUp) {
        await this.grantAdmin(ADMIN);
        this.adminToken = d.data.signUp.token;
      } else {
        const s = await this.gql(`mutation($in: SignInInput!) { signIn(input: $in) { token } }`,
          { in: { username: ADMIN, password: PASSWORD } });
        this.adminToken = s.signIn.token;
      }
    }
    return this.adminToken;
  }

  /** Runs `bullpen admin grant NAME -db <this server's database>`. */
  grantAdmin(name) {
    return new Promise((resolve, reject) => {
      execFile(this.bin, ['admin', 'grant', name, '-db', this.db], (err, stdout, stderr) => {
        if (err) reject(new Error(`bullpen admin grant ${name}: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
  }

  async setQuote(symbol, price) {
    const d = await this.gql(`mutation($s: String!, $p: Decimal!) { setQuote(symbol: $s, price: $p) { symbol price at } }`,
      { s: symbol, p: String(price) }, await this.admin());
    return d.setQuote;
  }

  async placeOrder(token, input) {
    const d = await this.gql(`mutation($in: PlaceOrderInput!) {
      placeOrder(input: $in) { id status side type quantity filledPrice limitPrice rejectReason participant { id } }
    }`, { in: input }, token);
    return d.placeOrder;
  }

  async roomState(id, token) {
    const d = await this.gql(`query($id: ID!) { bullPen(id: $id) { state lastSequence } }`, { id }, token);
    return d.bullPen;
  }

  async lastSequence(id, token) {
    return (await this.roomState(id, token)).lastSequence;
  }

  /** The room's whole event log as the given user may see it (owner: all). */
  async eventLog(id, token, afterSequence = 0) {
    const all = [];
    for (;;) {
      const d = await this.gql(`query($id: ID!, $after: Int) {
        bullPenEventLog(bullPenId: $id, afterSequence: $after, limit: 1000) { ...EventFields }
      } ${EVENT_FIELDS}`, { id, after: afterSequence }, token);
      const page = d.bullPenEventLog;
      all.push(...page);
      if (page.length < 1000) return all;
      afterSequence = page[page.length - 1].sequence;
    }
  }

  /** Owner moves the room: verb is start, pause, resume, end or cancel. */
  async move(verb, id, token) {
    const d = await this.gql(`mutation($id: ID!) { ${verb}BullPen(id: $id) { id state } }`, { id }, token);
    return d[`${verb}BullPen`];
  }

  /**
   * Signs up admin (once), owner, alice and bob (fresh names), sets AAPL,
   * creates a room, starts it (owner), waits for ACTIVE, and has alice and
   * bob join. Returns ids and tokens.
   */
  async setupRoom({ visibility = 'PUBLIC', tradeVisibility = 'PRIVATE', price = '100.00', startingCash = '100000' } = {}) {
    await this.admin();
    const [owner, alice, bob] = await Promise.all(['owner', 'alice', 'bob'].map((n) => this.signUpUser(n)));
    await this.setQuote('AAPL', price);
    const start = new Date(Date.now() + 3600_000).toISOString();
    const end = new Date(Date.now() + 7200_000).toISOString();
    const d = await this.gql(`mutation($in: CreateBullPenInput!) {
      createBullPen(input: $in) { id state inviteCode visibility tradeVisibility }
    }`, { in: { name: uniqueName('room'), startsAt: start, endsAt: end, startingCash, visibility, tradeVisibility } }, owner.token);
    const room = d.createBullPen;
    const join = async (who) => {
      const j = await this.gql(`mutation($id: ID!, $code: String) { joinBullPen(bullPenId: $id, inviteCode: $code) { id } }`,
        { id: room.id, code: room.inviteCode }, who.token);
      return { ...who, participantId: j.joinBullPen.id };
    };
    const [a, b] = await Promise.all([join(alice), join(bob)]);
    try {
      await this.move('start', room.id, owner.token);
    } catch (err) {
      if (err.code !== 'CONFLICT') throw err; // the scheduler got there first
    }
    await pollUntil(async () => (await this.roomState(room.id, owner.token)).state === 'ACTIVE', 10_000, 'room ACTIVE');
    return { id: room.id, inviteCode: room.inviteCode, owner, alice: a, bob: b, adminToken: this.adminToken };
  }
}

export const EVENT_FIELDS = `
fragment EventFields on BullPenEvent {
  __typename sequence bullPenId occurredAt
  ... on OrderEvent { kind order { id status side type quantity filledQuantity filledPrice limitPrice rejectReason participant { id } } }
  ... on PositionEvent { participantId position { symbol quantity averageCost marketPrice } }
  ... on LeaderboardEvent { snapshot { id final entries { rank participantId portfolioValue } } }
  ... on RoomStateEvent { previousState state trigger actor { username } remainingSeconds }
}`;

/** bullPenEvents(bullPenId: $id, afterSequence: $after); leave `after` out to start live. */
export const BULLPEN_EVENTS = `subscription Events($id: ID!, $after: Int) {
  bullPenEvents(bullPenId: $id, afterSequence: $after) { ...EventFields }
} ${EVENT_FIELDS}`;

/** The participant an order or position event is about, or null. */
export function eventParticipant(ev) {
  if (ev.__typename === 'OrderEvent') return ev.order.participant.id;
  if (ev.__typename === 'PositionEvent') return ev.participantId;
  return null;
}

let current = null;

/**
 * Starts a server for this test file: before() starts it, after() stops it.
 * The returned Server is also what the module-level helpers use.
 */
export function useServer(opts) {
  const s = new Server(opts);
  current = s;
  before(async () => { await s.start(); }, { timeout: 240_000 });
  after(async () => { await s.stop(); });
  return s;
}

// Module-level shorthands for the current file's server.
export const gql = (q, v, t) => current.gql(q, v, t);
export const signUp = (n) => current.signUp(n);
export const setQuote = (s, p) => current.setQuote(s, p);
export const setupRoom = (o) => current.setupRoom(o);

// ---------------------------------------------------------------- waiting

/** Polls fn until it returns truthy; rejects after timeoutMs. */
export async function pollUntil(fn, timeoutMs, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * Records what a subscription delivers: use it as a sink ({next, error,
 * complete}) or an observer. Every value is stamped with its arrival time
 * (performance.now()) in `times`.
 */
export class Recorder {
  constructor(name = 'recorder', field = null) {
    this.name = name;
    this.field = field; // unwrap {data: {[field]: value}} results
    this.values = [];
    this.times = [];
    this.errors = [];
    this.completed = false;
    this.waiters = new Set();
    this.next = this.next.bind(this);
    this.error = this.error.bind(this);
    this.complete = this.complete.bind(this);
  }

  next(v) {
    if (this.field) {
      if (v?.errors?.length) { this.errors.push(v.errors); this.#wake(); return; }
      v = v?.data?.[this.field];
    }
    this.values.push(v);
    this.times.push(now());
    this.#wake();
  }
  error(e) { this.errors.push(e); this.#wake(); }
  complete() { this.completed = true; this.#wake(); }

  #wake() { for (const w of [...this.waiters]) w(); }

  /** Resolves once pred(this) is truthy; rejects with what was seen after timeoutMs. */
  until(pred, timeoutMs = 5000, what = 'condition') {
    return new Promise((resolve, reject) => {
      const check = () => {
        let r;
        try { r = pred(this); } catch (e) { done(); reject(e); return; }
        if (r) { done(); resolve(r); }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; ` +
          `got ${this.values.length} values${this.errors.length ? `, errors ${fmtErr(this.errors)}` : ''}` +
          `${this.completed ? ', completed' : ''}: ${JSON.stringify(this.values).slice(0, 3000)}`));
      }, timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  /** The first value satisfying pred (waits for it); returns {value, at}. */
  async waitFor(pred, timeoutMs = 5000, what = 'a matching value') {
    const i = await this.until((r) => { const j = r.values.findIndex(pred); return j >= 0 ? j + 1 : 0; }, timeoutMs, what);
    return { value: this.values[i - 1], at: this.times[i - 1] };
  }

  waitCount(n, timeoutMs = 5000) {
    return this.until((r) => r.values.length >= n, timeoutMs, `${n} values`);
  }

  waitError(timeoutMs = 5000) {
    return this.until((r) => (r.errors.length ? r.errors[0] : null), timeoutMs, 'an error');
  }
}

function fmtErr(errs) {
  return JSON.stringify(errs.map((e) => (e instanceof Error ? e.message : e)));
}

/**
 * Resolves with the first n values of an async iterable, an observable
 * (subscribe({next, error, complete})) or a graphql-ws style
 * subscribe(sink) function; rejects with what it had on timeout.
 */
export function collect(source, n, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const got = [];
    let stop = () => {};
    let finished = false;
    const finish = (err) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try { stop(); } catch { /* already stopped */ }
      if (err) {
        err.values = got;
        reject(err);
      } else resolve(got);
    };
    const timer = setTimeout(() => finish(new Error(`collect: timed out after ${timeoutMs} ms with ${got.length}/${n} values: ${JSON.stringify(got).slice(0, 2000)}`)), timeoutMs);
    const onValue = (v) => {
      if (finished) return;
      got.push(v);
      if (got.length >= n) finish();
    };
    const onError = (e) => finish(Object.assign(new Error(`collect: source failed after ${got.length} values: ${e?.message ?? JSON.stringify(e)}`), { cause: e }));
    const onComplete = () => finish(got.length >= n ? null : new Error(`collect: source completed after ${got.length}/${n} values`));
    if (typeof source === 'function') {
      const un = source({ next: onValue, error: onError, complete: onComplete });
      stop = typeof un === 'function' ? un : () => un?.unsubscribe?.();
    } else if (source && typeof source[Symbol.asyncIterator] === 'function') {
      const it = source[Symbol.asyncIterator]();
      stop = () => it.return?.();
      (async () => {
        try {
          while (!finished) {
            const { value, done } = await it.next();
            if (done) { onComplete(); return; }
            onValue(value);
          }
        } catch (e) { onError(e); }
      })();
    } else if (source && typeof source.subscribe === 'function') {
      const sub = source.subscribe({ next: onValue, error: onError, complete: onComplete });
      stop = () => sub?.unsubscribe?.();
    } else {
      finish(new TypeError('collect: not an iterable, observable or subscribe function'));
    }
  });
}

/**
 * Repeats probe() until recorder holds a value matching pred: the way to
 * know a subscription without a resume point (orderUpdates, quotes) is
 * live before the test relies on it.
 */
export async function warmUp(recorder, probe, pred, { timeoutMs = 10_000, every = 400 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await probe();
    try {
      return await recorder.waitFor(pred, every, 'warm-up value');
    } catch (err) {
      if (recorder.errors.length) throw new Error(`${recorder.name}: subscription failed: ${fmtErr(recorder.errors)}`);
      if (Date.now() > deadline) throw err;
    }
  }
}

/** Asserts-free check that sequences strictly increase; returns the first offending pair or null. */
export function nonIncreasing(seqs) {
  for (let i = 1; i < seqs.length; i++) if (seqs[i] <= seqs[i - 1]) return [seqs[i - 1], seqs[i]];
  return null;
}

/** A fresh WebSocket-close waiter for a `ws` socket: resolves {code, reason, messages}. */
export function closeOf(socket) {
  const messages = [];
  socket.on('message', (data) => {
    const text = data.toString();
    try { messages.push(JSON.parse(text)); } catch { messages.push(text); }
  });
  return new Promise((resolve, reject) => {
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString(), messages }));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`unexpected HTTP ${res.statusCode}`)));
  });
}

export function withTimeout(promise, ms, what = 'operation') {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

export { sleep };

// ---------------------------------------------------------------- graphql-ws

/**
 * A graphql-ws client for token (anonymous when null), no automatic
 * retries. `closed` records close events ({code, reason}).
 */
export function wsClient(server, token, { connectionParams, ...opts } = {}) {
  const closes = [];
  const client = createWsClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: connectionParams ?? (token ? { authorization: `Bearer ${token}` } : {}),
    retryAttempts: 0,
    on: { closed: (ev) => closes.push({ code: ev?.code, reason: ev?.reason }) },
    ...opts,
  });
  client.closes = closes;
  return client;
}

/** Subscribes a graphql-ws client into a new Recorder (unwrapping data[field] when given); rec.unsubscribe stops it. */
export function record(client, name, query, variables = {}, field = null) {
  const rec = new Recorder(name, field);
  rec.unsubscribe = client.subscribe({ query, variables }, rec);
  return rec;
}
