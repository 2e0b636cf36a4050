/**
 * WebSocket close codes Gatehouse uses, clear of SocketCluster's own 4000–4009. 4100–4499: the client may reconnect
 * (with its token). 4500–4999: final; the stock client never reconnects after these, and ours does not come back
 * with the same token.
 */

/**
 * What a client does after its connection closes, by the close code's class (as the best peer clients do):
 * - `stop`: do not come back on your own (revoked, disconnected by an operator, origin not allowed, slow consumer);
 *   a new token (a login, `authenticate()`, another tab) starts again;
 * - `reauthenticate`: the session cannot go on with this token (expired, its key retired); get a fresh one, then
 *   reconnect;
 * - `retry`: reconnect with the same token (the node is shutting down, a flood limit, or the network failed);
 * - `closed`: the app closed the connection itself (1000).
 */
export type CloseAction = 'stop' | 'reauthenticate' | 'retry' | 'closed';

export interface CloseCodeInfo {
  readonly code: number;
  readonly name: string;
  readonly meaning: string;
  /** What the client does after this code; never `closed`, which is 1000's alone. */
  readonly action: Exclude<CloseAction, 'closed'>;
  /** Whether the client reconnects with the same token: the `retry` action. */
  readonly reconnect: boolean;
}

export const CloseCode = {
  ShuttingDown: 4100,
  TooManyConnections: 4101,
  HandshakeRateLimited: 4102,
  InboundBacklog: 4103,
  TokenRevoked: 4500,
  DisconnectedByAdmin: 4501,
  SlowConsumer: 4502,
  TokenExpired: 4503,
  OriginNotAllowed: 4504,
  KeyRetired: 4505,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const ROWS: readonly Omit<CloseCodeInfo, 'reconnect'>[] = [
  { code: CloseCode.ShuttingDown, name: 'ShuttingDown', action: 'retry', meaning: 'the node is shutting down; reconnect (to another node)' },
  {
    code: CloseCode.TooManyConnections,
    name: 'TooManyConnections',
    action: 'retry',
    meaning: "the client's address already has GATEHOUSE_MAX_CONNECTIONS_PER_IP connections open on this node; reconnect later, backing off",
  },
  {
    code: CloseCode.HandshakeRateLimited,
    name: 'HandshakeRateLimited',
    action: 'retry',
    meaning: "the client's address opened more than GATEHOUSE_HANDSHAKE_RATE_PER_IP connections in the last second; reconnect later, backing off",
  },
  {
    code: CloseCode.InboundBacklog,
    name: 'InboundBacklog',
    action: 'retry',
    meaning:
      'the client sent more than 256 messages (or 1 MiB) the node had not yet processed; reconnect, backing off, and wait for answers before sending more',
  },
  { code: CloseCode.TokenRevoked, name: 'TokenRevoked', action: 'stop', meaning: "the socket's token, session or user was revoked" },
  { code: CloseCode.DisconnectedByAdmin, name: 'DisconnectedByAdmin', action: 'stop', meaning: 'an operator disconnected the user' },
  { code: CloseCode.SlowConsumer, name: 'SlowConsumer', action: 'stop', meaning: 'the client read too slowly and its outbound buffer overflowed' },
  { code: CloseCode.TokenExpired, name: 'TokenExpired', action: 'reauthenticate', meaning: 'reserved: the session can no longer be renewed' },
  {
    code: CloseCode.OriginNotAllowed,
    name: 'OriginNotAllowed',
    action: 'stop',
    meaning: "the page's origin is not in GATEHOUSE_ORIGINS; the upgrade is accepted only to say so, and nothing the socket sends is read",
  },
  {
    code: CloseCode.KeyRetired,
    name: 'KeyRetired',
    action: 'reauthenticate',
    meaning: 'the key that verified the session was removed from the JWK Set (reload); get a token signed with a current key',
  },
];

export const CLOSE_CODES: readonly CloseCodeInfo[] = ROWS.map((row) => ({ ...row, reconnect: row.action === 'retry' }));

/** The action for each of Gatehouse's close codes, from the table. */
export const CLOSE_ACTIONS = Object.fromEntries(CLOSE_CODES.map((c) => [c.code, c.action])) as {
  readonly [C in CloseCode]: CloseCodeInfo['action'];
};

/**
 * What a client does after a close with `code`. Gatehouse's codes have their own action; any other code is taken by
 * its range, so a final code added later already stops the clients deployed before it:
 * - 1000: `closed` (the app closed the connection);
 * - 4500–4999: `stop` (the final range);
 * - 4000–4499: `retry` (SocketCluster's own codes and the reconnect range);
 * - anything else, 1001–3999 included: `retry`. These are the WebSocket's own codes (going away, connection lost,
 *   server error, restart) and the 3000s registered for libraries, none of which Gatehouse or SocketCluster sends
 *   to end a session.
 */
export function closeAction(code: number): CloseAction {
  if (code === 1000) return 'closed';
  const known = (CLOSE_ACTIONS as Readonly<Record<number, CloseCodeInfo['action'] | undefined>>)[code];
  if (known) return known;
  return code >= 4500 && code <= 4999 ? 'stop' : 'retry';
}
