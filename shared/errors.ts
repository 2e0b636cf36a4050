/**
 * The error catalogue: every error a Gatehouse client can see, by name, over the socket or from the HTTP routes
 * (login, admin API, metrics). The server throws these classes; the client library compares `err.name` against
 * `ErrorName`. Imports nothing, so it runs in browsers too.
 */

export const ErrorName = {
  AuthTokenExpired: 'AuthTokenExpiredError',
  AuthTokenNotBefore: 'AuthTokenNotBeforeError',
  AuthTokenInvalid: 'AuthTokenInvalidError',
  AuthTokenRevoked: 'AuthTokenRevokedError',
  AuthUnavailable: 'AuthUnavailableError',
  ProcedureNotFound: 'ProcedureNotFoundError',
  PublishForbidden: 'PublishForbiddenError',
  SubscribeForbidden: 'SubscribeForbiddenError',
  SubscribeUnavailable: 'SubscribeUnavailableError',
  PresenceForbidden: 'PresenceForbiddenError',
  PresenceNotEnabled: 'PresenceNotEnabledError',
  PresenceUnavailable: 'PresenceUnavailableError',
  RateLimited: 'RateLimitedError',
  TooManyRequests: 'TooManyRequestsError',
  BadRequest: 'BadRequestError',
  Login: 'LoginError',
  LoginUnavailable: 'LoginUnavailableError',
  LogoutPending: 'LogoutPendingError',
  TransmitDropped: 'TransmitDroppedError',
  Internal: 'InternalError',
  NotFound: 'NotFoundError',
  MethodNotAllowed: 'MethodNotAllowedError',
  Unauthorized: 'UnauthorizedError',
  Forbidden: 'ForbiddenError',
  AdminUnavailable: 'AdminUnavailableError',
  VersionConflict: 'VersionConflictError',
} as const;

export type ErrorName = (typeof ErrorName)[keyof typeof ErrorName];

/** One row of the catalogue: what the error means and where a client meets it. */
export interface ErrorInfo {
  readonly name: ErrorName;
  readonly meaning: string;
  /** For authentication errors: whether the client's stored token is removed (SocketCluster's `isBadToken`). */
  readonly removesToken?: boolean;
}

export const ERROR_CATALOGUE: readonly ErrorInfo[] = [
  { name: ErrorName.AuthTokenExpired, meaning: "the token's exp has passed", removesToken: true },
  { name: ErrorName.AuthTokenNotBefore, meaning: "the token's nbf is still in the future; retry later", removesToken: false },
  { name: ErrorName.AuthTokenInvalid, meaning: 'any other defect: signature, algorithm, kid, claims, size, format', removesToken: true },
  { name: ErrorName.AuthTokenRevoked, meaning: 'the token, its session or its user was revoked', removesToken: true },
  { name: ErrorName.AuthUnavailable, meaning: 'revocations could not be checked in time; the client keeps its token and may retry', removesToken: false },
  {
    name: ErrorName.ProcedureNotFound,
    meaning: 'invoke of a procedure the gateway does not have (for `login`, the message names the settings that turn it on)',
  },
  {
    name: ErrorName.PublishForbidden,
    meaning: 'no grant to publish on that channel, or an invalid channel name; the message and its `channel` property name it',
  },
  {
    name: ErrorName.SubscribeForbidden,
    meaning: 'no grant to subscribe to that channel, an invalid name, or too many channels; the message and its `channel` property name it',
  },
  { name: ErrorName.SubscribeUnavailable, meaning: 'the subscription could not be confirmed across nodes within 1 s (Redis unreachable); retry later' },
  {
    name: ErrorName.PresenceForbidden,
    meaning: 'no `presence` grant on that channel: its members cannot be listed and its presence events are not sent; its `channel` property names it',
  },
  {
    name: ErrorName.PresenceNotEnabled,
    meaning: "the channel has no presence: the rules file's `presence` section lists no pattern it matches; its `channel` property names it",
  },
  { name: ErrorName.PresenceUnavailable, meaning: "the channel's member list could not be read (Redis unreachable); retry later" },
  { name: ErrorName.RateLimited, meaning: 'too many publishes, logins or failed logins; `retryAfter` says how many seconds to wait' },
  { name: ErrorName.TooManyRequests, meaning: 'the socket already has 4 calls of that procedure waiting for an answer; wait for them before sending more' },
  { name: ErrorName.BadRequest, meaning: 'a malformed request payload' },
  { name: ErrorName.Login, meaning: 'unknown user or wrong password (deliberately the same)' },
  {
    name: ErrorName.LoginUnavailable,
    meaning: "the login could not be checked: the login backend or the limiter's Redis did not answer in time, or too many logins at once; retry later",
  },
  {
    name: ErrorName.LogoutPending,
    meaning:
      'the client could not reach the gateway to revoke the session at `logout()`: the token is dropped here, and the client revokes it when it is back (a stolen copy works until then)',
  },
  { name: ErrorName.TransmitDropped, meaning: 'the gateway drops every event a client transmits: it is reached through its procedures only' },
  { name: ErrorName.Internal, meaning: 'a procedure or an HTTP route failed on the gateway; the message says nothing more, the node logs the cause' },
  { name: ErrorName.NotFound, meaning: 'HTTP 404: no such path; for the admin API, login and the page at `/` the message names the setting that turns it on' },
  { name: ErrorName.MethodNotAllowed, meaning: 'HTTP 405: the path takes another method, which the `Allow` header names' },
  { name: ErrorName.Unauthorized, meaning: 'HTTP 401: the admin API or `/metrics` without a valid `Authorization: Bearer` key' },
  { name: ErrorName.Forbidden, meaning: "HTTP 403: an admin key without the route's scope; its `scope` property names it" },
  { name: ErrorName.AdminUnavailable, meaning: 'HTTP 503: an admin action could not reach Redis; nothing was changed, retry later' },
  {
    name: ErrorName.VersionConflict,
    meaning: 'HTTP 409: a grants change whose `version` is not above the one in force (its `current` property); nothing was changed',
  },
];

