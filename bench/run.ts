/**
 * `npm run bench`: Gatehouse against stock SocketCluster and Socket.IO, side by side, in one go (BENCHMARKS.md has
 * the method). Each system runs compiled under plain `node`, alone on one core; the load generator runs on the other;
 * both are separate processes. Server CPU comes from /proc/<pid>/stat. Prints a table and writes JSON under
 * bench-results/.
 *
 *   npm run bench                      quick mode (one pass, ≤ 8 minutes, scale run at 10,000 sockets)
 *   npm run bench -- --full            three interleaved passes, medians with their range, scale run at 19,000
 *   npm run bench -- --scale=10000,30000,100000   the scale run with workers (bench/scale-run.ts), nothing else
 *   npm run bench -- --smoke           every system at once at a tiny scale, ~5–10 s: checks the harness works (npm test
 *                                      runs it), not speed
 *   before/after: --baseline=REF --systems=gatehouse-local,baseline-local,… interleaves Gatehouse at REF with today's
 *   options: --passes=N  --systems=a,b  --phases=memory,handshake,fanout1,fanout200,expiry,revocation,grants,login,presence  --no-scale  --no-micro
 *            --out=DIR  --json (print the JSON summary last)  --no-build (reuse bench/.tmp/bench-build/ as it is)
 */
import { execFileSync } from 'node:child_process';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { hashPassword } from '../server/login/password-hash';
import { buildBaseline, buildBench, buildDeployed, builtBench, ROOT, type Built } from './build';
import { microBench, type MicroResult } from './micro';
import { PLANS, type Mode, type Plan } from './plan';
import { canPin } from './proc';
import { freePort, killAllChildren, LoadGenerator, ServerProcess, startRedis, stopRedis } from './processes';
import { parseScaleOptions, runScaleMode } from './scale-run';
import { formatSummary, summarize, table, type PassResult, type Percentiles, type SystemFigures } from './report';
import { ALL_SYSTEMS, isGatehouse, LABELS, launch, SYSTEMS, usesRedis, type RunContext, type SystemName } from './systems';
import type { Target } from './load/loadgen';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longest a whole run may take before it is aborted (every child killed), by mode. */
const RUN_LIMIT_S: Record<Mode, number> = { smoke: 60, quick: 720, full: 3600 };
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Options {
  readonly mode: Mode;
  readonly systems: SystemName[];
  readonly scale: boolean;
  readonly micro: boolean;
  readonly outDir: string;
  readonly json: boolean;
  /** Which figures to measure (default all): for quick before/after comparisons of one figure. */
  readonly phases: ReadonlySet<Phase>;
  /** Reuse bench/.tmp/bench-build/ as it is (to measure an experiment made on the compiled bundle). */
  readonly build: boolean;
  /** A git commit to compile Gatehouse from for the baseline-* systems. */
  readonly baseline?: string;
}

const PHASES = ['memory', 'handshake', 'fanout1', 'fanout200', 'expiry', 'revocation', 'grants', 'login', 'presence'] as const;
type Phase = (typeof PHASES)[number];

function parseOptions(argv: string[]): Options {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const mode: Mode = argv.includes('--full') ? 'full' : argv.includes('--smoke') ? 'smoke' : 'quick';
  const systems = (value('systems')?.split(',') ?? [...SYSTEMS]) as SystemName[];
  for (const s of systems) if (!ALL_SYSTEMS.includes(s)) throw new Error(`unknown system "${s}"; choose from ${ALL_SYSTEMS.join(', ')}`);
  const baseline = value('baseline');
  if (systems.some((s) => s.startsWith('baseline')) !== (baseline !== undefined)) {
    throw new Error('--baseline=REF and the systems baseline-redis / baseline-local go together');
  }
  const phases = (value('phases')?.split(',') ?? [...PHASES]) as Phase[];
  for (const p of phases) if (!PHASES.includes(p)) throw new Error(`unknown phase "${p}"; choose from ${PHASES.join(', ')}`);
  return {
    mode,
    systems,
    scale: !argv.includes('--no-scale'),
    micro: !argv.includes('--no-micro'),
    outDir: value('out') ?? join(ROOT, 'bench-results'),
    json: argv.includes('--json'),
    phases: new Set(phases),
    build: !argv.includes('--no-build'),
    baseline,
  };
}

