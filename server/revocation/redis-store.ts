import type { GatehouseClaims } from '../../shared';
import { systemClock, type Clock } from '../clock';
import type { Logger } from '../log';
import { createRedisConnection, knownClusterNodes, type RedisConnection, type RedisConnectionOptions, type RedisTarget } from '../redis/connection';
import { FeedLiveness, type FeedHealth } from '../redis/feed-liveness';
import { subscribeChannels, type RedisSubscription } from '../redis/subscription';
import type { RedisDurability } from './durability';
import {
  assertRevocationTarget,
  entryDeadline,
  isRevocation,
  REVOCATION_KINDS,
  StoreUnavailableError,
  subRevocationCovers,
  tokenIds,
  type Revocation,
  type RevocationKind,
  type RevocationPolicy,
  type RevocationStore,
  type RevocationTarget,
  type RevokeOptions,
} from './store';

/**
 * Every key and the channel share the hash tag `{gatehouse}`, so they live in one slot: MGET across kinds, the check
 * pipeline and the revoke script stay legal on a Redis Cluster. The script's PUBLISH is classic pub/sub, which a
 * cluster broadcasts to every node.
 */
const KEY_PREFIX = '{gatehouse}:rv:';
export const REVOCATION_CHANNEL = '{gatehouse}:rv:announce';

/** The Redis key of one revocation entry; its value is the revocation moment in Unix ms. */
export function revocationKey(kind: RevocationKind, id: string): string {
  return `${KEY_PREFIX}${kind}:${id}`;
}

/**
 * Stores a revocation and announces it, atomically. A second revocation of the same target keeps the later moment
 * (for `sub` that covers more tokens) and the longer TTL. ARGV: moment ms, TTL ms, channel, announcement.
 */
const REVOKE_SCRIPT = `
local at = ARGV[1]
local ttl = tonumber(ARGV[2])
local current = redis.call('GET', KEYS[1])
if current then
  if tonumber(current) ~= nil and tonumber(current) > tonumber(at) then at = current end
  local remaining = redis.call('PTTL', KEYS[1])
  if remaining > ttl then ttl = remaining end
end
redis.call('SET', KEYS[1], at, 'PX', ttl)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return at
`;

/**
 * One step of reading every revocation (the mirror's load): a SCAN step over the revocation keys, with each string
 * key's value and remaining lifetime, read together so none expires in between. KEYS[1] (the channel name, in the
 * `{gatehouse}` slot) only routes the script to that slot's master on a cluster. A key of another type is skipped,
 * as MGET reads it as absent. ARGV: cursor, pattern, count. Returns the next cursor, then key, value, PTTL triples.
 */
const LOAD_SCRIPT = `
local scan = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local out = { scan[1] }
for _, key in ipairs(scan[2]) do
  local value = redis.pcall('GET', key)
  if type(value) == 'string' then
    out[#out + 1] = key
    out[#out + 1] = value
    out[#out + 1] = redis.call('PTTL', key)
  end
end
return out
`;

/**
 * A heartbeat: published from the `{gatehouse}` slot's master (KEYS[1] routes it there on a cluster), the master
 * that publishes every announcement, so it reaches a subscriber the way announcements do. ARGV: channel, message.
 */
const HEARTBEAT_SCRIPT = `return redis.call('PUBLISH', ARGV[1], ARGV[2])`;

/** Keys a load step scans (SCAN's COUNT): bounds how long one step holds Redis. */
const LOAD_SCAN_COUNT = 1000;

/** Checks per pipeline in `checkMany`. */
const CHECK_BATCH = 500;

/**
 * Commands sent and not yet answered beyond which a call fails at once instead of being sent. A Redis that is
 * connected but not answering (paused, swapping, a long script) keeps every command in the client's queue until it
 * answers, timed out or not: at 1,000 handshakes a second a 60 s stall would queue 60,000. Past this bound the node
 * answers AuthUnavailableError without growing the queue.
 */
export const DEFAULT_MAX_IN_FLIGHT = 1000;

