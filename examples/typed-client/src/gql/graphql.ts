/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/**
 * What an order placed while a room's market is closed does. QUEUE: it rests
 * OPEN (a MARKET order holding back quantity × the last price + commission for
 * a buy) and is worked from the first price of the next session: a MARKET order
 * fills at that price. REJECT: it is stored REJECTED with rejectReason
 * MARKET_CLOSED and a message naming the next open.
 */
export type AfterHoursPolicy =
  | 'QUEUE'
  | 'REJECT';

/** An assignment of a new room. */
export type AssignmentInput = {
  /** 1 to 100000; for MAX_DRAWDOWN_BELOW a percent, 1 to 100; for DISTINCT_SYMBOLS at most the symbols the room may trade. */
  count: number;
  kind: AssignmentKind;
  /** Required for ORDERS_OF_TYPE, refused for the other kinds. */
  orderType?: OrderType | null | undefined;
};

/**
 * What an assignment checks, of each participant:
 * - ORDERS_OF_TYPE: at least count orders of orderType FILLED (every share: a
 *   part-filled order, still working or cancelled, does not count);
 * - DISTINCT_SYMBOLS: at least count symbols held at once (long or short), at
 *   any moment of the room, replayed from their fills (and splits);
 * - NOTES_WRITTEN: at least count orders stored with a note (whatever became
 *   of them, REJECTED included);
 * - MAX_DRAWDOWN_BELOW: a maxDrawdownPercent (see PerformanceMetrics) below
 *   count percent.
 */
export type AssignmentKind =
  | 'DISTINCT_SYMBOLS'
  | 'MAX_DRAWDOWN_BELOW'
  | 'NOTES_WRITTEN'
  | 'ORDERS_OF_TYPE';

/** What a corporate action does. */
export type CorporateActionKind =
  /** Holders at the exDate are paid amountPerShare a share at the payDate (shorts pay it). */
  | 'DIVIDEND'
  /** Every share becomes ratio shares (below 1: a reverse split). */
  | 'SPLIT';

export type CreateBullPenInput = {
  /** What an order placed while the market is closed does. */
  afterHours?: AfterHoursPolicy | null | undefined;
  allowShortSelling?: boolean | null | undefined;
  allowedSymbols?: Array<string> | null | undefined;
  /**
   * At most 20 checks the room's participants are graded on (see Assignment),
   * each kind (and order type) once; errors name the field with its index
   * from 0, such as assignments[1].count. Null or left out: none.
   */
  assignments?: Array<AssignmentInput> | null | undefined;
  /** 0 to 100, at most 4 decimal places: annual fee on the market value of shorts (see BullPen.borrowFeePercent). */
  borrowFeePercent?: string | null | undefined;
  /** 0 to 100, at most 4 decimal places: annual interest on positive cash (see BullPen.cashInterestPercent). */
  cashInterestPercent?: string | null | undefined;
  commission?: string | null | undefined;
  description?: string | null | undefined;
  endsAt: string;
  /** How orders fill (see Execution); FRICTIONLESS when left out. */
  execution?: ExecutionInput | null | undefined;
  /** More than 0, at most 100: forced liquidation below this margin equity, in percent of the market value of shorts (see BullPen.maintenanceMarginPercent). */
  maintenanceMarginPercent?: string | null | undefined;
  /** 0 to 100, at most 4 decimal places: annual interest on negative cash (see BullPen.marginInterestPercent). */
  marginInterestPercent?: string | null | undefined;
  /** 1 to 100000 OPEN orders per participant. */
  maxOpenOrders?: number | null | undefined;
  /** 1 to 100000 orders per participant per minute. */
  maxOrdersPerMinute?: number | null | undefined;
  maxParticipants?: number | null | undefined;
  /** More than 0, at most 100: largest share of portfolio value one symbol may take after a buy. */
  maxPositionPercent?: string | null | undefined;
  /** 1 to 2592000 (30 days): the oldest a price may be for an order to be priced against it (see BullPen.maxQuoteAgeSeconds). */
  maxQuoteAgeSeconds?: number | null | undefined;
  /** A buy below this price is rejected. */
  minSharePrice?: string | null | undefined;
  name: string;
  rankBy?: RankMetric | null | undefined;
  /** True: every order must carry a note (see BullPen.requireNote). */
  requireNote?: boolean | null | undefined;
  startingCash?: string | null | undefined;
  /** Defaults to now. A room due already (no startsAt, or one in the past) is answered ACTIVE: it starts in the same transaction. */
  startsAt?: string | null | undefined;
  /** How teams are scored (see TeamScoring); anything but AVERAGE needs teamSize. */
  teamScoring?: TeamScoring | null | undefined;
  /** 2 to 50: the room has teams of at most this many members; null or left out: no teams. */
  teamSize?: number | null | undefined;
  tradeVisibility?: TradeVisibility | null | undefined;
  /** When the market is open (see BullPen.tradingHours); null or left out: always. */
  tradingHours?: TradingHoursInput | null | undefined;
  visibility?: Visibility | null | undefined;
};

