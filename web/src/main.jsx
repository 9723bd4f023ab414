// Monaco runs its language services in web workers; this registers the
// Vite-bundled workers (requires worker.format "es" in vite.config.js).
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createBullpenFetcher } from './fetcher.js';

// Short lines: the editor is about half of a 1280 px screen, and a comment
// line longer than that was cut off.
const DEFAULT_QUERY = `# Sign up or sign in, then put the token
# in the Headers pane (below):
# {"Authorization": "Bearer <token>"}
#
# Watch a room live at /rooms/<id>, e.g.
# /rooms/1; replay a finished one at
# /rooms/1?replay=1&speed=10, or put it on
# a projector at /rooms/1?view=board.
{
  instruments {
    symbol
    name
    price
  }
}
`;

// ?query=… and ?variables=… (URL-encoded) prefill the editors, e.g. for links
// and tests; without them GraphiQL restores its saved tabs or the default.
const params = new URLSearchParams(window.location.search);
const initialQuery = params.get('query') ?? undefined;
const initialVariables = params.get('variables') ?? undefined;

const fetcher = createBullpenFetcher(window.location);

createRoot(document.getElementById('graphiql')).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      initialQuery={initialQuery}
      initialVariables={initialVariables}
    />
  </StrictMode>,
);
