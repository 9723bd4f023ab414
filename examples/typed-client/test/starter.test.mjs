// Runs the starter (src/main.ts) against the real server: a new user opens
// a room on the simulated market, trades, drops its connection and resumes
// without losing an event. The server binary is built from the repository
// unless BULLPEN_BIN names one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const example = path.resolve(here, '..');
const run = promisify(execFile);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(t) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bullpen-starter-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let bin = process.env.BULLPEN_BIN;
  if (!bin) {
    bin = path.join(dir, 'bullpen');
    await run('go', ['build', '-o', bin, '.'], { cwd: root, maxBuffer: 16 << 20 });
  }
  const port = await freePort();
  const proc = spawn(bin, ['-addr', `127.0.0.1:${port}`, '-db', `sqlite:${path.join(dir, 'starter.db')}`,
    '-bcrypt-cost', '4', '-seed', '7', '-access-log=false'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (b) => { log += b; });
  proc.stderr.on('data', (b) => { log += b; });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  t.after(async () => { proc.kill('SIGTERM'); await exited; });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`server did not become ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `${url}/query`, log: () => log };
}

test('the starter signs up, opens and joins a room, trades, and resumes bullPenEvents without a gap', { timeout: 300_000 }, async (t) => {
  const srv = await startServer(t);
  const tsx = path.join(example, 'node_modules', '.bin', 'tsx');
  let out;
  try {
    out = await run(tsx, ['src/main.ts'], { cwd: example, env: { ...process.env, BULLPEN_URL: srv.url }, timeout: 120_000 });
  } catch (err) {
    assert.fail(`starter failed: ${err.message}\nstdout:\n${err.stdout}\nstderr:\n${err.stderr}\nserver:\n${srv.log()}`);
  }
  const text = out.stdout;
  assert.match(text, /^signed up starter_/m);
  assert.match(text, /^opened room \d+: ACTIVE/m);
  assert.match(text, /^placed BUY 10 AAPL: FILLED at \d/m);
  assert.match(text, /^placed SELL 5 AAPL: FILLED at \d/m);
  assert.match(text, /order \d+ FILLED: SELL 5 AAPL/, 'the sell made while disconnected was replayed');
  assert.match(text, /^ok: \d+ events, #\d+\.\.#\d+, none lost across the reconnect$/m);
});
