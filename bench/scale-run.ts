/**
 * `npm run bench -- --scale=N[,N…]`: Gatehouse with workers holding N authenticated connections on this one machine.
 * For each N, from scratch: a redis-server on a free port, the gateway as deployed (dist/, `GATEHOUSE_WORKERS`, default
 * 6, the flood limits at their defaults) and enough load generators (each under 17,000 sockets) whose clients spread
 * over 2,000 source addresses (127.0.1.1…127.0.8.250) and reconnect as the browser client does. Measures the ramp, memory
 * and idle CPU at N, one renewal of every token, one broadcast to all N, one revocation, a reconnect storm (one
 * worker SIGKILLed) and a graceful restart (SIGTERM to the primary, then a new one); prints one table, writes JSON
 * and an SVG of the per-connection figures against N under bench-results/. BENCHMARKS.md has the method.
 *
 *   npm run bench -- --scale=100000                one N
 *   npm run bench -- --scale=10000,30000,100000    cost growth (the chart)
 *   options: --workers=W  --renew=SECONDS (else from N)  --phases=renewal,broadcast,revocation,storm,restart  --sched=none|rr
 *            --set=GATEHOUSE_NAME=value,…  (gateway settings instead of the defaults)
 *            --clients-nice=N  (the load generators' niceness, default 0; 10 lets the gateway have the cores first)
 *            --profile=DIR  (a V8 CPU profile of every gateway process, written to DIR as each exits)
 *            --out=DIR  --no-build
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { cpuSnapshot, cpuSplit, formatSplit, type CpuSnapshot } from './cpu-split';
import { buildBench, buildDeployed, builtBench, ROOT, type Built } from './build';
import { cpuMicros, rssBytes } from './proc';
import { freePort, killAllChildren, LoadGenerator, ServerProcess, startRedis, stopRedis } from './processes';
import { quantile } from './stats';
import { table } from './report';
import { launch, type RunContext } from './systems';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wallNow = () => performance.timeOrigin + performance.now();
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Most sockets one load generator holds: under the 20,000-descriptor limit with room for its other files. */
const PER_LOADGEN = 14_500;
/** Source addresses the clients spread over, so no (source, destination) pair runs out of ephemeral ports. */
/**
 * 2,000, so that at 100,000 each address holds 50 clients: even if all of one address's clients reconnect in the
 * same second to the same worker, they stay within the per-address handshake rate, as real clients spread over real
 * addresses do. A shared address's clients are the flood limits' own business, tested elsewhere.
 */
const ADDRESSES = Array.from({ length: 2000 }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
/** Handshakes in flight at once over all load generators during the ramp. */
const RAMP_CONCURRENCY = 256;
/** Users revoked one after another at N (their clients stay away, as the client does after a revocation). */
const REVOKES = 20;
/** Longest wait for every client to come back after the graceful restart, ms. */
const RESTART_WAIT_MS = 420_000;
/** The storm's CPU split is reported for its first this many ms as well as until every client is back. */
const STORM_FIRST_MS = 5000;
/**
 * The idle window when the renewal phase does not bound it: its length, and the earliest it starts after the ramp
 * began, ms. A group's idle CPU is not steady for a minute or more after its sockets connect (for one, the workers'
 * first major collections come in a wave that can raise a 10 s reading by half), so runs whose ramps differ in length
 * compare only at the same age, over a window long enough to average such a wave in.
 */
const IDLE_WINDOW_MS = 30_000;
const IDLE_AGE_MS = 90_000;
/** Longest a whole --scale run may take before every child is killed, s. */
const RUN_LIMIT_S = 5400;

/** The phases after the ramp, memory and idle window, which every run measures. */
const SCALE_PHASES = ['renewal', 'broadcast', 'revocation', 'storm', 'restart'] as const;

export interface ScaleOptions {
  readonly sizes: number[];
  readonly workers: number;
  readonly renewS?: number;
  readonly outDir: string;
  readonly build: boolean;
  /** Node's cluster scheduling (NODE_CLUSTER_SCHED_POLICY): `none`, the kernel hands connections out (Gatehouse's default), or `rr`. */
  readonly sched: 'rr' | 'none';
  /** The phases after the idle window to run (--phases=renewal,broadcast,revocation,storm,restart; default all). */
  readonly phases: ReadonlySet<string>;
  /** Gateway settings to run with instead of the defaults (--set=GATEHOUSE_X=v,GATEHOUSE_Y=w), to compare tunings. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The load generators' niceness (--clients-nice=N, 0–19; default 0). The clients stand in for other machines: on
   * one box they take the gateway's cores just when it is busiest (a storm), which no deployment sees, and at 10 they
   * yield them. Not the default: at 100,000 on 2 cores the clients then starve, miss their handshake timeouts, and
   * the ramp and the returns measure them instead. The prober, which measures, and Redis keep the gateway's priority.
   */
  readonly clientsNice: number;
  /** Where every gateway process writes its V8 CPU profile as it exits (--profile=DIR; workers inherit the flags). */
  readonly profileDir?: string;
}

export function parseScaleOptions(argv: string[]): ScaleOptions | undefined {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const scale = value('scale');
  if (scale === undefined) return undefined;
  const sizes = scale.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 10)) throw new Error(`--scale=${scale}: give whole numbers of connections ≥ 10, comma-separated`);
  const workers = Number(value('workers') ?? 6);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error('--workers must be a whole number from 1 to 64');
  const renew = value('renew');
  const phases = value('phases')?.split(',').filter(Boolean) ?? [...SCALE_PHASES];
  for (const p of phases) if (!(SCALE_PHASES as readonly string[]).includes(p)) throw new Error(`unknown phase "${p}"; choose from ${SCALE_PHASES.join(', ')}`);
  return {
    sizes,
    workers,
    renewS: renew === undefined ? undefined : Number(renew),
    outDir: value('out') ?? join(ROOT, 'bench-results'),
    build: !argv.includes('--no-build'),
    phases: new Set(phases),
    sched: value('sched') === 'rr' ? 'rr' : 'none',
    env: parseSettings(value('set')),
    profileDir: value('profile'),
    clientsNice: niceOf(value('clients-nice')),
  };
}

function niceOf(text: string | undefined): number {
  const nice = Number(text ?? 0);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new Error(`--clients-nice=${text}: give a whole number from 0 to 19`);
  return nice;
}

function parseSettings(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text?.split(',').filter(Boolean) ?? []) {
    const m = /^(GATEHOUSE_[A-Z0-9_]+)=(.*)$/.exec(pair);
    if (!m) throw new Error(`--set: "${pair}" is not GATEHOUSE_NAME=value`);
    env[m[1]] = m[2];
  }
  return env;
}

