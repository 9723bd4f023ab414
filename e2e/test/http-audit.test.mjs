// The GraphQL-over-HTTP spec's own audit suite (graphql-http's
// serverAudits) against POST/GET /query: every MUST, SHOULD and MAY audit
// must pass, one test per audit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAudits } from 'graphql-http';
import { useServer } from './helpers.mjs';

const srv = useServer();

// The server's port is known only once before() has started it.
const audits = serverAudits({ url: () => srv.url, fetchFn: fetch });

for (const audit of audits) {
  test(`${audit.id} ${audit.name}`, async () => {
    const result = await audit.fn();
    if (result.status === 'ok') return;
    let body = '';
    if (result.response) {
      try {
        body = (await result.response.text()).slice(0, 500);
      } catch { /* body already read by the audit */ }
    }
    assert.fail(`${result.status}: ${result.reason}` +
      (result.response ? ` (HTTP ${result.response.status}, Content-Type ${result.response.headers.get('content-type')}, body ${body})` : ''));
  });
}
