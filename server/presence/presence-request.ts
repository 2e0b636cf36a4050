import {
  BadRequestError,
  GatehouseError,
  PRESENCE_PAGE_LIMIT,
  PresenceForbiddenError,
  PresenceNotEnabledError,
  PresenceUnavailableError,
  quoteChannel,
  type GatehouseClaims,
  type PresenceSnapshot,
} from '../../shared';
import { channelNameProblem, type ChannelMatcher } from '../../shared/channel-pattern';
import type { PresenceChannels } from './presence-channels';
import type { Logger } from '../log';
import { decodeCursor, type PresenceIndex } from './presence-index';

/** What the procedure and the admin API read from the index. */
export type PresenceReads = Pick<PresenceIndex, 'page' | 'stats'>;

/** Longest cursor accepted, characters (a base64url sub). */
const MAX_CURSOR_LENGTH = 2048;

/** A checked page request: the channel, the sub to start after, the page size. */
export interface PageRequest {
  readonly channel: string;
  readonly after?: string;
  readonly limit: number;
}

/**
 * Reads a page request (the `presence` procedure's data, or the admin query): `channel`, optional `cursor` and
 * `limit` (1 to PRESENCE_PAGE_LIMIT, default the maximum). Anything else is a BadRequestError naming the field.
 */
export function readPageRequest(data: unknown): PageRequest {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new BadRequestError('presence takes {channel, cursor?, limit?}');
  const { channel, cursor, limit } = data as Record<string, unknown>;
  const problem = channelNameProblem(channel);
  if (problem) throw new BadRequestError(`channel: ${problem}`);
  let after: string | undefined;
  if (cursor !== undefined) {
    after = typeof cursor === 'string' && cursor.length <= MAX_CURSOR_LENGTH ? decodeCursor(cursor) : undefined;
    if (after === undefined) throw new BadRequestError('cursor: not a cursor this gateway gave');
  }
  let size = PRESENCE_PAGE_LIMIT;
  if (limit !== undefined) {
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > PRESENCE_PAGE_LIMIT) {
      throw new BadRequestError(`limit: must be a whole number from 1 to ${PRESENCE_PAGE_LIMIT}`);
    }
    size = limit;
  }
  return { channel: channel as string, ...(after === undefined ? {} : { after }), limit: size };
}

/** Refuses a channel without presence (PresenceNotEnabledError). */
export function checkPresenceChannel(channels: PresenceChannels, channel: string): void {
  if (!channels.has(channel)) throw new PresenceNotEnabledError(`${quoteChannel(channel)} has no presence`, channel);
}

/**
 * The `presence` procedure: a page of the channel's members for a socket with the `presence` capability on it;
 * PresenceNotEnabledError for a channel without presence, PresenceForbiddenError without the capability.
 */
export function presenceProcedure(
  channels: PresenceChannels,
  matcherFor: (claims: GatehouseClaims | null) => ChannelMatcher,
  index: PresenceReads,
): (data: unknown, claims: GatehouseClaims | null) => Promise<PresenceSnapshot> {
  return async (data, claims) => {
    const request = readPageRequest(data);
    checkPresenceChannel(channels, request.channel);
    if (!matcherFor(claims).allows('presence', request.channel)) {
      throw new PresenceForbiddenError(`No presence grant on ${quoteChannel(request.channel)}`, request.channel);
    }
    return index.page(request.channel, request.after, request.limit);
  };
}

/**
 * The index's reads as the procedure and the admin API make them. A failure of the index itself (Redis away or
 * silent) becomes PresenceUnavailableError, which a client can tell apart and retry, instead of an InternalError;
 * it is logged here, as nothing above logs a named error.
 */
export function guardedReads(index: PresenceReads, log: Logger): PresenceReads {
  const guard = async <T>(channel: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      if (err instanceof GatehouseError) throw err;
      log.warn({ channel, reason: (err as Error).message }, 'presence index did not answer');
      throw new PresenceUnavailableError(channel);
    }
  };
  return {
    page: (channel, cursor, limit) => guard(channel, () => index.page(channel, cursor, limit)),
    stats: (channel) => guard(channel, () => index.stats(channel)),
  };
}
