/**
 * Gatehouse's client for browsers and Node, over socketcluster-client v20: `createClient({url, getToken})`. It imports
 * shared/ (error classes, close codes, protocol names) and never the server.
 */
export { createClient, GatehouseClient } from './client';
export type { ClientEvents, ClientOptions, ClientState, ConnectionEvent, DeauthReason, LoginResult } from './client';
export { closeName, reconnectDelay } from './close-policy';
export { ERROR_CLASSES, rebuildError } from './errors';
export { memoryStorage, storageKey, type TokenStorage } from './storage';
export type { Subscription } from './subscription';
export { PresenceList, type PresenceEvents, type SyncCause } from './presence';
export type { LiveMember } from './presence-state';
export {
  PRESENCE_PAGE_LIMIT,
  isOccupancy,
  type PresenceChanges,
  type PresenceEvent,
  type PresenceLeaveReason,
  type PresenceMember,
  type PresenceOccupancy,
  type PresenceSnapshot,
} from '../shared/presence';
export {
  AdminUnavailableError,
  AuthError,
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  AuthTokenRevokedError,
  AuthUnavailableError,
  BadRequestError,
  ErrorName,
  ForbiddenError,
  GatehouseError,
  InternalError,
  LoginError,
  LoginUnavailableError,
  LogoutPendingError,
  MethodNotAllowedError,
  NotFoundError,
  PresenceForbiddenError,
  PresenceNotEnabledError,
  PresenceUnavailableError,
  ProcedureNotFoundError,
  PublishForbiddenError,
  RateLimitedError,
  SubscribeForbiddenError,
  SubscribeUnavailableError,
  TooManyRequestsError,
  TransmitDroppedError,
  UnauthorizedError,
  VersionConflictError,
} from '../shared/errors';
export { CLOSE_ACTIONS, CloseCode, closeAction, type CloseAction } from '../shared/close-codes';
export { KICK_MESSAGES, Procedure, ServerEvent, type GrantsChanged, type KickReason, type TokenExpiry } from '../shared/protocol';
export type { GatehouseClaims } from '../shared/claims';
export { channelNameProblem } from '../shared/channel-pattern';