// --- what the bench reads of the gateway's processes -------------------------------------------------------------

/** The processes whose parent is `ppid` (a primary's workers), from /proc. */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const sumOver = (pids: number[], read: (pid: number) => number) =>
  pids.reduce((sum, pid) => {
    try {
      return sum + read(pid);
    } catch {
      return sum; // a worker that died since the list was taken
    }
  }, 0);

const descriptorLimit = () => Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;

const memAvailable = () => {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : freemem();
};

/** One series of `gatehouse_upgrades_refused_total`: a worker's refusals for one reason so far. */
interface RefusalCount {
  readonly node: string;
  readonly reason: string;
  readonly count: number;
}

class Gateway {
  server: ServerProcess;
  /** Every worker pid seen, so a run that is aborted can still end them. */
  readonly seen = new Set<number>();

  constructor(
    private readonly argv: string[],
    private readonly env: Record<string, string>,
    readonly port: number,
    readonly adminPort: number,
    readonly adminKey: string,
  ) {
    this.server = this.spawn();
  }

  private spawn(): ServerProcess {
    return new ServerProcess('gatehouse-workers', this.port, this.argv, this.env, undefined);
  }

  /** A new primary on the same port (after the old one exited). */
  restart(): void {
    this.server = this.spawn();
  }

  workers(): number[] {
    const pids = childrenOf(this.server.pid);
    for (const p of pids) this.seen.add(p);
    return pids;
  }

  pids(): number[] {
    return [this.server.pid, ...this.workers()];
  }

  cpu(): number {
    return sumOver(this.pids(), cpuMicros);
  }

  rss(): number {
    return sumOver(this.pids(), rssBytes);
  }

