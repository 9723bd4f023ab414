/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) { token user { id username } }\n  }\n": typeof types.SignUpDocument,
    "\n  mutation SignIn($input: SignInInput!) {\n    signIn(input: $input) { token user { id username } }\n  }\n": typeof types.SignInDocument,
    "\n  mutation CreateRoom($input: CreateBullPenInput!) {\n    createBullPen(input: $input) { id name state startsAt endsAt lastSequence }\n  }\n": typeof types.CreateRoomDocument,
    "\n  mutation JoinRoom($id: ID!) {\n    joinBullPen(bullPenId: $id) { id cash }\n  }\n": typeof types.JoinRoomDocument,
    "\n  query Room($id: ID!) {\n    bullPen(id: $id) {\n      id name state lastSequence\n      me { id cash portfolioValue rank }\n      leaderboard { takenAt entries { rank user { username } portfolioValue } }\n    }\n  }\n": typeof types.RoomDocument,
    "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) { id status side symbol quantity filledPrice rejectReason }\n  }\n": typeof types.PlaceOrderDocument,
    "\n  subscription RoomEvents($id: ID!, $after: Int) {\n    bullPenEvents(bullPenId: $id, afterSequence: $after) {\n      __typename\n      sequence\n      occurredAt\n      ... on OrderEvent { kind order { id symbol side quantity status filledPrice } }\n      ... on PositionEvent { participantId position { symbol quantity averageCost marketValue } }\n      ... on LeaderboardEvent { snapshot { takenAt final entries { rank participantId portfolioValue } } }\n      ... on RoomStateEvent { previousState state trigger remainingSeconds }\n      ... on CorporateActionEvent { action { kind symbol ratio amountPerShare payDate } }\n      ... on AnnouncementEvent { message }\n    }\n  }\n": typeof types.RoomEventsDocument,
};
const documents: Documents = {
    "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) { token user { id username } }\n  }\n": types.SignUpDocument,
    "\n  mutation SignIn($input: SignInInput!) {\n    signIn(input: $input) { token user { id username } }\n  }\n": types.SignInDocument,
    "\n  mutation CreateRoom($input: CreateBullPenInput!) {\n    createBullPen(input: $input) { id name state startsAt endsAt lastSequence }\n  }\n": types.CreateRoomDocument,
    "\n  mutation JoinRoom($id: ID!) {\n    joinBullPen(bullPenId: $id) { id cash }\n  }\n": types.JoinRoomDocument,
    "\n  query Room($id: ID!) {\n    bullPen(id: $id) {\n      id name state lastSequence\n      me { id cash portfolioValue rank }\n      leaderboard { takenAt entries { rank user { username } portfolioValue } }\n    }\n  }\n": types.RoomDocument,
    "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) { id status side symbol quantity filledPrice rejectReason }\n  }\n": types.PlaceOrderDocument,
    "\n  subscription RoomEvents($id: ID!, $after: Int) {\n    bullPenEvents(bullPenId: $id, afterSequence: $after) {\n      __typename\n      sequence\n      occurredAt\n      ... on OrderEvent { kind order { id symbol side quantity status filledPrice } }\n      ... on PositionEvent { participantId position { symbol quantity averageCost marketValue } }\n      ... on LeaderboardEvent { snapshot { takenAt final entries { rank participantId portfolioValue } } }\n      ... on RoomStateEvent { previousState state trigger remainingSeconds }\n      ... on CorporateActionEvent { action { kind symbol ratio amountPerShare payDate } }\n      ... on AnnouncementEvent { message }\n    }\n  }\n": types.RoomEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) { token user { id username } }\n  }\n"): (typeof documents)["\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) { token user { id username } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignIn($input: SignInInput!) {\n    signIn(input: $input) { token user { id username } }\n  }\n"): (typeof documents)["\n  mutation SignIn($input: SignInInput!) {\n    signIn(input: $input) { token user { id username } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRoom($input: CreateBullPenInput!) {\n    createBullPen(input: $input) { id name state startsAt endsAt lastSequence }\n  }\n"): (typeof documents)["\n  mutation CreateRoom($input: CreateBullPenInput!) {\n    createBullPen(input: $input) { id name state startsAt endsAt lastSequence }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation JoinRoom($id: ID!) {\n    joinBullPen(bullPenId: $id) { id cash }\n  }\n"): (typeof documents)["\n  mutation JoinRoom($id: ID!) {\n    joinBullPen(bullPenId: $id) { id cash }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Room($id: ID!) {\n    bullPen(id: $id) {\n      id name state lastSequence\n      me { id cash portfolioValue rank }\n      leaderboard { takenAt entries { rank user { username } portfolioValue } }\n    }\n  }\n"): (typeof documents)["\n  query Room($id: ID!) {\n    bullPen(id: $id) {\n      id name state lastSequence\n      me { id cash portfolioValue rank }\n      leaderboard { takenAt entries { rank user { username } portfolioValue } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) { id status side symbol quantity filledPrice rejectReason }\n  }\n"): (typeof documents)["\n  mutation PlaceOrder($input: PlaceOrderInput!) {\n    placeOrder(input: $input) { id status side symbol quantity filledPrice rejectReason }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RoomEvents($id: ID!, $after: Int) {\n    bullPenEvents(bullPenId: $id, afterSequence: $after) {\n      __typename\n      sequence\n      occurredAt\n      ... on OrderEvent { kind order { id symbol side quantity status filledPrice } }\n      ... on PositionEvent { participantId position { symbol quantity averageCost marketValue } }\n      ... on LeaderboardEvent { snapshot { takenAt final entries { rank participantId portfolioValue } } }\n      ... on RoomStateEvent { previousState state trigger remainingSeconds }\n      ... on CorporateActionEvent { action { kind symbol ratio amountPerShare payDate } }\n      ... on AnnouncementEvent { message }\n    }\n  }\n"): (typeof documents)["\n  subscription RoomEvents($id: ID!, $after: Int) {\n    bullPenEvents(bullPenId: $id, afterSequence: $after) {\n      __typename\n      sequence\n      occurredAt\n      ... on OrderEvent { kind order { id symbol side quantity status filledPrice } }\n      ... on PositionEvent { participantId position { symbol quantity averageCost marketValue } }\n      ... on LeaderboardEvent { snapshot { takenAt final entries { rank participantId portfolioValue } } }\n      ... on RoomStateEvent { previousState state trigger remainingSeconds }\n      ... on CorporateActionEvent { action { kind symbol ratio amountPerShare payDate } }\n      ... on AnnouncementEvent { message }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;