import {
  AdminUnavailableError,
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

/** The shared class behind every error name a client can see: the client's half of the catalogue. */
export const ERROR_CLASSES: { readonly [N in ErrorName]: abstract new (...args: never[]) => GatehouseError } = {
  [ErrorName.AuthTokenExpired]: AuthTokenExpiredError,
  [ErrorName.AuthTokenNotBefore]: AuthTokenNotBeforeError,
  [ErrorName.AuthTokenInvalid]: AuthTokenInvalidError,
  [ErrorName.AuthTokenRevoked]: AuthTokenRevokedError,
  [ErrorName.AuthUnavailable]: AuthUnavailableError,
  [ErrorName.ProcedureNotFound]: ProcedureNotFoundError,
  [ErrorName.PublishForbidden]: PublishForbiddenError,
  [ErrorName.SubscribeForbidden]: SubscribeForbiddenError,
  [ErrorName.SubscribeUnavailable]: SubscribeUnavailableError,
  [ErrorName.PresenceForbidden]: PresenceForbiddenError,
  [ErrorName.PresenceNotEnabled]: PresenceNotEnabledError,
  [ErrorName.PresenceUnavailable]: PresenceUnavailableError,
  [ErrorName.RateLimited]: RateLimitedError,
  [ErrorName.BadRequest]: BadRequestError,
  [ErrorName.Login]: LoginError,
  [ErrorName.LoginUnavailable]: LoginUnavailableError,
  [ErrorName.LogoutPending]: LogoutPendingError,
  [ErrorName.TooManyRequests]: TooManyRequestsError,
  [ErrorName.TransmitDropped]: TransmitDroppedError,
  [ErrorName.Internal]: InternalError,
  [ErrorName.NotFound]: NotFoundError,
  [ErrorName.MethodNotAllowed]: MethodNotAllowedError,
  [ErrorName.Unauthorized]: UnauthorizedError,
  [ErrorName.Forbidden]: ForbiddenError,
  [ErrorName.AdminUnavailable]: AdminUnavailableError,
  [ErrorName.VersionConflict]: VersionConflictError,
};

/**
 * An error from the gateway rebuilt as its shared class, chosen by `name`, with the fields it carried (`retryAfter`,
 * `channel`, …), so `err instanceof PublishForbiddenError` works in the app. Anything else (a timeout, a dropped
 * connection) comes back as an Error with its own name.
 */
export function rebuildError(raw: unknown): Error {
  const fields = (raw !== null && typeof raw === 'object' ? raw : { message: String(raw) }) as Record<string, unknown>;
  const name = wireText(fields.name, 'Error');
  const Class = Object.prototype.hasOwnProperty.call(ERROR_CLASSES, name) ? ERROR_CLASSES[name as ErrorName] : undefined;
  if (raw instanceof Error && (!Class || raw instanceof Class)) return raw;
  // The constructors differ per class; the prototype is what instanceof needs, the fields come from the wire.
  const err = Object.create((Class ?? Error).prototype as Error) as Error & Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) if (key !== 'stack') err[key] = value;
  err.name = name;
  err.message = wireText(fields.message, name);
  return err;
}

/** A field from the wire as text: primitives printed as String() would, nothing (or an object) as `fallback`. */
function wireText(value: unknown, fallback: string): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'symbol':
      return String(value);
    default:
      return fallback;
  }
}
