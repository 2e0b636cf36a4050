import type { PresenceLeaveReason } from '../../shared';
import type { EntryChange } from './presence-index';

/** What the node tells the index of a channel: a user's new local state, or its new anonymous count. */
export interface LocalSink {
  change(channel: string, change: EntryChange): void;
  anonymous(channel: string, count: number): void;
}

interface LocalUser {
  connections: number;
  info?: string;
  /** Set while the user's last connection is gone but the reconnect grace keeps it a member. */
  held?: NodeJS.Timeout;
}

interface LocalChannel {
  /** Every socket subscribed to the channel, member or not: the candidates for its events. */
  readonly sockets: Set<object>;
  readonly users: Map<string, LocalUser>;
  anonymous: number;
}

/**
 * How a socket counts in the channels it holds: as the member `sub`, or anonymous. `channels` is the one channel's
 * name while it holds one (most sockets), a Set only from the second: a Set for each socket was most of a member's
 * heap.
 */
interface Holder {
  sub?: string;
  info?: string;
  channels: string | Set<string>;
}

function holds(holder: Holder, channel: string): boolean {
  return typeof holder.channels === 'string' ? holder.channels === channel : holder.channels.has(channel);
}

function channelList(holder: Holder): string[] {
  return typeof holder.channels === 'string' ? (holder.channels === '' ? [] : [holder.channels]) : [...holder.channels];
}

function addChannel(holder: Holder, channel: string): void {
  if (typeof holder.channels !== 'string') holder.channels.add(channel);
  else if (holder.channels === '') holder.channels = channel;
  else holder.channels = new Set([holder.channels, channel]);
}

/** Removes a channel; answers whether it was held. */
function removeChannel(holder: Holder, channel: string): boolean {
  if (typeof holder.channels !== 'string') return holder.channels.delete(channel);
  if (holder.channels !== channel) return false;
  holder.channels = '';
  return true;
}

function holdsNone(holder: Holder): boolean {
  return typeof holder.channels === 'string' ? holder.channels === '' : holder.channels.size === 0;
}

/**
 * LocalMembers is this node's truth about presence: which of its sockets hold which presence channels, and as whom.
 * Members are users, not sockets: a user's first connection in a channel is reported with its count, later ones
 * only change the count, and its last one going reports 0 with the reason. A user whose last connection closed
 * (`disconnected`) is held for the grace first: coming back on this node within it reports nothing at all.
 * It knows nothing of sockets beyond object identity; install.ts feeds it SocketCluster's events.
 */
export class LocalMembers<S extends object> {
  private readonly channels = new Map<string, LocalChannel>();
  private readonly holders = new Map<S, Holder>();

  constructor(
    private readonly sink: LocalSink,
    private readonly graceMs: number,
  ) {}

  /** The sockets subscribed to a channel on this node (its event candidates). */
  socketsOf(channel: string): ReadonlySet<object> | undefined {
    return this.channels.get(channel)?.sockets;
  }

  /** Whether this node holds any socket or user in a channel (a user held for the grace included). */
  holdsChannel(channel: string): boolean {
    return this.channels.has(channel);
  }

  /** How many presence channels this node holds any socket (or held user) in. */
  channelCount(): number {
    return this.channels.size;
  }

  /** The presence channels this node holds any socket in. */
  channelNames(): IterableIterator<string> {
    return this.channels.keys();
  }

  /** Every user this node holds in a channel, with its state: what a re-assertion writes again. */
  entriesOf(channel: string): { changes: EntryChange[]; anonymous: number } {
    const state = this.channels.get(channel);
    if (!state) return { changes: [], anonymous: 0 };
    const changes = [...state.users].map(([sub, u]) => ({ sub, connections: Math.max(1, u.connections), ...(u.info === undefined ? {} : { info: u.info }) }));
    return { changes, anonymous: state.anonymous };
  }

  /** A socket now holds `channel`, as the member `sub` (with its info) or anonymous. */
  subscribed(socket: S, channel: string, member: { sub: string; info?: string } | undefined): void {
    let holder = this.holders.get(socket);
    if (!holder) {
      // Channel names are never empty, so '' stands for none.
      holder = { sub: member?.sub, info: member?.info, channels: '' };
      this.holders.set(socket, holder);
    }
    if (holds(holder, channel)) return;
    addChannel(holder, channel);
    const state = this.channel(channel);
    state.sockets.add(socket);
    this.count(channel, state, holder, +1);
  }

