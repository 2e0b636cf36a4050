import type { Clock } from '../clock';
import type { RedisConnection } from '../redis/connection';
import { isGrantRecord, type GrantRecord } from './record';
import type { GrantStore, PutOutcome } from './store';

/**
 * Every record shares the hash tag `{gatehouse}` with the revocation keys: one slot on a Redis Cluster, so one script
 * and one MGET reach many users' records at once.
 */
const KEY_PREFIX = '{gatehouse}:gr:';

/** The Redis key of a user's grant record. */
export function grantKey(sub: string): string {
  return `${KEY_PREFIX}${sub}`;
}

/** Records per script call or MGET: a large batch is cut into calls that each hold Redis for a short while. */
const CHUNK = 1000;

/**
 * Compare-and-set of many records in one slot: for each key, ARGV holds the new version, the record's JSON and its
 * lifetime (ms). A key whose stored version (`v`) is at least the new one keeps its record and answers that version;
 * otherwise the record is written and the answer is 0. A stored value that is not a record is overwritten.
 */
const PUT_SCRIPT = `
local answers = {}
for i, key in ipairs(KEYS) do
  local version = tonumber(ARGV[3 * i - 2])
  local current = redis.call('GET', key)
  local held = 0
  if current then
    local ok, record = pcall(cjson.decode, current)
    if ok and type(record) == 'table' and type(record.v) == 'number' then held = record.v end
  end
  if held >= version then
    answers[i] = held
  else
    redis.call('SET', key, ARGV[3 * i - 1], 'PX', ARGV[3 * i])
    answers[i] = 0
  end
end
return answers
`;

/**
 * One step of reading every record: a SCAN step over the record keys with each one's value. KEYS[1] (a key of the
 * `{gatehouse}` slot) only routes the script to that slot's master on a cluster. ARGV: cursor, pattern, count.
 * Returns the next cursor, then key and value pairs; a key of another type is skipped.
 */
const LOAD_SCRIPT = `
local scan = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local out = { scan[1] }
for _, key in ipairs(scan[2]) do
  local value = redis.pcall('GET', key)
  if type(value) == 'string' then
    out[#out + 1] = key
    out[#out + 1] = value
  end
end
return out
`;

/** Most SCAN steps one load takes (1,000 keys asked each): a bound, not an expected size. */
const MAX_LOAD_STEPS = 100_000;

type PutCommand = (...args: string[]) => Promise<number[]>;
type LoadCommand = (route: string, cursor: string, pattern: string, count: string) => Promise<string[]>;

/**
 * RedisGrantStore keeps grant records in Redis or a Redis Cluster, on the node's command connection (no offline
 * queue: while Redis is away a call fails at once, or after `timeoutMs`). Each record is one JSON string
 * `{"v": version, "c": channels, "x": expiresAt}` that expires with its `keepUntil`.
 */
export class RedisGrantStore implements GrantStore {
  readonly shared = true;
  private readonly putCommand: PutCommand;
  private readonly loadCommand: LoadCommand;
  private readonly listeners: (() => void)[] = [];
  private seenReady: boolean;

  constructor(
    private readonly connection: RedisConnection,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {
    connection.defineCommand('gatehouseGrantsPut', { lua: PUT_SCRIPT });
    const command: unknown = Reflect.get(connection, 'gatehouseGrantsPut');
    if (typeof command !== 'function') throw new Error('ioredis has no command gatehouseGrantsPut');
    this.putCommand = command.bind(connection) as PutCommand;
    connection.defineCommand('gatehouseGrantsLoad', { numberOfKeys: 1, lua: LOAD_SCRIPT });
    const load: unknown = Reflect.get(connection, 'gatehouseGrantsLoad');
    if (typeof load !== 'function') throw new Error('ioredis has no command gatehouseGrantsLoad');
    this.loadCommand = load.bind(connection) as LoadCommand;
    this.seenReady = connection.status === 'ready';
    connection.on('ready', this.onReadyOnce);
  }

  async put(records: readonly GrantRecord[], keepUntil: (record: GrantRecord) => number): Promise<PutOutcome[]> {
    const outcomes: PutOutcome[] = [];
    const now = this.clock.now();
    for (let i = 0; i < records.length; i += CHUNK) {
      const chunk = records.slice(i, i + CHUNK);
      const args: string[] = [String(chunk.length), ...chunk.map((r) => grantKey(r.sub))];
      for (const record of chunk) {
        const ttl = Math.max(1, Math.ceil(Math.max(record.expiresAt, keepUntil(record)) - now));
        args.push(String(record.version), JSON.stringify({ v: record.version, c: record.channels, x: record.expiresAt }), String(ttl));
      }
      const answers = await this.bounded(this.putCommand(...args));
      for (const held of answers) outcomes.push(held === 0 ? { stored: true } : { stored: false, current: Number(held) });
    }
    return outcomes;
  }

  async get(subs: readonly string[]): Promise<(GrantRecord | undefined)[]> {
    const records: (GrantRecord | undefined)[] = [];
    for (let i = 0; i < subs.length; i += CHUNK) {
      const chunk = subs.slice(i, i + CHUNK);
      const values = await this.bounded(this.connection.mget(...chunk.map(grantKey)));
      values.forEach((value, j) => records.push(parseRecord(chunk[j], value)));
    }
    return records;
  }

  async all(): Promise<GrantRecord[]> {
    const records: GrantRecord[] = [];
    let cursor = '0';
    for (let step = 0; step < MAX_LOAD_STEPS; step++) {
      const [next, ...pairs] = await this.bounded(this.loadCommand(grantKey(''), cursor, `${KEY_PREFIX}*`, '1000'));
      for (let i = 0; i + 1 < pairs.length; i += 2) {
        const record = parseRecord(pairs[i].slice(KEY_PREFIX.length), pairs[i + 1]);
        if (record) records.push(record);
      }
      cursor = String(next);
      if (cursor === '0') break;
    }
    return records;
  }

  onReconnect(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(): Promise<void> {
    this.connection.off('ready', this.onReadyOnce);
    this.listeners.length = 0;
    return Promise.resolve();
  }

  /** The connection's first `ready` is the start, not a reconnect. */
  private readonly onReadyOnce = () => {
    if (!this.seenReady) {
      this.seenReady = true;
      return;
    }
    for (const listener of this.listeners) listener();
  };

  private async bounded<T>(operation: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    operation.catch(() => undefined);
    try {
      return await Promise.race([
        operation,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis did not answer within ${this.timeoutMs}ms`)), this.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function parseRecord(sub: string, value: string | null): GrantRecord | undefined {
  if (value === null) return undefined;
  try {
    const stored = JSON.parse(value) as { v?: unknown; c?: unknown; x?: unknown };
    const record = { sub, version: stored.v, channels: stored.c ?? null, expiresAt: stored.x };
    return isGrantRecord(record) ? record : undefined;
  } catch {
    return undefined;
  }
}
