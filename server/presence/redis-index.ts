import type { PresenceJoin, PresenceLeave, PresenceLeaveReason, PresenceMember, PresenceSnapshot } from '../../shared';
import type { RedisConnection } from '../redis/connection';
import { parseMemberInfo } from './member-info';
import { encodeCursor, type ChannelReport, type PresenceBatch, type PresenceIndex, type PresenceStats } from './presence-index';

/**
 * The keys of one channel. They all begin `gatehouse:presence:{<channel>}`, so they share the channel's hash tag and
 * one script changes them all on one Redis Cluster slot (a `}` inside the channel ends the tag early, but at the
 * same place in every key of that channel).
 */
export function channelKeys(channel: string, epoch: string): string[] {
  const base = `gatehouse:presence:{${channel}}`;
  return [
    `${base}:members`, // sorted set, all scores 0: members in sub order, for paging and O(1) counts
    `${base}:entries`, // hash "<epoch>:<sub>" → that node's connections of that user
    `${base}:totals`, // hash sub → connections on every node
    `${base}:info`, // hash sub → serialized info
    `${base}:seq`, // the channel's batch counter
    `${base}:connections`, // every member connection, for O(1) stats
    `${base}:anonymous`, // hash epoch → that node's anonymous subscribers
    `${base}:epoch:${epoch}`, // set of the subs `epoch` holds entries for, what a reap removes
  ];
}

/**
 * One script a report. ARGV: epoch, mode (`apply`, `quiet` or `reap`), the node's anonymous count or '' (for `reap`:
 * the leave reason), complete ('1': the epoch's entries not listed go, as `expired`), then sub, connections, info
 * ('' none), reason per change. `reap` builds its changes from the
 * epoch's set: every entry of that epoch goes. Answers {seq, count, kind, sub, detail, …}, seq 0 when no member
 * joined, left or changed: nothing is numbered then. `quiet` records the changes, makes no joins or leaves, and numbers
 * its batch two past the last, so every watcher sees a gap and reads the list again.
 */
/** How long an empty channel's `seq` counter is kept, ms: a watcher back after longer reads the list again anyway. */
const EMPTY_CHANNEL_TTL_MS = 24 * 60 * 60 * 1000;

const APPLY_SCRIPT = `
local epoch, mode = ARGV[1], ARGV[2]
local changes = {}
if mode == 'reap' then
  for _, sub in ipairs(redis.call('SMEMBERS', KEYS[8])) do
    table.insert(changes, {sub, 0, '', ARGV[3]})
  end
  redis.call('HDEL', KEYS[7], epoch)
else
  if ARGV[3] ~= '' then
    local n = tonumber(ARGV[3])
    if n > 0 then redis.call('HSET', KEYS[7], epoch, n) else redis.call('HDEL', KEYS[7], epoch) end
  end
  local listed = {}
  for i = 5, #ARGV, 4 do
    table.insert(changes, {ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]})
    listed[ARGV[i]] = true
  end
  if ARGV[4] == '1' then
    for _, sub in ipairs(redis.call('SMEMBERS', KEYS[8])) do
      if not listed[sub] then table.insert(changes, {sub, 0, '', 'expired'}) end
    end
  end
end
local out = {}
for _, c in ipairs(changes) do
  local sub, conns, info, reason = c[1], c[2], c[3], c[4]
  local field = epoch .. ':' .. sub
  local old = tonumber(redis.call('HGET', KEYS[2], field) or '0')
  if conns > 0 or old > 0 then
    if conns > 0 then
      redis.call('HSET', KEYS[2], field, conns)
      redis.call('SADD', KEYS[8], sub)
    else
      redis.call('HDEL', KEYS[2], field)
      redis.call('SREM', KEYS[8], sub)
    end
    local before = tonumber(redis.call('HGET', KEYS[3], sub) or '0')
    local after = before + conns - old
    redis.call('INCRBY', KEYS[6], conns - old)
    if after <= 0 then
      redis.call('HDEL', KEYS[3], sub)
      redis.call('ZREM', KEYS[1], sub)
      redis.call('HDEL', KEYS[4], sub)
      if before > 0 then
        table.insert(out, 'l'); table.insert(out, sub); table.insert(out, reason)
      end
    else
      redis.call('HSET', KEYS[3], sub, after)
      if before <= 0 then
        redis.call('ZADD', KEYS[1], 0, sub)
        if info ~= '' then redis.call('HSET', KEYS[4], sub, info) end
        table.insert(out, 'j'); table.insert(out, sub); table.insert(out, info)
      elseif conns > 0 then
        local current = redis.call('HGET', KEYS[4], sub) or ''
        if current ~= info then
          if info ~= '' then redis.call('HSET', KEYS[4], sub, info) else redis.call('HDEL', KEYS[4], sub) end
          table.insert(out, 'u'); table.insert(out, sub); table.insert(out, info)
        end
      end
    end
  end
end
local count = redis.call('ZCARD', KEYS[1])
if mode == 'quiet' then out = {} elseif #out == 0 then return {0, count} end
-- A quiet batch skips a number: every watcher sees a gap, whatever it saw last, and reads the list again.
local result = {redis.call('INCRBY', KEYS[5], mode == 'quiet' and 2 or 1), count}
for _, v in ipairs(out) do table.insert(result, v) end
-- An empty channel's counter goes after a day unused (channel names come and go); one in use is kept.
if count == 0 and redis.call('EXISTS', KEYS[7]) == 0 then
  redis.call('PEXPIRE', KEYS[5], ${EMPTY_CHANNEL_TTL_MS})
  redis.call('DEL', KEYS[6])
else
  redis.call('PERSIST', KEYS[5])
end
return result
`;