/**
 * A room's execution model: a preset (FRICTIONLESS when left out) whose
 * values the fields given override.
 */
export type ExecutionInput = {
  preset?: ExecutionPreset | null | undefined;
  /** 0 to 100, at most 4 decimal places. */
  priceImpact?: string | null | undefined;
  /** 0 to 1000 basis points. */
  slippageBps?: number | null | undefined;
  /** 0 to 1000 basis points. */
  spreadBps?: number | null | undefined;
  /** More than 0, at most 100, at most 4 decimal places. */
  volumeLimitPercent?: string | null | undefined;
};

/**
 * A room's execution model. FRICTIONLESS: every order fills in full at the
 * last price, and pays only the commission. REALISTIC (spreadBps 10,
 * slippageBps 2, priceImpact 0.5, volumeLimitPercent 10) and THIN_BOOK (50,
 * 10, 5, 2) trade at the feed's bid and ask with those costs.
 */
export type ExecutionPreset =
  | 'FRICTIONLESS'
  | 'REALISTIC'
  | 'THIN_BOOK';

/**
 * What happened to an order. PARTIALLY_FILLED: a fill that left shares
 * working (one event per fill; FILLED for the fill that completes it).
 * LIQUIDATED: an order the system placed and filled at once on a margin
 * call (see BullPen.maintenanceMarginPercent).
 */
export type OrderEventKind =
  | 'ACCEPTED'
  | 'CANCELLED'
  | 'EXPIRED'
  | 'FILLED'
  | 'LIQUIDATED'
  | 'PARTIALLY_FILLED'
  | 'REJECTED';

export type OrderSide =
  | 'BUY'
  | 'SELL';

/**
 * Where an order is in its life. PARTIALLY_FILLED: some of its shares have
 * filled and the rest still works, as an OPEN order does (a room's
 * execution.volumeLimitPercent caps each fill): it can be cancelled, expire,
 * and holds back what the rest may need.
 */
export type OrderStatus =
  | 'CANCELLED'
  | 'EXPIRED'
  | 'FILLED'
  | 'OPEN'
  | 'PARTIALLY_FILLED'
  | 'REJECTED';

/**
 * TRAILING_STOP: a stop whose trigger (stopPrice) follows the best price since
 * the order was placed, by trailAmount or trailPercent, and that fills like a
 * triggered STOP when the price comes back through it.
 */
export type OrderType =
  | 'LIMIT'
  | 'MARKET'
  | 'STOP'
  | 'STOP_LIMIT'
  | 'TRAILING_STOP';

export type PlaceOrderInput = {
  bullPenId: string;
  /** Idempotency key per participant, at most 64 characters. */
  clientOrderId?: string | null | undefined;
  /** Resting orders only (not MARKET), in the future: an order still OPEN then becomes EXPIRED. */
  expiresAt?: string | null | undefined;
  limitPrice?: string | null | undefined;
  /**
   * The trade journal: why this order, at most 500 characters, trimmed (only
   * spaces: none). Line breaks are allowed, other control characters and
   * bidirectional controls are not. Required when the room's requireNote is
   * true. Seen as the order is.
   */
  note?: string | null | undefined;
  quantity: number;
  side: OrderSide;
  stopPrice?: string | null | undefined;
  symbol: string;
  /** TRAILING_STOP only, exactly one of trailAmount and trailPercent (more than 0, below 100). */
  trailAmount?: string | null | undefined;
  trailPercent?: string | null | undefined;
  type?: OrderType | null | undefined;
};

