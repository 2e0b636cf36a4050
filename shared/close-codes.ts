/**
 * WebSocket close codes Gatehouse uses, clear of SocketCluster's own 4000–4009. 4100–4499: the client may reconnect
 * (with its token). 4500–4999: final; the stock client never reconnects after these, and ours does not come back
 * with the same token.
 */

export interface CloseCodeInfo {
  readonly code: number;
  readonly name: string;
  readonly meaning: string;
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

export const CLOSE_CODES: readonly CloseCodeInfo[] = [
  { code: CloseCode.ShuttingDown, name: 'ShuttingDown', meaning: 'the node is shutting down; reconnect (to another node)', reconnect: true },
  { code: CloseCode.TooManyConnections, name: 'TooManyConnections', meaning: 'the client\'s address already has GATEHOUSE_MAX_CONNECTIONS_PER_IP connections open on this node; reconnect later, backing off', reconnect: true },
  { code: CloseCode.HandshakeRateLimited, name: 'HandshakeRateLimited', meaning: 'the client\'s address opened more than GATEHOUSE_HANDSHAKE_RATE_PER_IP connections in the last second; reconnect later, backing off', reconnect: true },
  { code: CloseCode.InboundBacklog, name: 'InboundBacklog', meaning: 'the client sent more than 256 messages (or 1 MiB) the node had not yet processed; reconnect, backing off, and wait for answers before sending more', reconnect: true },
  { code: CloseCode.TokenRevoked, name: 'TokenRevoked', meaning: 'the socket\'s token, session or user was revoked', reconnect: false },
  { code: CloseCode.DisconnectedByAdmin, name: 'DisconnectedByAdmin', meaning: 'an operator disconnected the user', reconnect: false },
  { code: CloseCode.SlowConsumer, name: 'SlowConsumer', meaning: 'the client read too slowly and its outbound buffer overflowed', reconnect: false },
  { code: CloseCode.TokenExpired, name: 'TokenExpired', meaning: 'reserved: the session can no longer be renewed', reconnect: false },
  { code: CloseCode.OriginNotAllowed, name: 'OriginNotAllowed', meaning: 'the page\'s origin is not in GATEHOUSE_ORIGINS; the upgrade is accepted only to say so, and nothing the socket sends is read', reconnect: false },
  { code: CloseCode.KeyRetired, name: 'KeyRetired', meaning: 'the key that verified the session was removed from the JWK Set (reload); get a token signed with a current key', reconnect: false },
];

/** Whether a client should reconnect after a close with this code (ours, SocketCluster's and the standard ones). */
export function shouldReconnect(code: number): boolean {
  if (code >= 4500 && code <= 4999) return false;
  if (code === 1000) return false;
  return true;
}