/** ARGV: the sub to start after ('' from the first), limit. Answers {seq, count, more, sub, connections, info, …}. */
const PAGE_SCRIPT = `
local limit = tonumber(ARGV[2])
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
local subs = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, limit + 1)
local result = {tonumber(redis.call('GET', KEYS[5]) or '0'), redis.call('ZCARD', KEYS[1]), #subs > limit and 1 or 0}
for i = 1, math.min(#subs, limit) do
  local sub = subs[i]
  table.insert(result, sub)
  table.insert(result, redis.call('HGET', KEYS[3], sub) or '0')
  table.insert(result, redis.call('HGET', KEYS[4], sub) or '')
end
return result
`;

/** Answers {members, connections, anonymous}: two reads and one hash of at most one field per node. */
const STATS_SCRIPT = `
local anonymous = 0
for _, n in ipairs(redis.call('HVALS', KEYS[7])) do anonymous = anonymous + tonumber(n) end
return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[6]) or '0'), anonymous}
`;

type Script = (...args: string[]) => Promise<unknown>;

/**
 * The presence index on Redis or a Redis Cluster: every change of one channel is one script on the channel's slot
 * (see channelKeys), so the nodes' reports and the seq counter never interleave. Every node is the source of truth for
 * its own sockets: the index can be rebuilt from the nodes (each re-asserts its members, install.ts).
 */
export class RedisPresenceIndex implements PresenceIndex {
  private readonly applyScript: Script;
  private readonly pageScript: Script;
  private readonly statsScript: Script;

  constructor(connection: RedisConnection) {
    connection.defineCommand('gatehousePresenceApply', { numberOfKeys: 8, lua: APPLY_SCRIPT });
    connection.defineCommand('gatehousePresencePage', { numberOfKeys: 8, lua: PAGE_SCRIPT });
    connection.defineCommand('gatehousePresenceStats', { numberOfKeys: 8, lua: STATS_SCRIPT });
    this.applyScript = definedCommand(connection, 'gatehousePresenceApply');
    this.pageScript = definedCommand(connection, 'gatehousePresencePage');
    this.statsScript = definedCommand(connection, 'gatehousePresenceStats');
  }

  async apply(epoch: string, channel: string, report: ChannelReport, quiet = false): Promise<PresenceBatch | undefined> {
    const args = [epoch, quiet ? 'quiet' : 'apply', report.anonymous === undefined ? '' : String(report.anonymous), report.complete ? '1' : '0'];
    for (const c of report.changes) args.push(c.sub, String(c.connections), c.info ?? '', c.reason ?? 'unsubscribed');
    const answer = (await this.applyScript(...channelKeys(channel, epoch), ...args)) as (string | number)[];
    return batchOf(channel, answer, quiet);
  }

  async reap(epoch: string, channel: string, reason: PresenceLeaveReason): Promise<PresenceBatch | undefined> {
    const answer = (await this.applyScript(...channelKeys(channel, epoch), epoch, 'reap', reason)) as (string | number)[];
    return batchOf(channel, answer, false);
  }

  async page(channel: string, cursor: string | undefined, limit: number): Promise<PresenceSnapshot> {
    const answer = (await this.pageScript(...channelKeys(channel, ''), cursor ?? '', String(limit))) as (string | number)[];
    const members: PresenceMember[] = [];
    for (let i = 3; i + 2 < answer.length; i += 3) {
      const sub = String(answer[i]);
      const info = parseMemberInfo(String(answer[i + 2]));
      members.push(info ? { sub, info, connections: Number(answer[i + 1]) } : { sub, connections: Number(answer[i + 1]) });
    }
    const more = Number(answer[2]) === 1 && members.length > 0;
    return { channel, seq: Number(answer[0]), members, count: Number(answer[1]), ...(more ? { cursor: encodeCursor(members[members.length - 1].sub) } : {}) };
  }

  async stats(channel: string): Promise<PresenceStats> {
    const [members, connections, anonymous] = (await this.statsScript(...channelKeys(channel, ''))) as number[];
    return { members: Number(members), connections: Number(connections), anonymous: Number(anonymous) };
  }
}

function batchOf(channel: string, answer: (string | number)[], quiet: boolean): PresenceBatch | undefined {
  const seq = Number(answer[0]);
  if (seq === 0) return undefined;
  const joins: PresenceJoin[] = [];
  const leaves: PresenceLeave[] = [];
  const updates: PresenceJoin[] = [];
  for (let i = 2; i + 2 < answer.length; i += 3) {
    const kind = String(answer[i]);
    const sub = String(answer[i + 1]);
    const detail = String(answer[i + 2]);
    if (kind === 'l') leaves.push({ sub, reason: detail as PresenceLeaveReason });
    else {
      const info = parseMemberInfo(detail);
      (kind === 'j' ? joins : updates).push(info ? { sub, info } : { sub });
    }
  }
  return { channel, seq, joins, leaves, updates, count: Number(answer[1]), ...(quiet ? { reset: true } : {}) };
}

/** The command `defineCommand` added to `connection` as `name`, bound to it (its types know nothing of it). */
function definedCommand(connection: RedisConnection, name: string): Script {
  const command: unknown = Reflect.get(connection, name);
  if (typeof command !== 'function') throw new Error(`ioredis has no command ${name}: defineCommand it first`);
  return command.bind(connection) as Script;
}