/** What a room's leaderboard ranks by: RETURN (portfolio value) or SHARPE (sharpeRatio, participants without one last, then portfolio value). */
export type RankMetric =
  | 'RETURN'
  | 'SHARPE';

export type RoomState =
  | 'ACTIVE'
  | 'CANCELLED'
  | 'ENDED'
  | 'PAUSED'
  | 'SCHEDULED';

export type SignInInput = {
  password: string;
  username: string;
};

export type SignUpInput = {
  displayName?: string | null | undefined;
  password: string;
  username: string;
};

export type StateTrigger =
  | 'MANUAL'
  | 'SCHEDULE';

/**
 * How a room's teams are scored, from their members' entries in one
 * leaderboard snapshot. AVERAGE: the mean of the members' returnPercent,
 * rounded half-even to 4 decimal places (as returnPercent is). SUM: the sum
 * of the members' portfolioValue. BEST: the best member's returnPercent.
 */
export type TeamScoring =
  | 'AVERAGE'
  | 'BEST'
  | 'SUM';

/** Who sees a participant's order and position events besides themselves and the owner. */
export type TradeVisibility =
  | 'PRIVATE'
  | 'PUBLIC';

/** A room's market hours (see TradingHours). */
export type TradingHoursInput = {
  /** HH:MM, after open: a session does not span midnight. */
  close: string;
  /** At least one day, each once. */
  days: Array<Weekday>;
  /** HH:MM, 24-hour, local time, such as 09:30. */
  open: string;
  /** An IANA time zone, such as America/New_York or Europe/London. */
  timeZone: string;
};

/** PRIVATE rooms need the invite code to join and are hidden from bullPens. */
export type Visibility =
  | 'PRIVATE'
  | 'PUBLIC';

/** A day of the week a room's market may open on. */
export type Weekday =
  | 'FRI'
  | 'MON'
  | 'SAT'
  | 'SUN'
  | 'THU'
  | 'TUE'
  | 'WED';

export type SignUpMutationVariables = Exact<{
  input: SignUpInput;
}>;


export type SignUpMutation = { signUp: { token: string, user: { id: string, username: string } } };

export type SignInMutationVariables = Exact<{
  input: SignInInput;
}>;


export type SignInMutation = { signIn: { token: string, user: { id: string, username: string } } };

export type CreateRoomMutationVariables = Exact<{
  input: CreateBullPenInput;
}>;


export type CreateRoomMutation = { createBullPen: { id: string, name: string, state: RoomState, startsAt: string, endsAt: string, lastSequence: number } };

export type JoinRoomMutationVariables = Exact<{
  id: string;
}>;


export type JoinRoomMutation = { joinBullPen: { id: string, cash: string } };

export type RoomQueryVariables = Exact<{
  id: string;
}>;


export type RoomQuery = { bullPen: { id: string, name: string, state: RoomState, lastSequence: number, me: { id: string, cash: string, portfolioValue: string, rank: number | null } | null, leaderboard: { takenAt: string, entries: Array<{ rank: number, portfolioValue: string, user: { username: string } }> } | null } | null };

export type PlaceOrderMutationVariables = Exact<{
  input: PlaceOrderInput;
}>;


export type PlaceOrderMutation = { placeOrder: { id: string, status: OrderStatus, side: OrderSide, symbol: string, quantity: number, filledPrice: string | null, rejectReason: string | null } };

export type RoomEventsSubscriptionVariables = Exact<{
  id: string;
  after?: number | null | undefined;
}>;