export interface RedisStoreOptions {
  /** One Redis (GATEHOUSE_REDIS_URL) or a Redis Cluster (GATEHOUSE_REDIS_CLUSTER). */
  readonly target: RedisTarget;
  /** How long one call may take before it fails with StoreUnavailableError, ms. */
  readonly timeoutMs: number;
  readonly policy: RevocationPolicy;
  /** Names this node (or `cli`) in announcements. */
  readonly origin: string;
  /** Open a subscriber connection and deliver announcements (nodes do; the CLI does not). */
  readonly subscribe: boolean;
  readonly log?: Logger;
  readonly clock?: Clock;
  /** Commands unanswered beyond which calls fail at once; default DEFAULT_MAX_IN_FLIGHT. */
  readonly maxInFlight?: number;
  /**
   * The command connection to use, opened with revocationCommandOptions and owned by the caller (the node shares it
   * with its node registry); default one of the store's own, closed with it.
   */
  readonly connection?: RedisConnection;
}

/**
 * How the store's command connection behaves: no offline queue and no retries, so while Redis is away every call
 * fails at once or within the store's timeout (callers fail closed), and ioredis reconnects by itself. No
 * commandTimeout: the store's `call` bounds the wait, and a command's own promise then settles only when Redis answers
 * (or the connection drops), which is what it counts as unanswered.
 */