  private metrics(): Promise<string> {
    return fetch(`http://127.0.0.1:${this.adminPort}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text());
  }

  /** V8 heap used, summed over the workers (prom-client's aggregation of nodejs_heap_size_used_bytes), from /metrics. */
  async heapUsed(): Promise<number> {
    const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([\d.e+]+)/m.exec(await this.metrics());
    return m ? Number(m[1]) : NaN;
  }

  /** Garbage collection so far over the workers: seconds of pauses, and how many were major (mark-compact). */
  async gc(): Promise<{ seconds: number; major: number }> {
    const totals = { seconds: 0, major: 0 };
    for (const m of (await this.metrics()).matchAll(/^nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"[^}]*\} ([\d.e+-]+)$/gm)) {
      if (m[1] === 'sum') totals.seconds += Number(m[3]);
      else if (m[2] === 'major') totals.major += Number(m[3]);
    }
    return totals;
  }

  /** Upgrades refused so far, by worker and reason (`gatehouse_upgrades_refused_total`, one series per worker). */
  async refusals(): Promise<RefusalCount[]> {
    const text = await this.metrics();
    const rows: RefusalCount[] = [];
    for (const m of text.matchAll(/^gatehouse_upgrades_refused_total\{([^}]*)\} ([\d.e+]+)$/gm)) {
      const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[1])?.[1] ?? '';
      rows.push({ node: label('node'), reason: label('reason'), count: Number(m[2]) });
    }
    return rows;
  }

  async admin(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const r = await fetch(`http://127.0.0.1:${this.adminPort}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: r.status, body: await r.json().catch(() => undefined) };
  }

  killAll(): void {
    for (const pid of [this.server.pid, ...this.seen]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

// --- the load generators as one ----------------------------------------------------------------------------------

interface LoadStats {
  clients: number;
  authenticated: number;
  stopped: number;
  setAuthToken: number;
  removeAuthToken: number;
  failures: Record<string, number>;
  closes: Record<string, number>;
  floodRefusals: number;
  subscribeFailures: number;
  authsBySecond: Record<string, number>;
}

const addCounts = (into: Record<string, number>, from: Record<string, number>, sign = 1) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + sign * v;
  return into;
};

class Loads {
  constructor(readonly gens: LoadGenerator[]) {}

  async stats(): Promise<LoadStats> {
    const all = await Promise.all(this.gens.map((g) => g.call<LoadStats>('scaleStats', {}, 60_000)));
    const sum: LoadStats = {
      clients: 0,
      authenticated: 0,
      stopped: 0,
      setAuthToken: 0,
      removeAuthToken: 0,
      failures: {},
      closes: {},
      floodRefusals: 0,
      subscribeFailures: 0,
      authsBySecond: {},
    };
    for (const s of all) {
      for (const k of ['clients', 'authenticated', 'stopped', 'setAuthToken', 'removeAuthToken', 'floodRefusals', 'subscribeFailures'] as const) sum[k] += s[k];
      addCounts(sum.failures, s.failures);
      addCounts(sum.closes, s.closes);
      addCounts(sum.authsBySecond, s.authsBySecond);
    }
    return sum;
  }
}

/** Counts in `b` that were not in `a` (zeros left out). */
const diffCounts = (b: Record<string, number>, a: Record<string, number>) =>
  Object.fromEntries(Object.entries(addCounts({ ...b }, a, -1)).filter(([, v]) => v !== 0));

/** The highest per-second authentication count in [fromMs, toMs]. */
function peakPerSecond(bySecond: Record<string, number>, fromMs: number, toMs: number): number {
  let peak = 0;
  for (const [s, n] of Object.entries(bySecond)) if (Number(s) * 1000 >= fromMs - 999 && Number(s) * 1000 <= toMs) peak = Math.max(peak, n);
  return peak;
}

const pct = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: quantile(sorted, 0), p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: quantile(sorted, 1), n: sorted.length };
};

const fmtDelay = (d?: { p99: number; max: number }) => (d ? `${d.p99.toFixed(0)}/${d.max.toFixed(0)}` : '—');

/**
 * The `count` seconds with the highest p99 publish latency, counted from `fromClock` by when each message was
 * published: shows whether a storm's tail is one burst (a worker starting, say) or lasts as long as the storm.
 */
function worstSeconds(latencies: number[], sentAt: number[], fromClock: number, count: number): { s: number; p99: number; max: number; n: number }[] {
  const bins = new Map<number, number[]>();
  latencies.forEach((ms, i) => {
    const s = Math.floor((sentAt[i] - fromClock) / 1000);
    const bin = bins.get(s) ?? [];
    bin.push(ms);
    bins.set(s, bin);
  });
  return [...bins]
    .map(([s, values]) => ({ s, ...pct(values) }))
    .sort((a, b) => b.p99 - a.p99)
    .slice(0, count)
    .map(({ s, p99, max, n }) => ({ s, p99, max, n }));
}

/**
 * Upgrades refused between two scrapes, by reason, over the workers that lived through both and over the workers
 * started between them (the killed worker's series is gone by the second).
 */
function refusalsBetween(before: readonly RefusalCount[], after: readonly RefusalCount[]) {
  const oldNodes = new Set(before.map((r) => r.node));
  const was = new Map(before.map((r) => [`${r.node} ${r.reason}`, r.count]));
  const survivors: Record<string, number> = {};
  const newWorkers: Record<string, number> = {};
  for (const r of after) {
    const into = oldNodes.has(r.node) ? survivors : newWorkers;
    const count = r.count - (was.get(`${r.node} ${r.reason}`) ?? 0);
    if (count > 0) into[r.reason] = (into[r.reason] ?? 0) + count;
  }
  return { survivors, newWorkers };
}

/** Seconds until `share` of the `dropped` clients were back, counted from the sample where the most were missing. */
function backBy(missing: readonly { s: number; clients: number }[], dropped: number, share: number): number | null {
  const worst = missing.reduce((w, m, i) => (m.clients > missing[w].clients ? i : w), 0);
  return missing.slice(worst).find((m) => m.clients <= dropped * (1 - share))?.s ?? null;
}

/** Polls `check` every `everyMs` until it returns a value or `withinMs` passes (then undefined). */
async function until<T>(check: () => Promise<T | undefined>, withinMs: number, everyMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

// --- one N --------------------------------------------------------------------------------------------------------

type Figures = Record<string, unknown> & { failed?: string; limitNote?: string };

async function redisInfo(redis: Redis) {
  const text = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { used: field('used_memory'), rss: field('used_memory_rss') };
}

async function scaleOnce(n: number, opts: ScaleOptions, built: Built): Promise<Figures> {
  const f: Figures = { n, workers: opts.workers, loadAvg: { start: loadavg() } };
  const errors: Record<string, string> = {};
  f.errors = errors;
  const limit = descriptorLimit();
  if (n / opts.workers > limit - 500) {
    f.limitNote = `${n} connections over ${opts.workers} workers is ${Math.ceil(n / opts.workers)} a worker, above the ${limit}-descriptor limit less headroom`;
  }
  // Renewal is due 0.8–1.0 × the interval after a socket authenticated: the ramp and an idle window must fit before 0.78 ×.
  // The ramp meets the gateway's handshake pacing, which lets a group of workers on two cores in at a few hundred a
  // second. Without the renewal phase the interval is an hour, so that no renewal falls in the quiet or storm windows.
  const renewS = opts.renewS ?? (opts.phases.has('renewal') ? Math.max(60, Math.ceil((n / 200 + 30) / 0.78)) : 3600);
  f.renewIntervalS = renewS;
  const redis = await startRedis(undefined);
  const redisClient = new Redis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const redisCpu = () => cpuMicros(redis.pid!);
  const ctx: RunContext = {
    secret: randomBytes(32).toString('base64url'),
    redisUrl: redis.url,
    adminKey: randomBytes(24).toString('base64url'),
    issuer: 'bench-issuer',
    audience: 'bench-audience',
  };
  const port = await freePort();
  const adminPort = await freePort();
  const env = {
    ...launch('gatehouse-redis', built, port, ctx).env,
    GATEHOUSE_WORKERS: String(opts.workers),
    GATEHOUSE_ADMIN_PORT: String(adminPort),
    GATEHOUSE_RENEW_INTERVAL: `${renewS}s`,
    GATEHOUSE_TOKEN_TTL: `${Math.max(renewS * 3, 900)}s`,
    GATEHOUSE_SHUTDOWN_TIMEOUT: '30s',
    GATEHOUSE_LOG_LEVEL: 'warn',
    // Set only to override: the gateway's own default is the kernel's scheduling.
    ...(opts.sched === 'rr' ? { NODE_CLUSTER_SCHED_POLICY: 'rr' } : {}),
  } as Record<string, string>;
  // The flood limits stay at their defaults (256 open, 50 a second per address and worker): the clients spread over
  // 2,000 source addresses, so a legitimate client is never over them, which the storm checks. So does the node's
  // handshake pacing, which the storm and the restart lean on.
  delete env.GATEHOUSE_MAX_CONNECTIONS_PER_IP;
  delete env.GATEHOUSE_HANDSHAKE_RATE_PER_IP;
  delete env.GATEHOUSE_MAX_HANDSHAKE_RATE;
  delete env.GATEHOUSE_MAX_LOOP_DELAY;
  for (const [name, value] of Object.entries(opts.env)) env[name] = value;
  const profile = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const gateway = new Gateway([process.execPath, ...profile, built.gatehouse, 'start'], env, port, adminPort, ctx.adminKey);
  const gens = Array.from({ length: Math.max(2, Math.ceil(n / PER_LOADGEN)) }, () => new LoadGenerator(built.loadgen, undefined, opts.clientsNice));
  const loads = new Loads(gens);
  f.loadGenerators = gens.length;
  // The storm's publishers and subscribers live in a process of their own, so their latency is not the wait behind
  // thousands of reconnecting clients in the same event loop.
  const prober = new LoadGenerator(built.loadgen, undefined);
  const url = `ws://127.0.0.1:${port}/socketcluster/`;
  const prefix = `scale-${randomBytes(3).toString('hex')}`;
  let minAvailable = memAvailable();
  const memWatch = setInterval(() => (minAvailable = Math.min(minAvailable, memAvailable())), 1000);
  const loadSamples: number[] = [];
  const loadWatch = setInterval(() => loadSamples.push(loadavg()[0]), 5000);
  try {
    await gateway.server.ready(60_000);
    await Promise.all([...gens, prober].map((g) => g.call('init', { secret: ctx.secret, iss: ctx.issuer, aud: ctx.audience }, 10_000)));
    await sleep(1000);
    const base = { rss: gateway.rss(), heap: await gateway.heapUsed(), redis: await redisInfo(redisClient) };
    f.base = { gatewayRssMiB: base.rss / 2 ** 20, gatewayHeapMiB: base.heap / 2 ** 20, redisUsedMiB: base.redis.used / 2 ** 20 };

    // 1. Ramp: every client connects and authenticates.
    log(`  ${n}: ramp (${gens.length} load generators, ${opts.workers} workers, renewal every ${renewS} s)`);
    const share = Math.ceil(n / gens.length);
    const rampStart = wallNow();
    const rampCpu0 = { gw: gateway.cpu(), redis: redisCpu() };
    const opened = await Promise.all(
      gens.map((g, j) =>
        g.call<{ authenticated: number; wallMs: number; failures: Record<string, number> }>(
          'scaleOpen',
          {
            url,
            n: Math.max(0, Math.min(share, n - j * share)),
            offset: j * share,
            prefix,
            addresses: ADDRESSES,
            concurrency: Math.ceil(RAMP_CONCURRENCY / gens.length),
            waitMs: 60_000,
            connectTimeoutMs: 30_000,
          },
          Math.max(300_000, n * 10),
        ),
      ),
    );
    const rampEnd = wallNow();
    const rampCpu1 = { gw: gateway.cpu(), redis: redisCpu() };
    const held = opened.reduce((s, o) => s + o.authenticated, 0);
    const afterRamp = await loads.stats();
    f.held = held;
    f.ramp = {
      seconds: (rampEnd - rampStart) / 1000,
      handshakesPerSecond: held / ((rampEnd - rampStart) / 1000),
      peakPerSecond: peakPerSecond(afterRamp.authsBySecond, rampStart, rampEnd),
      // Everything the gateway did during the ramp (pings of the sockets already open included), per handshake.
      gatewayCpuUsPerHandshake: (rampCpu1.gw - rampCpu0.gw) / Math.max(1, held),
      redisCpuUsPerHandshake: (rampCpu1.redis - rampCpu0.redis) / Math.max(1, held),
      failures: afterRamp.failures,
    };
    log(`  ${n}: ${held} authenticated in ${((rampEnd - rampStart) / 1000).toFixed(1)} s`);
    if (held < n) {
      f.shortfall = {
        missing: n - held,
        failures: afterRamp.failures,
        memAvailableMiB: memAvailable() / 2 ** 20,
        descriptorLimit: limit,
        perWorker: Math.ceil(n / opts.workers),
      };
    }

    // 2. Memory at N.
    await sleep(3000);
    const at = { rss: gateway.rss(), heap: await gateway.heapUsed(), redis: await redisInfo(redisClient) };
    f.memory = {
      gatewayRssMiB: at.rss / 2 ** 20,
      gatewayHeapMiB: at.heap / 2 ** 20,
      rssPerConn: (at.rss - base.rss) / held,
      heapPerConn: (at.heap - base.heap) / held,
      redisUsedMiB: at.redis.used / 2 ** 20,
      redisRssMiB: at.redis.rss / 2 ** 20,
      redisBytesPerConn: (at.redis.used - base.redis.used) / held,
      workerRssMiB: gateway.workers().map((p) => rssBytes(p) / 2 ** 20),
    };

    // 3. Idle CPU, up to just before the first renewals are due.
    const quietEnd = rampStart + renewS * 1000 * 0.78;
    if (!opts.phases.has('renewal')) await sleep(Math.max(0, rampStart + IDLE_AGE_MS - wallNow()));
    const q0 = { gw: gateway.cpu(), redis: redisCpu(), at: wallNow(), gc: await gateway.gc().catch(() => undefined) };
    // Without the renewal phase, a window of its own (the interval is then an hour, so no renewal disturbs the rest).
    await sleep(opts.phases.has('renewal') ? Math.max(3000, quietEnd - wallNow()) : IDLE_WINDOW_MS);
    const q1 = { gw: gateway.cpu(), redis: redisCpu(), at: wallNow(), gc: await gateway.gc().catch(() => undefined) };
    const idleS = (q1.at - q0.at) / 1000;
    const idleGwUsPerS = (q1.gw - q0.gw) / idleS;
    const idleRedisUsPerS = (q1.redis - q0.redis) / idleS;
    f.idle = {
      windowS: idleS,
      startedAfterRampBeganS: (q0.at - rampStart) / 1000,
      // GC pauses as % of a core (the main threads' only; concurrent marking is in the CPU figure, not here).
      gatewayGcCorePercent: q0.gc && q1.gc ? ((q1.gc.seconds - q0.gc.seconds) / idleS) * 100 : undefined,
      gatewayMajorGcs: q0.gc && q1.gc ? q1.gc.major - q0.gc.major : undefined,
      gatewayCorePercent: idleGwUsPerS / 1e4,
      gatewayCorePercentPer10k: (idleGwUsPerS / 1e4) * (10_000 / held),
      redisCorePercent: idleRedisUsPerS / 1e4,
      // Renewals that fell inside the window would inflate it: the ramp ran past 0.78 × the interval.
      renewalsInWindow: (await loads.stats()).setAuthToken,
    };

    if (opts.phases.has('renewal')) {
      // 4. Renewal: every token once, by 1.0 × the interval after the last socket authenticated.
      const r0 = (await loads.stats()).setAuthToken;
      await sleep(Math.max(0, rampEnd + renewS * 1000 * 1.02 + 1500 - wallNow()));
      const q2 = { gw: gateway.cpu(), redis: redisCpu(), at: wallNow() };
      const afterRenewal = await loads.stats();
      const renewals = afterRenewal.setAuthToken - r0;
      const windowS = (q2.at - q1.at) / 1000;
      f.renewal = {
        windowS,
        renewals,
        deauthenticated: afterRenewal.removeAuthToken,
        gatewayUsEach: (q2.gw - q1.gw - idleGwUsPerS * windowS) / Math.max(1, renewals),
        redisUsEach: (q2.redis - q1.redis - idleRedisUsPerS * windowS) / Math.max(1, renewals),
      };
      log(`  ${n}: ${renewals} renewals in ${windowS.toFixed(0)} s`);
    }

    // 5. One broadcast to every client.
    if (opts.phases.has('broadcast')) {
      try {
        const sub = await Promise.all(
          gens.map((g) => g.call<{ subscribed: number; failed: number; wallMs: number }>('scaleSubscribe', { channel: 'bench:all', concurrency: 64 }, 600_000)),
        );
        const subscribed = sub.reduce((s, x) => s + x.subscribed, 0);
        await sleep(2000);
        const bid = randomBytes(6).toString('hex');
        const g0 = gateway.cpu();
        const sentAt = wallNow();
        const answer = await gateway.admin('/admin/publish', { channel: 'bench:all', data: { bid, t: sentAt } });
        if (answer.status !== 200) throw new Error(`admin publish answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        const delivered = async () =>
          (await Promise.all(gens.map((g) => g.call<{ delivered: number }>('scaleBroadcast', { bid })))).reduce((s, x) => s + x.delivered, 0);
        await until(async () => ((await delivered()) >= subscribed ? true : undefined), 30_000, 50);
        await sleep(500); // a delivery beyond the count (a duplicate) would show here
        const cpuMs = (gateway.cpu() - g0 - idleGwUsPerS * ((wallNow() - sentAt) / 1000)) / 1000;
        const lists = await Promise.all(gens.map((g) => g.call<{ latencies: number[] }>('scaleBroadcast', { bid, latencies: true }, 60_000)));
        const latencies = lists.flatMap((l) => l.latencies);
        f.broadcast = {
          subscribed,
          delivered: latencies.length,
          // Against N, not the subscribe answers: under load an answer can time out at the client after the server
          // subscribed it (a delivery then still arrives).
          exact: latencies.length === held,
          latencyMs: pct(latencies),
          gatewayCpuMs: cpuMs,
          subscribeSeconds: Math.max(...sub.map((s) => s.wallMs)) / 1000,
        };
        log(`  ${n}: broadcast ${latencies.length}/${subscribed}, p99 ${pct(latencies).p99.toFixed(0)} ms`);
      } catch (err) {
        errors.broadcast = (err as Error).message;
        log(`  ${n}: broadcast failed: ${errors.broadcast}`);
      }
    }

    // 6. Revoking one user among N, REVOKES times one after another (clients 0, 1, …, each its own user): the
    // time to that user's close, and the gateway CPU of the whole series less the idle rate, per revocation.
    if (opts.phases.has('revocation')) {
      try {
        const closeMs: number[] = [];
        const answerMs: number[] = [];
        const codes: Record<string, number> = {};
        const g0 = gateway.cpu();
        const r0 = redisCpu();
        const t0 = wallNow();
        for (let k = 0; k < REVOKES; k++) {
          const sentAt = wallNow();
          const answer = await gateway.admin('/admin/revoke', { sub: `user-${prefix}-${k}` });
          answerMs.push(wallNow() - sentAt);
          if (answer.status !== 200) throw new Error(`admin revoke answered ${answer.status}: ${JSON.stringify(answer.body)}`);
          const closed = await until(
            async () => {
              const c = await gens[0].call<{ closedAt?: number; closeCode?: number }>('scaleClient', { index: k });
              return c.closedAt !== undefined && c.closedAt >= sentAt ? c : undefined;
            },
            10_000,
            5,
          );
          if (!closed) throw new Error(`client ${k} not closed within 10 s of its revocation`);
          closeMs.push(closed.closedAt! - sentAt);
          codes[String(closed.closeCode)] = (codes[String(closed.closeCode)] ?? 0) + 1;
        }
        await sleep(300);
        const windowS = (wallNow() - t0) / 1000;
        const cpuUs = gateway.cpu() - g0;
        f.revocation = {
          revocations: REVOKES,
          closeMs: pct(closeMs),
          answerMs: pct(answerMs),
          closeCodes: codes,
          windowS,
          gatewayCpuMsEach: (cpuUs - idleGwUsPerS * windowS) / 1000 / REVOKES,
          // What the subtraction is taken from: a small difference of two large figures at large N.
          gatewayCpuMsWindow: cpuUs / 1000,
          idleCpuMsWindow: (idleGwUsPerS * windowS) / 1000,
          redisCpuMsEach: (redisCpu() - r0 - idleRedisUsPerS * windowS) / 1000 / REVOKES,
        };
      } catch (err) {
        errors.revocation = (err as Error).message;
        log(`  ${n}: revocation failed: ${errors.revocation}`);
      }
    }
    const expected = held - (opts.phases.has('revocation') ? REVOKES : 0); // the revoked clients stay away

    // 7. Reconnect storm: one worker SIGKILLed.
    if (opts.phases.has('storm')) {
      try {
        const probe = await prober.call(
          'probeStart',
          { url, channel: 'bench:probe', subscribers: 30, publishers: 6, ratePerSecond: 50, addresses: ADDRESSES, prefix: `${prefix}-probe` },
          60_000,
        );
        await sleep(2000);
        await prober.call('probeMark');
        await sleep(8000);
        const quiet = await prober.call<{ latencies: number[]; clock: number; ownDelayMs?: { p99: number; max: number } }>('probeMark');
        const before = await loads.stats();
        const workers = gateway.workers();
        const victim = workers[0];
        const victimConnections = Math.round(held / opts.workers);
        const cpuGroups = () => {
          const now = gateway.workers();
          return {
            survivors: now.filter((p) => p !== victim && workers.includes(p)),
            'new worker': now.filter((p) => !workers.includes(p)),
            primary: [gateway.server.pid],
            clients: loads.gens.map((g) => g.pid),
            prober: [prober.pid],
            redis: [redis.pid!],
          };
        };
        const refusedBefore = await gateway.refusals().catch(() => undefined);
        const cpuAtKill = cpuSnapshot(cpuGroups());
        const killedAt = wallNow();
        process.kill(victim, 'SIGKILL');
        // The first seconds are the storm's worst (the crowd's first reconnect and the replacement worker's start).
        let cpuAtFirst: CpuSnapshot | undefined;
        const firstTimer = setTimeout(() => (cpuAtFirst = cpuSnapshot(cpuGroups())), STORM_FIRST_MS);
        let dropped = 0;
        const missing: { s: number; clients: number }[] = [];
        // The timer is cleared however the wait ends: a load generator that stops answering must not leave it behind.
        const back = await until(
          async () => {
            const s = await loads.stats();
            dropped = Object.values(diffCounts(s.closes, before.closes)).reduce((a, b) => a + b, 0);
            if (dropped > 0) missing.push({ s: (wallNow() - killedAt) / 1000, clients: expected - s.authenticated });
            return dropped > 0 && s.authenticated >= expected ? s : undefined;
          },
          180_000,
          200,
        ).finally(() => clearTimeout(firstTimer));
        const backAt = wallNow();
        const cpu = { first: cpuAtFirst && cpuSplit(cpuAtKill, cpuAtFirst), untilBack: cpuSplit(cpuAtKill, cpuSnapshot(cpuGroups())) };
        const refusedAfter = await gateway.refusals().catch(() => undefined);
        const storm = await prober.call<{
          latencies: number[];
          sentAt: number[];
          ownDelayMs?: { p99: number; max: number };
          subscribersUp: number;
          publishersUp: number;
        }>('probeMark');
        await prober.call('probeStop');
        const after = back ?? (await loads.stats());
        const quietP99 = pct(quiet.latencies).p99;
        const stormP99 = pct(storm.latencies).p99;
        const worst = worstSeconds(storm.latencies, storm.sentAt, quiet.clock, 5);
        f.storm = {
          killedPid: victim,
          workersBefore: workers.length,
          workersAfter: gateway.workers().length,
          clientsDropped: dropped,
          expectedAboutN: victimConnections,
          allBackSeconds: back ? (backAt - killedAt) / 1000 : null,
          // A few clients deep in their backoff (up to 20 s between attempts) decide "all"; these show the crowd.
          backSeconds: { half: backBy(missing, dropped, 0.5), p99: backBy(missing, dropped, 0.99) },
          authenticatedAtEnd: after.authenticated,
          peakHandshakesPerSecond: peakPerSecond(after.authsBySecond, killedAt, backAt),
          failures: diffCounts(after.failures, before.failures),
          closes: diffCounts(after.closes, before.closes),
          floodRefusals: after.floodRefusals - before.floodRefusals,
          probe,
          probeSurvivors: { subscribers: storm.subscribersUp, publishers: storm.publishersUp },
          publishMs: { quiet: pct(quiet.latencies), storm: pct(storm.latencies) },
          p99Ratio: stormP99 / quietP99,
          worstSeconds: worst,
          proberLoopDelayMs: { quiet: quiet.ownDelayMs, storm: storm.ownDelayMs },
          cpu,
          refused: refusedBefore && refusedAfter ? refusalsBetween(refusedBefore, refusedAfter) : null,
        };
        if (cpu.first) log(`  ${n}: storm: CPU over its first ${STORM_FIRST_MS / 1000} s: ${formatSplit(cpu.first)}`);
        log(`  ${n}: storm: CPU until all were back (or the wait ended): ${formatSplit(cpu.untilBack)}`);
        log(`  ${n}: storm: the prober's own loop delay p99/max ms, quiet ${fmtDelay(quiet.ownDelayMs)}, storm ${fmtDelay(storm.ownDelayMs)}`);
        log(
          `  ${n}: storm: worst seconds after the quiet mark (s: p99/max ms, n): ${worst.map((w) => `${w.s}: ${w.p99.toFixed(0)}/${w.max.toFixed(0)}, ${w.n}`).join('; ')}`,
        );
        log(
          `  ${n}: storm: ${dropped} dropped, back in ${back ? ((backAt - killedAt) / 1000).toFixed(1) : '—'} s, p99 ${quietP99.toFixed(1)} → ${stormP99.toFixed(1)} ms`,
        );
      } catch (err) {
        errors.storm = (err as Error).message;
        log(`  ${n}: storm failed: ${errors.storm}`);
      }
    }

    // 8. Graceful restart: SIGTERM to the primary, then a new primary on the same port.
    if (opts.phases.has('restart')) {
      try {
        await until(async () => ((await loads.stats()).authenticated >= expected ? true : undefined), 60_000, 500);
        const before = await loads.stats();
        const termAt = wallNow();
        await gateway.server.stop(60_000);
        const exitedAt = wallNow();
        const drained = await loads.stats();
        gateway.restart();
        await gateway.server.ready(60_000);
        const readyAt = wallNow();
        const series: { s: number; authenticated: number }[] = [];
        const back = await until(
          async () => {
            const s = await loads.stats();
            series.push({ s: (wallNow() - readyAt) / 1000, authenticated: s.authenticated });
            return s.authenticated >= expected ? s : undefined;
          },
          RESTART_WAIT_MS,
          500,
        );
        const after = back ?? (await loads.stats());
        const at = (share: number) => series.find((p) => p.authenticated >= share * expected)?.s ?? null;
        f.restart = {
          drainSeconds: (exitedAt - termAt) / 1000,
          authenticatedWhenPrimaryExited: drained.authenticated,
          newPrimaryReadySeconds: (readyAt - exitedAt) / 1000,
          backSecondsAfterReady: { half: at(0.5), p99: at(0.99), all: back ? series[series.length - 1].s : null },
          authenticatedAtEnd: after.authenticated,
          peakHandshakesPerSecond: peakPerSecond(after.authsBySecond, readyAt, wallNow()),
          failures: diffCounts(after.failures, before.failures),
          closes: diffCounts(after.closes, before.closes),
          floodRefusals: after.floodRefusals - before.floodRefusals,
          series: series.filter((_, i) => i % 2 === 0),
        };
        log(
          `  ${n}: restart: drained in ${((exitedAt - termAt) / 1000).toFixed(1)} s, all back ${back ? series[series.length - 1].s.toFixed(1) : '—'} s after ready`,
        );
      } catch (err) {
        errors.restart = (err as Error).message;
        log(`  ${n}: restart failed: ${errors.restart}`);
      }
    }
    f.minMemAvailableMiB = minAvailable / 2 ** 20;
    f.loadAvg = { start: (f.loadAvg as { start: number[] }).start, end: loadavg(), maxOneMinute: Math.max(...loadSamples, loadavg()[0]) };
    return f;
  } finally {
    clearInterval(memWatch);
    clearInterval(loadWatch);
    await Promise.all(gens.map((g) => g.call('scaleClose', {}, 30_000).catch(() => undefined)));
    await Promise.all([...gens, prober].map((g) => g.stop()));
    await gateway.server.stop(5000).catch(() => undefined);
    gateway.killAll();
    redisClient.disconnect();
    await stopRedis(redis);
  }
}

// --- report -------------------------------------------------------------------------------------------------------

/** The survivors' publish p99 during a storm is to stay under this many times its quiet value. */
const STORM_P99_TARGET = 10;
const stormVerdict = (ratio: unknown) =>
  typeof ratio === 'number' && Number.isFinite(ratio) ? (ratio < STORM_P99_TARGET ? `under ${STORM_P99_TARGET}×` : `over ${STORM_P99_TARGET}×`) : '—';
const num = (v: unknown, d = 0) =>
  typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—';
const get = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
const counts = (o: unknown) =>
  o && typeof o === 'object' && Object.keys(o).length > 0
    ? Object.entries(o as Record<string, number>)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : 'none';

/** The rows of the table: label, and the cell for one N. */
const ROWS: [string, (f: Figures) => string][] = [
  ['connections asked / authenticated', (f) => `${num(f.n)} / ${num(f.held)}`],
  ['workers / load generators / renewal interval s', (f) => `${num(f.workers)} / ${num(f.loadGenerators)} / ${num(f.renewIntervalS)}`],
  ['1. ramp: seconds to authenticate all', (f) => num(get(f, 'ramp.seconds'), 1)],
  ['1. ramp: handshakes/s (mean / peak second)', (f) => `${num(get(f, 'ramp.handshakesPerSecond'))} / ${num(get(f, 'ramp.peakPerSecond'))}`],
  [
    '1. ramp: gateway / Redis CPU µs per handshake',
    (f) => `${num(get(f, 'ramp.gatewayCpuUsPerHandshake'))} / ${num(get(f, 'ramp.redisCpuUsPerHandshake'), 1)}`,
  ],
  ['2. gateway RSS MiB at N (all workers + primary)', (f) => num(get(f, 'memory.gatewayRssMiB'))],
  ['2. gateway RSS / heap bytes per connection', (f) => `${num(get(f, 'memory.rssPerConn'))} / ${num(get(f, 'memory.heapPerConn'))}`],
  ['2. Redis used_memory / RSS MiB at N', (f) => `${num(get(f, 'memory.redisUsedMiB'), 1)} / ${num(get(f, 'memory.redisRssMiB'), 1)}`],
  [
    '3. idle CPU, gateway % of a core (per 10k)',
    (f) =>
      `${num(get(f, 'idle.gatewayCorePercent'), 1)} (${num(get(f, 'idle.gatewayCorePercentPer10k'), 2)})`
      + (idleClean(f) ? '' : `, NOT idle: ${num(get(f, 'idle.renewalsInWindow'))} renewals by then`),
  ],
  [
    '3. idle: window s, from the ramp start s; GC pauses % of a core (major)',
    (f) =>
      `${num(get(f, 'idle.windowS'))}, ${num(get(f, 'idle.startedAfterRampBeganS'))}; `
      + `${num(get(f, 'idle.gatewayGcCorePercent'), 1)} (${num(get(f, 'idle.gatewayMajorGcs'))})`,
  ],
  ['3. idle CPU, Redis % of a core', (f) => num(get(f, 'idle.redisCorePercent'), 2)],
  ['4. renewal: window s / renewals', (f) => `${num(get(f, 'renewal.windowS'))} / ${num(get(f, 'renewal.renewals'))}`],
  ['4. renewal: gateway / Redis CPU µs each', (f) => `${num(get(f, 'renewal.gatewayUsEach'), 1)} / ${num(get(f, 'renewal.redisUsEach'), 1)}`],
  [
    '5. broadcast to all: delivered / N (subscribe answers)',
    (f) => `${num(get(f, 'broadcast.delivered'))} / ${num(f.held)} (${num(get(f, 'broadcast.subscribed'))})`,
  ],
  [
    '5. broadcast: publish→last delivery p50 / p99 / max ms',
    (f) => `${num(get(f, 'broadcast.latencyMs.p50'))} / ${num(get(f, 'broadcast.latencyMs.p99'))} / ${num(get(f, 'broadcast.latencyMs.max'))}`,
  ],
  [
    '6. revoke one user (×20): ms to its close p50 / max; gateway CPU ms each',
    (f) => `${num(get(f, 'revocation.closeMs.p50'), 1)} / ${num(get(f, 'revocation.closeMs.max'), 1)}; ${num(get(f, 'revocation.gatewayCpuMsEach'), 1)}`,
  ],
  [
    '7. storm: clients dropped / s until 50 % / 99 % / all re-authenticated',
    (f) =>
      `${num(get(f, 'storm.clientsDropped'))} / ${num(get(f, 'storm.backSeconds.half'), 1)} / ${num(get(f, 'storm.backSeconds.p99'), 1)} / ${num(get(f, 'storm.allBackSeconds'), 1)}`,
  ],
  ['7. storm: peak handshakes/s', (f) => num(get(f, 'storm.peakHandshakesPerSecond'))],
  ['7. storm: failures by name', (f) => counts(get(f, 'storm.failures'))],
  ['7. storm: 503s by reason, survivors; new worker', (f) => `${counts(get(f, 'storm.refused.survivors'))}; ${counts(get(f, 'storm.refused.newWorkers'))}`],
  ['7. storm: refused by flood limits', (f) => num(get(f, 'storm.floodRefusals'))],
  [
    '7. storm: survivors publish p99 quiet → storm ms (ratio)',
    (f) =>
      `${num(get(f, 'storm.publishMs.quiet.p99'), 1)} → ${num(get(f, 'storm.publishMs.storm.p99'), 1)} (${num(get(f, 'storm.p99Ratio'), 1)}×: ${stormVerdict(get(f, 'storm.p99Ratio'))})`,
  ],
  [
    `7. storm: first ${STORM_FIRST_MS / 1000} s, % of a core: survivors / new worker / clients; machine busy`,
    (f) => {
      const share = (group: string) => get(f, `storm.cpu.first.percentOfCore.${group}`);
      return `${num(share('survivors'))} / ${num(share('new worker'))} / ${num(Number(share('clients')) + Number(share('prober')))}; ${num(get(f, 'storm.cpu.first.machineBusyPercent'))} %`;
    },
  ],
  ['8. restart: drain s (SIGTERM → primary exit)', (f) => num(get(f, 'restart.drainSeconds'), 1)],
  [
    '8. restart: s after new primary ready to 50 % / 99 % / all back',
    (f) =>
      `${num(get(f, 'restart.backSecondsAfterReady.half'), 1)} / ${num(get(f, 'restart.backSecondsAfterReady.p99'), 1)} / ${num(get(f, 'restart.backSecondsAfterReady.all'), 1)}`,
  ],
  ['8. restart: failures by name', (f) => counts(get(f, 'restart.failures'))],
  ['lowest MemAvailable during the run, MiB', (f) => num(f.minMemAvailableMiB)],
  [
    'load average 1-min: start / max / end',
    (f) => `${num(get(f, 'loadAvg.start.0'), 2)} / ${num(get(f, 'loadAvg.maxOneMinute'), 2)} / ${num(get(f, 'loadAvg.end.0'), 2)}`,
  ],
];

const idleClean = (f: Figures) => get(f, 'idle.renewalsInWindow') === 0;

/** The per-connection figures the chart draws against N: each should stay flat if its total grows linearly. */
const SERIES: { label: string; unit: string; value: (f: Figures) => unknown }[] = [
  { label: 'gateway RSS per connection', unit: 'bytes', value: (f) => get(f, 'memory.rssPerConn') },
  { label: 'gateway heap per connection', unit: 'bytes', value: (f) => get(f, 'memory.heapPerConn') },
  // Left out where renewals fell in the idle window (a ramp longer than the interval allowed): both are wrong then.
  { label: 'idle gateway CPU per 10k connections', unit: '% of a core', value: (f) => (idleClean(f) ? get(f, 'idle.gatewayCorePercentPer10k') : undefined) },
  { label: 'renewal CPU each', unit: 'µs', value: (f) => (idleClean(f) ? get(f, 'renewal.gatewayUsEach') : undefined) },
  { label: 'broadcast to all, p99', unit: 'ms', value: (f) => get(f, 'broadcast.latencyMs.p99') },
  { label: 'ramp handshakes per second', unit: '/s', value: (f) => get(f, 'ramp.handshakesPerSecond') },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A hand-written SVG: one panel per figure, its value at each N (x linear in N, y from 0). */
export function chart(results: Figures[], title: string): string {
  const W = 330;
  const H = 210;
  const cols = 3;
  const pad = { l: 58, r: 14, t: 36, b: 34 };
  const parts: string[] = [];
  const maxN = Math.max(...results.map((r) => Number(r.n)));
  SERIES.forEach((s, i) => {
    const x0 = (i % cols) * W;
    const y0 = 30 + Math.floor(i / cols) * H;
    const pts = results
      .map((r) => ({ n: Number(r.n), v: Number(s.value(r)) }))
      .filter((p) => Number.isFinite(p.v))
      .sort((a, b) => a.n - b.n);
    const maxV = Math.max(1e-9, ...pts.map((p) => p.v)) * 1.15;
    const px = (n: number) => x0 + pad.l + (n / maxN) * (W - pad.l - pad.r);
    const py = (v: number) => y0 + H - pad.b - (Math.max(0, v) / maxV) * (H - pad.t - pad.b);
    parts.push(`<text x="${x0 + pad.l}" y="${y0 + 20}" font-size="12" font-weight="bold">${esc(s.label)} (${esc(s.unit)})</text>`);
    parts.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(maxN)}" y2="${py(0)}" stroke="#444"/>`);
    parts.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${y0 + pad.t}" stroke="#444"/>`);
    for (const k of [0, 0.5, 1]) {
      const v = (maxV / 1.15) * k;
      parts.push(`<text x="${px(0) - 4}" y="${py(v) + 4}" font-size="10" text-anchor="end">${esc(k === 0 ? '0' : num(v, v < 10 ? 2 : 0))}</text>`);
    }
    for (const r of results) parts.push(`<text x="${px(Number(r.n))}" y="${py(0) + 14}" font-size="10" text-anchor="middle">${esc(num(r.n))}</text>`);
    if (pts.length > 1)
      parts.push(
        `<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="${pts.map((p) => `${px(p.n).toFixed(1)},${py(p.v).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const p of pts) {
      parts.push(`<circle cx="${px(p.n).toFixed(1)}" cy="${py(p.v).toFixed(1)}" r="3.5" fill="#1f6feb"/>`);
      parts.push(
        `<text x="${px(p.n).toFixed(1)}" y="${(py(p.v) - 7).toFixed(1)}" font-size="10" text-anchor="middle">${esc(num(p.v, p.v < 10 ? 2 : 0))}</text>`,
      );
    }
  });
  const height = 30 + Math.ceil(SERIES.length / cols) * H + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * W}" height="${height}" viewBox="0 0 ${cols * W} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    `<text x="10" y="${height - 8}" font-size="11">x: connections held (N). A flat line means the total grows linearly with N; a rising one, faster than linearly.</text>`,
    '</svg>',
    '',
  ].join('\n');
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export async function runScaleMode(opts: ScaleOptions): Promise<void> {
  const startedAt = new Date();
  const abort = (why: string) => {
    log(`bench --scale: ${why}; stopping every process it started`);
    killAllChildren();
    process.exit(1);
  };
  setTimeout(() => abort(`over ${RUN_LIMIT_S} s`), RUN_LIMIT_S * 1000).unref();
  process.once('SIGINT', () => abort('interrupted'));
  process.once('SIGTERM', () => abort('terminated'));
  log(`Gatehouse scale run: ${opts.sizes.join(', ')} connections, ${opts.workers} workers; descriptor limit ${descriptorLimit()}`);
  let built = opts.build ? await buildBench() : builtBench();
  built = { ...built, gatehouse: buildDeployed() };
  const results: Figures[] = [];
  for (const n of opts.sizes) {
    const t0 = Date.now();
    try {
      results.push(await scaleOnce(n, opts, built));
    } catch (err) {
      log(`  ${n} failed: ${(err as Error).stack}`);
      results.push({ n, failed: (err as Error).message });
    }
    log(`  ${n}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const commit = gitCommit();
  const head = `Gatehouse scale run — ${seconds.toFixed(0)} s, node ${process.version}, ${cpus()[0]?.model ?? '?'} ×${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, commit ${commit ?? '?'}`;
  const out = [
    '',
    head,
    `gateway: dist/server/main.js start, GATEHOUSE_WORKERS=${opts.workers}, NODE_CLUSTER_SCHED_POLICY=${opts.sched}, one redis-server, flood limits and handshake pacing at their defaults${
      Object.keys(opts.env).length
        ? ` except ${Object.entries(opts.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : ''
    }; clients over ${ADDRESSES.length} source addresses, at nice ${opts.clientsNice}`,
    '',
    table(
      ['figure', ...results.map((r) => `N = ${num(r.n)}`)],
      ROWS.map(([label, cell]) => [label, ...results.map((r) => (r.failed ? `failed: ${r.failed.slice(0, 60)}` : cell(r)))]),
      false,
    ),
  ];
  for (const r of results) {
    if (r.shortfall) out.push(`N = ${num(r.n)}: held ${num(r.held)}; ${JSON.stringify(r.shortfall)}`);
    if (r.limitNote) out.push(`N = ${num(r.n)}: ${r.limitNote}`);
    for (const [phase, why] of Object.entries((r.errors as Record<string, string> | undefined) ?? {})) out.push(`N = ${num(r.n)}: ${phase} failed: ${why}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  mkdirSync(opts.outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const json = `${JSON.stringify({ meta: { startedAt: startedAt.toISOString(), seconds, commit, node: process.version, cpus: cpus().length, totalMemGiB: totalmem() / 2 ** 30, options: opts }, results }, null, 2)}\n`;
  const file = join(opts.outDir, `scale-${stamp}.json`);
  writeFileSync(file, json);
  writeFileSync(join(opts.outDir, 'latest-scale.json'), json);
  const svg = join(opts.outDir, `scale-growth-${stamp}.svg`);
  writeFileSync(svg, chart(results, `Gatehouse per-connection costs against N (${opts.workers} workers, commit ${commit ?? '?'})`));
  log(`\nwrote ${file} and ${svg}`);
  process.exitCode = results.some((r) => r.failed || r.shortfall || Object.keys((r.errors as object | undefined) ?? {}).length > 0) ? 1 : 0;
}
