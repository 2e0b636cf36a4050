/** Names on the wire between the gateway and its clients. */

export const Procedure = {
  Login: 'login',
  Logout: 'logout',
} as const;
export type Procedure = (typeof Procedure)[keyof typeof Procedure];

export const ServerEvent = {
  /**
   * Sent when the gateway will not renew the token itself; payload {@link TokenExpiry}, `expiryWarningSeconds` (a
   * quarter of the token's lifetime, at most 60 s) before it expires.
   */
  AuthExpiring: 'gatehouse:authExpiring',
  /**
   * Sent whenever a socket's token is set or renewed (handshake, authenticate, login, renewal); payload
   * {@link TokenExpiry}. A client schedules from `expiresIn`, never from its own clock.
   */
  TokenExpiry: 'gatehouse:tokenExpiry',
  /**
   * Sent just before the gateway deauthenticates a socket itself (before its `#removeAuthToken`), payload
   * `{reason}`: {@link DeauthenticationReason}. A client cannot otherwise tell a revocation from an expiry.
   */
  Deauthenticated: 'gatehouse:deauthenticated',
  /**
   * Sent to every socket of a user once the backend changed that user's grants (`PUT`/`DELETE /admin/grants/{sub}`),
   * after the kick-outs the change caused; payload {@link GrantsChanged}.
   */
  GrantsChanged: 'gatehouse:grantsChanged',
} as const;

/** The version of the grants now in force for the socket's user (the backend's number; that of a DELETE too). */
export interface GrantsChanged {
  readonly version: number;
}

/**
 * Why the gateway ended a subscription (the `message` of SocketCluster's `#kickOut`): `authentication-changed` (a
 * logout, an expiry, a renewed token with fewer channels) or `grants-changed` (the backend changed the user's grants).
 */
export type KickReason = 'authentication-changed' | 'grants-changed';

/** The `#kickOut` message sent for each reason; the client maps it back to the reason. */
export const KICK_MESSAGES: { readonly [R in KickReason]: string } = {
  'authentication-changed': 'Your authentication no longer grants this channel',
  'grants-changed': 'Your grants changed: this channel is no longer granted',
};

/**
 * Why the gateway deauthenticated a socket: `logout` (its own logout), `revoked` (its token, session or user was
 * revoked; the close 4500 follows), `expired` (its token lapsed), `session-ended` (the session reached
 * GATEHOUSE_SESSION_MAX_AGE, so it was not renewed).
 */
export type DeauthenticationReason = 'logout' | 'revoked' | 'expired' | 'session-ended';

/** How long a socket's token has left, as the gateway sees it. */
export interface TokenExpiry {
  /** The token's `exp`, Unix seconds (which token this is about). */
  readonly exp: number;
  /** Seconds the token has left by the gateway's clock, to the millisecond. */
  readonly expiresIn: number;
}

/** Largest signed token the gateway will parse, in bytes. */
export const MAX_TOKEN_BYTES = 8192;
/** Longest `sub`, in characters. */
export const MAX_SUB_LENGTH = 128;
/**
 * Longest `jti` and `sid`, in characters. Verification, the admin API and both revocation stores hold to it, so any
 * token the gateway accepts can be revoked by each of its ids (Redis refused keys past 1 KiB, so such a token
 * outlived its logout).
 */
export const MAX_TOKEN_ID_LENGTH = 256;
