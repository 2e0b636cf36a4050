import type { ChannelGrants } from '../../shared';

/**
 * GrantRecord is one user's grants as the backend last set them: an override (`channels`) that replaces the
 * `channels` claim of every token of `sub` until `expiresAt`, or `channels: null` after a DELETE (the tokens' grants
 * apply again; the record is kept so that an older change arriving late cannot win). Versions are the backend's and
 * only ever go up.
 */
export interface GrantRecord {
  readonly sub: string;
  /** A positive integer chosen by the backend; a change must carry a higher one than the record it replaces. */
  readonly version: number;
  /** The grants in force instead of the tokens' `channels` (the token grammar; `{sub}` allowed); null: the tokens'. */
  readonly channels: ChannelGrants | null;
  /** When the override stops applying, Unix ms (for a DELETE: when the record may be forgotten). */
  readonly expiresAt: number;
}

/** A change as the admin API receives it: the record to store, less its deadline. */
export interface GrantChange {
  readonly sub: string;
  readonly version: number;
  /** The override's grants; null: back to the tokens' grants (a DELETE). */
  readonly channels: ChannelGrants | null;
  /** How long the override applies, ms; default GATEHOUSE_MAX_TOKEN_LIFETIME. */
  readonly ttlMs?: number;
}

/** Largest version a change may carry: every store and the JSON between nodes hold it exactly. */
export const MAX_GRANTS_VERSION = Number.MAX_SAFE_INTEGER;

/** Whether a value received from another node or read from a store is a record as this node writes them. */
export function isGrantRecord(value: unknown): value is GrantRecord {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.sub === 'string'
    && r.sub.length > 0
    && Number.isSafeInteger(r.version)
    && (r.version as number) > 0
    && typeof r.expiresAt === 'number'
    && (r.channels === null || (typeof r.channels === 'object' && r.channels !== undefined))
  );
}