export function revocationCommandOptions(origin: string, timeoutMs: number): RedisConnectionOptions {
  return {
    connectionName: `gatehouse:${origin}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: commandConnectTimeout(timeoutMs),
  };
}

/** How long connecting may take, ms: twice the call timeout, at least 1 s. */
function commandConnectTimeout(timeoutMs: number): number {
  return Math.max(1000, timeoutMs * 2);
}

type RevokeCommand = (key: string, at: string, ttl: string, channel: string, message: string) => Promise<string>;
type LoadCommand = (route: string, cursor: string, pattern: string, count: string) => Promise<(string | number)[]>;
type HeartbeatCommand = (route: string, channel: string, message: string) => Promise<number>;

/**
 * The command ioredis' `defineCommand` added to `connection` as `name`, bound to it. Its types know nothing of commands
 * defined at run time, so `F` states the script's arguments and answer; a name not defined fails here, at start-up.
 */
function definedCommand<F extends (...args: string[]) => Promise<unknown>>(connection: RedisConnection, name: string): F {
  const command: unknown = Reflect.get(connection, name);
  if (typeof command !== 'function') throw new Error(`ioredis has no command ${name}: defineCommand it first`);
  return command.bind(connection) as F;
}

/** A revocation as a load reads it from Redis: its target, its moment and its deadline by this process's clock. */
export type StoredRevocation = Omit<Revocation, 'origin'>;

/**
 * RedisRevocationStore keeps revocations in Redis or a Redis Cluster, shared by every node. One connection runs
 * commands: no offline queue, no retries and a timeout, so while Redis is away every call fails at once or within
 * `timeoutMs` (callers fail closed) and ioredis reconnects by itself. A subscription, when asked for, hears the
 * announcements; each time it holds again the store signals a resync, since announcements sent while it was away are
 * lost.
 */
export class RedisRevocationStore implements RevocationStore {
  private readonly commands: RedisConnection;
  /** Whether `commands` is the store's own, closed with it (else the caller's, shared). */
  private readonly ownsCommands: boolean;
  private readonly subscription?: RedisSubscription;
  private readonly revokeCommand: RevokeCommand;
  private readonly loadCommand: LoadCommand;
  private readonly heartbeatCommand: HeartbeatCommand;
  /** This process's own heartbeat channel: only its subscriber hears it, on the connection announcements come by. */
  private readonly heartbeatChannel: string;
  /** Proves the feed alive by its heartbeats, and makes the subscription again when it goes silent. */
  private readonly liveness?: FeedLiveness;
  private readonly clock: Clock;
  private readonly revocationListeners: ((revocation: Revocation) => void)[] = [];
  private readonly resyncListeners: (() => void)[] = [];
  private readonly feedLostListeners: (() => void)[] = [];
  private closed = false;
  /** Commands sent to Redis and not answered yet (timed out or not: they stay in the client's queue until answered). */
  private unanswered = 0;

  constructor(private readonly options: RedisStoreOptions) {
    this.clock = options.clock ?? systemClock;
    const connectTimeout = commandConnectTimeout(options.timeoutMs);
    this.ownsCommands = options.connection === undefined;
    this.commands = options.connection ?? createRedisConnection(options.target, revocationCommandOptions(options.origin, options.timeoutMs));
    this.watchConnection(this.commands);
    this.commands.defineCommand('gatehouseRevoke', { numberOfKeys: 1, lua: REVOKE_SCRIPT });
    this.revokeCommand = definedCommand<RevokeCommand>(this.commands, 'gatehouseRevoke');
    this.commands.defineCommand('gatehouseLoadRevocations', { numberOfKeys: 1, lua: LOAD_SCRIPT });
    this.loadCommand = definedCommand<LoadCommand>(this.commands, 'gatehouseLoadRevocations');
    this.commands.defineCommand('gatehouseHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT_SCRIPT });
    this.heartbeatCommand = definedCommand<HeartbeatCommand>(this.commands, 'gatehouseHeartbeat');
    this.heartbeatChannel = `${REVOCATION_CHANNEL}:heartbeat:${options.origin}`;

    if (options.subscribe) {
      const liveness = new FeedLiveness({
        name: 'revocation feed',
        send: (message) => this.call(1, () => this.heartbeatCommand(REVOCATION_CHANNEL, this.heartbeatChannel, message)),
        reconnect: () => this.subscription?.reconnect(),
        clock: this.clock,
        log: options.log,
      });
      this.liveness = liveness;
      this.subscription = subscribeChannels(
        options.target,
        [REVOCATION_CHANNEL, this.heartbeatChannel],
        {
          connectionName: `gatehouse:${options.origin}:sub`,
          connectTimeout,
          clusterNodes: () => knownClusterNodes(this.commands),
        },
        {
          message: (text, channel) => {
            if (channel !== REVOCATION_CHANNEL) return liveness.heard(text);
            liveness.flowing();
            this.announce(text);
          },
          up: () => {
            if (this.closed) return;
            liveness.up();
            this.options.log?.info('revocation feed subscribed');
            for (const listener of this.resyncListeners) listener();
          },
          down: (reason) => {
            if (this.closed) return;
            this.options.log?.warn({ reason }, 'revocation feed lost; resubscribing');
            liveness.down();
            for (const listener of this.feedLostListeners) listener();
          },
        },
      );
    }
  }

  async revoke(target: RevocationTarget, options: RevokeOptions = {}): Promise<Revocation> {
    assertRevocationTarget(target);
    const at = this.clock.now();
    const until = entryDeadline(target, options, at, this.options.policy);
    const revocation: Revocation = { kind: target.kind, id: target.id, at, until, origin: this.options.origin };
    const message = JSON.stringify(revocation);
    await this.call(1, () =>
      this.revokeCommand(revocationKey(target.kind, target.id), String(at), String(Math.max(1, Math.ceil(until - at))), REVOCATION_CHANNEL, message),
    );
    return revocation;
  }

  async check(claims: GatehouseClaims): Promise<boolean> {
    const keys = keysFor(claims);
    const values = await this.call(1, () => this.commands.mget(...keys.map((k) => k.key)));
    return isHit(keys, values, claims, this.options.policy.clockToleranceMs);
  }

  async checkMany(claims: readonly GatehouseClaims[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (let start = 0; start < claims.length; start += CHECK_BATCH) {
      const batch = claims.slice(start, start + CHECK_BATCH);
      const keySets = batch.map((c) => keysFor(c));
      const results = await this.call(batch.length, () => {
        const pipeline = this.commands.pipeline();
        for (const keys of keySets) pipeline.mget(...keys.map((k) => k.key));
        return pipeline.exec();
      });
      if (!results) throw new StoreUnavailableError('redis pipeline was aborted');
      results.forEach(([err, values], i) => {
        if (err) throw new StoreUnavailableError(err.message);
        out.push(isHit(keySets[i], values as (string | null)[], batch[i], this.options.policy.clockToleranceMs));
      });
    }
    return out;
  }

  onRevocation(listener: (revocation: Revocation) => void): void {
    this.revocationListeners.push(listener);
  }

  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  /** Called when the announcement feed is lost (`onResync` follows once it holds again). */
  onFeedLost(listener: () => void): void {
    this.feedLostListeners.push(listener);
  }

  /** Whether the announcement feed holds now: every revocation announced from now on will be heard. */
  get feedUp(): boolean {
    return this.subscription?.up ?? false;
  }

  /**
   * A moment (this process's clock, ms) by which every announcement Redis had published has been heard: the sending
   * time of the latest heartbeat heard back while the feed held; -Infinity when none was. Pub/sub keeps the order in
   * which Redis published, so hearing a heartbeat means having heard every announcement published before it.
   */
  get feedHeardThrough(): number {
    return this.feedUp && this.liveness ? this.liveness.heardThrough : Number.NEGATIVE_INFINITY;
  }

  /** The feed's health for /readyz and metrics; undefined without a subscription. */
  get feed(): FeedHealth | undefined {
    return this.liveness;
  }

  /**
   * Sends a heartbeat unless one is on its way; `feedHeardThrough` moves on when it is heard, and a heartbeat Redis
   * took that stays unheard makes the subscription again (./../redis/feed-liveness.ts).
   */
  sendHeartbeat(): void {
    if (!this.closed) this.liveness?.beat();
  }

  /** Sends heartbeats every `intervalMs` from now until closed. */
  startHeartbeat(intervalMs: number): void {
    this.liveness?.start(intervalMs);
  }

  /**
   * Every revocation Redis holds, a SCAN step at a time (one round trip each). A revocation written while the load
   * runs may be missed: a caller that needs them all subscribes first and merges what the feed brings meanwhile.
   * An unreadable moment becomes +Infinity (covering every token of a user, as `check` reads it) and a key without a
   * TTL lives for ever. Rejects with StoreUnavailableError.
   */
  async *loadAll(): AsyncGenerator<StoredRevocation[]> {
    let cursor = '0';
    do {
      const from = cursor;
      const reply = await this.call(1, () => this.loadCommand(REVOCATION_CHANNEL, from, `${KEY_PREFIX}*`, String(LOAD_SCAN_COUNT)));
      const now = this.clock.now();
      cursor = String(reply[0]);
      const batch: StoredRevocation[] = [];
      for (let i = 1; i + 2 < reply.length; i += 3) {
        const target = targetOfKey(String(reply[i]));
        if (target === undefined) continue;
        const at = Number(reply[i + 1]);
        const ttl = Number(reply[i + 2]);
        batch.push({ ...target, at: Number.isFinite(at) ? at : Number.POSITIVE_INFINITY, until: ttl >= 0 ? now + ttl : Number.POSITIVE_INFINITY });
      }
      yield batch;
    } while (cursor !== '0');
  }

  unavailableReason(): string | undefined {
    if (this.commands.status !== 'ready') return 'redis unreachable';
    if (this.subscription && !this.subscription.up) return 'redis subscription down';
    return undefined;
  }

  async ready(maxWaitMs: number): Promise<boolean> {
    const deadline = this.clock.now() + maxWaitMs;
    while (this.unavailableReason() !== undefined) {
      if (this.closed || this.clock.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20).unref());
    }
    return true;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.revocationListeners.length = 0;
    this.resyncListeners.length = 0;
    this.feedLostListeners.length = 0;
    this.liveness?.close();
    this.subscription?.close();
    if (this.ownsCommands) this.commands.disconnect();
    return Promise.resolve();
  }

  /**
   * The server's persistence and eviction settings (CONFIG GET, on one node of a cluster). A setting CONFIG refuses to
   * show (renamed or forbidden on managed services) is left out.
   */
  async durability(): Promise<RedisDurability> {
    const read = async (name: string): Promise<string | undefined> => {
      try {
        const pair: unknown = await this.call(1, () => this.commands.config('GET', name));
        return Array.isArray(pair) && typeof pair[1] === 'string' ? pair[1] : undefined;
      } catch {
        return undefined;
      }
    };
    const [appendonly, save, maxmemory, maxmemoryPolicy] = await Promise.all(['appendonly', 'save', 'maxmemory', 'maxmemory-policy'].map(read));
    return { appendonly, save, maxmemory, maxmemoryPolicy };
  }

  /** Commands sent to Redis and not answered yet. */
  get unansweredCommands(): number {
    return this.unanswered;
  }

  /**
   * Sends `commands` Redis commands (made by `send`) unless too many are unanswered already, bounds the wait by the
   * timeout, and turns every failure into StoreUnavailableError.
   */
  private async call<T>(commands: number, send: () => Promise<T>): Promise<T> {
    const limit = this.options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (this.unanswered + commands > limit) throw new StoreUnavailableError(`redis is not answering: ${this.unanswered} commands unanswered`);
    let operation: Promise<T>;
    try {
      operation = send();
    } catch (err) {
      throw new StoreUnavailableError((err as Error).message);
    }
    this.unanswered += commands;
    // The loser of the race must not surface as an unhandled rejection later.
    operation.then(
      () => {
        this.unanswered -= commands;
      },
      () => {
        this.unanswered -= commands;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`redis did not answer within ${this.options.timeoutMs}ms`)), this.options.timeoutMs);
    });
    try {
      return await Promise.race([operation, timeout]);
    } catch (err) {
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  private announce(message: string): void {
    let revocation: Revocation;
    try {
      revocation = JSON.parse(message) as Revocation;
    } catch {
      return;
    }
    if (!isRevocation(revocation)) {
      this.options.log?.warn('ignoring a malformed revocation announcement');
      return;
    }
    for (const listener of this.revocationListeners) listener(revocation);
  }

  /**
   * The error listener keeps the process alive through outages (ioredis reconnects by itself); each outage is logged
   * once when it starts and once when it ends, not per retry.
   */
  private watchConnection(connection: RedisConnection): void {
    let down = false;
    let everReady = false;
    let lastError: Error | undefined;
    connection.on('error', (err: Error) => {
      lastError = err;
    });
    connection.on('reconnecting', () => {
      if (down || this.closed) return;
      down = true;
      // A connection that never came up was not lost: say that Redis has not been reached yet.
      const msg = everReady ? 'redis connection lost; reconnecting' : 'redis not reached yet; retrying';
      this.options.log?.warn(lastError ? { err: lastError } : {}, msg);
    });
    connection.on('ready', () => {
      if (down) this.options.log?.info(everReady ? 'redis connection back' : 'redis reached');
      down = false;
      everReady = true;
      lastError = undefined;
    });
  }
}

/** The target a revocation key names, or undefined for a key of no known kind. */
function targetOfKey(key: string): RevocationTarget | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const rest = key.slice(KEY_PREFIX.length);
  const colon = rest.indexOf(':');
  const kind = rest.slice(0, colon) as RevocationKind;
  const id = rest.slice(colon + 1);
  return colon > 0 && REVOCATION_KINDS.includes(kind) && id.length > 0 ? { kind, id } : undefined;
}

interface KeyOfToken {
  readonly kind: RevocationKind;
  readonly key: string;
}

function keysFor(claims: GatehouseClaims): KeyOfToken[] {
  const ids = tokenIds(claims);
  const keys: KeyOfToken[] = [{ kind: 'sub', key: revocationKey('sub', ids.sub) }];
  if (ids.jti !== undefined) keys.push({ kind: 'jti', key: revocationKey('jti', ids.jti) });
  if (ids.sid !== undefined) keys.push({ kind: 'sid', key: revocationKey('sid', ids.sid) });
  return keys;
}

function isHit(keys: readonly KeyOfToken[], values: readonly (string | null)[], claims: GatehouseClaims, clockToleranceMs: number): boolean {
  return keys.some(({ kind }, i) => {
    const value = values[i];
    if (value === null || value === undefined) return false;
    if (kind !== 'sub') return true;
    const at = Number(value);
    // An unreadable moment cannot prove the token newer: treat it as covering everything.
    return !Number.isFinite(at) || subRevocationCovers(at, claims, clockToleranceMs);
  });
}
