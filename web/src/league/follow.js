import { createClient } from 'graphql-ws';
import { endpoints } from '../endpoints.js';

// followRooms watches the state of rooms (ids) over one graphql-ws
// WebSocket until stop() is called, and calls onChange whenever one of
// them changes state, and again after every (re)connect: a room may have
// ended while the socket was down or before the subscriptions were in
// place, so the caller reads the standings again then. A stream that
// completes is a room that is over; when all are, the socket closes.
//
//   onStatus(s)  'connecting' | 'live' | 'reconnecting' | 'done'
export function followRooms({ ids, token, onChange, onStatus }) {
  let stopped = false;
  let client = null;
  let wake = null;
  const url = endpoints(window.location).ws;
  const run = async () => {
    let attempt = 0;
    let open = [...ids];
    while (!stopped && open.length > 0) {
      onStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      client = createClient({
        url,
        retryAttempts: 0,
        lazy: true,
        keepAlive: 10_000,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        on: { connected: () => { attempt = 0; onStatus('live'); onChange(null); } },
      });
      const streams = open.map((id) => new Promise((resolve) => {
        client.subscribe(
          { query: 'subscription State($id: ID!) { roomStateChanged(bullPenId: $id) { state } }', variables: { id } },
          {
            next: (r) => r.data && onChange(id, r.data.roomStateChanged.state),
            error: () => resolve({ id, why: 'error' }),
            complete: () => resolve({ id, why: 'done' }),
          },
        );
      }));
      // Wait until a stream fails (the socket is gone: start over) or
      // every stream is over.
      let failed = false;
      const pending = new Set(streams);
      while (pending.size > 0 && !failed) {
        const settled = await Promise.race([...pending].map((p) => p.then((r) => ({ p, r }))));
        pending.delete(settled.p);
        if (settled.r.why === 'error') failed = true;
        else open = open.filter((id) => id !== settled.r.id);
      }
      const c = client;
      client = null;
      await c.dispose();
      if (stopped || !failed) break;
      attempt++;
      onStatus('reconnecting');
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.min(500 * 2 ** Math.min(attempt - 1, 4), 8_000));
      });
    }
    if (!stopped) onStatus('done');
  };
  run();
  return () => {
    stopped = true;
    wake?.();
    client?.dispose();
  };
}
