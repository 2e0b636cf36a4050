/**
 * Profiles one system under one bench phase, the way `npm run bench` runs it (compiled, pinned, separate load
 * generator), to find where its time or memory goes:
 *
 *   npx tsx bench/profile.ts SYSTEM handshake|fanout1|fanout200 [N]   CPU profile (node --cpu-prof)
 *   npx tsx bench/profile.ts SYSTEM memory [N]                         heap snapshot at N idle connections
 *   npx tsx bench/profile.ts SYSTEM idle [N]                           CPU profile of 20 s with N idle connections
 *   (any of them with --baseline=REF and SYSTEM baseline-local / baseline-redis: Gatehouse as it was at REF)
 *   npx tsx bench/profile.ts SYSTEM renewal [N]                        CPU profile of the window in which N
 *                                                                      sockets each renew once (interval 40 s)
 *
 * Prints the functions with the most self time (and the same grouped by package), or for a snapshot the object
 * types holding the most memory, and leaves the raw .cpuprofile / .heapsnapshot under .tmp/bench-profiles/.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildBaseline, buildBench, ROOT } from './build';
import { PLANS } from './plan';
import { canPin } from './proc';
import { freePort, LoadGenerator, ServerProcess, startRedis, stopRedis } from './processes';
import { launch, type RunContext, type SystemName } from './systems';

const [system, phase, count] = process.argv.slice(2).filter((a) => !a.startsWith('--')) as [SystemName, string, string | undefined];
/** `--baseline=REF`: profile Gatehouse as it was at REF (SYSTEM baseline-local or baseline-redis). */
const baselineRef = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const DIR = join(ROOT, '.tmp', 'bench-profiles');
/** How long the idle phase profiles a node holding its idle connections. */
const IDLE_PROFILE_MS = 20_000;
/** The renewal phase's GATEHOUSE_RENEW_INTERVAL: short, so the profile waits little, long enough to open N sockets first. */
const RENEWAL_INTERVAL_MS = 40_000;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Self time per function and per package from a .cpuprofile. */
function summarizeProfile(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
    const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg =
      /node_modules\/((@[^/]+\/)?[^/]+)/.exec(where)?.[1]
      ?? (where.includes('bench-build/')
        ? `gatehouse bundle (${where.split('/').pop()})`
        : where.startsWith('node:')
          ? 'node internals'
          : where || functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  // Inclusive time of the gateway's own functions: every sample whose stack passes through them, counted once.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!url.includes('bench-build/')) continue;
      const key = `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
      .join('\n');
  process.stdout.write(
    `\n${file}\ntotal sampled ${(total / 1000).toFixed(0)} ms\n\nby package:\n${top(byPackage, 25)}\n\nby function (self):\n${top(byFunction, 40)}\n\nbundle functions (inclusive):\n${top(inclusive, 40)}\n`,
  );
}

const snapshots: string[] = [];

/** Asks the server for a heap snapshot (after a GC, through the probe) and waits until the file is complete. */
async function snapshot(server: ServerProcess, label: string): Promise<void> {
  await server.memory();
  const known = new Set(readdirSync(DIR));
  process.kill(server.pid, 'SIGUSR2');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const fresh = readdirSync(DIR).find((f) => f.endsWith('.heapsnapshot') && !known.has(f));
    if (fresh) {
      let size = -1;
      // Written in one go; done when its size stops changing.
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        const now = statSync(join(DIR, fresh)).size;
        if (now === size && now > 0) break;
        size = now;
      }
      snapshots.push(join(DIR, fresh));
      process.stdout.write(`snapshot ${label}: ${fresh}\n`);
      return;
    }
    if (Date.now() > deadline) throw new Error('no heap snapshot written');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Self size per (node type, constructor name) in a V8 heap snapshot. */
function heapByType(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]];
    let name = snap.strings[snap.nodes[i + nameAt]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    else if (type === 'code') name = '(code)';
    else if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + sizeAt];
    e.count += 1;
    out.set(key, e);
  }
  return out;
}

function diffSnapshots(before: string, after: string, connections: number): void {
  const a = heapByType(before);
  const b = heapByType(after);
  const rows = [...b]
    .map(([k, v]) => {
      const base = a.get(k) ?? { size: 0, count: 0 };
      return { k, size: v.size - base.size, count: v.count - base.count };
    })
    .sort((x, y) => y.size - x.size);
  const total = rows.reduce((s, r) => s + r.size, 0);
  process.stdout.write(`\nheap growth for ${connections} connections: ${(total / connections).toFixed(0)} bytes each\n`);
  for (const r of rows.slice(0, 45)) {
    process.stdout.write(`${(r.size / connections).toFixed(0).padStart(7)} B/conn  ${(r.count / connections).toFixed(2).padStart(7)} obj/conn  ${r.k}\n`);
  }
}

async function main(): Promise<void> {
  if (!system || !phase) throw new Error('usage: profile.ts SYSTEM handshake|fanout1|fanout200|memory|idle|renewal [N]');
  mkdirSync(DIR, { recursive: true });
  const fresh = await buildBench();
  const built = baselineRef ? { ...fresh, baseline: await buildBaseline(baselineRef) } : fresh;
  const pin = canPin(availableParallelism());
  const cores = pin ? { server: availableParallelism() - 1, load: 0 } : { server: undefined, load: undefined };
  const redis = system === 'gatehouse-redis' || system === 'baseline-redis' ? await startRedis(cores.load) : undefined;
  const ctx: RunContext = {
    secret: randomBytes(32).toString('base64url'),
    redisUrl: redis?.url,
    adminKey: randomBytes(24).toString('base64url'),
    issuer: 'bench-issuer',
    audience: 'bench-audience',
  };
  const load = new LoadGenerator(built.loadgen, cores.load);
  const port = await freePort();
  const l = launch(system, built, port, ctx);
  const stamp = `${system}-${phase}-${Date.now()}`;
  const flags = phase === 'memory' ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${DIR}`] : [];
  const profileFile = join(DIR, `${stamp}.cpuprofile`);
  const argv = [l.argv[0], ...flags, ...l.argv.slice(1)];
  // Idle: renewal far off (as in the scale run, before the first renewals are due), so only the idle cost is profiled.
  const env =
    phase === 'idle'
      ? { ...l.env, GATEHOUSE_RENEW_INTERVAL: '600s', GATEHOUSE_TOKEN_TTL: '1800s' }
      : phase === 'renewal'
        ? { ...l.env, GATEHOUSE_RENEW_INTERVAL: `${RENEWAL_INTERVAL_MS / 1000}s`, GATEHOUSE_TOKEN_TTL: '900s' }
        : l.env;
  const server = new ServerProcess(system, port, argv, env, cores.server);
  try {
    await load.call('init', { secret: ctx.secret, iss: ctx.issuer, aud: ctx.audience });
    await server.ready();
    const target = { kind: l.protocol, url: l.protocol === 'sc' ? `ws://127.0.0.1:${port}/socketcluster/` : `ws://127.0.0.1:${port}`, pid: server.pid };
    const plan = PLANS.quick;
    const n = count ? Number(count) : undefined;
    await load.call('handshakes', { target, n: 300, concurrency: 32, prefix: 'warm' });
    if (phase === 'handshake') {
      // Only the handshakes are profiled: the connections stay open until the profile is written.
      await server.startProfile();
      process.stdout.write(`${JSON.stringify(await load.call('openGroup', { target, group: 'hs', n: n ?? 3000, concurrency: 32, prefix: 'hs' }))}\n`);
      await server.stopProfile(profileFile);
      await load.call('closeGroup', { group: 'hs' });
    } else if (phase === 'fanout1' || phase === 'fanout200') {
      const p = { ...plan[phase], ...(n ? { durationMs: n } : {}) };
      await server.startProfile();
      process.stdout.write(`${JSON.stringify(await load.call('publish', { target, ...p, prefix: 'pub' }))}\n`);
      await server.stopProfile(profileFile);
    } else if (phase === 'idle') {
      await load.call('openGroup', { target, group: 'idle', n: n ?? 10_000, concurrency: 64, prefix: 'idle' }, 600_000);
      // Settle first: the handshakes' garbage and the first pings are not the idle cost.
      await new Promise((r) => setTimeout(r, 5000));
      const cpu0 = server.cpuMicros();
      await server.startProfile();
      await new Promise((r) => setTimeout(r, IDLE_PROFILE_MS));
      await server.stopProfile(profileFile);
      process.stdout.write(`idle: ${n ?? 10_000} sockets, process CPU ${((server.cpuMicros() - cpu0) / 1000).toFixed(0)} ms in ~${IDLE_PROFILE_MS / 1000} s\n`);
      await load.call('closeGroup', { group: 'idle' }, 120_000);
    } else if (phase === 'renewal') {
      // As the bench's scale run: renewals fall due from 0.8 of the interval after each socket authenticated.
      const t0 = Date.now();
      await load.call('openGroup', { target, group: 'renew', n: n ?? 3000, concurrency: 64, prefix: 'renew' }, 600_000);
      const tOpened = Date.now();
      const quiet = t0 + RENEWAL_INTERVAL_MS * 0.78 - Date.now();
      if (quiet < 0) throw new Error('opening the sockets took longer than the quiet part of the interval: use fewer');
      await new Promise((r) => setTimeout(r, quiet));
      const r0 = (await load.call<{ setAuthToken: number }>('groupStats', { group: 'renew' })).setAuthToken;
      const cpu0 = server.cpuMicros();
      await server.startProfile();
      await new Promise((r) => setTimeout(r, Math.max(0, tOpened + RENEWAL_INTERVAL_MS * 1.02 + 1500 - Date.now())));
      await server.stopProfile(profileFile);
      const renewals = (await load.call<{ setAuthToken: number }>('groupStats', { group: 'renew' })).setAuthToken - r0;
      process.stdout.write(
        `renewal: ${renewals} renewals in the window, process CPU ${((server.cpuMicros() - cpu0) / 1000).toFixed(0)} ms (idle cost included)\n`,
      );
      await load.call('closeGroup', { group: 'renew' }, 120_000);
    } else if (phase === 'memory') {
      await snapshot(server, 'before');
      await load.call('openGroup', { target, group: 'm', n: n ?? 5000, concurrency: 32, prefix: 'mem' });
      await snapshot(server, 'after');
      const [before, after] = snapshots.slice(-2);
      diffSnapshots(before, after, n ?? 5000);
    }
  } finally {
    await server.stop(10_000);
    await load.stop();
    await stopRedis(redis);
  }
  if (phase !== 'memory') summarizeProfile(profileFile);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
