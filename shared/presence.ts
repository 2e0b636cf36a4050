/**
 * The presence contract between the gateway and its clients: who is in a channel, per verified user. The server
 * builds these payloads; the client library keeps a live member list from them. Imports nothing, so it runs in
 * browsers too.
 */

/** Procedure `presence`: a page of a channel's members. */
export const PRESENCE_PROCEDURE = 'presence';

/** Event sent to each socket subscribed to a presence channel with the `presence` capability. */
export const PRESENCE_EVENT = 'gatehouse:presence';

/** Largest page of members a `presence` request returns, and the page size when it names none. */
export const PRESENCE_PAGE_LIMIT = 1000;

/** Largest `info` claim (serialized JSON, bytes) shown to others; a larger or non-object `info` is left out. */
export const PRESENCE_INFO_MAX_BYTES = 1024;

/** One member: one verified user, however many sockets (tabs, nodes) it has in the channel. */
export interface PresenceMember {
  readonly sub: string;
  /** The token's `info` claim, when it is a JSON object of at most {@link PRESENCE_INFO_MAX_BYTES}. */
  readonly info?: Record<string, unknown>;
  readonly connections: number;
}

/** Request of the `presence` procedure (and query of `GET /admin/presence`). */
export interface PresenceRequest {
  readonly channel: string;
  /** Opaque; from the previous page's answer. */
  readonly cursor?: string;
  /** 1 to {@link PRESENCE_PAGE_LIMIT}; defaults to the maximum. */
  readonly limit?: number;
}

/** One page of members. `seq` says which change batches it already contains. */
export interface PresenceSnapshot {
  readonly channel: string;
  readonly seq: number;
  readonly members: readonly PresenceMember[];
  /** Members in the whole channel, not only this page. */
  readonly count: number;
  /** Present when more members follow: pass it back to get the next page. */
  readonly cursor?: string;
}

/**
 * Why a member left: `unsubscribed`, `disconnected`, `deauthenticated` (logout, expiry, a grant lost), `revoked`,
 * `node-lost` (the node holding its sockets died), `expired` (a stale entry was reaped).
 */
export type PresenceLeaveReason = 'unsubscribed' | 'disconnected' | 'deauthenticated' | 'revoked' | 'node-lost' | 'expired';

export interface PresenceJoin {
  readonly sub: string;
  readonly info?: Record<string, unknown>;
}

export interface PresenceLeave {
  readonly sub: string;
  readonly reason: PresenceLeaveReason;
}

/**
 * One coalesced batch of changes to a channel's members. `seq` grows by exactly 1 per batch, cluster-wide: a client
 * that sees a gap asks for a fresh snapshot.
 */
export interface PresenceChanges {
  readonly channel: string;
  readonly seq: number;
  readonly joins: readonly PresenceJoin[];
  readonly leaves: readonly PresenceLeave[];
  readonly updates: readonly PresenceJoin[];
}

/**
 * Occupancy mode, past the node's member limit: counts only, at most once a second. The member list stays
 * available page by page through the procedure.
 */
export interface PresenceOccupancy {
  readonly channel: string;
  readonly seq: number;
  readonly count: number;
}

export type PresenceEvent = PresenceChanges | PresenceOccupancy;

/** Whether an event is an occupancy count rather than a batch of member changes. */
export function isOccupancy(event: PresenceEvent): event is PresenceOccupancy {
  return !('joins' in event);
}
