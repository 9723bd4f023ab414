// Following a room without gaps: remember the sequence of the last event
// handled and, after any disconnect, subscribe again with afterSequence set
// to it. The server replays what was missed, then goes on live, with no
// gap and no duplicate.
import type { Bullpen } from './client.js';
import type { RoomEventsSubscription } from './gql/graphql.js';
import { RoomEvents } from './operations.js';

export type RoomEvent = RoomEventsSubscription['bullPenEvents'];

export interface Follower {
  /** Sequence of the last event handed to onEvent. */
  readonly lastSequence: number;
  stop(): void;
}

export function followRoom(
  conn: Bullpen,
  roomId: string,
  afterSequence: number,
  onEvent: (e: RoomEvent) => void,
  onError: (e: unknown) => void = console.error,
): Follower {
  let last = afterSequence;
  const { unsubscribe } = conn.urql
    .subscription(RoomEvents, { id: roomId, after: afterSequence })
    .subscribe((result) => {
      if (result.error) {
        onError(result.error);
        return;
      }
      const e = result.data?.bullPenEvents;
      if (!e || e.sequence <= last) return; // never twice
      last = e.sequence;
      onEvent(e);
    });
  return {
    get lastSequence() { return last; },
    stop: unsubscribe,
  };
}

/** A one-line description of an event; the switch is exhaustive on __typename. */
export function describe(e: RoomEvent): string {
  switch (e.__typename) {
    case 'OrderEvent':
      return `#${e.sequence} order ${e.order.id} ${e.kind}: ${e.order.side} ${e.order.quantity} ${e.order.symbol}${e.order.filledPrice ? ` at ${e.order.filledPrice}` : ''}`;
    case 'PositionEvent':
      return `#${e.sequence} position of ${e.participantId}: ${e.position.quantity} ${e.position.symbol} (avg ${e.position.averageCost})`;
    case 'LeaderboardEvent':
      return `#${e.sequence} leaderboard${e.snapshot.final ? ' (final)' : ''}: ${e.snapshot.entries.map((x) => `${x.rank}. ${x.participantId} ${x.portfolioValue}`).join(', ')}`;
    case 'RoomStateEvent':
      return `#${e.sequence} room ${e.previousState} -> ${e.state} (${e.trigger}), ${e.remainingSeconds}s left`;
    case 'CorporateActionEvent':
      return `#${e.sequence} ${e.action.kind} of ${e.action.symbol}: ` +
        (e.action.kind === 'SPLIT' ? `ratio ${e.action.ratio}` : `${e.action.amountPerShare} a share, paid ${e.action.payDate}`);
    case 'AnnouncementEvent':
      return `#${e.sequence} organiser: ${e.message}`;
  }
}