export type RoomEventsSubscription = { bullPenEvents:
    | { __typename: 'AnnouncementEvent', message: string, sequence: number, occurredAt: string }
    | { __typename: 'CorporateActionEvent', sequence: number, occurredAt: string, action: { kind: CorporateActionKind, symbol: string, ratio: string | null, amountPerShare: string | null, payDate: string | null } }
    | { __typename: 'LeaderboardEvent', sequence: number, occurredAt: string, snapshot: { takenAt: string, final: boolean, entries: Array<{ rank: number, participantId: string, portfolioValue: string }> } }
    | { __typename: 'OrderEvent', kind: OrderEventKind, sequence: number, occurredAt: string, order: { id: string, symbol: string, side: OrderSide, quantity: number, status: OrderStatus, filledPrice: string | null } }
    | { __typename: 'PositionEvent', participantId: string, sequence: number, occurredAt: string, position: { symbol: string, quantity: number, averageCost: string, marketValue: string } }
    | { __typename: 'RoomStateEvent', previousState: RoomState, state: RoomState, trigger: StateTrigger, remainingSeconds: number, sequence: number, occurredAt: string }
   };


export const SignUpDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SignUp"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SignUpInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"signUp"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"token"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}}]}}]} as unknown as DocumentNode<SignUpMutation, SignUpMutationVariables>;
export const SignInDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SignIn"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SignInInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"signIn"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"token"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"username"}}]}}]}}]}}]} as unknown as DocumentNode<SignInMutation, SignInMutationVariables>;
export const CreateRoomDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateRoom"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateBullPenInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createBullPen"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastSequence"}}]}}]}}]} as unknown as DocumentNode<CreateRoomMutation, CreateRoomMutationVariables>;
export const JoinRoomDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"JoinRoom"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"joinBullPen"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"bullPenId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"cash"}}]}}]}}]} as unknown as DocumentNode<JoinRoomMutation, JoinRoomMutationVariables>;
export const RoomDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Room"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bullPen"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"lastSequence"}},{"kind":"Field","name":{"kind":"Name","value":"me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"cash"}},{"kind":"Field","name":{"kind":"Name","value":"portfolioValue"}},{"kind":"Field","name":{"kind":"Name","value":"rank"}}]}},{"kind":"Field","name":{"kind":"Name","value":"leaderboard"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"takenAt"}},{"kind":"Field","name":{"kind":"Name","value":"entries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"rank"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"username"}}]}},{"kind":"Field","name":{"kind":"Name","value":"portfolioValue"}}]}}]}}]}}]}}]} as unknown as DocumentNode<RoomQuery, RoomQueryVariables>;
export const PlaceOrderDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"PlaceOrder"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"PlaceOrderInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"placeOrder"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"filledPrice"}},{"kind":"Field","name":{"kind":"Name","value":"rejectReason"}}]}}]}}]} as unknown as DocumentNode<PlaceOrderMutation, PlaceOrderMutationVariables>;
export const RoomEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"RoomEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bullPenEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"bullPenId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"afterSequence"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"OrderEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"order"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"side"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"filledPrice"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"PositionEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"participantId"}},{"kind":"Field","name":{"kind":"Name","value":"position"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"quantity"}},{"kind":"Field","name":{"kind":"Name","value":"averageCost"}},{"kind":"Field","name":{"kind":"Name","value":"marketValue"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"LeaderboardEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"snapshot"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"takenAt"}},{"kind":"Field","name":{"kind":"Name","value":"final"}},{"kind":"Field","name":{"kind":"Name","value":"entries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"rank"}},{"kind":"Field","name":{"kind":"Name","value":"participantId"}},{"kind":"Field","name":{"kind":"Name","value":"portfolioValue"}}]}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"RoomStateEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"previousState"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"trigger"}},{"kind":"Field","name":{"kind":"Name","value":"remainingSeconds"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CorporateActionEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"action"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"symbol"}},{"kind":"Field","name":{"kind":"Name","value":"ratio"}},{"kind":"Field","name":{"kind":"Name","value":"amountPerShare"}},{"kind":"Field","name":{"kind":"Name","value":"payDate"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"AnnouncementEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<RoomEventsSubscription, RoomEventsSubscriptionVariables>;