  /** A socket let go of `channel`. */
  unsubscribed(socket: S, channel: string, reason: PresenceLeaveReason): void {
    const holder = this.holders.get(socket);
    if (!holder || !removeChannel(holder, channel)) return;
    const state = this.channels.get(channel);
    if (state) {
      state.sockets.delete(socket);
      this.count(channel, state, holder, -1, reason);
      this.dropIfEmpty(channel, state);
    }
    if (holdsNone(holder)) this.holders.delete(socket);
  }

  /** A socket closed: it leaves every channel it held. */
  closed(socket: S): void {
    const holder = this.holders.get(socket);
    if (!holder) return;
    for (const channel of channelList(holder)) this.unsubscribed(socket, channel, 'disconnected');
  }

  /**
   * A socket's identity changed (authenticated, renewed, deauthenticated): it stops counting as before, with
   * `reason` if that was a member, and counts as `member` from now on (undefined: anonymous). A renewal keeping the
   * sub changes nothing but, when it differs, the user's info.
   */
  reidentified(socket: S, member: { sub: string; info?: string } | undefined, reason: PresenceLeaveReason): void {
    const holder = this.holders.get(socket);
    if (!holder) return;
    if (member && holder.sub === member.sub) {
      if (holder.info === member.info) return;
      holder.info = member.info;
      for (const channel of channelList(holder)) {
        const user = this.channels.get(channel)?.users.get(member.sub);
        if (!user || user.info === member.info) continue;
        user.info = member.info;
        this.sink.change(channel, { sub: member.sub, connections: Math.max(1, user.connections), ...infoOf(user) });
      }
      return;
    }
    const held = channelList(holder);
    for (const channel of held) this.count(channel, this.channel(channel), holder, -1, reason);
    holder.sub = member?.sub;
    holder.info = member?.info;
    for (const channel of held) this.count(channel, this.channel(channel), holder, +1);
  }

  /** Drops every grace hold (the node is going): their users stay in the index until the index is told otherwise. */
  releaseHolds(): string[][] {
    const held: string[][] = [];
    for (const [channel, state] of this.channels) {
      for (const [sub, user] of state.users) {
        if (!user.held) continue;
        clearTimeout(user.held);
        user.held = undefined;
        held.push([channel, sub]);
      }
    }
    return held;
  }

  private count(channel: string, state: LocalChannel, holder: Holder, delta: 1 | -1, reason: PresenceLeaveReason = 'unsubscribed'): void {
    if (holder.sub === undefined) {
      state.anonymous += delta;
      this.sink.anonymous(channel, state.anonymous);
      return;
    }
    const sub = holder.sub;
    let user = state.users.get(sub);
    if (delta > 0) {
      if (!user) {
        user = { connections: 0, info: holder.info };
        state.users.set(sub, user);
      }
      if (user.held) {
        clearTimeout(user.held);
        user.held = undefined;
      }
      user.connections += 1;
      user.info = holder.info;
      this.sink.change(channel, { sub, connections: user.connections, ...infoOf(user) });
      return;
    }
    if (!user || user.connections === 0) return;
    user.connections -= 1;
    if (user.connections > 0) {
      this.sink.change(channel, { sub, connections: user.connections, ...infoOf(user) });
      return;
    }
    if (reason === 'disconnected' && this.graceMs > 0) {
      const held = user;
      held.held = setTimeout(() => {
        held.held = undefined;
        if (held.connections > 0 || state.users.get(sub) !== held) return;
        state.users.delete(sub);
        this.sink.change(channel, { sub, connections: 0, reason: 'disconnected' });
        this.dropIfEmpty(channel, state);
      }, this.graceMs);
      held.held.unref();
      return;
    }
    state.users.delete(sub);
    this.sink.change(channel, { sub, connections: 0, reason });
  }

  private channel(name: string): LocalChannel {
    let state = this.channels.get(name);
    if (!state) {
      state = { sockets: new Set(), users: new Map(), anonymous: 0 };
      this.channels.set(name, state);
    }
    return state;
  }

  private dropIfEmpty(name: string, state: LocalChannel): void {
    if (state.sockets.size === 0 && state.users.size === 0 && state.anonymous === 0) this.channels.delete(name);
  }
}

function infoOf(user: LocalUser): { info?: string } {
  return user.info === undefined ? {} : { info: user.info };
}
