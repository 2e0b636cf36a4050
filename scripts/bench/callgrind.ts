/**
 * Instructions per operation, counted by valgrind's callgrind: a figure that does not move with the machine's load,
 * unlike CPU time, for before/after comparisons of one operation on a shared machine.
 *
 *   npx tsx scripts/bench/callgrind.ts SYSTEM handshake|fanout1 [--baseline=REF] [--small=N] [--large=N]
 *
 * The server runs under `valgrind --tool=callgrind --instr-atstart=no` (unpinned); after a warm-up, the same
 * operation is run twice with collection on, `small` then `large` times (handshakes, or the publish phase's
 * duration in ms), and instructions per operation = (I_large − I_small) ÷ (ops_large − ops_small), so the fixed cost
 * of each batch (the fan-out's subscribers connecting, say) drops out. With --baseline=REF, SYSTEM may be
 * baseline-local / baseline-redis. Dumps go to .tmp/bench-profiles/.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildBaseline, buildBench, ROOT } from './build';
import { PLANS } from './plan';
import { BenchRedis, freePort, LoadGenerator, ServerProcess } from './processes';
import { launch, usesRedis, type RunContext, type SystemName } from './systems';

const argv = process.argv.slice(2);
const [system, phase] = argv as [SystemName, 'handshake' | 'fanout1'];
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const DIR = join(ROOT, '.tmp', 'bench-profiles');

function control(pid: number, ...args: string[]): void {
  execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
}

/** Total instructions (Ir) of the newest dump of `prefix`. */
function instructionsOf(prefix: string, known: Set<string>): number {
  const fresh = readdirSync(DIR).filter((f) => f.startsWith(prefix) && !known.has(f));
  let total = 0;
  for (const f of fresh) {
    known.add(f);
    const m = /^totals:\s+(\d+)/m.exec(readFileSync(join(DIR, f), 'utf8'));
    if (m) total += Number(m[1]);
  }
  return total;
}

async function main(): Promise<void> {
  if (!system || !['handshake', 'fanout1'].includes(phase)) throw new Error('usage: callgrind.ts SYSTEM handshake|fanout1 [--baseline=REF]');
  mkdirSync(DIR, { recursive: true });
  const built = await buildBench();
  const baseline = option('baseline');
  const withBaseline = baseline ? { ...built, baseline: await buildBaseline(baseline) } : built;
  const redis = usesRedis(system) ? await BenchRedis.start(undefined) : undefined;
  const ctx: RunContext = {
    secret: randomBytes(32).toString('base64url'), redisUrl: redis?.url, adminKey: randomBytes(24).toString('base64url'),
    issuer: 'bench-issuer', audience: 'bench-audience',
  };
  const load = new LoadGenerator(built.loadgen, undefined);
  const port = await freePort();
  const l = launch(system, withBaseline, port, ctx);
  const prefix = `callgrind-${system}-${phase}-${Date.now()}`;
  const valgrind = ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(DIR, prefix)}.%p`];
  const server = new ServerProcess(system, port, [...valgrind, ...l.argv], l.env, undefined);
  const known = new Set<string>();
  try {
    await load.call('init', { secret: ctx.secret, iss: ctx.issuer, aud: ctx.audience, connectTimeoutMs: 120_000 });
    await server.ready(300_000);
    const target = { kind: l.protocol, url: `ws://127.0.0.1:${port}/socketcluster/`, pid: server.pid };
    // The first handshakes under valgrind can take longer than the load generator's 10 s connect timeout: a few
    // one at a time, retried, before the warm-up proper.
    for (let i = 0; i < 5; i++) {
      const ok = await load.call('handshakes', { target, n: 5, concurrency: 1, prefix: `cold${i}` }, 600_000).then(() => true, () => false);
      if (ok) break;
    }
    await load.call('handshakes', { target, n: 200, concurrency: 8, prefix: 'warm' }, 600_000);
    if (phase === 'fanout1') {
      // The publish path optimized by the JIT before anything is counted.
      await load.call('publish', { target, ...PLANS.quick.fanout1, warmupMs: 0, durationMs: 5000, prefix: 'warmpub', stallMs: 120_000 }, 900_000);
    }
    const measure = async (size: number, tag: string): Promise<{ ops: number; ir: number }> => {
      control(server.pid, '-z');
      control(server.pid, '-i', 'on');
      let ops: number;
      if (phase === 'handshake') {
        const r = await load.call<{ open: number }>('openGroup', { target, group: tag, n: size, concurrency: 8, prefix: tag }, 900_000);
        ops = r.open;
      } else {
        const r = await load.call<{ deliveries: number; lost: number }>('publish', {
          target, ...PLANS.quick.fanout1, warmupMs: 0, durationMs: size, prefix: tag, stallMs: 120_000,
        }, 900_000);
        ops = r.deliveries;
      }
      control(server.pid, '-i', 'off');
      control(server.pid, '-d', tag);
      await new Promise((r) => setTimeout(r, 1000));
      if (phase === 'handshake') await load.call('closeGroup', { group: tag }, 600_000);
      return { ops, ir: instructionsOf(prefix, known) };
    };
    const small = Number(option('small') ?? (phase === 'handshake' ? 100 : 3000));
    const large = Number(option('large') ?? (phase === 'handshake' ? 400 : 12000));
    const a = await measure(small, 'small');
    const b = await measure(large, 'large');
    const per = (b.ir - a.ir) / Math.max(1, b.ops - a.ops);
    process.stdout.write(`${JSON.stringify({ system, phase, baseline, small: a, large: b, instructionsPerOp: Math.round(per) })}\n`);
  } finally {
    await server.stop(20_000);
    await load.stop();
    await redis?.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
