// Automatic persisted queries with Apollo Client's own link
// (@apollo/client/link/persisted-queries): hash first, the query only when
// the server does not know the hash, then hashes alone, over POST and GET.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { useServer } from './helpers.mjs';

const srv = useServer();
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** An Apollo client whose every request is recorded as {method, query, hash}. */
function apqClient({ token, useGET = false } = {}) {
  const requests = [];
  const recordingFetch = async (uri, init) => {
    const u = new URL(uri);
    let body = {};
    if (init.method === 'GET') {
      body = { query: u.searchParams.get('query') ?? undefined, extensions: JSON.parse(u.searchParams.get('extensions') ?? '{}') };
    } else {
      body = JSON.parse(init.body);
    }
    requests.push({ method: init.method, query: body.query, hash: body.extensions?.persistedQuery?.sha256Hash });
    return fetch(uri, init);
  };
  const http = new HttpLink({ uri: srv.url, fetch: recordingFetch, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries: useGET }).concat(http);
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return { client, requests };
}

test('Apollo PersistedQueryLink: unknown hash, then query and hash, then the hash alone', async () => {
  const INSTRUMENTS = gql`query ApqInstruments { instruments { symbol name } }`;
  const first = apqClient();
  const r1 = await first.client.query({ query: INSTRUMENTS, fetchPolicy: 'network-only' });
  assert.ok(r1.data.instruments.some((i) => i.symbol === 'AAPL'), JSON.stringify(r1.data));
  assert.equal(first.requests.length, 2, JSON.stringify(first.requests));
  assert.equal(first.requests[0].query, undefined, 'the first request carries only the hash');
  assert.match(first.requests[0].hash, /^[0-9a-f]{64}$/);
  assert.ok(first.requests[1].query.includes('instruments'), 'after PersistedQueryNotFound the query is sent with its hash');
  assert.equal(first.requests[1].hash, first.requests[0].hash);

  // Another client (another page, say): the server knows the hash now.
  const second = apqClient();
  const r2 = await second.client.query({ query: INSTRUMENTS, fetchPolicy: 'network-only' });
  assert.deepEqual(r2.data, r1.data);
  assert.deepEqual(second.requests.map((r) => [r.method, r.query]), [['POST', undefined]]);
});

test('Apollo PersistedQueryLink with useGETForHashedQueries: a GET with the hash alone', async () => {
  const token = await srv.signUp('apq');
  const ME = gql`query ApqMe { me { username } }`;
  const c = apqClient({ token, useGET: true });
  const r1 = await c.client.query({ query: ME, fetchPolicy: 'network-only' });
  assert.match(r1.data.me.username, /^apq_/);
  // Apollo sends the query itself by POST (a long query would not fit a URL).
  assert.deepEqual(c.requests.map((r) => [r.method, r.query === undefined]), [['GET', true], ['POST', false]],
    'GET with the hash, not found, then POST with the query');
  c.requests.length = 0;
  const r2 = await c.client.query({ query: ME, fetchPolicy: 'network-only' });
  assert.deepEqual(r2.data, r1.data);
  assert.deepEqual(c.requests.map((r) => [r.method, r.query === undefined]), [['GET', true]]);
});

test('Apollo PersistedQueryLink: mutations go by POST with their hash', async () => {
  const SIGN_UP = gql`mutation ApqSignUp($in: SignUpInput!) { signUp(input: $in) { user { username } } }`;
  const c = apqClient({ useGET: true });
  for (const name of ['apq_m1', 'apq_m2']) {
    const username = `${name}_${process.pid.toString(36)}`;
    const r = await c.client.mutate({ mutation: SIGN_UP, variables: { in: { username, password: 'password123' } } });
    assert.equal(r.data.signUp.user.username, username);
  }
  assert.ok(c.requests.every((r) => r.method === 'POST'), JSON.stringify(c.requests));
  assert.equal(c.requests.at(-1).query, undefined, 'the second mutation sends its hash alone');
});

test('a hash that does not match its query is refused; an unknown one says PersistedQueryNotFound', async () => {
  const post = (body) => fetch(srv.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
  const bad = await post({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ me { id } }') } } });
  assert.equal(bad.data, undefined);
  assert.match(bad.errors[0].message, /hash does not match/);
  const unknown = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ nobody sent this }') } } });
  assert.equal(unknown.errors[0].message, 'PersistedQueryNotFound');
  assert.equal(unknown.errors[0].extensions.code, 'BAD_USER_INPUT');
  assert.equal(unknown.errors[0].extensions.reason, 'PERSISTED_QUERY_NOT_FOUND');
});