const BY_NAME: ReadonlyMap<string, ErrorInfo> = new Map(ERROR_CATALOGUE.map((e) => [e.name, e]));

/** Whether a refusal named `name` removes the client's stored token (an expired, invalid or revoked token). */
export function removesToken(name: unknown): boolean {
  return BY_NAME.get(String(name))?.removesToken === true;
}

/**
 * Whether a refusal named `name` is an authentication error that says nothing against the token (not valid yet,
 * revocations not checkable now): the client keeps the token and offers it again later.
 */
export function keepsToken(name: unknown): boolean {
  return BY_NAME.get(String(name))?.removesToken === false;
}

/** Base of every Gatehouse error. Own enumerable fields travel to the client (sc-errors `dehydrateError`). */
export class GatehouseError extends Error {
  override readonly name: ErrorName;
  constructor(name: ErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * An authentication failure from `verifyToken`. `isBadToken` is SocketCluster's flag: when true the server sends
 * `#removeAuthToken` and the client forgets the token. It is the catalogue's `removesToken` for the name.
 */
export class AuthError extends GatehouseError {
  readonly isBadToken: boolean;
  constructor(name: ErrorName, message: string) {
    super(name, message);
    this.isBadToken = removesToken(name);
  }
}

export class AuthTokenExpiredError extends AuthError {
  constructor(
    message: string,
    readonly expiry?: number,
  ) {
    super(ErrorName.AuthTokenExpired, message);
  }
}

export class AuthTokenNotBeforeError extends AuthError {
  constructor(
    message: string,
    readonly date?: number,
  ) {
    super(ErrorName.AuthTokenNotBefore, message);
  }
}

export class AuthTokenInvalidError extends AuthError {
  constructor(message: string) {
    super(ErrorName.AuthTokenInvalid, message);
  }
}

export class AuthTokenRevokedError extends AuthError {
  constructor(message = 'The token has been revoked') {
    super(ErrorName.AuthTokenRevoked, message);
  }
}

export class AuthUnavailableError extends AuthError {
  constructor(message = 'Authentication is temporarily unavailable; retry later') {
    super(ErrorName.AuthUnavailable, message);
  }
}

/** `hint`, when given, says what would make the procedure exist (e.g. which settings turn login on). */
export class ProcedureNotFoundError extends GatehouseError {
  constructor(
    readonly procedure: string,
    hint?: string,
  ) {
    super(ErrorName.ProcedureNotFound, `No procedure named ${JSON.stringify(procedure.slice(0, 64))}${hint ? `: ${hint}` : ''}`);
  }
}

/** How a refused channel is quoted in a message: JSON, cut at 128 characters. */
export function quoteChannel(channel: unknown): string {
  if (typeof channel !== 'string') return `(a ${channel === null ? 'null' : typeof channel}, not a string)`;
  return JSON.stringify(channel.length > 128 ? `${channel.slice(0, 128)}…` : channel);
}

/** A refused publish; `channel` (also an own property the client receives) is the channel it was refused on. */
export class PublishForbiddenError extends GatehouseError {
  readonly channel?: string;
  constructor(message: string, channel?: unknown) {
    super(ErrorName.PublishForbidden, message);
    if (typeof channel === 'string') this.channel = channel.slice(0, 256);
  }
}

/** A refused subscribe; `channel` (also an own property the client receives) is the channel it was refused on. */
export class SubscribeForbiddenError extends GatehouseError {
  readonly channel?: string;
  constructor(message: string, channel?: unknown) {
    super(ErrorName.SubscribeForbidden, message);
    if (typeof channel === 'string') this.channel = channel.slice(0, 256);
  }
}

/**
 * The node could not confirm the channel's subscription in Redis within the wait (1 s): messages published on other
 * nodes would not reach this subscriber, so the subscribe is refused rather than acknowledged. Retry later.
 */
export class SubscribeUnavailableError extends GatehouseError {
  constructor(readonly channel: string) {
    super(ErrorName.SubscribeUnavailable, `Subscription to ${JSON.stringify(channel.slice(0, 128))} could not be confirmed across nodes; retry later`);
  }
}

/** A `presence` request without the `presence` capability on the channel; `channel` names it. */
export class PresenceForbiddenError extends GatehouseError {
  readonly channel?: string;
  constructor(message: string, channel?: unknown) {
    super(ErrorName.PresenceForbidden, message);
    if (typeof channel === 'string') this.channel = channel.slice(0, 256);
  }
}

/** A `presence` request for a channel the rules file gives no presence; `channel` names it. */
export class PresenceNotEnabledError extends GatehouseError {
  readonly channel?: string;
  constructor(message: string, channel?: unknown) {
    super(ErrorName.PresenceNotEnabled, message);
    if (typeof channel === 'string') this.channel = channel.slice(0, 256);
  }
}

/**
 * A `presence` request (or admin read) the node could not answer because the member index (Redis) did not: the
 * list would be this node's part only, so none is given. `channel` names it; retry later.
 */
export class PresenceUnavailableError extends GatehouseError {
  constructor(readonly channel: string) {
    super(ErrorName.PresenceUnavailable, `The members of ${JSON.stringify(channel.slice(0, 128))} could not be read; retry later`);
  }
}

export class RateLimitedError extends GatehouseError {
  /** Seconds until a retry may succeed (whole seconds, at least 1). */
  readonly retryAfter: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(ErrorName.RateLimited, message);
    this.retryAfter = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/**
 * The socket already has MAX_PENDING_REQUESTS calls of this procedure queued behind the one being answered. The call
 * is refused at once instead of joining an unbounded queue (a slow login backend let one socket queue thousands).
 */
export class TooManyRequestsError extends GatehouseError {
  constructor(
    readonly procedure: string,
    readonly pending: number,
  ) {
    super(ErrorName.TooManyRequests, `${pending} calls of ${JSON.stringify(procedure.slice(0, 64))} are already waiting; wait for their answers`);
  }
}

export class BadRequestError extends GatehouseError {
  constructor(message: string) {
    super(ErrorName.BadRequest, message);
  }
}

export class LoginError extends GatehouseError {
  constructor() {
    super(ErrorName.Login, 'Invalid username or password');
  }
}

export class LoginUnavailableError extends GatehouseError {
  constructor(message = 'Login is temporarily unavailable; retry later') {
    super(ErrorName.LoginUnavailable, message);
  }
}

/** Raised by the client itself, never sent by the gateway: `logout()` could not have the session revoked yet. */
export class LogoutPendingError extends GatehouseError {
  constructor(message = 'Logged out here, but the gateway could not be reached to revoke the session; it will be revoked when the client is back') {
    super(ErrorName.LogoutPending, message);
  }
}

/** The gateway drops every event a client transmits: clients reach it through its procedures only. */
export class TransmitDroppedError extends GatehouseError {
  constructor(message = 'Client transmits are not accepted') {
    super(ErrorName.TransmitDropped, message);
  }
}

/** A procedure or HTTP route failed on the gateway: what failed stays in the node's log, never in the answer. */
export class InternalError extends GatehouseError {
  constructor(message = 'Internal error') {
    super(ErrorName.Internal, message);
  }
}

export class NotFoundError extends GatehouseError {
  constructor(message = 'Not found') {
    super(ErrorName.NotFound, message);
  }
}

export class MethodNotAllowedError extends GatehouseError {
  constructor(message: string) {
    super(ErrorName.MethodNotAllowed, message);
  }
}

export class UnauthorizedError extends GatehouseError {
  constructor(message: string) {
    super(ErrorName.Unauthorized, message);
  }
}

/** An admin key without the route's scope; `scope` names the one it lacks. */
export class ForbiddenError extends GatehouseError {
  constructor(
    message: string,
    readonly scope?: string,
  ) {
    super(ErrorName.Forbidden, message);
  }
}

/** An admin action could not reach Redis: answered 503, and nothing was changed. */
export class AdminUnavailableError extends GatehouseError {
  constructor(message: string) {
    super(ErrorName.AdminUnavailable, message);
  }
}

/** A grants change whose version is not above the one in force: answered 409, and nothing was changed. */
export class VersionConflictError extends GatehouseError {
  constructor(
    message: string,
    /** The version in force. */
    readonly current: number,
  ) {
    super(ErrorName.VersionConflict, message);
  }
}
