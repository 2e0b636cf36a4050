import type { PresenceJoin, PresenceLeave, PresenceLeaveReason, PresenceMember, PresenceSnapshot } from '../../shared';
import { parseMemberInfo } from './member-info';
import { encodeCursor, type ChannelReport, type PresenceBatch, type PresenceIndex, type PresenceStats } from './presence-index';

interface User {
  info?: string;
  total: number;
  /** Connections by node epoch. */
  readonly byEpoch: Map<string, number>;
}

interface Channel {
  seq: number;
  connections: number;
  readonly users: Map<string, User>;
  readonly anonymous: Map<string, number>;
}

/**
 * The presence index in this process's memory: the embedded default for a node alone. Same rules as the Redis
 * index (redis-index.ts), so one contract suite runs over both.
 */
export class MemoryPresenceIndex implements PresenceIndex {
  private readonly channels = new Map<string, Channel>();

  apply(epoch: string, name: string, report: ChannelReport, quiet = false): Promise<PresenceBatch | undefined> {
    return Promise.resolve(this.applyNow(epoch, name, report, quiet));
  }

  private applyNow(epoch: string, name: string, report: ChannelReport, quiet: boolean): PresenceBatch | undefined {
    const channel = this.channel(name);
    const joins: PresenceJoin[] = [];
    const leaves: PresenceLeave[] = [];
    const updates: PresenceJoin[] = [];
    if (report.anonymous !== undefined) {
      if (report.anonymous > 0) channel.anonymous.set(epoch, report.anonymous);
      else channel.anonymous.delete(epoch);
    }
    const listed = new Set(report.changes.map((c) => c.sub));
    const stale = report.complete ? [...channel.users].filter(([sub, u]) => u.byEpoch.has(epoch) && !listed.has(sub)).map(([sub]) => sub) : [];
    for (const change of [...report.changes, ...stale.map((sub) => ({ sub, connections: 0, reason: 'expired' as const, info: undefined }))]) {
      let user = channel.users.get(change.sub);
      const old = user?.byEpoch.get(epoch) ?? 0;
      if (change.connections <= 0 && old === 0) continue;
      if (!user) {
        user = { total: 0, byEpoch: new Map() };
        channel.users.set(change.sub, user);
      }
      const before = user.total;
      user.total += change.connections - old;
      channel.connections += change.connections - old;
      if (change.connections > 0) user.byEpoch.set(epoch, change.connections);
      else user.byEpoch.delete(epoch);
      if (user.total <= 0) {
        channel.users.delete(change.sub);
        if (before > 0) leaves.push({ sub: change.sub, reason: change.reason ?? 'unsubscribed' });
      } else if (before === 0) {
        user.info = change.info;
        joins.push(join(change.sub, change.info));
      } else if (change.connections > 0 && user.info !== change.info) {
        user.info = change.info;
        updates.push(join(change.sub, change.info));
      }
    }
    return this.batch(name, channel, quiet ? [] : joins, quiet ? [] : leaves, quiet ? [] : updates, quiet);
  }

  async reap(epoch: string, name: string, reason: PresenceLeaveReason): Promise<PresenceBatch | undefined> {
    const channel = this.channels.get(name);
    if (!channel) return undefined;
    const changes = [...channel.users].filter(([, u]) => u.byEpoch.has(epoch)).map(([sub]) => ({ sub, connections: 0, reason }));
    return this.apply(epoch, name, { changes, anonymous: 0 });
  }

  page(name: string, cursor: string | undefined, limit: number): Promise<PresenceSnapshot> {
    return Promise.resolve(this.pageNow(name, cursor, limit));
  }

  private pageNow(name: string, cursor: string | undefined, limit: number): PresenceSnapshot {
    const channel = this.channels.get(name);
    if (!channel) return { channel: name, seq: 0, members: [], count: 0 };
    const subs = [...channel.users.keys()].filter((sub) => cursor === undefined || sub > cursor).sort();
    const members: PresenceMember[] = subs.slice(0, limit).map((sub) => {
      const user = channel.users.get(sub)!;
      const info = parseMemberInfo(user.info);
      return info ? { sub, info, connections: user.total } : { sub, connections: user.total };
    });
    const more = subs.length > limit;
    return { channel: name, seq: channel.seq, members, count: channel.users.size, ...(more ? { cursor: encodeCursor(subs[limit - 1]) } : {}) };
  }

  stats(name: string): Promise<PresenceStats> {
    return Promise.resolve(this.statsNow(name));
  }

  private statsNow(name: string): PresenceStats {
    const channel = this.channels.get(name);
    if (!channel) return { members: 0, connections: 0, anonymous: 0 };
    let anonymous = 0;
    for (const n of channel.anonymous.values()) anonymous += n;
    return { members: channel.users.size, connections: channel.connections, anonymous };
  }

  private channel(name: string): Channel {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = { seq: 0, connections: 0, users: new Map(), anonymous: new Map() };
      this.channels.set(name, channel);
    }
    return channel;
  }

  private batch(
    name: string,
    channel: Channel,
    joins: PresenceJoin[],
    leaves: PresenceLeave[],
    updates: PresenceJoin[],
    quiet: boolean,
  ): PresenceBatch | undefined {
    const count = channel.users.size;
    // A channel never numbered and now empty goes; one numbered keeps its seq, which must never go backwards.
    if (count === 0 && channel.anonymous.size === 0 && channel.seq === 0 && joins.length + leaves.length + updates.length === 0 && !quiet) {
      this.channels.delete(name);
    }
    if (!quiet && joins.length + leaves.length + updates.length === 0) return undefined;
    channel.seq += quiet ? 2 : 1;
    return { channel: name, seq: channel.seq, joins, leaves, updates, count, ...(quiet ? { reset: true } : {}) };
  }
}

function join(sub: string, info: string | undefined): PresenceJoin {
  const parsed = parseMemberInfo(info);
  return parsed ? { sub, info: parsed } : { sub };
}
