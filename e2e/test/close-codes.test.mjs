// The graphql-transport-ws close codes (and the legacy protocol's refusal),
// provoked with a raw `ws` socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { useServer, closeOf, withTimeout, now, PASSWORD } from './helpers.mjs';

const srv = useServer();
const PROTOCOL = 'graphql-transport-ws';

/** Opens a raw socket; resolves once open. `done` resolves with {code, reason, messages} on close. */
async function open(protocol = PROTOCOL, options = {}) {
  const ws = protocol === null ? new WebSocket(srv.wsUrl, options) : new WebSocket(srv.wsUrl, protocol, options);
  const done = closeOf(ws);
  done.catch(() => {}); // observed by the caller when it matters
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
  }), 5000, 'WebSocket open');
  ws.done = done;
  return ws;
}

const send = (ws, msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
const closed = (ws, what) => withTimeout(ws.done, 5000, what);

async function initialised(token) {
  const ws = await open();
  send(ws, { type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} });
  await withTimeout(new Promise((resolve) => {
    ws.on('message', (d) => { if (JSON.parse(d.toString()).type === 'connection_ack') resolve(); });
  }), 5000, 'connection_ack');
  return ws;
}

test('4400: a message that is not JSON', async () => {
  const ws = await open();
  send(ws, 'not json');
  const { code } = await closed(ws, 'close');
  assert.equal(code, 4400);
});

test('4400: a message of unknown type', async () => {
  const ws = await initialised();
  send(ws, { type: 'bogus' });
  const { code } = await closed(ws, 'close');
  assert.equal(code, 4400);
});

test('4401: subscribe before connection_init', async () => {
  const ws = await open();
  send(ws, { id: '1', type: 'subscribe', payload: { query: 'subscription { quotes { symbol } }' } });
  const { code, messages } = await closed(ws, 'close');
  assert.equal(code, 4401);
  assert.deepEqual(messages, []);
});

test('4403: connection_init with a bad token', async () => {
  const ws = await open();
  send(ws, { type: 'connection_init', payload: { authorization: 'Bearer bogus' } });
  const { code, messages } = await closed(ws, 'close');
  assert.equal(code, 4403);
  assert.deepEqual(messages, [], 'no connection_ack');
});

test('4403 also for a bad authToken', async () => {
  const ws = await open();
  send(ws, { type: 'connection_init', payload: { authToken: 'bogus' } });
  assert.equal((await closed(ws, 'close')).code, 4403);
});

