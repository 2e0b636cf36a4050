/** Names on the wire between the gateway and its clients. */

export const Procedure = {
  Login: 'login',
  Logout: 'logout',
} as const;
export type Procedure = (typeof Procedure)[keyof typeof Procedure];

export const ServerEvent = {
  /** Sent when the gateway will not renew the token itself; payload `{exp}` (Unix seconds). */
  AuthExpiring: 'gatehouse:authExpiring',
} as const;

/** Largest signed token the gateway will parse, in bytes. */
export const MAX_TOKEN_BYTES = 8192;
/** Longest `sub`, in characters. */
export const MAX_SUB_LENGTH = 128;