/** Where the server and the load run: the server alone on the last core, everything else on the first. */
interface Cores {
  readonly server?: number;
  readonly load?: number;
}

class Bench {
  private readonly passes: PassResult[] = [];
  private scaleFigures?: Record<string, unknown>;
  private scaleBaseline?: Record<string, unknown>;

  constructor(
    private readonly options: Options,
    private readonly plan: Plan,
    private readonly built: Built,
    private readonly ctx: RunContext,
    private readonly cores: Cores,
    private readonly load: LoadGenerator,
  ) {}

  private target(port: number, pid: number, protocol: 'sc' | 'sio'): Target {
    return { kind: protocol, url: protocol === 'sc' ? `ws://127.0.0.1:${port}/socketcluster/` : `ws://127.0.0.1:${port}`, pid };
  }

  private async startServer(system: SystemName, cpu: number | undefined, extraEnv: Record<string, string> = {}) {
    const port = await freePort();
    const l = launch(system, this.built, port, this.ctx, extraEnv);
    const server = new ServerProcess(system, port, l.argv, l.env, cpu);
    try {
      await server.ready();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return { server, target: this.target(port, server.pid, l.protocol) };
  }

  async runPasses(): Promise<void> {
    for (let pass = 1; pass <= this.plan.passes; pass++) {
      // Interleaved: each pass starts with a different system, so none always runs first on a cold machine.
      const order = this.options.systems.map((_, i) => this.options.systems[(i + pass - 1) % this.options.systems.length]);
      const one = async (system: SystemName) => {
        log(`pass ${pass}/${this.plan.passes}: ${system}`);
        const started = Date.now();
        try {
          this.passes.push({ pass, system, figures: await this.measure(system, pass) });
        } catch (err) {
          log(`  ${system} failed: ${(err as Error).message}`);
          this.passes.push({ pass, system, figures: {}, error: (err as Error).message });
        }
        log(`  ${system}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      };
      if (this.plan.overlap) await Promise.all(order.map(one));
      else for (const system of order) await one(system);
    }
  }

  private async measure(system: SystemName, pass: number): Promise<SystemFigures> {
    const { server, target } = await this.startServer(system, this.cores.server);
    const p = this.plan;
    const prefix = `p${pass}-${system}-${randomBytes(3).toString('hex')}`;
    const figures: SystemFigures = {};
    let mark = Date.now();
    const lap = (phase: string) => {
      const now = Date.now();
      log(`  ${system} ${phase}: ${((now - mark) / 1000).toFixed(1)} s`);
      mark = now;
    };
    try {
      lap('start');
      await this.load.call('handshakes', { target, n: p.warmHandshakes, concurrency: p.handshakes.concurrency, prefix: `${prefix}-warm` });
      await sleep(p.settleMs);
      lap('warm-up');

      const want = this.options.phases;
      // Expiry mostly waits for tokens to lapse: with overlap it waits while the other phases run.
      const expiry =
        want.has('expiry') && (isGatehouse(system) || (p.expiry.stock && system.startsWith('stock')))
          ? () =>
              this.load.call<SystemFigures['expiry']>('expiry', {
                target,
                n: p.expiry.n,
                inSeconds: p.expiry.inSeconds,
                waitMs: p.expiry.waitMs,
                prefix: `${prefix}-exp`,
                sessionMaxAgeSeconds: 86_400,
              })
          : undefined;
      const expiring = p.overlap ? expiry?.() : undefined;
      expiring?.catch(() => undefined); // awaited below; a phase that fails first must not leave it unhandled
      if (want.has('memory')) {
        const base = await server.memory();
        const opened = await this.load.call<{ open: number; failures: number }>('openGroup', {
          target,
          group: `${prefix}-memory`,
          n: p.memoryConnections,
          concurrency: 32,
          prefix: `${prefix}-mem`,
        });
        // A rare refused connection on a loaded machine changes nothing per connection; many mean something is wrong.
        if (opened.failures > p.memoryConnections / 100) throw new Error(`${opened.failures} of ${p.memoryConnections} idle connections failed`);
        await sleep(p.settleMs);
        const loaded = await server.memory();
        await this.load.call('closeGroup', { group: `${prefix}-memory` });
        figures.memory = {
          connections: opened.open,
          heapPerConn: (loaded.heapUsed - base.heapUsed) / opened.open,
          rssPerConn: (loaded.rss - base.rss) / opened.open,
          baseHeap: base.heapUsed,
          baseRss: base.rss,
        };
        await sleep(p.settleMs);
        lap('memory');
      }

      if (want.has('handshake')) {
        figures.handshake = await this.load.call('handshakes', { target, ...p.handshakes, prefix: `${prefix}-hs` });
        await sleep(p.settleMs);
        lap('handshakes');
      }
      for (const phase of ['fanout1', 'fanout200'] as const) {
        if (!want.has(phase)) continue;
        figures[phase] = await this.load.call('publish', { target, ...p[phase], prefix: `${prefix}-${phase}` });
        await sleep(p.settleMs);
        lap(phase);
      }

      if (expiry) {
        figures.expiry = await (expiring ?? expiry());
        lap('expiry');
      }
      if (usesRedis(system) && want.has('revocation')) {
        figures.revocation = await this.revocation(target, prefix);
        lap('revocation');
      }
      if (system === 'gatehouse-redis' && want.has('presence')) {
        figures.presence = await this.presence(prefix);
        lap('presence');
      }
      if (usesRedis(system) && want.has('grants')) {
        figures.grants = await this.grants(target, prefix);
        lap('grants');
      }
      if (usesRedis(system) && want.has('login')) {
        figures.login = await this.load.call(
          'login',
          {
            target,
            n: p.logins.n,
            concurrency: p.logins.concurrency,
            username: 'bench',
            password: 'bench-password',
          },
          300_000,
        );
        lap('login');
      }
      return figures;
    } finally {
      await server.stop();
      if (server.errors.trim()) log(`  ${system} stderr: ${server.errors.trim().split('\n').slice(-3).join(' | ')}`);
    }
  }

  /** Node A (on the load core, with the admin API) revokes; the measured node B closes the socket. */
  private async revocation(target: Target, prefix: string): Promise<SystemFigures['revocation']> {
    const { server: nodeA } = await this.startServer('gatehouse-redis', this.cores.load, { GATEHOUSE_NODE_ID: 'bench-node-a' });
    try {
      return await this.load.call('revocation', {
        target,
        adminUrl: `http://127.0.0.1:${nodeA.port}`,
        adminKey: this.ctx.adminKey,
        n: this.plan.revocations,
        prefix: `${prefix}-rv`,
      });
    } finally {
      await nodeA.stop();
    }
  }

  /**
   * Presence on two nodes of one Redis, beside the plain subscribe: the measured node B (the server core) and node A
   * (the load core). B's sockets subscribe to a plain channel, then to a presence one: server CPU per subscribe of
   * each, heap per member, Redis commands per join (and per leave, as they close); then joins on A timed to the event
   * on B, one at a time.
   */
  private async presence(prefix: string): Promise<SystemFigures['presence']> {
    const p = this.plan.presence;
    const rules = join(mkdtempSync(join(tmpdir(), 'gatehouse-bench-presence-')), 'channels.json');
    writeFileSync(rules, JSON.stringify({ presence: ['bench:room:*'] }));
    const env = { GATEHOUSE_CHANNELS_FILE: rules, GATEHOUSE_PRESENCE_GRACE: '0' };
    const { server: nodeB, target } = await this.startServer('gatehouse-redis', this.cores.server, env);
    const { server: nodeA, target: remote } = await this.startServer('gatehouse-redis', this.cores.load, { ...env, GATEHOUSE_NODE_ID: 'bench-presence-a' });
    const redis = new Redis(this.ctx.redisUrl!);
    // Every command Redis ran (those a script calls included), and the requests nodes sent (scripts and publishes).
    const commands = async () => {
      const stats = await redis.info('commandstats');
      let all = 0;
      let requests = 0;
      for (const m of stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
        all += Number(m[2]);
        if (['eval', 'evalsha', 'publish', 'spublish'].includes(m[1])) requests += Number(m[2]);
      }
      return { all, requests };
    };
    const group = `${prefix}-presence`;
    try {
      // Members without the presence capability: what joining costs, apart from sending events to watchers.
      const extra = { channels: { 'bench:*': ['subscribe', 'publish'] } };
      await this.load.call('openGroup', { target, group, n: p.n, concurrency: 32, prefix: `${prefix}-pr`, extra }, 120_000);
      const subscribeArgs = { target, group, concurrency: 32, settleMs: Math.max(300, this.plan.settleMs) };
      // A socket's first subscribe builds what every later one reuses: the measured ones are each socket's second and third.
      await this.load.call('groupSubscribe', { ...subscribeArgs, channel: `bench:first:${prefix}` }, 120_000);
      const heapBefore = (await nodeB.memory()).heapUsed;
      const plain = await this.load.call<{ serverCpuUsEach: number }>('groupSubscribe', { ...subscribeArgs, channel: `bench:plain:${prefix}` }, 120_000);
      const heap0 = (await nodeB.memory()).heapUsed;
      const c0 = await commands();
      const room = await this.load.call<{ n: number; serverCpuUsEach: number }>(
        'groupSubscribe',
        { ...subscribeArgs, channel: `bench:room:${prefix}` },
        120_000,
      );
      const c1 = await commands();
      const heap1 = (await nodeB.memory()).heapUsed;
      await this.load.call('closeGroup', { group }, 120_000);
      await sleep(Math.max(500, this.plan.settleMs));
      const c2 = await commands();
      const latency = await this.load.call<{ latencyMs: Percentiles }>(
        'presenceLatency',
        { target, remote, channel: `bench:room:${prefix}-latency`, k: p.latency, prefix: `${prefix}-pl` },
        300_000,
      );
      return {
        sockets: room.n,
        plainCpuUsPerSubscribe: plain.serverCpuUsEach,
        presenceCpuUsPerSubscribe: room.serverCpuUsEach,
        cpuRatio: room.serverCpuUsEach / Math.max(1e-9, plain.serverCpuUsEach),
        heapBytesPerPlainSubscribe: (heap0 - heapBefore) / Math.max(1, room.n),
        heapBytesPerPresenceSubscribe: (heap1 - heap0) / Math.max(1, room.n),
        redisCommandsPerJoin: (c1.all - c0.all) / Math.max(1, room.n),
        redisRequestsPerJoin: (c1.requests - c0.requests) / Math.max(1, room.n),
        redisCommandsPerLeave: (c2.all - c1.all) / Math.max(1, room.n),
        redisRequestsPerLeave: (c2.requests - c1.requests) / Math.max(1, room.n),
        joinToEventMs: latency.latencyMs,
      };
    } finally {
      redis.disconnect();
      await this.load.call('closeGroup', { group }, 120_000).catch(() => undefined);
      await nodeA.stop();
      await nodeB.stop();
    }
  }

  /**
   * Live grants on three nodes: node A (with the admin API) and node C on the load core, the measured node B on its
   * own. A's admin API changes a user's grants; the time to B's kick-out, and B's CPU per socket a change kicks out.
   */
  private async grants(target: Target, prefix: string): Promise<SystemFigures['grants']> {
    const nodes = await Promise.all(
      ['bench-node-a', 'bench-node-c'].map((id) => this.startServer('gatehouse-redis', this.cores.load, { GATEHOUSE_NODE_ID: id })),
    );
    try {
      return await this.load.call(
        'grants',
        {
          target,
          adminUrl: `http://127.0.0.1:${nodes[0].server.port}`,
          adminKey: this.ctx.adminKey,
          n: this.plan.grants.n,
          perSocket: this.plan.grants.perSocket,
          prefix: `${prefix}-gr`,
        },
        300_000,
      );
    } finally {
      await Promise.all(nodes.map(({ server }) => server.stop()));
    }
  }

  /**
   * The scale run: N idle authenticated sockets on Gatehouse as deployed with renewal every `renewIntervalS`. Renewal
   * starts 0.8 × the interval after a socket authenticated, so the CPU before that is the idle cost (pings, sweeps),
   * and the CPU in the window where every socket renews once, minus that idle rate, is what renewal costs, with
   * its revocation check (batched: one pipelined Redis round trip per due bucket of sockets).
   */
  async runScale(system: 'gatehouse-redis' | 'baseline-redis' = 'gatehouse-redis'): Promise<void> {
    const { sockets, renewIntervalS } = this.plan.scale;
    // The stock idle comparison runs once, after today's Gatehouse.
    const stockIdleWindowMs = system === 'gatehouse-redis' ? this.plan.scale.stockIdleWindowMs : 0;
    if (!this.options.systems.includes(system)) return;
    log(`scale: ${sockets.toLocaleString('en-US')} sockets, renewal every ${renewIntervalS} s`);
    const intervalMs = renewIntervalS * 1000;
    const { server, target } = await this.startServer(system, this.cores.server, {
      GATEHOUSE_RENEW_INTERVAL: `${renewIntervalS}s`,
      GATEHOUSE_TOKEN_TTL: `${Math.max(renewIntervalS * 3, 900)}s`,
    });
    try {
      const base = await server.memory();
      const t0 = Date.now();
      const opened = await this.load.call<{ open: number; failures: number; wallMs: number }>(
        'openGroup',
        {
          target,
          group: 'scale',
          n: sockets,
          concurrency: 64,
          prefix: `scale-${randomBytes(3).toString('hex')}`,
        },
        600_000,
      );
      const tOpened = Date.now();
      const held = await server.memory();
      // Idle window: from now until just before the first renewals are due.
      const quietEnd = t0 + intervalMs * 0.78;
      const q0 = { cpu: server.cpuMicros(), at: Date.now() };
      if (quietEnd - q0.at > 500) await sleep(quietEnd - q0.at);
      const q1 = { cpu: server.cpuMicros(), at: Date.now() };
      const r0 = (await this.load.call<{ setAuthToken: number }>('groupStats', { group: 'scale' })).setAuthToken;
      // Renewal window: until every socket has had its first renewal (due by 1.0 × the interval after it authenticated).
      const renewEnd = tOpened + intervalMs * 1.02 + 1500;
      await sleep(Math.max(0, renewEnd - Date.now()));
      const q2 = { cpu: server.cpuMicros(), at: Date.now() };
      const stats = await this.load.call<{ setAuthToken: number; removeAuthToken: number }>('groupStats', { group: 'scale' });
      const renewals = stats.setAuthToken - r0;
      // A second idle window after the renewals, before the next round (due from 1.6 × the interval on): the rate
      // right after the sockets opened runs high or low with the garbage the opening left, and the renewal figure is
      // a small difference taken from it, so the window is bracketed by both and takes their mean.
      const afterEnd = t0 + intervalMs * 1.58;
      if (afterEnd - Date.now() > 500) await sleep(afterEnd - Date.now());
      const q3 = { cpu: server.cpuMicros(), at: Date.now() };
      const renewalsAfter = (await this.load.call<{ setAuthToken: number }>('groupStats', { group: 'scale' })).setAuthToken - stats.setAuthToken;
      const rate = (a: { cpu: number; at: number }, b: { cpu: number; at: number }) => (b.cpu - a.cpu) / Math.max(1, (b.at - a.at) / 1000);
      const idleBefore = rate(q0, q1);
      const idleAfter = q3.at - q2.at >= 5000 && renewalsAfter === 0 ? rate(q2, q3) : undefined;
      const idleCpuPerSecond = idleAfter === undefined ? idleBefore : (idleBefore + idleAfter) / 2;
      const renewalWindowS = (q2.at - q1.at) / 1000;
      const perRenewalUs = (q2.cpu - q1.cpu - idleCpuPerSecond * renewalWindowS) / Math.max(1, renewals);
      const rssPerSocket = (held.rss - base.rss) / opened.open;
      const figures: Record<string, unknown> = {
        sockets: opened.open,
        failures: opened.failures,
        openSeconds: opened.wallMs / 1000,
        renewIntervalS,
        heapPerSocket: (held.heapUsed - base.heapUsed) / opened.open,
        rssPerSocket,
        rssAtScaleMiB: held.rss / 2 ** 20,
        socketsWithin4GiB: Math.floor((4 * 2 ** 30 - base.rss) / rssPerSocket),
        idleCpuMsPerSecondPer10k: (idleCpuPerSecond / 1000) * (10_000 / opened.open),
        idleCpuMsPerSecondPer10kBefore: (idleBefore / 1000) * (10_000 / opened.open),
        idleCpuMsPerSecondPer10kAfter: idleAfter === undefined ? null : (idleAfter / 1000) * (10_000 / opened.open),
        renewalsInIdleAfter: renewalsAfter,
        renewals,
        renewalCpuUsEach: perRenewalUs,
        renewalCpuUsEachIdleBeforeOnly: (q2.cpu - q1.cpu - idleBefore * renewalWindowS) / Math.max(1, renewals),
        renewalCpuMsPerIntervalPer10k: (perRenewalUs * 10_000) / 1000,
        renewalCorePercentPer10k: ((perRenewalUs * 10_000) / (intervalMs * 1000)) * 100,
        deauthenticated: stats.removeAuthToken,
      };
      if (system === 'gatehouse-redis') this.scaleFigures = figures;
      else this.scaleBaseline = figures;
    } finally {
      await this.load.call('closeGroup', { group: 'scale' }, 120_000).catch(() => undefined);
      await server.stop();
    }
    if (stockIdleWindowMs > 0 && this.options.systems.includes('stock-keyobject')) {
      const { server: stock, target: stockTarget } = await this.startServer('stock-keyobject', this.cores.server);
      try {
        const opened = await this.load.call<{ open: number }>(
          'openGroup',
          {
            target: stockTarget,
            group: 'scale-stock',
            n: sockets,
            concurrency: 64,
            prefix: 'scale-stock',
          },
          600_000,
        );
        await sleep(2000);
        const a = { cpu: stock.cpuMicros(), at: Date.now() };
        await sleep(stockIdleWindowMs);
        const b = { cpu: stock.cpuMicros(), at: Date.now() };
        this.scaleFigures!.stockIdleCpuMsPerSecondPer10k = ((b.cpu - a.cpu) / ((b.at - a.at) / 1000) / 1000) * (10_000 / opened.open);
      } finally {
        await this.load.call('closeGroup', { group: 'scale-stock' }, 120_000).catch(() => undefined);
        await stock.stop();
      }
    }
  }

  results() {
    return { passes: this.passes, scale: this.scaleFigures, scaleBaseline: this.scaleBaseline, summary: summarize(this.passes) };
  }
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function formatScale(scale: Record<string, unknown> | undefined): string {
  if (!scale) return '';
  const n = (k: string, d = 0) =>
    typeof scale[k] === 'number' ? scale[k].toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—';
  return table(
    ['scale run (gatehouse-redis)', 'value'],
    [
      ['idle authenticated sockets held', n('sockets')],
      ['heap / RSS bytes per socket at that scale', `${n('heapPerSocket')} / ${n('rssPerSocket')}`],
      ['RSS at that scale, MiB', n('rssAtScaleMiB')],
      ['sockets within 4 GiB RSS (extrapolated)', n('socketsWithin4GiB')],
      ['idle CPU ms per second per 10,000 sockets (Gatehouse)', n('idleCpuMsPerSecondPer10k', 2)],
      ['idle CPU ms per second per 10,000 sockets (stock KeyObject)', n('stockIdleCpuMsPerSecondPer10k', 2)],
      [`renewals seen in the window (interval ${n('renewIntervalS')} s)`, n('renewals')],
      [
        'idle CPU ms per second per 10,000 sockets, before / after the renewals',
        `${n('idleCpuMsPerSecondPer10kBefore', 2)} / ${n('idleCpuMsPerSecondPer10kAfter', 2)}`,
      ],
      ['CPU µs per renewal (sign + revocation check + send), less the mean idle rate', n('renewalCpuUsEach', 1)],
      ['renewal CPU ms per interval per 10,000 sockets', n('renewalCpuMsPerIntervalPer10k', 0)],
      ['renewal, % of one core per 10,000 sockets', n('renewalCorePercentPer10k', 2)],
    ],
    false,
  );
}

async function main(): Promise<void> {
  // `--scale=N[,N…]` is a run mode of its own (bench/scale-run.ts): Gatehouse with workers at N connections.
  const scale = parseScaleOptions(process.argv.slice(2));
  if (scale) return runScaleMode(scale);
  const options = parseOptions(process.argv.slice(2));
  const passes = Number(process.argv.find((a) => a.startsWith('--passes='))?.slice('--passes='.length));
  const plan = Number.isInteger(passes) && passes > 0 ? { ...PLANS[options.mode], passes } : PLANS[options.mode];
  const cpuCount = availableParallelism();
  // Servers that run at the same time (overlap) share every core; pinning them all to one would serialize them.
  const pin = !plan.overlap && canPin(cpuCount);
  const cores: Cores = pin ? { server: cpuCount - 1, load: 0 } : {};
  const startedAt = new Date();
  const abort = (why: string) => {
    log(`bench: ${why}; stopping every process it started`);
    killAllChildren();
    process.exit(1);
  };
  setTimeout(() => abort(`over ${RUN_LIMIT_S[options.mode]} s`), RUN_LIMIT_S[options.mode] * 1000).unref();
  process.once('SIGINT', () => abort('interrupted'));
  process.once('SIGTERM', () => abort('terminated'));
  log(
    `Gatehouse bench, ${options.mode} mode: ${options.systems.join(', ')}; ${pin ? `server on CPU ${cores.server}, load on CPU ${cores.load}` : 'not pinned'}`,
  );

  const micro: MicroResult[] = options.micro && plan.micro > 0 ? microBench(plan.micro) : [];
  let built = options.build ? await buildBench() : builtBench();
  if (options.baseline && options.build) built = { ...built, baseline: await buildBaseline(options.baseline) };
  // As deployed (dist/, tsc) unless comparing with a baseline, which is bundled the same way as today's code.
  const deployed = options.build && !options.baseline && existsSync(join(ROOT, 'tsconfig.build.json'));
  if (deployed) built = { ...built, gatehouse: buildDeployed() };
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const needsRedis = options.systems.some(usesRedis);
  const redis = needsRedis ? await startRedis(cores.load) : undefined;
  const usersFile = join(work, 'users.json');
  const passwordHash = await hashPassword('bench-password', { ln: plan.logins.scryptLn, r: 8, p: 1 });
  writeFileSync(usersFile, JSON.stringify([{ username: 'bench', passwordHash, sub: 'bench-user', channels: ['bench:*'] }]));
  const ctx: RunContext = {
    secret: randomBytes(32).toString('base64url'),
    redisUrl: redis?.url,
    adminKey: randomBytes(24).toString('base64url'),
    issuer: 'bench-issuer',
    audience: 'bench-audience',
    usersFile,
  };
  const load = new LoadGenerator(built.loadgen, cores.load);
  const loadAvgStart = loadavg();
  try {
    await load.call('init', { secret: ctx.secret, iss: ctx.issuer, aud: ctx.audience }, 10_000);
    const bench = new Bench(options, plan, built, ctx, cores, load);
    const scaleRuns = async () => {
      if (!options.scale) return;
      await bench.runScale('gatehouse-redis');
      await bench.runScale('baseline-redis');
    };
    if (plan.overlap) await Promise.all([bench.runPasses(), scaleRuns()]);
    else {
      await bench.runPasses();
      await scaleRuns();
    }
    const { passes, scale, scaleBaseline, summary } = bench.results();
    const loadAvgEnd = loadavg();
    const seconds = (Date.now() - startedAt.getTime()) / 1000;

    const out: string[] = [''];
    out.push(
      `Gatehouse bench — ${options.mode} mode, ${plan.passes} pass(es), ${seconds.toFixed(0)} s, node ${process.version}, ${cpus()[0]?.model ?? '?'} ×${cpuCount}`,
    );
    out.push(
      `commit ${gitCommit() ?? '?'}; ${pin ? 'server pinned alone to one core, load generator and Redis on the other' : 'NOT pinned'}; load average ${loadAvgStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadAvgEnd.map((x) => x.toFixed(2)).join(' ')} at the end`,
    );
    out.push(
      `Gatehouse runs from ${relative(ROOT, built.gatehouse)} under plain node. Cells: median (min–max) over passes; ratios are taken within each pass, then summarized.`,
    );
    out.push('');
    for (const s of options.systems) out.push(`  ${s}: ${LABELS[s]}`);
    out.push('');
    if (micro.length > 0) {
      out.push(
        table(
          ['operation (in-process)', 'µs/op', 'ops'],
          micro.map((r) => [r.name, r.usPerOp.toFixed(2), String(r.ops)]),
          false,
        ),
      );
      out.push('');
    }
    out.push(formatSummary(summary, options.systems));
    out.push('');
    out.push(formatScale(scale));
    if (scaleBaseline) out.push(`\nbaseline (${options.baseline}):\n${formatScale(scaleBaseline)}`);
    const failed = passes.filter((p) => p.error);
    for (const f of failed) out.push(`FAILED: pass ${f.pass} ${f.system}: ${f.error}`);
    process.stdout.write(`${out.join('\n')}\n`);

    const result = {
      meta: {
        mode: options.mode,
        baseline: options.baseline,
        startedAt: startedAt.toISOString(),
        seconds,
        node: process.version,
        cpus: cpuCount,
        cpuModel: cpus()[0]?.model,
        pinned: pin,
        cores,
        gatehouse: relative(ROOT, built.gatehouse),
        commit: gitCommit(),
        loadAvgStart,
        loadAvgEnd,
        plan,
        systems: options.systems,
      },
      micro,
      passes,
      scale,
      scaleBaseline,
      summary,
    };
    mkdirSync(options.outDir, { recursive: true });
    const file = join(options.outDir, `bench-${options.mode}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(options.outDir, `latest-${options.mode}.json`), `${JSON.stringify(result, null, 2)}\n`);
    log(`\nwrote ${file}`);
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = failed.length > 0 ? 1 : 0;
  } finally {
    await load.stop();
    await stopRedis(redis);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
