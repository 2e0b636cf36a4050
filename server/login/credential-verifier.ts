import { z } from 'zod';
import { MAX_SUB_LENGTH, type ChannelGrants } from '../../shared';

/**
 * Who a successful login is: the token's `sub`, its channel grants and any extra claims the app wants in the token.
 */
export interface Identity {
  readonly sub: string;
  readonly channels?: ChannelGrants;
  readonly claims?: Readonly<Record<string, unknown>>;
}

/**
 * CredentialVerifier checks a username and password. It resolves the identity, or rejects with `LoginError` (unknown
 * user or wrong password, deliberately indistinguishable) or `LoginUnavailableError` (the check could not be made).
 * Implementations: UsersFileVerifier (GATEHOUSE_USERS_FILE) and HttpVerifier (GATEHOUSE_LOGIN_URL).
 */
export interface CredentialVerifier {
  /**
   * `requester` is who the attempt is for (the client address's limiter key): attempts waiting for a hashing slot or
   * a backend connection are served round-robin across requesters, so one address cannot crowd out the rest.
   */
  verify(username: string, password: string, requester: string): Promise<Identity>;
}

/** Longest username or password accepted, in characters. */
export const MAX_CREDENTIAL_LENGTH = 256;

/**
 * Largest identity (sub, channels and claims as JSON), in bytes. Base64 grows it by a third; with the stamped claims,
 * header and even an RSA-4096 signature the token stays under MAX_TOKEN_BYTES, which every node enforces at handshake.
 */
export const MAX_IDENTITY_BYTES = 4096;

/**
 * Claims the gateway sets itself: an identity's extra claims with these names are dropped. `channels` comes from the
 * identity's own field; `auth_time` is reserved for the gateway.
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set(['sub', 'exp', 'iat', 'nbf', 'jti', 'sid', 'iss', 'aud', 'channels', 'auth_time', 'sxp', 'okid']);

const pattern = z.string().min(1).max(256);
const channelGrantsSchema = z.union([z.array(pattern).max(256), z.record(pattern, z.array(z.enum(['subscribe', 'publish'])).max(2))]);

/** The identity fields as users-file entries and the login backend's answers carry them. */
export const identityShape = {
  sub: z.string().min(1).max(MAX_SUB_LENGTH),
  channels: channelGrantsSchema.optional(),
  claims: z.custom<Record<string, unknown>>(isPlainObject, 'must be a JSON object').optional(),
};

/** The identity object of a users-file entry or a login backend's answer, size-checked. */
export const identitySchema = z
  .object(identityShape)
  .passthrough()
  .superRefine((v, ctx) => {
    if (Buffer.byteLength(JSON.stringify({ sub: v.sub, channels: v.channels, claims: v.claims })) > MAX_IDENTITY_BYTES) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `sub, channels and claims together exceed ${MAX_IDENTITY_BYTES} bytes of JSON` });
    }
  });

/** The payload of a login token: sub, channels (when granted) and the extra claims without reserved names. */
export function tokenPayloadOf(identity: Identity): Record<string, unknown> {
  // `__proto__` too: a JSON-parsed one is an own key that a later copy by assignment would turn into a prototype.
  const extra = Object.entries(identity.claims ?? {}).filter(([name]) => !RESERVED_CLAIMS.has(name) && name !== '__proto__');
  const payload: Record<string, unknown> = Object.fromEntries(extra);
  payload.sub = identity.sub;
  if (identity.channels !== undefined) payload.channels = identity.channels;
  return payload;
}

/**
 * JSON.parse for identities from outside (the users file, the login backend): `__proto__` keys are dropped, so no
 * later copy (zod's record parsing assigns keys one by one) can turn one into an object's prototype.
 */
export function parseUntrustedJson(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
}

/** Formats zod issues as `path: message` lines for config errors and logs (never including the values). */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