test('4403: a live socket whose session signs out is closed', async () => {
  const { token, user } = await srv.signUpUser('leaver');
  const ws = await initialised(token);
  const other = await initialised((await srv.gql(`mutation($in: SignInInput!) { signIn(input: $in) { token } }`,
    { in: { username: user.username, password: PASSWORD } })).signIn.token);
  assert.equal((await srv.gql('mutation { signOut }', {}, token)).signOut, true);
  assert.equal((await closed(ws, 'close after signOut')).code, 4403);
  assert.equal(other.readyState, WebSocket.OPEN, 'the other session\'s socket stays open');
  const again = await open();
  send(again, { type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  assert.equal((await closed(again, 'reconnect refused')).code, 4403);
  const res = await srv.gqlRaw('{ me { id } }', {}, token);
  assert.equal(res.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  other.close();
});

test('4408: no connection_init within the init timeout (1 s)', async () => {
  const t0 = now();
  const ws = await open();
  const { code } = await withTimeout(ws.done, 5000, 'init timeout close');
  const ms = now() - t0;
  assert.equal(code, 4408);
  assert.ok(ms >= 900 && ms < 4000, `closed after ${ms.toFixed(0)} ms`);
});

test('4409: two subscribe messages with the same id', async () => {
  const ws = await initialised();
  const sub = { id: 'same', type: 'subscribe', payload: { query: 'subscription { quotes(symbols: ["AAPL"]) { symbol price } }' } };
  send(ws, sub);
  send(ws, sub);
  const { code, reason } = await closed(ws, 'close');
  assert.equal(code, 4409);
  assert.match(reason, /same/);
});

test('4429: two connection_init messages', async () => {
  const ws = await initialised();
  send(ws, { type: 'connection_init', payload: {} });
  assert.equal((await closed(ws, 'close')).code, 4429);
});

test('1009: a message over 64 KiB', async () => {
  const ws = await initialised();
  send(ws, { id: '1', type: 'subscribe', payload: { query: `query { me { id } } # ${'x'.repeat(70 * 1024)}` } });
  assert.equal((await closed(ws, 'close')).code, 1009);
});

test('4406: no subprotocol', async () => {
  const ws = await open(null);
  assert.equal(ws.protocol, '');
  assert.equal((await closed(ws, 'close')).code, 4406);
});

test('4406: an unknown subprotocol (raw upgrade: the ws client itself refuses a reply without one)', async () => {
  // The server accepts the upgrade without choosing a subprotocol and closes
  // with 4406; `ws` would abort on the missing Sec-WebSocket-Protocol, so
  // read the close frame off a raw upgrade.
  const { status, protocolHeader, frame } = await rawUpgrade('graphql-foo');
  assert.equal(status, 101);
  assert.equal(protocolHeader, undefined);
  assert.equal(frame.opcode, 0x8, 'a close frame');
  assert.equal(frame.code, 4406);
});

test('a foreign Origin is refused at the upgrade (HTTP 403)', async () => {
  await assert.rejects(open(PROTOCOL, { headers: { Origin: 'https://evil.example' } }), (err) => err.status === 403);
  // Same host and localhost pages are allowed.
  const ok = await open(PROTOCOL, { headers: { Origin: `http://${srv.host}` } });
  ok.close();
  const local = await open(PROTOCOL, { headers: { Origin: 'http://localhost:3000' } });
  local.close();
});

test('connection_init, then ping gets pong (with its payload)', async () => {
  const ws = await initialised();
  const pong = withTimeout(new Promise((resolve) => {
    ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.type === 'pong') resolve(m); });
  }), 5000, 'pong');
  send(ws, { type: 'ping', payload: { n: 1 } });
  assert.deepEqual(await pong, { type: 'pong', payload: { n: 1 } });
  ws.close(1000);
  assert.equal((await closed(ws, 'close')).code, 1000);
});

test('the server pings (protocol ping) every keep-alive interval once initialised', async () => {
  const ws = await initialised();
  await withTimeout(new Promise((resolve) => {
    ws.on('message', (d) => { if (JSON.parse(d.toString()).type === 'ping') resolve(); });
  }), 5000, 'a server ping');
  ws.close(1000);
  await closed(ws, 'close');
});

test('legacy graphql-ws: a bad token gets connection_error, then close 4403', async () => {
  const ws = await open('graphql-ws');
  assert.equal(ws.protocol, 'graphql-ws');
  send(ws, { type: 'connection_init', payload: { authToken: 'bogus' } });
  const { code, messages } = await closed(ws, 'close');
  assert.equal(messages.length, 1, JSON.stringify(messages));
  assert.equal(messages[0].type, 'connection_error');
  assert.equal(code, 4403);
});

test('legacy graphql-ws: connection_ack then ka', async () => {
  const ws = await open('graphql-ws');
  const got = [];
  const two = withTimeout(new Promise((resolve) => {
    ws.on('message', (d) => { got.push(JSON.parse(d.toString()).type); if (got.length === 2) resolve(); });
  }), 5000, 'ack and ka');
  send(ws, { type: 'connection_init', payload: {} });
  await two;
  assert.deepEqual(got, ['connection_ack', 'ka']);
  send(ws, { type: 'connection_terminate' });
  assert.equal((await closed(ws, 'close')).code, 1000);
});

/** A WebSocket upgrade by hand: returns the status, the subprotocol header and the first frame. */
function rawUpgrade(protocol) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request(srv.url, {
      headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': protocol,
      },
    });
    req.on('upgrade', (res, socket, head) => {
      let buf = head;
      const tryParse = () => {
        if (buf.length < 2) return;
        const opcode = buf[0] & 0x0f;
        const len = buf[1] & 0x7f; // close frames are short
        if (buf.length < 2 + len) return;
        const payload = buf.subarray(2, 2 + len);
        socket.destroy();
        resolve({ status: res.statusCode, protocolHeader: res.headers['sec-websocket-protocol'], frame: { opcode, code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() } });
      };
      socket.on('data', (d) => { buf = Buffer.concat([buf, d]); tryParse(); });
      socket.on('error', reject);
      tryParse();
    });
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  }), 5000, 'raw upgrade');
}
